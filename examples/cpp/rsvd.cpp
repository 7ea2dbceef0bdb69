// Randomized SVD of a distributed matrix with known singular values (Strata's C++ API):
// A = U diag(sigma) V^T (m x n, rank 8, sigma_j = 2^-j) with orthonormal DCT bases.
//
//   mpiexec -n 2 ./strata_example_rsvd_cpp
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "strata/strata.hpp"

namespace {
double dct(strata::index_type size, strata::index_type i, strata::index_type j) {
  const double pi = 3.14159265358979323846;
  return std::sqrt((j == 0 ? 1.0 : 2.0) / double(size)) *
         std::cos(pi * (double(i) + 0.5) * double(j) / double(size));
}
}  // namespace

int main(int argc, char** argv) {
  strata::ScopeGuard guard(argc, argv);
  int status = 0;
  {
    const strata::index_type m = 1000, n = 40, rank_of_a = 8, k = 5, oversample = 10;
    const strata::Comm comm;
    const strata::ExecSpace exec;
    strata::DistMatrix<double> a(comm, m, n);
    auto ha = Kokkos::create_mirror_view(a.local());
    for (strata::index_type j = 0; j < n; ++j)
      for (strata::index_type i = 0; i < a.local_rows(); ++i) {
        double s = 0;
        for (strata::index_type l = 0; l < rank_of_a; ++l)
          s += dct(m, a.row_begin() + i, l) * std::ldexp(1.0, -int(l)) * dct(n, j, l);
        ha(i, j) = s;
      }
    Kokkos::deep_copy(a.local(), ha);

    strata::sketch::LowRankOptions options;
    options.rank = k;
    options.oversample = oversample;
    const auto result = strata::sketch::randomized_svd(exec, a, options);

    // rank(A) = 8 <= k + p: only rounding separates s from sigma (see examples/c/rsvd.c):
    // 100 sqrt(k + p) (sqrt(m) + sqrt(n)) u ||A||_2.
    const double bound = 100 * std::sqrt(double(k + oversample)) *
                         (std::sqrt(double(m)) + std::sqrt(double(n))) *
                         std::numeric_limits<double>::epsilon();
    double worst = 0;
    for (strata::index_type j = 0; j < k; ++j) {
      worst = std::max(worst, std::abs(result.s[std::size_t(j)] - std::ldexp(1.0, -int(j))));
    }
    if (comm.is_root()) {
      std::printf(
          "randomized SVD (C++) on %d ranks, %lld products: max |s_j - 2^-j| = %.2e (bound %.2e)\n",
          comm.size(), static_cast<long long>(result.matvecs), worst, bound);
    }
    status = worst <= bound ? 0 : 1;
  }
  return status;
}
