# halfcast_module(NAME SOURCES ... DEPS ...): a static library halfcast_<NAME> for one src/ module.
# Its objects end up in halfcast::halfcast; tests link the module they check.
function(halfcast_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(halfcast_${name} STATIC ${ARG_SOURCES})
  target_include_directories(halfcast_${name} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/src>
    $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(halfcast_${name} PUBLIC ${ARG_DEPS})
  target_compile_options(halfcast_${name} PRIVATE -Wall -Wextra -Wno-unused-parameter)
  set_property(GLOBAL APPEND PROPERTY HALFCAST_MODULES halfcast_${name})
endfunction()

# halfcast_test(NAME SOURCES ... DEPS ...): a GoogleTest binary registered with CTest.
function(halfcast_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} halfcast_testing GTest::gtest GTest::gmock
                        GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE
    HALFCAST_TEST_DATA_DIR="${PROJECT_SOURCE_DIR}/tests/data")
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS "${ARG_LABELS}")
endfunction()
