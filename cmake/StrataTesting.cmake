# strata_add_test(NAME <name> SOURCES <files...> [RANKS <n...>] [TIMEOUT <s>] [LABELS <l...>])
#
# Builds one GoogleTest executable (linked with the MPI/Kokkos-aware main in tests/support) and
# registers it with ctest. Without RANKS it runs as one process and is labelled `unit`; with RANKS it
# is run under mpiexec once per rank count (test name suffix _np<n>) and labelled `mpi`.

if(Strata_ENABLE_MPI AND NOT DEFINED STRATA_MPIEXEC_EXTRA_FLAGS)
  # Open MPI refuses more ranks than cores unless told; CI machines have 2 cores and tests use 4.
  execute_process(COMMAND ${MPIEXEC_EXECUTABLE} --version OUTPUT_VARIABLE _mpiexec_version
                  ERROR_QUIET RESULT_VARIABLE _mpiexec_result)
  if(_mpiexec_version MATCHES "Open MPI|OpenRTE")
    set(STRATA_MPIEXEC_EXTRA_FLAGS "--oversubscribe" CACHE STRING "Extra mpiexec flags for tests")
  else()
    set(STRATA_MPIEXEC_EXTRA_FLAGS "" CACHE STRING "Extra mpiexec flags for tests")
  endif()
endif()

# Environment for MPI test runs: Open MPI refuses to run as root (CI containers) without these, and
# its shared-memory single-copy mechanism (CMA) is often blocked in containers.
set(STRATA_TEST_MPI_ENVIRONMENT
  "OMPI_ALLOW_RUN_AS_ROOT=1"
  "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"
  "OMPI_MCA_btl_vader_single_copy_mechanism=none"
  "OMPI_MCA_rmaps_base_oversubscribe=1")

# strata_add_test(NAME n SOURCES ... [RANKS 1 2 4] [LABELS ...] [TIMEOUT s] [MPI_INDEPENDENT])
# MPI_INDEPENDENT marks a one-process numerics test whose numerics do not depend on
# Strata_ENABLE_MPI: where it goes through Comm (a one-process stub without MPI), the one-process
# test_mpi_* runs cover that code. Such tests are neither built nor run when
# Strata_TESTS_SKIP_MPI_INDEPENDENT is ON (the nompi CI preset, whose purpose is the MPI-off code;
# these tests run in the ci stage).
function(strata_add_test)
  cmake_parse_arguments(ARG "MPI_INDEPENDENT" "NAME;TIMEOUT" "SOURCES;RANKS;LABELS" ${ARGN})
  if(ARG_MPI_INDEPENDENT AND Strata_TESTS_SKIP_MPI_INDEPENDENT)
    return()
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  add_executable(${ARG_NAME} ${ARG_SOURCES})
  target_link_libraries(${ARG_NAME} PRIVATE strata_test_support)
  target_compile_options(${ARG_NAME} PRIVATE $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra>)
  set(_data_dir "${PROJECT_SOURCE_DIR}/tests/fixtures")
  if(NOT ARG_RANKS)
    add_test(NAME ${ARG_NAME} COMMAND ${ARG_NAME})
    set_tests_properties(${ARG_NAME} PROPERTIES LABELS "unit;${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT}
      ENVIRONMENT "STRATA_TEST_DATA=${_data_dir};${STRATA_TEST_MPI_ENVIRONMENT}")
    return()
  endif()
  if(NOT Strata_ENABLE_MPI)
    set(ARG_RANKS 1)
  endif()
  foreach(_n IN LISTS ARG_RANKS)
    set(_test ${ARG_NAME}_np${_n})
    if(Strata_ENABLE_MPI)
      add_test(NAME ${_test}
        COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${_n} ${STRATA_MPIEXEC_EXTRA_FLAGS}
                ${MPIEXEC_PREFLAGS} $<TARGET_FILE:${ARG_NAME}> ${MPIEXEC_POSTFLAGS})
    else()
      add_test(NAME ${_test} COMMAND ${ARG_NAME})
    endif()
    set_tests_properties(${_test} PROPERTIES LABELS "mpi;${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT}
      PROCESSORS ${_n}
      ENVIRONMENT "STRATA_TEST_DATA=${_data_dir};${STRATA_TEST_MPI_ENVIRONMENT}")
  endforeach()
endfunction()

# The dependency prefixes that the install and examples tests give a consumer project, as a
# colon-separated list (a ';'-list would be split into separate arguments on the way): this
# build's CMAKE_PREFIX_PATH plus the prefixes where Kokkos, Kokkos Kernels and Random123 were
# found, so that a build configured with Kokkos_ROOT / KokkosKernels_ROOT / Random123_ROOT (and
# no CMAKE_PREFIX_PATH) tests its installed tree the way its users would find it.
function(strata_consumer_prefix_path out)
  set(_prefixes ${CMAKE_PREFIX_PATH})
  foreach(_config_dir IN ITEMS "${Kokkos_DIR}" "${KokkosKernels_DIR}")
    # <prefix>/lib*/cmake/<Package>, or <prefix>/lib/<multiarch>/cmake/<Package> (Debian)
    if(_config_dir AND EXISTS "${_config_dir}")
      set(_up "../../..")
      if(CMAKE_LIBRARY_ARCHITECTURE AND _config_dir MATCHES "/lib/${CMAKE_LIBRARY_ARCHITECTURE}/cmake/")
        set(_up "../../../..")
      endif()
      get_filename_component(_prefix "${_config_dir}/${_up}" ABSOLUTE)
      list(APPEND _prefixes "${_prefix}")
    endif()
  endforeach()
  if(Random123_INCLUDE_DIR)
    get_filename_component(_prefix "${Random123_INCLUDE_DIR}/.." ABSOLUTE)
    list(APPEND _prefixes "${_prefix}")
  endif()
  list(REMOVE_DUPLICATES _prefixes)
  string(REPLACE ";" ":" _joined "${_prefixes}")
  set(${out} "${_joined}" PARENT_SCOPE)
endfunction()
