# ctest wiring of the examples (included from tests/CMakeLists.txt): examples_build installs this
# build tree into a scratch prefix and builds examples/ against it (build_examples.cmake); then
# every example runs at 1 and 2 ranks (the C HSS example also at 4). Label `examples`.
set(_strata_examples_dir "${CMAKE_CURRENT_BINARY_DIR}/examples")
strata_consumer_prefix_path(_strata_examples_prefix)  # cmake/StrataTesting.cmake
add_test(NAME examples_build
  COMMAND ${CMAKE_COMMAND}
    -DSTRATA_BUILD_DIR=${PROJECT_BINARY_DIR}
    -DSOURCE_DIR=${PROJECT_SOURCE_DIR}/examples
    -DWORK_DIR=${_strata_examples_dir}
    -DGENERATOR=${CMAKE_GENERATOR}
    -DC_COMPILER=${CMAKE_C_COMPILER}
    -DCXX_COMPILER=${CMAKE_CXX_COMPILER}
    "-DFortran_COMPILER=$<$<BOOL:${STRATA_BUILD_FORTRAN}>:${CMAKE_Fortran_COMPILER}>"
    -DPREFIX_PATH=${_strata_examples_prefix}
    "-DC_FLAGS=${CMAKE_C_FLAGS}"
    "-DCXX_FLAGS=${CMAKE_CXX_FLAGS}"
    "-DEXE_LINKER_FLAGS=${CMAKE_EXE_LINKER_FLAGS}"
    -P ${PROJECT_SOURCE_DIR}/examples/build_examples.cmake)
set_tests_properties(examples_build PROPERTIES LABELS "examples;install" TIMEOUT 900
  FIXTURES_SETUP strata_examples ENVIRONMENT "${STRATA_TEST_MPI_ENVIRONMENT}")

set(_strata_example_languages cpp c)
if(STRATA_BUILD_FORTRAN)
  list(APPEND _strata_example_languages fortran)
endif()
foreach(_example IN ITEMS hss_solve polar rsvd)
  foreach(_language IN LISTS _strata_example_languages)
    set(_program "${_strata_examples_dir}/build/strata_example_${_example}_${_language}")
    set(_ranks 1 2)
    if(_example STREQUAL "hss_solve" AND _language STREQUAL "c")
      list(APPEND _ranks 4)
    endif()
    if(NOT Strata_ENABLE_MPI)
      set(_ranks 1)
    endif()
    foreach(_n IN LISTS _ranks)
      set(_test example_${_example}_${_language}_np${_n})
      if(Strata_ENABLE_MPI)
        add_test(NAME ${_test}
          COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${_n} ${STRATA_MPIEXEC_EXTRA_FLAGS}
                  ${MPIEXEC_PREFLAGS} ${_program} ${MPIEXEC_POSTFLAGS})
      else()
        add_test(NAME ${_test} COMMAND ${_program})
      endif()
      set_tests_properties(${_test} PROPERTIES LABELS examples TIMEOUT 300 PROCESSORS ${_n}
        FIXTURES_REQUIRED strata_examples ENVIRONMENT "${STRATA_TEST_MPI_ENVIRONMENT}")
    endforeach()
  endforeach()
endforeach()
