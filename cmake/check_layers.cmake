# The layer rule, as a test: a layer's files include only the public headers of its own layer
# and of the layers below it, and no other layer's private headers.
#   cmake -DSOURCE_DIR=/path/to/spike-nn -P cmake/check_layers.cmake
# The include directories of the targets already keep a build from breaking the rule; this
# says which file broke it, and makes the rule one that a reader can see. Lists every
# offending include, then fails.

cmake_minimum_required(VERSION 3.20)

# The layers, lowest first; tools/ (the command) and python/ (the Python module) are the top.
set(layers engine neurons trace record simulation scenario viz tools python)

if(NOT SOURCE_DIR)
  get_filename_component(SOURCE_DIR ${CMAKE_CURRENT_LIST_DIR}/.. ABSOLUTE)
endif()

# Which layer each public header belongs to. The engine's version.hpp is generated from
# engine/version.hpp.in.
set(header_layer_version.hpp engine)
foreach(layer IN LISTS layers)
  file(GLOB headers RELATIVE ${SOURCE_DIR}/${layer}/include/spikenn ${SOURCE_DIR}/${layer}/include/spikenn/*.hpp)
  foreach(h IN LISTS headers)
    if(DEFINED header_layer_${h})
      message(SEND_ERROR "spikenn/${h} is public in both ${header_layer_${h}} and ${layer}")
    endif()
    set(header_layer_${h} ${layer})
  endforeach()
endforeach()

set(problems 0)
set(checked 0)
set(rank 0)
foreach(layer IN LISTS layers)
  file(GLOB_RECURSE files ${SOURCE_DIR}/${layer}/*.cpp ${SOURCE_DIR}/${layer}/*.hpp ${SOURCE_DIR}/${layer}/*.inc)
  foreach(file IN LISTS files)
    math(EXPR checked "${checked} + 1")
    file(RELATIVE_PATH name ${SOURCE_DIR} ${file})
    file(STRINGS ${file} includes REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]")
    foreach(line IN LISTS includes)
      string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*[<\"]([^>\"]*)[>\"].*" "\\1" included "${line}")
      if(included MATCHES "^spikenn/(.*)$")
        set(h ${CMAKE_MATCH_1})
        if(NOT DEFINED header_layer_${h})
          message(SEND_ERROR "${name}: <${included}> is no layer's public header")
          math(EXPR problems "${problems} + 1")
          continue()
        endif()
        set(owner ${header_layer_${h}})
        list(FIND layers ${owner} owner_rank)
        if(owner_rank GREATER rank)
          message(SEND_ERROR "${name}: <${included}> is a header of ${owner}, a layer above ${layer}")
          math(EXPR problems "${problems} + 1")
        endif()
      elseif(included MATCHES "^([a-z_]+)/")
        # "LAYER/private.hpp": the private headers of another layer are its own.
        set(owner ${CMAKE_MATCH_1})
        if(NOT owner STREQUAL layer AND owner IN_LIST layers)
          message(SEND_ERROR "${name}: \"${included}\" is a private header of ${owner}")
          math(EXPR problems "${problems} + 1")
        endif()
      endif()
    endforeach()
  endforeach()
  math(EXPR rank "${rank} + 1")
endforeach()

string(REPLACE ";" " -> " order "${layers}")
if(problems GREATER 0)
  message(FATAL_ERROR "${problems} include(s) break the layer order (${order})")
endif()
message(STATUS "layers: ${checked} files, every include in order (${order})")
