# Mixed precision: evaluations, time and memory of both strategies on every shared model and on
# generated ones (docs/performance.md, "Mixed precision"). Not in ctest: run
#   build/bench/search_bench --benchmark_repetitions=3
halfcast_benchmark(search_bench SOURCES search_bench.cc DEPS halfcast_search)
target_include_directories(search_bench PRIVATE ${PROJECT_SOURCE_DIR}/tests)
target_compile_definitions(search_bench PRIVATE
  HALFCAST_TEST_DATA_DIR="${PROJECT_SOURCE_DIR}/tests/data")

# The generated models, made into the build tree by Debian's python3 (numpy, onnx; a python3
# earlier on PATH may lack them): a 12-layer transformer whose layer 6 MLP overflows float16,
# small enough (hidden 256, 32 tokens, vocabulary 512: 38 MB, ~0.1 s a run) that a search takes
# seconds on two cores, and Silero VAD with its whole network inside one If.
find_program(HALFCAST_PYTHON3 python3 PATHS /usr/bin NO_DEFAULT_PATH)
find_program(HALFCAST_PYTHON3 python3)
set(search_python_rc 1)
if(HALFCAST_PYTHON3)
  execute_process(COMMAND ${HALFCAST_PYTHON3} -c "import numpy, onnx"
                  RESULT_VARIABLE search_python_rc OUTPUT_QUIET ERROR_QUIET)
endif()
if(NOT search_python_rc EQUAL 0)
  message(WARNING "search_bench: no python3 with numpy and onnx, so no generated models "
                  "(scripts/setup-debian.sh installs them)")
  return()
endif()

set(search_models ${CMAKE_CURRENT_BINARY_DIR}/search_models)
set(search_transformer_seq 32)
set(search_transformer_vocab 512)
set(search_transformer ${search_models}/transformer_L12_H256_overflow6.onnx)
add_custom_command(OUTPUT ${search_transformer}
  COMMAND ${HALFCAST_PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/gen_models.py transformer
          --layers 12 --hidden 256 --seq ${search_transformer_seq}
          --vocab ${search_transformer_vocab} --overflow-layer 6 --out ${search_transformer}
  DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/gen_models.py
  COMMENT "Generating the search bench's transformer" VERBATIM)
set(search_silero_in_if ${search_models}/silero_vad_16k_op15_in_if.onnx)
add_custom_command(OUTPUT ${search_silero_in_if}
  COMMAND ${HALFCAST_PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/wrap_in_if.py
          --model ${PROJECT_SOURCE_DIR}/tests/data/models/silero_vad_16k_op15.onnx
          --out ${search_silero_in_if}
  DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/wrap_in_if.py
          ${PROJECT_SOURCE_DIR}/tests/data/models/silero_vad_16k_op15.onnx
  COMMENT "Moving Silero VAD into an If for the search bench" VERBATIM)
add_custom_target(search_bench_models DEPENDS ${search_transformer} ${search_silero_in_if})
add_dependencies(search_bench search_bench_models)
target_compile_definitions(search_bench PRIVATE
  HALFCAST_SEARCH_TRANSFORMER="${search_transformer}"
  HALFCAST_SEARCH_TRANSFORMER_SEQ=${search_transformer_seq}
  HALFCAST_SEARCH_TRANSFORMER_VOCAB=${search_transformer_vocab}
  HALFCAST_SEARCH_SILERO_IN_IF="${search_silero_in_if}")
