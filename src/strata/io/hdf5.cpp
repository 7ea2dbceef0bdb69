#include "strata/io/hdf5.hpp"

#include <hdf5.h>

#include <cstring>
#include <filesystem>
#include <limits>
#include <sstream>
#include <system_error>

#include "strata/config.hpp"
#include "strata/core/memory.hpp"
#include "strata/dist/collective.hpp"
#include "strata/io/detail/atomic_file.hpp"
#include "strata/io/detail/hdf5_checks.hpp"
#include "strata/io/output_file.hpp"

namespace strata::io {

namespace fs = std::filesystem;

namespace {

// ---- small RAII layer over HDF5 ids -------------------------------------------------------------

class Id {
 public:
  using Closer = herr_t (*)(hid_t);
  Id() = default;
  Id(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  ~Id() { reset(); }
  Id(Id&& other) noexcept : id_(other.id_), closer_(other.closer_) { other.id_ = -1; }
  Id& operator=(Id&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = other.id_;
      closer_ = other.closer_;
      other.id_ = -1;
    }
    return *this;
  }
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  /// Gives up ownership without closing.
  hid_t release() {
    const hid_t id = id_;
    id_ = -1;
    return id;
  }
  void reset() {
    if (id_ >= 0 && closer_) closer_(id_);
    id_ = -1;
  }

