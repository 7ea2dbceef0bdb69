// Shared main for Strata's Google Benchmark drivers: Kokkos/MPI init, rank-0 output, and a table of
// each benchmark's figure beside the baseline measured in the same run.
#pragma once

#include <benchmark/benchmark.h>

#include <map>
#include <string>
#include <vector>

namespace strata::bench {

/// Results of the finished runs, by benchmark name (e.g. "fill/gaussian/fp64/1048576").
struct Recorded {
  double bytes_per_second = 0;
  double seconds_per_iteration = 0;
};
const std::map<std::string, Recorded>& recorded();

/// Called after all benchmarks ran, to print the comparison table; set by each driver.
using Summary = void (*)(const std::map<std::string, Recorded>&);
void set_summary(Summary summary);

/// Problem sizes from --sizes=a,b,c (removed from argv), or `fallback`.
std::vector<long> sizes(const std::vector<long>& fallback);

/// Value of a driver option --name=value (removed from argv before Google Benchmark sees it), or
/// `fallback`. Drivers declare theirs with set_options before main runs.
std::string option(const std::string& name, const std::string& fallback);
void add_option_name(const std::string& name);

/// Registers the driver's benchmarks once sizes are known.
using Registrar = void (*)();
void set_registrar(Registrar registrar);

}  // namespace strata::bench
