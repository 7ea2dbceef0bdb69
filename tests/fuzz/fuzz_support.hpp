// What the fuzz targets share: one Strata runtime per process and a scratch file for the input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>

#include "strata/dist/comm.hpp"

namespace strata::fuzz {

/// Initializes MPI (if built with it) and Kokkos once, for the life of the process (libFuzzer calls
/// LLVMFuzzerInitialize once; Kokkos cannot be initialized again after finalize). Standard output
/// goes to /dev/null (the commands print results there; libFuzzer reports on standard error).
void initialize_runtime();

/// MPI_COMM_WORLD duplicated once (a single rank under libFuzzer).
const Comm& world();

/// Writes `size` bytes to a file in this process's scratch directory (in /dev/shm when there is
/// one, else $TMPDIR or /tmp; removed at exit) and returns its path. Each call replaces the file.
std::string write_scratch_file(const std::uint8_t* data, std::size_t size, const std::string& name);

/// An exception that is not a strata::Error escaped: the command-line tool would print it as it is
/// ("std::bad_alloc", "vector::_M_default_append", "stoi") instead of a clear one-line error. That
/// is a defect: prints the type and message on standard error and aborts, so libFuzzer keeps the
/// input.
[[noreturn]] void foreign_exception(const char* target, const std::exception& e);

/// This process's scratch directory (created on first use).
const std::string& scratch_directory();

}  // namespace strata::fuzz