 private:
  hid_t id_ = -1;
  Closer closer_ = nullptr;
};

void silence_hdf5() {
  // HDF5 prints its error stack to stderr by default; we turn failures into exceptions instead.
  static const bool done = [] {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return true;
  }();
  (void)done;
}

Id checked(hid_t id, Id::Closer closer, const std::string& what) {
  if (id < 0) STRATA_THROW(IOError, what);
  return Id(id, closer);
}

void check(herr_t status, const std::string& what) {
  if (status < 0) STRATA_THROW(IOError, what);
}

Id file_access(const Comm& comm) {
  Id fapl = checked(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, "H5Pcreate(file access) failed");
#if STRATA_HAVE_MPI
  // One rank needs no MPI-IO; the POSIX driver also avoids Open MPI's OMPIO, whose shared file
  // pointer components overflow a 256-byte buffer on long paths (a crash for a 244-character name).
  if (comm.size() > 1) {
    check(H5Pset_fapl_mpio(fapl.get(), comm.raw(), MPI_INFO_NULL), "H5Pset_fapl_mpio failed");
  }
#else
  (void)comm;
#endif
  return fapl;
}

/// Collective transfers for a dataset of a file opened with MPI-IO (file_access: several ranks);
/// the POSIX driver refuses an MPI-IO transfer list.
Id transfer_collective(hid_t dataset) {
  Id dxpl = checked(H5Pcreate(H5P_DATASET_XFER), H5Pclose, "H5Pcreate(transfer) failed");
#if STRATA_HAVE_MPI
  Id file = checked(H5Iget_file_id(dataset), H5Fclose, "H5Iget_file_id failed");
  Id fapl = checked(H5Fget_access_plist(file.get()), H5Pclose, "H5Fget_access_plist failed");
  if (H5Pget_driver(fapl.get()) == H5FD_MPIO) {
    check(H5Pset_dxpl_mpio(dxpl.get(), H5FD_MPIO_COLLECTIVE), "H5Pset_dxpl_mpio failed");
  }
#else
  (void)dataset;
#endif
  return dxpl;
}

template <class T>
hid_t memory_type() {
  if constexpr (std::is_same_v<T, std::int64_t>) return H5T_NATIVE_INT64;
  return std::is_same_v<T, float> ? H5T_NATIVE_FLOAT : H5T_NATIVE_DOUBLE;
}
template <class T>
hid_t file_type() {
  if constexpr (std::is_same_v<T, std::int64_t>) return H5T_STD_I64LE;
  return std::is_same_v<T, float> ? H5T_IEEE_F32LE : H5T_IEEE_F64LE;
}

/// Opens `path.file` for reading on every rank, with errors agreed over the ranks.
Id open_for_read(const Comm& comm, const std::string& file) {
  silence_hdf5();
  collective(comm, [&] {
    std::error_code ec;
    const fs::file_status status = fs::status(file, ec);
    if (!fs::exists(status)) {
      STRATA_THROW(IOError, "cannot open '", file, "': no such file");
    }
    if (fs::is_directory(status)) {
      STRATA_THROW(IOError, "cannot open '", file, "': it is a directory, expected an HDF5 file");
    }
    // Opening a FIFO or a device would block or read a stream; HDF5 needs a regular file.
    if (!fs::is_regular_file(status)) {
      STRATA_THROW(IOError, "cannot open '", file, "': it is not a regular file (",
                   fs::is_fifo(status) ? "a FIFO" : "a device or socket",
                   "), expected an HDF5 file");
    }
  });
  Id fapl = file_access(comm);
  const hid_t id = H5Fopen(file.c_str(), H5F_ACC_RDONLY, fapl.get());
  collective(comm, [&] {
    if (id < 0) {
      STRATA_THROW(IOError, "cannot open '", file,
                   "' as an HDF5 file (is it an HDF5 file, and readable?)");
    }
  });
  return Id(id, H5Fclose);
}

/// True if every component of the absolute path `object` exists as a link below `file`.
bool object_exists(hid_t file, const std::string& object) {
  if (object == "/") return true;
  std::size_t pos = 0;
  while (pos != std::string::npos) {
    pos = object.find('/', pos + 1);
    const std::string prefix = object.substr(0, pos);
    if (H5Lexists(file, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
  }
  return true;
}

struct OpenDataset {
  Id file;
  Id dataset;
  DatasetInfo info;
  DatasetPath path;
};

OpenDataset open_dataset(const Comm& comm, const DatasetPath& path) {
  OpenDataset result;
  result.path = path;
  result.file = open_for_read(comm, path.file);
  collective(comm, [&] {
    if (!object_exists(result.file.get(), path.dataset)) {
      STRATA_THROW(IOError, "dataset '", path.dataset, "' not found in '", path.file, "'");
    }
    result.dataset = checked(H5Dopen2(result.file.get(), path.dataset.c_str(), H5P_DEFAULT),
                             H5Dclose, "'" + path.str() + "' exists but is not a dataset");
    Id type = checked(H5Dget_type(result.dataset.get()), H5Tclose, "H5Dget_type failed");
    const H5T_class_t type_class = H5Tget_class(type.get());
    const std::size_t size = H5Tget_size(type.get());
    if (type_class != H5T_FLOAT || (size != 4 && size != 8)) {
      const char* kind = type_class == H5T_INTEGER    ? "integer"
                         : type_class == H5T_STRING   ? "string"
                         : type_class == H5T_FLOAT    ? "floating-point"
                         : type_class == H5T_COMPOUND ? "compound"
                                                      : "non-numeric";
      STRATA_THROW(Unsupported, "dataset '", path.str(), "' has dtype ", kind, " (", 8 * size,
                   "-bit); expected float32 or float64");
    }
    result.info.dtype = size == 4 ? Dtype::float32 : Dtype::float64;
    Id space = checked(H5Dget_space(result.dataset.get()), H5Sclose, "H5Dget_space failed");
    result.info.shape = detail::dataset_extents(space.get(), path.str());
    detail::require_filters_available(result.dataset.get(), path.str());
  });
  return result;
}

std::string shape_string(const std::vector<index_type>& shape) {
  std::ostringstream out;
  out << "(";
  for (std::size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  if (shape.size() == 1) out << ",";
  out << ")";
  return out.str();
}

const char* filter_name(H5Z_filter_t id) {
  switch (id) {
    case H5Z_FILTER_DEFLATE:
      return "gzip (deflate)";
    case H5Z_FILTER_SZIP:
      return "szip";
    case 32000:
      return "lzf";
    case 32001:
      return "blosc";
    case 32004:
      return "lz4";
    case 32008:
      return "bitshuffle";
    case 32015:
      return "zstd";
    default:
      return nullptr;
  }
}

}  // namespace

namespace detail {

void require_filters_available(hid_t dataset, const std::string& where) {
  Id plist = checked(H5Dget_create_plist(dataset), H5Pclose, "H5Dget_create_plist failed");
  const int filters = H5Pget_nfilters(plist.get());
  for (int k = 0; k < filters; ++k) {
    unsigned flags = 0, config = 0;
    std::size_t values = 0;
    char stored_name[256] = {0};
    const H5Z_filter_t id = H5Pget_filter2(plist.get(), static_cast<unsigned>(k), &flags, &values,
                                           nullptr, sizeof stored_name, stored_name, &config);
    if (id < 0 || H5Zfilter_avail(id) > 0) continue;
    const char* known = filter_name(id);
    const std::string name = stored_name[0] ? stored_name : known ? known : "unnamed";
    STRATA_THROW(Unsupported, "dataset '", where, "' is stored with the HDF5 filter '", name,
                 "' (filter id ", id, "), which this HDF5 library does not have; rewrite it ",
                 "without that filter (e.g. h5repack -f NONE) or with gzip");
  }
}

void require_numeric_type(hid_t type, H5T_class_t wanted, const std::string& where) {
  const H5T_class_t type_class = H5Tget_class(type);
  const std::size_t size = H5Tget_size(type);
  const bool ok = type_class == wanted &&
                  (wanted == H5T_FLOAT ? (size == 4 || size == 8)
                                       : (size == 1 || size == 2 || size == 4 || size == 8));
  if (ok) return;
  const char* kind = type_class == H5T_INTEGER ? "integer"
                     : type_class == H5T_FLOAT ? "floating-point"
                                               : "non-numeric";
  STRATA_THROW(Unsupported, where, " has dtype ", kind, " of ", size, " bytes; expected ",
               wanted == H5T_FLOAT ? "float32 or float64" : "an integer of 1, 2, 4 or 8 bytes");
}

void require_single_value_attribute(hid_t attribute, const std::string& where) {
  Id space = checked(H5Aget_space(attribute), H5Sclose, "cannot read the shape of " + where);
  const hssize_t points = H5Sget_simple_extent_npoints(space.get());
  STRATA_REQUIRE(points == 1, IOError, where, " holds ", static_cast<long long>(points),
                 " values where Strata writes one; the file was not written by Strata or is "
                 "damaged");
}

std::size_t string_attribute_size(hid_t type, const std::string& where) {
  constexpr std::size_t limit = 64 * 1024;
  const std::size_t size = H5Tget_size(type);
  STRATA_REQUIRE(size > 0 && size <= limit, IOError, where, " declares a string of ", size,
                 " bytes (Strata reads strings of 1 byte to 64 KiB)");
  return size;
}

std::vector<index_type> dataset_extents(hid_t space, const std::string& where) {
  const int rank = H5Sget_simple_extent_ndims(space);
  if (rank < 0) STRATA_THROW(IOError, "cannot read the shape of '", where, "'");
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  if (rank > 0) H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  std::vector<index_type> shape;
  for (const hsize_t d : dims) {
    STRATA_REQUIRE(d <= static_cast<hsize_t>(std::numeric_limits<index_type>::max()),
                   InvalidArgument, "dataset '", where, "' declares an extent of ",
                   static_cast<unsigned long long>(d), ", more than 2^63 - 1 entries");
    shape.push_back(static_cast<index_type>(d));
  }
  return shape;
}

}  // namespace detail

namespace {

/// File and memory dataspaces selecting the block [start, start + count) of `dataset`; an empty
/// block selects nothing on both, so that the rank still takes part in collective I/O.
struct Selection {
  Id file;
  Id memory;
};
Selection select_block(hid_t dataset, int rank, const hsize_t* start, const hsize_t* count) {
  Selection s;
  s.file = checked(H5Dget_space(dataset), H5Sclose, "H5Dget_space failed");
  s.memory = checked(H5Screate_simple(rank, count, nullptr), H5Sclose, "H5Screate_simple failed");
  bool empty = false;
  for (int k = 0; k < rank; ++k) empty = empty || count[k] == 0;
  if (empty) {
    H5Sselect_none(s.file.get());
    H5Sselect_none(s.memory.get());
  } else {
    check(H5Sselect_hyperslab(s.file.get(), H5S_SELECT_SET, start, nullptr, count, nullptr),
          "H5Sselect_hyperslab failed");
  }
  return s;
}

/// The dataset has `rank` dimensions and holds at least one value.
void require_rank(const DatasetPath& path, const DatasetInfo& info, std::size_t rank) {
  if (info.shape.size() != rank) {
    STRATA_THROW(ShapeMismatch, "dataset '", path.str(), "' has ", info.shape.size(), "-D shape ",
                 shape_string(info.shape), "; expected a ", rank, "-D dataset (",
                 rank == 3   ? "batch, rows, cols"
                 : rank == 2 ? "rows, cols"
                             : "length",
                 ")");
  }
  for (const index_type extent : info.shape) {
    STRATA_REQUIRE(extent > 0, ShapeMismatch, "dataset '", path.str(), "' is empty (shape ",
                   shape_string(info.shape), "); expected at least one ",
                   rank == 1 ? "entry" : "row and one column");
  }
}

/// Copies of the data alive at once while a read stages it: the row-major buffer read from the
/// file, its column-major host copy and, when the memory space is host memory, the result.
constexpr std::uint64_t staged_copies = std::is_same_v<MemSpace, Kokkos::HostSpace> ? 3 : 2;

/// Refuses a read whose buffers would not fit in the memory available now (a crafted file may
/// declare any shape), before anything is allocated.
template <class T>
void require_memory_for(const DatasetPath& path, std::initializer_list<index_type> extents,
                        std::uint64_t copies) {
  std::optional<std::uint64_t> bytes = checked_bytes(extents, sizeof(T));
  if (bytes && __builtin_mul_overflow(*bytes, copies, &*bytes)) bytes.reset();
  std::ostringstream what;
  what << "reading '" << path.str() << "' (";
  std::size_t k = 0;
  for (const index_type e : extents) what << (k++ ? " x " : "") << e;
  what << " " << (sizeof(T) == 4 ? "float32" : "float64") << " values on this rank)";
  require_host_memory(bytes, what.str());
}

/// Reads rows [row_begin, row_begin + rows) of a 2-D dataset into a row-major host buffer.
template <class T>
Kokkos::View<T**, Kokkos::LayoutRight, Kokkos::HostSpace> read_rows(const OpenDataset& d,
                                                                    index_type row_begin,
                                                                    index_type rows) {
  const index_type cols = d.info.shape[1];
  Kokkos::View<T**, Kokkos::LayoutRight, Kokkos::HostSpace> buffer(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "strata::io::read_rows"),
      static_cast<std::size_t>(rows), static_cast<std::size_t>(cols));
  const hsize_t start[2] = {static_cast<hsize_t>(row_begin), 0};
  const hsize_t count[2] = {static_cast<hsize_t>(rows), static_cast<hsize_t>(cols)};
  const Selection selection = select_block(d.dataset.get(), 2, start, count);
  Id dxpl = transfer_collective(d.dataset.get());
  check(H5Dread(d.dataset.get(), memory_type<T>(), selection.memory.get(), selection.file.get(),
                dxpl.get(), buffer.data()),
        "reading the data of the dataset failed");
  return buffer;
}

template <class T, class Source>
Matrix<T> to_device_column_major(const Source& row_major, const std::string& label) {
  HostMatrix<T> host(Kokkos::view_alloc(Kokkos::WithoutInitializing, label), row_major.extent(0),
                     row_major.extent(1));
  Kokkos::deep_copy(host, row_major);
  Matrix<T> device(Kokkos::view_alloc(Kokkos::WithoutInitializing, label), host.extent(0),
                   host.extent(1));
  Kokkos::deep_copy(device, host);
  return device;
}

}  // namespace

// ---- paths, inspection, reads -------------------------------------------------------------------

DatasetPath DatasetPath::parse(const std::string& spec, const std::string& default_dataset) {
  DatasetPath path;
  const auto pos = spec.rfind(":/");
  if (pos == std::string::npos) {
    STRATA_REQUIRE(!default_dataset.empty(), InvalidArgument, "'", spec,
                   "' names no dataset; expected FILE:/DATASET, e.g. A.h5:/A");
    path.file = spec;
    path.dataset = default_dataset;
  } else {
    path.file = spec.substr(0, pos);
    path.dataset = spec.substr(pos + 1);
  }
  STRATA_REQUIRE(!path.file.empty(), InvalidArgument, "'", spec,
                 "' names no file; expected FILE:/DATASET, e.g. A.h5:/A");
  STRATA_REQUIRE(
      path.dataset.size() > 1 && path.dataset.front() == '/' && path.dataset.back() != '/',
      InvalidArgument, "'", spec, "' has dataset path '", path.dataset,
      "'; expected an absolute path such as /A or /group/A");
  return path;
}

const char* dtype_name(Dtype dtype) {
  return dtype == Dtype::float32 ? "float32" : "float64";
}

DatasetInfo inspect(const Comm& comm, const DatasetPath& path) {
  return open_dataset(comm, path).info;
}

template <class T>
Matrix<T> read_matrix(const Comm& comm, const DatasetPath& path) {
  const OpenDataset d = open_dataset(comm, path);
  collective(comm, [&] {
    require_rank(path, d.info, 2);
    require_memory_for<T>(path, {d.info.shape[0], d.info.shape[1]}, staged_copies);
  });
  const auto buffer = read_rows<T>(d, 0, d.info.shape[0]);
  return to_device_column_major<T>(buffer, "strata::io::read_matrix");
}

template <class T>
DistMatrix<T> read_dist_matrix(const Comm& comm, const DatasetPath& path,
                               const std::optional<BlockRowLayout>& layout) {
  const OpenDataset d = open_dataset(comm, path);
  const BlockRowLayout rows = collective(comm, [&] {
    require_rank(path, d.info, 2);
    if (layout) {
      STRATA_REQUIRE(layout->global_rows() == d.info.shape[0] && layout->num_ranks() == comm.size(),
                     ShapeMismatch, "read_dist_matrix: the layout covers ", layout->global_rows(),
                     " rows over ", layout->num_ranks(), " ranks, but '", path.str(), "' has ",
                     d.info.shape[0], " rows and the communicator ", comm.size(), " ranks");
      return *layout;
    }
    return BlockRowLayout(d.info.shape[0], comm.size());
  });
  collective(comm, [&] {
    require_memory_for<T>(path, {rows.local_rows(comm.rank()), d.info.shape[1]}, staged_copies);
  });
  const auto buffer = read_rows<T>(d, rows.row_begin(comm.rank()), rows.local_rows(comm.rank()));
  return DistMatrix<T>(comm, rows,
                       to_device_column_major<T>(buffer, "strata::io::read_dist_matrix"));
}

template <class T>
Vector<T> read_vector(const Comm& comm, const DatasetPath& path) {
  const OpenDataset d = open_dataset(comm, path);
  collective(comm, [&] {
    require_rank(path, d.info, 1);
    require_memory_for<T>(path, {d.info.shape[0]}, staged_copies - 1);
  });
  HostVector<T> host(Kokkos::view_alloc(Kokkos::WithoutInitializing, "strata::io::read_vector"),
                     static_cast<std::size_t>(d.info.shape[0]));
  Id dxpl = transfer_collective(d.dataset.get());
  check(H5Dread(d.dataset.get(), memory_type<T>(), H5S_ALL, H5S_ALL, dxpl.get(), host.data()),
        "reading '" + path.str() + "' failed");
  Vector<T> device(Kokkos::view_alloc(Kokkos::WithoutInitializing, "strata::io::read_vector"),
                   host.extent(0));
  Kokkos::deep_copy(device, host);
  return device;
}

template <class T>
DistBatch<T> read_batch(const Comm& comm, const DatasetPath& path) {
  const OpenDataset d = open_dataset(comm, path);
  collective(comm, [&] { require_rank(path, d.info, 3); });
  const index_type count = d.info.shape[0], rows = d.info.shape[1], cols = d.info.shape[2];
  DistBatch<T> out;
  out.layout = BlockRowLayout(count, comm.size());
  const index_type begin = out.layout.row_begin(comm.rank()),
                   mine = out.layout.local_rows(comm.rank());
  collective(comm, [&] { require_memory_for<T>(path, {mine, rows, cols}, staged_copies); });
  Kokkos::View<T***, Kokkos::LayoutRight, Kokkos::HostSpace> buffer(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "strata::io::read_batch"),
      static_cast<std::size_t>(mine), static_cast<std::size_t>(rows),
      static_cast<std::size_t>(cols));
  const hsize_t start[3] = {static_cast<hsize_t>(begin), 0, 0};
  const hsize_t extent[3] = {static_cast<hsize_t>(mine), static_cast<hsize_t>(rows),
                             static_cast<hsize_t>(cols)};
  const Selection selection = select_block(d.dataset.get(), 3, start, extent);
  Id dxpl = transfer_collective(d.dataset.get());
  const herr_t status = H5Dread(d.dataset.get(), memory_type<T>(), selection.memory.get(),
                                selection.file.get(), dxpl.get(), buffer.data());
  collective(comm, [&] { check(status, "reading '" + path.str() + "' failed"); });
  Kokkos::View<T***, Kokkos::LayoutLeft, Kokkos::HostSpace> host(
      "strata::io::read_batch::host", buffer.extent(1), buffer.extent(2), buffer.extent(0));
  for (std::size_t b = 0; b < buffer.extent(0); ++b)
    for (std::size_t j = 0; j < buffer.extent(2); ++j)
      for (std::size_t i = 0; i < buffer.extent(1); ++i) host(i, j, b) = buffer(b, i, j);
  out.local =
      Batch<T>(Kokkos::view_alloc(Kokkos::WithoutInitializing, "strata::io::read_batch::device"),
               host.extent(0), host.extent(1), host.extent(2));
  Kokkos::deep_copy(out.local, host);
  return out;
}

std::string read_string_attribute(const Comm& comm, const DatasetPath& object,
                                  const std::string& name) {
  Id file = open_for_read(comm, object.file);
  return collective(comm, [&] {
    STRATA_REQUIRE(object_exists(file.get(), object.dataset), IOError, "object '", object.dataset,
                   "' not found in '", object.file, "'");
    STRATA_REQUIRE(
        H5Aexists_by_name(file.get(), object.dataset.c_str(), name.c_str(), H5P_DEFAULT) > 0,
        IOError, "'", object.str(), "' has no attribute '", name, "'");
    Id attribute = checked(
        H5Aopen_by_name(file.get(), object.dataset.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT),
        H5Aclose, "cannot open attribute '" + name + "'");
    Id type = checked(H5Aget_type(attribute.get()), H5Tclose, "H5Aget_type failed");
    STRATA_REQUIRE(H5Tget_class(type.get()) == H5T_STRING, Unsupported, "attribute '", name,
                   "' of '", object.str(), "' is not a string");
    STRATA_REQUIRE(H5Tis_variable_str(type.get()) <= 0, Unsupported, "attribute '", name,
                   "' is a variable-length string; Strata reads fixed-length strings");
    const std::string where = "attribute '" + name + "' of '" + object.str() + "'";
    detail::require_single_value_attribute(attribute.get(), where);
    std::string value(detail::string_attribute_size(type.get(), where), '\0');
    check(H5Aread(attribute.get(), type.get(), value.data()),
          "reading attribute '" + name + "' failed");
    value.resize(value.find('\0') == std::string::npos ? value.size() : value.find('\0'));
    return value;
  });
}

// ---- FileWriter ---------------------------------------------------------------------------------

struct FileWriter::Impl {
  Comm comm;
  std::string target;
  std::string temporary;
  std::unique_ptr<detail::AtomicFile> output;  ///< rank 0 only
  Id file;
  bool committed = false;

