// The HSS part of the C interface: argument checks and copies here, the HSS API behind
// detail/hss_adapter.hpp.
#include <memory>

#include "strata/capi/detail/callbacks.hpp"
#include "strata/capi/detail/hss_adapter.hpp"
#include "strata/capi/detail/support.hpp"
#include "strata/capi/strata.h"
#include "strata/dist/collective.hpp"

struct strata_d_hss_s {
  std::unique_ptr<strata::capi::detail::HssAdapter<double>> adapter;
};
struct strata_s_hss_s {
  std::unique_ptr<strata::capi::detail::HssAdapter<float>> adapter;
};

namespace strata::capi::detail {
namespace {

strata_hss_options options_or_default(const strata_hss_options* options) {
  strata_hss_options o;
  if (options != nullptr) {
    o = *options;
  } else {
    strata_hss_default_options(&o);
  }
  return o;
}

template <class Handle>
void store(Handle** out, std::unique_ptr<typename decltype(Handle::adapter)::element_type> adapter,
           strata_hss_info* info) {
  if (info != nullptr) *info = adapter->info();
  *out = new Handle{std::move(adapter)};
}

template <class T, class Handle>
int compress_matvec(const char* name, strata_fint fcomm, int64_t local_rows, MatvecFn<T> matvec,
                    void* context, const strata_hss_options* options, Handle** hss,
                    strata_hss_info* info) {
  return guarded(name, [&] {
    const Comm comm = make_comm(fcomm);
    collective(comm, [&] { require_pointer(hss, true, "hss (the output handle)"); });
    *hss = nullptr;
    const BlockRowLayout layout = user_layout(comm, local_rows);
    collective(comm,
               [&] { require_pointer(reinterpret_cast<const void*>(matvec), true, "matvec"); });
    const auto op = callback_operator<T>(comm, layout, matvec, context);
    const ExecSpace exec;
    try {
      store(hss, HssAdapter<T>::compress_products(exec, *op, options_or_default(options)), info);
    } catch (...) {
      agree_on_callback_failure(comm);
      throw;
    }
  });
}

template <class T, class Handle>
int compress_entries(const char* name, strata_fint fcomm, int64_t local_rows, int64_t n,
                     EntriesFn<T> entries, void* context, const strata_hss_options* options,
                     Handle** hss, strata_hss_info* info) {
  return guarded(name, [&] {
    const Comm comm = make_comm(fcomm);
    collective(comm, [&] { require_pointer(hss, true, "hss (the output handle)"); });
    *hss = nullptr;
    const BlockRowLayout layout = user_layout(comm, local_rows);
    collective(comm, [&] {
      require_pointer(reinterpret_cast<const void*>(entries), true, "entries");
      STRATA_REQUIRE(n == layout.global_rows(), ShapeMismatch, "n = ", n,
                     " but the ranks' local_rows add up to ", layout.global_rows());
    });
    const ExecSpace exec;
    try {
      store(
          hss,
          HssAdapter<T>::compress_entries(exec, comm, layout, entry_evaluator<T>(entries, context),
                                          options_or_default(options)),
          info);
    } catch (...) {
      agree_on_callback_failure(comm);
      throw;
    }
  });
}

template <class T, class Handle>
int compress_dense(const char* name, strata_fint fcomm, int64_t local_rows, int64_t n, const T* a,
                   int64_t lda, const strata_hss_options* options, Handle** hss,
                   strata_hss_info* info) {
  return guarded(name, [&] {
    const Comm comm = make_comm(fcomm);
    collective(comm, [&] { require_pointer(hss, true, "hss (the output handle)"); });
    *hss = nullptr;
    const BlockRowLayout layout = user_layout(comm, local_rows);
    Matrix<T> local;
    collective(comm, [&] {
      STRATA_REQUIRE(n == layout.global_rows(), ShapeMismatch, "a must be square: n = ", n,
                     " but the ranks' local_rows add up to ", layout.global_rows());
      local = copy_in(a, local_rows, n, lda, "a");
    });
    const DistDenseOperator<T> op(DistMatrix<T>(comm, layout, local), layout);
    const ExecSpace exec;
    store(hss, HssAdapter<T>::compress_products(exec, op, options_or_default(options)), info);
  });
}

template <class Handle>
auto& adapter_of(Handle* hss) {
  require_pointer(hss, true, "hss (the handle)");
  STRATA_REQUIRE(hss->adapter != nullptr, InvalidArgument, "hss is not a valid handle");
  return *hss->adapter;
}

template <class Handle>
int destroy(const char* name, Handle* hss) {
  if (hss == nullptr) return STRATA_SUCCESS;
  return guarded(name, [&] { delete hss; });
}

template <class Handle>
int get_info(const char* name, Handle* hss, strata_hss_info* info) {
  return guarded(name, [&] {
    const auto& adapter = adapter_of(hss);
    require_pointer(info, true, "info");
    *info = adapter.info();
  });
}

template <class T, class Handle>
int matvec(const char* name, Handle* hss, int trans, int64_t k, const T* x, int64_t ldx, T* y,
           int64_t ldy) {
  return guarded(name, [&] {
    const auto& adapter = adapter_of(hss);
    Matrix<T> xd;
    collective(adapter.comm(), [&] {
      STRATA_REQUIRE(trans == STRATA_NO_TRANSPOSE || trans == STRATA_TRANSPOSE, InvalidArgument,
                     "trans must be STRATA_NO_TRANSPOSE (0) or STRATA_TRANSPOSE (1), got ", trans);
      xd = copy_in(x, adapter.local_rows(), k, ldx, "x");
      check_out(y, adapter.local_rows(), k, ldy, "y");
      STRATA_REQUIRE(x != y || adapter.local_rows() * k == 0, InvalidArgument,
                     "x and y must not be the same array");
    });
    Matrix<T> yd("strata::capi::y", static_cast<std::size_t>(adapter.local_rows()),
                 static_cast<std::size_t>(k));
    const ExecSpace exec;
    adapter.matvec(exec, trans == STRATA_TRANSPOSE, xd, yd);
    copy_out<T>(yd, y, ldy);
  });
}

template <class Handle>
int factor(const char* name, Handle* hss, int variant) {
  return guarded(name, [&] {
    auto& adapter = adapter_of(hss);
    collective(adapter.comm(), [&] {
      STRATA_REQUIRE(variant == STRATA_ULV_GENERAL || variant == STRATA_ULV_SPD, InvalidArgument,
                     "variant must be STRATA_ULV_GENERAL (0) or STRATA_ULV_SPD (1), got ", variant);
    });
    const ExecSpace exec;
    adapter.factor(exec, variant == STRATA_ULV_SPD ? hss::UlvVariant::symmetric_positive_definite
                                                   : hss::UlvVariant::general);
  });
}

template <class T, class Handle>
int solve(const char* name, Handle* hss, int64_t k, const T* b, int64_t ldb, T* x, int64_t ldx,
          strata_solve_info* info) {
  return guarded(name, [&] {
    const auto& adapter = adapter_of(hss);
    Matrix<T> bd;
    collective(adapter.comm(), [&] {
      bd = copy_in(b, adapter.local_rows(), k, ldb, "b");
      check_out(x, adapter.local_rows(), k, ldx, "x");
    });
    Matrix<T> xd("strata::capi::x", static_cast<std::size_t>(adapter.local_rows()),
                 static_cast<std::size_t>(k));
    const ExecSpace exec;
    const auto result = adapter.solve(exec, bd, xd);
    copy_out<T>(xd, x, ldx);
    if (info != nullptr) {
      info->residual = result.residual;
      info->condition_lower_bound = result.condition_lower_bound;
    }
  });
}

template <class Handle>
int save(const char* name, Handle* hss, const char* file) {
  return guarded(name, [&] {
    const auto& adapter = adapter_of(hss);
    collective(adapter.comm(), [&] { require_pointer(file, true, "file"); });
    adapter.save(ExecSpace(), file);
  });
}

template <class T, class Handle>
int load(const char* name, strata_fint fcomm, const char* file, int64_t local_rows, Handle** hss) {
  return guarded(name, [&] {
    const Comm comm = make_comm(fcomm);
    collective(comm, [&] { require_pointer(hss, true, "hss (the output handle)"); });
    *hss = nullptr;
    const BlockRowLayout layout = user_layout(comm, local_rows);
    collective(comm, [&] { require_pointer(file, true, "file"); });
    store(hss, HssAdapter<T>::load(ExecSpace(), comm, layout, file), nullptr);
  });
}

}  // namespace
}  // namespace strata::capi::detail

