# The converter's benchmarks: synthetic graphs (bench/convert/convert_bench.cc).
halfcast_benchmark(convert_bench SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/convert/convert_bench.cc
                   DEPS halfcast_convert halfcast_io)
add_executable(convert_stages ${CMAKE_CURRENT_SOURCE_DIR}/convert/convert_stages.cc)
target_link_libraries(convert_stages PRIVATE halfcast_convert halfcast_io)
