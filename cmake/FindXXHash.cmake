# Finds xxHash (Debian's libxxhash-dev), which ships neither a CMake package nor, on every
# system, a pkg-config file, and defines the imported target XXHash::XXHash.
#   XXHash_FOUND, XXHash_VERSION, XXHash_INCLUDE_DIR, XXHash_LIBRARY
# spike-nn uses it itself (trace/CMakeLists.txt), and installs it beside spikennConfig.cmake,
# so that the installed spikenn_trace names the target, not the path to the library on the
# machine that built it.
find_path(XXHash_INCLUDE_DIR xxhash.h)
find_library(XXHash_LIBRARY xxhash)

if(XXHash_INCLUDE_DIR AND EXISTS "${XXHash_INCLUDE_DIR}/xxhash.h")
  file(STRINGS "${XXHash_INCLUDE_DIR}/xxhash.h" _xxhash_version_lines
    REGEX "^#define XXH_VERSION_(MAJOR|MINOR|RELEASE) +[0-9]+")
  foreach(_part MAJOR MINOR RELEASE)
    string(REGEX REPLACE ".*#define XXH_VERSION_${_part} +([0-9]+).*" "\\1" _xxhash_${_part} "${_xxhash_version_lines}")
  endforeach()
  set(XXHash_VERSION "${_xxhash_MAJOR}.${_xxhash_MINOR}.${_xxhash_RELEASE}")
  unset(_xxhash_version_lines)
  unset(_xxhash_MAJOR)
  unset(_xxhash_MINOR)
  unset(_xxhash_RELEASE)
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(XXHash
  REQUIRED_VARS XXHash_LIBRARY XXHash_INCLUDE_DIR
  VERSION_VAR XXHash_VERSION)

if(XXHash_FOUND AND NOT TARGET XXHash::XXHash)
  add_library(XXHash::XXHash UNKNOWN IMPORTED)
  set_target_properties(XXHash::XXHash PROPERTIES
    IMPORTED_LOCATION "${XXHash_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${XXHash_INCLUDE_DIR}")
endif()
mark_as_advanced(XXHash_INCLUDE_DIR XXHash_LIBRARY)
