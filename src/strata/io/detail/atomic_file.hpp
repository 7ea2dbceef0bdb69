// The operating-system side of an atomic write, on one process (rank 0 of a collective write).
//
// AtomicFile(target) checks the target and creates an empty temporary file beside it; the HDF5
// layer (hdf5.cpp) writes the temporary file, and commit() makes it durable and renames it over the
// target, so a reader sees the old file or the new one, never a part of one.
//
// - The temporary file ".<target name>.strata-tmp-<12 hex digits>" is created with
//   O_CREAT | O_EXCL | O_NOFOLLOW and mode 0600 in the target's directory (rename(2) is atomic only
//   within one file system), so a planted file or symbolic link at that name is never written
//   through. A target name of more than 40 bytes is shortened in it (with a hash of the whole
//   name), so that a target name of up to NAME_MAX bytes works. Before the rename the file gets the
//   usual mode (that of the file it replaces, else 0666 less the umask), and the inode at the
//   temporary name is checked to be the one created here.
// - Targets that are not regular files (directory, FIFO, device, socket) or are symbolic links are
//   refused before anything is opened, so a FIFO cannot block the write; an existing regular file
//   that is not an HDF5 file is refused too (it is not ours to replace). An empty file may be
//   replaced.
// - The temporary file is removed on every error and, through a table the signal handler reads, on
//   SIGINT, SIGTERM and SIGHUP (signal_cleanup.hpp).
// - Concurrent writers of one target: see the comment at AtomicFile::lock_.
#pragma once

#include <sys/types.h>

#include <cstdint>

#include <string>

namespace strata::io::detail {

class AtomicFile {
 public:
  enum class Start { empty, copy_of_target };
  /// Checks the target, takes the writer lock and creates the temporary file (empty, or holding a
  /// copy of the existing target). Throws IOError; nothing is left behind when it does.
  AtomicFile(const std::string& target, Start start);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  const std::string& temporary() const { return temporary_; }
  /// True when the temporary file holds a copy of the target (Start::copy_of_target and the target
  /// existed).
  bool holds_copy() const { return holds_copy_; }

  /// Reserves disk space for `bytes` more of the temporary file (fallocate without changing its
  /// size; skipped where the file system cannot) and checks the file size limit (ulimit -f), so
  /// that a full disk is an IOError before the data is written. Throws IOError.
  void reserve(std::uint64_t bytes);

  /// fsync, final mode, rename over the target, fsync of the directory, lock released. Throws
  /// IOError (after removing the temporary file) when any step fails.
  void commit();
  /// Removes the temporary file and releases the lock. Safe to call twice.
  void discard() noexcept;

 private:
  void take_lock();
  void release_lock() noexcept;

  std::string target_;
  std::string directory_;
  std::string temporary_;
  std::string lock_path_;
  int fd_ = -1;  ///< the temporary file, open for the whole write
  // Concurrent writers of one target take an advisory flock(2) on ".<name>.strata-lock" in the
  // target's directory, without waiting: the second gets "another strata process is writing X".
  // Renames alone would leave a complete file (the last one wins), but in update mode each writer
  // copies the old file first, so one writer's datasets would silently vanish. Where flock is not
  // supported (Lustre mounted without -o flock answers ENOSYS), the write goes on unlocked and the
  // rename still guarantees a complete, valid file. The lock file is removed after use; a stale
  // one (after kill -9) holds no lock and is reused.
  int lock_fd_ = -1;
  int signal_slot_ = -1;
  int lock_signal_slot_ = -1;
  mode_t final_mode_ = 0;
  bool holds_copy_ = false;
  bool done_ = false;
};

}  // namespace strata::io::detail
