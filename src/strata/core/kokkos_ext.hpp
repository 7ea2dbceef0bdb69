// Umbrella header of the Kokkos 3.4 / 4.x compatibility layer (namespace strata::kx).
#pragma once

#include "strata/core/kokkos_ext/fence.hpp"
#include "strata/core/kokkos_ext/launch.hpp"
#include "strata/core/kokkos_ext/math.hpp"
#include "strata/core/kokkos_ext/scalar.hpp"
#include "strata/core/kokkos_ext/spaces.hpp"
#include "strata/core/kokkos_ext/version.hpp"
