// The one atomic writer (io::FileWriter over detail::AtomicFile): what it refuses, what it never
// follows, what it leaves behind (nothing) after errors, write failures and signals.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "strata/io/detail/atomic_file.hpp"
#include "strata/io/hdf5.hpp"
#include "strata/io/output_file.hpp"
#include "support/allclose.hpp"

namespace {

namespace fs = std::filesystem;
using strata::io::DatasetPath;
using strata::io::FileWriter;
using strata::io::WriteMode;
using strata::io::detail::AtomicFile;

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const strata::Error& e) {
    return e.what();
  }
  return "no error";
}

class AtomicOutput : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "strata-output-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir = pattern;
  }
  void TearDown() override { fs::remove_all(dir); }

  std::vector<std::string> files() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir))
      names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
  void write_text(const std::string& path, const std::string& text) const {
    std::ofstream(path) << text;
  }
  std::string read_text(const std::string& path) const {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  strata::Matrix<double> small(double value) const {
    strata::Matrix<double> a("a", 3, 2);
    Kokkos::deep_copy(a, value);
    return a;
  }
  void write(const std::string& file, double value, WriteMode mode = WriteMode::replace_file,
             const std::vector<std::string>& inputs = {}) const {
    FileWriter writer(comm, file, mode, inputs);
    writer.write("/A", strata::ConstMatrix<double>(small(value)));
    writer.commit();
  }
  double first_value(const std::string& file) const {
    return strata::testing::to_host(strata::io::read_matrix<double>(comm, {file, "/A"}))(0, 0);
  }

  std::string dir;
  const strata::Comm comm = strata::Comm::self();
};

