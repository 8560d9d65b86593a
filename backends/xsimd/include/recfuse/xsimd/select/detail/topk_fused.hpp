// recfuse xsimd backend: the fused inner-product top-k (scores are formed tile by tile in
// registers and filtered at once; the m x n score matrix never exists).
//
// Layout. Queries are packed once into panels of nr = 2 batches of queries, transposed
// (panel[c][nr], zero-padded past m), so that one aligned load gives one factor of nr queries.
// Items are read in place, row-major: the micro-kernel broadcasts item factors. A tile is
// mr items x nr queries: 2 * mr accumulator batches (mr = 6 with 16 vector registers, 12 with
// AVX-512's 32), each step of the d loop is 2 loads, mr broadcasts and 2 * mr FMAs.
//
// Blocking. A work unit is a range of query panels and a range of items. Items are walked in
// blocks of about 128 KB (reused from L2 by every panel of the unit); within a block, one query
// panel (d * nr values, in L1) meets every item tile of the block in turn.
//
// Filtering. Each query keeps a heap of its k best in the output row (or in scratch when items
// are split across workers), with its current k-th best value as threshold. After a tile is
// computed, 2 * mr vector compares against the panel's thresholds decide whether any lane
// improves on its query; only then is the tile stored and scanned by scalar code, which also
// checks exclusion. A query's items are visited in increasing index order, so "strictly
// greater than the k-th best" is exactly "better": an equal later item loses the tie.
#pragma once

#include <algorithm>
#include <limits>
#include <vector>

#include "recfuse/xsimd/detail/xsimd.hpp"

#include "recfuse/xsimd/detail/parallel.hpp"
#include "recfuse/xsimd/detail/reduce_rows.hpp"
#include "recfuse/xsimd/select/detail/topk_heap.hpp"

namespace recfuse::xsimd_backend::detail {

template <class T>
struct fused_shape {
  using batch = ::xsimd::batch<T>;
  static constexpr index_t lanes = static_cast<index_t>(batch::size);
  static constexpr index_t nr = 2 * lanes;  // queries per panel (vector lanes)
  // Items per tile: 2 * mr accumulators + 2 query batches + 1 broadcast must fit the register
  // file: 16 registers for 128- and 256-bit vectors, 32 for AVX-512.
  static constexpr index_t mr = lanes * static_cast<index_t>(sizeof(T)) >= 64 ? 12 : 6;
  static constexpr index_t block_bytes = index_t{128} * 1024;  // items per block: ~L2 / 4
  // Up to this many queries, each query scans the items on its own (single_query_worker).
  static constexpr index_t single_query_max = 1;
  // Items are split across threads only in parts of at least this many.
  static constexpr index_t min_items_per_part = 2048;
  // Query panels are handed out in about this many chunks per thread, of at least this many.
  static constexpr index_t chunks_per_thread = 4;
  static constexpr index_t min_panels_per_chunk = 4;
};

template <class T>
using aligned_buffer = std::vector<T, ::xsimd::aligned_allocator<T, 64>>;

// Heaps of some queries: query q's heap is values + q * value_stride (k slots), ids likewise,
// with sizes[q] entries.
template <class T>
struct heap_set {
  T* values = nullptr;
  index_t value_stride = 0;
  index_t* ids = nullptr;
  index_t id_stride = 0;
  index_t* sizes = nullptr;
  index_t k = 0;

