# strata_install_pkg_config(<target>): writes and installs <libdir>/pkgconfig/strata.pc for builds
# without CMake (`c++ $(pkg-config --cflags strata) ... $(pkg-config --libs strata)`).
#
# pkg-config knows nothing of CMake targets, so the flags of the dependencies are read from their
# imported targets here, at configure time: include directories, compile definitions and options,
# and library files, following INTERFACE_LINK_LIBRARIES. A shared libstrata needs only its public
# dependencies (Kokkos, Kokkos Kernels, Random123, MPI) on the consumer's link line; a static one also
# its private ones (LAPACK, HDF5, cuBLAS), which go to Libs.private (`pkg-config --static --libs`).
# The file finds its prefix from its own location (${pcfiledir}), so an installed tree can move.
# Limitation: a CUDA Kokkos needs its compiler (nvcc_wrapper), which pkg-config cannot express.

# Drops or unwraps the generator expressions seen in dependency targets, for C++ and the installed
# tree; anything else left unresolved is dropped.
function(_strata_pc_resolve item out)
  set(value "${item}")
  foreach(_pass RANGE 3)
    string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" value "${value}")
    string(REGEX REPLACE "^\\$<INSTALL_INTERFACE:(.*)>$" "\\1" value "${value}")
    string(REGEX REPLACE "^\\$<\\$<COMPILE_LANGUAGE:CXX>:(.*)>$" "\\1" value "${value}")
    string(REGEX REPLACE "^\\$<\\$<COMPILE_LANG_AND_ID:CXX,[^>]*>:(.*)>$" "\\1" value "${value}")
    string(REGEX REPLACE "^\\$<\\$<LINK_LANGUAGE:CXX>:(.*)>$" "\\1" value "${value}")
  endforeach()
  if(value MATCHES "\\$<")
    set(value "")
  endif()
  set(${out} "${value}" PARENT_SCOPE)
endfunction()

# Resolves the generator expressions of a whole property list `var` in place, for C++ and the
# installed tree. It works on the joined list because one expression may hold several items
# (Kokkos 4 CUDA: `$<$<COMPILE_LANGUAGE:CXX>:-extended-lambda;-Wext-lambda-captures-this;-arch=sm_90>`),
# which a walk item by item would cut apart. Innermost expressions first: the C++ language and
# install-interface conditions are true, a build-interface item is dropped, and any other
# expression is dropped with what it guards.
function(_strata_pc_flatten var)
  set(value "${${var}}")
  foreach(_pass RANGE 8)
    if(NOT value MATCHES "\\$<")
      break()
    endif()
    string(REGEX REPLACE "\\$<(COMPILE|LINK)_LANGUAGE:CXX>" "1" value "${value}")
    string(REGEX REPLACE "\\$<COMPILE_LANG_AND_ID:CXX,[^<>]*>" "1" value "${value}")
    string(REGEX REPLACE "\\$<(INSTALL_INTERFACE|LINK_ONLY):([^<>]*)>" "\\2" value "${value}")
    string(REGEX REPLACE "\\$<1:([^<>]*)>" "\\1" value "${value}")
    string(REGEX REPLACE "\\$<[^<>]*>" "" value "${value}")
  endforeach()
  if(value MATCHES "\\$<")
    message(WARNING "strata.pc: unresolved generator expression dropped from ${var}: ${value}")
    string(REGEX REPLACE "[^;]*\\$<[^;]*" "" value "${value}")
  endif()
  list(REMOVE_ITEM value "")
  set(${var} "${value}" PARENT_SCOPE)
endfunction()

# Appends to the lists _pc_cflags and _pc_libs of the caller the flags `item` brings.
macro(_strata_pc_walk item)
  _strata_pc_resolve("${item}" _strata_pc_item)
  if(_strata_pc_item STREQUAL "")
  elseif(TARGET "${_strata_pc_item}")
    get_target_property(_strata_pc_real "${_strata_pc_item}" ALIASED_TARGET)
    if(NOT _strata_pc_real)
      set(_strata_pc_real "${_strata_pc_item}")
    endif()
    if(NOT _strata_pc_real IN_LIST _pc_seen)
      list(APPEND _pc_seen "${_strata_pc_real}")
      _strata_pc_target("${_strata_pc_real}")
    endif()
  elseif(_strata_pc_item MATCHES "^-D")
    # Trilinos lists -DKOKKOS_DEPENDENCE among its link libraries: not a link flag.
  elseif(_strata_pc_item MATCHES "^-" OR IS_ABSOLUTE "${_strata_pc_item}")
    list(APPEND _pc_libs "${_strata_pc_item}")
  else()
    list(APPEND _pc_libs "-l${_strata_pc_item}")
  endif()
endmacro()

