// recfuse xsimd backend: ranking metrics and AUC, in parallel over users.
//
// Users are cut into fixed blocks whose per-block sums are added in block order, so a result
// does not depend on the thread count and is reproducible run to run; it differs from the
// serial reference only by the order of that sum (about 1e-15 relative). Per-user values follow
// the definitions in recfuse/metrics/ranking.hpp; AUC is found without sorting the row: for each
// positive, xsimd compares count the scores below and equal to it over the whole row, and the
// excluded items and the positives themselves are then subtracted (for many positives, one
// binary search per negative in the sorted positives instead).
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "recfuse/xsimd/detail/xsimd.hpp"

#include "recfuse/metrics/ranking.hpp"
#include "recfuse/xsimd/detail/parallel.hpp"

namespace recfuse::xsimd_backend {
namespace detail {

inline void add_to(::recfuse::detail::ranking_totals& a,
                   const ::recfuse::detail::ranking_totals& b) {
  a.precision += b.precision;
  a.recall += b.recall;
  a.ndcg += b.ndcg;
  a.map += b.map;
  a.hit_rate += b.hit_rate;
  a.users += b.users;
}

inline void add_to(::recfuse::detail::auc_totals& a, const ::recfuse::detail::auc_totals& b) {
  a.sum += b.sum;
  a.users += b.users;
}

// Sums block(scratch, begin, end) over fixed blocks of `block` users, in block order. Each
// thread takes a contiguous run of blocks and owns one scratch object made by make_scratch().
template <class Totals, class MakeScratch, class Block>
Totals sum_user_blocks(const policy& p, index_t users, index_t block, MakeScratch make_scratch,
                       Block per_block) {
  const index_t blocks = (users + block - 1) / block;
  std::vector<Totals> parts(static_cast<std::size_t>(blocks));
  for_chunks(chunk_count(p, blocks, 1), blocks, [&](int, index_t b0, index_t b1) {
    auto scratch = make_scratch();
    for (index_t b = b0; b < b1; ++b) {
      parts[static_cast<std::size_t>(b)] =
          per_block(scratch, b * block, std::min(users, (b + 1) * block));
    }
  });
  Totals total;
  for (const Totals& t : parts) add_to(total, t);
  return total;
}

// below[g] += #{j : row[j] < x[g]} and at_most[g] += #{j : row[j] <= x[g]} for four thresholds
// in one pass over row[0, n). Lane counts are kept in T and flushed to integers well before
// they could lose exactness (2^24 for float).
template <class T>
void count_below4(const T* row, index_t n, const T (&x)[4], index_t (&below)[4],
                  index_t (&at_most)[4]) {
  using batch = ::xsimd::batch<T>;
  constexpr index_t lanes = static_cast<index_t>(batch::size);
  constexpr index_t flush = index_t{1} << 22;
  const batch one(T(1)), zero(T(0));
  const batch x0(x[0]), x1(x[1]), x2(x[2]), x3(x[3]);
  index_t j = 0;
  while (j + lanes <= n) {
    const index_t stop = std::min(n, j + flush);
    batch b0(zero), b1(zero), b2(zero), b3(zero), m0(zero), m1(zero), m2(zero), m3(zero);
    for (; j + lanes <= stop; j += lanes) {
      const batch a = batch::load_unaligned(row + j);
      b0 += ::xsimd::select(a < x0, one, zero);
      m0 += ::xsimd::select(a <= x0, one, zero);
      b1 += ::xsimd::select(a < x1, one, zero);
      m1 += ::xsimd::select(a <= x1, one, zero);
      b2 += ::xsimd::select(a < x2, one, zero);
      m2 += ::xsimd::select(a <= x2, one, zero);
      b3 += ::xsimd::select(a < x3, one, zero);
      m3 += ::xsimd::select(a <= x3, one, zero);
    }
    below[0] += static_cast<index_t>(::xsimd::reduce_add(b0));
    below[1] += static_cast<index_t>(::xsimd::reduce_add(b1));
    below[2] += static_cast<index_t>(::xsimd::reduce_add(b2));
    below[3] += static_cast<index_t>(::xsimd::reduce_add(b3));
    at_most[0] += static_cast<index_t>(::xsimd::reduce_add(m0));
    at_most[1] += static_cast<index_t>(::xsimd::reduce_add(m1));
    at_most[2] += static_cast<index_t>(::xsimd::reduce_add(m2));
    at_most[3] += static_cast<index_t>(::xsimd::reduce_add(m3));
  }
  for (; j < n; ++j) {
    for (int g = 0; g < 4; ++g) {
      below[g] += row[j] < x[g] ? 1 : 0;
      at_most[g] += row[j] <= x[g] ? 1 : 0;
    }
  }
}

// #{i : sorted[i] < x} (or <= x when inclusive) in sorted[0, n), n >= 1, by a binary search
// whose steps are conditional moves rather than branches (the data decides them at random).
template <bool inclusive, class T>
index_t rank_in(const T* sorted, index_t n, T x) {
  const T* base = sorted;
  while (n > 1) {
    const index_t half = n / 2;
    const bool right = inclusive ? !(x < base[half - 1]) : base[half - 1] < x;
    base += static_cast<index_t>(right) * half;
    n -= half;
  }
  const bool last = inclusive ? !(x < *base) : *base < x;
  return (base - sorted) + static_cast<index_t>(last);
}

template <class T>
struct auc_scratch {
  std::vector<index_t> mark;  // 2u + 1: excluded for user u; 2u + 2: positive for user u
  std::vector<T> positives;   // scores of the positives
  std::vector<T> excluded;    // non-NaN scores of the distinct excluded items
};

// Up to this many positives per user, AUC counts with vectorised passes over the row, four
// positives a pass (P * n / lanes compares); above it, one binary search per negative in the
// sorted positives (n log P). Measured crossover on AVX2: about 128 float positives.
template <class T>
constexpr index_t auc_scan_max_positives() {
  return 16 * static_cast<index_t>(::xsimd::batch<T>::size);
}

// For one user: twice the number of (positive, negative) pairs the positive wins, plus the
// number of tied pairs; also the counts of positives and negatives.
template <class T, class Index, class Index2>
index_t doubled_auc_wins(const T* row, index_t n, index_t u, const Index* rel_begin,
                         const Index* rel_end, const Index2* ex_begin, const Index2* ex_end,
                         auc_scratch<T>& s, index_t& positives, index_t& negatives) {
  const index_t is_excluded = 2 * u + 1;
  const index_t is_positive = 2 * u + 2;
  s.positives.clear();
  s.excluded.clear();
  index_t excluded_count = 0;
  for (const Index2* it = ex_begin; it != ex_end; ++it) {
    const auto j = static_cast<std::size_t>(*it);
    if (s.mark[j] == is_excluded) continue;
    s.mark[j] = is_excluded;
    ++excluded_count;
    // A NaN score compares false both in the row scan and here, so leaving it out is exact.
    if (!std::isnan(row[j])) s.excluded.push_back(row[j]);
  }
  for (const Index* it = rel_begin; it != rel_end; ++it) {
    const auto j = static_cast<std::size_t>(*it);
    if (s.mark[j] == is_excluded || s.mark[j] == is_positive) continue;
    s.mark[j] = is_positive;
    s.positives.push_back(row[j]);
  }
  positives = static_cast<index_t>(s.positives.size());
  negatives = n - excluded_count - positives;
  if (positives == 0 || negatives == 0) return 0;

  std::sort(s.positives.begin(), s.positives.end());
  const T* pos = s.positives.data();
  index_t wins = 0;  // sum over positives x of #negatives below x plus #negatives at most x
  if (positives <= auc_scan_max_positives<T>()) {
    std::sort(s.excluded.begin(), s.excluded.end());
    const T* ex = s.excluded.data();
    const auto ex_n = static_cast<index_t>(s.excluded.size());
    for (index_t g = 0; g < positives; g += 4) {
      T x[4];
      for (index_t q = 0; q < 4; ++q) x[q] = pos[std::min(g + q, positives - 1)];
      index_t below[4] = {0, 0, 0, 0}, at_most[4] = {0, 0, 0, 0};
      count_below4(row, n, x, below, at_most);
      for (index_t q = 0; q < std::min<index_t>(4, positives - g); ++q) {
        // The row counts include the excluded items and the positives: take them out.
        index_t w = below[q] + at_most[q];
        w -= rank_in<false>(pos, positives, x[q]) + rank_in<true>(pos, positives, x[q]);
        if (ex_n > 0) w -= rank_in<false>(ex, ex_n, x[q]) + rank_in<true>(ex, ex_n, x[q]);
        wins += w;
      }
    }
  } else {
    for (index_t j = 0; j < n; ++j) {
      const index_t m = s.mark[static_cast<std::size_t>(j)];
      if (m == is_excluded || m == is_positive) continue;
      // Positives above row[j] win (2), positives equal to it tie (1). Ties are rare, so they
      // are counted by a short walk rather than a second search.
      const T a = row[j];
      const index_t below = rank_in<false>(pos, positives, a);
      index_t equal = 0;
      while (below + equal < positives && !(a < pos[below + equal])) ++equal;
      wins += 2 * (positives - below) - equal;
    }
  }
  return wins;
}

}  // namespace detail

template <class Id, class Index>
::recfuse::detail::ranking_totals evaluate_ranking_kernel(const policy& p,
                                                          matrix_view<const Id> recommendations,
                                                          csr_pattern_view<Index> relevant,
                                                          index_t k) {
  using totals = ::recfuse::detail::ranking_totals;
  // discount[i] = 1 / log2(i + 2); ideal_dcg[c - 1] = IDCG over c positions.
  std::vector<double> discount(static_cast<std::size_t>(k)), ideal_dcg(static_cast<std::size_t>(k));
  double cumulative = 0;
  for (index_t i = 0; i < k; ++i) {
    discount[static_cast<std::size_t>(i)] = 1.0 / std::log2(static_cast<double>(i) + 2.0);
    cumulative += discount[static_cast<std::size_t>(i)];
    ideal_dcg[static_cast<std::size_t>(i)] = cumulative;
  }
  const index_t items = relevant.cols();
  return detail::sum_user_blocks<totals>(
      p, recommendations.rows(), 1024,
      // state[item]: 2u + 1 while relevant to user u and not yet hit, 2u + 2 once hit. Tags are
      // unique per user, so the array is never cleared between users.
      [items] { return std::vector<index_t>(static_cast<std::size_t>(items), 0); },
      [&](std::vector<index_t>& state, index_t begin, index_t end) {
        totals t;
        for (index_t u = begin; u < end; ++u) {
          const index_t unhit = 2 * u + 1, hit = 2 * u + 2;
          index_t relevant_count = 0;
          for (const Index* it = relevant.row_begin(u); it != relevant.row_end(u); ++it) {
            index_t& s = state[static_cast<std::size_t>(*it)];
            relevant_count += s != unhit ? 1 : 0;
            s = unhit;
          }
          if (relevant_count == 0) continue;
          const Id* recs = recommendations.row(u);
          double hits = 0, dcg = 0, precision_sum = 0;
          for (index_t i = 0; i < k; ++i) {
            const auto id = static_cast<index_t>(recs[i]);
            if (id < 0 || state[static_cast<std::size_t>(id)] != unhit) continue;
            state[static_cast<std::size_t>(id)] = hit;
            hits += 1;
            dcg += discount[static_cast<std::size_t>(i)];
            precision_sum += hits / static_cast<double>(i + 1);
          }
          const index_t ideal = std::min(relevant_count, k);
          t.precision += hits / static_cast<double>(k);
          t.recall += hits / static_cast<double>(relevant_count);
          t.ndcg += dcg / ideal_dcg[static_cast<std::size_t>(ideal - 1)];
          t.map += precision_sum / static_cast<double>(ideal);
          t.hit_rate += hits > 0 ? 1.0 : 0.0;
          ++t.users;
        }
        return t;
      });
}

template <class T, class Index, class Index2>
::recfuse::detail::auc_totals auc_kernel(const policy& p, matrix_view<const T> scores,
                                         csr_pattern_view<Index> relevant,
                                         csr_pattern_view<Index2> exclude) {
  using totals = ::recfuse::detail::auc_totals;
  const index_t n = scores.cols();
  return detail::sum_user_blocks<totals>(
      p, scores.rows(), 8,
      [n] {
        detail::auc_scratch<T> s;
        s.mark.assign(static_cast<std::size_t>(n), 0);
        return s;
      },
      [&](detail::auc_scratch<T>& s, index_t begin, index_t end) {
        totals t;
        for (index_t u = begin; u < end; ++u) {
          index_t positives = 0, negatives = 0;
          const index_t wins = detail::doubled_auc_wins(
              scores.row(u), n, u, relevant.row_begin(u), relevant.row_end(u), exclude.row_begin(u),
              exclude.row_end(u), s, positives, negatives);
          if (positives == 0 || negatives == 0) continue;
          t.sum += static_cast<double>(wins) /
                   (2.0 * static_cast<double>(positives) * static_cast<double>(negatives));
          ++t.users;
        }
        return t;
      });
}

}  // namespace recfuse::xsimd_backend
