// Polar factor, matrix sign, square root and inverse square root in the C interface.
#include "strata/capi/detail/support.hpp"
#include "strata/capi/strata.h"
#include "strata/dist/collective.hpp"
#include "strata/polar/newton_schulz.hpp"

namespace strata::capi::detail {
namespace {

polar::IterationOptions iteration_options(const strata_polar_options* options) {
  strata_polar_options o;
  if (options != nullptr) {
    o = *options;
  } else {
    strata_polar_default_options(&o);
  }
  STRATA_REQUIRE(o.method >= STRATA_POLAR_EXPRESS && o.method <= STRATA_MUON, InvalidArgument,
                 "options.method must be STRATA_POLAR_EXPRESS (0), STRATA_NEWTON_SCHULZ (1) or "
                 "STRATA_MUON (2), got ",
                 o.method);
  STRATA_REQUIRE(
      o.scaling == STRATA_SCALING_FROBENIUS || o.scaling == STRATA_SCALING_SPECTRAL_ESTIMATE,
      InvalidArgument,
      "options.scaling must be STRATA_SCALING_FROBENIUS (0) or "
      "STRATA_SCALING_SPECTRAL_ESTIMATE (1), got ",
      o.scaling);
  polar::IterationOptions io;
  io.method = o.method == STRATA_POLAR_EXPRESS   ? polar::Method::polar_express
              : o.method == STRATA_NEWTON_SCHULZ ? polar::Method::newton_schulz
                                                 : polar::Method::muon;
  io.degree = o.degree;
  io.lower = o.lower;
  io.steps = o.steps;
  io.tolerance = o.tolerance;
  io.max_steps = o.max_steps;
  io.safety = o.safety;
  io.scaling = o.scaling == STRATA_SCALING_SPECTRAL_ESTIMATE ? polar::Scaling::spectral_estimate
                                                             : polar::Scaling::frobenius;
  return io;
}

void fill(strata_polar_info* info, const polar::IterationResult& result) {
  if (info == nullptr) return;
  info->iterations = result.iterations;
  info->converged = result.converged ? 1 : 0;
  info->error = result.error;
  info->scale = result.scale;
}

template <class T>
int polar_factor(const char* name, strata_fint fcomm, int64_t local_rows, int64_t n, const T* a,
                 int64_t lda, T* q, int64_t ldq, const strata_polar_options* options,
                 strata_polar_info* info) {
  return guarded(name, [&] {
    const Comm comm = make_comm(fcomm);
    const BlockRowLayout layout = user_layout(comm, local_rows);
    require_same(comm, n, "n (the number of columns)");
    Matrix<T> local;
    polar::IterationOptions io;
    collective(comm, [&] {
      io = iteration_options(options);
      local = copy_in(a, local_rows, n, lda, "a");
      check_out(q, local_rows, n, ldq, "q");
    });
    const DistMatrix<T> ad(comm, layout, local);
    const DistMatrix<T> qd(comm, layout, n, "strata::capi::q");
    const auto result = polar::polar_factor(ExecSpace(), ad, qd, io);
    copy_out<T>(qd.local(), q, ldq);
    fill(info, result);
  });
}

template <class T>
int sign(const char* name, int64_t n, const T* a, int64_t lda, T* s, int64_t lds,
         const strata_polar_options* options, strata_polar_info* info) {
  return guarded(name, [&] {
    const auto io = iteration_options(options);
    const auto ad = copy_in(a, n, n, lda, "a");
    check_out(s, n, n, lds, "s");
    Matrix<T> sd("strata::capi::sign", static_cast<std::size_t>(n), static_cast<std::size_t>(n));
    const auto result = polar::matrix_sign(ExecSpace(), ConstMatrix<T>(ad), sd, io);
    copy_out<T>(sd, s, lds);
    fill(info, result);
  });
}

template <class T>
int square_root(const char* name, int64_t n, const T* a, int64_t lda, T* sqrt_a, int64_t ld_sqrt,
                T* inverse_sqrt_a, int64_t ld_inverse_sqrt, const strata_polar_options* options,
                strata_polar_info* info) {
  return guarded(name, [&] {
    const auto io = iteration_options(options);
    const auto ad = copy_in(a, n, n, lda, "a");
    STRATA_REQUIRE(sqrt_a != nullptr || inverse_sqrt_a != nullptr, InvalidArgument,
                   "sqrt_a and inverse_sqrt_a are both NULL: nothing to compute");
    const auto size = static_cast<std::size_t>(n);
    Matrix<T> root, inverse_root;
    if (sqrt_a != nullptr) {
      check_out(sqrt_a, n, n, ld_sqrt, "sqrt_a");
      root = Matrix<T>("strata::capi::sqrt", size, size);
    }
    if (inverse_sqrt_a != nullptr) {
      check_out(inverse_sqrt_a, n, n, ld_inverse_sqrt, "inverse_sqrt_a");
      inverse_root = Matrix<T>("strata::capi::inverse_sqrt", size, size);
    }
    const auto result =
        polar::sqrt_and_inverse_sqrt(ExecSpace(), ConstMatrix<T>(ad), root, inverse_root, io);
    if (sqrt_a != nullptr) copy_out<T>(root, sqrt_a, ld_sqrt);
    if (inverse_sqrt_a != nullptr) copy_out<T>(inverse_root, inverse_sqrt_a, ld_inverse_sqrt);
    fill(info, result);
  });
}

}  // namespace
}  // namespace strata::capi::detail

using namespace strata::capi::detail;

extern "C" {

void strata_polar_default_options(strata_polar_options* options) {
  if (options == nullptr) return;
  const strata::polar::IterationOptions defaults;
  options->lower = defaults.lower;
  options->tolerance = defaults.tolerance;
  options->safety = defaults.safety;
  options->method = STRATA_POLAR_EXPRESS;
  options->degree = defaults.degree;
  options->steps = defaults.steps;
  options->max_steps = defaults.max_steps;
  options->scaling = STRATA_SCALING_FROBENIUS;
}

#define STRATA_CAPI_POLAR_DEFINE(P, T)                                                             \
  int strata_##P##_polar(strata_fint comm, int64_t local_rows, int64_t n, const T* a, int64_t lda, \
                         T* q, int64_t ldq, const strata_polar_options* options,                   \
                         strata_polar_info* info) {                                                \
    return polar_factor<T>("strata_" #P "_polar", comm, local_rows, n, a, lda, q, ldq, options,    \
                           info);                                                                  \
  }                                                                                                \
  int strata_##P##_sign(int64_t n, const T* a, int64_t lda, T* s, int64_t lds,                     \
                        const strata_polar_options* options, strata_polar_info* info) {            \
    return sign<T>("strata_" #P "_sign", n, a, lda, s, lds, options, info);                        \
  }                                                                                                \
  int strata_##P##_sqrt(int64_t n, const T* a, int64_t lda, T* sqrt_a, int64_t ld_sqrt,            \
                        T* inverse_sqrt_a, int64_t ld_inverse_sqrt,                                \
                        const strata_polar_options* options, strata_polar_info* info) {            \
    return square_root<T>("strata_" #P "_sqrt", n, a, lda, sqrt_a, ld_sqrt, inverse_sqrt_a,        \
                          ld_inverse_sqrt, options, info);                                         \
  }
STRATA_CAPI_POLAR_DEFINE(d, double)
STRATA_CAPI_POLAR_DEFINE(s, float)
#undef STRATA_CAPI_POLAR_DEFINE

}  // extern "C"
