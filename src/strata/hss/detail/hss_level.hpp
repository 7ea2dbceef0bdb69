// An HssLevel (hss_matrix.hpp layout) built from its ranks and basis rows, for the distributed
// builders that assemble the replicated top levels of a DistHssMatrix node by node.
#pragma once

#include <string>
#include <vector>

#include "strata/hss/hss_matrix.hpp"

namespace strata::hss::detail {

// An HssLevel with the given ranks and basis rows (zero-filled generators), HssMatrix layout.
template <class T>
inline HssLevel<T> make_level(int level, const std::vector<int>& r, const std::vector<int>& c,
                              const std::vector<int>& u_rows, const std::vector<int>& v_rows) {
  HssLevel<T> lv;
  lv.level = level;
  lv.nodes = static_cast<index_type>(r.size());
  const index_type n = lv.nodes;
  const std::string tag = "strata::hss::dist::level" + std::to_string(level) + "::";
  const auto table = [&](const std::string& name, index_type len) {
    return HostIndexArray(tag + name, static_cast<std::size_t>(len));
  };
  lv.row_rank_host = table("row_rank", n);
  lv.col_rank_host = table("col_rank", n);
  lv.u_rows_host = table("u_rows", n);
  lv.v_rows_host = table("v_rows", n);
  lv.u_offset_host = table("u_offset", n + 1);
  lv.v_offset_host = table("v_offset", n + 1);
  lv.b_offset_host = table("b_offset", n + 1);
  lv.row_rank_offset_host = table("row_rank_offset", n + 1);
  lv.col_rank_offset_host = table("col_rank_offset", n + 1);
  for (index_type i = 0; i <= n; ++i) {
    if (i == 0) {
      lv.u_offset_host(0) = lv.v_offset_host(0) = lv.b_offset_host(0) = 0;
      lv.row_rank_offset_host(0) = lv.col_rank_offset_host(0) = 0;
      continue;
    }
    const auto k = static_cast<std::size_t>(i - 1);
    lv.row_rank_host(i - 1) = r[k];
    lv.col_rank_host(i - 1) = c[k];
    lv.u_rows_host(i - 1) = u_rows[k];
    lv.v_rows_host(i - 1) = v_rows[k];
    lv.u_offset_host(i) = lv.u_offset_host(i - 1) + index_type(u_rows[k]) * r[k];
    lv.v_offset_host(i) = lv.v_offset_host(i - 1) + index_type(v_rows[k]) * c[k];
    lv.b_offset_host(i) = lv.b_offset_host(i - 1) + index_type(r[k]) * c[k ^ 1];
    lv.row_rank_offset_host(i) = lv.row_rank_offset_host(i - 1) + r[k];
    lv.col_rank_offset_host(i) = lv.col_rank_offset_host(i - 1) + c[k];
  }
  const auto dev = [&](const HostIndexArray& h, const std::string& name) {
    IndexArray d(tag + name, h.extent(0));
    Kokkos::deep_copy(d, h);
    return d;
  };
  lv.row_rank = dev(lv.row_rank_host, "row_rank");
  lv.col_rank = dev(lv.col_rank_host, "col_rank");
  lv.u_rows = dev(lv.u_rows_host, "u_rows");
  lv.v_rows = dev(lv.v_rows_host, "v_rows");
  lv.u_offset = dev(lv.u_offset_host, "u_offset");
  lv.v_offset = dev(lv.v_offset_host, "v_offset");
  lv.b_offset = dev(lv.b_offset_host, "b_offset");
  lv.row_rank_offset = dev(lv.row_rank_offset_host, "row_rank_offset");
  lv.col_rank_offset = dev(lv.col_rank_offset_host, "col_rank_offset");
  lv.u = FlatArray<T>(tag + "U", static_cast<std::size_t>(lv.u_offset_host(n)));
  lv.v = FlatArray<T>(tag + "V", static_cast<std::size_t>(lv.v_offset_host(n)));
  lv.b = FlatArray<T>(tag + "B", static_cast<std::size_t>(lv.b_offset_host(n)));
  return lv;
}

}  // namespace strata::hss::detail
