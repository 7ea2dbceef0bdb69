#include "strata/sketch/coordinated_sampling.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "strata/core/checks.hpp"
#include "strata/core/random.hpp"
#include "strata/dist/collective.hpp"
#include "strata/linalg/blas.hpp"

namespace strata::sketch {

namespace {

constexpr std::uint64_t hash_stream = 0x68617368;  // "hash"

struct Candidate {
  double key;  // priority: h(i) / w_i; threshold: h(i)
  index_type index;
  double weight;
};

bool by_key(const Candidate& x, const Candidate& y) {
  return x.key < y.key || (x.key == y.key && x.index < y.index);
}

/// Every rank's candidates, in rank order, on every rank.
std::vector<Candidate> gather(const Comm& comm, const std::vector<Candidate>& local) {
  const auto counts = comm.allgather(static_cast<std::int64_t>(local.size()));
  std::int64_t total = 0;
  for (const auto c : counts) total += c;
  std::vector<double> keys(local.size()), weights(local.size());
  std::vector<std::int64_t> indices(local.size());
  for (std::size_t e = 0; e < local.size(); ++e) {
    keys[e] = local[e].key;
    weights[e] = local[e].weight;
    indices[e] = local[e].index;
  }
  std::vector<double> all_keys(static_cast<std::size_t>(total)),
      all_weights(static_cast<std::size_t>(total));
  std::vector<std::int64_t> all_indices(static_cast<std::size_t>(total));
  const auto n = static_cast<std::int64_t>(local.size());
  comm.allgatherv_raw(keys.data(), n, all_keys.data(), counts, detail::type_double);
  comm.allgatherv_raw(weights.data(), n, all_weights.data(), counts, detail::type_double);
  comm.allgatherv_raw(indices.data(), n, all_indices.data(), counts, detail::type_int64);
  std::vector<Candidate> all(static_cast<std::size_t>(total));
  for (std::size_t e = 0; e < all.size(); ++e)
    all[e] = {all_keys[e], all_indices[e], all_weights[e]};
  return all;
}

/// Squared norms of the local rows, in double.
template <class T>
HostVector<double> row_weights(const ExecSpace& exec, const Matrix<T>& a) {
  Kokkos::View<double*, MemSpace> w("strata::sketch::coordinated::weights", a.extent(0));
  const auto cols = static_cast<int>(a.extent(1));
  Kokkos::parallel_for(
      "strata::sketch::coordinated::row_weights",
      Kokkos::RangePolicy<ExecSpace>(exec, 0, a.extent(0)), KOKKOS_LAMBDA(const std::size_t i) {
        double s = 0;
        for (int j = 0; j < cols; ++j)
          s += static_cast<double>(a(i, j)) * static_cast<double>(a(i, j));
        w(i) = s;
      });
  return Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), w);
}

/// out(p, :) = scale(p) * src(rows(p), :) for the listed rows.
template <class T>
void gather_rows(const ExecSpace& exec, const Matrix<T>& src,
                 const Kokkos::View<index_type*, MemSpace>& rows,
                 const Kokkos::View<double*, MemSpace>& scale, const Matrix<T>& out,
                 const Kokkos::View<index_type*, MemSpace>& positions) {
  Kokkos::parallel_for(
      "strata::sketch::coordinated::gather_rows",
      Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>(exec, {0, 0},
                                                        {rows.extent(0), src.extent(1)}),
      KOKKOS_LAMBDA(const std::size_t p, const std::size_t j) {
        out(positions(p), j) = static_cast<T>(scale(p) * static_cast<double>(src(rows(p), j)));
      });
}

template <class T>
Kokkos::View<T*, MemSpace> to_device(const std::vector<T>& v, const char* label) {
  Kokkos::View<T*, MemSpace> d(std::string(label), v.size());
  auto h = Kokkos::create_mirror_view(d);
  for (std::size_t i = 0; i < v.size(); ++i) h(i) = v[i];
  Kokkos::deep_copy(d, h);
  return d;
}

}  // namespace

