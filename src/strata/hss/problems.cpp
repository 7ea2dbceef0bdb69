#include "strata/hss/problems.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <sstream>
#include <utility>
#include <vector>

#include "strata/core/checks.hpp"
#include "strata/core/kokkos_ext/fence.hpp"
#include "strata/core/random.hpp"
#include "strata/dist/operations.hpp"
#include "strata/hss/detail/band_lapack.hpp"
#include "strata/hss/detail/problem_kernels.hpp"

namespace strata::hss {

// ---- Problem ------------------------------------------------------------------------------------

template <class T>
Problem<T>::Problem(std::string name, std::string description, index_type n, Matrix<double> points)
    : name_(std::move(name)),
      description_(std::move(description)),
      n_(n),
      points_(std::move(points)) {}

template <class T>
void Problem<T>::check_apply_shapes(index_type row_begin, const ConstMatrix<T>& x,
                                    const Matrix<T>& y) const {
  require_shape(x, n_, static_cast<index_type>(x.extent(1)), name_ + ": X");
  const auto rows = static_cast<index_type>(y.extent(0));
  STRATA_REQUIRE(row_begin >= 0 && row_begin + rows <= n_, InvalidArgument, name_, ": rows [",
                 row_begin, ", ", row_begin + rows, ") are outside [0, ", n_, ")");
  STRATA_REQUIRE(y.extent(1) == x.extent(1), ShapeMismatch, name_, ": X has ", x.extent(1),
                 " columns but Y has ", y.extent(1));
}

template <class T>
void Problem<T>::apply(const ExecSpace& exec, const ConstMatrix<T>& x, const Matrix<T>& y) const {
  require_shape(y, n_, static_cast<index_type>(x.extent(1)), name_ + ": Y");
  apply_rows(exec, Op::none, 0, x, y);
}

template <class T>
void Problem<T>::apply_transpose(const ExecSpace& exec, const ConstMatrix<T>& x,
                                 const Matrix<T>& y) const {
  require_shape(y, n_, static_cast<index_type>(x.extent(1)), name_ + ": Y");
  apply_rows(exec, Op::transpose, 0, x, y);
}

template <class T>
EntryEvaluator<T> Problem<T>::entry_evaluator() const {
  return [this](const ExecSpace& exec, const EntryBlocks<T>& blocks) {
    entries(exec, blocks);
  };
}

template <class T>
EntryBlocks<T> make_entry_blocks(const std::vector<std::vector<index_type>>& rows,
                                 const std::vector<std::vector<index_type>>& cols) {
  STRATA_REQUIRE(rows.size() == cols.size(), ShapeMismatch, "make_entry_blocks: ", rows.size(),
                 " row lists but ", cols.size(), " column lists; expected one of each per block");
  const std::size_t count = rows.size(), no = count + 1;
  std::size_t nr = 0, nc = 0;
  for (std::size_t b = 0; b < count; ++b) nr += rows[b].size(), nc += cols[b].size();
  // The five index arrays (rows, cols, row, column and value offsets) as slices of one device
  // array written by one copy: one allocation and one transfer per batch, no fill kernels.
  std::vector<index_type> host(nr + nc + 3 * no);
  index_type* const r = host.data();
  index_type* const c = r + nr;
  index_type* const ro = c + nc;
  index_type* const co = ro + no;
  index_type* const vo = co + no;
  ro[0] = co[0] = vo[0] = 0;
  for (std::size_t b = 0; b < count; ++b) {
    ro[b + 1] = ro[b] + static_cast<index_type>(rows[b].size());
    co[b + 1] = co[b] + static_cast<index_type>(cols[b].size());
    vo[b + 1] = vo[b] + static_cast<index_type>(rows[b].size() * cols[b].size());
    std::copy(rows[b].begin(), rows[b].end(), r + ro[b]);
    std::copy(cols[b].begin(), cols[b].end(), c + co[b]);
  }
  const Kokkos::View<index_type*, MemSpace> device(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "strata::hss::entry_indices"), host.size());
  Kokkos::deep_copy(
      device,
      Kokkos::View<const index_type*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>(
          host.data(), host.size()));
  const auto slice = [&](std::size_t begin, std::size_t size) {
    return Kokkos::View<const index_type*, MemSpace>(
        Kokkos::subview(device, std::make_pair(begin, begin + size)));
  };
  EntryBlocks<T> blocks;
  blocks.rows = slice(0, nr);
  blocks.cols = slice(nr, nc);
  blocks.row_offsets = slice(nr + nc, no);
  blocks.col_offsets = slice(nr + nc + no, no);
  blocks.value_offsets = slice(nr + nc + 2 * no, no);
  // Not zero-filled: the evaluator writes every value (the fill and, on the host, its first-touch
  // page faults cost as much as evaluating a cheap kernel).
  blocks.values = Kokkos::View<T*, MemSpace>(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "strata::hss::entry_values"),
      static_cast<std::size_t>(vo[count]));
  return blocks;
}

