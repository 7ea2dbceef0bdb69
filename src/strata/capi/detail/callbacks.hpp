// The caller's C callbacks as Strata operators: a product callback becomes a distributed
// CallbackOperator in the caller's row layout, an entry callback an hss::EntryEvaluator.
#pragma once

#include <algorithm>
#include <memory>

#include "strata/capi/detail/support.hpp"
#include "strata/core/kokkos_ext.hpp"
#include "strata/dist/collective.hpp"
#include "strata/dist/linear_operator.hpp"
#include "strata/hss/problems.hpp"

namespace strata::capi::detail {

template <class T>
using MatvecFn = int (*)(void*, int, int64_t, int64_t, const T*, int64_t, T*, int64_t);
template <class T>
using EntriesFn = int (*)(void*, int64_t, const int64_t*, int64_t, const int64_t*, T*, int64_t);

/// A square operator whose products are the caller's callback, on this rank's rows of `layout`.
/// The callback is called on every rank together; a non-zero return on any rank becomes the same
/// error on every rank (agreed before anything else is communicated) and the call's result
/// STRATA_ERROR_CALLBACK.
template <class T>
std::unique_ptr<CallbackOperator<T>> callback_operator(const Comm& comm,
                                                       const BlockRowLayout& layout, MatvecFn<T> fn,
                                                       void* context) {
  const auto product = [comm, fn, context](int trans) {
    return [comm, fn, context, trans](const ExecSpace& exec, const ConstMatrix<T>& x,
                                      const Matrix<T>& y) {
      kx::fence(exec, "strata::capi::callback::before");
      const auto hx = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), x);
      const auto hy = Kokkos::create_mirror_view(y);
      const auto ld = [](const auto& v) {
        return std::max<int64_t>(1, static_cast<int64_t>(v.stride(1)));
      };
      const int status =
          fn(context, trans, static_cast<int64_t>(x.extent(0)), static_cast<int64_t>(x.extent(1)),
             hx.data(), ld(hx), hy.data(), ld(hy));
      if (comm.allreduce(status != 0 ? 1 : 0, ReduceOp::max) != 0) {
        mark_callback_failed();
        collective(comm, [&] {
          STRATA_REQUIRE(status == 0, InvalidArgument, "the product callback (trans = ", trans,
                         ") returned ", status);
        });
      }
      Kokkos::deep_copy(exec, y, hy);
      kx::fence(exec, "strata::capi::callback::after");
    };
  };
  return std::make_unique<CallbackOperator<T>>(comm, layout, layout, product(STRATA_NO_TRANSPOSE),
                                               product(STRATA_TRANSPOSE));
}

/// The caller's entry callback as a batched evaluator: one call per block of the batch, on host
/// copies of the index lists (not collective: a failure throws on this rank only).
template <class T>
hss::EntryEvaluator<T> entry_evaluator(EntriesFn<T> fn, void* context) {
  return [fn, context](const ExecSpace& exec, const hss::EntryBlocks<T>& blocks) {
    kx::fence(exec, "strata::capi::entries::before");
    const auto host = Kokkos::HostSpace();
    const auto rows = Kokkos::create_mirror_view_and_copy(host, blocks.rows);
    const auto row_offsets = Kokkos::create_mirror_view_and_copy(host, blocks.row_offsets);
    const auto cols = Kokkos::create_mirror_view_and_copy(host, blocks.cols);
    const auto col_offsets = Kokkos::create_mirror_view_and_copy(host, blocks.col_offsets);
    const auto value_offsets = Kokkos::create_mirror_view_and_copy(host, blocks.value_offsets);
    const auto values = Kokkos::create_mirror_view(blocks.values);
    for (index_type b = 0; b < blocks.count(); ++b) {
      const int64_t m = row_offsets(b + 1) - row_offsets(b);
      const int64_t n = col_offsets(b + 1) - col_offsets(b);
      if (m == 0 || n == 0) continue;
      const int status = fn(context, m, rows.data() + row_offsets(b), n,
                            cols.data() + col_offsets(b), values.data() + value_offsets(b), m);
      if (status != 0) {
        mark_callback_failed();
        STRATA_THROW(InvalidArgument, "the entry callback returned ", status);
      }
    }
    Kokkos::deep_copy(exec, blocks.values, values);
    kx::fence(exec, "strata::capi::entries::after");
  };
}

}  // namespace strata::capi::detail
