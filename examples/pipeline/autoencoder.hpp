// recfuse-pipeline: an item-based autoencoder over the rating matrix (I-AutoRec, Sedhain et al.
// 2015) built from recfuse::nn: each item's vector of ratings by every user goes through a
// sigmoid bottleneck and back, trained with Adam on the observed entries only; the
// reconstruction at (item, user) is the predicted rating. A neural signal unlike factorization:
// the fusion gains most from signals that err differently.
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "data.hpp"
#include "recfuse/nn/mlp.hpp"
#include "recfuse/nn/train.hpp"

namespace pipeline {

struct autoencoder_options {
  index_t hidden = 500;
  index_t epochs = 40;
  index_t batch = 128;
  double learning_rate = 1e-3;
  double l2 = 100.0;  // weight decay = l2 / number of training ratings
  std::uint64_t seed = 0;
};

class item_autoencoder {
 public:
  template <class Policy>
  item_autoencoder(const Policy& cpu, const recfuse::interactions<float>& train, index_t users,
                   index_t items, const autoencoder_options& o)
      : users_(users),
        items_(items),
        net_({users, o.hidden, users},
             {recfuse::nn::activation::sigmoid, recfuse::nn::activation::identity}, o.seed) {
    dense_.assign(static_cast<std::size_t>(items * users), 0.0f);
    seen_.assign(static_cast<std::size_t>(items), 0);
    user_seen_.assign(static_cast<std::size_t>(users), 0);
    lo_ = hi_ = train.size() > 0 ? train.value[0] : 0.0f;
    for (index_t e = 0; e < train.size(); ++e) {
      // Ratings are positive (MovieLens: 1..5), so 0 marks an unobserved entry.
      dense_[static_cast<std::size_t>(train.item[e] * users + train.user[e])] = train.value[e];
      seen_[static_cast<std::size_t>(train.item[e])] = 1;
      user_seen_[static_cast<std::size_t>(train.user[e])] = 1;
      lo_ = std::min(lo_, train.value[e]);
      hi_ = std::max(hi_, train.value[e]);
    }
    recfuse::nn::adam_options ao;
    ao.learning_rate = o.learning_rate;
    ao.weight_decay = o.l2 / std::max<double>(1.0, static_cast<double>(train.size()));
    recfuse::nn::adam<float> opt(net_.parameter_count(), ao);
    recfuse::nn::mlp_workspace<float> ws;
    std::vector<float> grads(static_cast<std::size_t>(net_.parameter_count()));
    std::vector<float> x(static_cast<std::size_t>(o.batch * users)), g(x.size());
    std::vector<index_t> order;
    for (index_t i = 0; i < items; ++i)
      if (seen_[i]) order.push_back(i);
    std::mt19937_64 rng(o.seed ^ 0x5eedULL);
    for (index_t epoch = 0; epoch < o.epochs; ++epoch) {
      for (index_t k = static_cast<index_t>(order.size()) - 1; k > 0; --k) {
        const auto j = static_cast<index_t>(unit(rng) * static_cast<double>(k + 1));
        std::swap(order[k], order[std::min(j, k)]);
      }
      for (index_t b = 0; b < static_cast<index_t>(order.size()); b += o.batch) {
        const index_t n = std::min<index_t>(o.batch, static_cast<index_t>(order.size()) - b);
        for (index_t r = 0; r < n; ++r) {
          std::copy_n(dense_.data() + order[b + r] * users, users, x.data() + r * users);
        }
        const recfuse::matrix_view<const float> xb(x.data(), n, users);
        const auto out = recfuse::nn::forward_train(cpu, net_, xb, ws);
        // Masked squared error, averaged over the batch's observed entries.
        index_t observed = 0;
        for (index_t e = 0; e < n * users; ++e) observed += x[e] != 0.0f;
        const float scale = 2.0f / static_cast<float>(std::max<index_t>(1, observed));
        for (index_t r = 0; r < n; ++r) {
          for (index_t c = 0; c < users; ++c) {
            const float t = x[r * users + c];
            g[r * users + c] = t != 0.0f ? scale * (out(r, c) - t) : 0.0f;
          }
        }
        recfuse::nn::backward(cpu, net_, ws, recfuse::matrix_view<const float>(g.data(), n, users),
                              recfuse::vector_view<float>(grads.data(), net_.parameter_count()),
                              recfuse::matrix_view<float>{});
        opt.step(cpu, net_.parameters(),
                 recfuse::vector_view<const float>(grads.data(), net_.parameter_count()));
      }
    }
    reconstruction_.assign(dense_.size(), 0.0f);
    recfuse::nn::forward(cpu, net_, recfuse::matrix_view<const float>(dense_.data(), items, users),
                         recfuse::matrix_view<float>(reconstruction_.data(), items, users));
  }

  // The reconstruction of (user, item); `fallback` for an item or user nobody trained on.
  float predict(index_t u, index_t i, float fallback) const {
    if (u < 0 || u >= users_ || i < 0 || i >= items_ || !seen_[static_cast<std::size_t>(i)] ||
        !user_seen_[static_cast<std::size_t>(u)])
      return fallback;
    return std::clamp(reconstruction_[static_cast<std::size_t>(i * users_ + u)], lo_, hi_);
  }
  bool knows_item(index_t i) const { return i >= 0 && i < items_ && seen_[i]; }

 private:
  index_t users_, items_;
  recfuse::nn::mlp<float> net_;
  std::vector<float> dense_, reconstruction_;
  std::vector<char> seen_, user_seen_;
  float lo_ = 0, hi_ = 0;
};

}  // namespace pipeline