function(_strata_pc_target target)
  get_target_property(type ${target} TYPE)
  get_target_property(imported ${target} IMPORTED)
  get_target_property(includes ${target} INTERFACE_INCLUDE_DIRECTORIES)
  _strata_pc_flatten(includes)
  foreach(dir IN LISTS includes)
    _strata_pc_resolve("${dir}" dir)
    if(dir AND IS_ABSOLUTE "${dir}" AND NOT dir IN_LIST CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES)
      list(APPEND _pc_cflags "-I${dir}")
    endif()
  endforeach()
  get_target_property(definitions ${target} INTERFACE_COMPILE_DEFINITIONS)
  _strata_pc_flatten(definitions)
  foreach(definition IN LISTS definitions)
    _strata_pc_resolve("${definition}" definition)
    if(definition)
      list(APPEND _pc_cflags "-D${definition}")
    endif()
  endforeach()
  get_target_property(options ${target} INTERFACE_COMPILE_OPTIONS)
  _strata_pc_flatten(options)
  foreach(option IN LISTS options)
    _strata_pc_resolve("${option}" option)
    if(option)
      list(APPEND _pc_cflags "${option}")
    endif()
  endforeach()
  if(imported AND NOT type STREQUAL "INTERFACE_LIBRARY")
    set(location "")
    get_target_property(configurations ${target} IMPORTED_CONFIGURATIONS)
    foreach(config IN ITEMS RELEASE RELWITHDEBINFO NOCONFIG ${configurations})
      get_target_property(location ${target} IMPORTED_LOCATION_${config})
      if(location)
        break()
      endif()
    endforeach()
    if(NOT location)
      get_target_property(location ${target} IMPORTED_LOCATION)
    endif()
    if(location)
      list(APPEND _pc_libs "${location}")
    endif()
  endif()
  get_target_property(link_options ${target} INTERFACE_LINK_OPTIONS)
  _strata_pc_flatten(link_options)
  foreach(option IN LISTS link_options)
    _strata_pc_resolve("${option}" option)
    if(option AND NOT option MATCHES "^-D")  # Kokkos lists -DKOKKOS_DEPENDENCE: not a link flag
      list(APPEND _pc_libs "${option}")
    endif()
  endforeach()
  get_target_property(links ${target} INTERFACE_LINK_LIBRARIES)
  _strata_pc_flatten(links)
  foreach(link IN LISTS links)
    if(link)
      _strata_pc_walk("${link}")
    endif()
  endforeach()
  set(_pc_cflags "${_pc_cflags}" PARENT_SCOPE)
  set(_pc_libs "${_pc_libs}" PARENT_SCOPE)
  set(_pc_seen "${_pc_seen}" PARENT_SCOPE)
endfunction()

# The flags of the dependencies in `items` (targets or link items): out_cflags, out_libs.
function(_strata_pc_flags items out_cflags out_libs)
  set(_pc_cflags "")
  set(_pc_libs "")
  set(_pc_seen "")
  foreach(item IN LISTS items)
    _strata_pc_walk("${item}")
  endforeach()
  list(REMOVE_DUPLICATES _pc_cflags)
  list(REMOVE_DUPLICATES _pc_libs)  # keeps each first occurrence; shared libraries need no order
  list(JOIN _pc_cflags " " cflags)
  list(JOIN _pc_libs " " libs)
  set(${out_cflags} "${cflags}" PARENT_SCOPE)
  set(${out_libs} "${libs}" PARENT_SCOPE)
endfunction()

function(strata_install_pkg_config target)
  get_target_property(public ${target} INTERFACE_LINK_LIBRARIES)
  get_target_property(all ${target} LINK_LIBRARIES)
  # A static library lists its private dependencies as $<LINK_ONLY:...> in its interface.
  list(FILTER public EXCLUDE REGEX "^\\$<LINK_ONLY:")
  set(private "")
  foreach(item IN LISTS all)
    if(NOT item IN_LIST public)
      list(APPEND private "${item}")
    endif()
  endforeach()
  _strata_pc_flags("${public}" public_cflags public_libs)
  # The target's own installed include directories besides ${includedir} (e.g. strata/capi, where
  # C programs find strata.h).
  get_target_property(own_includes ${target} INTERFACE_INCLUDE_DIRECTORIES)
  set(own_cflags "")
  foreach(dir IN LISTS own_includes)
    if(dir MATCHES "^\\$<INSTALL_INTERFACE:(.+)>$" AND NOT CMAKE_MATCH_1 STREQUAL CMAKE_INSTALL_INCLUDEDIR)
      string(REGEX REPLACE "^${CMAKE_INSTALL_INCLUDEDIR}/" "" relative "${CMAKE_MATCH_1}")
      string(APPEND own_cflags " -I\${includedir}/${relative}")
    endif()
  endforeach()
  _strata_pc_flags("${private}" private_cflags private_libs)

  set(pc_dir "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
  file(RELATIVE_PATH to_prefix "/prefix/${pc_dir}" "/prefix")
  string(REGEX REPLACE "/$" "" to_prefix "${to_prefix}")
  set(libs_private "")
  if(NOT BUILD_SHARED_LIBS)
    set(libs_private "Libs.private: ${private_libs}\n")
  endif()
  file(WRITE "${PROJECT_BINARY_DIR}/strata.pc"
    "prefix=\${pcfiledir}/${to_prefix}\n"
    "libdir=\${prefix}/${CMAKE_INSTALL_LIBDIR}\n"
    "includedir=\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}\n\n"
    "Name: Strata\n"
    "Description: Randomized structured linear algebra (HSS, sketching, Polar Express) on Kokkos\n"
    "URL: https://github.com/strata-hpc/strata\n"
    "Version: ${PROJECT_VERSION}\n"
    "Cflags: -I\${includedir}${own_cflags} ${public_cflags}\n"
    "Libs: -L\${libdir} -lstrata ${public_libs}\n"
    "${libs_private}")
  install(FILES "${PROJECT_BINARY_DIR}/strata.pc" DESTINATION "${pc_dir}")
endfunction()
