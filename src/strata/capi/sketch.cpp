// Randomized SVD, sketch application, sketched least squares and trace estimation in the C
// interface.
#include <algorithm>

#include "strata/capi/detail/callbacks.hpp"
#include "strata/capi/detail/support.hpp"
#include "strata/capi/strata.h"
#include "strata/dist/collective.hpp"
#include "strata/sketch/least_squares.hpp"
#include "strata/sketch/low_rank.hpp"
#include "strata/sketch/operator.hpp"
#include "strata/sketch/trace.hpp"

namespace strata::capi::detail {
namespace {

template <class O>
O or_default(const O* options, void (*defaults)(O*)) {
  O o;
  if (options != nullptr) {
    o = *options;
  } else {
    defaults(&o);
  }
  return o;
}

sketch::OperatorKind operator_kind(int kind) {
  switch (kind) {
    case STRATA_SKETCH_GAUSSIAN:
      return sketch::OperatorKind::gaussian;
    case STRATA_SKETCH_RADEMACHER:
      return sketch::OperatorKind::rademacher;
    case STRATA_SKETCH_SRHT:
      return sketch::OperatorKind::srht;
    case STRATA_SKETCH_HADAMARD:
      return sketch::OperatorKind::hadamard;
    case STRATA_SKETCH_SPARSE_SIGN:
      return sketch::OperatorKind::sparse_sign;
    default:
      STRATA_THROW(InvalidArgument,
                   "the sketch kind must be one of STRATA_SKETCH_GAUSSIAN (0) .. "
                   "STRATA_SKETCH_SPARSE_SIGN (4), got ",
                   kind);
  }
}

template <class T>
int rsvd(const char* name, strata_fint fcomm, int64_t local_rows, int64_t n, const T* a,
         int64_t lda, const strata_rsvd_options* options, T* u, int64_t ldu, T* s, T* v,
         int64_t ldv, strata_rsvd_info* info) {
  return guarded(name, [&] {
    const Comm comm = make_comm(fcomm);
    const BlockRowLayout layout = user_layout(comm, local_rows);
    require_same(comm, n, "n (the number of columns)");
    const auto o = or_default(options, strata_rsvd_default_options);
    Matrix<T> local;
    sketch::LowRankOptions lo;
    index_type capacity = 0;
    collective(comm, [&] {
      local = copy_in(a, local_rows, n, lda, "a");
      lo.rank = o.rank;
      lo.oversample = o.oversample;
      lo.power_iterations = o.power_iterations;
      lo.tolerance = o.tolerance;
      lo.block_size = o.block_size;
      lo.max_rank = o.max_rank;
      lo.error_probes = o.error_probes;
      lo.test_matrix.seed = static_cast<std::uint64_t>(o.seed);
      if (o.tolerance > 0) {
        STRATA_REQUIRE(o.max_rank > 0, InvalidArgument,
                       "adaptive mode (options.tolerance > 0) needs options.max_rank > 0: the "
                       "number of columns that u and v can hold");
        capacity = o.max_rank;
      } else {
        STRATA_REQUIRE(o.rank > 0, InvalidArgument,
                       "options.rank must be > 0 (or set options.tolerance > 0), got ", o.rank);
        capacity = o.rank;
      }
      check_out(u, local_rows, capacity, ldu, "u");
      check_out(s, capacity, 1, std::max<index_type>(1, capacity), "s");
      check_out(v, n, capacity, ldv, "v");
    });
    const DistMatrix<T> ad(comm, layout, local);
    const auto result = sketch::randomized_svd(ExecSpace(), ad, lo);
    const index_type k = std::min<index_type>(result.rank, capacity);
    const auto columns = std::make_pair(index_type(0), k);
    copy_out<T>(Kokkos::subview(result.u.local(), Kokkos::ALL, columns), u, ldu);
    std::copy(result.s.begin(), result.s.begin() + k, s);
    const auto whole_v = gather_rows(result.v);
    for (index_type j = 0; j < k; ++j) {
      for (index_type i = 0; i < n; ++i) v[i + j * ldv] = whole_v(i, j);
    }
    if (info != nullptr) {
      info->rank = k;
      info->matvecs = result.matvecs;
      info->error_estimate = result.error_estimate;
      info->converged = result.converged ? 1 : 0;
    }
  });
}

template <class T>
int sketch_apply(const char* name, strata_fint fcomm, const strata_sketch_options* options,
                 int64_t local_rows, int64_t k, const T* a, int64_t lda, T* sa, int64_t ldsa) {
  return guarded(name, [&] {
    const Comm comm = make_comm(fcomm);
    const BlockRowLayout layout = user_layout(comm, local_rows);
    require_same(comm, k, "k (the number of columns)");
    const auto o = or_default(options, strata_sketch_default_options);
    Matrix<T> local;
    sketch::SketchOperator op;
    sketch::ApplyOptions apply;
    collective(comm, [&] {
      op.kind = operator_kind(o.kind);
      op.rows = o.rows;
      op.cols = layout.global_rows();
      op.seed = static_cast<std::uint64_t>(o.seed);
      op.stream = static_cast<std::uint64_t>(o.stream);
      op.nnz = o.nnz;
      op.validate();
      apply.isometry_scaling = o.isometry_scaling != 0;
      local = copy_in(a, local_rows, k, lda, "a");
      check_out(sa, o.rows, k, ldsa, "sa");
    });
    const DistMatrix<T> ad(comm, layout, local);
    Matrix<T> result("strata::capi::sa", static_cast<std::size_t>(o.rows),
                     static_cast<std::size_t>(k));
    sketch::sketch_rows(ExecSpace(), op, ad, result, apply);
    copy_out<T>(result, sa, ldsa);
  });
}

template <class T>
int least_squares(const char* name, strata_fint fcomm, int64_t local_rows, int64_t n, const T* a,
                  int64_t lda, int64_t k, const T* b, int64_t ldb,
                  const strata_lstsq_options* options, T* x, int64_t ldx, strata_lstsq_info* info) {
  return guarded(name, [&] {
    const Comm comm = make_comm(fcomm);
    const BlockRowLayout layout = user_layout(comm, local_rows);
    require_same(comm, n, "n (the number of columns of a)");
    require_same(comm, k, "k (the number of right-hand sides)");
    const auto o = or_default(options, strata_lstsq_default_options);
    Matrix<T> a_local, b_local;
    sketch::LeastSquaresOptions lo;
    collective(comm, [&] {
      STRATA_REQUIRE(o.method == STRATA_LSTSQ_SKETCH_AND_PRECONDITION ||
                         o.method == STRATA_LSTSQ_SKETCH_AND_SOLVE,
                     InvalidArgument,
                     "options.method must be STRATA_LSTSQ_SKETCH_AND_PRECONDITION (0) or "
                     "STRATA_LSTSQ_SKETCH_AND_SOLVE (1), got ",
                     o.method);
      lo.method = o.method == STRATA_LSTSQ_SKETCH_AND_SOLVE
                      ? sketch::LeastSquaresMethod::sketch_and_solve
                      : sketch::LeastSquaresMethod::sketch_and_precondition;
      lo.sketch_operator = operator_kind(o.sketch_kind);
      lo.sparse_nnz = o.sparse_nnz;
      lo.sketch_rows = o.sketch_rows;
      lo.atol = o.atol;
      lo.btol = o.btol;
      lo.max_iterations = o.max_iterations;
      lo.test_matrix.seed = static_cast<std::uint64_t>(o.seed);
      a_local = copy_in(a, local_rows, n, lda, "a");
      b_local = copy_in(b, local_rows, k, ldb, "b");
      check_out(x, n, k, ldx, "x");
    });
    const DistMatrix<T> ad(comm, layout, a_local);
    const DistMatrix<T> bd(comm, layout, b_local);
    const auto result = sketch::least_squares(ExecSpace(), ad, bd, lo);
    copy_out<T>(result.x, x, ldx);
    if (info != nullptr) {
      info->iterations = result.iterations;
      info->converged = result.converged ? 1 : 0;
      info->residual_norm = 0;
      for (const double r : result.residual_norm) {
        info->residual_norm = std::max(info->residual_norm, r);
      }
    }
  });
}

template <class T>
int estimate_trace(const char* name, strata_fint fcomm, int64_t local_rows, MatvecFn<T> matvec,
                   void* context, const strata_trace_options* options, strata_trace_info* info) {
  return guarded(name, [&] {
    const Comm comm = make_comm(fcomm);
    const BlockRowLayout layout = user_layout(comm, local_rows);
    const auto o = or_default(options, strata_trace_default_options);
    sketch::TraceOptions to;
    collective(comm, [&] {
      require_pointer(reinterpret_cast<const void*>(matvec), true, "matvec");
      require_pointer(info, true, "info (where the estimate is returned)");
      STRATA_REQUIRE(
          o.method >= STRATA_TRACE_HUTCHINSON && o.method <= STRATA_TRACE_NA_HUTCH_PLUS_PLUS,
          InvalidArgument,
          "options.method must be STRATA_TRACE_HUTCHINSON (0), "
          "STRATA_TRACE_HUTCH_PLUS_PLUS (1) or STRATA_TRACE_NA_HUTCH_PLUS_PLUS (2), got ",
          o.method);
      to.method = o.method == STRATA_TRACE_HUTCHINSON ? sketch::TraceMethod::hutchinson
                  : o.method == STRATA_TRACE_HUTCH_PLUS_PLUS
                      ? sketch::TraceMethod::hutch_plus_plus
                      : sketch::TraceMethod::na_hutch_plus_plus;
      to.matvecs = o.matvecs;
      to.seed = static_cast<std::uint64_t>(o.seed);
    });
    const auto op = callback_operator<T>(comm, layout, matvec, context);
    sketch::TraceResult result;
    try {
      result = sketch::estimate_trace(ExecSpace(), *op, to);
    } catch (...) {
      agree_on_callback_failure(comm);
      throw;
    }
    info->estimate = result.estimate;
    info->standard_error = result.standard_error;
    info->matvecs = result.matvecs;
  });
}

}  // namespace
}  // namespace strata::capi::detail

