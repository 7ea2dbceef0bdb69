# Installs the build tree into a scratch prefix, then configures, builds and runs the outside
# project in this folder against it, exactly as a user's project would (find_package(Strata)).
# The compiler and its flags (e.g. sanitizers) are the ones Strata was built with. SHARED says which
# kind of library was built (the ci preset builds it shared, nompi static: CI covers both). The
# program is built twice: with CMake (find_package) and with pkg-config (strata.pc).
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
# The library of the kind that was built: shared (with its SONAME) or static.
if(SHARED)
  set(library lib/libstrata.so lib/libstrata.so.${VERSION} lib/libstrata.so.${SOVERSION})
else()
  set(library lib/libstrata.a)
endif()
foreach(required lib/cmake/Strata/StrataConfig.cmake lib/cmake/Strata/StrataConfigVersion.cmake
                 lib/cmake/Strata/StrataKokkosFixups.cmake lib/pkgconfig/strata.pc
                 include/strata/strata.hpp include/strata/config.hpp bin/strata ${library})
  if(NOT EXISTS "${prefix}/${required}")
    message(FATAL_ERROR "the installed tree lacks ${required}")
  endif()
endforeach()
if(SHARED)
  execute_process(COMMAND readelf -d "${prefix}/lib/libstrata.so" OUTPUT_VARIABLE dynamic
                  RESULT_VARIABLE result)
  if(NOT result EQUAL 0 OR NOT dynamic MATCHES "Library soname: \\[libstrata\\.so\\.${SOVERSION}\\]")
    message(FATAL_ERROR "libstrata.so has not the SONAME libstrata.so.${SOVERSION}:\n${dynamic}")
  endif()
  if(EXISTS "${prefix}/lib/libstrata.a")
    message(FATAL_ERROR "a shared build installed a static libstrata.a too")
  endif()
elseif(EXISTS "${prefix}/lib/libstrata.so")
  message(FATAL_ERROR "a static build installed libstrata.so too")
endif()

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
# The installed program finds its libstrata (RPATH $ORIGIN/../lib) with no LD_LIBRARY_PATH.
run(${CMAKE_COMMAND} -E env --unset=LD_LIBRARY_PATH "${prefix}/bin/strata" info --json)

# The same program built with pkg-config's flags (--static for a static libstrata), as a Makefile
# would. pkg-config gives no run path: the shared library is found through LD_LIBRARY_PATH.
set(pkg_config_static "")
if(NOT SHARED)
  set(pkg_config_static --static)
endif()
foreach(what cflags libs)
  execute_process(
    COMMAND ${CMAKE_COMMAND} -E env "PKG_CONFIG_PATH=${prefix}/lib/pkgconfig"
            pkg-config ${pkg_config_static} --${what} strata
    OUTPUT_VARIABLE pc_${what} OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE result)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "pkg-config --${what} strata failed (${result})")
  endif()
  separate_arguments(pc_${what} UNIX_COMMAND "${pc_${what}}")
endforeach()
separate_arguments(cxx_flags UNIX_COMMAND "${CXX_FLAGS} ${EXE_LINKER_FLAGS}")
run(${CXX_COMPILER} -std=c++17 -O1 ${cxx_flags} ${pc_cflags} "${STRATA_SOURCE_DIR}/main.cpp"
    -o "${WORK_DIR}/strata_install_smoke_pkg_config" ${pc_libs})
# Like a user of a Makefile, it names the dependencies' library folders too (Kokkos and Kokkos
# Kernels outside the system folders, as in a Spack or hand-built tree) and keeps the inherited path.
set(ld_path "${prefix}/lib")
string(REPLACE ":" ";" dependency_prefixes "${PREFIX_PATH}")
foreach(p IN LISTS dependency_prefixes)
  foreach(sub lib lib64)
    if(IS_DIRECTORY "${p}/${sub}")
      string(APPEND ld_path ":${p}/${sub}")
    endif()
  endforeach()
endforeach()
if(DEFINED ENV{LD_LIBRARY_PATH} AND NOT "$ENV{LD_LIBRARY_PATH}" STREQUAL "")
  string(APPEND ld_path ":$ENV{LD_LIBRARY_PATH}")
endif()
run(${CMAKE_COMMAND} -E env "LD_LIBRARY_PATH=${ld_path}" "${WORK_DIR}/strata_install_smoke_pkg_config")
