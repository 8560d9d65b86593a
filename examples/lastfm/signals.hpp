// recfuse-lastfm: the scorers fused for one training set.
//
//   als        implicit ALS (Hu, Koren and Volinsky) on log(1 + listening count): x_u . y_i
//   kg_knn     graph item-kNN over the knowledge graph: log(1 + sum over the user's training
//              artists j of w_ij log(1 + count_uj)), w_ij the Jaccard weight of the
//              artist -> entity -> artist graph (graph::attribute_graph over the artists' KG
//              neighbours; main.cpp uses the relation-typed neighbours, top 20 per artist)
//   kg_als     the ALS score of the artist's factors aggregated (weighted mean,
//              graph::aggregate) over its KG neighbours that have training data: x_u . y~_i
//   kg_pop     log(1 + the KG neighbours' mean training popularity) (cold ranking only)
//   co_knn     the same item-kNN over the co-listen relation of the training pairs (artists
//              that the same users listened to; graph::cooccurrence_graph, cosine weights, the
//              strongest `colisten_options::neighbors` per artist)
//   co_als     the ALS score of the artist's factors aggregated over its co-listen neighbours
// The Satori scorers (kg_*) use the knowledge graph only; the co-listen ones (co_*) are a second
// relation kind of the same item graph, built from the training listens only (never from
// held-out pairs). Every scorer is standardised per user over the candidates (z-scores) before
// the blend. Cost of build_signals beyond ALS: the co-listen graph, O(sum over users of their
// training artists^2), and two graph::aggregate calls over factors.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "../common/csr.hpp"
#include "data.hpp"
#include "recfuse/factorize.hpp"
#include "recfuse/graph/aggregate.hpp"
#include "recfuse/graph/builders.hpp"
#include "recfuse/nn/gemm.hpp"