using namespace strata::capi::detail;

extern "C" {

void strata_rsvd_default_options(strata_rsvd_options* options) {
  if (options == nullptr) return;
  options->rank = 10;
  options->oversample = 10;
  options->max_rank = 0;
  options->block_size = 16;
  options->seed = 0;
  options->tolerance = 0;
  options->power_iterations = 0;
  options->error_probes = 0;
}

void strata_sketch_default_options(strata_sketch_options* options) {
  if (options == nullptr) return;
  options->rows = 0;
  options->seed = 0;
  options->stream = 0;
  options->nnz = 8;
  options->kind = STRATA_SKETCH_GAUSSIAN;
  options->isometry_scaling = 1;
}

void strata_lstsq_default_options(strata_lstsq_options* options) {
  if (options == nullptr) return;
  options->sketch_rows = 0;
  options->sparse_nnz = 8;
  options->seed = 0;
  options->atol = 0;
  options->btol = 0;
  options->method = STRATA_LSTSQ_SKETCH_AND_PRECONDITION;
  options->sketch_kind = STRATA_SKETCH_SPARSE_SIGN;
  options->max_iterations = 1000;
}

void strata_trace_default_options(strata_trace_options* options) {
  if (options == nullptr) return;
  options->matvecs = 30;
  options->seed = 0;
  options->method = STRATA_TRACE_HUTCH_PLUS_PLUS;
}

#define STRATA_CAPI_SKETCH_DEFINE(P, T)                                                            \
  int strata_##P##_rsvd(strata_fint comm, int64_t local_rows, int64_t n, const T* a, int64_t lda,  \
                        const strata_rsvd_options* options, T* u, int64_t ldu, T* s, T* v,         \
                        int64_t ldv, strata_rsvd_info* info) {                                     \
    return rsvd<T>("strata_" #P "_rsvd", comm, local_rows, n, a, lda, options, u, ldu, s, v, ldv,  \
                   info);                                                                          \
  }                                                                                                \
  int strata_##P##_sketch_apply(strata_fint comm, const strata_sketch_options* options,            \
                                int64_t local_rows, int64_t k, const T* a, int64_t lda, T* sa,     \
                                int64_t ldsa) {                                                    \
    return sketch_apply<T>("strata_" #P "_sketch_apply", comm, options, local_rows, k, a, lda, sa, \
                           ldsa);                                                                  \
  }                                                                                                \
  int strata_##P##_least_squares(strata_fint comm, int64_t local_rows, int64_t n, const T* a,      \
                                 int64_t lda, int64_t k, const T* b, int64_t ldb,                  \
                                 const strata_lstsq_options* options, T* x, int64_t ldx,           \
                                 strata_lstsq_info* info) {                                        \
    return least_squares<T>("strata_" #P "_least_squares", comm, local_rows, n, a, lda, k, b, ldb, \
                            options, x, ldx, info);                                                \
  }                                                                                                \
  int strata_##P##_estimate_trace(strata_fint comm, int64_t local_rows, strata_##P##_matvec_fn fn, \
                                  void* context, const strata_trace_options* options,              \
                                  strata_trace_info* info) {                                       \
    return estimate_trace<T>("strata_" #P "_estimate_trace", comm, local_rows, fn, context,        \
                             options, info);                                                       \
  }
STRATA_CAPI_SKETCH_DEFINE(d, double)
STRATA_CAPI_SKETCH_DEFINE(s, float)
#undef STRATA_CAPI_SKETCH_DEFINE

}  // extern "C"