  void require_open(const char* what) const {
    STRATA_REQUIRE(file.valid() && !committed, InvalidArgument, "FileWriter::", what,
                   ": the writer for '", target, "' was already committed");
  }

  /// `object` exists in the file being written (agreed on by every rank).
  void require_object(const std::string& object) const;

  /// Creates the dataset (replacing one of the same name) and returns it. The disk space for its
  /// values is reserved first (detail::AtomicFile::reserve): HDF5 1.10 cannot close a file after a
  /// failed write (its shutdown then crashes), so a full disk must be found before HDF5 writes.
  Id create_dataset(const std::string& name, hid_t type, int rank, const hsize_t* dims) {
    collective(comm, [&] {
      STRATA_REQUIRE(name.size() > 1 && name.front() == '/' && name.back() != '/', InvalidArgument,
                     "dataset name '", name, "' must be an absolute path such as /A");
      if (output) {
        std::uint64_t bytes = H5Tget_size(type);
        bool overflow = false;
        for (int k = 0; k < rank; ++k) overflow |= __builtin_mul_overflow(bytes, dims[k], &bytes);
        output->reserve(overflow ? std::numeric_limits<std::uint64_t>::max() : bytes);
      }
    });
    if (object_exists(file.get(), name)) {
      check(H5Ldelete(file.get(), name.c_str(), H5P_DEFAULT),
            "cannot replace dataset '" + name + "'");
    }
    Id space = checked(H5Screate_simple(rank, dims, nullptr), H5Sclose, "H5Screate_simple failed");
    Id link = checked(H5Pcreate(H5P_LINK_CREATE), H5Pclose, "H5Pcreate(link) failed");
    check(H5Pset_create_intermediate_group(link.get(), 1),
          "H5Pset_create_intermediate_group failed");
    return checked(H5Dcreate2(file.get(), name.c_str(), type, space.get(), link.get(), H5P_DEFAULT,
                              H5P_DEFAULT),
                   H5Dclose, "cannot create dataset '" + name + "' in '" + target + "'");
  }

