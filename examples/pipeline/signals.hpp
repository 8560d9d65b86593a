// recfuse-pipeline: the signals one training set yields, and the fusion's input rows built from
// them for any (user, item) pairs.
//
// Groups of the fusion input (each group's contribution is what the explanation reports):
//   factorization         biased MF prediction, user bias, item bias
//   autoencoder           the reconstructions of an item-based and a user-based AutoRec
//                         (recfuse::nn::autorec): two networks that err differently
//   co-occurrence graph   item-kNN over the co-occurrence graph: the weighted mean of the user's
//                         baseline residuals on the item's neighbours; the MF score of the item's
//                         embedding aggregated (mean) over its neighbours; log of the support
//   genre graph           the MF score of the embedding aggregated over the item -> genre -> item
//                         graph; the user's mean residual on the item's genres (shrunk)
//   title text            (with --embeddings) the MF score of the embedding aggregated over the
//                         title-embedding kNN graph
//   user features         age, gender (+1 male, -1 female), log of the user's rating count
//   item features         release year, log of the item's rating count
// Genres reach the fusion through the genre graph's two signals. One-hot occupation and
// multi-hot genre columns were tried as direct inputs and left out: on u1 they made the fusion
// overfit its 12K held-out ratings (rmse 0.917 with them against 0.891 without).
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "../common/csr.hpp"
#include "data.hpp"
#include "recfuse/factorize.hpp"
#include "recfuse/graph/aggregate.hpp"
#include "recfuse/graph/builders.hpp"
#include "recfuse/nn/autorec.hpp"

namespace pipeline {

struct signal_options {
  recfuse::sgd_options mf{};
  // I-AutoRec and U-AutoRec: 500 sigmoid units, 40 epochs of Adam 1e-3, l2 100 (the library's
  // defaults; more epochs or a higher rate overfit on u1: the autoencoder alone gets worse).
  recfuse::nn::autorec_options item_autoencoder{};
  recfuse::nn::autorec_options user_autoencoder{.side = recfuse::nn::autorec_side::user};
  bool use_autoencoder = true;
  index_t cooccurrence_neighbors = 50;
  index_t genre_neighbors = 50;
  index_t text_neighbors = 20;
  double shrink = 5.0;  // pseudo-count of the residual means
};

// [q_i, b_i] aggregated (mean) over a graph's neighbours: items x (factors + 1).
template <class Policy>
std::vector<float> smoothed_embeddings(const Policy& cpu, const recfuse::csr_matrix<float>& graph,
                                       const recfuse::biased_mf_model<float>& mf) {
  const index_t k = mf.factors, items = graph.rows;
  std::vector<float> x(static_cast<std::size_t>(items * (k + 1)), 0.0f);
  for (index_t i = 0; i < std::min(items, mf.items); ++i) {
    std::copy_n(mf.item_factors.data() + i * k, k, x.data() + i * (k + 1));
    x[static_cast<std::size_t>(i * (k + 1) + k)] = mf.item_bias[i];
  }
  std::vector<float> out(x.size());
  recfuse::graph::aggregate(cpu, graph.view(),
                            recfuse::matrix_view<const float>(x.data(), items, k + 1),
                            recfuse::matrix_view<float>(out.data(), items, k + 1),
                            recfuse::graph::aggregate_options{recfuse::graph::aggregation::mean});
  return out;
}

// The item -> attribute pattern of the knowledge graph: the item's genres, plus one node per
// release year from 1990 on and one per decade before (items x (genres + year nodes)).
inline recfuse::csr_matrix<float> item_attributes(const dataset& d) {
  const index_t g = d.genres.cols;
  auto year_node = [&](int y) -> index_t {
    if (y <= 0) return -1;
    if (y >= 1990) return g + 10 + std::min(y, 1999) - 1990;
    return g + std::clamp((y - 1900) / 10, 0, 9);
  };
  recfuse::csr_matrix<float> a;
  a.rows = d.items;
  a.cols = g + 20;
  for (index_t i = 0; i < d.items; ++i) {
    for (index_t e = d.genres.offsets[i]; e < d.genres.offsets[i + 1]; ++e) {
      a.indices.push_back(d.genres.indices[e]);
      a.values.push_back(1.0f);
    }
    if (const index_t y = year_node(d.year[i]); y >= 0) {
      a.indices.push_back(static_cast<std::int32_t>(y));
      a.values.push_back(1.0f);
    }
    a.offsets.push_back(static_cast<index_t>(a.indices.size()));
  }
  return a;
}

// A per-item value averaged over each item's graph neighbours.
template <class Policy>
std::vector<float> smoothed_values(const Policy& cpu, const recfuse::csr_matrix<float>& graph,
                                   const std::vector<float>& v) {
  std::vector<float> out(v.size());
  recfuse::graph::aggregate(cpu, graph.view(),
                            recfuse::matrix_view<const float>(v.data(), graph.rows, 1),
                            recfuse::matrix_view<float>(out.data(), graph.rows, 1),
                            recfuse::graph::aggregate_options{recfuse::graph::aggregation::mean});
  return out;
}

struct signals {
  const dataset* data = nullptr;
  signal_options options;
  recfuse::biased_mf_model<float> mf;
  std::optional<recfuse::nn::autorec<float>> item_autoencoder, user_autoencoder;
  recfuse::csr_matrix<float> cooccurrence, genre_graph, text_graph;
  std::vector<float> cooc_emb, genre_emb, text_emb;      // items x (factors + 1)
  recfuse::csr_matrix<float> by_user;                    // users x items, baseline residuals
  std::vector<float> genre_affinity;                     // users x genres: mean residual, shrunk
  std::vector<float> genre_share;                        // users x genres: log share of ratings
  std::vector<float> genre_popularity, text_popularity;  // neighbours' mean log rating count
  std::vector<float> log_user_count, log_item_count;
  std::vector<char> item_known;  // the item has training ratings
  std::vector<std::pair<std::string, index_t>> groups;

