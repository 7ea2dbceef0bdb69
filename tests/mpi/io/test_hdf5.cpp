// Parallel HDF5: round trips at any rank count, atomic writes that never lose the old file, and
// errors raised on every rank.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "strata/dist/operations.hpp"
#include "strata/io/hdf5.hpp"
#include "support/allclose.hpp"

namespace {

namespace fs = std::filesystem;
using strata::io::DatasetPath;
using strata::testing::AllClose;

// A fresh directory shared by all ranks (rank 0 creates it, the name is broadcast).
class Hdf5Test : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string name;
    if (comm.is_root()) {
      std::string pattern = (fs::temp_directory_path() / "strata-hdf5-XXXXXX").string();
      name = mkdtemp(pattern.data()) ? pattern : "";
    }
    dir = comm.broadcast(name, 0);
    ASSERT_FALSE(dir.empty());
  }
  void TearDown() override {
    comm.barrier();
    if (comm.is_root()) fs::remove_all(dir);
  }
  std::vector<std::string> files_in_dir() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir))
      names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
  strata::Comm comm;
  strata::ExecSpace exec;
  std::string dir;
};

template <class T>
strata::DistMatrix<T> random_dist(const strata::Comm& comm, strata::index_type rows,
                                  strata::index_type cols, std::uint64_t seed) {
  strata::DistMatrix<T> x(comm, rows, cols);
  strata::fill_random(strata::ExecSpace(),
                      strata::RandomStream{strata::Distribution::gaussian, seed, 0}, x);
  return x;
}

TEST_F(Hdf5Test, DistributedRoundTripIsBitwiseForBothPrecisions) {
  const auto x64 = random_dist<double>(comm, 101, 7, 1);
  const auto x32 = random_dist<float>(comm, 33, 5, 2);
  {
    strata::io::FileWriter writer(comm, dir + "/m.h5", strata::io::WriteMode::replace_file);
    writer.write("/X64", x64);
    writer.write("/nested/group/X32", x32);
    writer.set_attribute("/X64", "note", std::string("Gaussian test matrix"));
    writer.set_attribute("/", "tolerance", 1e-8);
    writer.commit();
  }
  const auto r64 =
      strata::io::read_dist_matrix<double>(comm, DatasetPath::parse(dir + "/m.h5:/X64"));
  const auto r32 = strata::io::read_dist_matrix<float>(
      comm, DatasetPath::parse(dir + "/m.h5:/nested/group/X32"));
  EXPECT_THAT(r64.local(), AllClose(x64.local(), 0.0, 0.0));
  EXPECT_THAT(r32.local(), AllClose(x32.local(), 0.0, 0.0));
  const auto info = strata::io::inspect(comm, DatasetPath::parse(dir + "/m.h5:/nested/group/X32"));
  EXPECT_EQ(info.dtype, strata::io::Dtype::float32);
  EXPECT_EQ(info.shape, (std::vector<strata::index_type>{33, 5}));
  EXPECT_EQ(strata::io::read_string_attribute(comm, DatasetPath{dir + "/m.h5", "/X64"}, "note"),
            "Gaussian test matrix");
  EXPECT_EQ(strata::io::read_string_attribute(comm, DatasetPath{dir + "/m.h5", "/"}, "creator")
                .rfind("Strata ", 0),
            0u);
  // Whole-matrix read on every rank equals the gathered distributed matrix.
  const auto whole = strata::io::read_matrix<double>(comm, DatasetPath::parse(dir + "/m.h5:/X64"));
  EXPECT_THAT(whole, AllClose(strata::allgather_rows(exec, x64), 0.0, 0.0));
  // Reading into another layout (all rows on the last rank) works too.
  std::vector<strata::index_type> counts(static_cast<std::size_t>(comm.size()), 0);
  counts.back() = 101;
  const auto skewed = strata::io::read_dist_matrix<double>(
      comm, DatasetPath::parse(dir + "/m.h5:/X64"), strata::BlockRowLayout::from_counts(counts));
  EXPECT_EQ(skewed.local_rows(), comm.rank() == comm.size() - 1 ? 101 : 0);
  EXPECT_EQ(files_in_dir(), std::vector<std::string>{"m.h5"});  // no temporary left behind
}

