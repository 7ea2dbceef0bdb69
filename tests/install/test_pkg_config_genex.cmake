# cmake -P test of strata.pc's generator-expression resolution (cmake/StrataPkgConfig.cmake) on the
# property values that broke it: Kokkos 4 CUDA puts several options inside one expression, so the
# CMake list splits the expression across items (strata.pc once carried "-arch=sm_90>").
cmake_minimum_required(VERSION 3.16)
include(${CMAKE_CURRENT_LIST_DIR}/../../cmake/StrataPkgConfig.cmake)

function(expect input expected)
  set(value "${input}")
  _strata_pc_flatten(value)
  if(NOT value STREQUAL "${expected}")
    message(FATAL_ERROR "flatten(${input})\n  gave     '${value}'\n  expected '${expected}'")
  endif()
endfunction()

# Kokkos 4.6 CUDA's INTERFACE_COMPILE_OPTIONS and INTERFACE_LINK_OPTIONS, verbatim.
expect("$<$<COMPILE_LANGUAGE:CXX>:>;$<$<COMPILE_LANGUAGE:CXX>:-extended-lambda;-Wext-lambda-captures-this;-arch=sm_90>;$<$<COMPILE_LANGUAGE:CXX>:>"
       "-extended-lambda;-Wext-lambda-captures-this;-arch=sm_90")
expect("$<$<LINK_LANGUAGE:CXX>:-DKOKKOS_DEPENDENCE;-arch=sm_90>" "-DKOKKOS_DEPENDENCE;-arch=sm_90")
# Install interface kept, build interface dropped, other languages and configurations dropped whole.
expect("$<BUILD_INTERFACE:/src/include>;$<INSTALL_INTERFACE:include/strata/capi>" "include/strata/capi")
expect("-O2;$<$<COMPILE_LANGUAGE:Fortran>:-ffree-form;-fPIC>;-g" "-O2;-g")
expect("$<$<CONFIG:Debug>:-DDEBUG_ONLY>;-DALWAYS" "-DALWAYS")
expect("$<LINK_ONLY:m>;$<LINK_ONLY:$<TARGET_NAME:foo>>;dl" "m;dl")
expect("$<$<COMPILE_LANG_AND_ID:CXX,GNU>:-Wno-psabi>;plain" "-Wno-psabi;plain")
expect("" "")
message(STATUS "pkg-config generator-expression cases: ok")