namespace detail {

template <class T>
void check_entry_blocks(const ExecSpace& exec, const EntryBlocks<T>& blocks, index_type n) {
  const index_type count = blocks.count();
  STRATA_REQUIRE(blocks.col_offsets.extent(0) == blocks.row_offsets.extent(0) &&
                     blocks.value_offsets.extent(0) == blocks.row_offsets.extent(0),
                 ShapeMismatch, "entries: row_offsets, col_offsets and value_offsets have ",
                 blocks.row_offsets.extent(0), ", ", blocks.col_offsets.extent(0), " and ",
                 blocks.value_offsets.extent(0), " entries; expected the same (blocks + 1)");
  if (count == 0) return;
  const auto rows = blocks.rows;
  const auto cols = blocks.cols;
  const auto ro = blocks.row_offsets;
  const auto co = blocks.col_offsets;
  const auto vo = blocks.value_offsets;
  const index_type total_rows = static_cast<index_type>(rows.extent(0));
  const index_type total = total_rows + static_cast<index_type>(cols.extent(0));
  const index_type values = static_cast<index_type>(blocks.values.extent(0));
  // Every check in one kernel and one read (each block's offsets, the last block's also against
  // the arrays' lengths, then every index); only after a failure do the separate checks below
  // find the message that applies.
  index_type bad = 0;
  Kokkos::parallel_reduce(
      "strata::hss::problems::check", Kokkos::RangePolicy<ExecSpace>(exec, 0, count + total),
      KOKKOS_LAMBDA(const index_type e, index_type& acc) {
        if (e < count) {
          const index_type m = ro(e + 1) - ro(e), c = co(e + 1) - co(e);
          if (m < 0 || c < 0 || vo(e + 1) - vo(e) < m * c || ro(e) < 0 || co(e) < 0 || vo(e) < 0)
            ++acc;
          if (e == count - 1 &&
              (ro(count) > total_rows || co(count) > total - total_rows || vo(count) > values))
            ++acc;
          return;
        }
        const index_type t = e - count;
        const index_type i = t < total_rows ? rows(t) : cols(t - total_rows);
        if (i < 0 || i >= n) ++acc;
      },
      bad);
  if (bad == 0) return;
  auto last = [](const Kokkos::View<const index_type*, MemSpace>& v) {
    index_type value = 0;
    Kokkos::deep_copy(Kokkos::View<index_type, Kokkos::HostSpace>(&value),
                      Kokkos::subview(v, v.extent(0) - 1));
    return value;
  };
  STRATA_REQUIRE(last(blocks.row_offsets) <= static_cast<index_type>(blocks.rows.extent(0)) &&
                     last(blocks.col_offsets) <= static_cast<index_type>(blocks.cols.extent(0)) &&
                     last(blocks.value_offsets) <= static_cast<index_type>(blocks.values.extent(0)),
                 ShapeMismatch,
                 "entries: the offsets reach past the index lists or the value array");
  index_type bad_offsets = 0, bad_indices = 0;
  Kokkos::parallel_reduce(
      "strata::hss::problems::check_blocks", Kokkos::RangePolicy<ExecSpace>(exec, 0, count),
      KOKKOS_LAMBDA(const index_type b, index_type& bad) {
        const index_type m = ro(b + 1) - ro(b), c = co(b + 1) - co(b);
        if (m < 0 || c < 0 || vo(b + 1) - vo(b) < m * c || ro(b) < 0 || co(b) < 0 || vo(b) < 0) {
          ++bad;
        }
      },
      bad_offsets);
  STRATA_REQUIRE(bad_offsets == 0, InvalidArgument, "entries: ", bad_offsets,
                 " blocks have decreasing offsets or fewer value slots than rows x columns");
  Kokkos::parallel_reduce(
      "strata::hss::problems::check_indices", Kokkos::RangePolicy<ExecSpace>(exec, 0, total),
      KOKKOS_LAMBDA(const index_type e, index_type& bad) {
        const index_type i = e < total_rows ? rows(e) : cols(e - total_rows);
        if (i < 0 || i >= n) ++bad;
      },
      bad_indices);
  STRATA_REQUIRE(bad_indices == 0, InvalidArgument, "entries: ", bad_indices,
                 " row or column indices are outside [0, ", n, ")");
}

}  // namespace detail

