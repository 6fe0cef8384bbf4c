# Mixed precision: evaluations and time of both strategies on every shared model
# (docs/performance.md, "Mixed precision").
halfcast_benchmark(search_bench SOURCES search_bench.cc DEPS halfcast_search)
target_include_directories(search_bench PRIVATE ${PROJECT_SOURCE_DIR}/tests)
target_compile_definitions(search_bench PRIVATE
  HALFCAST_TEST_DATA_DIR="${PROJECT_SOURCE_DIR}/tests/data")