namespace lastfm {

struct kg_graph {
  recfuse::csr_matrix<float> graph;      // artists x artists, row i: neighbours j, w_ij
  recfuse::csr_matrix<float> by_target;  // the transpose: row j lists (i, w_ij)
};

// `g` with its transpose (the by_target rows the kNN scorers scatter through).
inline kg_graph with_transpose(recfuse::csr_matrix<float> g) {
  kg_graph out;
  pairs edges;
  edges.users = edges.items = g.rows;
  for (index_t i = 0; i < g.rows; ++i)
    for (index_t e = g.offsets[i]; e < g.offsets[i + 1]; ++e)
      push(edges, i, g.indices[e], g.values[e]);
  out.by_target = recfuse::to_csr(edges.view(), recfuse::csr_by::item);
  out.graph = std::move(g);
  return out;
}

template <class Policy>
kg_graph build_kg_graph(const Policy& cpu, const recfuse::io::item_attributes& attributes,
                        index_t neighbors) {
  recfuse::graph::attribute_options o;
  o.neighbors = neighbors;
  o.weight = recfuse::graph::edge_weight::jaccard;
  return with_transpose(recfuse::graph::attribute_graph<float>(cpu, attributes.pattern(), o));
}

inline recfuse::implicit_als_options als_settings(std::uint64_t seed) {
  recfuse::implicit_als_options o;
  o.factors = 64;
  o.iterations = 15;
  o.regularization = 5.0;
  o.alpha = 2.0;
  o.seed = seed;
  return o;
}

// The co-listen relation: artists i != j linked when some user listened to both in the
// training data, cosine-weighted (count of common listeners / sqrt(n_i n_j)), each artist's
// `neighbors` strongest links kept (graph::cooccurrence_graph). 0 neighbours: no co-listen edges.
struct colisten_options {
  index_t neighbors = 100;
  index_t min_count = 2;  // pairs with fewer common listeners are dropped
};

struct signals {
  recfuse::implicit_mf_model<float> als;
  recfuse::implicit_als_options options;
  recfuse::csr_matrix<float> train;  // users x artists, log(1 + count)
  std::vector<float> smoothed;       // artists x factors: y aggregated over warm KG neighbours
  std::vector<float> co_smoothed;    // artists x factors: y aggregated over co-listen neighbours
  std::vector<float> neighbor_pop;   // artists: log(1 + mean training popularity of neighbours)
  std::vector<float> popularity;     // artists: training users
  kg_graph colisten;                 // the co-listen relation of the training pairs
  const kg_graph* kg = nullptr;
};

// `train` values are listening counts; every artist id is < d.n_items().
template <class Policy>
signals build_signals(const Policy& cpu, const dataset& d, const kg_graph& kg, const pairs& train,
                      std::uint64_t seed, const colisten_options& co = {}) {
  signals s;
  s.kg = &kg;
  pairs t = train;
  t.users = d.n_users();
  t.items = d.n_items();
  for (auto& v : t.value) v = static_cast<float>(std::log1p(std::max(0.0f, v)));
  s.options = als_settings(seed);
  s.als = recfuse::fit_implicit_als(cpu, t.view(), s.options);
  s.train = recfuse::to_csr(t.view());
  s.popularity.assign(static_cast<std::size_t>(d.n_items()), 0.0f);
  for (auto i : t.item) s.popularity[i] += 1;
  std::vector<char> warm(s.popularity.size());
  for (std::size_t i = 0; i < warm.size(); ++i) warm[i] = s.popularity[i] > 0;
  const auto g = examples::keep_targets(kg.graph, warm);
  const index_t k = s.als.factors, items = d.n_items();
  recfuse::graph::aggregate_options ao{recfuse::graph::aggregation::mean};
  ao.weighted = true;
  s.smoothed.assign(static_cast<std::size_t>(items * k), 0.0f);
  recfuse::graph::aggregate(cpu, g.view(), s.als.item_matrix(),
                            recfuse::matrix_view<float>(s.smoothed.data(), items, k), ao);
  std::vector<float> pop(s.popularity.size()), out(s.popularity.size());
  for (std::size_t i = 0; i < pop.size(); ++i) pop[i] = std::log1p(s.popularity[i]);
  recfuse::graph::aggregate(cpu, g.view(), recfuse::matrix_view<const float>(pop.data(), items, 1),
                            recfuse::matrix_view<float>(out.data(), items, 1), ao);
  s.neighbor_pop = out;
  if (co.neighbors > 0) {
    recfuse::graph::cooccurrence_options o;
    o.neighbors = co.neighbors;
    o.min_count = co.min_count;
    o.weight = recfuse::graph::edge_weight::cosine;
    s.colisten = with_transpose(recfuse::graph::cooccurrence_graph(cpu, t.view(), o));
  } else {
    recfuse::csr_matrix<float> none;
    none.rows = none.cols = items;
    none.offsets.assign(static_cast<std::size_t>(items + 1), 0);
    s.colisten = with_transpose(std::move(none));
  }
  s.co_smoothed.assign(static_cast<std::size_t>(items * k), 0.0f);
  recfuse::graph::aggregate(cpu, s.colisten.graph.view(), s.als.item_matrix(),
                            recfuse::matrix_view<float>(s.co_smoothed.data(), items, k), ao);
  return s;
}

// Per-user z-scores of a row of n candidates.
inline void standardise_row(float* row, index_t n) {
  double sum = 0, sq = 0;
  for (index_t j = 0; j < n; ++j) sum += row[j], sq += static_cast<double>(row[j]) * row[j];
  if (n == 0) return;
  const double mean = sum / n, sd = std::sqrt(std::max(1e-12, sq / n - mean * mean));
  for (index_t j = 0; j < n; ++j) row[j] = static_cast<float>((row[j] - mean) / sd);
}

enum scorer : int {
  als_score = 0,
  kg_knn_score,
  kg_als_score,
  kg_pop_score,
  co_knn_score,
  co_als_score,
  scorers
};
inline const char* scorer_name(int c) {
  constexpr const char* names[] = {"als", "kg_knn", "kg_als", "kg_pop", "co_knn", "co_als"};
  return names[c];
}

// The scorers of users [u0, u0 + n) over `candidates` (artist ids): out[c] is n x candidates,
// standardised per user when `standardise`.
// Adds sum over the user's training artists j of w_ij * value_uj to acc[i], through the
// transposed graph; `clear` undoes it (resets the touched entries to 0).
inline void scatter_history(const signals& s, const kg_graph& g, index_t u, std::vector<float>& acc,
                            bool clear) {
  const auto& gt = g.by_target;
  for (index_t e = s.train.offsets[u]; e < s.train.offsets[u + 1]; ++e) {
    const index_t j = s.train.indices[e];
    for (index_t q = gt.offsets[j]; q < gt.offsets[j + 1]; ++q)
      acc[gt.indices[q]] = clear ? 0.0f : acc[gt.indices[q]] + gt.values[q] * s.train.values[e];
  }
}

// The scorers of users [u0, u0 + n) over `candidates` (artist ids): out[c] is n x candidates,
// standardised per user when `standardise`. cand_*: the candidates' rows of the ALS item
// factors, of s.smoothed and of s.co_smoothed.
template <class Policy>
void score_block(const Policy& cpu, const signals& s, index_t u0, index_t n,
                 const std::vector<float>& cand_factors, const std::vector<float>& cand_smoothed,
                 const std::vector<float>& cand_co_smoothed,
                 const std::vector<std::int32_t>& candidates, std::vector<float> (&out)[scorers],
                 bool standardise) {
  const index_t m = static_cast<index_t>(candidates.size()), k = s.als.factors;
  for (auto& o : out) o.assign(static_cast<std::size_t>(n * m), 0.0f);
  const recfuse::matrix_view<const float> p(s.als.user_factors.data() + u0 * k, n, k);
  const std::pair<const std::vector<float>*, int> products[] = {{&cand_factors, als_score},
                                                                {&cand_smoothed, kg_als_score},
                                                                {&cand_co_smoothed, co_als_score}};
  for (const auto& [table, c] : products)
    recfuse::gemm(cpu, recfuse::op::none, recfuse::op::transpose, 1.0f, p,
                  recfuse::matrix_view<const float>(table->data(), m, k), 0.0f,
                  recfuse::matrix_view<float>(out[c].data(), n, m));
  std::vector<float> acc(static_cast<std::size_t>(s.kg->graph.rows), 0.0f);
  std::vector<float> co(acc.size(), 0.0f);
  for (index_t r = 0; r < n; ++r) {
    const index_t u = u0 + r;
    scatter_history(s, *s.kg, u, acc, false);
    scatter_history(s, s.colisten, u, co, false);
    float* knn = out[kg_knn_score].data() + r * m;
    float* pop = out[kg_pop_score].data() + r * m;
    float* co_knn = out[co_knn_score].data() + r * m;
    for (index_t c = 0; c < m; ++c) {
      knn[c] = std::log1p(acc[candidates[c]]);
      pop[c] = s.neighbor_pop[candidates[c]];
      co_knn[c] = std::log1p(co[candidates[c]]);
    }
    scatter_history(s, *s.kg, u, acc, true);
    scatter_history(s, s.colisten, u, co, true);
    if (standardise)
      for (auto& o : out) standardise_row(o.data() + r * m, m);
  }
}

// Rows of `table` (rows x k) gathered for the candidates.
inline std::vector<float> gather_rows(const std::vector<float>& table, index_t k,
                                      const std::vector<std::int32_t>& candidates) {
  std::vector<float> out(candidates.size() * static_cast<std::size_t>(k));
  for (std::size_t c = 0; c < candidates.size(); ++c)
    std::copy_n(table.data() + candidates[c] * k, k, out.data() + c * k);
  return out;
}

// "recommended because you listened to X, who shares <relation> <entity>": the listened artist
// with the heaviest KG edge to `item`, and a (relation, entity) both artists touch.
inline std::string kg_reason(const dataset& d, const kg_graph& kg,
                             const std::vector<std::int32_t>& listened, index_t item) {
  std::vector<char> mine(static_cast<std::size_t>(d.n_items()), 0);
  for (auto j : listened) mine[j] = 1;
  index_t best = -1;
  float weight = 0;
  for (index_t e = kg.graph.offsets[item]; e < kg.graph.offsets[item + 1]; ++e)
    if (mine[kg.graph.indices[e]] && kg.graph.values[e] > weight)
      best = kg.graph.indices[e], weight = kg.graph.values[e];
  if (best < 0) return {};
  const auto& t = d.typed_attributes;
  const index_t entities = d.kg.entities.size();
  std::string shared;
  for (index_t a = t.offsets[item], b = t.offsets[best];
       a < t.offsets[item + 1] && b < t.offsets[best + 1];) {
    if (t.attribute[a] < t.attribute[b]) {
      ++a;
    } else if (t.attribute[b] < t.attribute[a]) {
      ++b;
    } else {
      const index_t r = t.attribute[a] / entities, x = t.attribute[a] % entities;
      shared = d.kg.relations[static_cast<std::size_t>(r)] + " entity " +
               std::string(d.kg.entities.key(x));
      break;
    }
  }
  if (shared.empty()) shared = "a graph neighbour";
  char text[64];
  std::snprintf(text, sizeof text, " (kg weight %.3f)", weight);
  return "graph: you listened to artist " + std::string(d.artists.key(best)) + ", who shares " +
         shared + text;
}

// "listeners of X also listened to it": the listened artist with the heaviest co-listen edge to
// `item` (the co-listen relation of the training data), or "" when there is none.
inline std::string colisten_reason(const dataset& d, const signals& s,
                                   const std::vector<std::int32_t>& listened, index_t item) {
  const auto& g = s.colisten.graph;
  std::vector<char> mine(static_cast<std::size_t>(d.n_items()), 0);
  for (auto j : listened) mine[j] = 1;
  index_t best = -1;
  float weight = 0;
  for (index_t e = g.offsets[item]; e < g.offsets[item + 1]; ++e)
    if (mine[g.indices[e]] && g.values[e] > weight) best = g.indices[e], weight = g.values[e];
  if (best < 0) return {};
  char text[64];
  std::snprintf(text, sizeof text, " (co-listen cosine %.3f)", weight);
  return "co-listen: listeners of artist " + std::string(d.artists.key(best)) +
         ", which you listened to, also listen to it" + text;
}

}  // namespace lastfm