namespace {

constexpr index_type max_dense_entries = index_type(1) << 31;

void require_dense_size(const std::string& name, index_type n) {
  STRATA_REQUIRE(n <= 46340 && n * n <= max_dense_entries, Unsupported, name,
                 ": the dense matrix of order ", n,
                 " is too large (more than 2^31 entries); use products or entry blocks instead");
}

// ---- points -------------------------------------------------------------------------------------

using Point = std::array<double, 3>;

// Recursive coordinate bisection: halves of the index range get the points below / above the
// median of the widest coordinate, down to single points.
void bisection_order(std::vector<Point>& p, int dim, std::size_t lo, std::size_t hi) {
  if (hi - lo <= 2) {
    if (hi - lo == 2) {
      int widest = 0;
      double span = -1;
      for (int d = 0; d < dim; ++d) {
        const double s = std::abs(p[lo][d] - p[lo + 1][d]);
        if (s > span) span = s, widest = d;
      }
      if (p[lo + 1][widest] < p[lo][widest]) std::swap(p[lo], p[lo + 1]);
    }
    return;
  }
  Point low{1e300, 1e300, 1e300}, high{-1e300, -1e300, -1e300};
  for (std::size_t i = lo; i < hi; ++i) {
    for (int d = 0; d < dim; ++d) {
      low[d] = std::min(low[d], p[i][d]);
      high[d] = std::max(high[d], p[i][d]);
    }
  }
  int widest = 0;
  for (int d = 1; d < dim; ++d) {
    if (high[d] - low[d] > high[widest] - low[widest]) widest = d;
  }
  const std::size_t mid = lo + (hi - lo) / 2;
  std::nth_element(p.begin() + lo, p.begin() + mid, p.begin() + hi,
                   [widest](const Point& a, const Point& b) { return a[widest] < b[widest]; });
  bisection_order(p, dim, lo, mid);
  bisection_order(p, dim, mid, hi);
}

std::vector<Point> uniform_random_points(index_type n, int dim, std::uint64_t seed) {
  const RandomStream stream{Distribution::gaussian, seed, 0x90175};
  std::vector<Point> p(static_cast<std::size_t>(n), Point{0, 0, 0});
  for (index_type i = 0; i < n; ++i) {
    const auto bits = stream.bits(i, 0);
    for (int d = 0; d < dim; ++d) p[i][d] = RandomStream::uniform_open(bits.v[d]);
  }
  return p;
}

enum class Geometry { line, square, cube, curve };

struct CurvePoint {
  Point x;
  double speed;  // |gamma'(t)|
};

CurvePoint star_curve(double t) {
  const double rho = 0.35 * (1 + 0.3 * std::cos(5 * t));
  const double drho = -0.35 * 1.5 * std::sin(5 * t);
  return {{0.5 + rho * std::cos(t), 0.5 + rho * std::sin(t), 0.0},
          std::sqrt(rho * rho + drho * drho)};
}

Matrix<double> to_device(const std::vector<Point>& p, int dim) {
  HostMatrix<double> h("strata::hss::points", p.size(), static_cast<std::size_t>(dim));
  for (std::size_t i = 0; i < p.size(); ++i) {
    for (int d = 0; d < dim; ++d) h(i, d) = p[i][d];
  }
  Matrix<double> points("strata::hss::points", p.size(), static_cast<std::size_t>(dim));
  Kokkos::deep_copy(points, h);
  return points;
}

Vector<double> to_device(const std::vector<double>& v) {
  Vector<double> d("strata::hss::diagonal", v.size());
  Kokkos::deep_copy(
      d, Kokkos::View<const double*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>(
             v.data(), v.size()));
  return d;
}

// ---- kernel matrices ----------------------------------------------------------------------------

template <class T, detail::KernelKind Kind, int Dim>
class KernelProblem final : public Problem<T> {
 public:
  KernelProblem(std::string name, std::string description, Matrix<double> points,
                Vector<double> diagonal, double parameter)
      : Problem<T>(std::move(name), std::move(description),
                   static_cast<index_type>(points.extent(0)), points) {
    kernel_.points = points;
    kernel_.diagonal = diagonal;
    kernel_.parameter = parameter;
  }
  bool symmetric() const override { return true; }

