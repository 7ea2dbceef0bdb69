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

}  // namespace strata::io::detail