  /// Writes the row-major host block `data` (rows x cols) at row `row_begin` of a (total x cols)
  /// dataset; ranks with no rows take part with an empty selection.
  template <class T>
  void write_rows(const std::string& name, index_type total, index_type cols, index_type row_begin,
                  index_type rows, const T* data) {
    const hsize_t dims[2] = {static_cast<hsize_t>(total), static_cast<hsize_t>(cols)};
    Id dataset = create_dataset(name, file_type<T>(), 2, dims);
    const hsize_t start[2] = {static_cast<hsize_t>(row_begin), 0};
    const hsize_t count[2] = {static_cast<hsize_t>(rows), static_cast<hsize_t>(cols)};
    const Selection selection = select_block(dataset.get(), 2, start, count);
    Id dxpl = transfer_collective(dataset.get());
    const herr_t status = H5Dwrite(dataset.get(), memory_type<T>(), selection.memory.get(),
                                   selection.file.get(), dxpl.get(), data);
    collective(comm, [&] { check(status, "writing dataset '" + name + "' failed (disk full?)"); });
  }

  ~Impl() {
    if (!committed) discard();
  }

  void discard() noexcept {
    file.reset();
    if (output) output->discard();
  }
};

FileWriter::FileWriter(const Comm& comm, const std::string& file, WriteMode mode,
                       const std::vector<std::string>& inputs)
    : impl_(std::make_unique<Impl>()) {
  silence_hdf5();
  impl_->comm = comm;
  impl_->target = file;
  const bool update = mode == WriteMode::update_file;
  // Rank 0 checks the target and creates the temporary file; the others learn its name.
  std::string created = collective(comm, [&] {
    if (!comm.is_root()) return std::string();
    // Updating keeps the input file's other datasets (the write goes to a copy), so only a
    // replacement is refused.
    if (!update) check_output_distinct(file, inputs);
    impl_->output = std::make_unique<detail::AtomicFile>(
        file,
        update ? detail::AtomicFile::Start::copy_of_target : detail::AtomicFile::Start::empty);
    return std::string(impl_->output->holds_copy() ? "1" : "0") + impl_->output->temporary();
  });
  created = comm.broadcast(created, 0);
  const bool holds_copy = created.front() == '1';
  impl_->temporary = created.substr(1);
  Id fapl = file_access(comm);
  const hid_t id =
      holds_copy ? H5Fopen(impl_->temporary.c_str(), H5F_ACC_RDWR, fapl.get())
                 : H5Fcreate(impl_->temporary.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get());
  try {
    collective(comm, [&] {
      STRATA_REQUIRE(id >= 0, IOError, "cannot ", holds_copy ? "open" : "create",
                     " the temporary HDF5 file '", impl_->temporary, "' for '", file, "'");
    });
  } catch (...) {
    if (id >= 0) H5Fclose(id);
    impl_->discard();
    throw;
  }
  impl_->file = Id(id, H5Fclose);
  set_attribute("/", "creator", std::string("Strata ") + STRATA_VERSION_STRING);
}

FileWriter::~FileWriter() = default;  // Impl discards an uncommitted temporary file

template <class T>
void FileWriter::write(const std::string& dataset, const DistMatrix<T>& x) {
  impl_->require_open("write");
  collective(impl_->comm, [&] {
    STRATA_REQUIRE(x.comm().size() == impl_->comm.size(), InvalidArgument,
                   "FileWriter::write: the matrix lives on ", x.comm().size(),
                   " ranks but the writer on ", impl_->comm.size());
  });
  Kokkos::View<T**, Kokkos::LayoutRight, Kokkos::HostSpace> host(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "strata::io::write"), x.local().extent(0),
      x.local().extent(1));
  auto local_host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), x.local());
  Kokkos::deep_copy(host, local_host);
  impl_->write_rows<T>(dataset, x.global_rows(), x.cols(), x.row_begin(), x.local_rows(),
                       host.data());
}

