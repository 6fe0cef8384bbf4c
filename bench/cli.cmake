# End-to-end benchmarks of the halfcast command (bench/end_to_end.py runs them; not part of
# ctest: they need several GB of disk and minutes). halfcast_bench_floor is the floor the script
# times halfcast against: parse + narrow to 16 bits + serialize + write, nothing else.
add_executable(halfcast_bench_floor ${CMAKE_CURRENT_SOURCE_DIR}/floor.cc)
target_link_libraries(halfcast_bench_floor PRIVATE onnx_proto protobuf::libprotobuf)
