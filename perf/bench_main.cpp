#include "bench_main.hpp"

#include <cstdlib>
#include <cstring>
#include <sstream>

#include "strata/core/runtime.hpp"
#include "strata/dist/comm.hpp"

namespace strata::bench {

namespace {
// Function-local statics: drivers register from their own static initializers, which may run
// before this file's globals would be constructed.
struct State {
  std::map<std::string, Recorded> recorded;
  Summary summary = nullptr;
  Registrar registrar = nullptr;
  std::vector<long> sizes;
  std::map<std::string, std::string> options;
  std::vector<std::string> option_names;
};
State& state() {
  static State s;
  return s;
}

// Console output as usual, plus a copy of every run for the summary table.
class RecordingReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& run : runs) {
      Recorded r;
      const auto it = run.counters.find("bytes_per_second");
      if (it != run.counters.end()) r.bytes_per_second = it->second.value;
      r.seconds_per_iteration =
          run.GetAdjustedRealTime() / benchmark::GetTimeUnitMultiplier(run.time_unit);
      state().recorded[run.benchmark_name()] = r;
    }
    ConsoleReporter::ReportRuns(runs);
  }
};
}  // namespace

std::string option(const std::string& name, const std::string& fallback) {
  const auto it = state().options.find(name);
  return it == state().options.end() ? fallback : it->second;
}
void add_option_name(const std::string& name) {
  state().option_names.push_back(name);
}

const std::map<std::string, Recorded>& recorded() {
  return state().recorded;
}
void set_summary(Summary summary) {
  state().summary = summary;
}
void set_registrar(Registrar registrar) {
  state().registrar = registrar;
}
std::vector<long> sizes(const std::vector<long>& fallback) {
  if (state().sizes.empty()) state().sizes = fallback;
  return state().sizes;
}

}  // namespace strata::bench

int main(int argc, char** argv) {
  strata::ScopeGuard guard(argc, argv);
  // Our own option: --sizes=a,b,c.
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    bool consumed = false;
    if (std::strncmp(argv[i], "--sizes=", 8) == 0) {
      std::stringstream list(argv[i] + 8);
      std::string item;
      while (std::getline(list, item, ','))
        strata::bench::state().sizes.push_back(std::atol(item.c_str()));
      consumed = true;
    }
    for (const auto& name : strata::bench::state().option_names) {
      const std::string prefix = "--" + name + "=";
      if (std::strncmp(argv[i], prefix.c_str(), prefix.size()) == 0) {
        strata::bench::state().options[name] = argv[i] + prefix.size();
        consumed = true;
      }
    }
    if (!consumed) argv[kept++] = argv[i];
  }
  argc = kept;
  benchmark::Initialize(&argc, argv);
  auto& state = strata::bench::state();
  if (state.registrar) state.registrar();
  {
    const strata::Comm world;
    if (world.rank() == 0) {
      strata::bench::RecordingReporter reporter;
      benchmark::RunSpecifiedBenchmarks(&reporter);
      if (state.summary) state.summary(state.recorded);
    } else {
      benchmark::RunSpecifiedBenchmarks();
    }
  }
  benchmark::Shutdown();
  return 0;
}
