# ctest's examples_build: installs the build tree into a scratch prefix, then configures and
# builds examples/ against it with find_package(Strata), as a user would (the compilers and flags
# are the ones Strata was built with).
file(REMOVE_RECURSE "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "failed (${result}): ${ARGN}\n${out}\n${err}")
  endif()
endfunction()

run(${CMAKE_COMMAND} --install "${STRATA_BUILD_DIR}" --prefix "${prefix}")
foreach(required include/strata/capi/strata.h include/strata/capi/strata_capi_config.h)
  if(NOT EXISTS "${prefix}/${required}")
    message(FATAL_ERROR "the installed tree lacks ${required}")
  endif()
endforeach()
set(fortran_args "")
if(Fortran_COMPILER)
  if(NOT EXISTS "${prefix}/include/strata/fortran/strata.mod")
    message(FATAL_ERROR "the installed tree lacks include/strata/fortran/strata.mod")
  endif()
  set(fortran_args "-DCMAKE_Fortran_COMPILER=${Fortran_COMPILER}")
endif()

# Dependencies' prefixes (colon-separated) go through the environment, read as a path list.
set(prefix_env "${prefix}")
if(PREFIX_PATH)
  set(prefix_env "${prefix}:${PREFIX_PATH}")
endif()
run(${CMAKE_COMMAND} -E env "CMAKE_PREFIX_PATH=${prefix_env}"
    ${CMAKE_COMMAND} -S "${SOURCE_DIR}" -B "${WORK_DIR}/build" -G "${GENERATOR}"
    -DCMAKE_C_COMPILER=${C_COMPILER} -DCMAKE_CXX_COMPILER=${CXX_COMPILER} ${fortran_args}
    -DCMAKE_BUILD_TYPE=Release "-DCMAKE_C_FLAGS=${C_FLAGS}" "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}"
    "-DCMAKE_EXE_LINKER_FLAGS=${EXE_LINKER_FLAGS}")
run(${CMAKE_COMMAND} --build "${WORK_DIR}/build")
set(expected strata_example_hss_solve_c strata_example_polar_cpp)
if(Fortran_COMPILER)
  list(APPEND expected strata_example_rsvd_fortran)
endif()
foreach(program IN LISTS expected)
  if(NOT EXISTS "${WORK_DIR}/build/${program}")
    message(FATAL_ERROR "the examples' build did not produce ${program}")
  endif()
endforeach()
