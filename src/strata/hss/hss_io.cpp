#include "strata/hss/hss_io.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <vector>

#include "strata/config.hpp"
#include "strata/core/error.hpp"
#include "strata/core/memory.hpp"
#include "strata/dist/collective.hpp"

#if STRATA_HAVE_HDF5
#include <hdf5.h>

#include "strata/io/detail/hdf5_checks.hpp"
#include "strata/io/hdf5.hpp"
#endif

namespace strata::hss {

#if STRATA_HAVE_HDF5
namespace {

// RAII over an HDF5 identifier with its close function.
class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t), const std::string& what) : id_(id), close_(close) {
    if (id < 0) STRATA_THROW(IOError, what);
  }
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t get() const { return id_; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

template <class T>
hid_t native_type() {
  if constexpr (std::is_same_v<T, double>) {
    return H5T_NATIVE_DOUBLE;
  } else if constexpr (std::is_same_v<T, float>) {
    return H5T_NATIVE_FLOAT;
  } else {
    return H5T_NATIVE_INT64;
  }
}

/// Dataset `name` of `group` as a vector. `expected`: the entry count the HSS structure read so
/// far implies; another count is refused before anything is allocated.
template <class T>
std::vector<T> read_flat(hid_t group, const std::string& name, const std::string& file,
                         std::optional<index_type> expected = std::nullopt) {
  if (H5Lexists(group, name.c_str(), H5P_DEFAULT) <= 0) {
    STRATA_THROW(IOError, file, " has no dataset ", name,
                 " where an HSS matrix written by Strata has one; the file is not a complete "
                 "Strata HSS file");
  }
  Handle set(H5Dopen2(group, name.c_str(), H5P_DEFAULT), H5Dclose,
             "cannot open dataset " + name + " in " + file);
  const std::string where = file + ": " + name;
  // Values must be floating point and tables integers: HDF5 would convert an int32 generator
  // silently, and the dense reader refuses integer data too.
  Handle type(H5Dget_type(set.get()), H5Tclose, "cannot read the type of " + name);
  const H5T_class_t type_class = H5Tget_class(type.get());
  const bool want_float = !std::is_same_v<T, index_type>;
  if (want_float && type_class != H5T_FLOAT) {
    STRATA_THROW(Unsupported, "dataset ", name, " in ", file, " has dtype ",
                 type_class == H5T_INTEGER ? "integer" : "non-numeric", " (",
                 8 * H5Tget_size(type.get()), "-bit); expected float32 or float64");
  }
  if (!want_float && type_class != H5T_INTEGER) {
    STRATA_THROW(Unsupported, "dataset ", name, " in ", file,
                 " does not hold integers; an HSS file stores its offsets, ranks and permutation "
                 "as int64");
  }
  io::detail::require_numeric_type(type.get(), want_float ? H5T_FLOAT : H5T_INTEGER,
                                   "dataset " + name + " in " + file);
  io::detail::require_filters_available(set.get(), where);
  Handle space(H5Dget_space(set.get()), H5Sclose, "cannot read the shape of " + name);
  const std::vector<index_type> dims = io::detail::dataset_extents(space.get(), where);
  if (dims.size() != 1) {
    STRATA_THROW(IOError, "dataset ", name, " in ", file, " is not 1-D as expected");
  }
  if (expected && dims[0] != *expected) {
    STRATA_THROW(IOError, "dataset ", name, " in ", file, " has ", dims[0],
                 " entries where the HSS structure stored beside it needs ", *expected,
                 "; the file is inconsistent");
  }
  require_host_memory(checked_bytes({dims[0]}, sizeof(T)),
                      "reading " + where + " (" + std::to_string(dims[0]) + " entries)");
  std::vector<T> out(static_cast<std::size_t>(dims[0]));
  if (!out.empty() &&
      H5Dread(set.get(), native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0) {
    STRATA_THROW(IOError, "cannot read dataset ", name, " from ", file);
  }
  return out;
}

long long read_integer_attribute(hid_t object, const std::string& name, const std::string& where) {
  if (H5Aexists(object, name.c_str()) <= 0) {
    STRATA_THROW(IOError, where, " has no attribute '", name, "'; not a Strata HSS file");
  }
  Handle attr(H5Aopen(object, name.c_str(), H5P_DEFAULT), H5Aclose, "cannot open " + name);
  const std::string attribute = "attribute '" + name + "' of " + where;
  io::detail::require_single_value_attribute(attr.get(), attribute);
  Handle type(H5Aget_type(attr.get()), H5Tclose, "cannot read the type of " + name);
  io::detail::require_numeric_type(type.get(), H5T_INTEGER, attribute);
  long long value = 0;
  if (H5Aread(attr.get(), H5T_NATIVE_LLONG, &value) < 0) {
    STRATA_THROW(IOError, "cannot read attribute '", name, "' of ", where);
  }
  return value;
}

std::string read_string_attribute(hid_t object, const std::string& name, const std::string& where) {
  if (H5Aexists(object, name.c_str()) <= 0) {
    STRATA_THROW(IOError, where, " has no attribute '", name, "'; not a Strata HSS file");
  }
  Handle attr(H5Aopen(object, name.c_str(), H5P_DEFAULT), H5Aclose, "cannot open " + name);
  Handle type(H5Aget_type(attr.get()), H5Tclose, "cannot read the type of " + name);
  const std::string attribute = "attribute '" + name + "' of " + where;
  io::detail::require_single_value_attribute(attr.get(), attribute);
  if (H5Tget_class(type.get()) != H5T_STRING) {
    STRATA_THROW(IOError, attribute, " is not a string; not a Strata HSS file");
  }
  if (H5Tis_variable_str(type.get()) > 0) {
    char* text = nullptr;
    Handle mem(H5Tget_native_type(type.get(), H5T_DIR_ASCEND), H5Tclose, "HDF5 type");
    H5Aread(attr.get(), mem.get(), &text);
    std::string out = text ? text : "";
    H5free_memory(text);
    return out;
  }
  std::string out(io::detail::string_attribute_size(type.get(), attribute), '\0');
  if (H5Aread(attr.get(), type.get(), out.data()) < 0) {
    STRATA_THROW(IOError, "cannot read ", attribute);
  }
  while (!out.empty() && out.back() == '\0') out.pop_back();
  return out;
}

Handle open_file(const std::string& file) {
  const auto silence = H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  (void)silence;
  if (FILE* probe = std::fopen(file.c_str(), "rb")) {
    std::fclose(probe);
  } else {
    STRATA_THROW(IOError, "cannot open HSS file ", file, ": no such file or not readable");
  }
  return Handle(H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose,
                "cannot open " + file + " as an HDF5 file");
}

Handle open_group(hid_t file_id, const std::string& group, const std::string& file) {
  if (H5Lexists(file_id, group.c_str(), H5P_DEFAULT) <= 0) {
    STRATA_THROW(IOError, file, " has no group ", group, " (expected an HSS matrix there)");
  }
  return Handle(H5Gopen2(file_id, group.c_str(), H5P_DEFAULT), H5Gclose,
                "cannot open group " + group + " in " + file);
}

/// Bytes of the generators HssMatrix(tree, ranks) allocates (layout of hss_matrix.cpp), in long
/// double so that ranks from a crafted file cannot overflow; ranks outside [0, basis rows] are
/// clamped here and refused by HssMatrix's own checks.
template <class T>
long double generator_bytes(const ClusterTree& tree, const HssRanks& ranks) {
  const int levels = tree.levels();
  long double entries = 0;
  std::vector<long double> child_row, child_col;
  for (int l = levels; l >= 1; --l) {
    const index_type nodes = ClusterTree::nodes_on_level(l);
    const auto& rr = ranks.row[static_cast<std::size_t>(l)];
    const auto& cr = ranks.col[static_cast<std::size_t>(l)];
    if (static_cast<index_type>(rr.size()) != nodes ||
        static_cast<index_type>(cr.size()) != nodes) {
      return 0;  // HssMatrix refuses the table before it allocates anything
    }
    std::vector<long double> row(static_cast<std::size_t>(nodes)), col(row.size());
    for (index_type i = 0; i < nodes; ++i) {
      const auto k = static_cast<std::size_t>(i);
      const long double urows = l == levels ? static_cast<long double>(tree.node_size(l, i))
                                            : child_row[2 * k] + child_row[2 * k + 1];
      const long double vrows = l == levels ? static_cast<long double>(tree.node_size(l, i))
                                            : child_col[2 * k] + child_col[2 * k + 1];
      row[k] = std::clamp(static_cast<long double>(rr[k]), 0.0L, urows);
      col[k] = std::clamp(static_cast<long double>(cr[k]), 0.0L, vrows);
      entries += urows * row[k] + vrows * col[k];
    }
    for (std::size_t k = 0; k < row.size(); ++k) entries += row[k] * col[k ^ 1];
    child_row = std::move(row);
    child_col = std::move(col);
  }
  for (index_type i = 0; i < ClusterTree::nodes_on_level(levels); ++i) {
    const auto m = static_cast<long double>(tree.node_size(levels, i));
    entries += m * m;
  }
  return entries * sizeof(T);
}

}  // namespace
#endif

template <class T>
void save_hss(const Comm& comm, const std::string& file, const HssMatrix<T>& a,
              const std::string& group, const std::vector<std::string>& inputs) {
#if STRATA_HAVE_HDF5
  // Through the one atomic writer of io/hdf5.hpp, replacing the file. Every rank takes part in the
  // collective writer but only rank 0's matrix is read: the others pass no data (the writer takes
  // rank 0's lengths and attribute values), and the number of levels is rank 0's, so that all
  // ranks make the same calls.
  const bool root = comm.is_root();
  const int levels = std::stoi(comm.broadcast(std::to_string(a.levels()), 0));
  io::FileWriter writer(comm, file, io::WriteMode::replace_file, inputs);
  const std::string base = group == "/" ? std::string() : group;
  const auto put = [&](const std::string& name, const auto& view) {
    if (!root) {
      writer.write(base + "/" + name,
                   static_cast<const typename std::decay_t<decltype(view)>::value_type*>(nullptr),
                   0);
      return;
    }
    const auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, view);
    writer.write(base + "/" + name, host.data(), host.extent(0));
  };
  put("permutation", a.tree().permutation());
  put("leaves/D", a.d());
  put("leaves/D_offsets", a.d_offset());
  for (int l = 1; l <= levels; ++l) {
    const std::string name = "level_" + std::to_string(l) + "/";
    const HssLevel<T>* lv = root ? &a.level(l) : nullptr;
    const auto put_level = [&](const char* what, const auto member) {
      using View = std::decay_t<decltype(a.level(1).*member)>;
      put(name + what, lv ? lv->*member : View());
    };
    put_level("U", &HssLevel<T>::u);
    put_level("V", &HssLevel<T>::v);
    put_level("B", &HssLevel<T>::b);
    put_level("U_offsets", &HssLevel<T>::u_offset);
    put_level("V_offsets", &HssLevel<T>::v_offset);
    put_level("B_offsets", &HssLevel<T>::b_offset);
    put_level("row_rank", &HssLevel<T>::row_rank);
    put_level("col_rank", &HssLevel<T>::col_rank);
  }
  const std::string object = group.empty() ? "/" : group;
  writer.set_attribute(object, "format", std::string("strata-hss"));
  writer.set_integer_attribute(object, "version", 1);
  writer.set_integer_attribute(object, "n", root ? a.size() : 0);
  writer.set_integer_attribute(object, "levels", levels);
  writer.set_integer_attribute(object, "leaf_size", root ? a.tree().max_leaf_size() : 0);
  writer.set_attribute(object, "dtype", std::string(scalar_name<T>()));
  writer.commit();
#else
  (void)comm;
  (void)file;
  (void)a;
  (void)group;
  (void)inputs;
  STRATA_THROW(Unsupported, "save_hss: this Strata build has no HDF5 support");
#endif
}

