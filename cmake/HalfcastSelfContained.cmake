# -DHALFCAST_SELF_CONTAINED=ON: onnx, protobuf and Abseil come from static, position-independent
# builds of Debian's source packages (scripts/self-contained-deps.sh), made when this folder is
# first configured, so that libhalfcast_c.so carries them inside and needs only libc, libstdc++
# and libm. Everything else in the build (modules, CLI, tests) links the same static builds.
# Included before the find_package calls, which it points at that prefix.
set(HALFCAST_DEPS_PREFIX ${CMAKE_BINARY_DIR}/self-contained/prefix)
# The cache entries that locate onnx, protobuf and Abseil; switching the option in an existing
# build folder must not keep the other mode's.
set(halfcast_dependency_cache_entries absl_DIR ONNX_DIR Protobuf_INCLUDE_DIR
    Protobuf_LIBRARY_RELEASE Protobuf_LIBRARY_DEBUG Protobuf_LITE_LIBRARY_RELEASE
    Protobuf_LITE_LIBRARY_DEBUG Protobuf_PROTOC_LIBRARY_RELEASE Protobuf_PROTOC_LIBRARY_DEBUG)
foreach(entry IN LISTS halfcast_dependency_cache_entries)
  string(FIND "${${entry}}" "${HALFCAST_DEPS_PREFIX}" at)
  if((HALFCAST_SELF_CONTAINED AND NOT at EQUAL 0) OR (NOT HALFCAST_SELF_CONTAINED AND at EQUAL 0))
    unset(${entry} CACHE)
  endif()
endforeach()
if(NOT HALFCAST_SELF_CONTAINED)
  return()
endif()

message(STATUS "HALFCAST_SELF_CONTAINED: static onnx, protobuf and Abseil in "
               "${HALFCAST_DEPS_PREFIX} (the first configure builds them: about 15 minutes of "
               "two cores)")
execute_process(
  COMMAND ${CMAKE_COMMAND} -E env "HALFCAST_DEPS_LAUNCHER=${CMAKE_CXX_COMPILER_LAUNCHER}"
          ${PROJECT_SOURCE_DIR}/scripts/self-contained-deps.sh ${HALFCAST_DEPS_PREFIX}
          ${CMAKE_BINARY_DIR}/self-contained/work
  RESULT_VARIABLE halfcast_deps_result)
if(NOT halfcast_deps_result EQUAL 0)
  message(FATAL_ERROR "scripts/self-contained-deps.sh failed (${halfcast_deps_result}); its logs "
                      "are in ${CMAKE_BINARY_DIR}/self-contained/work")
endif()
list(PREPEND CMAKE_PREFIX_PATH ${HALFCAST_DEPS_PREFIX})
set(Protobuf_USE_STATIC_LIBS ON)

# Protobuf first: ONNXConfig.cmake looks it up again with the include folder of the protoc it was
# built with (/usr/include), which must not become that of protobuf::libprotobuf.
find_package(Protobuf REQUIRED)
# onnx 1.17 exports ONNX::onnx and ONNX::onnx_proto without the definitions its headers need;
# the modules link `onnx` and `onnx_proto`, as Debian's package names them.
find_package(ONNX REQUIRED CONFIG)
foreach(onnx_target onnx onnx_proto)
  set_property(TARGET ONNX::${onnx_target} APPEND PROPERTY
               INTERFACE_COMPILE_DEFINITIONS ONNX_NAMESPACE=onnx ONNX_ML=1)
  add_library(${onnx_target} ALIAS ONNX::${onnx_target})
endforeach()
