// Orthogonalize a distributed tall matrix with Polar Express (Strata's C++ API) and check
// ||Q^T Q - I||_F. A = U diag(1..n) V^T with orthonormal DCT bases; each rank owns a block of rows.
//
//   mpiexec -n 2 ./strata_example_polar_cpp
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
    const strata::index_type m = 2000, n = 16;
    const strata::Comm comm;
    const strata::ExecSpace exec;
    strata::DistMatrix<double> a(comm, m, n), q(comm, m, n);
    auto ha = Kokkos::create_mirror_view(a.local());
    for (strata::index_type j = 0; j < n; ++j)
      for (strata::index_type i = 0; i < a.local_rows(); ++i) {
        double s = 0;
        for (strata::index_type l = 0; l < n; ++l)
          s += dct(m, a.row_begin() + i, l) * double(l + 1) * dct(n, j, l);
        ha(i, j) = s;
      }
    Kokkos::deep_copy(a.local(), ha);

    const auto result = strata::polar::polar_factor(exec, a, q);  // Polar Express by default

    strata::Matrix<double> gram("gram", n, n);
    strata::inner_product(exec, q, q, gram);  // Q^T Q, summed over ranks
    const auto g = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), gram);
    double error = 0;
    for (strata::index_type j = 0; j < n; ++j)
      for (strata::index_type i = 0; i < n; ++i) {
        const double d = g(i, j) - (i == j ? 1.0 : 0.0);
        error += d * d;
      }
    error = std::sqrt(error);
    // Stopping test 10 sqrt(n) u, plus n m u for forming Q^T Q (sums of m products <= 1).
    const double u = std::numeric_limits<double>::epsilon();
    const double bound = 10 * std::sqrt(double(n)) * u + double(n * m) * u;
    if (comm.is_root()) {
      std::printf(
          "Polar Express (C++): %d iterations on %d ranks, ||Q^T Q - I||_F = %.2e (bound %.2e)\n",
          result.iterations, comm.size(), error, bound);
    }
    status = error <= bound ? 0 : 1;
  }
  return status;
}
