# Evaluator latency against ONNX Runtime (docs/performance.md, "Evaluator vs ONNX Runtime"):
#   node bench/eval_vs_ort.js --bench <build>/bench/halfcast_bench_eval
# times both on every model of tests/data/models in one run (one thread each) and prints the
# ratios. Not part of ctest: it takes about a minute.
add_executable(halfcast_bench_eval ${CMAKE_CURRENT_SOURCE_DIR}/eval_latency.cc)
target_link_libraries(halfcast_bench_eval PRIVATE halfcast_eval halfcast_io)
