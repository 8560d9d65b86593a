// recfuse-pipeline: the learned fusion. A fusion must learn from predictions the signals did not
// train on, so the training ratings are split by the seed, 85% / 15% (stage A): the signals are
// trained on the 85% and the fusion is fitted on the other 15%. The fitted fusion then scores
// pairs from any signals built on the same data set (stage B: every training rating).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "data.hpp"
#include "recfuse/fuse/learned.hpp"
#include "signals.hpp"

namespace pipeline {

// Fusion input rows (n x s.width()) for a list of (user, item) pairs.
inline std::vector<float> features(const signals& s, const std::vector<std::int32_t>& users,
                                   const std::vector<std::int32_t>& items) {
  const index_t w = s.width();
  std::vector<float> x(users.size() * static_cast<std::size_t>(w));
  user_scratch scratch;
  for (std::size_t r = 0; r < users.size(); ++r)
    feature_row(s, scratch, users[r], items[r], x.data() + r * w);
  return x;
}

// `fusions` MLPs of different seeds fitted on the same held-out ratings, their predictions (and
// explanations: integrated gradients are linear in the network) averaged. The average errs less
// than any one: each fit lands in a different local optimum (u1, seed 1: one network 0.8949 with
// the item autoencoder alone, five 0.8889; ten with both 0.8874).
class fusion_ensemble {
 public:
  fusion_ensemble(const std::vector<std::pair<std::string, index_t>>& groups, std::uint64_t seed,
                  int fusions) {
    for (int j = 0; j < fusions; ++j)
      members_.emplace_back(groups, std::vector<index_t>{32, 16}, seed + 1000 * j);
  }
  // Fits every member (the seed of member j is options.seed + 1000 j); the last member's report.
  template <class Policy>
  recfuse::nn::train_report fit(const Policy& cpu, recfuse::matrix_view<const float> x,
                                recfuse::vector_view<const float> y,
                                const recfuse::nn::train_options& options) {
    recfuse::nn::train_report report;
    for (std::size_t j = 0; j < members_.size(); ++j) {
      auto o = options;
      o.seed = options.seed + 1000 * j;
      report = members_[j].fit(cpu, x, y, o);
    }
    return report;
  }
  template <class Policy>
  void predict(const Policy& cpu, recfuse::matrix_view<const float> x,
               recfuse::vector_view<float> out) const {
    std::vector<float> part(static_cast<std::size_t>(out.size()));
    for (index_t r = 0; r < out.size(); ++r) out[r] = 0.0f;
    for (const auto& m : members_) {
      m.predict(cpu, x, recfuse::vector_view<float>(part.data(), out.size()));
      for (index_t r = 0; r < out.size(); ++r) out[r] += part[r] / members_.size();
    }
  }
  template <class Policy>
  void explain(const Policy& cpu, recfuse::matrix_view<const float> x,
               recfuse::matrix_view<float> contributions, recfuse::vector_view<float> base) const {
    std::vector<float> c(static_cast<std::size_t>(contributions.rows() * contributions.cols())),
        b(static_cast<std::size_t>(base.size()));
    for (index_t r = 0; r < contributions.rows(); ++r)
      for (index_t g = 0; g < contributions.cols(); ++g) contributions(r, g) = 0.0f;
    for (index_t r = 0; r < base.size(); ++r) base[r] = 0.0f;
    const auto n = static_cast<float>(members_.size());
    for (const auto& m : members_) {
      m.explain(cpu, x,
                recfuse::matrix_view<float>(c.data(), contributions.rows(), contributions.cols()),
                recfuse::vector_view<float>(b.data(), base.size()));
      for (index_t r = 0; r < contributions.rows(); ++r)
        for (index_t g = 0; g < contributions.cols(); ++g)
          contributions(r, g) += c[static_cast<std::size_t>(r * contributions.cols() + g)] / n;
      for (index_t r = 0; r < base.size(); ++r) base[r] += b[r] / n;
    }
  }

 private:
  std::vector<recfuse::fuse::learned_fusion<float>> members_;
};

// The fused predicted ratings of (user, item) pairs, clipped to [lo, hi].
template <class Policy>
std::vector<float> fused_predictions(const Policy& cpu, const signals& s,
                                     const fusion_ensemble& fusion,
                                     const std::vector<std::int32_t>& users,
                                     const std::vector<std::int32_t>& items, float lo, float hi) {
  const auto x = features(s, users, items);
  std::vector<float> out(users.size());
  const auto n = static_cast<index_t>(users.size());
  fusion.predict(cpu, recfuse::matrix_view<const float>(x.data(), n, s.width()),
                 recfuse::vector_view<float>(out.data(), n));
  for (auto& v : out) v = std::clamp(v, lo, hi);
  return out;
}

// Stage A's split of the training ratings: `fit` trains the signals, `blend` the fusion.
struct fusion_split {
  recfuse::interactions<float> fit, blend;
};

// Each training rating goes to `blend` with probability 0.15 (seeded); a side left empty gets one
// rating from the other. The training set needs at least 2 ratings.
inline fusion_split split_for_fusion(const dataset& d, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  fusion_split s;
  s.fit.users = s.blend.users = d.users;
  s.fit.items = s.blend.items = d.items;
  for (index_t e = 0; e < d.train.size(); ++e) {
    auto& to = unit(rng) < 0.85 ? s.fit : s.blend;
    to.user.push_back(d.train.user[e]);
    to.item.push_back(d.train.item[e]);
    to.value.push_back(d.train.value[e]);
  }
  auto move_last = [](recfuse::interactions<float>& from, recfuse::interactions<float>& to) {
    to.user.push_back(from.user.back());
    to.item.push_back(from.item.back());
    to.value.push_back(from.value.back());
    from.user.pop_back();
    from.item.pop_back();
    from.value.pop_back();
  };
  if (s.blend.size() == 0) move_last(s.fit, s.blend);
  if (s.fit.size() == 0) move_last(s.blend, s.fit);
  return s;
}

// Each fusion network's training: about 4,700 Adam steps of 128 rows, 50 epochs on u1's 12K
// held-out ratings, more epochs on smaller data sets so that a small fusion is not left half
// trained (the held-out set is taken as 15% of `train_ratings`).
inline recfuse::nn::train_options fusion_training(index_t train_ratings, std::uint64_t seed) {
  const index_t held_out = std::max<index_t>(1, train_ratings * 15 / 100);
  recfuse::nn::train_options t;
  t.epochs = std::clamp<index_t>(600'000 / held_out, 50, 2000);
  t.batch_size = 128;
  t.adam.learning_rate = 1e-3;
  t.adam.weight_decay = 1e-3;
  t.seed = seed;
  return t;
}

// Stage A's fusion: ten networks (seeds seed, seed + 1000, ...) fitted on the signals' inputs
// for the held-out `blend` ratings.
template <class Policy>
fusion_ensemble fit_fusion(const Policy& cpu, const signals& s,
                           const recfuse::interactions<float>& blend, std::uint64_t seed,
                           const recfuse::nn::train_options& training) {
  fusion_ensemble fusion(s.groups, seed, 10);
  const auto x = features(s, blend.user, blend.item);
  const auto report =
      fusion.fit(cpu, recfuse::matrix_view<const float>(x.data(), blend.size(), s.width()),
                 recfuse::vector_view<const float>(blend.value.data(), blend.size()), training);
  std::printf("fusion: %lld inputs in %zu groups, fitted on %lld held-out ratings, loss %.4f\n",
              static_cast<long long>(s.width()), s.groups.size(),
              static_cast<long long>(blend.size()), report.epoch_loss.back());
  return fusion;
}

}  // namespace pipeline