  void entries(const ExecSpace& exec, const EntryBlocks<T>& blocks) const override {
    detail::check_entry_blocks(exec, blocks, this->size());
    detail::fill_entry_blocks(exec, blocks, kernel_);
  }

  // K is symmetric, so op(K) = K either way.
  void apply_rows(const ExecSpace& exec, Op, index_type row_begin, const ConstMatrix<T>& x,
                  const Matrix<T>& y) const override {
    this->check_apply_shapes(row_begin, x, y);
    detail::kernel_product<T>(exec, kernel_, row_begin, x, y);
  }

  Matrix<T> dense(const ExecSpace& exec) const override {
    require_dense_size(this->name(), this->size());
    const auto n = static_cast<std::size_t>(this->size());
    Matrix<T> a(Kokkos::view_alloc(Kokkos::WithoutInitializing, "strata::hss::dense"), n, n);
    detail::fill_dense(exec, a, kernel_);
    return a;
  }

 private:
  detail::PointKernel<Kind, Dim> kernel_;
};

// ---- problems solved through banded factorizations ------------------------------------------

// op(A) X for a whole N x k host block in double, in place.
using HostSolve = std::function<void(const HostMatrix<double>&, bool transpose)>;

template <class T>
class BandedProblem final : public Problem<T> {
 public:
  BandedProblem(std::string name, std::string description, Matrix<double> points, bool symmetric,
                HostSolve solve)
      : Problem<T>(std::move(name), std::move(description),
                   static_cast<index_type>(points.extent(0)), points),
        symmetric_(symmetric),
        solve_(std::move(solve)) {}
  bool symmetric() const override { return symmetric_; }

  void entries(const ExecSpace& exec, const EntryBlocks<T>& blocks) const override {
    detail::check_entry_blocks(exec, blocks, this->size());
    if (dense_.extent(0) == 0) dense_ = dense(exec);
    detail::fill_entry_blocks(exec, blocks, detail::DenseLookup<T>{dense_});
  }

  // Column blocks of 32 vectors bound the host workspace of the solves (N h 32 doubles for
  // schur-grid).
  void apply_rows(const ExecSpace& exec, Op op, index_type row_begin, const ConstMatrix<T>& x,
                  const Matrix<T>& y) const override {
    const bool transpose = op == Op::transpose;
    this->check_apply_shapes(row_begin, x, y);
    const auto n = static_cast<std::size_t>(this->size());
    const std::size_t k = x.extent(1), rows = y.extent(0);
    const auto begin = static_cast<std::size_t>(row_begin);
    auto x_host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), x);
    auto y_host = Kokkos::create_mirror_view(y);
    constexpr std::size_t block = 32;
    for (std::size_t v0 = 0; v0 < k; v0 += block) {
      const std::size_t nv = std::min(block, k - v0);
      HostMatrix<double> b(Kokkos::view_alloc(Kokkos::WithoutInitializing, "strata::hss::banded"),
                           n, nv);
      for (std::size_t v = 0; v < nv; ++v) {
        for (std::size_t i = 0; i < n; ++i) b(i, v) = static_cast<double>(x_host(i, v0 + v));
      }
      solve_(b, transpose && !symmetric_);
      for (std::size_t v = 0; v < nv; ++v) {
        for (std::size_t i = 0; i < rows; ++i) y_host(i, v0 + v) = static_cast<T>(b(begin + i, v));
      }
    }
    Kokkos::deep_copy(exec, y, y_host);
    kx::fence(exec, "strata::hss::problems::banded_apply");
  }

  Matrix<T> dense(const ExecSpace& exec) const override {
    require_dense_size(this->name(), this->size());
    const auto n = static_cast<std::size_t>(this->size());
    Matrix<T> identity("strata::hss::identity", n, n);
    Kokkos::parallel_for(
        "strata::hss::problems::identity", Kokkos::RangePolicy<ExecSpace>(exec, 0, n),
        KOKKOS_LAMBDA(const std::size_t i) { identity(i, i) = T(1); });
    Matrix<T> a(Kokkos::view_alloc(Kokkos::WithoutInitializing, "strata::hss::dense"), n, n);
    apply_rows(exec, Op::none, 0, identity, a);
    return a;
  }

 private:
  bool symmetric_;
  HostSolve solve_;
  mutable Matrix<T> dense_;
};

