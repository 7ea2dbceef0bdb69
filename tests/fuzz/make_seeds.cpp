// Writes the seed corpora of the fuzz targets, with Strata's own writers:
//   <dir>/hdf5/  small matrices, vectors and a batch as dataset /data (float64 and float32)
//   <dir>/hss/   small HSS matrices (uniform and geometric trees, general and symmetric, both
//   dtypes) <dir>/cli/   command lines from the commands' --help texts, one token per line usage:
//   fuzz_make_seeds DIR
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "strata/core/random.hpp"
#include "strata/hss/cluster_tree.hpp"
#include "strata/hss/hss_io.hpp"
#include "strata/hss/hss_matrix.hpp"
#include "strata/io/hdf5.hpp"

namespace {

using namespace strata;

template <class T>
Matrix<T> random_matrix(index_type rows, index_type cols, std::uint64_t seed) {
  Matrix<T> a("strata::fuzz::seed", rows, cols);
  fill_random(ExecSpace(), RandomStream{Distribution::gaussian, seed, 0}, a);
  ExecSpace().fence();
  return a;
}

template <class T>
void write_matrix_seed(const std::string& file, index_type rows, index_type cols,
                       std::uint64_t seed) {
  io::FileWriter writer(fuzz::world(), file, io::WriteMode::replace_file);
  const auto a = random_matrix<T>(rows, cols, seed);
  writer.write<T>("/data", ConstMatrix<T>(a));
  writer.set_attribute("/data", "note", "fuzz seed");
  writer.commit();
}

void write_vector_seed(const std::string& file, index_type n) {
  io::FileWriter writer(fuzz::world(), file, io::WriteMode::replace_file);
  const auto a = random_matrix<double>(n, 1, 7);
  const Kokkos::View<const double*, Kokkos::LayoutLeft, MemSpace> v(
      Kokkos::subview(a, Kokkos::ALL, 0));
  writer.write<double>("/data", v);
  writer.commit();
}

void write_batch_seed(const std::string& file) {
  const Comm& comm = fuzz::world();
  io::DistBatch<double> batch{Batch<double>("strata::fuzz::batch", 3, 2, 2),
                              BlockRowLayout(2, comm.size())};
  fill_random(ExecSpace(), RandomStream{Distribution::gaussian, 11, 0},
              Matrix<double>(batch.local.data(), 12, 1));
  ExecSpace().fence();
  io::FileWriter writer(comm, file, io::WriteMode::replace_file);
  writer.write<double>("/data", batch);
  writer.commit();
}

template <class T>
void write_hss_seed(const std::string& file, const hss::ClusterTree& tree, index_type rank,
                    bool symmetric) {
  hss::RandomHssOptions options;
  options.symmetric = symmetric;
  const auto a = hss::make_random_hss<T>(ExecSpace(), tree, rank, 5, options);
  hss::save_hss(fuzz::world(), file, a);
}

hss::ClusterTree geometric_tree(index_type n, index_type leaf) {
  Kokkos::View<double**, Kokkos::LayoutLeft, Kokkos::HostSpace> points("strata::fuzz::points", n,
                                                                       2);
  for (index_type i = 0; i < n;
       ++i) {  // a scrambled spiral, so the permutation is not the identity
    const double t = static_cast<double>((i * 7) % n);
    points(i, 0) = t * std::cos(t);
    points(i, 1) = t * std::sin(t);
  }
  return hss::ClusterTree::geometric(points, leaf);
}

// Command lines as the --help texts show them, plus a few that must be rejected.
const std::vector<std::vector<std::string>> command_lines = {
    {"info", "--json"},
    {"demo", "--rows", "64", "--cols", "4", "--hss-n", "256", "--seed", "3", "--json", "--quiet"},
    {"demo", "--output", "x.h5", "--rows=100"},
    {"polar", "schedule", "--method", "polar-express", "--lower", "1e-3", "--steps", "8"},
    {"polar", "schedule", "--method", "newton-schulz", "--degree", "3", "--cushion", "0.1",
     "--safety", "1.01"},
    {"polar", "--input", "A.h5:/A", "--output", "Q.h5:/Q", "--method", "muon", "--steps", "5"},
    {"polar", "factor", "--input", "A.h5:/A", "--output", "Q.h5:/Q", "--tol", "1e-6", "--max-steps",
     "30", "--precision", "fp32", "--spectral-scaling"},
    {"polar", "sign", "--input", "A.h5:/A", "--output", "S.h5:/S"},
    {"polar", "sqrt", "--input=A.h5", "--output=X.h5:/X", "--json"},
    {"polar", "invsqrt", "--input", "A.h5:/A", "--output", "X.h5:/X", "--precision", "bf16"},
    {"sketch", "apply", "--input", "A.h5:/A", "--operator", "srht", "--rows", "16", "--output",
     "SA.h5:/SA", "--seed", "1", "--stream", "2", "--no-scale", "--no-pad"},
    {"sketch", "apply", "--input", "A.h5:/A", "--operator", "sparse-sign", "--rows", "8", "--nnz",
     "4", "--output", "SA.h5:/SA", "--precision", "fp32"},
    {"sketch", "rsvd", "--input", "A.h5:/A", "--rank", "4", "--oversample", "5", "--power", "1",
     "--tol", "1e-3", "--block", "4", "--operator", "gaussian", "--output", "F.h5"},
    {"sketch", "lstsq", "--input", "A.h5:/A", "--rhs", "B.h5:/b", "--method", "solve",
     "--sketch-rows", "40", "--tol", "1e-10", "--max-iter", "50", "--operator", "sparse-sign",
     "--output", "X.h5:/x"},
    {"sketch", "trace", "--input", "A.h5:/A", "--matvecs", "30", "--method", "hutch++"},
    {"sketch", "trace", "--input", "A.h5:/A", "--method", "hutchinson", "--probes", "rademacher"},
    {"sketch", "diag", "--input", "A.h5:/A", "--output", "D.h5:/d", "--nonsymmetric"},
    {"hss", "compress", "--problem", "cauchy-1d", "--n", "512", "--tol", "1e-8", "--output",
     "H.h5"},
    {"hss",
     "compress",
     "--input",
     "A.h5:/A",
     "--rank",
     "8",
     "--leaf-size",
     "16",
     "--method",
     "quasi-optimal",
     "--samples",
     "40",
     "--oversampling",
     "5",
     "--error-probes",
     "3",
     "--precision",
     "fp32",
     "--output",
     "H.h5"},
    {"hss", "compress", "--problem", "laplace", "--dim", "2", "--n", "1024", "--method", "entries",
     "--rank", "4", "--output", "H.h5", "--seed", "9"},
    {"hss", "matvec", "--hss", "H.h5", "--input", "X.h5:/X", "--output", "Y.h5:/Y", "--transpose"},
    {"hss", "solve", "--hss", "H.h5", "--rhs", "B.h5:/B", "--output", "X.h5:/X", "--spd"},
    {"hss", "random", "--n", "256", "--leaf-size", "32", "--rank", "4", "--seed", "1",
     "--symmetric", "--dtype", "float32", "--output", "H.h5", "--rhs", "B.h5:/B", "--columns", "2"},
    {"hss", "random", "--n", "99999999999", "--output", "H.h5"},
    {"sketch", "rsvd", "--help"},
    {"polar", "--steps", "3", "--tol", "1e-6", "--input", "A.h5:/A", "--output", "Q.h5:/Q"},
    {"demo", "--rows", "-1", "--kokkos-threads=abc"},
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_make_seeds DIR\n");
    return 2;
  }
  try {
    fuzz::initialize_runtime();
    namespace fs = std::filesystem;
    const fs::path dir = argv[1];
    for (const char* sub : {"hdf5", "hss", "cli"}) {
      fs::remove_all(dir / sub);
      fs::create_directories(dir / sub);
    }
    const auto h5 = [&](const std::string& name) {
      return (dir / "hdf5" / name).string();
    };
    write_matrix_seed<double>(h5("matrix_f64_3x2.h5"), 3, 2, 1);
    write_matrix_seed<float>(h5("matrix_f32_4x4.h5"), 4, 4, 2);
    write_matrix_seed<double>(h5("matrix_f64_16x1.h5"), 16, 1, 3);
    write_matrix_seed<double>(h5("matrix_f64_1x1.h5"), 1, 1, 4);
    write_vector_seed(h5("vector_f64_5.h5"), 5);
    write_batch_seed(h5("batch_f64_2x3x2.h5"));

    const auto hs = [&](const std::string& name) {
      return (dir / "hss" / name).string();
    };
    write_hss_seed<double>(hs("uniform_f64_n8.h5"), hss::ClusterTree::uniform(8, 2), 1, false);
    write_hss_seed<float>(hs("uniform_f32_n16.h5"), hss::ClusterTree::uniform(16, 4), 2, false);
    write_hss_seed<double>(hs("symmetric_f64_n12.h5"), hss::ClusterTree::uniform(12, 3), 2, true);
    write_hss_seed<double>(hs("geometric_f64_n12.h5"), geometric_tree(12, 3), 1, false);
    write_hss_seed<double>(hs("single_leaf_f64_n3.h5"), hss::ClusterTree::uniform(3, 4), 1, false);

    int k = 0;
    for (const auto& line : command_lines) {
      std::ofstream out(dir / "cli" / ("cmd_" + std::to_string(k++)), std::ios::binary);
      for (std::size_t i = 0; i < line.size(); ++i) out << (i ? "\n" : "") << line[i];
    }
    std::fprintf(stderr, "fuzz_make_seeds: wrote the seed corpora under %s\n", argv[1]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_make_seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}