template <class T>
void FileWriter::write(const std::string& dataset, const ConstMatrix<T>& x) {
  impl_->require_open("write");
  const auto rows = static_cast<index_type>(x.extent(0));
  const auto cols = static_cast<index_type>(x.extent(1));
  const auto shapes = impl_->comm.allgather(rows * (cols + 1) + cols);
  collective(impl_->comm, [&] {
    for (const auto s : shapes) {
      STRATA_REQUIRE(s == shapes[0], InvalidArgument, "FileWriter::write('", dataset,
                     "'): ranks pass replicated matrices of different shapes");
    }
  });
  Kokkos::View<T**, Kokkos::LayoutRight, Kokkos::HostSpace> host(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "strata::io::write"), x.extent(0),
      x.extent(1));
  if (impl_->comm.is_root()) {
    auto column_major = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), x);
    Kokkos::deep_copy(host, column_major);
  }
  impl_->write_rows<T>(dataset, rows, cols, 0, impl_->comm.is_root() ? rows : 0, host.data());
}

template <class T>
void FileWriter::write(const std::string& dataset,
                       const Kokkos::View<const T*, Kokkos::LayoutLeft, MemSpace>& x) {
  impl_->require_open("write");
  const hsize_t dims[1] = {static_cast<hsize_t>(x.extent(0))};
  Id data = impl_->create_dataset(dataset, file_type<T>(), 1, dims);
  auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), x);
  // Rank 0 writes the replicated vector; the others select nothing.
  const hsize_t start[1] = {0};
  const hsize_t mine[1] = {impl_->comm.is_root() ? dims[0] : 0};
  const Selection selection = select_block(data.get(), 1, start, mine);
  Id dxpl = transfer_collective(data.get());
  const herr_t status = H5Dwrite(data.get(), memory_type<T>(), selection.memory.get(),
                                 selection.file.get(), dxpl.get(), host.data());
  collective(impl_->comm, [&] { check(status, "writing dataset '" + dataset + "' failed"); });
}