using namespace strata::capi::detail;

extern "C" {

void strata_hss_default_options(strata_hss_options* options) {
  if (options == nullptr) return;
  options->leaf_size = 64;
  options->rank = 0;
  options->tolerance = 1e-6;
  options->oversampling = 10;
  options->samples = 0;
  options->max_samples = 0;
  options->seed = 0;
  options->method = STRATA_HSS_LEVITT_MARTINSSON;
  options->error_probes = 10;
  options->max_rounds = 8;
}

#define STRATA_CAPI_HSS_DEFINE(P, T)                                                               \
  int strata_##P##_hss_compress_matvec(                                                            \
      strata_fint comm, int64_t local_rows, strata_##P##_matvec_fn fn, void* context,              \
      const strata_hss_options* options, strata_##P##_hss* hss, strata_hss_info* info) {           \
    return compress_matvec<T>("strata_" #P "_hss_compress_matvec", comm, local_rows, fn, context,  \
                              options, hss, info);                                                 \
  }                                                                                                \
  int strata_##P##_hss_compress_entries(                                                           \
      strata_fint comm, int64_t local_rows, int64_t n, strata_##P##_entries_fn fn, void* context,  \
      const strata_hss_options* options, strata_##P##_hss* hss, strata_hss_info* info) {           \
    return compress_entries<T>("strata_" #P "_hss_compress_entries", comm, local_rows, n, fn,      \
                               context, options, hss, info);                                       \
  }                                                                                                \
  int strata_##P##_hss_compress_dense(strata_fint comm, int64_t local_rows, int64_t n, const T* a, \
                                      int64_t lda, const strata_hss_options* options,              \
                                      strata_##P##_hss* hss, strata_hss_info* info) {              \
    return compress_dense<T>("strata_" #P "_hss_compress_dense", comm, local_rows, n, a, lda,      \
                             options, hss, info);                                                  \
  }                                                                                                \
  int strata_##P##_hss_destroy(strata_##P##_hss hss) {                                             \
    return destroy("strata_" #P "_hss_destroy", hss);                                              \
  }                                                                                                \
  int strata_##P##_hss_info(strata_##P##_hss hss, strata_hss_info* info) {                         \
    return get_info("strata_" #P "_hss_info", hss, info);                                          \
  }                                                                                                \
  int strata_##P##_hss_matvec(strata_##P##_hss hss, int trans, int64_t k, const T* x, int64_t ldx, \
                              T* y, int64_t ldy) {                                                 \
    return matvec<T>("strata_" #P "_hss_matvec", hss, trans, k, x, ldx, y, ldy);                   \
  }                                                                                                \
  int strata_##P##_hss_factor(strata_##P##_hss hss, int variant) {                                 \
    return factor("strata_" #P "_hss_factor", hss, variant);                                       \
  }                                                                                                \
  int strata_##P##_hss_solve(strata_##P##_hss hss, int64_t k, const T* b, int64_t ldb, T* x,       \
                             int64_t ldx, strata_solve_info* info) {                               \
    return solve<T>("strata_" #P "_hss_solve", hss, k, b, ldb, x, ldx, info);                      \
  }                                                                                                \
  int strata_##P##_hss_save(strata_##P##_hss hss, const char* file) {                              \
    return save("strata_" #P "_hss_save", hss, file);                                              \
  }                                                                                                \
  int strata_##P##_hss_load(strata_fint comm, const char* file, int64_t local_rows,                \
                            strata_##P##_hss* hss) {                                               \
    return load<T>("strata_" #P "_hss_load", comm, file, local_rows, hss);                         \
  }
STRATA_CAPI_HSS_DEFINE(d, double)
STRATA_CAPI_HSS_DEFINE(s, float)
#undef STRATA_CAPI_HSS_DEFINE

}  // extern "C"
