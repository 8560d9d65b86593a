// recfuse-lastfm --protocol mkr: the CTR protocol of the MKR / KGCN / KGNN-LS papers on Last.FM
// (data.hpp, split_mkr: positives = listening pairs of linked artists, as many sampled negatives
// per user, 6:2:2). The scorers of signals.hpp are trained on the train positives (ALS on
// log(1 + count)); a fourth scorer is the artist's log(1 + training popularity). Each scorer is
// standardised by its mean and standard deviation over the eval pairs (the labels are pooled
// over users, so per-user z-scores would not do); the blend weights are the grid point with the
// best eval AUC, the accuracy threshold the one with the best eval accuracy; AUC and accuracy
// are reported on the test 20%, for ALS alone and for the fused score.
#pragma once

#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include <nlohmann/json.hpp>

#include "../common/cli.hpp"
#include "data.hpp"
#include "evaluate.hpp"
#include "signals.hpp"

namespace lastfm {

// The scorers of every pair (column-major: scorer c at out[c][e]), unstandardised; kg_pop is
// the artist's own training popularity here, and the co-listen scorers stay 0 (this protocol
// uses the Satori relations only).
inline void pair_scores(const signals& s, const pairs& p, std::vector<float> (&out)[scorers]) {
  const index_t k = s.als.factors;
  for (auto& o : out) o.assign(static_cast<std::size_t>(p.size()), 0.0f);
  std::vector<std::vector<index_t>> by_user(static_cast<std::size_t>(s.als.users));
  for (index_t e = 0; e < p.size(); ++e) by_user[p.user[e]].push_back(e);
  std::vector<float> mine(static_cast<std::size_t>(s.kg->graph.rows), 0.0f);
  for (index_t u = 0; u < s.als.users; ++u) {
    for (index_t e = s.train.offsets[u]; e < s.train.offsets[u + 1]; ++e)
      mine[s.train.indices[e]] = s.train.values[e];
    const float* x = s.als.user_factors.data() + u * k;
    for (index_t e : by_user[u]) {
      const index_t i = p.item[e];
      const float* y = s.als.item_factors.data() + i * k;
      const float* z = s.smoothed.data() + i * k;
      double a = 0, b = 0, knn = 0;
      for (index_t f = 0; f < k; ++f) a += x[f] * y[f], b += x[f] * z[f];
      for (index_t q = s.kg->graph.offsets[i]; q < s.kg->graph.offsets[i + 1]; ++q)
        knn += s.kg->graph.values[q] * mine[s.kg->graph.indices[q]];
      out[als_score][e] = static_cast<float>(a);
      out[kg_als_score][e] = static_cast<float>(b);
      out[kg_knn_score][e] = static_cast<float>(std::log1p(knn));
      out[kg_pop_score][e] = std::log1p(s.popularity[i]);
    }
    for (index_t e = s.train.offsets[u]; e < s.train.offsets[u + 1]; ++e)
      mine[s.train.indices[e]] = 0.0f;
  }
}

template <class Policy>
int run_mkr(const Policy& cpu, const dataset& d, const kg_graph& kg, std::uint64_t seed,
            std::chrono::steady_clock::time_point t0) {
  std::mt19937_64 rng(seed);
  const auto l = split_mkr(d, rng);
  pairs positives = empty_like(l.train);
  for (index_t e = 0; e < l.train.size(); ++e)
    if (l.train.value[e] > 0.5f)
      push(positives, l.train.user[e], l.train.item[e], l.train_count[e]);
  std::printf(
      "mkr protocol (seed %llu): %lld train, %lld eval, %lld test labelled pairs; %lld "
      "train positives\n",
      static_cast<unsigned long long>(seed), static_cast<long long>(l.train.size()),
      static_cast<long long>(l.eval.size()), static_cast<long long>(l.test.size()),
      static_cast<long long>(positives.size()));
  colisten_options no_colisten;
  no_colisten.neighbors = 0;
  const auto s = build_signals(cpu, d, kg, positives, seed, no_colisten);
  std::vector<float> ev[scorers], te[scorers];
  pair_scores(s, l.eval, ev);
  pair_scores(s, l.test, te);
  for (int c = 0; c < scorers; ++c) {
    double sum = 0, sq = 0;
    for (float v : ev[c]) sum += v, sq += static_cast<double>(v) * v;
    const double n = static_cast<double>(ev[c].size()), mean = sum / n,
                 sd = std::sqrt(std::max(1e-12, sq / n - mean * mean));
    for (auto* v : {&ev[c], &te[c]})
      for (auto& x : *v) x = static_cast<float>((x - mean) / sd);
  }
  auto blend = [&](const weights& w, const std::vector<float>(&parts)[scorers]) {
    std::vector<float> out(parts[0].size());
    std::vector<recfuse::vector_view<const float>> views;
    for (auto& p : parts) views.emplace_back(p.data(), static_cast<index_t>(p.size()));
    recfuse::fuse::blend(cpu, std::span<const recfuse::vector_view<const float>>(views),
                         std::span<const double>(w),
                         recfuse::vector_view<float>(out.data(), static_cast<index_t>(out.size())));
    return out;
  };
  // The fused blend, and for reference the best blend without any knowledge-graph scorer
  // (ALS + popularity), both chosen on eval AUC.
  weights chosen{1, 0, 0, 0}, no_kg{1, 0, 0, 0};
  double best = -1, best_no_kg = -1;
  for (double knn : {0.0, 0.1, 0.25, 0.5, 1.0})
    for (double agg : {0.0, 0.1, 0.25, 0.5, 1.0})
      for (double pop : {0.0, 0.25, 0.5, 1.0, 2.0}) {
        const weights w{1.0, knn, agg, pop};
        const double v = pooled_auc(blend(w, ev), l.eval.value);
        if (v > best) best = v, chosen = w;
        if (knn == 0 && agg == 0 && v > best_no_kg) best_no_kg = v, no_kg = w;
      }
  const weights als_only{1, 0, 0, 0};
  const auto ev_als = blend(als_only, ev), te_als = blend(als_only, te);
  const auto ev_fused = blend(chosen, ev), te_fused = blend(chosen, te);
  const double auc_als = pooled_auc(te_als, l.test.value);
  const double auc_fused = pooled_auc(te_fused, l.test.value);
  const double acc_als = accuracy(te_als, l.test.value, best_threshold(ev_als, l.eval.value));
  const double acc_fused = accuracy(te_fused, l.test.value, best_threshold(ev_fused, l.eval.value));
  const auto ev_no_kg = blend(no_kg, ev), te_no_kg = blend(no_kg, te);
  const double auc_no_kg = pooled_auc(te_no_kg, l.test.value);
  const double acc_no_kg = accuracy(te_no_kg, l.test.value, best_threshold(ev_no_kg, l.eval.value));
  std::printf(
      "  blend chosen on eval AUC (%.4f): als %.2f, kg_knn %.2f, kg_als %.2f, "
      "popularity %.2f\n",
      best, chosen[0], chosen[1], chosen[2], chosen[3]);
  std::printf(
      "test: AUC als %.4f, als + popularity (no graph) %.4f, kg fused %.4f; ACC als "
      "%.4f, als + popularity %.4f, kg fused %.4f\n",
      auc_als, auc_no_kg, auc_fused, acc_als, acc_no_kg, acc_fused);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  nlohmann::ordered_json j;
  j["protocol"] = "mkr";
  j["seed"] = seed;
  j["auc_als"] = examples::figure(auc_als);
  j["auc_kg_fused"] = examples::figure(auc_fused);
  j["acc_als"] = examples::figure(acc_als);
  j["acc_kg_fused"] = examples::figure(acc_fused);
  j["auc_als_popularity"] = examples::figure(auc_no_kg);
  j["acc_als_popularity"] = examples::figure(acc_no_kg);
  j["test_pairs"] = l.test.size();
  j["weights"] = nlohmann::ordered_json::array();
  for (int c = als_score; c <= kg_pop_score; ++c)
    j["weights"].push_back(examples::figure(chosen[c]));
  j["seconds"] = examples::figure(secs);
  std::printf("%s\n", j.dump().c_str());
  return 0;
}

}  // namespace lastfm