template <class T>
void FileWriter::write(const std::string& dataset, const DistBatch<T>& x) {
  impl_->require_open("write");
  const auto rows = static_cast<index_type>(x.local.extent(0)),
             cols = static_cast<index_type>(x.local.extent(1));
  const auto shapes = impl_->comm.allgather(rows * (cols + 1) + cols);
  collective(impl_->comm, [&] {
    STRATA_REQUIRE(
        x.layout.num_ranks() == impl_->comm.size() &&
            static_cast<index_type>(x.local.extent(2)) == x.layout.local_rows(impl_->comm.rank()),
        InvalidArgument, "FileWriter::write('", dataset,
        "'): the batch's layout does not match its ",
        "local matrices or the writer's communicator");
    for (const auto s : shapes) {
      STRATA_REQUIRE(s == shapes[0], InvalidArgument, "FileWriter::write('", dataset,
                     "'): ranks hold matrices of different shapes");
    }
  });
  const index_type count = x.layout.global_rows(),
                   mine = static_cast<index_type>(x.local.extent(2));
  const auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), x.local);
  Kokkos::View<T***, Kokkos::LayoutRight, Kokkos::HostSpace> buffer(
      "strata::io::write_batch", host.extent(2), host.extent(0), host.extent(1));
  for (std::size_t b = 0; b < host.extent(2); ++b)
    for (std::size_t j = 0; j < host.extent(1); ++j)
      for (std::size_t i = 0; i < host.extent(0); ++i) buffer(b, i, j) = host(i, j, b);
  const hsize_t dims[3] = {static_cast<hsize_t>(count), static_cast<hsize_t>(rows),
                           static_cast<hsize_t>(cols)};
  Id data = impl_->create_dataset(dataset, file_type<T>(), 3, dims);
  const hsize_t start[3] = {static_cast<hsize_t>(x.layout.row_begin(impl_->comm.rank())), 0, 0};
  const hsize_t extent[3] = {static_cast<hsize_t>(mine), static_cast<hsize_t>(rows),
                             static_cast<hsize_t>(cols)};
  const Selection selection = select_block(data.get(), 3, start, extent);
  Id dxpl = transfer_collective(data.get());
  const herr_t status = H5Dwrite(data.get(), memory_type<T>(), selection.memory.get(),
                                 selection.file.get(), dxpl.get(), buffer.data());
  collective(impl_->comm, [&] { check(status, "writing dataset '" + dataset + "' failed"); });
}

