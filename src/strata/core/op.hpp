// The one transpose flag of Strata's public API: op(A) = A or A^T.
#pragma once

namespace strata {

/// op(A) = A (none) or A^T (transpose). Real scalars only, so A^T = A^*.
enum class Op { none, transpose };

}  // namespace strata