Matrix<double> line_positions(index_type n) {
  std::vector<Point> p(static_cast<std::size_t>(n), Point{0, 0, 0});
  for (index_type i = 0; i < n; ++i) p[i][0] = (static_cast<double>(i) + 0.5) / n;
  return to_device(p, 1);
}

template <class T>
std::shared_ptr<const Problem<T>> make_schur_grid(index_type n, const ProblemOptions& o) {
  const int grid_rows = o.grid_rows == 0 ? 51 : o.grid_rows;
  STRATA_REQUIRE(grid_rows >= 3 && grid_rows % 2 == 1, InvalidArgument,
                 "schur-grid: grid_rows = ", grid_rows, "; expected an odd number >= 3");
  const index_type h = (grid_rows - 1) / 2;
  STRATA_REQUIRE(n * h <= std::numeric_limits<int>::max(), InvalidArgument,
                 "schur-grid: the half grid has ", n * h,
                 " unknowns, more than LAPACK's 32-bit indices allow");
  // Lower band storage of the half-grid Laplacian, unknown (r, j) at j h + r (r = 0 next to the
  // line): neighbours at distance 1 (same column of the grid) and h (next column).
  const index_type order = n * h;
  HostMatrix<double> band("strata::hss::schur_band", static_cast<std::size_t>(h + 1),
                          static_cast<std::size_t>(order));
  for (index_type u = 0; u < order; ++u) {
    const index_type r = u % h, j = u / h;
    band(0, u) = 4;
    if (r + 1 < h) band(1, u) = -1;
    if (j + 1 < n) band(h, u) += -1;
  }
  auto factor = std::make_shared<detail::BandCholesky>(band);
  HostSolve solve = [factor, n, h](const HostMatrix<double>& b, bool) {
    const std::size_t k = b.extent(1);
    HostMatrix<double> half("strata::hss::schur_half", static_cast<std::size_t>(n * h), k);
    for (std::size_t v = 0; v < k; ++v) {
      for (index_type j = 0; j < n; ++j) half(j * h, v) = b(j, v);
    }
    factor->solve(half);
    for (std::size_t v = 0; v < k; ++v) {
      double previous = 0;
      for (index_type j = 0; j < n; ++j) {
        const double current = b(j, v);
        const double next = j + 1 < n ? b(j + 1, v) : 0.0;
        b(j, v) = 4 * current - previous - next - 2 * half(j * h, v);
        previous = current;
      }
    }
  };
  std::ostringstream d;
  d << "Schur complement on the middle line of the 5-point Laplacian on a " << grid_rows << " x "
    << n << " grid";
  return std::make_shared<BandedProblem<T>>("schur-grid", d.str(), line_positions(n), true,
                                            std::move(solve));
}

template <class T>
std::shared_ptr<const Problem<T>> make_banded_inverse(index_type n, const ProblemOptions& o) {
  const int b = o.band;
  STRATA_REQUIRE(b >= 1 && b < n, InvalidArgument, "banded-inverse: band = ", b,
                 "; expected 1 <= band < N = ", n);
  STRATA_REQUIRE(std::abs(o.skew) < 1, InvalidArgument, "banded-inverse: skew = ", o.skew,
                 "; expected |skew| < 1");
  STRATA_REQUIRE(n <= std::numeric_limits<int>::max(), InvalidArgument, "banded-inverse: N = ", n,
                 " exceeds LAPACK's 32-bit indices");
  double harmonic = 0;
  for (int d = 1; d <= b; ++d) harmonic += 1.0 / d;
  const double diagonal = o.diagonal != 0 ? o.diagonal : 2 + 2 * harmonic * (1 + std::abs(o.skew));
  HostMatrix<double> band("strata::hss::banded", static_cast<std::size_t>(2 * b + 1),
                          static_cast<std::size_t>(n));
  for (index_type j = 0; j < n; ++j) {
    band(b, j) = diagonal;
    for (int d = 1; d <= b; ++d) {
      if (j - d >= 0) band(b - d, j) = -(1 + o.skew) / d;  // B(j - d, j), above the diagonal
      if (j + d < n) band(b + d, j) = -(1 - o.skew) / d;   // B(j + d, j), below
    }
  }
  auto factor = std::make_shared<detail::BandLU>(band, b, b);
  HostSolve solve = [factor](const HostMatrix<double>& x, bool transpose) {
    factor->solve(x, transpose);
  };
  std::ostringstream d;
  d << "inverse of the band matrix with half bandwidth " << b << ", diagonal " << diagonal
    << ", skew " << o.skew;
  return std::make_shared<BandedProblem<T>>("banded-inverse", d.str(), line_positions(n),
                                            o.skew == 0, std::move(solve));
}

