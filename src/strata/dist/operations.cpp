#include "strata/dist/operations.hpp"

#include "strata/core/checks.hpp"
#include "strata/core/kokkos_ext/launch.hpp"
#include "strata/dist/collective.hpp"
#include "strata/linalg/blas.hpp"
#include "strata/linalg/norms.hpp"
#include "strata/linalg/syrk.hpp"

namespace strata {

template <class T>
void fill_random(const ExecSpace& exec, const RandomStream& stream, const DistMatrix<T>& x) {
  fill_random(exec, stream, x.local(), x.row_begin(), 0);
}

template <class T>
Matrix<T> allgather_rows(const ExecSpace& exec, const Comm& comm, const BlockRowLayout& layout,
                         const ConstMatrix<T>& local) {
  const index_type cols = static_cast<index_type>(local.extent(1));
  const index_type rows = layout.global_rows();
  collective(comm, [&] {
    STRATA_REQUIRE(layout.num_ranks() == comm.size(), InvalidArgument,
                   "allgather_rows: layout has ", layout.num_ranks(), " ranks, communicator ",
                   comm.size());
    require_shape(local, layout.local_rows(comm.rank()), cols, "allgather_rows: local block");
  });
  const auto all_cols = comm.allgather(cols);
  for (const auto c : all_cols) {
    STRATA_REQUIRE(c == cols, CommunicationError,
                   "allgather_rows: ranks disagree on the column count (", c, " vs ", cols, ")");
  }
  Matrix<T> full(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::allgather_rows"),
                 static_cast<std::size_t>(rows), static_cast<std::size_t>(cols));
  if (comm.size() == 1) {
    Kokkos::deep_copy(exec, full, local);
    kx::fence(exec, "strata::allgather_rows::single");
    return full;
  }
  // Row blocks of a column-major matrix are strided, so pack each rank's block row-major (which
  // makes the blocks of all ranks consecutive), gather, and unpack into column-major order.
  using Packed = Kokkos::View<T**, Kokkos::LayoutRight, MemSpace>;
  Packed send(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::allgather_rows::send"),
              local.extent(0), local.extent(1));
  Kokkos::deep_copy(exec, send, local);
  Packed recv(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "strata::allgather_rows::recv"),
              static_cast<std::size_t>(rows), static_cast<std::size_t>(cols));
  std::vector<std::int64_t> counts(static_cast<std::size_t>(comm.size()));
  for (int r = 0; r < comm.size(); ++r)
    counts[static_cast<std::size_t>(r)] = layout.local_rows(r) * cols;
  kx::fence(exec, "strata::allgather_rows::pack");
  if constexpr (detail::mpi_can_use_directly<MemSpace>()) {
    comm.allgatherv_raw(send.data(), static_cast<std::int64_t>(send.size()), recv.data(), counts,
                        detail::mpi_type_tag<T>());
  } else {
    auto send_host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), send);
    auto recv_host = Kokkos::create_mirror_view(recv);
    comm.allgatherv_raw(send_host.data(), static_cast<std::int64_t>(send_host.size()),
                        recv_host.data(), counts, detail::mpi_type_tag<T>());
    Kokkos::deep_copy(exec, recv, recv_host);
  }
  Kokkos::deep_copy(exec, full, recv);
  kx::fence(exec, "strata::allgather_rows::unpack");
  return full;
}

template <class T>
Matrix<T> allgather_rows(const ExecSpace& exec, const DistMatrix<T>& x) {
  return allgather_rows<T>(exec, x.comm(), x.layout(), x.local());
}

template <class T>
void inner_product(const ExecSpace& exec, const DistMatrix<T>& x, const DistMatrix<T>& y,
                   const Matrix<T>& c) {
  collective(x.comm(), [&] {
    STRATA_REQUIRE(x.layout() == y.layout(), ShapeMismatch,
                   "inner_product: X and Y must have the same row distribution (X has ",
                   x.global_rows(), " rows, Y has ", y.global_rows(), ")");
    require_shape(c, x.cols(), y.cols(), "inner_product: C");
  });
  linalg::gemm(exec, "T", "N", T(1), x.local(), y.local(), T(0), c);  // no local rows: C = 0
  x.comm().allreduce(exec, c, ReduceOp::sum);
}

