#include "strata/hss/hss_io.hpp"

#include <cstdio>
#include <memory>
#include <vector>

#include "strata/config.hpp"
#include "strata/core/error.hpp"
#include "strata/dist/collective.hpp"

#if STRATA_HAVE_HDF5
#include <hdf5.h>
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

template <class T>
void write_flat(hid_t group, const std::string& name, const T* data, std::size_t count,
                const std::string& file) {
  const hsize_t dims[1] = {static_cast<hsize_t>(count)};
  Handle space(H5Screate_simple(1, dims, nullptr), H5Sclose, "HDF5: cannot create a dataspace");
  Handle set(H5Dcreate2(group, name.c_str(), native_type<T>(), space.get(), H5P_DEFAULT,
                        H5P_DEFAULT, H5P_DEFAULT),
             H5Dclose, "cannot create dataset " + name + " in " + file);
  if (count > 0 && H5Dwrite(set.get(), native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
    STRATA_THROW(IOError, "cannot write dataset ", name, " to ", file);
  }
}

template <class View>
void write_view(hid_t group, const std::string& name, const View& v, const std::string& file) {
  const auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, v);
  write_flat(group, name, h.data(), h.extent(0), file);
}

template <class T>
std::vector<T> read_flat(hid_t group, const std::string& name, const std::string& file) {
  if (H5Lexists(group, name.c_str(), H5P_DEFAULT) <= 0) {
    STRATA_THROW(IOError, file, " has no dataset ", name,
                 " where an HSS matrix written by Strata has one; the file is not a complete "
                 "Strata HSS file");
  }
  Handle set(H5Dopen2(group, name.c_str(), H5P_DEFAULT), H5Dclose,
             "cannot open dataset " + name + " in " + file);
  Handle space(H5Dget_space(set.get()), H5Sclose, "cannot read the shape of " + name);
  hsize_t dims[1] = {0};
  if (H5Sget_simple_extent_ndims(space.get()) != 1) {
    STRATA_THROW(IOError, "dataset ", name, " in ", file, " is not 1-D as expected");
  }
  H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  std::vector<T> out(static_cast<std::size_t>(dims[0]));
  if (!out.empty() &&
      H5Dread(set.get(), native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0) {
    STRATA_THROW(IOError, "cannot read dataset ", name, " from ", file);
  }
  return out;
}

void write_attribute(hid_t object, const std::string& name, long long value) {
  Handle space(H5Screate(H5S_SCALAR), H5Sclose, "HDF5: cannot create a dataspace");
  Handle attr(
      H5Acreate2(object, name.c_str(), H5T_NATIVE_LLONG, space.get(), H5P_DEFAULT, H5P_DEFAULT),
      H5Aclose, "cannot create attribute " + name);
  H5Awrite(attr.get(), H5T_NATIVE_LLONG, &value);
}

void write_attribute(hid_t object, const std::string& name, const std::string& value) {
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose, "HDF5: cannot create a string type");
  H5Tset_size(type.get(), value.size());
  Handle space(H5Screate(H5S_SCALAR), H5Sclose, "HDF5: cannot create a dataspace");
  Handle attr(H5Acreate2(object, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
              H5Aclose, "cannot create attribute " + name);
  H5Awrite(attr.get(), type.get(), value.c_str());
}

long long read_integer_attribute(hid_t object, const std::string& name, const std::string& where) {
  if (H5Aexists(object, name.c_str()) <= 0) {
    STRATA_THROW(IOError, where, " has no attribute '", name, "'; not a Strata HSS file");
  }
  Handle attr(H5Aopen(object, name.c_str(), H5P_DEFAULT), H5Aclose, "cannot open " + name);
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
  if (H5Tis_variable_str(type.get()) > 0) {
    char* text = nullptr;
    Handle mem(H5Tget_native_type(type.get(), H5T_DIR_ASCEND), H5Tclose, "HDF5 type");
    H5Aread(attr.get(), mem.get(), &text);
    std::string out = text ? text : "";
    H5free_memory(text);
    return out;
  }
  std::string out(H5Tget_size(type.get()), '\0');
  H5Aread(attr.get(), type.get(), out.data());
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

}  // namespace
#endif

template <class T>
void save_hss(const Comm& comm, const std::string& file, const HssMatrix<T>& a,
              const std::string& group) {
#if STRATA_HAVE_HDF5
  collective(comm, [&] {
    if (!comm.is_root()) return;
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    const std::string temp = file + ".strata-tmp";
    {
      Handle f(H5Fcreate(temp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose,
               "cannot create " + temp + " (is the directory writable?)");
      Handle lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose, "HDF5 property list");
      H5Pset_create_intermediate_group(lcpl.get(), 1);
      Handle g(H5Gcreate2(f.get(), group.c_str(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT), H5Gclose,
               "cannot create group " + group + " in " + file);
      write_attribute(g.get(), "format", std::string("strata-hss"));
      write_attribute(g.get(), "version", 1LL);
      write_attribute(g.get(), "n", static_cast<long long>(a.size()));
      write_attribute(g.get(), "levels", static_cast<long long>(a.levels()));
      write_attribute(g.get(), "leaf_size", static_cast<long long>(a.tree().max_leaf_size()));
      write_attribute(g.get(), "dtype", std::string(scalar_name<T>()));
      write_view(g.get(), "permutation", a.tree().permutation(), file);
      {
        Handle leaves(H5Gcreate2(g.get(), "leaves", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                      H5Gclose, "cannot create group leaves in " + file);
        write_view(leaves.get(), "D", a.d(), file);
        write_view(leaves.get(), "D_offsets", a.d_offset(), file);
      }
      for (int l = 1; l <= a.levels(); ++l) {
        const HssLevel<T>& lv = a.level(l);
        const std::string name = "level_" + std::to_string(l);
        Handle lg(H5Gcreate2(g.get(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                  H5Gclose, "cannot create group " + name + " in " + file);
        write_view(lg.get(), "U", lv.u, file);
        write_view(lg.get(), "V", lv.v, file);
        write_view(lg.get(), "B", lv.b, file);
        write_view(lg.get(), "U_offsets", lv.u_offset, file);
        write_view(lg.get(), "V_offsets", lv.v_offset, file);
        write_view(lg.get(), "B_offsets", lv.b_offset, file);
        write_view(lg.get(), "row_rank", lv.row_rank, file);
        write_view(lg.get(), "col_rank", lv.col_rank, file);
      }
    }
    if (std::rename(temp.c_str(), file.c_str()) != 0) {
      std::remove(temp.c_str());
      STRATA_THROW(IOError, "cannot move the finished ", temp, " to ", file);
    }
  });
#else
  (void)comm;
  (void)file;
  (void)a;
  (void)group;
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
    const auto n = static_cast<index_type>(read_integer_attribute(g.get(), "n", where));
    const auto levels = static_cast<int>(read_integer_attribute(g.get(), "levels", where));
    const auto perm = read_flat<index_type>(g.get(), "permutation", file);
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
      ranks.row[static_cast<std::size_t>(l)] = read_flat<index_type>(lg.get(), "row_rank", file);
      ranks.col[static_cast<std::size_t>(l)] = read_flat<index_type>(lg.get(), "col_rank", file);
    }
    HssMatrix<T> a(tree, ranks);
    const auto load = [&](hid_t loc, const std::string& name, const FlatArray<T>& dst,
                          const std::string& offsets_name, const HostIndexArray& offsets) {
      const auto values = read_flat<T>(loc, name, file);
      const auto stored = read_flat<index_type>(loc, offsets_name, file);
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
                            const std::string&);                                  \
  template HssMatrix<T> load_hss<T>(const Comm&, const std::string&, const std::string&);
STRATA_HSS_IO_INSTANTIATE(float)
STRATA_HSS_IO_INSTANTIATE(double)
#undef STRATA_HSS_IO_INSTANTIATE

}  // namespace strata::hss