// ---- registry -----------------------------------------------------------------------------------

const char* const kernel_names[] = {"laplace", "gaussian", "cauchy", "exponential"};
const char* const geometry_names[] = {"1d", "2d", "3d", "curve"};

template <class T, detail::KernelKind Kind>
std::shared_ptr<const Problem<T>> make_kernel_problem(const std::string& name, int dim,
                                                      Matrix<double> points,
                                                      Vector<double> diagonal, double parameter,
                                                      const std::string& description) {
  if (dim == 1) {
    return std::make_shared<KernelProblem<T, Kind, 1>>(name, description, points, diagonal,
                                                       parameter);
  }
  if (dim == 2) {
    return std::make_shared<KernelProblem<T, Kind, 2>>(name, description, points, diagonal,
                                                       parameter);
  }
  return std::make_shared<KernelProblem<T, Kind, 3>>(name, description, points, diagonal,
                                                     parameter);
}

}  // namespace

std::vector<std::string> problem_names() {
  std::vector<std::string> names;
  for (const char* k : kernel_names) {
    for (const char* g : geometry_names) names.push_back(std::string(k) + "-" + g);
  }
  names.push_back("curve-2d");
  names.push_back("schur-grid");
  names.push_back("banded-inverse");
  return names;
}

template <class T>
std::shared_ptr<const Problem<T>> make_problem(const std::string& name, index_type n,
                                               const ProblemOptions& o) {
  STRATA_REQUIRE(n >= 2, InvalidArgument, "problem '", name, "': N = ", n, "; expected N >= 2");
  if (name == "schur-grid") return make_schur_grid<T>(n, o);
  if (name == "banded-inverse") return make_banded_inverse<T>(n, o);

  std::string kernel = name, geometry;
  if (name == "curve-2d") {
    kernel = "laplace", geometry = "curve";
  } else if (const auto dash = name.find('-'); dash != std::string::npos) {
    kernel = name.substr(0, dash), geometry = name.substr(dash + 1);
  }
  const auto known_kernel = std::find_if(std::begin(kernel_names), std::end(kernel_names),
                                         [&](const char* k) { return kernel == k; });
  auto list_names = [] {
    std::string all;
    for (const auto& p : problem_names()) all += (all.empty() ? "" : ", ") + p;
    return all;
  };
  STRATA_REQUIRE(known_kernel != std::end(kernel_names), InvalidArgument, "unknown problem '", name,
                 "'; expected one of ", list_names(), " (or a bare kernel name with a dimension)");
  int dim = o.dim;
  Geometry geom = Geometry::line;
  if (geometry.empty()) {
    STRATA_REQUIRE(dim >= 0 && dim <= 3, InvalidArgument, "problem '", name, "': dim = ", dim,
                   "; expected 1, 2 or 3");
    dim = dim == 0 ? 1 : dim;
    geom = dim == 1 ? Geometry::line : dim == 2 ? Geometry::square : Geometry::cube;
  } else if (geometry == "curve") {
    STRATA_REQUIRE(dim == 0 || dim == 2, InvalidArgument, "problem '", name,
                   "': points on a curve are 2-D, but dim = ", dim, " was asked for");
    dim = 2, geom = Geometry::curve;
  } else {
    const int named = geometry == "1d" ? 1 : geometry == "2d" ? 2 : geometry == "3d" ? 3 : 0;
    STRATA_REQUIRE(named != 0, InvalidArgument, "unknown problem '", name, "'; expected one of ",
                   list_names());
    STRATA_REQUIRE(dim == 0 || dim == named, InvalidArgument, "problem '", name, "' is ", named,
                   "-D, but dim = ", dim, " was asked for");
    dim = named;
    geom = dim == 1 ? Geometry::line : dim == 2 ? Geometry::square : Geometry::cube;
  }
  STRATA_REQUIRE(o.ridge >= 0 && std::isfinite(o.ridge), InvalidArgument, "problem '", name,
                 "': ridge = ", o.ridge, "; expected a finite value >= 0");
  STRATA_REQUIRE(o.length_scale >= 0 && o.delta >= 0, InvalidArgument, "problem '", name,
                 "': length_scale = ", o.length_scale, ", delta = ", o.delta,
                 "; expected values > 0 (or 0 for the defaults)");

  // Points and the spacing s of each point's cell (for the Laplace self term).
  const auto un = static_cast<std::size_t>(n);
  std::vector<Point> p;
  std::vector<double> spacing(un);
  std::ostringstream where;
  if (geom == Geometry::line) {
    if (o.random_points) {
      p = uniform_random_points(n, 1, o.seed);
      std::sort(p.begin(), p.end());
      where << n << " sorted uniform random points in [0, 1] (seed " << o.seed << ")";
    } else {
      p.assign(un, Point{0, 0, 0});
      for (index_type i = 0; i < n; ++i) p[i][0] = (static_cast<double>(i) + 0.5) / n;
      where << n << " midpoints of [0, 1]";
    }
    std::fill(spacing.begin(), spacing.end(), 1.0 / n);
  } else if (geom == Geometry::curve) {
    p.assign(un, Point{0, 0, 0});
    for (index_type i = 0; i < n; ++i) {
      const auto c = star_curve(2 * kx::pi<double> * (static_cast<double>(i) + 0.5) / n);
      p[i] = c.x;
      spacing[i] = c.speed * 2 * kx::pi<double> / n;
    }
    where << n << " points on a closed star-shaped curve";
  } else {
    p = uniform_random_points(n, dim, o.seed);
    bisection_order(p, dim, 0, un);
    std::fill(spacing.begin(), spacing.end(), std::pow(static_cast<double>(n), -1.0 / dim));
    where << n << " uniform random points in the unit " << (dim == 2 ? "square" : "cube")
          << " (seed " << o.seed << ", bisection order)";
  }

  const double scale = o.length_scale == 0 ? 0.25 : o.length_scale;
  const double delta = o.delta == 0 ? 1e-3 : o.delta;
  std::vector<double> diagonal(un);
  std::ostringstream d;
  double parameter = 0;
  const std::string full_name = name;
  std::shared_ptr<const Problem<T>> problem;
  if (kernel == "laplace") {
    for (std::size_t i = 0; i < un; ++i) {
      const double s = spacing[i];
      if (geom == Geometry::square) {
        diagonal[i] = -std::log(s / std::sqrt(kx::pi<double>)) + 0.5;
      } else if (geom == Geometry::cube) {
        diagonal[i] = 1.5 / (s * std::cbrt(3 / (4 * kx::pi<double>)));
      } else {
        diagonal[i] = -std::log(s / 2) + 1;
      }
    }
    d << "Laplace kernel " << (dim == 3 ? "1/r" : "-log r") << " on " << where.str()
      << "; diagonal: cell average of the kernel";
  } else if (kernel == "gaussian") {
    parameter = 1 / (scale * scale);
    std::fill(diagonal.begin(), diagonal.end(), 1.0);
    d << "Gaussian kernel exp(-r^2/h^2), h = " << scale << ", on " << where.str();
  } else if (kernel == "cauchy") {
    parameter = delta;
    std::fill(diagonal.begin(), diagonal.end(), 1 / delta);
    d << "Cauchy kernel 1/(r + delta), delta = " << delta << ", on " << where.str();
  } else {
    parameter = 1 / scale;
    std::fill(diagonal.begin(), diagonal.end(), 1.0);
    d << "exponential kernel exp(-r/l), l = " << scale << ", on " << where.str();
  }
  for (auto& v : diagonal) v += o.ridge;
  if (o.ridge != 0) d << "; ridge " << o.ridge;
  const auto points = to_device(p, dim);
  const auto diag = to_device(diagonal);
  using K = detail::KernelKind;
  if (kernel == "laplace") {
    return make_kernel_problem<T, K::laplace>(full_name, dim, points, diag, parameter, d.str());
  }
  if (kernel == "gaussian") {
    return make_kernel_problem<T, K::gaussian>(full_name, dim, points, diag, parameter, d.str());
  }
  if (kernel == "cauchy") {
    return make_kernel_problem<T, K::cauchy>(full_name, dim, points, diag, parameter, d.str());
  }
  return make_kernel_problem<T, K::exponential>(full_name, dim, points, diag, parameter, d.str());
}

