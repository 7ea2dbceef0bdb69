// Every estimator of sketch/ on a block-row distributed operator gives the single-rank result (a
// replicated operator on Comm::self) to rounding, at 1, 2 and 4 ranks.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "strata/dist/operations.hpp"
#include "strata/linalg/host_lapack.hpp"
#include "strata/sketch/coordinated_sampling.hpp"
#include "strata/sketch/diagonal.hpp"
#include "strata/sketch/fixed_sparsity.hpp"
#include "strata/sketch/lanczos.hpp"
#include "strata/sketch/trace.hpp"
#include "support/allclose.hpp"

namespace {

using strata::index_type;
namespace sketch = strata::sketch;
constexpr index_type n = 64;
// Results differ from the single-rank ones only by the order of sums (row blocks, allreduce, TSQR
// vs one QR): a few hundred ulps of fp64 at these sizes.
constexpr double rtol = 1e-11;

/// Symmetric positive definite test matrix V diag(1..50) V^T, the same on every rank.
strata::Matrix<double> spd_matrix() {
  strata::Matrix<double> g("g", n, n);
  strata::fill_random(strata::ExecSpace(),
                      strata::RandomStream{strata::Distribution::gaussian, 5, 1}, g);
  auto v = strata::testing::to_host(g);
  strata::linalg::host::qr_in_place(v);
  strata::HostMatrix<double> a("a", n, n);
  for (index_type l = 0; l < n; ++l) {
    const double lambda = 1.0 + 49.0 * std::pow(static_cast<double>(l) / (n - 1), 3);
    for (index_type j = 0; j < n; ++j)
      for (index_type i = 0; i < n; ++i) a(i, j) += v(i, l) * lambda * v(j, l);
  }
  strata::Matrix<double> d("spd", n, n);
  Kokkos::deep_copy(d, a);
  return d;
}

strata::DistMatrix<double> distribute(const strata::Comm& comm,
                                      const strata::Matrix<double>& full) {
  strata::DistMatrix<double> a(comm, static_cast<index_type>(full.extent(0)),
                               static_cast<index_type>(full.extent(1)));
  const auto begin = static_cast<std::size_t>(a.row_begin());
  const auto end = begin + static_cast<std::size_t>(a.local_rows());
  Kokkos::deep_copy(a.local(), Kokkos::subview(full, Kokkos::make_pair(begin, end), Kokkos::ALL));
  return a;
}

struct Fixture {
  strata::Comm comm;
  strata::Matrix<double> full = spd_matrix();
  strata::DistMatrix<double> dist = distribute(comm, full);
  strata::DenseOperator<double> replicated{full};
  strata::DistDenseOperator<double> distributed{dist};
};

TEST(EstimatorsDistributed, TraceMatchesSingleRank) {
  Fixture f;
  const strata::ExecSpace exec;
  for (const auto method : {sketch::TraceMethod::hutchinson, sketch::TraceMethod::hutch_plus_plus,
                            sketch::TraceMethod::na_hutch_plus_plus}) {
    sketch::TraceOptions o;
    o.method = method;
    o.matvecs = 21;
    o.seed = 17;
    const auto d = sketch::estimate_trace(exec, f.distributed, o);
    const auto r = sketch::estimate_trace(exec, f.replicated, o);
    EXPECT_NEAR(d.estimate, r.estimate, rtol * std::abs(r.estimate))
        << sketch::trace_method_name(method);
    // The standard error is std(x) / sqrt(N) over the N Hutchinson terms x_i, each equal across
    // rank counts to rtol |x_i|; std is Lipschitz in x (|std(x) - std(x')| <= ||x - x'||_2 /
    // sqrt(N - 1)), so the standard errors differ by <= rtol max|x_i| / sqrt(N - 1), with
    // max|x_i| <= |mean x| + sqrt(N - 1) std(x) <= |estimate - low_rank_part| + N standard_error.
    const double probes = static_cast<double>(r.hutchinson_probes);
    ASSERT_GE(probes, 2);
    EXPECT_NEAR(d.standard_error, r.standard_error,
                rtol * (std::abs(r.estimate - r.low_rank_part) + probes * r.standard_error) /
                    std::sqrt(probes - 1))
        << sketch::trace_method_name(method);
    EXPECT_EQ(d.matvecs, r.matvecs);
  }
}

TEST(EstimatorsDistributed, DiagonalMatchesSingleRank) {
  Fixture f;
  const strata::ExecSpace exec;
  for (const auto method : {sketch::DiagonalMethod::hutchinson, sketch::DiagonalMethod::deflated}) {
    sketch::DiagonalOptions o;
    o.method = method;
    o.matvecs = 15;
    const auto d = sketch::estimate_diagonal(exec, f.distributed, o);
    const auto r = sketch::estimate_diagonal(exec, f.replicated, o);
    const auto gathered = strata::allgather_rows(exec, d.diagonal);
    EXPECT_THAT(
        strata::testing::to_host(gathered),
        strata::testing::AllClose(strata::testing::to_host(r.diagonal.local()), rtol, rtol * 50));
  }
}

template <class T>
std::vector<double> dense_rows(const sketch::SparseApproximation<T>& s, index_type first,
                               index_type count) {
  std::vector<double> out(static_cast<std::size_t>(count * s.cols), 0.0);
  const auto offsets = strata::testing::to_host(s.row_offsets);
  const auto cols = strata::testing::to_host(s.col_indices);
  const auto values = strata::testing::to_host(s.values);
  for (index_type i = 0; i < count; ++i) {
    const auto local = static_cast<std::size_t>(first + i - s.row_begin);
    for (index_type e = offsets(local); e < offsets(local + 1); ++e)
      out[static_cast<std::size_t>(i * s.cols + cols(e))] = values(e);
  }
  return out;
}

TEST(EstimatorsDistributed, FixedSparsityMatchesSingleRank) {
  Fixture f;
  const strata::ExecSpace exec;
  // A general pattern with rows of 1 to 3 entries, and the banded coloring variant.
  sketch::SparsityPattern p;
  p.rows = p.cols = n;
  p.row_offsets.push_back(0);
  for (index_type i = 0; i < n; ++i) {
    p.col_indices.push_back(i);
    if (i % 3 != 0) p.col_indices.push_back((i * 7 + 3) % n == i ? (i + 1) % n : (i * 7 + 3) % n);
    if (i % 3 == 2 && (i * 11 + 5) % n != i && (i * 11 + 5) % n != (i * 7 + 3) % n)
      p.col_indices.push_back((i * 11 + 5) % n);
    p.row_offsets.push_back(static_cast<index_type>(p.col_indices.size()));
  }
  sketch::FixedSparsityOptions o;
  o.matvecs = 12;
  const auto d = sketch::fixed_sparsity_approximation(exec, f.distributed, p, o);
  const auto r = sketch::fixed_sparsity_approximation(exec, f.replicated, p, o);
  const auto rows = f.dist.local_rows();
  const auto dd = dense_rows(d, d.row_begin, rows), rr = dense_rows(r, d.row_begin, rows);
  for (std::size_t e = 0; e < dd.size(); ++e) EXPECT_NEAR(dd[e], rr[e], rtol * 50) << e;
  const auto dc = sketch::banded_coloring_approximation(exec, f.distributed, 1, o);
  const auto rc = sketch::banded_coloring_approximation(exec, f.replicated, 1, o);
  const auto dcd = dense_rows(dc, dc.row_begin, rows), rcd = dense_rows(rc, dc.row_begin, rows);
  for (std::size_t e = 0; e < dcd.size(); ++e) EXPECT_NEAR(dcd[e], rcd[e], rtol * 50) << e;
}

TEST(EstimatorsDistributed, CoordinatedSamplingMatchesSingleRank) {
  Fixture f;
  const strata::ExecSpace exec;
  const strata::DistMatrix<double> whole(strata::Comm::self(), n, n, "whole");
  Kokkos::deep_copy(whole.local(), f.full);
  for (const auto scheme : {sketch::SamplingScheme::priority, sketch::SamplingScheme::threshold}) {
    sketch::CoordinatedSamplingOptions o;
    o.scheme = scheme;
    o.sample_size = 9;
    o.seed = 4;
    const auto d = sketch::build_product_sketch(exec, f.dist, o);
    const auto r = sketch::build_product_sketch(exec, whole, o);
    ASSERT_EQ(d.indices.extent(0), r.indices.extent(0));
    for (std::size_t p = 0; p < d.indices.extent(0); ++p) EXPECT_EQ(d.indices(p), r.indices(p));
    EXPECT_NEAR(d.tau, r.tau, rtol * r.tau);
    EXPECT_THAT(strata::testing::to_host(d.values),
                strata::testing::AllClose(strata::testing::to_host(r.values), 0.0, 0.0));
    EXPECT_THAT(strata::testing::to_host(sketch::estimate_product(exec, d, d)),
                strata::testing::AllClose(
                    strata::testing::to_host(sketch::estimate_product(exec, r, r)), rtol, rtol));
  }
}

TEST(EstimatorsDistributed, LanczosMatchesSingleRank) {
  Fixture f;
  const strata::ExecSpace exec;
  strata::DistMatrix<double> b(f.comm, n, 1), y(f.comm, n, 1);
  strata::fill_random(exec, strata::RandomStream{strata::Distribution::gaussian, 8, 0}, b);
  const strata::BlockRowLayout whole(n, 1);
  strata::DistMatrix<double> br(strata::Comm::self(), whole, 1), yr(strata::Comm::self(), whole, 1);
  strata::fill_random(exec, strata::RandomStream{strata::Distribution::gaussian, 8, 0}, br);
  for (const auto function : {sketch::MatrixFunction::inverse, sketch::MatrixFunction::inverse_sqrt,
                              sketch::MatrixFunction::log}) {
    sketch::LanczosOptions o;
    o.steps = 25;
    o.function = function;
    const auto d = sketch::lanczos_function(exec, f.distributed, b, y, o);
    const auto r = sketch::lanczos_function(exec, f.replicated, br, yr, o);
    EXPECT_EQ(d.steps, r.steps);
    EXPECT_NEAR(d.ritz_max, r.ritz_max, rtol * r.ritz_max);
    // Eigenvalues of T_k move by <= ||dT||_2 (Weyl), i.e. rtol ||T_k|| = rtol ritz_max.
    EXPECT_NEAR(d.ritz_min, r.ritz_min, rtol * r.ritz_max);
    // last_change = ||b|| ||c_k - [c_{k-1}; 0]||: a difference of two coefficient vectors of size
    // ~||y||, each equal across rank counts to rtol ||y||, so the absolute difference is
    // rtol (||y|| + last_change).
    const auto yr_host = strata::testing::to_host(yr.local());
    double ynorm = 0;
    for (std::size_t i = 0; i < yr_host.extent(0); ++i) ynorm += yr_host(i, 0) * yr_host(i, 0);
    ynorm = std::sqrt(ynorm);
    EXPECT_NEAR(d.last_change, r.last_change, rtol * (ynorm + r.last_change))
        << sketch::matrix_function_name(function);
    const auto gathered = strata::allgather_rows(exec, y);
    EXPECT_THAT(strata::testing::to_host(gathered),
                strata::testing::AllClose(strata::testing::to_host(yr.local()), 1e-10, 1e-10))
        << sketch::matrix_function_name(function);
  }
}

TEST(EstimatorsDistributed, ErrorsAreAgreedOnEveryRank) {
  Fixture f;
  const strata::ExecSpace exec;
  strata::DistMatrix<double> b(f.comm, n - 1, 1), y(f.comm, n, 1);
  EXPECT_THROW(sketch::lanczos_function(exec, f.distributed, b, y), strata::ShapeMismatch);
  sketch::TraceOptions o;
  o.matvecs = 2;
  EXPECT_THROW(sketch::estimate_trace(exec, f.distributed, o), strata::InvalidArgument);
  sketch::FixedSparsityOptions fo;
  fo.matvecs = 2;
  EXPECT_THROW(sketch::fixed_sparsity_approximation(exec, f.distributed,
                                                    sketch::SparsityPattern::banded(n, 1), fo),
               strata::InvalidArgument);
}

}  // namespace