template <class T>
void gram(const ExecSpace& exec, const DistMatrix<T>& x, const Matrix<T>& c) {
  collective(x.comm(), [&] { require_shape(c, x.cols(), x.cols(), "gram: C"); });
  linalg::syrk(exec, 'T', T(1), ConstMatrix<T>(x.local()), T(0), c);  // no local rows: C = 0
  x.comm().allreduce(exec, c, ReduceOp::sum);
}

template <class T>
void multiply_replicated(const ExecSpace& exec, const DistMatrix<T>& x, const ConstMatrix<T>& b,
                         const DistMatrix<T>& y) {
  collective(x.comm(), [&] {
    STRATA_REQUIRE(x.layout() == y.layout(), ShapeMismatch,
                   "multiply_replicated: X and Y must have the same row distribution");
    require_shape(b, x.cols(), y.cols(), "multiply_replicated: B");
  });
  linalg::gemm(exec, "N", "N", T(1), x.local(), b, T(0), y.local());
}

template <class T>
T frobenius_norm(const ExecSpace& exec, const DistMatrix<T>& x) {
  const double local = linalg::sum_of_squares(exec, x.local());
  return static_cast<T>(std::sqrt(x.comm().allreduce(local, ReduceOp::sum)));
}

template <class T>
std::vector<double> column_dots(const ExecSpace& exec, const Comm& comm, const ConstMatrix<T>& x,
                                const ConstMatrix<T>& y) {
  const auto rows = static_cast<index_type>(x.extent(0));
  const auto k = static_cast<int>(x.extent(1));
  Kokkos::View<double*, MemSpace> dots("strata::dist::column_dots", static_cast<std::size_t>(k));
  using Policy = Kokkos::TeamPolicy<ExecSpace>;
  Kokkos::parallel_for(
      "strata::dist::column_dots", kx::auto_team_policy(exec, k),
      KOKKOS_LAMBDA(const typename Policy::member_type& team) {
        const int j = team.league_rank();
        double sum = 0;
        Kokkos::parallel_reduce(
            Kokkos::TeamThreadRange(team, rows),
            [&](const index_type i, double& s) {
              s += static_cast<double>(x(i, j)) * static_cast<double>(y(i, j));
            },
            sum);
        Kokkos::single(Kokkos::PerTeam(team), [&] { dots(j) = sum; });
      });
  comm.allreduce(exec, dots, ReduceOp::sum);
  auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), dots);
  return std::vector<double>(host.data(), host.data() + k);
}

#define STRATA_DIST_OPERATIONS_INSTANTIATE(T)                                                  \
  template void fill_random<T>(const ExecSpace&, const RandomStream&, const DistMatrix<T>&);   \
  template Matrix<T> allgather_rows<T>(const ExecSpace&, const DistMatrix<T>&);                \
  template Matrix<T> allgather_rows<T>(const ExecSpace&, const Comm&, const BlockRowLayout&,   \
                                       const ConstMatrix<T>&);                                 \
  template void inner_product<T>(const ExecSpace&, const DistMatrix<T>&, const DistMatrix<T>&, \
                                 const Matrix<T>&);                                            \
  template void gram<T>(const ExecSpace&, const DistMatrix<T>&, const Matrix<T>&);             \
  template void multiply_replicated<T>(const ExecSpace&, const DistMatrix<T>&,                 \
                                       const ConstMatrix<T>&, const DistMatrix<T>&);           \
  template T frobenius_norm<T>(const ExecSpace&, const DistMatrix<T>&);                        \
  template std::vector<double> column_dots<T>(const ExecSpace&, const Comm&,                   \
                                              const ConstMatrix<T>&, const ConstMatrix<T>&);
STRATA_DIST_OPERATIONS_INSTANTIATE(float)
STRATA_DIST_OPERATIONS_INSTANTIATE(double)

}  // namespace strata
