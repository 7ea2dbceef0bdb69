# Finds the header-only Random123 library (counter-based random number generators).
# Defines Random123_FOUND, Random123_INCLUDE_DIR and the imported target Random123::Random123.
# Hints, in order: Random123_ROOT (variable, then environment), then the directory where Strata's
# own build found it (_strata_random123_hint, set by StrataConfig.cmake), so that a project using an
# installed Strata finds the same headers without being told where a non-system copy lives.
find_path(Random123_INCLUDE_DIR NAMES Random123/philox.h
  HINTS ${Random123_ROOT} ENV Random123_ROOT ${_strata_random123_hint} PATH_SUFFIXES include)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(Random123 REQUIRED_VARS Random123_INCLUDE_DIR)
if(Random123_FOUND AND NOT TARGET Random123::Random123)
  add_library(Random123::Random123 INTERFACE IMPORTED)
  set_target_properties(Random123::Random123 PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${Random123_INCLUDE_DIR}")
endif()
mark_as_advanced(Random123_INCLUDE_DIR)