TEST_F(Hdf5Test, ReplicatedMatricesAndVectors) {
  strata::Matrix<double> s("s", 4, 3);
  strata::fill_random(exec, strata::RandomStream{strata::Distribution::rademacher, 5, 0}, s);
  strata::Vector<double> v("v", 6);
  Kokkos::deep_copy(v, 2.5);
  {
    strata::io::FileWriter writer(comm, dir + "/r.h5");
    writer.write("/S", strata::ConstMatrix<double>(s));
    writer.write("/v", Kokkos::View<const double*, Kokkos::LayoutLeft, strata::MemSpace>(v));
    writer.commit();
  }
  EXPECT_THAT(strata::io::read_matrix<double>(comm, DatasetPath::parse(dir + "/r.h5:/S")),
              AllClose(s, 0.0, 0.0));
  EXPECT_THAT(strata::io::read_vector<double>(comm, DatasetPath::parse(dir + "/r.h5:/v")),
              AllClose(v, 0.0, 0.0));
}

TEST_F(Hdf5Test, BatchesRoundTripWithWholeMatricesPerRank) {
  // 7 matrices of 5 x 3 over the ranks; rank r generates matrices [begin, end) from their global
  // index.
  const strata::BlockRowLayout layout(7, comm.size());
  strata::io::DistBatch<double> batch{
      strata::Batch<double>("b", 5, 3, static_cast<std::size_t>(layout.local_rows(comm.rank()))),
      layout};
  for (std::size_t k = 0; k < batch.local.extent(2); ++k) {
    strata::fill_random(
        exec,
        strata::RandomStream{strata::Distribution::gaussian, 77,
                             static_cast<std::uint64_t>(layout.row_begin(comm.rank()) + k)},
        Kokkos::subview(batch.local, Kokkos::ALL, Kokkos::ALL, k));
  }
  {
    strata::io::FileWriter writer(comm, dir + "/batch.h5");
    writer.write("/B", batch);
    writer.commit();
  }
  const auto info = strata::io::inspect(comm, DatasetPath{dir + "/batch.h5", "/B"});
  EXPECT_EQ(info.shape, (std::vector<strata::index_type>{7, 5, 3}));
  const auto back = strata::io::read_batch<double>(comm, DatasetPath{dir + "/batch.h5", "/B"});
  EXPECT_EQ(back.layout, layout);
  const auto a = strata::testing::to_host(batch.local), b = strata::testing::to_host(back.local);
  ASSERT_EQ(a.extent(2), b.extent(2));
  for (std::size_t k = 0; k < a.extent(2); ++k)
    for (std::size_t j = 0; j < 3; ++j)
      for (std::size_t i = 0; i < 5; ++i) ASSERT_EQ(a(i, j, k), b(i, j, k));
}

TEST_F(Hdf5Test, UpdateKeepsOtherDatasetsAndReplaceStartsEmpty) {
  const auto a = random_dist<double>(comm, 20, 3, 10);
  const auto b = random_dist<double>(comm, 12, 2, 11);
  const auto a2 = random_dist<double>(comm, 20, 4, 12);
  const std::string file = dir + "/u.h5";
  strata::io::write_matrix(comm, DatasetPath{file, "/A"}, a);
  strata::io::write_matrix(comm, DatasetPath{file, "/B"}, b);   // update: /A stays
  strata::io::write_matrix(comm, DatasetPath{file, "/A"}, a2);  // replaces /A, new shape
  EXPECT_THAT(strata::io::read_dist_matrix<double>(comm, DatasetPath{file, "/A"}).local(),
              AllClose(a2.local(), 0.0, 0.0));
  EXPECT_THAT(strata::io::read_dist_matrix<double>(comm, DatasetPath{file, "/B"}).local(),
              AllClose(b.local(), 0.0, 0.0));
  {
    strata::io::FileWriter writer(comm, file, strata::io::WriteMode::replace_file);
    writer.write("/C", b);
    writer.commit();
  }
  EXPECT_THROW(strata::io::inspect(comm, DatasetPath{file, "/A"}), strata::IOError);
  EXPECT_NO_THROW(strata::io::inspect(comm, DatasetPath{file, "/C"}));
}

