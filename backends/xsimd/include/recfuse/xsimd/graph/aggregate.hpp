// recfuse xsimd backend: the kernels of neighbour aggregation (recfuse/graph/aggregate.hpp).
//
// - aggregate_kernel: rows split into chunks of equal (edges + rows), since power-law graphs put
//   most edges in few rows; per row, the features are walked in blocks of up to 8 batches held in
//   registers while the row's neighbours are gathered (a software prefetch runs a few
//   neighbours ahead, since a random gather defeats the hardware prefetcher), then a scalar tail.
//   Sums accumulate in T with FMA; max keeps a NaN mask beside the running maximum.
// - aggregate_backward_kernel (sum, mean, gcn): a scatter in which each thread owns a range of
//   destination rows (balanced by in-degree) and applies, in row order, the edges that land in
//   it, so every grad_x row receives its terms in the same order on any thread count (no
//   transpose, which costs as much as the gather itself on a power-law graph). max: the arg-max
//   of each output entry in parallel over rows, then a serial scatter in row order.
#pragma once

#include "recfuse/xsimd/detail/xsimd.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <type_traits>
#include <vector>

#include "recfuse/graph/aggregate.hpp"
#include "recfuse/reference/graph/aggregate.hpp"
#include "recfuse/xsimd/detail/parallel.hpp"
#include "recfuse/xsimd/graph/detail/partition.hpp"
#include "recfuse/xsimd/policy.hpp"

