# What `cmake --install` puts under the prefix:
#   include/spikenn/        every layer's public headers, and the generated version.hpp
#   lib/                    the static library of each layer in SPIKENN_LIBRARIES
#   bin/spikenn             the command
#   lib/cmake/spikenn/      spikennConfig.cmake, its version file, the exported targets
#                           (spikenn::spikenn and one spikenn::spikenn_LAYER per layer) and
#                           FindXXHash.cmake, which the config uses
#   lib/pkgconfig/spikenn.pc
# The command line (spikenn_cli) is not installed as a library: the command is its only
# user, and its own dependencies (CLI11, spdlog, libedit) stay out of the exported targets.
include(CMakePackageConfigHelpers)

set(spikenn_config_dir ${CMAKE_INSTALL_LIBDIR}/cmake/spikenn)

install(TARGETS ${SPIKENN_LIBRARIES} spikenn_library
  EXPORT spikennTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS spikenn RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# Each layer's public headers, from LAYER/include/spikenn/, and those it generates into
# its build folder's include/spikenn/ (the engine's version.hpp).
foreach(layer IN LISTS SPIKENN_LIBRARIES)
  get_target_property(layer_source_dir ${layer} SOURCE_DIR)
  get_target_property(layer_binary_dir ${layer} BINARY_DIR)
  foreach(dir ${layer_source_dir}/include/spikenn ${layer_binary_dir}/include/spikenn)
    if(IS_DIRECTORY ${dir})
      install(DIRECTORY ${dir}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/spikenn
        FILES_MATCHING PATTERN "*.hpp")
    endif()
  endforeach()
endforeach()

install(EXPORT spikennTargets
  NAMESPACE spikenn::
  DESTINATION ${spikenn_config_dir})

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/spikennConfig.cmake.in
  ${PROJECT_BINARY_DIR}/spikennConfig.cmake
  INSTALL_DESTINATION ${spikenn_config_dir})
# 0.x: a minor version may change the interface, so a request for 0.2 takes 0.2.y only.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/spikennConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/spikennConfig.cmake
  ${PROJECT_BINARY_DIR}/spikennConfigVersion.cmake
  ${CMAKE_CURRENT_LIST_DIR}/FindXXHash.cmake
  DESTINATION ${spikenn_config_dir})

# pkg-config: the file finds the prefix from where it lies (${pcfiledir}), so that it is
# right for whatever prefix `cmake --install --prefix` is given.
file(RELATIVE_PATH spikenn_pc_to_prefix /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
string(REGEX REPLACE "/$" "" spikenn_pc_to_prefix "${spikenn_pc_to_prefix}")
set(spikenn_pc_prefix "\${pcfiledir}/${spikenn_pc_to_prefix}")
if(IS_ABSOLUTE ${CMAKE_INSTALL_INCLUDEDIR})
  set(spikenn_pc_includedir ${CMAKE_INSTALL_INCLUDEDIR})
else()
  set(spikenn_pc_includedir "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
if(IS_ABSOLUTE ${CMAKE_INSTALL_LIBDIR})
  set(spikenn_pc_libdir ${CMAKE_INSTALL_LIBDIR})
else()
  set(spikenn_pc_libdir "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
# The layers' static libraries, highest first, so that each comes before those it uses.
set(spikenn_pc_libs "")
foreach(layer IN LISTS SPIKENN_LIBRARIES)
  set(spikenn_pc_libs "-l${layer} ${spikenn_pc_libs}")
endforeach()
string(STRIP "${spikenn_pc_libs}" spikenn_pc_libs)
configure_file(${CMAKE_CURRENT_LIST_DIR}/spikenn.pc.in ${PROJECT_BINARY_DIR}/spikenn.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/spikenn.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
