#include "bench_main.hpp"

#include <cstdlib>
#include <cstring>
#include <sstream>

#include "strata/core/runtime.hpp"
#include "strata/dist/comm.hpp"

namespace strata::bench {

namespace {
std::map<std::string, Recorded> g_recorded;
Summary g_summary = nullptr;
Registrar g_registrar = nullptr;
std::vector<long> g_sizes;

// Console output as usual, plus a copy of every run for the summary table.
class RecordingReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& run : runs) {
      Recorded r;
      const auto it = run.counters.find("bytes_per_second");
      if (it != run.counters.end()) r.bytes_per_second = it->second.value;
      r.seconds_per_iteration = run.GetAdjustedRealTime() * 1e-9;  // default time unit: ns
      g_recorded[run.benchmark_name()] = r;
    }
    ConsoleReporter::ReportRuns(runs);
  }
};
}  // namespace

const std::map<std::string, Recorded>& recorded() { return g_recorded; }
void set_summary(Summary summary) { g_summary = summary; }
void set_registrar(Registrar registrar) { g_registrar = registrar; }
std::vector<long> sizes(const std::vector<long>& fallback) {
  if (g_sizes.empty()) g_sizes = fallback;
  return g_sizes;
}

}  // namespace strata::bench

int main(int argc, char** argv) {
  strata::ScopeGuard guard(argc, argv);
  // Our own option: --sizes=a,b,c.
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--sizes=", 8) == 0) {
      std::stringstream list(argv[i] + 8);
      std::string item;
      while (std::getline(list, item, ',')) strata::bench::g_sizes.push_back(std::atol(item.c_str()));
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  benchmark::Initialize(&argc, argv);
  if (strata::bench::g_registrar) strata::bench::g_registrar();
  {
    const strata::Comm world;
    if (world.rank() == 0) {
      strata::bench::RecordingReporter reporter;
      benchmark::RunSpecifiedBenchmarks(&reporter);
      if (strata::bench::g_summary) strata::bench::g_summary(strata::bench::g_recorded);
    } else {
      benchmark::RunSpecifiedBenchmarks();
    }
  }
  benchmark::Shutdown();
  return 0;
}
