# ctest driver for one fuzz target: every seed and every saved regression input is executed, then
# RUNS mutated inputs (none with RUNS=0; a fixed -seed, so a run is reproducible). Fails on any crash, sanitizer report,
# leak of time (-timeout) or memory (-rss_limit_mb). Crashing inputs go to ${SCRATCH}-artifacts/.
#   cmake -DFUZZER=... -DSCRATCH=... -DSEEDS=... -DREGRESSIONS=... -DRUNS=... [-DDICT=...]
#         -P run_fuzz_regression.cmake
foreach(_v FUZZER SCRATCH SEEDS REGRESSIONS RUNS)
  if(NOT DEFINED ${_v})
    message(FATAL_ERROR "run_fuzz_regression.cmake: -D${_v}=... is required")
  endif()
endforeach()
if(NOT IS_DIRECTORY "${SEEDS}")
  message(FATAL_ERROR "no seed corpus at ${SEEDS} (the fuzz_seeds test writes it)")
endif()
file(REMOVE_RECURSE "${SCRATCH}")
file(MAKE_DIRECTORY "${SCRATCH}" "${SCRATCH}-artifacts")
set(_dirs "${SCRATCH}" "${SEEDS}")
if(IS_DIRECTORY "${REGRESSIONS}")
  list(APPEND _dirs "${REGRESSIONS}")
endif()
set(_dict "")
if(DICT)
  set(_dict "-dict=${DICT}")
endif()
execute_process(
  COMMAND "${FUZZER}" ${_dict} -seed=1 -runs=${RUNS} -timeout=30 -rss_limit_mb=3072 -print_final_stats=1
          "-artifact_prefix=${SCRATCH}-artifacts/" ${_dirs}
  RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "${FUZZER} failed (${_rc}); the input is in ${SCRATCH}-artifacts/")
endif()