const char* sampling_scheme_name(SamplingScheme scheme) {
  return scheme == SamplingScheme::priority ? "priority" : "threshold";
}

double coordinated_hash(std::uint64_t seed, index_type row) {
  const RandomStream stream{Distribution::gaussian, seed, hash_stream};
  return RandomStream::uniform_open(stream.bits(row, 0).v[0]);
}

template <class T>
ProductSketch<T> build_product_sketch(const ExecSpace& exec, const DistMatrix<T>& a,
                                      const CoordinatedSamplingOptions& o) {
  const Comm& comm = a.comm();
  collective(comm, [&] {
    STRATA_REQUIRE(o.sample_size >= 1, InvalidArgument,
                   "build_product_sketch: the sample size k must be >= 1, got ", o.sample_size);
    require_finite(exec, a.local(), "build_product_sketch: A");
  });
  ProductSketch<T> s;
  s.scheme = o.scheme;
  s.seed = o.seed;
  s.rows = a.global_rows();
  s.cols = a.cols();
  s.sample_size = o.sample_size;
  const auto k = static_cast<std::size_t>(o.sample_size);
  std::vector<Candidate> kept;
  {
    auto scope = s.timings.scope("select");
    const auto w = row_weights(exec, a.local());
    double local_sum = 0;
    for (std::size_t i = 0; i < w.extent(0); ++i) local_sum += w(i);
    const double frobenius_squared = comm.allreduce(local_sum, ReduceOp::sum);
    std::vector<Candidate> local;
    const double threshold =
        frobenius_squared > 0 ? static_cast<double>(k) / frobenius_squared : 0.0;
    for (std::size_t i = 0; i < w.extent(0); ++i) {
      if (!(w(i) > 0)) continue;  // zero rows are never sampled (nor needed)
      const index_type row = a.row_begin() + static_cast<index_type>(i);
      const double h = coordinated_hash(o.seed, row);
      if (o.scheme == SamplingScheme::priority) {
        local.push_back({h / w(i), row, w(i)});
      } else if (h <= w(i) * threshold) {
        local.push_back({h, row, w(i)});
      }
    }
    if (o.scheme == SamplingScheme::priority) {
      // Only this rank's k + 1 smallest ranks can be among the global k + 1 smallest.
      if (local.size() > k + 1) {
        std::nth_element(local.begin(), local.begin() + static_cast<long>(k), local.end(), by_key);
        local.resize(k + 1);
      }
      auto all = gather(comm, local);
      std::sort(all.begin(), all.end(), by_key);
      s.tau = all.size() > k ? all[k].key : std::numeric_limits<double>::infinity();
      all.resize(std::min(all.size(), k));
      kept = std::move(all);
    } else {
      kept = gather(comm, local);
      s.tau = threshold;
    }
    std::sort(kept.begin(), kept.end(),
              [](const Candidate& x, const Candidate& y) { return x.index < y.index; });
  }
  auto scope = s.timings.scope("collect_rows");
  s.indices = HostVector<index_type>("strata::sketch::coordinated::indices", kept.size());
  s.weights = HostVector<double>("strata::sketch::coordinated::weights", kept.size());
  std::vector<index_type> local_rows, positions;
  for (std::size_t p = 0; p < kept.size(); ++p) {
    s.indices(p) = kept[p].index;
    s.weights(p) = kept[p].weight;
    const index_type local = kept[p].index - a.row_begin();
    if (local >= 0 && local < a.local_rows()) {
      local_rows.push_back(local);
      positions.push_back(static_cast<index_type>(p));
    }
  }
  s.values = Matrix<T>("strata::sketch::coordinated::values", kept.size(),
                       static_cast<std::size_t>(a.cols()));
  if (!local_rows.empty()) {
    const std::vector<double> ones(local_rows.size(), 1.0);
    gather_rows<T>(exec, a.local(), to_device(local_rows, "strata::sketch::coordinated::rows"),
                   to_device(ones, "strata::sketch::coordinated::ones"), s.values,
                   to_device(positions, "strata::sketch::coordinated::positions"));
  }
  // Each kept row is owned by one rank and zero elsewhere: the sum replicates the rows.
  comm.allreduce(exec, s.values, ReduceOp::sum);
  kx::fence(exec, "strata::sketch::coordinated::sketch");
  return s;
}