template <class T>
void FileWriter::write(const std::string& dataset, const T* host_data, std::size_t count) {
  impl_->require_open("write");
  // Rank 0's length, so that every rank creates the same dataset (a collective call).
  const hsize_t dims[1] = {
      static_cast<hsize_t>(std::stoull(impl_->comm.broadcast(std::to_string(count), 0)))};
  Id data = impl_->create_dataset(dataset, file_type<T>(), 1, dims);
  const hsize_t start[1] = {0};
  const hsize_t mine[1] = {impl_->comm.is_root() ? dims[0] : 0};
  const Selection selection = select_block(data.get(), 1, start, mine);
  Id dxpl = transfer_collective(data.get());
  const herr_t status = H5Dwrite(data.get(), memory_type<T>(), selection.memory.get(),
                                 selection.file.get(), dxpl.get(), host_data);
  collective(impl_->comm, [&] { check(status, "writing dataset '" + dataset + "' failed"); });
}

namespace {

// Creates (or replaces) the scalar attribute `name` of `object` and writes `value` (memory type
// `memory`, stored as `stored`). The caller has agreed on the value across ranks.
void write_scalar_attribute(hid_t file, const std::string& object, const std::string& name,
                            hid_t stored, hid_t memory, const void* value) {
  Id space = checked(H5Screate(H5S_SCALAR), H5Sclose, "H5Screate failed");
  if (H5Aexists_by_name(file, object.c_str(), name.c_str(), H5P_DEFAULT) > 0) {
    check(H5Adelete_by_name(file, object.c_str(), name.c_str(), H5P_DEFAULT),
          "cannot replace attribute '" + name + "'");
  }
  Id attribute = checked(H5Acreate_by_name(file, object.c_str(), name.c_str(), stored, space.get(),
                                           H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                         H5Aclose, "cannot create attribute '" + name + "'");
  check(H5Awrite(attribute.get(), memory, value), "cannot write attribute '" + name + "'");
}

}  // namespace

void FileWriter::Impl::require_object(const std::string& object) const {
  collective(comm, [&] {
    STRATA_REQUIRE(object_exists(file.get(), object), InvalidArgument, "set_attribute: object '",
                   object, "' does not exist in the file being written");
  });
}

void FileWriter::set_integer_attribute(const std::string& object, const std::string& name,
                                       std::int64_t rank_value) {
  impl_->require_open("set_integer_attribute");
  // Parallel HDF5 needs the same value on every rank: rank 0's.
  const std::int64_t value = std::stoll(impl_->comm.broadcast(std::to_string(rank_value), 0));
  impl_->require_object(object);
  write_scalar_attribute(impl_->file.get(), object, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value);
}

void FileWriter::set_attribute(const std::string& object, const std::string& name,
                               const std::string& rank_value) {
  impl_->require_open("set_attribute");
  const std::string value = impl_->comm.broadcast(rank_value, 0);  // rank 0's on every rank
  impl_->require_object(object);
  Id type = checked(H5Tcopy(H5T_C_S1), H5Tclose, "H5Tcopy failed");
  check(H5Tset_size(type.get(), value.empty() ? 1 : value.size()), "H5Tset_size failed");
  const std::string padded = value.empty() ? std::string(1, '\0') : value;
  write_scalar_attribute(impl_->file.get(), object, name, type.get(), type.get(), padded.data());
}

void FileWriter::set_attribute(const std::string& object, const std::string& name,
                               double rank_value) {
  impl_->require_open("set_attribute");
  // Rank 0's value on every rank, bit for bit (its bytes travel as a string).
  const std::string bytes = impl_->comm.broadcast(
      std::string(reinterpret_cast<const char*>(&rank_value), sizeof(double)), 0);
  double value = 0;
  std::memcpy(&value, bytes.data(), sizeof(double));
  impl_->require_object(object);
  write_scalar_attribute(impl_->file.get(), object, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                         &value);
}

void FileWriter::commit() {
  impl_->require_open("commit");
  // H5Fflush makes the MPI-IO driver call MPI_File_sync on every rank (durable data from all
  // nodes); rank 0 then fsyncs (the POSIX driver has no sync of its own) and renames.
  // A failed flush is agreed on before the close, so that discard() can still close the file
  // safely; once flushed, the close writes nothing.
  const herr_t flushed = H5Fflush(impl_->file.get(), H5F_SCOPE_GLOBAL);
  try {
    collective(impl_->comm, [&] {
      check(flushed, "writing the temporary file for '" + impl_->target + "' failed (disk full?)");
    });
    const herr_t closed = H5Fclose(impl_->file.release());
    collective(impl_->comm, [&] {
      check(closed, "closing the temporary file for '" + impl_->target + "' failed (disk full?)");
      if (impl_->comm.is_root()) impl_->output->commit();
    });
  } catch (...) {
    impl_->discard();
    throw;
  }
  impl_->committed = true;
}

template <class T>
void write_matrix(const Comm& comm, const DatasetPath& path, const DistMatrix<T>& x) {
  FileWriter writer(comm, path.file);
  writer.write(path.dataset, x);
  writer.commit();
}

template <class T>
void write_matrix(const Comm& comm, const DatasetPath& path, const ConstMatrix<T>& x) {
  FileWriter writer(comm, path.file);
  writer.write(path.dataset, x);
  writer.commit();
}

#define STRATA_IO_INSTANTIATE(T)                                                                   \
  template Matrix<T> read_matrix<T>(const Comm&, const DatasetPath&);                              \
  template DistMatrix<T> read_dist_matrix<T>(const Comm&, const DatasetPath&,                      \
                                             const std::optional<BlockRowLayout>&);                \
  template Vector<T> read_vector<T>(const Comm&, const DatasetPath&);                              \
  template DistBatch<T> read_batch<T>(const Comm&, const DatasetPath&);                            \
  template void FileWriter::write<T>(const std::string&, const DistBatch<T>&);                     \
  template void FileWriter::write<T>(const std::string&, const DistMatrix<T>&);                    \
  template void FileWriter::write<T>(const std::string&, const ConstMatrix<T>&);                   \
  template void FileWriter::write<T>(const std::string&,                                           \
                                     const Kokkos::View<const T*, Kokkos::LayoutLeft, MemSpace>&); \
  template void write_matrix<T>(const Comm&, const DatasetPath&, const DistMatrix<T>&);            \
  template void write_matrix<T>(const Comm&, const DatasetPath&, const ConstMatrix<T>&);
STRATA_IO_INSTANTIATE(float)
STRATA_IO_INSTANTIATE(double)
template void FileWriter::write<float>(const std::string&, const float*, std::size_t);
template void FileWriter::write<double>(const std::string&, const double*, std::size_t);
template void FileWriter::write<std::int64_t>(const std::string&, const std::int64_t*, std::size_t);

}  // namespace strata::io
