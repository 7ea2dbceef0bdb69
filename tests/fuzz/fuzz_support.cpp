#include "fuzz_support.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <typeinfo>

#include "strata/core/progress.hpp"
#include "strata/core/runtime.hpp"

namespace strata::fuzz {
namespace {

std::unique_ptr<ScopeGuard>& runtime() {
  static std::unique_ptr<ScopeGuard> guard;
  return guard;
}

std::unique_ptr<Comm>& world_comm() {
  static std::unique_ptr<Comm> comm;
  return comm;
}

void finalize_runtime() {
  world_comm().reset();  // frees the duplicated communicator before MPI_Finalize
  runtime().reset();
  std::error_code ignored;
  std::filesystem::remove_all(scratch_directory(), ignored);
}

}  // namespace

void initialize_runtime() {
  if (runtime()) return;
  // Kokkos and MPI see only the program name, not libFuzzer's flags.
  static char name[] = "strata_fuzz";
  static char* argv_storage[] = {name, nullptr};
  int argc = 1;
  char** argv = argv_storage;
  // Open MPI's own handlers for SIGABRT/SIGSEGV/SIGBUS/SIGFPE (MCA opal_signal) would replace
  // libFuzzer's, which then never writes the crashing input: keep them off unless the user set it.
  ::setenv("OMPI_MCA_opal_signal", "", 0);
  runtime() = std::make_unique<ScopeGuard>(argc, argv);
  world_comm() = std::make_unique<Comm>();
  set_progress_enabled(false);
  if (!std::freopen("/dev/null", "w", stdout)) throw std::runtime_error("cannot redirect stdout");
  scratch_directory();  // constructed before the handler is registered, so destroyed after it ran
  std::atexit(finalize_runtime);
}

const Comm& world() {
  return *world_comm();
}

void foreign_exception(const char* target, const std::exception& e) {
  std::fprintf(stderr, "[%s] not a strata::Error: %s: %s\n", target, typeid(e).name(), e.what());
  std::abort();
}

const std::string& scratch_directory() {
  static const std::string dir = [] {
    std::string base = "/dev/shm";
    if (!std::filesystem::is_directory(base)) {
      const char* tmp = std::getenv("TMPDIR");
      base = tmp && *tmp ? tmp : "/tmp";
    }
    std::string pattern = base + "/strata-fuzz-XXXXXX";
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed in " + base);
    return pattern;
  }();
  return dir;
}

std::string write_scratch_file(const std::uint8_t* data, std::size_t size,
                               const std::string& name) {
  const std::string path = scratch_directory() + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.close();
  if (!out) throw std::runtime_error("cannot write the scratch file " + path);
  return path;
}

}  // namespace strata::fuzz
