// recfuse bench: the generated inputs of the cross-backend table. Every generator is seeded, so
// every backend column (and every run) gets the same numbers; values are random, never zeros.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <unordered_set>
#include <vector>

#include "recfuse/core/sparse.hpp"
#include "recfuse/core/views.hpp"

namespace recfuse::bench::backends {

// n uniform floats in [lo, hi).
inline std::vector<float> random_floats(index_t n, std::uint64_t seed, float lo = -1.0f,
                                        float hi = 1.0f) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = u(rng);
  return v;
}

// A rank in [0, n) with P(rank r) ~ 1 / (r + 1) (inverse CDF of a truncated power law), the
// recipe of bench_graph and bench_factorize's generated data.
template <class Rng>
index_t zipf_rank(Rng& rng, index_t n) {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  return std::min(n - 1, static_cast<index_t>(std::pow(static_cast<double>(n), unit(rng))) - 1);
}

// Ratings 1..5 in the shape of MovieLens 100K: `users` x `items`, `count` distinct (user, item)
// pairs, long-tailed activity and popularity (rank ~ n * u^p: the busiest user holds about 1% of
// the ratings, the most popular item about 2%, as in ML-100K), ids relabelled at random.
inline interactions<float> movielens_like(index_t users, index_t items, index_t count,
                                          std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<std::int32_t> user_label(static_cast<std::size_t>(users));
  std::vector<std::int32_t> item_label(static_cast<std::size_t>(items));
  for (index_t i = 0; i < users; ++i) user_label[i] = static_cast<std::int32_t>(i);
  for (index_t i = 0; i < items; ++i) item_label[i] = static_cast<std::int32_t>(i);
  std::shuffle(user_label.begin(), user_label.end(), rng);
  std::shuffle(item_label.begin(), item_label.end(), rng);
  auto draw = [&](index_t n, double p) {
    return std::min(n - 1, static_cast<index_t>(static_cast<double>(n) * std::pow(unit(rng), p)));
  };
  interactions<float> d;
  d.users = users;
  d.items = items;
  std::unordered_set<std::int64_t> seen;
  count = std::min(count, users * items / 2);
  while (d.size() < count) {
    const index_t u = user_label[draw(users, 1.5)], i = item_label[draw(items, 2.0)];
    if (!seen.insert(u * items + i).second) continue;
    d.user.push_back(static_cast<std::int32_t>(u));
    d.item.push_back(static_cast<std::int32_t>(i));
    d.value.push_back(static_cast<float>(1 + static_cast<int>(unit(rng) * 5)));
  }
  return d;
}

// A directed graph as CSR (row = aggregating node): `nodes` nodes, `edges` edges, both ends drawn
// Zipf-like with a fixed random relabelling so hubs spread over the id range; weights in
// [0.5, 1.5). bench_graph's power-law graph.
inline csr_matrix<float> powerlaw_graph(index_t nodes, index_t edges, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<std::int32_t> label(static_cast<std::size_t>(nodes));
  for (index_t i = 0; i < nodes; ++i) label[i] = static_cast<std::int32_t>(i);
  std::shuffle(label.begin(), label.end(), rng);
  interactions<float> coo;  // (row, column) as (user, item)
  coo.users = coo.items = nodes;
  for (index_t e = 0; e < edges; ++e) {
    coo.user.push_back(label[zipf_rank(rng, nodes)]);
    coo.item.push_back(label[zipf_rank(rng, nodes)]);
    coo.value.push_back(static_cast<float>(0.5 + unit(rng)));
  }
  return to_csr(coo.view());
}

}  // namespace recfuse::bench::backends
