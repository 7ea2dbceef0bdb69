#include "strata/io/detail/atomic_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>
#include <vector>

#include "strata/core/error.hpp"
#include "strata/io/detail/signal_cleanup.hpp"
#include "strata/io/output_file.hpp"

namespace strata::io::detail {

namespace fs = std::filesystem;

namespace {

std::string error_text(int code) {
  return std::strerror(code);
}

/// Closes a descriptor on scope exit.
struct FdGuard {
  int fd;
  ~FdGuard() {
    if (fd >= 0) close(fd);
  }
};

const char* kind_of(mode_t mode) {
  return S_ISDIR(mode)    ? "a directory"
         : S_ISFIFO(mode) ? "a FIFO (named pipe)"
         : S_ISCHR(mode)  ? "a character device"
         : S_ISBLK(mode)  ? "a block device"
         : S_ISSOCK(mode) ? "a socket"
                          : "not a regular file";
}

/// The HDF5 superblock signature is at offset 0, 512, 1024, 2048, ... (after a user block).
bool has_hdf5_signature(int fd, off_t size) {
  static const unsigned char signature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  for (off_t offset = 0; offset + 8 <= size; offset = offset == 0 ? 512 : 2 * offset) {
    unsigned char head[8];
    if (pread(fd, head, 8, offset) != 8) return false;
    if (std::memcmp(head, signature, 8) == 0) return true;
  }
  return false;
}

/// FNV-1a: a short, stable digest of a long file name.
std::string name_digest(const std::string& name) {
  std::uint64_t h = 14695981039346656037ull;
  for (const unsigned char c : name) h = (h ^ c) * 1099511628211ull;
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(h));
  return text;
}

/// "." + the target's name, or for a name of more than 40 bytes its first 23 bytes, "~" and a
/// digest of the whole name: short enough for NAME_MAX whatever the target's name, and for Open
/// MPI's OMPIO, which copies the whole path of the file it opens into a 256-byte buffer.
std::string hidden_prefix(const std::string& name) {
  constexpr std::size_t longest = 40;
  if (name.size() <= longest) return "." + name;
  return "." + name.substr(0, longest - 17) + "~" + name_digest(name);
}

std::string random_hex(std::size_t digits) {
  static const char hex[] = "0123456789abcdef";
  std::random_device device;
  std::string out;
  while (out.size() < digits) {
    unsigned value = device();
    for (int k = 0; k < 8 && out.size() < digits; ++k, value >>= 4) out += hex[value & 15u];
  }
  return out;
}

mode_t default_mode() {
  // umask can only be read by setting it; the writer is created before any threads write files.
  const mode_t mask = umask(0);
  umask(mask);
  return 0666 & ~mask;
}

/// Copies all of `from` into `to` (both open); returns 0 or an errno value.
int copy_contents(int from, int to) {
  std::vector<char> buffer(1 << 20);
  for (;;) {
    const ssize_t got = read(from, buffer.data(), buffer.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return errno;
    if (got == 0) return 0;
    for (ssize_t done = 0; done < got;) {
      const ssize_t put = write(to, buffer.data() + done, static_cast<std::size_t>(got - done));
      if (put < 0 && errno == EINTR) continue;
      if (put < 0) return errno;
      done += put;
    }
  }
}

/// Opens the target without following a link and without blocking on a FIFO, and checks it
/// through the descriptor: -1 when it does not exist, else an open regular HDF5 (or empty) file.
/// Throws IOError for anything else, naming what it is.
int open_existing_target(const std::string& target, struct stat& info) {
  const int fd = open(target.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    const int code = errno;
    if (code == ENOENT) return -1;
    STRATA_REQUIRE(code != ELOOP, IOError, "cannot write '", target,
                   "': it is a symbolic link; give the path of a regular file");
    // Not readable: lstat says what it is without opening it.
    const bool known = lstat(target.c_str(), &info) == 0;
    STRATA_THROW(IOError, "cannot write '", target, "': ",
                 known && !S_ISREG(info.st_mode) ? std::string("it is ") + kind_of(info.st_mode)
                                                 : error_text(code) + " (it cannot be read)");
  }
  FdGuard guard{fd};
  STRATA_REQUIRE(fstat(fd, &info) == 0, IOError, "cannot write '", target,
                 "': ", error_text(errno));
  STRATA_REQUIRE(S_ISREG(info.st_mode), IOError, "cannot write '", target, "': it is ",
                 kind_of(info.st_mode), "; expected a regular file");
  STRATA_REQUIRE(info.st_size == 0 || has_hdf5_signature(fd, info.st_size), IOError,
                 "cannot write '", target,
                 "': it exists but is not an HDF5 file (remove it or choose another name)");
  guard.fd = -1;
  return fd;
}

}  // namespace

AtomicFile::AtomicFile(const std::string& target, Start start) : target_(target) {
  const fs::path path(target);
  const std::string name = path.filename().string();
  STRATA_REQUIRE(!name.empty() && name != "." && name != "..", InvalidArgument, "output '", target,
                 "' names no file; expected a file name such as out.h5");
  directory_ = path.has_parent_path() ? path.parent_path().string() : std::string(".");
  struct stat info;
  STRATA_REQUIRE(stat(directory_.c_str(), &info) == 0 && S_ISDIR(info.st_mode), IOError,
                 "cannot write '", target, "': directory '", directory_, "' does not exist");
  // Checked once before the lock, so that a refused target (a device, say) creates nothing beside
  // it, and again under the lock, where the file to copy is opened.
  if (const int fd = open_existing_target(target, info); fd >= 0) close(fd);
  take_lock();
  try {
    const int existing = open_existing_target(target, info);
    FdGuard existing_guard{existing};
    final_mode_ = existing >= 0 ? info.st_mode & 07777 : default_mode();
    const std::string prefix = hidden_prefix(name);
    for (int attempt = 0; fd_ < 0; ++attempt) {
      temporary_ = (fs::path(directory_) / (prefix + ".strata-tmp-" + random_hex(12))).string();
      // Registered before it exists: a signal right after the creation must find it.
      signal_slot_ = remove_on_signal(temporary_);
      fd_ = open(temporary_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (fd_ < 0) {
        const int code = errno;
        forget_on_signal(signal_slot_);
        signal_slot_ = -1;
        if (code != EEXIST || attempt == 100) {
          temporary_.clear();
          STRATA_THROW(IOError, "cannot create a temporary file in '", directory_, "' for '",
                       target, "': ", error_text(code), " (is the directory writable?)");
        }
      }
    }
    if (start == Start::copy_of_target && existing >= 0 && info.st_size > 0) {
      const int code = copy_contents(existing, fd_);
      STRATA_REQUIRE(code == 0, IOError, "cannot copy '", target,
                     "' to a temporary file for updating: ", error_text(code));
      holds_copy_ = true;
    }
  } catch (...) {
    discard();
    throw;
  }
}

AtomicFile::~AtomicFile() {
  if (!done_) discard();
}

void AtomicFile::take_lock() {
  lock_path_ = (fs::path(directory_) /
                (hidden_prefix(fs::path(target_).filename().string()) + ".strata-lock"))
                   .string();
  for (int attempt = 0;; ++attempt) {
    lock_fd_ = open(lock_path_.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (lock_fd_ < 0) {
      const int code = errno;
      lock_path_.clear();
      STRATA_THROW(IOError, "cannot write '", target_, "': cannot create files in '", directory_,
                   "': ", error_text(code));
    }
    if (flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
      const int code = errno;
      close(lock_fd_);
      lock_fd_ = -1;
      if (code == EWOULDBLOCK) {
        lock_path_.clear();
        STRATA_THROW(IOError, "another strata process is writing '", target_,
                     "'; wait for it to finish or choose another output file");
      }
      // No flock on this file system: the rename alone keeps the target complete.
      unlink(lock_path_.c_str());
      lock_path_.clear();
      return;
    }
    // The holder before us may have removed the lock file after we opened it; then our lock is on
    // a file nobody else sees, and we start again.
    struct stat held, named;
    if (fstat(lock_fd_, &held) == 0 && lstat(lock_path_.c_str(), &named) == 0 &&
        held.st_dev == named.st_dev && held.st_ino == named.st_ino) {
      lock_signal_slot_ = remove_on_signal(lock_path_);
      return;
    }
    close(lock_fd_);
    lock_fd_ = -1;
    STRATA_REQUIRE(attempt < 100, IOError, "cannot lock '", lock_path_, "' for writing '", target_,
                   "'");
  }
}

void AtomicFile::release_lock() noexcept {
  if (lock_fd_ < 0) return;
  forget_on_signal(lock_signal_slot_);
  lock_signal_slot_ = -1;
  unlink(lock_path_.c_str());  // while still holding the lock (see take_lock)
  close(lock_fd_);
  lock_fd_ = -1;
}

void AtomicFile::reserve(std::uint64_t bytes) {
  // Room for metadata HDF5 has not flushed yet, which may come before the values in the file.
  constexpr std::uint64_t slack = 1 << 20;
  const auto megabytes = [](double b) {
    return std::to_string(static_cast<long long>(b / 1e6 + 1));
  };
  struct stat info;
  STRATA_REQUIRE(fd_ >= 0 && fstat(fd_, &info) == 0, IOError, "cannot write '", target_,
                 "': the temporary file is gone");
  const auto size = static_cast<std::uint64_t>(info.st_size);
  const std::uint64_t wanted =
      bytes > UINT64_MAX - size - slack ? UINT64_MAX : size + bytes + slack;
  rlimit limit;
  if (getrlimit(RLIMIT_FSIZE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    STRATA_REQUIRE(wanted <= limit.rlim_cur, IOError, "cannot write '", target_, "': it needs ",
                   megabytes(static_cast<double>(wanted)),
                   " MB, more than the file size limit (ulimit -f) of ",
                   megabytes(static_cast<double>(limit.rlim_cur)) + " MB");
  }
  if (wanted > static_cast<std::uint64_t>(std::numeric_limits<off_t>::max())) {
    STRATA_THROW(IOError, "cannot write '", target_, "': ", bytes, " bytes is too large a file");
  }
  if (fallocate(fd_, FALLOC_FL_KEEP_SIZE, info.st_size, static_cast<off_t>(wanted - size)) != 0) {
    const int code = errno;
    // File systems without fallocate (older NFS, some parallel file systems) get no reservation.
    STRATA_REQUIRE(code == EOPNOTSUPP || code == ENOSYS || code == EINTR, IOError, "cannot write '",
                   target_, "': no room for ", megabytes(static_cast<double>(bytes)), " MB in '",
                   directory_, "': ", error_text(code));
  }
}

void AtomicFile::commit() {
  try {
    STRATA_REQUIRE(fd_ >= 0 && !done_, InvalidArgument, "AtomicFile::commit: nothing to commit");
    STRATA_REQUIRE(fsync(fd_) == 0, IOError, "cannot write '", target_,
                   "': flushing the data to disk failed: ", error_text(errno));
    STRATA_REQUIRE(fchmod(fd_, final_mode_) == 0, IOError, "cannot set the permissions of '",
                   temporary_, "': ", error_text(errno));
    struct stat ours, named;
    STRATA_REQUIRE(fstat(fd_, &ours) == 0 && lstat(temporary_.c_str(), &named) == 0 &&
                       ours.st_dev == named.st_dev && ours.st_ino == named.st_ino,
                   IOError, "cannot write '", target_, "': the temporary file '", temporary_,
                   "' was replaced by another process during the write");
    STRATA_REQUIRE(rename(temporary_.c_str(), target_.c_str()) == 0, IOError,
                   "cannot move the finished file into place at '", target_,
                   "': ", error_text(errno));
  } catch (...) {
    discard();
    throw;
  }
  forget_on_signal(signal_slot_);
  signal_slot_ = -1;
  // Makes the rename itself durable; a failure here cannot undo it, so it is not an error.
  const int dir = open(directory_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    fsync(dir);
    close(dir);
  }
  close(fd_);
  fd_ = -1;
  release_lock();
  done_ = true;
}

void AtomicFile::discard() noexcept {
  if (fd_ >= 0) {
    unlink(temporary_.c_str());
    close(fd_);
    fd_ = -1;
  }
  forget_on_signal(signal_slot_);
  signal_slot_ = -1;
  release_lock();
  done_ = true;
}

}  // namespace strata::io::detail

namespace strata::io {

void check_output_distinct(const std::string& output, const std::vector<std::string>& inputs) {
  struct stat out;
  if (stat(output.c_str(), &out) != 0) return;
  for (const auto& input : inputs) {
    struct stat in;
    if (stat(input.c_str(), &in) == 0 && in.st_dev == out.st_dev && in.st_ino == out.st_ino) {
      STRATA_THROW(IOError, "the output '", output, "' is the input file '", input,
                   "'; replacing it would destroy the data being read (choose another output "
                   "file)");
    }
  }
}

}  // namespace strata::io
