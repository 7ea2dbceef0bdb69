#include "strata/hss/hss_operator.hpp"

#include <chrono>
#include <memory>
#include <utility>

#include "strata/core/error.hpp"
#include "strata/core/kokkos_ext/fence.hpp"
#include "strata/core/kokkos_ext/launch.hpp"
#include "strata/hss/matvec.hpp"

namespace strata::hss {

namespace {

using TeamPolicy = Kokkos::TeamPolicy<ExecSpace>;
using Member = TeamPolicy::member_type;

// New B_i (c_i x r_{i^1}) = (old B_{i^1})^T, old B_{i^1} being r_{i^1} x c_i, column-major.
template <class T>
void transpose_couplings(const ExecSpace& exec, const HssLevel<T>& from, const HssLevel<T>& to) {
  const IndexArray old_rows = from.row_rank, old_cols = from.col_rank, old_offset = from.b_offset;
  const IndexArray new_offset = to.b_offset;
  const FlatArray<T> old_b = from.b, new_b = to.b;
  Kokkos::parallel_for(
      "strata::hss::transpose::couplings", kx::auto_team_policy(exec, from.nodes),
      KOKKOS_LAMBDA(const Member& team) {
        const index_type i = team.league_rank();
        const index_type sibling = i ^ 1;
        const index_type rows = old_cols(i);        // rows of the new B_i
        const index_type cols = old_rows(sibling);  // its columns
        const index_type src = old_offset(sibling), dst = new_offset(i);
        Kokkos::parallel_for(Kokkos::TeamThreadRange(team, rows * cols), [&](const index_type e) {
          const index_type a = e % rows, c = e / rows;
          new_b(dst + e) = old_b(src + c + cols * a);
        });
      });
}

template <class T>
void transpose_leaf_blocks(const ExecSpace& exec, const HssMatrix<T>& from,
                           const HssMatrix<T>& to) {
  const IndexArray offset = from.d_offset(), sizes = from.tree().sizes();
  const FlatArray<T> old_d = from.d(), new_d = to.d();
  const index_type leaves = ClusterTree::nodes_on_level(from.levels());
  const index_type first = ClusterTree::heap_index(from.levels(), 0);
  Kokkos::parallel_for(
      "strata::hss::transpose::leaf_blocks", kx::auto_team_policy(exec, leaves),
      KOKKOS_LAMBDA(const Member& team) {
        const index_type i = team.league_rank();
        const index_type base = offset(i), m = sizes(first + i);
        Kokkos::parallel_for(Kokkos::TeamThreadRange(team, m * m), [&](const index_type e) {
          const index_type a = e % m, c = e / m;
          new_d(base + e) = old_d(base + c + m * a);
        });
      });
}

// The level of A^T: ranks, basis rows and offsets swapped, U and V swapped (shared, not copied),
// new couplings B_i = (old B_{i^1})^T.
template <class T>
HssLevel<T> transpose_level(const ExecSpace& exec, const HssLevel<T>& a) {
  HssLevel<T> t = a;
  std::swap(t.row_rank, t.col_rank);
  std::swap(t.row_rank_host, t.col_rank_host);
  std::swap(t.u_rows, t.v_rows);
  std::swap(t.u_rows_host, t.v_rows_host);
  std::swap(t.u_offset, t.v_offset);
  std::swap(t.u_offset_host, t.v_offset_host);
  std::swap(t.row_rank_offset, t.col_rank_offset);
  std::swap(t.row_rank_offset_host, t.col_rank_offset_host);
  std::swap(t.u, t.v);
  const index_type n = a.nodes;
  t.b_offset_host = HostIndexArray("strata::hss::transpose::b_offset_host", n + 1);
  t.b_offset_host(0) = 0;
  for (index_type i = 0; i < n; ++i)
    t.b_offset_host(i + 1) = t.b_offset_host(i) + t.row_rank_host(i) * t.col_rank_host(i ^ 1);
  t.b_offset = IndexArray("strata::hss::transpose::b_offset", n + 1);
  Kokkos::deep_copy(t.b_offset, t.b_offset_host);
  t.b = FlatArray<T>("strata::hss::transpose::B", static_cast<std::size_t>(t.b_offset_host(n)));
  if (n > 0) transpose_couplings(exec, a, t);
  return t;
}

}  // namespace

template <class T>
DistHssMatrix<T> transpose(const ExecSpace& exec, const DistHssMatrix<T>& a) {
  std::vector<HssMatrix<T>> subs;
  for (const auto& sub : a.subtrees()) subs.push_back(transpose(exec, sub));
  std::vector<HssLevel<T>> top(a.top().size());
  for (std::size_t l = 1; l < top.size(); ++l) top[l] = transpose_level(exec, a.top()[l]);
  kx::fence(exec, "strata::hss::transpose::distributed");
  return DistHssMatrix<T>(a.comm(), a.tree(), std::move(subs), std::move(top), a.layout());
}

template <class T>
HssMatrix<T> transpose(const ExecSpace& exec, const HssMatrix<T>& a) {
  HssRanks ranks;
  ranks.row = a.ranks().col;
  ranks.col = a.ranks().row;
  HssMatrix<T> t(a.tree(), ranks);
  for (int l = 1; l <= a.levels(); ++l) {
    // The offsets of U in A^T are those of V in A (same rows, same ranks), and vice versa.
    Kokkos::deep_copy(exec, t.level(l).u, a.level(l).v);
    Kokkos::deep_copy(exec, t.level(l).v, a.level(l).u);
    transpose_couplings(exec, a.level(l), t.level(l));
  }
  transpose_leaf_blocks(exec, a, t);
  kx::fence(exec, "strata::hss::transpose");
  return t;
}

template <class T>
double trace(const ExecSpace& exec, const HssMatrix<T>& a) {
  const IndexArray offset = a.d_offset(), sizes = a.tree().sizes();
  const FlatArray<T> d = a.d();
  const index_type leaves = ClusterTree::nodes_on_level(a.levels());
  const index_type first = ClusterTree::heap_index(a.levels(), 0);
  double sum = 0;
  Kokkos::parallel_reduce(
      "strata::hss::trace", Kokkos::RangePolicy<ExecSpace>(exec, 0, leaves),
      KOKKOS_LAMBDA(const index_type i, double& partial) {
        const index_type base = offset(i), m = sizes(first + i);
        for (index_type j = 0; j < m; ++j) partial += static_cast<double>(d(base + j + m * j));
      },
      sum);
  kx::fence(exec, "strata::hss::trace");
  return sum;
}

template <class T>
HssOperator<T>::HssOperator(const ExecSpace& exec, HssMatrix<T> a,
                            const HssOperatorOptions& options)
    : matrix_(std::move(a)),
      size_(matrix_.size()),
      mode_(options.mode),
      comm_(Comm::self()),
      layout_(matrix_.size(), 1) {
  if (mode_ == HssOperatorMode::inverse) {
    UlvOptions ulv;
    ulv.variant = options.variant;
    factor_ = std::make_shared<const UlvFactor<T>>(ulv_factor(exec, matrix_, ulv));
    factor_time_s_ = factor_->factor_time_s;
    factor_transposed(exec, options.factor_transpose);
  }
}

template <class T>
HssOperator<T>::HssOperator(const ExecSpace& exec, UlvFactor<T> factor, bool factor_transpose)
    : matrix_(factor.matrix),
      size_(matrix_.size()),
      mode_(HssOperatorMode::inverse),
      comm_(Comm::self()),
      layout_(matrix_.size(), 1) {
  factor_ = std::make_shared<const UlvFactor<T>>(std::move(factor));
  factor_transposed(exec, factor_transpose);
}

template <class T>
HssOperator<T>::HssOperator(const ExecSpace& exec, DistHssMatrix<T> a,
                            const HssOperatorOptions& options)
    : dist_(std::make_shared<const DistHssMatrix<T>>(std::move(a))),
      size_(dist_->size()),
      mode_(options.mode),
      comm_(dist_->comm()),
      layout_(dist_->layout()) {
  if (mode_ == HssOperatorMode::inverse) {
    UlvOptions ulv;
    ulv.variant = options.variant;
    dist_factor_ = std::make_shared<const DistUlvFactor<T>>(ulv_factor(exec, *dist_, ulv));
    factor_time_s_ = dist_factor_->factor_time_s;
    factor_transposed(exec, options.factor_transpose);
  }
}

template <class T>
void HssOperator<T>::factor_transposed(const ExecSpace& exec, bool wanted) {
  const UlvVariant variant = dist_ ? dist_factor_->variant : factor_->variant;
  if (!wanted || variant == UlvVariant::symmetric_positive_definite) return;
  UlvOptions ulv;
  ulv.variant = UlvVariant::general;
  const auto start = std::chrono::steady_clock::now();
  if (dist_) {
    dist_transpose_factor_ =
        std::make_shared<const DistUlvFactor<T>>(ulv_factor(exec, transpose(exec, *dist_), ulv));
  } else {
    transpose_factor_ =
        std::make_shared<const UlvFactor<T>>(ulv_factor(exec, transpose(exec, matrix_), ulv));
  }
  factor_time_s_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

template <class T>
const HssMatrix<T>& HssOperator<T>::matrix() const {
  STRATA_REQUIRE(!dist_, InvalidArgument,
                 "HssOperator::matrix: this operator is distributed; use distributed_matrix()");
  return matrix_;
}

template <class T>
const DistHssMatrix<T>& HssOperator<T>::distributed_matrix() const {
  STRATA_REQUIRE(dist_, InvalidArgument,
                 "HssOperator::distributed_matrix: this operator is replicated; use matrix()");
  return *dist_;
}

template <class T>
const UlvFactor<T>& HssOperator<T>::factor() const {
  STRATA_REQUIRE(factor_, InvalidArgument,
                 "HssOperator::factor: this operator applies the matrix itself (mode matrix); "
                 "build it with HssOperatorMode::inverse to hold a ULV factor");
  return *factor_;
}

template <class T>
void HssOperator<T>::do_apply(const ExecSpace& exec, const const_matrix_type& x,
                              const matrix_type& y) const {
  if (dist_) {
    if (mode_ == HssOperatorMode::matrix) {
      matvec(exec, *dist_, x, y, Op::none);
    } else {
      ulv_solve(exec, *dist_factor_, x, y, false);
    }
  } else if (mode_ == HssOperatorMode::matrix) {
    matvec(exec, matrix_, x, y, Op::none);
  } else {
    ulv_solve(exec, *factor_, x, y, false);
  }
}

template <class T>
void HssOperator<T>::do_apply_transpose(const ExecSpace& exec, const const_matrix_type& x,
                                        const matrix_type& y) const {
  if (mode_ == HssOperatorMode::matrix) {
    if (dist_) {
      matvec(exec, *dist_, x, y, Op::transpose);
    } else {
      matvec(exec, matrix_, x, y, Op::transpose);
    }
    return;
  }
  const UlvVariant variant = dist_ ? dist_factor_->variant : factor_->variant;
  if (variant == UlvVariant::symmetric_positive_definite) {
    // A^{-T} = A^{-1} for symmetric A.
    if (dist_) {
      ulv_solve(exec, *dist_factor_, x, y, false);
    } else {
      ulv_solve(exec, *factor_, x, y, false);
    }
  } else if (dist_) {
    STRATA_REQUIRE(dist_transpose_factor_, Unsupported,
                   "HssOperator::apply_transpose: the inverse operator was built without a factor "
                   "of A^T (factor_transpose = false); rebuild it with factor_transpose = true");
    ulv_solve(exec, *dist_transpose_factor_, x, y, false);
  } else {
    STRATA_REQUIRE(transpose_factor_, Unsupported,
                   "HssOperator::apply_transpose: the inverse operator was built without a factor "
                   "of A^T (factor_transpose = false); rebuild it with factor_transpose = true");
    ulv_solve(exec, *transpose_factor_, x, y, false);
  }
}

#define STRATA_HSS_OPERATOR_INSTANTIATE(T)                                           \
  template class HssOperator<T>;                                                     \
  template HssMatrix<T> transpose<T>(const ExecSpace&, const HssMatrix<T>&);         \
  template DistHssMatrix<T> transpose<T>(const ExecSpace&, const DistHssMatrix<T>&); \
  template double trace<T>(const ExecSpace&, const HssMatrix<T>&);
STRATA_HSS_OPERATOR_INSTANTIATE(float)
STRATA_HSS_OPERATOR_INSTANTIATE(double)
#undef STRATA_HSS_OPERATOR_INSTANTIATE

}  // namespace strata::hss
