# LaminaConfig.cmake -- lets CMake projects use an installed Lamina:
#
#   find_package(Lamina 0.1 REQUIRED)
#   target_link_libraries(app PRIVATE Lamina::lamina)
#
# Installed as <prefix>/lib/cmake/Lamina/LaminaConfig.cmake. Every path is computed from this
# file's own location, so a prefix that has been moved or copied elsewhere still works.

get_filename_component(_lamina_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
set(_lamina_library "${_lamina_prefix}/lib/liblamina.so.0")
set(_lamina_include "${_lamina_prefix}/include")

if(NOT EXISTS "${_lamina_library}" OR NOT EXISTS "${_lamina_include}/lamina.h")
  set(Lamina_FOUND FALSE)
  set(Lamina_NOT_FOUND_MESSAGE
      "Lamina config at ${CMAKE_CURRENT_LIST_DIR} but ${_lamina_library} or ${_lamina_include}/lamina.h is missing")
  unset(_lamina_prefix)
  unset(_lamina_library)
  unset(_lamina_include)
  return()
endif()

if(NOT TARGET Lamina::lamina)
  add_library(Lamina::lamina SHARED IMPORTED)
  set_target_properties(Lamina::lamina PROPERTIES
    IMPORTED_LOCATION "${_lamina_library}"
    IMPORTED_SONAME "liblamina.so.0"
    INTERFACE_INCLUDE_DIRECTORIES "${_lamina_include}")
endif()

set(Lamina_INCLUDE_DIRS "${_lamina_include}")
set(Lamina_LIBRARIES Lamina::lamina)
set(Lamina_FOUND TRUE)

unset(_lamina_prefix)
unset(_lamina_library)
unset(_lamina_include)