namespace recfuse::xsimd_backend {
namespace detail {

// Gathers the rows [b, e) of one node for the columns [c0, c0 + NB * lanes):
//   max:  y = max_p coef_p x_{j_p}       (0 for an empty row; NaN if any term is NaN: the
//         mask comes from xsimd::isnan, since batch != batch is an ordered compare on AVX)
//   else: y = scale * (self_coef * self + sum_p coef_p x_{j_p}),
// coef_p = (EdgeW ? ew[p] : 1) * (NodeF ? nf[j_p] : 1).
template <int NB, bool Max, bool EdgeW, bool NodeF, class T, class Index>
inline void graph_gather_block(const Index* idx, const T* ew, const T* nf, index_t b, index_t e,
                               const T* x, index_t ldx, index_t c0, const T* self, T self_coef,
                               T scale, T* y, index_t pf_end, bool warm) {
  using batch = ::xsimd::batch<T>;
  constexpr index_t lanes = batch::size;
  constexpr index_t prefetch_distance = 6;
  constexpr index_t lines = (NB * lanes * static_cast<index_t>(sizeof(T)) + 63) / 64;
  batch acc[NB];
  auto coef = [&](index_t p) {
    T c = T(1);
    if constexpr (EdgeW) c = ew[p];
    if constexpr (NodeF) c *= nf[idx[p]];
    return c;
  };
  auto prefetch = [&](index_t p) {
    if (p < pf_end) {
      const char* row = reinterpret_cast<const char*>(x + static_cast<index_t>(idx[p]) * ldx + c0);
      for (index_t l = 0; l < lines; ++l) __builtin_prefetch(row + 64 * l);
    }
  };
  if (!warm) {
    for (index_t p = b; p < std::min(e, b + prefetch_distance); ++p) prefetch(p);
  }
  if constexpr (Max) {
    if (b == e) {
      for (int k = 0; k < NB; ++k) batch(T(0)).store_unaligned(y + c0 + k * lanes);
      return;
    }
    typename batch::batch_bool_type nan[NB];
    {
      prefetch(b + prefetch_distance);
      const T* xj = x + static_cast<index_t>(idx[b]) * ldx + c0;
      const batch cb(coef(b));
      for (int k = 0; k < NB; ++k) {
        acc[k] = batch::load_unaligned(xj + k * lanes);
        if constexpr (EdgeW) acc[k] *= cb;
        nan[k] = ::xsimd::isnan(acc[k]);
      }
    }
    for (index_t p = b + 1; p < e; ++p) {
      prefetch(p + prefetch_distance);
      const T* xj = x + static_cast<index_t>(idx[p]) * ldx + c0;
      const batch cb(coef(p));
      for (int k = 0; k < NB; ++k) {
        batch v = batch::load_unaligned(xj + k * lanes);
        if constexpr (EdgeW) v *= cb;
        nan[k] = nan[k] | ::xsimd::isnan(v);
        acc[k] = ::xsimd::select(v > acc[k], v, acc[k]);
      }
    }
    // A lane that saw a NaN anywhere is NaN: any NaN among the neighbours wins, as on the
    // reference.
    const batch qnan(std::numeric_limits<T>::quiet_NaN());
    for (int k = 0; k < NB; ++k) {
      ::xsimd::select(nan[k], qnan, acc[k]).store_unaligned(y + c0 + k * lanes);
    }
    (void)nf;
  } else {
    if (self != nullptr) {
      const batch sc(self_coef);
      for (int k = 0; k < NB; ++k) acc[k] = sc * batch::load_unaligned(self + c0 + k * lanes);
    } else {
      for (int k = 0; k < NB; ++k) acc[k] = batch(T(0));
    }
    for (index_t p = b; p < e; ++p) {
      prefetch(p + prefetch_distance);
      const T* xj = x + static_cast<index_t>(idx[p]) * ldx + c0;
      if constexpr (EdgeW || NodeF) {
        const batch cb(coef(p));
        for (int k = 0; k < NB; ++k) {
          acc[k] = ::xsimd::fma(cb, batch::load_unaligned(xj + k * lanes), acc[k]);
        }
      } else {
        for (int k = 0; k < NB; ++k) acc[k] += batch::load_unaligned(xj + k * lanes);
      }
    }
    const batch s(scale);
    for (int k = 0; k < NB; ++k) (acc[k] * s).store_unaligned(y + c0 + k * lanes);
  }
}

// The same for the columns [c0, d) (fewer than one batch), in scalar arithmetic with the same
// operation order.
template <bool Max, bool EdgeW, bool NodeF, class T, class Index>
inline void graph_gather_tail(const Index* idx, const T* ew, const T* nf, index_t b, index_t e,
                              const T* x, index_t ldx, index_t c0, index_t d, const T* self,
                              T self_coef, T scale, T* y) {
  constexpr index_t max_lanes = 64;
  T acc[max_lanes];
  bool nan[max_lanes];
  const index_t w = d - c0;
  auto coef = [&](index_t p) {
    T c = T(1);
    if constexpr (EdgeW) c = ew[p];
    if constexpr (NodeF) c *= nf[idx[p]];
    return c;
  };
  if constexpr (Max) {
    if (b == e) {
      for (index_t c = 0; c < w; ++c) y[c0 + c] = T(0);
      return;
    }
    for (index_t p = b; p < e; ++p) {
      const T* xj = x + static_cast<index_t>(idx[p]) * ldx + c0;
      const T cp = coef(p);
      for (index_t c = 0; c < w; ++c) {
        T v = xj[c];
        if constexpr (EdgeW) v *= cp;
        if (p == b) {
          acc[c] = v;
          nan[c] = v != v;
        } else {
          nan[c] = nan[c] || v != v;
          acc[c] = v > acc[c] ? v : acc[c];
        }
      }
    }
    for (index_t c = 0; c < w; ++c) {
      y[c0 + c] = nan[c] ? std::numeric_limits<T>::quiet_NaN() : acc[c];
    }
    (void)nf;
  } else {
    for (index_t c = 0; c < w; ++c) acc[c] = self != nullptr ? self_coef * self[c0 + c] : T(0);
    for (index_t p = b; p < e; ++p) {
      const T* xj = x + static_cast<index_t>(idx[p]) * ldx + c0;
      if constexpr (EdgeW || NodeF) {
        const T cp = coef(p);
        for (index_t c = 0; c < w; ++c) acc[c] = std::fma(cp, xj[c], acc[c]);
      } else {
        for (index_t c = 0; c < w; ++c) acc[c] += xj[c];
      }
    }
    for (index_t c = 0; c < w; ++c) y[c0 + c] = acc[c] * scale;
  }
}

// out_i = gather over row i of (offsets, idx) for every row, in parallel; self_coef and
// row_scale are per-row arrays (null: no self term / scale 1).
template <bool Max, bool EdgeW, bool NodeF, class T, class Index>
void graph_gather_rows(const policy& p, index_t rows, const index_t* offsets, const Index* idx,
                       std::type_identity_t<const T*> ew, std::type_identity_t<const T*> nf,
                       matrix_view<const T> x, std::type_identity_t<const T*> self_coef,
                       std::type_identity_t<const T*> row_scale, matrix_view<T> out) {
  using batch = ::xsimd::batch<T>;
  constexpr index_t lanes = batch::size;
  const index_t d = x.cols();
  const index_t work = offsets[rows] + rows;
  const int chunks = graph_chunks(p, work * std::max<index_t>(1, d / lanes));
  const auto bounds =
      graph_balanced_bounds(rows, chunks, [&](index_t i) { return offsets[i] - offsets[0] + i; });
  const index_t blocks = d / lanes;
  const bool one_block =
      d % lanes == 0 && (blocks == 1 || blocks == 2 || blocks == 4 || blocks == 8);
  graph_for_bounds(p, bounds, [&](index_t, index_t begin, index_t end) {
    for (index_t i = begin; i < end; ++i) {
      const index_t b = offsets[i], e = offsets[i + 1];
      const T* self = self_coef != nullptr ? x.row(i) : nullptr;
      const T sc = self_coef != nullptr ? self_coef[i] : T(0);
      const T scale = row_scale != nullptr ? row_scale[i] : T(1);
      T* y = out.row(i);
      // A row that is one block wide prefetches into the next rows of its chunk, so the
      // pipeline of prefetches does not restart at every row.
      const index_t pf_end = one_block ? offsets[end] : e;
      const bool warm = one_block && i > begin;
      index_t c0 = 0;
      for (; c0 + 8 * lanes <= d; c0 += 8 * lanes) {
        graph_gather_block<8, Max, EdgeW, NodeF>(idx, ew, nf, b, e, x.data(), x.stride(), c0, self,
                                                 sc, scale, y, pf_end, warm);
      }
      if (c0 + 4 * lanes <= d) {
        graph_gather_block<4, Max, EdgeW, NodeF>(idx, ew, nf, b, e, x.data(), x.stride(), c0, self,
                                                 sc, scale, y, pf_end, warm);
        c0 += 4 * lanes;
      }
      if (c0 + 2 * lanes <= d) {
        graph_gather_block<2, Max, EdgeW, NodeF>(idx, ew, nf, b, e, x.data(), x.stride(), c0, self,
                                                 sc, scale, y, pf_end, warm);
        c0 += 2 * lanes;
      }
      if (c0 + lanes <= d) {
        graph_gather_block<1, Max, EdgeW, NodeF>(idx, ew, nf, b, e, x.data(), x.stride(), c0, self,
                                                 sc, scale, y, pf_end, warm);
        c0 += lanes;
      }
      if (c0 < d) {
        graph_gather_tail<Max, EdgeW, NodeF>(idx, ew, nf, b, e, x.data(), x.stride(), c0, d, self,
                                             sc, scale, y);
      }
    }
  });
}

// Per-row scales in T, computed in double as on the reference: mean -> 1 / sum of weights,
// gcn -> 1 / sqrt(1 + sum of weights).
template <class T, class Index>
std::vector<T> graph_row_scales(const policy& p, const csr_view<T, Index>& g, bool weighted,
                                bool gcn) {
  std::vector<T> s(static_cast<std::size_t>(g.rows()));
  for_each_index(p, g.rows(), 4096, [&](index_t i) {
    s[i] = static_cast<T>(gcn ? graph::detail::gcn_scale(g, i, weighted)
                              : graph::detail::mean_scale(g, i, weighted));
  });
  return s;
}

// gx_j += c * go_i over d elements (batches, then a scalar tail with the same rounding).
template <class T>
inline void graph_axpy_row(T c, const T* go, T* gx, index_t d) {
  using batch = ::xsimd::batch<T>;
  constexpr index_t lanes = batch::size;
  const batch cb(c);
  index_t k = 0;
  for (; k + 4 * lanes <= d; k += 4 * lanes) {
    for (index_t u = 0; u < 4 * lanes; u += lanes) {
      ::xsimd::fma(cb, batch::load_unaligned(go + k + u), batch::load_unaligned(gx + k + u))
          .store_unaligned(gx + k + u);
    }
  }
  for (; k + lanes <= d; k += lanes) {
    ::xsimd::fma(cb, batch::load_unaligned(go + k), batch::load_unaligned(gx + k))
        .store_unaligned(gx + k);
  }
  for (; k < d; ++k) gx[k] = std::fma(c, go[k], gx[k]);
}

// grad_x of sum / mean / gcn: grad_x_j = [gcn: rs_j^2 grad_out_j] + sum over edges i -> j of
// c_ij grad_out_i, c_ij = w_ij (1 unless weighted) * rs_i (mean, gcn) * rs_j (gcn). With
// several threads, each range of destination rows (balanced by in-degree) is owned by one thread
// that applies the edges landing in it in row order, so every grad_x row receives its terms in
// the same order as on one thread.
template <class T, class Index>
void graph_scatter_backward(const policy& p, const csr_view<T, Index>& g, matrix_view<const T> go,
                            matrix_view<T> gx, const T* rs, bool gcn, bool weighted) {
  constexpr index_t lanes = ::xsimd::batch<T>::size;
  const index_t n = g.rows(), m = gx.rows(), d = gx.cols(), nnz = g.nnz();
  const index_t* off = g.offsets();
  const Index* idx = g.indices();
  const T* w = g.values();
  const int threads = chunk_count(p, nnz * std::max<index_t>(1, d / lanes) + m, index_t{1} << 14);
  const index_t lines = std::min<index_t>(8, (d * static_cast<index_t>(sizeof(T)) + 63) / 64);
  auto prefetch_row = [&](index_t j) {
    const char* r = reinterpret_cast<const char*>(gx.row(j));
    for (index_t l = 0; l < lines; ++l) __builtin_prefetch(r + 64 * l, 1);
  };
  auto apply = [&](index_t i, index_t j, T c) {
    if (rs != nullptr) c *= rs[i];
    if (gcn) c *= rs[j];
    graph_axpy_row(c, go.row(i), gx.row(j), d);
  };
  auto init_rows = [&](index_t jb, index_t je) {
    for (index_t j = jb; j < je; ++j) {
      T* r = gx.row(j);
      if (gcn) {
        const T s = rs[j] * rs[j];
        const T* q = go.row(j);
        for (index_t k = 0; k < d; ++k) r[k] = s * q[k];
      } else {
        std::fill(r, r + d, T(0));
      }
    }
  };
  constexpr index_t distance = 8;
  if (threads <= 1) {
    init_rows(0, m);
    for (index_t i = 0; i < n; ++i) {
      for (index_t e = off[i]; e < off[i + 1]; ++e) {
        if (e + distance < nnz) prefetch_row(idx[e + distance]);
        apply(i, idx[e], weighted ? w[e] : T(1));
      }
    }
    return;
  }
  // Several threads: the destination rows are cut into one range per thread, of about equal
  // in-degree + rows; each thread scans all edges in row order and applies those that land in
  // its range. The scan of the index array is cheap next to the row updates, and no edge list
  // is materialised (a transpose or a bucket sort of the edges cost as much as the scatter).
  const auto mz = static_cast<std::size_t>(m);
  std::vector<std::int32_t> counts(static_cast<std::size_t>(threads) * mz, 0);
  for_chunks(threads, nnz, [&](int c, index_t eb, index_t ee) {
    std::int32_t* cnt = counts.data() + static_cast<std::size_t>(c) * mz;
    for (index_t e = eb; e < ee; ++e) ++cnt[idx[e]];
  });
  std::vector<index_t> in_prefix(mz + 1, 0);
  for (index_t j = 0; j < m; ++j) {
    index_t s = 0;
    for (int c = 0; c < threads; ++c) s += counts[static_cast<std::size_t>(c) * mz + j];
    in_prefix[j + 1] = in_prefix[j] + s;
  }
  const auto bounds =
      graph_balanced_bounds(m, threads, [&](index_t j) { return in_prefix[j] + j; });
  for_chunks(threads, threads, [&](int c, index_t, index_t) {
    const index_t jb = bounds[c], je = bounds[c + 1];
    init_rows(jb, je);
    const auto width = static_cast<std::uint64_t>(je - jb);
    // The owned edges are gathered, without branches, into a small buffer that is then
    // applied with the destination rows prefetched a few edges ahead (which the read-modify-
    // write of random rows needs).
    constexpr index_t block = 256;
    std::int32_t bs[block + 1], bd[block + 1];
    T bw[block + 1];
    index_t k = 0;
    auto flush = [&] {
      for (index_t q = 0; q < k; ++q) {
        if (q + distance < k) prefetch_row(bd[q + distance]);
        apply(bs[q], bd[q], bw[q]);
      }
      k = 0;
    };
    for (index_t i = 0; i < n; ++i) {
      for (index_t e = off[i]; e < off[i + 1]; ++e) {
        const auto j = static_cast<index_t>(idx[e]);
        bs[k] = static_cast<std::int32_t>(i);
        bd[k] = static_cast<std::int32_t>(j);
        bw[k] = weighted ? w[e] : T(1);
        k += static_cast<index_t>(static_cast<std::uint64_t>(j - jb) < width);
        if (k == block) flush();
      }
    }
    flush();
  });
}

}  // namespace detail

template <class T, class Index>
void aggregate_kernel(const policy& p, const csr_view<T, Index>& g, matrix_view<const T> x,
                      matrix_view<T> out, const graph::aggregate_options& o) {
  using graph::aggregation;
  const index_t n = g.rows();
  const Index* idx = g.indices();
  const T* w = g.values();
  if (o.kind == aggregation::max) {
    if (o.weighted) {
      detail::graph_gather_rows<true, true, false>(p, n, g.offsets(), idx, w, nullptr, x, nullptr,
                                                   nullptr, out);
    } else {
      detail::graph_gather_rows<true, false, false>(p, n, g.offsets(), idx, w, nullptr, x, nullptr,
                                                    nullptr, out);
    }
    return;
  }
  if (o.kind == aggregation::gcn) {
    const auto dis = detail::graph_row_scales(p, g, o.weighted, true);
    if (o.weighted) {
      detail::graph_gather_rows<false, true, true>(p, n, g.offsets(), idx, w, dis.data(), x,
                                                   dis.data(), dis.data(), out);
    } else {
      detail::graph_gather_rows<false, false, true>(p, n, g.offsets(), idx, w, dis.data(), x,
                                                    dis.data(), dis.data(), out);
    }
    return;
  }
  std::vector<T> scale;
  if (o.kind == aggregation::mean) scale = detail::graph_row_scales(p, g, o.weighted, false);
  const T* sp = scale.empty() ? nullptr : scale.data();
  if (o.weighted) {
    detail::graph_gather_rows<false, true, false>(p, n, g.offsets(), idx, w, nullptr, x, nullptr,
                                                  sp, out);
  } else {
    detail::graph_gather_rows<false, false, false>(p, n, g.offsets(), idx, w, nullptr, x, nullptr,
                                                   sp, out);
  }
}

template <class T, class Index>
void aggregate_backward_kernel(const policy& p, const csr_view<T, Index>& g, matrix_view<const T> x,
                               matrix_view<const T> grad_out, matrix_view<T> grad_x,
                               const graph::aggregate_options& o) {
  using graph::aggregation;
  const index_t n = g.rows(), m = x.rows(), d = x.cols();
  if (o.kind == aggregation::max) {
    // Arg-max positions per output entry (in parallel), then a serial scatter in row order.
    std::vector<std::int32_t> arg(static_cast<std::size_t>(n * d));
    detail::for_each_index(p, n, 256, [&](index_t i) {
      for (index_t c = 0; c < d; ++c) {
        arg[i * d + c] =
            static_cast<std::int32_t>(graph::detail::max_position(g, x, i, c, o.weighted));
      }
    });
    for (index_t j = 0; j < m; ++j) std::fill(grad_x.row(j), grad_x.row(j) + d, T(0));
    for (index_t i = 0; i < n; ++i) {
      const T* go = grad_out.row(i);
      for (index_t c = 0; c < d; ++c) {
        const index_t pos = arg[i * d + c];
        if (pos < 0) continue;
        const index_t e = g.offsets()[i] + pos;
        const T wv = o.weighted ? g.values()[e] : T(1);
        grad_x(g.indices()[e], c) += wv * go[c];
      }
    }
    return;
  }
  std::vector<T> rs;
  if (o.kind != aggregation::sum) {
    rs = detail::graph_row_scales(p, g, o.weighted, o.kind == aggregation::gcn);
  }
  detail::graph_scatter_backward(p, g, grad_out, grad_x, rs.empty() ? nullptr : rs.data(),
                                 o.kind == aggregation::gcn, o.weighted);
}

}  // namespace recfuse::xsimd_backend
