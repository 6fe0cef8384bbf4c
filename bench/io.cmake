# Model IO: load + save timing and peak memory on big models (bench/io_large.py drives it).
halfcast_benchmark(halfcast_bench_io
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/model_io_bench.cc
  DEPS halfcast_io)