// ---- LinearOperator wrapper ---------------------------------------------------------------------

namespace {

template <class T>
class ProblemOperator final : public LinearOperator<T> {
 public:
  using typename LinearOperator<T>::matrix_type;
  using typename LinearOperator<T>::const_matrix_type;

  ProblemOperator(std::shared_ptr<const Problem<T>> problem, Comm comm, BlockRowLayout layout,
                  bool distributed)
      : problem_(std::move(problem)),
        comm_(std::move(comm)),
        layout_(std::move(layout)),
        distributed_(distributed) {}
  index_type rows() const override { return problem_->size(); }
  index_type cols() const override { return problem_->size(); }
  bool distributed() const override { return distributed_; }
  const Comm& comm() const override { return comm_; }
  const BlockRowLayout& row_layout() const override { return layout_; }
  const BlockRowLayout& col_layout() const override { return layout_; }

 protected:
  void do_apply(const ExecSpace& exec, const const_matrix_type& x,
                const matrix_type& y) const override {
    product(exec, Op::none, x, y);
  }
  void do_apply_transpose(const ExecSpace& exec, const const_matrix_type& x,
                          const matrix_type& y) const override {
    product(exec, Op::transpose, x, y);
  }

 private:
  void product(const ExecSpace& exec, Op op, const const_matrix_type& x,
               const matrix_type& y) const {
    if (!distributed_) {
      problem_->apply_rows(exec, op, 0, x, y);
      return;
    }
    const Matrix<T> x_full = allgather_rows<T>(exec, comm_, layout_, x);
    problem_->apply_rows(exec, op, layout_.row_begin(comm_.rank()), x_full, y);
  }

