# `cmake --install`: the headers, the C++ module libraries (static, behind halfcast::halfcast),
# libhalfcast_c.so (halfcast::halfcast_c), the CLI if it is built, a CMake package
# (find_package(halfcast CONFIG) with components C and CXX) and halfcast.pc for the C API.
include(CMakePackageConfigHelpers)

set(HALFCAST_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/halfcast)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/halfcast ${PROJECT_SOURCE_DIR}/capi/include/halfcast
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")
install(FILES ${PROJECT_BINARY_DIR}/include/halfcast/version.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/halfcast)

# One export set per package component (halfcastConfig.cmake.in), so that the C component's file
# names no C++ dependency. Module libraries that are still header-only placeholders are INTERFACE
# targets; they go into the CXX set as well so that the exported link interface is complete.
get_property(halfcast_install_modules GLOBAL PROPERTY HALFCAST_MODULES)
install(TARGETS halfcast_c
        EXPORT halfcastCTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# A self-contained build installs the C component alone: its module libraries were compiled
# against the private onnx, which a user's own onnx package need not match.
if(HALFCAST_SELF_CONTAINED)
  set(HALFCAST_PACKAGE_COMPONENTS C)
else()
  set(HALFCAST_PACKAGE_COMPONENTS C CXX)
  install(TARGETS halfcast ${halfcast_install_modules}
          EXPORT halfcastCXXTargets
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
          INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endif()
if(TARGET halfcast_cli)
  install(TARGETS halfcast_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

foreach(component IN LISTS HALFCAST_PACKAGE_COMPONENTS)
  install(EXPORT halfcast${component}Targets NAMESPACE halfcast::
          DESTINATION ${HALFCAST_INSTALL_CMAKEDIR})
endforeach()
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/halfcastConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/halfcastConfig.cmake
                              INSTALL_DESTINATION ${HALFCAST_INSTALL_CMAKEDIR})
# 0.x releases may change the C++ API between minor versions; the C ABI has its own SONAME.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/halfcastConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/halfcastConfig.cmake
              ${PROJECT_BINARY_DIR}/halfcastConfigVersion.cmake
        DESTINATION ${HALFCAST_INSTALL_CMAKEDIR})

# halfcast.pc locates the prefix from its own folder (${pcfiledir}), so an installed tree can be
# moved, and `cmake --install --prefix` works without reconfiguring.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(HALFCAST_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH halfcast_pc_up "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
  string(REGEX REPLACE "/$" "" halfcast_pc_up "${halfcast_pc_up}")
  set(HALFCAST_PC_PREFIX "\${pcfiledir}/${halfcast_pc_up}")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/halfcast.pc.in ${PROJECT_BINARY_DIR}/halfcast.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/halfcast.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