template <class T>
Matrix<T> estimate_product(const ExecSpace& exec, const ProductSketch<T>& a,
                           const ProductSketch<T>& b) {
  STRATA_REQUIRE(a.seed == b.seed && a.scheme == b.scheme, InvalidArgument,
                 "estimate_product: the sketches were built with different seeds or schemes (",
                 a.seed, "/", sampling_scheme_name(a.scheme), " vs ", b.seed, "/",
                 sampling_scheme_name(b.scheme), "); coordinated sampling needs the same ones");
  STRATA_REQUIRE(a.rows == b.rows, ShapeMismatch, "estimate_product: A has ", a.rows,
                 " rows but B has ", b.rows, "; A^T B needs the same number");
  std::vector<index_type> rows_a, rows_b, positions;
  std::vector<double> scale;
  std::size_t p = 0, q = 0;
  while (p < a.indices.extent(0) && q < b.indices.extent(0)) {
    if (a.indices(p) < b.indices(q)) {
      ++p;
    } else if (b.indices(q) < a.indices(p)) {
      ++q;
    } else {
      // Row i is in both sketches iff h(i) <= min(w_a tau_a, w_b tau_b) (the same h for both).
      const double probability = std::min({1.0, a.weights(p) * a.tau, b.weights(q) * b.tau});
      positions.push_back(static_cast<index_type>(rows_a.size()));
      rows_a.push_back(static_cast<index_type>(p));
      rows_b.push_back(static_cast<index_type>(q));
      scale.push_back(1.0 / probability);
      ++p;
      ++q;
    }
  }
  Matrix<T> w("strata::sketch::coordinated::W", static_cast<std::size_t>(a.cols),
              static_cast<std::size_t>(b.cols));
  if (rows_a.empty()) return w;
  const auto c = rows_a.size();
  Matrix<T> ac("strata::sketch::coordinated::Ac", c, static_cast<std::size_t>(a.cols));
  Matrix<T> bc("strata::sketch::coordinated::Bc", c, static_cast<std::size_t>(b.cols));
  const auto pos = to_device(positions, "strata::sketch::coordinated::positions");
  gather_rows<T>(exec, a.values, to_device(rows_a, "strata::sketch::coordinated::rows_a"),
                 to_device(scale, "strata::sketch::coordinated::scale"), ac, pos);
  const std::vector<double> ones(c, 1.0);
  gather_rows<T>(exec, b.values, to_device(rows_b, "strata::sketch::coordinated::rows_b"),
                 to_device(ones, "strata::sketch::coordinated::ones"), bc, pos);
  linalg::gemm(exec, "T", "N", T(1), ac, bc, T(0), w);
  kx::fence(exec, "strata::sketch::coordinated::estimate");
  return w;
}

#define STRATA_COORDINATED_SAMPLING_DEFINE(T)                                               \
  template ProductSketch<T> build_product_sketch<T>(const ExecSpace&, const DistMatrix<T>&, \
                                                    const CoordinatedSamplingOptions&);     \
  template Matrix<T> estimate_product<T>(const ExecSpace&, const ProductSketch<T>&,         \
                                         const ProductSketch<T>&);
STRATA_COORDINATED_SAMPLING_DEFINE(float)
STRATA_COORDINATED_SAMPLING_DEFINE(double)
#undef STRATA_COORDINATED_SAMPLING_DEFINE

}  // namespace strata::sketch