  float baseline(index_t u, index_t i) const {
    float b = mf.global_mean;
    if (u < mf.users) b += mf.user_bias[u];
    if (i < mf.items) b += mf.item_bias[i];
    return b;
  }
  // mu + b_u + b~_i + p_u . q~_i for an aggregated embedding table.
  float smoothed_score(const std::vector<float>& emb, index_t u, index_t i) const {
    const index_t k = mf.factors;
    const float* e = emb.data() + i * (k + 1);
    double s = mf.global_mean + e[k];
    if (u < mf.users) {
      s += mf.user_bias[u];
      const float* p = mf.user_factors.data() + u * k;
      for (index_t f = 0; f < k; ++f) s += static_cast<double>(p[f]) * e[f];
    }
    return static_cast<float>(s);
  }
  index_t genres() const { return data->genres.cols; }
  bool has_text() const { return !text_emb.empty(); }
  index_t width() const {
    index_t w = 0;
    for (const auto& g : groups) w += g.second;
    return w;
  }
};

// Factorization: biased MF by SGD with the library's defaults (options.mf).
template <class Policy>
void fit_factorization(const Policy& cpu, const recfuse::interactions<float>& train, signals& s) {
  s.mf = recfuse::fit_biased_sgd(cpu, train.view(), s.options.mf);
}

// The two autoencoders, item-based (I-AutoRec) and user-based (U-AutoRec).
template <class Policy>
void fit_autoencoders(const Policy& cpu, const recfuse::interactions<float>& train, signals& s) {
  const auto& o = s.options;
  const auto t0 = std::chrono::steady_clock::now();
  s.item_autoencoder = recfuse::nn::autorec<float>::fit(cpu, train.view(), o.item_autoencoder);
  s.user_autoencoder = recfuse::nn::autorec<float>::fit(cpu, train.view(), o.user_autoencoder);
  std::printf("  autoencoders (item and user based): %lld + %lld epochs in %.2f s\n",
              static_cast<long long>(o.item_autoencoder.epochs),
              static_cast<long long>(o.user_autoencoder.epochs),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}

// Item graphs (co-occurrence; genre and release-year knowledge graph; title-embedding kNN when
// the data has embeddings) and the factorization's item embeddings aggregated over each; the
// rating counts. Needs the factorization.
template <class Policy>
void build_graphs(const Policy& cpu, const dataset& data, const recfuse::interactions<float>& train,
                  signals& s) {
  const auto& o = s.options;
  s.item_known.assign(static_cast<std::size_t>(data.items), 0);
  std::vector<double> nu(static_cast<std::size_t>(data.users), 0.0),
      ni(static_cast<std::size_t>(data.items), 0.0);
  for (index_t e = 0; e < train.size(); ++e) {
    nu[train.user[e]] += 1;
    ni[train.item[e]] += 1;
    s.item_known[train.item[e]] = 1;
  }
  for (double c : nu) s.log_user_count.push_back(static_cast<float>(std::log1p(c)));
  for (double c : ni) s.log_item_count.push_back(static_cast<float>(std::log1p(c)));

  recfuse::graph::cooccurrence_options co;
  co.neighbors = o.cooccurrence_neighbors;
  co.weight = recfuse::graph::edge_weight::cosine;
  s.cooccurrence = recfuse::graph::cooccurrence_graph(cpu, train.view(), co);
  s.cooc_emb = smoothed_embeddings(cpu, s.cooccurrence, s.mf);

  recfuse::graph::attribute_options ao;
  ao.neighbors = o.genre_neighbors;
  ao.weight = recfuse::graph::edge_weight::jaccard;
  const auto attributes = item_attributes(data);
  s.genre_graph = examples::keep_targets(
      recfuse::graph::attribute_graph<float>(cpu, attributes.pattern(), ao), s.item_known);
  s.genre_emb = smoothed_embeddings(cpu, s.genre_graph, s.mf);
  s.genre_popularity = smoothed_values(cpu, s.genre_graph, s.log_item_count);

  if (data.embedding_dims > 0) {
    s.text_graph = examples::keep_targets(
        recfuse::graph::knn_graph(cpu,
                                  recfuse::matrix_view<const float>(
                                      data.embeddings.data(), data.items, data.embedding_dims),
                                  o.text_neighbors * 2, true),
        s.item_known);
    s.text_emb = smoothed_embeddings(cpu, s.text_graph, s.mf);
    s.text_popularity = smoothed_values(cpu, s.text_graph, s.log_item_count);
  }
}

// The users' baseline residuals by user (the item-kNN evidence) and per-genre affinity (mean
// residual, shrunk) and share (log share of the user's ratings). Needs the factorization.
inline void user_profiles(const dataset& data, const recfuse::interactions<float>& train,
                          signals& s) {
  recfuse::interactions<float> res = train;
  for (index_t e = 0; e < res.size(); ++e)
    res.value[e] = train.value[e] - s.baseline(train.user[e], train.item[e]);
  s.by_user = recfuse::to_csr(res.view());
  const index_t g = data.genres.cols;
  s.genre_affinity.assign(static_cast<std::size_t>(data.users * g), 0.0f);
  s.genre_share.assign(s.genre_affinity.size(), 0.0f);
  std::vector<double> sum(static_cast<std::size_t>(g)), count(static_cast<std::size_t>(g));
  for (index_t u = 0; u < data.users; ++u) {
    std::fill(sum.begin(), sum.end(), 0.0);
    std::fill(count.begin(), count.end(), 0.0);
    for (index_t e = s.by_user.offsets[u]; e < s.by_user.offsets[u + 1]; ++e) {
      const index_t j = s.by_user.indices[e];
      for (index_t a = data.genres.offsets[j]; a < data.genres.offsets[j + 1]; ++a) {
        sum[data.genres.indices[a]] += s.by_user.values[e];
        count[data.genres.indices[a]] += 1;
      }
    }
    const double total = static_cast<double>(s.by_user.offsets[u + 1] - s.by_user.offsets[u]);
    for (index_t a = 0; a < g; ++a) {
      s.genre_affinity[u * g + a] = static_cast<float>(sum[a] / (count[a] + s.options.shrink));
      s.genre_share[u * g + a] =
          static_cast<float>(std::log((count[a] + 1.0) / (total + static_cast<double>(g))));
    }
  }
}

// Trains every signal on `train` (ids dense over data.users x data.items): factorization ->
// autoencoders (unless o.use_autoencoder is false) -> graphs -> user profiles.
template <class Policy>
signals build_signals(const Policy& cpu, const dataset& data,
                      const recfuse::interactions<float>& train, const signal_options& o) {
  signals s;
  s.data = &data;
  s.options = o;
  recfuse::interactions<float> t = train;
  t.users = data.users;
  t.items = data.items;
  fit_factorization(cpu, t, s);
  if (o.use_autoencoder) fit_autoencoders(cpu, t, s);
  build_graphs(cpu, data, t, s);
  user_profiles(data, t, s);

  s.groups = {{"factorization", 3}};
  if (s.item_autoencoder) s.groups.push_back({"autoencoder", 2});
  s.groups.push_back({"co-occurrence graph", 3});
  s.groups.push_back({"genre graph", 2});
  if (s.has_text()) s.groups.push_back({"title text", 1});
  s.groups.push_back({"user features", 3});
  s.groups.push_back({"item features", 2});
  return s;
}

// Scratch for the item-kNN evidence of one user: the residual of each item the user rated.
struct user_scratch {
  std::vector<float> residual;
  std::vector<char> rated;
  index_t user = -1;
  void load(const signals& s, index_t u) {
    if (user == u) return;
    const auto n = static_cast<std::size_t>(s.data->items);
    if (residual.size() != n) {
      residual.assign(n, 0.0f);
      rated.assign(n, 0);
    }
    if (user >= 0 && user < s.by_user.rows) {
      for (index_t e = s.by_user.offsets[user]; e < s.by_user.offsets[user + 1]; ++e)
        rated[s.by_user.indices[e]] = 0;
    }
    user = u;
    if (u < 0 || u >= s.by_user.rows) return;
    for (index_t e = s.by_user.offsets[u]; e < s.by_user.offsets[u + 1]; ++e) {
      residual[s.by_user.indices[e]] = s.by_user.values[e];
      rated[s.by_user.indices[e]] = 1;
    }
  }
};

// Fills one fusion input row for (u, i); `row` has s.width() entries.
inline void feature_row(const signals& s, user_scratch& scratch, index_t u, index_t i, float* row) {
  const dataset& d = *s.data;
  scratch.load(s, u);
  const float mf = s.mf.predict(u, i);
  float* out = row;
  *out++ = mf;
  *out++ = u < s.mf.users ? s.mf.user_bias[u] : 0.0f;
  *out++ = i < s.mf.items ? s.mf.item_bias[i] : 0.0f;
  if (s.item_autoencoder) {
    *out++ = s.item_autoencoder->predict(u, i, mf);
    *out++ = s.user_autoencoder->predict(u, i, mf);
  }
  // co-occurrence graph
  double num = 0, den = 0;
  for (index_t e = s.cooccurrence.offsets[i]; e < s.cooccurrence.offsets[i + 1]; ++e) {
    const index_t j = s.cooccurrence.indices[e];
    if (!scratch.rated[j]) continue;
    num += s.cooccurrence.values[e] * scratch.residual[j];
    den += s.cooccurrence.values[e];
  }
  *out++ = static_cast<float>(num / (den + 0.5));
  *out++ = s.smoothed_score(s.cooc_emb, u, i);
  *out++ = static_cast<float>(std::log1p(den * 10));
  // genre graph
  *out++ = s.smoothed_score(s.genre_emb, u, i);
  double aff = 0;
  const index_t g = d.genres.cols, gb = d.genres.offsets[i], ge = d.genres.offsets[i + 1];
  for (index_t a = gb; a < ge; ++a) aff += s.genre_affinity[u * g + d.genres.indices[a]];
  *out++ = ge > gb ? static_cast<float>(aff / static_cast<double>(ge - gb)) : 0.0f;
  if (s.has_text()) *out++ = s.smoothed_score(s.text_emb, u, i);
  // user and item features (standardised by the fusion's scaler)
  *out++ = static_cast<float>(d.age[u]);
  *out++ = d.gender[u] == 'M' ? 1.0f : (d.gender[u] == 'F' ? -1.0f : 0.0f);
  *out++ = s.log_user_count[u];
  *out++ = d.year[i] > 0 ? static_cast<float>(d.year[i]) : 1990.0f;
  *out++ = s.log_item_count[i];
}

}  // namespace pipeline
