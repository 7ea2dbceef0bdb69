// Dense matrices and vectors in HDF5 files.
//
// On disk a matrix is a 2-D dataset (rows, cols) in C order, exactly what h5py/numpy write, of
// float32 or float64. In memory it is column-major (LayoutLeft); the conversion happens here. Reads
// and writes are collective over a Comm: with MPI, parallel HDF5 (MPI-IO) is used and each rank
// reads or writes its own row block of a DistMatrix.
//
// Writes never leave a half-written file: FileWriter writes to a temporary file beside the target
// and renames it into place in commit() (detail/atomic_file.hpp: exclusive creation, no symbolic
// links followed, fsync, a lock against concurrent writers, removal on error and on SIGINT,
// SIGTERM, SIGHUP). In update mode the existing file is copied first, so its other datasets are
// kept and the target is replaced atomically. Errors (missing file or dataset, wrong rank,
// unsupported dtype or filter, empty dataset, a shape too large for the memory, unwritable
// directory, a target that is not a regular HDF5 file) are raised on every rank.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "strata/dist/dist_matrix.hpp"
#include "strata/linalg/batched_gemm.hpp"

namespace strata::io {

/// "file.h5:/group/name": a file and a dataset inside it.
struct DatasetPath {
  std::string file;
  std::string dataset;  ///< absolute path inside the file, starting with '/'

  /// Splits at the last ':' that is followed by '/'. If there is none, the whole spec is the file
  /// and `default_dataset` is used; if that is empty too, throws InvalidArgument.
  static DatasetPath parse(const std::string& spec, const std::string& default_dataset = {});
  std::string str() const { return file + ":" + dataset; }
};

enum class Dtype { float32, float64 };
const char* dtype_name(Dtype dtype);

struct DatasetInfo {
  std::vector<index_type> shape;  ///< extents in file (C) order
  Dtype dtype = Dtype::float64;
};

/// Shape and dtype of a dataset. Collective. Throws IOError (missing file/dataset) or Unsupported
/// (a dataset that is not float32/float64).
DatasetInfo inspect(const Comm& comm, const DatasetPath& path);

/// The whole 2-D dataset on every rank. Collective.
template <class T>
Matrix<T> read_matrix(const Comm& comm, const DatasetPath& path);
/// Each rank reads its row block of a 2-D dataset (balanced layout unless one is given).
/// Collective.
template <class T>
DistMatrix<T> read_dist_matrix(const Comm& comm, const DatasetPath& path,
                               const std::optional<BlockRowLayout>& layout = std::nullopt);
/// The whole 1-D dataset on every rank. Collective.
template <class T>
Vector<T> read_vector(const Comm& comm, const DatasetPath& path);
/// A batch of same-shape matrices spread over ranks: rank r owns matrices
/// [layout.row_begin(r), layout.row_end(r)) of the batch, as a (rows, cols, count) LayoutLeft view.
template <class T>
struct DistBatch {
  Batch<T> local;
  BlockRowLayout layout;  ///< distribution of the batch index over the ranks
};

/// Reads a 3-D dataset (batch, rows, cols) in C order (what h5py writes for an array of matrices);
/// each rank reads a balanced share of whole matrices. Collective.
template <class T>
DistBatch<T> read_batch(const Comm& comm, const DatasetPath& path);

/// A string attribute of the file's root group ("/") or of a dataset. Collective.
std::string read_string_attribute(const Comm& comm, const DatasetPath& object,
                                  const std::string& name);

enum class WriteMode {
  update_file,   ///< keep the file's other datasets; replace the ones written
  replace_file,  ///< start from an empty file
};

/// Writes several datasets into one file atomically. All calls are collective over `comm`.
/// Nothing is visible at `file` until commit(); destroying an uncommitted writer discards its work.
/// The root group gets the attributes `creator` ("Strata <version>") and any set with
/// set_attribute().
class FileWriter {
 public:
  /// `inputs`: the files the command reads. Replacing one of them (replace_file) is refused with
  /// IOError before anything is written (check_output_distinct in output_file.hpp); updating one
  /// keeps its other datasets and is allowed.
  FileWriter(const Comm& comm, const std::string& file, WriteMode mode = WriteMode::update_file,
             const std::vector<std::string>& inputs = {});
  ~FileWriter();
  FileWriter(const FileWriter&) = delete;
  FileWriter& operator=(const FileWriter&) = delete;

  /// A distributed matrix: each rank writes its row block.
  template <class T>
  void write(const std::string& dataset, const DistMatrix<T>& x);
  /// A matrix replicated on every rank; rank 0's copy is written.
  template <class T>
  void write(const std::string& dataset, const ConstMatrix<T>& x);
  /// A vector replicated on every rank; rank 0's copy is written.
  template <class T>
  void write(const std::string& dataset,
             const Kokkos::View<const T*, Kokkos::LayoutLeft, MemSpace>& x);

  /// A batch spread over ranks (each writes its matrices) as a 3-D dataset (batch, rows, cols).
  template <class T>
  void write(const std::string& dataset, const DistBatch<T>& x);

  /// A 1-D array in host memory, the same on every rank; rank 0's copy is written (the length
  /// too). T: float, double or std::int64_t.
  template <class T>
  void write(const std::string& dataset, const T* host_data, std::size_t count);

  /// String or number attribute on "/" or on an object (dataset, group) already written. Rank 0's
  /// value is written (numbers bit for bit).
  void set_attribute(const std::string& object, const std::string& name, const std::string& value);
  void set_attribute(const std::string& object, const std::string& name, double value);
  /// A 64-bit integer attribute.
  void set_integer_attribute(const std::string& object, const std::string& name,
                             std::int64_t value);

  /// Closes the temporary file and renames it to the target. Collective.
  void commit();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// One-dataset conveniences (update mode).
template <class T>
void write_matrix(const Comm& comm, const DatasetPath& path, const DistMatrix<T>& x);
template <class T>
void write_matrix(const Comm& comm, const DatasetPath& path, const ConstMatrix<T>& x);

#define STRATA_IO_DECLARE(T)                                                                   \
  extern template Matrix<T> read_matrix<T>(const Comm&, const DatasetPath&);                   \
  extern template DistMatrix<T> read_dist_matrix<T>(const Comm&, const DatasetPath&,           \
                                                    const std::optional<BlockRowLayout>&);     \
  extern template Vector<T> read_vector<T>(const Comm&, const DatasetPath&);                   \
  extern template DistBatch<T> read_batch<T>(const Comm&, const DatasetPath&);                 \
  extern template void FileWriter::write<T>(const std::string&, const DistBatch<T>&);          \
  extern template void FileWriter::write<T>(const std::string&, const DistMatrix<T>&);         \
  extern template void FileWriter::write<T>(const std::string&, const ConstMatrix<T>&);        \
  extern template void FileWriter::write<T>(                                                   \
      const std::string&, const Kokkos::View<const T*, Kokkos::LayoutLeft, MemSpace>&);        \
  extern template void write_matrix<T>(const Comm&, const DatasetPath&, const DistMatrix<T>&); \
  extern template void write_matrix<T>(const Comm&, const DatasetPath&, const ConstMatrix<T>&);
STRATA_IO_DECLARE(float)
STRATA_IO_DECLARE(double)
#undef STRATA_IO_DECLARE
extern template void FileWriter::write<float>(const std::string&, const float*, std::size_t);
extern template void FileWriter::write<double>(const std::string&, const double*, std::size_t);
extern template void FileWriter::write<std::int64_t>(const std::string&, const std::int64_t*,
                                                     std::size_t);

}  // namespace strata::io
