// Umbrella header: everything in Strata's public API.
#pragma once

#include "strata/config.hpp"
#include "strata/core/build_info.hpp"
#include "strata/core/checks.hpp"
#include "strata/core/error.hpp"
#include "strata/core/progress.hpp"
#include "strata/core/random.hpp"
#include "strata/core/runtime.hpp"
#include "strata/core/types.hpp"
#include "strata/dist/block_row_layout.hpp"
#include "strata/dist/collective.hpp"
#include "strata/dist/comm.hpp"
#include "strata/dist/dist_matrix.hpp"
#include "strata/dist/linear_operator.hpp"
#include "strata/dist/operations.hpp"
#include "strata/linalg/blas.hpp"
#include "strata/linalg/host_lapack.hpp"
#include "strata/linalg/norms.hpp"
#include "strata/polar/muon.hpp"
#include "strata/polar/newton_schulz.hpp"
#include "strata/polar/schedule.hpp"
#if STRATA_HAVE_HDF5
#include "strata/io/hdf5.hpp"
#endif