  std::shared_ptr<const Problem<T>> problem_;
  Comm comm_;
  BlockRowLayout layout_;
  bool distributed_;
};

}  // namespace

template <class T>
std::shared_ptr<LinearOperator<T>> make_operator(std::shared_ptr<const Problem<T>> problem) {
  STRATA_REQUIRE(problem != nullptr, InvalidArgument, "make_operator: the problem is null");
  const BlockRowLayout layout(problem->size(), 1);
  return std::make_shared<ProblemOperator<T>>(std::move(problem), Comm::self(), layout, false);
}

template <class T>
std::shared_ptr<LinearOperator<T>> make_operator(std::shared_ptr<const Problem<T>> problem,
                                                 const Comm& comm,
                                                 std::optional<BlockRowLayout> layout) {
  STRATA_REQUIRE(problem != nullptr, InvalidArgument, "make_operator: the problem is null");
  const BlockRowLayout rows = layout ? *layout : BlockRowLayout(problem->size(), comm.size());
  STRATA_REQUIRE(rows.global_rows() == problem->size() && rows.num_ranks() == comm.size(),
                 InvalidArgument, "make_operator: the layout covers ", rows.global_rows(),
                 " rows over ", rows.num_ranks(), " ranks; expected ", problem->size(),
                 " rows over ", comm.size(), " ranks");
  return std::make_shared<ProblemOperator<T>>(std::move(problem), comm, rows, true);
}

template <class T>
EntryEvaluator<T> dense_entry_evaluator(const ConstMatrix<T>& a) {
  return [a](const ExecSpace& exec, const EntryBlocks<T>& blocks) {
    detail::check_entry_blocks(exec, blocks, static_cast<index_type>(a.extent(0)));
    detail::fill_entry_blocks(exec, blocks, detail::DenseLookup<T>{a});
  };
}

#define STRATA_HSS_PROBLEMS_INSTANTIATE(T)                                                         \
  template class Problem<T>;                                                                       \
  template EntryEvaluator<T> dense_entry_evaluator<T>(const ConstMatrix<T>&);                      \
  template EntryBlocks<T> make_entry_blocks<T>(const std::vector<std::vector<index_type>>&,        \
                                               const std::vector<std::vector<index_type>>&);       \
  template void detail::check_entry_blocks<T>(const ExecSpace&, const EntryBlocks<T>&,             \
                                              index_type);                                         \
  template std::shared_ptr<const Problem<T>> make_problem<T>(const std::string&, index_type,       \
                                                             const ProblemOptions&);               \
  template std::shared_ptr<LinearOperator<T>> make_operator<T>(std::shared_ptr<const Problem<T>>); \
  template std::shared_ptr<LinearOperator<T>> make_operator<T>(                                    \
      std::shared_ptr<const Problem<T>>, const Comm&, std::optional<BlockRowLayout>);
STRATA_HSS_PROBLEMS_INSTANTIATE(float)
STRATA_HSS_PROBLEMS_INSTANTIATE(double)
#undef STRATA_HSS_PROBLEMS_INSTANTIATE

}  // namespace strata::hss
