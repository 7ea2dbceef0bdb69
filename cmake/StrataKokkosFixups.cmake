# Makes the Kokkos / Kokkos Kernels package configs usable in the same way on every install we support.
#
# Debian 12 ships Kokkos 3.4.01 and Kokkos Kernels inside Trilinos 13.2, and its CMake config is broken:
#   1. Kokkos::kokkos lists "<prefix>/include" computed four levels above the config file, a folder that
#      does not hold the headers (they are in <prefix>/include/trilinos), and CMake refuses a target
#      whose include directory does not exist.
#   2. Kokkos Kernels exports only `trilinos_kokkoskernels` (no Kokkos::kokkoskernels) and no version.
# Kokkos 4.x installs are correct; the function leaves them alone.
#
# This file is installed next to StrataConfig.cmake and called from it, so projects that
# find_package(Strata) get the same repair.

function(strata_fix_kokkos_targets)
  if(NOT TARGET Kokkos::kokkos)
    message(FATAL_ERROR "strata_fix_kokkos_targets: call find_package(Kokkos) first")
  endif()

  if(Kokkos_VERSION VERSION_LESS 4.0 AND DEFINED Kokkos_INCLUDE_DIRS)
    # Resolve the include directory the config actually computed (<prefix>/include/trilinos on Debian).
    set(_includes "")
    foreach(_dir IN LISTS Kokkos_INCLUDE_DIRS)
      get_filename_component(_dir "${_dir}" REALPATH)
      if(EXISTS "${_dir}")
        list(APPEND _includes "${_dir}")
      endif()
    endforeach()
    get_target_property(_current Kokkos::kokkos INTERFACE_INCLUDE_DIRECTORIES)
    set(_broken FALSE)
    foreach(_dir IN LISTS _current)
      if(NOT EXISTS "${_dir}")
        set(_broken TRUE)
      endif()
    endforeach()
    if(_broken AND _includes)
      get_target_property(_imported Kokkos::kokkos IMPORTED)
      set_target_properties(Kokkos::kokkos PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_includes}")
      message(STATUS "Strata: repaired Kokkos::kokkos include directory -> ${_includes}")
    endif()
  endif()

  if(NOT TARGET Kokkos::kokkoskernels)
    if(TARGET trilinos_kokkoskernels)
      # An IMPORTED INTERFACE target can be made global; ALIAS of an imported non-global target cannot.
      add_library(Kokkos::kokkoskernels INTERFACE IMPORTED GLOBAL)
      set_target_properties(Kokkos::kokkoskernels PROPERTIES
        INTERFACE_LINK_LIBRARIES "trilinos_kokkoskernels;Kokkos::kokkos")
      message(STATUS "Strata: created Kokkos::kokkoskernels from Trilinos' trilinos_kokkoskernels")
    else()
      message(FATAL_ERROR
        "Kokkos Kernels was found but exports neither Kokkos::kokkoskernels nor trilinos_kokkoskernels")
    endif()
  endif()

  # Trilinos' Kokkos Kernels carries no version file. It is always the Kokkos Kernels of the same
  # Trilinos release, whose version equals Kokkos'.
  if(NOT KokkosKernels_VERSION)
    set(KokkosKernels_VERSION "${Kokkos_VERSION}" PARENT_SCOPE)
  endif()
endfunction()