TEST_F(Hdf5Test, AnUncommittedOrFailedWriteLeavesTheOldFileIntact) {
  const auto a = random_dist<double>(comm, 30, 3, 20);
  const std::string file = dir + "/keep.h5";
  strata::io::write_matrix(comm, DatasetPath{file, "/A"}, a);
  {
    // The writer goes away without commit (as when an exception unwinds through it).
    strata::io::FileWriter writer(comm, file, strata::io::WriteMode::replace_file);
    writer.write("/other", random_dist<double>(comm, 5, 5, 21));
  }
  // A failure in the middle of a write: every rank throws and the file is untouched.
  EXPECT_THROW(
      {
        strata::io::FileWriter writer(comm, file);
        writer.write("/A", random_dist<double>(comm, 30, 9, 22));
        strata::DistMatrix<double> wrong_comm(strata::Comm::self(), 3, 3);
        if (comm.size() > 1) {
          writer.write("/bad", wrong_comm);  // matrix on 1 rank, writer on several
        } else {
          throw strata::IOError("simulated failure");
        }
        writer.commit();
      },
      strata::Error);
  EXPECT_THAT(strata::io::read_dist_matrix<double>(comm, DatasetPath{file, "/A"}).local(),
              AllClose(a.local(), 0.0, 0.0));
  EXPECT_THROW(strata::io::inspect(comm, DatasetPath{file, "/other"}), strata::IOError);
  comm.barrier();
  EXPECT_EQ(files_in_dir(), std::vector<std::string>{"keep.h5"});
}

TEST_F(Hdf5Test, ErrorsAreRaisedOnEveryRank) {
  const auto a = random_dist<double>(comm, 10, 2, 30);
  strata::io::write_matrix(comm, DatasetPath{dir + "/e.h5", "/A"}, a);
  EXPECT_THROW(strata::io::read_matrix<double>(comm, DatasetPath{dir + "/missing.h5", "/A"}),
               strata::IOError);
  EXPECT_THROW(strata::io::read_matrix<double>(comm, DatasetPath{dir + "/e.h5", "/B"}),
               strata::IOError);
  EXPECT_THROW(strata::io::read_vector<double>(comm, DatasetPath{dir + "/e.h5", "/A"}),
               strata::ShapeMismatch);
  EXPECT_THROW(strata::io::read_dist_matrix<double>(comm, DatasetPath{dir + "/e.h5", "/A"},
                                                    strata::BlockRowLayout(11, comm.size())),
               strata::ShapeMismatch);
  EXPECT_THROW(strata::io::write_matrix(comm, DatasetPath{dir + "/no/such/dir/x.h5", "/A"}, a),
               strata::IOError);
  EXPECT_THROW(strata::io::write_matrix(comm, DatasetPath{dir, "/A"}, a),
               strata::IOError);  // a directory
  // Updating a file that is not HDF5 is refused, and the file is kept.
  if (comm.is_root()) {
    std::FILE* f = std::fopen((dir + "/notes.h5").c_str(), "w");
    std::fputs("not hdf5", f);
    std::fclose(f);
  }
  comm.barrier();
  EXPECT_THROW(strata::io::write_matrix(comm, DatasetPath{dir + "/notes.h5", "/A"}, a),
               strata::IOError);
  EXPECT_EQ(fs::file_size(dir + "/notes.h5"), 8u);
  EXPECT_EQ(comm.allreduce(1, strata::ReduceOp::sum), comm.size());
}

}  // namespace
