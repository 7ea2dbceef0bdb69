# Installs the build tree into a scratch prefix, then configures, builds and runs the outside
# project in this folder against it, exactly as a user's project would (find_package(Strata)).
# The compiler and its flags (e.g. sanitizers) are the ones Strata was built with.
file(REMOVE_RECURSE "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "failed (${result}): ${ARGN}\n${out}\n${err}")
  endif()
  message(STATUS "${out}")
endfunction()

run(${CMAKE_COMMAND} --install "${STRATA_BUILD_DIR}" --prefix "${prefix}")
foreach(required lib/cmake/Strata/StrataConfig.cmake lib/cmake/Strata/StrataConfigVersion.cmake
                 lib/cmake/Strata/StrataKokkosFixups.cmake include/strata/strata.hpp
                 include/strata/config.hpp bin/strata)
  if(NOT EXISTS "${prefix}/${required}")
    message(FATAL_ERROR "the installed tree lacks ${required}")
  endif()
endforeach()

# Dependencies' prefixes (colon-separated) go through the environment, which CMake reads as a path
# list: a ';'-list would be split into separate arguments on the way.
set(prefix_env "${prefix}")
if(PREFIX_PATH)
  set(prefix_env "${prefix}:${PREFIX_PATH}")
endif()
run(${CMAKE_COMMAND} -E env "CMAKE_PREFIX_PATH=${prefix_env}"
    ${CMAKE_COMMAND} -S "${STRATA_SOURCE_DIR}" -B "${WORK_DIR}/build" -G "${GENERATOR}"
    -DCMAKE_CXX_COMPILER=${CXX_COMPILER} -DCMAKE_C_COMPILER=${C_COMPILER}
    -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}" "-DCMAKE_EXE_LINKER_FLAGS=${EXE_LINKER_FLAGS}")
run(${CMAKE_COMMAND} --build "${WORK_DIR}/build")
run("${WORK_DIR}/build/strata_install_smoke")
run("${prefix}/bin/strata" info --json)
