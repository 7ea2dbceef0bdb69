// The range finders with the switches the drivers need (symmetric operators, estimate or not).
#pragma once

#include "strata/core/scratch.hpp"
#include "strata/sketch/range_finder.hpp"

namespace strata::sketch::detail {

/// Throws InvalidArgument for options that do not fit an m x n operator.
void check_low_rank_options(index_type rows, index_type cols, const LowRankOptions& o,
                            bool adaptive);
/// l = min(k + p, min(m, n)).
index_type sketch_size(index_type rows, index_type cols, const LowRankOptions& o);

/// `symmetric`: products with A^T use apply (A^T = A). `estimate`: form the posterior estimate.
/// With `scratch`, the test matrix and the basis take their storage from it (core/scratch.hpp):
/// the basis is then valid while `scratch` lives (for drivers that consume it before returning).
template <class T>
RangeFinderResult<T> fixed_range_finder(const ExecSpace& exec, const LinearOperator<T>& a,
                                        const LowRankOptions& o, bool symmetric, bool estimate,
                                        strata::detail::Scratch* scratch = nullptr);
template <class T>
RangeFinderResult<T> blocked_range_finder(const ExecSpace& exec, const LinearOperator<T>& a,
                                          const LowRankOptions& o, bool symmetric);

}  // namespace strata::sketch::detail