  T* v(index_t q) const { return values + q * value_stride; }
  index_t* i(index_t q) const { return ids + q * id_stride; }
};

// acc[i][b] = sum_c x[i * xs + c] * panel[c][b * lanes ...], for mr items and nr queries.
template <class T>
inline void fused_micro_kernel(const T* panel, const T* x, index_t xs, index_t d,
                               typename fused_shape<T>::batch (&acc)[fused_shape<T>::mr][2]) {
  using shape = fused_shape<T>;
  using batch = typename shape::batch;
  constexpr index_t mr = shape::mr;
  constexpr index_t nr = shape::nr;
  constexpr index_t lanes = shape::lanes;
#pragma GCC unroll 16
  for (index_t i = 0; i < mr; ++i) {
    acc[i][0] = batch(T(0));
    acc[i][1] = batch(T(0));
  }
  for (index_t c = 0; c < d; ++c) {
    const batch q0 = batch::load_aligned(panel + c * nr);
    const batch q1 = batch::load_aligned(panel + c * nr + lanes);
#pragma GCC unroll 16
    for (index_t i = 0; i < mr; ++i) {
      const batch a(x[i * xs + c]);
      acc[i][0] = ::xsimd::fma(a, q0, acc[i][0]);
      acc[i][1] = ::xsimd::fma(a, q1, acc[i][1]);
    }
  }
}

// thr[l] = the k-th best of query q0 + l when its heap is full, +inf past the last query (no
// item can enter). Returns whether some query of the panel still has a heap that is not full.
template <class T>
inline bool panel_thresholds(const heap_set<T>& heaps, index_t q0, index_t m, T* thr) {
  constexpr index_t nr = fused_shape<T>::nr;
  bool open = false;
  for (index_t l = 0; l < nr; ++l) {
    const index_t q = q0 + l;
    if (q >= m) {
      thr[l] = std::numeric_limits<T>::infinity();
    } else if (heaps.sizes[q] < heaps.k) {
      thr[l] = -std::numeric_limits<T>::infinity();
      open = true;
    } else {
      thr[l] = heaps.v(q)[0];
    }
  }
  return open;
}

// Offers item j with score s to one query's heap (the scalar path of every filter).
template <class T>
inline void heap_offer(const heap_set<T>& heaps, index_t q, T s, index_t j,
                       const exclusion_lists& excl) {
  index_t& size = heaps.sizes[q];
  T* hv = heaps.v(q);
  if (size == heaps.k) {
    if (s > hv[0] && !excl.row(q).contains(j)) heap_replace_top(hv, heaps.i(q), size, s, j);
  } else if (topk_order<T>::selectable(s) && !excl.row(q).contains(j)) {
    heap_push(hv, heaps.i(q), size, s, j);
  }
}

// Scalar pass over a stored tile (rows items x nr queries) for the lanes (queries) flagged in
// `lanes_hit`, or all lanes when it is null. Per query, items go in increasing index.
template <class T>
void absorb_tile(const T* tile, index_t rows, index_t j0, index_t q0, index_t m,
                 const heap_set<T>& heaps, const exclusion_lists& excl, const bool* lanes_hit) {
  constexpr index_t nr = fused_shape<T>::nr;
  const index_t lanes_used = std::min(nr, m - q0);
  for (index_t l = 0; l < lanes_used; ++l) {
    if (lanes_hit != nullptr && !lanes_hit[l]) continue;
    for (index_t i = 0; i < rows; ++i) heap_offer(heaps, q0 + l, tile[i * nr + l], j0 + i, excl);
  }
}

// One worker: query panels [panel_begin, panel_end) against items [item_begin, item_end).
template <class T>
void fused_worker(const T* packed, index_t d, index_t m, index_t panel_begin, index_t panel_end,
                  matrix_view<const T> items, index_t item_begin, index_t item_end,
                  const exclusion_lists& excl, const heap_set<T>& heaps) {
  using shape = fused_shape<T>;
  using batch = typename shape::batch;
  constexpr index_t nr = shape::nr;
  constexpr index_t mr = shape::mr;
  constexpr index_t lanes = shape::lanes;
  const index_t row_bytes = std::max<index_t>(1, d) * static_cast<index_t>(sizeof(T));
  const index_t block = std::max<index_t>(1, shape::block_bytes / row_bytes / mr) * mr;

  alignas(64) T thr[nr];
  alignas(64) T tile[mr * nr];
  alignas(64) bool lanes_hit[nr];
  aligned_buffer<T> pad(static_cast<std::size_t>(mr * std::max<index_t>(d, 1)), T(0));

  for (index_t b0 = item_begin; b0 < item_end; b0 += block) {
    const index_t b1 = std::min(item_end, b0 + block);
    const index_t full_end = b0 + (b1 - b0) / mr * mr;
    if (full_end < b1) {  // the range's last, partial tile: a zero-padded copy
      std::fill(pad.begin(), pad.end(), T(0));
      for (index_t j = full_end; j < b1; ++j) {
        std::copy(items.row(j), items.row(j) + d, pad.data() + (j - full_end) * d);
      }
    }
    for (index_t p = panel_begin; p < panel_end; ++p) {
      const T* panel = packed + p * d * nr;
      const index_t q0 = p * nr;
      bool open = panel_thresholds(heaps, q0, m, thr);
      batch t0 = batch::load_aligned(thr);
      batch t1 = batch::load_aligned(thr + lanes);
      for (index_t j = b0; j < b1; j += mr) {
        const bool partial = j >= full_end;
        const T* x = partial ? pad.data() : items.row(j);
        const index_t xs = partial ? d : items.stride();
        typename shape::batch acc[mr][2];
        fused_micro_kernel<T>(panel, x, xs, d, acc);
        bool hit = open;
        if (!hit) {
          auto mask0 = acc[0][0] > t0;
          auto mask1 = acc[0][1] > t1;
#pragma GCC unroll 16
          for (index_t i = 1; i < mr; ++i) {
            mask0 = mask0 | (acc[i][0] > t0);
            mask1 = mask1 | (acc[i][1] > t1);
          }
          hit = ::xsimd::any(mask0 | mask1);
          if (hit) {
            mask0.store_aligned(lanes_hit);
            mask1.store_aligned(lanes_hit + lanes);
          }
        }
        if (hit) {
#pragma GCC unroll 16
          for (index_t i = 0; i < mr; ++i) {
            acc[i][0].store_aligned(tile + i * nr);
            acc[i][1].store_aligned(tile + i * nr + lanes);
          }
          absorb_tile(tile, std::min(mr, b1 - j), j, q0, m, heaps, excl,
                      open ? nullptr : lanes_hit);
          open = panel_thresholds(heaps, q0, m, thr);
          t0 = batch::load_aligned(thr);
          t1 = batch::load_aligned(thr + lanes);
        }
      }
    }
  }
}

// One query against items [item_begin, item_end), for tiny m where a panel of nr queries would
// be mostly padding: lanes run along d, `lanes` items at a time, and detail::reduce_rows turns
// their lanes accumulators into one batch of scores, which meets the threshold filter. Bound by
// reading the items once.
template <class T>
void single_query_worker(const T* query, index_t q, index_t d, matrix_view<const T> items,
                         index_t item_begin, index_t item_end, const exclusion_lists& excl,
                         const heap_set<T>& heaps) {
  using batch = typename fused_shape<T>::batch;
  constexpr index_t lanes = fused_shape<T>::lanes;
  const index_t dv = d / lanes * lanes;
  alignas(64) T s[lanes];
  const T* x[lanes];
  index_t j = item_begin;
  for (; j + lanes <= item_end; j += lanes) {
    batch acc[lanes];
    for (index_t i = 0; i < lanes; ++i) {
      acc[i] = batch(T(0));
      x[i] = items.row(j + i);
    }
    for (index_t c = 0; c < dv; c += lanes) {
      const batch qc = batch::load_unaligned(query + c);
#pragma GCC unroll 16
      for (index_t i = 0; i < lanes; ++i) {
        acc[i] = ::xsimd::fma(batch::load_unaligned(x[i] + c), qc, acc[i]);
      }
    }
    batch scores = ::recfuse::xsimd_backend::detail::reduce_rows(acc);
    if (dv < d) {
      scores.store_aligned(s);
      for (index_t i = 0; i < lanes; ++i) {
        for (index_t c = dv; c < d; ++c) s[i] += query[c] * x[i][c];
      }
      scores = batch::load_aligned(s);
    }
    const index_t size = heaps.sizes[q];
    if (size < heaps.k || ::xsimd::any(scores > batch(heaps.v(q)[0]))) {
      scores.store_aligned(s);
      for (index_t i = 0; i < lanes; ++i) heap_offer(heaps, q, s[i], j + i, excl);
    }
  }
  for (; j < item_end; ++j) {
    const T* xj = items.row(j);
    T sum = T(0);
    for (index_t c = 0; c < d; ++c) sum += query[c] * xj[c];
    heap_offer(heaps, q, sum, j, excl);
  }
}

// Packs queries into panels of nr, transposed and zero-padded (see the top of this file).
template <class T>
aligned_buffer<T> pack_queries(matrix_view<const T> queries) {
  constexpr index_t nr = fused_shape<T>::nr;
  const index_t m = queries.rows();
  const index_t d = queries.cols();
  const index_t panels = (m + nr - 1) / nr;
  aligned_buffer<T> packed(static_cast<std::size_t>(panels * d * nr), T(0));
  for (index_t q = 0; q < m; ++q) {
    T* dst = packed.data() + (q / nr) * d * nr + q % nr;
    const T* src = queries.row(q);
    for (index_t c = 0; c < d; ++c) dst[c * nr] = src[c];
  }
  return packed;
}

template <class T>
void merge_heaps(const std::vector<heap_set<T>>& parts, index_t q, T* out_v, index_t* out_i,
                 std::vector<std::pair<T, index_t>>& scratch) {
  using order = topk_order<T>;
  const index_t k = parts.front().k;
  scratch.clear();
  for (const auto& h : parts) {
    for (index_t e = 0; e < h.sizes[q]; ++e) scratch.emplace_back(h.v(q)[e], h.i(q)[e]);
  }
  const auto keep =
      static_cast<std::ptrdiff_t>(std::min<index_t>(k, static_cast<index_t>(scratch.size())));
  std::partial_sort(scratch.begin(), scratch.begin() + keep, scratch.end(),
                    [](const auto& a, const auto& b) {
                      return order::better(a.first, a.second, b.first, b.second);
                    });
  for (index_t e = 0; e < k; ++e) {
    const bool filled = e < keep;
    out_v[e] = filled ? scratch[static_cast<std::size_t>(e)].first : order::neutral_value();
    out_i[e] = filled ? scratch[static_cast<std::size_t>(e)].second : order::neutral_index;
  }
}

template <class T>
void fused_topk(const policy& p, matrix_view<const T> queries, matrix_view<const T> items,
                index_t k, const exclusion_lists& excl, matrix_view<T> out_values,
                matrix_view<index_t> out_indices) {
  using shape = fused_shape<T>;
  constexpr index_t nr = shape::nr;
  const index_t m = queries.rows();
  const index_t n = items.rows();
  const index_t d = queries.cols();
  const index_t panels = (m + nr - 1) / nr;

  // Work units: query panels are split first, into a few chunks per thread handed out
  // dynamically (on a shared machine a thread whose core is busy takes fewer); when there are
  // fewer panels than threads, items are split too (each item part keeps its own heaps, merged
  // at the end). A chunk of panels reads all items once, so chunks keep at least a few panels.
  const double work = static_cast<double>(panels * nr) * static_cast<double>(n) *
                      static_cast<double>(std::max<index_t>(d, 1));
  const int threads = work < 1e6 ? 1 : max_threads(p);
  const bool single = m <= shape::single_query_max;
  const index_t query_parts =
      single || threads == 1
          ? 1
          : std::max<index_t>(std::min<index_t>(threads, panels),
                              std::min<index_t>(threads * shape::chunks_per_thread,
                                                panels / shape::min_panels_per_chunk));
  const index_t item_parts =
      std::max<index_t>(1, std::min<index_t>(threads / query_parts, n / shape::min_items_per_part));

  const aligned_buffer<T> packed = single ? aligned_buffer<T>() : pack_queries(queries);
  std::vector<heap_set<T>> parts(static_cast<std::size_t>(item_parts));
  std::vector<index_t> sizes(static_cast<std::size_t>(item_parts * m), 0);
  std::vector<T> scratch_v;
  std::vector<index_t> scratch_i;
  if (item_parts == 1) {
    parts[0] = {out_values.data(),    out_values.stride(), out_indices.data(),
                out_indices.stride(), sizes.data(),        k};
  } else {
    scratch_v.resize(static_cast<std::size_t>(item_parts * m * k));
    scratch_i.resize(static_cast<std::size_t>(item_parts * m * k));
    for (index_t s = 0; s < item_parts; ++s) {
      parts[static_cast<std::size_t>(s)] = {scratch_v.data() + s * m * k, k,
                                            scratch_i.data() + s * m * k, k,
                                            sizes.data() + s * m,         k};
    }
  }

  const index_t units = query_parts * item_parts;
  for_each_index(policy(threads), units, 1, [&](index_t w) {
    const index_t qp = w / item_parts;
    const index_t ip = w % item_parts;
    if (single) {
      // Part boundaries on multiples of `lanes`: every item but the last n % lanes is summed
      // the vector way whatever the thread count, so results do not depend on it.
      const auto boundary = [&](index_t part) {
        return part == item_parts ? n : n * part / item_parts / shape::lanes * shape::lanes;
      };
      for (index_t q = 0; q < m; ++q) {
        single_query_worker<T>(queries.row(q), q, d, items, boundary(ip), boundary(ip + 1), excl,
                               parts[static_cast<std::size_t>(ip)]);
      }
      return;
    }
    fused_worker<T>(packed.data(), d, m, panels * qp / query_parts, panels * (qp + 1) / query_parts,
                    items, n * ip / item_parts, n * (ip + 1) / item_parts, excl,
                    parts[static_cast<std::size_t>(ip)]);
  });

  if (item_parts == 1) {
    for_each_index(p, m, 64, [&](index_t q) {
      heap_finish(out_values.row(q), out_indices.row(q), sizes[static_cast<std::size_t>(q)], k);
    });
  } else {
    std::vector<std::pair<T, index_t>> merge_scratch;
    for (index_t q = 0; q < m; ++q) {
      merge_heaps(parts, q, out_values.row(q), out_indices.row(q), merge_scratch);
    }
  }
}

}  // namespace recfuse::xsimd_backend::detail
