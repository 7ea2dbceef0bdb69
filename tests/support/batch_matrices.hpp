// Host-side helpers of the dense linear-algebra tests: Gaussian host matrices from a counter-based
// stream, the Frobenius norm in double, and packed MatrixBatch copies to and from host matrices.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include <Kokkos_Core.hpp>

#include "strata/core/random.hpp"
#include "strata/core/types.hpp"
#include "strata/linalg/batched_dense.hpp"

namespace strata::testing {

/// m x n Gaussian host matrix: entries (i, j) of the counter-based stream (seed, stream).
inline HostMatrix<double> gaussian_matrix(int m, int n, std::uint64_t seed, std::uint64_t stream) {
  HostMatrix<double> a("g", m, n);
  const RandomStream s{Distribution::gaussian, seed, stream};
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i) a(i, j) = s.entry<double>(i, j);
  return a;
}

/// ||A||_F, summed in double.
inline double frobenius(const HostMatrix<double>& a) {
  double s = 0;
  for (std::size_t j = 0; j < a.extent(1); ++j)
    for (std::size_t i = 0; i < a.extent(0); ++i) s += a(i, j) * a(i, j);
  return std::sqrt(s);
}

/// A packed device batch holding copies (rounded to T) of the given host matrices.
template <class T>
linalg::MatrixBatch<T> to_batch(const std::vector<HostMatrix<double>>& mats) {
  std::vector<int> rows, cols;
  for (const auto& m : mats) {
    rows.push_back(static_cast<int>(m.extent(0)));
    cols.push_back(static_cast<int>(m.extent(1)));
  }
  auto batch = linalg::MatrixBatch<T>::allocate("batch", rows, cols);
  auto h = Kokkos::create_mirror_view(batch.values);
  for (std::size_t b = 0; b < mats.size(); ++b)
    for (int j = 0; j < cols[b]; ++j)
      for (int i = 0; i < rows[b]; ++i)
        h(batch.layout.host_offset[b] + i +
          static_cast<std::int64_t>(j) * batch.layout.host_ld[b]) = static_cast<T>(mats[b](i, j));
  Kokkos::deep_copy(batch.values, h);
  return batch;
}

/// Matrix b of a batch, as a double host matrix.
template <class T>
HostMatrix<double> matrix(const linalg::MatrixBatch<T>& batch, int b) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, batch.values);
  const int m = batch.layout.host_rows[b], n = batch.layout.host_cols[b];
  HostMatrix<double> out("m", m, n);
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i)
      out(i, j) = static_cast<double>(h(batch.layout.host_offset[b] + i +
                                        static_cast<std::int64_t>(j) * batch.layout.host_ld[b]));
  return out;
}

}  // namespace strata::testing
