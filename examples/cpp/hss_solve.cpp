// Solve A x = b with an HSS approximation of A built from the caller's own distributed product
// (Strata's C++ API).
//
// The matrix is the exponential kernel A(i, j) = exp(-0.05 |i - j|) + [i == j] of size N, never
// stored: each rank owns a block of rows and multiplies by them on the fly after gathering the
// vectors from all ranks, as a simulation code with its own operator would. The rows are split as
// the caller chooses (here: as evenly as possible, in the original order); the HSS functions take
// and return vectors in that split and order, whatever the cluster tree.
//
//   mpiexec -n 2 ./strata_example_hss_solve_cpp
#include <cmath>
#include <cstdio>
#include <vector>

#include "strata/strata.hpp"

namespace {

constexpr strata::index_type n = 1000;

double entry(strata::index_type i, strata::index_type j) {
  return std::exp(-0.05 * std::abs(double(i - j))) + (i == j ? 1.0 : 0.0);
}

/// y = A x on this rank's rows [first, first + local rows): gather x, multiply by the rows.
void product(const strata::BlockRowLayout& layout, int rank,
             const Kokkos::View<const double**, Kokkos::LayoutLeft, Kokkos::HostSpace>& x,
             const strata::HostMatrix<double>& y) {
  std::vector<double> whole(n);
  const auto first = layout.row_begin(rank);
  for (std::size_t j = 0; j < x.extent(1); ++j) {
#if STRATA_HAVE_MPI
    std::vector<int> counts, displs;
    for (int r = 0; r < layout.num_ranks(); ++r) {
      counts.push_back(int(layout.local_rows(r)));
      displs.push_back(int(layout.row_begin(r)));
    }
    MPI_Allgatherv(&x(0, j), int(x.extent(0)), MPI_DOUBLE, whole.data(), counts.data(),
                   displs.data(), MPI_DOUBLE, MPI_COMM_WORLD);
#else
    for (std::size_t i = 0; i < x.extent(0); ++i) whole[i] = x(i, j);
#endif
    for (std::size_t i = 0; i < y.extent(0); ++i) {
      double sum = 0;
      for (strata::index_type l = 0; l < n; ++l)
        sum += entry(first + strata::index_type(i), l) * whole[std::size_t(l)];
      y(i, j) = sum;
    }
  }
}

double global_norm(const strata::Comm& comm, const strata::HostMatrix<double>& v) {
  double s = 0;
  for (std::size_t i = 0; i < v.extent(0); ++i) s += v(i, 0) * v(i, 0);
  return std::sqrt(comm.allreduce(s, strata::ReduceOp::sum));
}

}  // namespace

int main(int argc, char** argv) {
  strata::ScopeGuard guard(argc, argv);  // MPI and Kokkos, unless the caller initialized them
  int status = 0;
  {
    namespace hss = strata::hss;
    const strata::Comm comm;
    const strata::ExecSpace exec;
    // The caller's own rows: every rank says how many it owns.
    const auto local_rows = std::size_t(n / comm.size() + (comm.rank() < n % comm.size() ? 1 : 0));
    const auto layout =
        strata::BlockRowLayout::from_local_rows(comm, strata::index_type(local_rows));
    const auto tree = hss::ClusterTree::uniform(n, 64);

    // The user's operator: host products wrapped as a distributed CallbackOperator.
    const auto apply = [&](const strata::ExecSpace& e, const strata::ConstMatrix<double>& x,
                           const strata::Matrix<double>& y) {
      e.fence();
      const auto hx = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), x);
      const auto hy = Kokkos::create_mirror_view(y);
      product(layout, comm.rank(), hx, hy);
      Kokkos::deep_copy(e, y, hy);
    };
    const strata::CallbackOperator<double> a(comm, layout, layout, apply, apply);  // symmetric

    const double tolerance = 1e-10;
    hss::CompressOptions options;
    options.tolerance = tolerance;
    const auto compressed = hss::compress_from_matvecs_distributed(exec, a, tree, options);
    const auto factor = hss::ulv_factor(exec, compressed.matrix);

    strata::HostMatrix<double> x_true("x_true", local_rows, 1), b("b", local_rows, 1),
        r("r", local_rows, 1);
    for (std::size_t i = 0; i < local_rows; ++i) {
      x_true(i, 0) =
          1 + std::sin(0.01 * double(layout.row_begin(comm.rank()) + strata::index_type(i)));
    }
    product(layout, comm.rank(), x_true, b);
    strata::Matrix<double> x("x", local_rows, 1);
    hss::ulv_solve(
        exec, factor,
        strata::ConstMatrix<double>(Kokkos::create_mirror_view_and_copy(strata::MemSpace(), b)), x);
    const auto hx = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), x);

    // ||A x - b|| / ||b|| <= sqrt(N) tol cond(A) (see examples/c/hss_solve.c; cond(A) <= 41),
    // with a factor 10 on the randomized estimate behind the tolerance.
    product(layout, comm.rank(), hx, r);
    for (std::size_t i = 0; i < local_rows; ++i) r(i, 0) -= b(i, 0);
    const double residual = global_norm(comm, r) / global_norm(comm, b);
    const double bound = std::sqrt(double(n)) * 10 * tolerance * 41;
    if (comm.is_root()) {
      std::printf(
          "HSS (C++): N = %lld on %d ranks, %lld products, estimated error %.2e; "
          "||A x - b|| / ||b|| = %.2e (bound %.2e)\n",
          static_cast<long long>(n), comm.size(), static_cast<long long>(compressed.products),
          compressed.relative_error_estimate, residual, bound);
    }
    status = residual <= bound ? 0 : 1;
  }
  return status;
}
