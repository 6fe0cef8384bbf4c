# Bulk conversion kernel against memcpy of the same input, in one run (docs/performance.md,
# "Bulk conversion kernel").
halfcast_benchmark(halfcast_bench_numerics
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/bulk_convert_numerics_bench.cc
  DEPS halfcast_numerics)