TEST_F(AtomicOutput, TheTemporaryFileIsPrivateAndTheResultHasTheUsualMode) {
  const std::string out = dir + "/out.h5";
  {
    FileWriter writer(comm, out, WriteMode::replace_file);
    writer.write("/A", strata::ConstMatrix<double>(small(1.0)));
    // While writing: the target does not exist yet, a hidden temporary file (mode 0600, a regular
    // file created here) and the lock file do.
    EXPECT_FALSE(fs::exists(out));
    const auto names = files();
    ASSERT_EQ(names.size(), 2u);
    EXPECT_EQ(names[0], ".out.h5.strata-lock");
    EXPECT_THAT(names[1], ::testing::MatchesRegex("\\.out\\.h5\\.strata-tmp-[0-9a-f]{12}"));
    struct stat info;
    ASSERT_EQ(lstat((dir + "/" + names[1]).c_str(), &info), 0);
    EXPECT_TRUE(S_ISREG(info.st_mode));
    EXPECT_EQ(info.st_mode & 0777, 0600u);
    writer.commit();
  }
  EXPECT_EQ(files(), std::vector<std::string>{"out.h5"});
  const mode_t mask = umask(0);
  umask(mask);
  struct stat info;
  ASSERT_EQ(stat(out.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0666u & ~mask);
  EXPECT_EQ(first_value(out), 1.0);
  // Replacing keeps the permissions of the file it replaces.
  ASSERT_EQ(chmod(out.c_str(), 0640), 0);
  write(out, 2.0);
  ASSERT_EQ(stat(out.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0640u);
  EXPECT_EQ(first_value(out), 2.0);
}

TEST_F(AtomicOutput, PlantedLinksAreNeverWrittenThrough) {
  const std::string out = dir + "/hv.h5", victim = dir + "/victim.txt";
  write_text(victim, "precious");
  // The fixed temporary name of earlier versions, and the lock file's name.
  ASSERT_EQ(symlink(victim.c_str(), (dir + "/hv.h5.strata-tmp").c_str()), 0);
  write(out, 3.0);
  EXPECT_EQ(read_text(victim), "precious");
  struct stat info;
  ASSERT_EQ(lstat(out.c_str(), &info), 0);
  EXPECT_TRUE(S_ISREG(info.st_mode));
  EXPECT_EQ(first_value(out), 3.0);

  ASSERT_EQ(symlink(victim.c_str(), (dir + "/.hv.h5.strata-lock").c_str()), 0);
  EXPECT_THAT(error_of([&] { write(out, 4.0); }),
              ::testing::HasSubstr("cannot create files in '" + dir + "'"));
  EXPECT_EQ(read_text(victim), "precious");
  EXPECT_EQ(first_value(out), 3.0);
  fs::remove(dir + "/.hv.h5.strata-lock");

  // A link at the target itself is refused: neither the link nor the file it names change.
  const std::string link = dir + "/link.h5";
  ASSERT_EQ(symlink(victim.c_str(), link.c_str()), 0);
  EXPECT_EQ(error_of([&] { write(link, 5.0); }),
            "cannot write '" + link + "': it is a symbolic link; give the path of a regular file");
  EXPECT_EQ(read_text(victim), "precious");
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_EQ(files(),
            (std::vector<std::string>{"hv.h5", "hv.h5.strata-tmp", "link.h5", "victim.txt"}));
}

TEST_F(AtomicOutput, TargetsThatAreNotRegularHdf5FilesAreRefused) {
  const std::string fifo = dir + "/pipe.h5", text = dir + "/notes.h5", empty = dir + "/empty.h5";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  // Refused at once, without opening the FIFO for writing (which would block: nobody reads it).
  EXPECT_EQ(error_of([&] { write(fifo, 1.0); }),
            "cannot write '" + fifo + "': it is a FIFO (named pipe); expected a regular file");
  EXPECT_EQ(error_of([&] { write(dir, 1.0); }),
            "cannot write '" + dir + "': it is a directory; expected a regular file");
  EXPECT_THAT(error_of([&] { write("/dev/null", 1.0); }),
              ::testing::HasSubstr("it is a character device"));
  write_text(text, "not hdf5");
  for (const auto mode : {WriteMode::replace_file, WriteMode::update_file}) {
    EXPECT_EQ(error_of([&] { write(text, 1.0, mode); }),
              "cannot write '" + text +
                  "': it exists but is not an HDF5 file (remove it or choose another name)");
  }
  EXPECT_EQ(read_text(text), "not hdf5");
  write_text(empty, "");  // nothing to lose: an empty file may be replaced
  write(empty, 6.0);
  EXPECT_EQ(first_value(empty), 6.0);
  EXPECT_EQ(files(), (std::vector<std::string>{"empty.h5", "notes.h5", "pipe.h5"}));
}

TEST_F(AtomicOutput, AnInputIsNeverReplaced) {
  const std::string data = dir + "/data.h5", alias = dir + "/alias.h5";
  write(data, 7.0);
  ASSERT_EQ(link(data.c_str(), alias.c_str()), 0);  // the same file under another name
  EXPECT_EQ(error_of([&] { write(alias, 8.0, WriteMode::replace_file, {data}); }),
            "the output '" + alias + "' is the input file '" + data +
                "'; replacing it would destroy the data being read (choose another output file)");
  EXPECT_THROW(strata::io::check_output_distinct(dir + "/./data.h5", {"/nonexistent", data}),
               strata::IOError);
  EXPECT_NO_THROW(strata::io::check_output_distinct(dir + "/new.h5", {data}));
  EXPECT_EQ(first_value(data), 7.0);
  // Updating an input keeps its other datasets: allowed.
  {
    FileWriter writer(comm, data, WriteMode::update_file, {data});
    writer.write("/B", strata::ConstMatrix<double>(small(9.0)));
    writer.commit();
  }
  EXPECT_EQ(first_value(data), 7.0);
  EXPECT_EQ(strata::testing::to_host(strata::io::read_matrix<double>(comm, {data, "/B"}))(0, 0),
            9.0);
}

TEST_F(AtomicOutput, ASecondWriterOfTheSameTargetIsToldAndTheFirstIsUnharmed) {
  const std::string out = dir + "/out.h5";
  write(out, 1.0);
  FileWriter first(comm, out, WriteMode::update_file);
  first.write("/B", strata::ConstMatrix<double>(small(2.0)));
  EXPECT_EQ(error_of([&] { write(out, 3.0, WriteMode::update_file); }),
            "another strata process is writing '" + out +
                "'; wait for it to finish or choose another output file");
  first.commit();
  EXPECT_EQ(first_value(out), 1.0);
  write(out, 4.0, WriteMode::update_file);  // free again once the first has committed
  EXPECT_EQ(first_value(out), 4.0);
  EXPECT_EQ(files(), std::vector<std::string>{"out.h5"});
}

TEST_F(AtomicOutput, ALongNameWorks) {
  // 244 characters: the temporary name is shortened to fit NAME_MAX (255), not the target's.
  const std::string name = std::string(241, 'n') + ".h5";
  ASSERT_EQ(name.size(), 244u);
  write(dir + "/" + name, 1.5);
  EXPECT_EQ(first_value(dir + "/" + name), 1.5);
  write(dir + "/" + name, 2.5, WriteMode::update_file);
  EXPECT_EQ(first_value(dir + "/" + name), 2.5);
  EXPECT_EQ(files(), std::vector<std::string>{name});
}

// Runs `body` in a child process (no MPI, no HDF5 there: AtomicFile only) and returns its wait
// status.
template <class F>
int in_child(F&& body) {
  const pid_t pid = fork();
  if (pid == 0) {
    body();
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

TEST_F(AtomicOutput, SignalsRemoveTheTemporaryFileAndStillEndTheProcess) {
  for (const int signal_number : {SIGINT, SIGTERM, SIGHUP}) {
    const std::string out = dir + "/signal.h5";
    const int status = in_child([&] {
      AtomicFile file(out, AtomicFile::Start::empty);
      if (::write(::open(file.temporary().c_str(), O_WRONLY), "partial", 7) != 7) _exit(3);
      if (!fs::exists(file.temporary())) _exit(4);
      raise(signal_number);
      _exit(5);  // not reached: the signal ends the process
    });
    EXPECT_TRUE(WIFSIGNALED(status)) << "status " << status;
    EXPECT_EQ(WTERMSIG(status), signal_number);
    EXPECT_EQ(files(), std::vector<std::string>{}) << "signal " << signal_number;
  }
}

TEST_F(AtomicOutput, AFailedCopyOrWriteLeavesNothingBehind) {
  // A file-size limit makes write(2) fail with EFBIG, as a full disk fails with ENOSPC.
  const std::string out = dir + "/big.h5";
  {
    FileWriter writer(comm, out, WriteMode::replace_file);
    strata::Matrix<double> a("a", 4096, 8);
    writer.write("/A", strata::ConstMatrix<double>(a));
    writer.commit();
  }
  ASSERT_GT(fs::file_size(out), 200000u);
  const int status = in_child([&] {
    signal(SIGXFSZ, SIG_IGN);
    const rlimit limit{100000, 100000};
    if (setrlimit(RLIMIT_FSIZE, &limit) != 0) _exit(3);
    try {
      AtomicFile file(out, AtomicFile::Start::copy_of_target);  // the copy hits the limit
    } catch (const strata::IOError& e) {
      _exit(std::string(e.what()).find("cannot copy") == 0 ? 0 : 4);
    }
    _exit(5);
  });
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(files(), std::vector<std::string>{"big.h5"});
}

TEST_F(AtomicOutput, ASpaceReservationThatFailsIsAnErrorBeforeWriting) {
  // 2^62 bytes: beyond what any local file system holds in one file, so fallocate refuses it at
  // once (EFBIG) without filling the disk that other processes share, as a full disk refuses a
  // smaller one (ENOSPC). The error comes before anything is written, and nothing is left.
  const std::string out = dir + "/full.h5";
  {
    AtomicFile file(out, AtomicFile::Start::empty);
    file.reserve(1 << 20);  // a reservation that fits changes nothing visible
    struct stat info;
    ASSERT_EQ(stat(file.temporary().c_str(), &info), 0);
    EXPECT_EQ(info.st_size, 0);
    const std::string error = error_of([&] { file.reserve(std::uint64_t(1) << 62); });
    if (error == "no error") GTEST_SKIP() << "this file system has no fallocate";
    EXPECT_THAT(error, ::testing::StartsWith("cannot write '" + out + "': no room for "));
  }
  EXPECT_EQ(files(), std::vector<std::string>{});
}

}  // namespace