template <class T>
HssMatrix<T> load_hss(const Comm& comm, const std::string& file, const std::string& group) {
#if STRATA_HAVE_HDF5
  return collective(comm, [&] {
    Handle f = open_file(file);
    Handle g = open_group(f.get(), group, file);
    const std::string where = file + ":" + group;
    const long long version = read_integer_attribute(g.get(), "version", where);
    STRATA_REQUIRE(version == 1, IOError, where, " has HSS format version ", version,
                   "; this Strata reads version 1");
    const long long n_stored = read_integer_attribute(g.get(), "n", where);
    const long long levels_stored = read_integer_attribute(g.get(), "levels", where);
    STRATA_REQUIRE(levels_stored >= 0 && levels_stored <= 40, IOError, where, " declares ",
                   levels_stored, " levels; a Strata HSS file has 0 to 40");
    const auto n = static_cast<index_type>(n_stored);
    const auto levels = static_cast<int>(levels_stored);
    // The permutation has n entries in every file Strata writes; its length, checked against the
    // memory by read_flat, bounds every size that follows.
    STRATA_REQUIRE(n >= 1, IOError, where, " declares n = ", n, "; an HSS matrix has n >= 1");
    const auto perm = read_flat<index_type>(g.get(), "permutation", file, n);
    bool identity = true;
    for (std::size_t i = 0; i < perm.size(); ++i) {
      identity = identity && perm[i] == static_cast<index_type>(i);
    }
    const ClusterTree tree =
        ClusterTree::with_permutation(n, levels, identity ? std::vector<index_type>{} : perm);
    HssRanks ranks;
    ranks.row.resize(static_cast<std::size_t>(levels) + 1);
    ranks.col.resize(ranks.row.size());
    for (int l = 1; l <= levels; ++l) {
      Handle lg = open_group(g.get(), "level_" + std::to_string(l), file);
      const index_type nodes = index_type(1) << l;  // level l of the complete binary tree
      ranks.row[static_cast<std::size_t>(l)] =
          read_flat<index_type>(lg.get(), "row_rank", file, nodes);
      ranks.col[static_cast<std::size_t>(l)] =
          read_flat<index_type>(lg.get(), "col_rank", file, nodes);
    }
    const long double bytes = generator_bytes<T>(tree, ranks);
    require_host_memory(
        bytes < 1.8e19L ? std::optional<std::uint64_t>(static_cast<std::uint64_t>(std::ceil(bytes)))
                        : std::nullopt,
        "the HSS matrix of " + where + " (n = " + std::to_string(n) + ")");
    HssMatrix<T> a(tree, ranks);
    const auto load = [&](hid_t loc, const std::string& name, const FlatArray<T>& dst,
                          const std::string& offsets_name, const HostIndexArray& offsets) {
      const auto stored = read_flat<index_type>(loc, offsets_name, file,
                                                static_cast<index_type>(offsets.extent(0)));
      const auto values = read_flat<T>(loc, name, file, static_cast<index_type>(dst.extent(0)));
      bool same = stored.size() == offsets.extent(0);
      for (std::size_t i = 0; same && i < stored.size(); ++i) same = stored[i] == offsets(i);
      STRATA_REQUIRE(same && values.size() == dst.extent(0), InvalidArgument, where, ": ", name,
                     " holds ", values.size(), " values and offsets that do not match its ranks (",
                     dst.extent(0), " values expected); the file is inconsistent");
      Kokkos::View<const T*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> h(
          values.data(), values.size());
      Kokkos::deep_copy(dst, h);
    };
    {
      Handle leaves = open_group(g.get(), "leaves", file);
      load(leaves.get(), "D", a.d(), "D_offsets", a.d_offset_host());
    }
    for (int l = 1; l <= levels; ++l) {
      Handle lg = open_group(g.get(), "level_" + std::to_string(l), file);
      HssLevel<T>& lv = a.level(l);
      load(lg.get(), "U", lv.u, "U_offsets", lv.u_offset_host);
      load(lg.get(), "V", lv.v, "V_offsets", lv.v_offset_host);
      load(lg.get(), "B", lv.b, "B_offsets", lv.b_offset_host);
    }
    Kokkos::fence();
    return a;
  });
#else
  (void)comm;
  (void)file;
  (void)group;
  STRATA_THROW(Unsupported, "load_hss: this Strata build has no HDF5 support");
#endif
}

std::string stored_hss_dtype(const Comm& comm, const std::string& file, const std::string& group) {
#if STRATA_HAVE_HDF5
  return collective(comm, [&] {
    Handle f = open_file(file);
    Handle g = open_group(f.get(), group, file);
    return read_string_attribute(g.get(), "dtype", file + ":" + group);
  });
#else
  (void)comm;
  (void)file;
  (void)group;
  STRATA_THROW(Unsupported, "stored_hss_dtype: this Strata build has no HDF5 support");
#endif
}

#define STRATA_HSS_IO_INSTANTIATE(T)                                              \
  template void save_hss<T>(const Comm&, const std::string&, const HssMatrix<T>&, \
                            const std::string&, const std::vector<std::string>&); \
  template HssMatrix<T> load_hss<T>(const Comm&, const std::string&, const std::string&);
STRATA_HSS_IO_INSTANTIATE(float)
STRATA_HSS_IO_INSTANTIATE(double)
#undef STRATA_HSS_IO_INSTANTIATE

}  // namespace strata::hss
