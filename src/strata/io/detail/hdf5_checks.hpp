// Checks on an open HDF5 dataset shared by the dense reader (hdf5.cpp) and the HSS reader
// (hss/hss_io.cpp). Only for sources built with HDF5.
#pragma once

#include <hdf5.h>

#include <string>
#include <vector>

#include "strata/core/types.hpp"

namespace strata::io::detail {

/// Throws Unsupported naming the first filter of the dataset's pipeline (compression, checksum)
/// that this HDF5 library cannot apply, e.g. lzf, which h5py registers but HDF5 lacks.
void require_filters_available(hid_t dataset, const std::string& where);

/// The extents of a dataspace (file order). Throws InvalidArgument when one exceeds 2^63 - 1.
std::vector<index_type> dataset_extents(hid_t space, const std::string& where);

/// The stored element type of a dataset that Strata reads as numbers: class `wanted` (H5T_FLOAT:
/// 4 or 8 bytes; H5T_INTEGER: 1, 2, 4 or 8 bytes). A crafted type of another size would make
/// HDF5's conversion allocate a buffer of that size per element. Throws Unsupported otherwise.
void require_numeric_type(hid_t type, H5T_class_t wanted, const std::string& where);

/// An attribute holds exactly one value (scalar dataspace or one element): reading it into a
/// one-value buffer is then safe. Throws IOError otherwise.
void require_single_value_attribute(hid_t attribute, const std::string& where);

/// The byte size of a fixed-length string attribute's type, refused above 64 KiB (Strata writes
/// short names and notes; a crafted size would be allocated before reading).
std::size_t string_attribute_size(hid_t type, const std::string& where);

}  // namespace strata::io::detail
