// recfuse: AutoRec, an autoencoder over the rating matrix (Sedhain, Menon, Sanner and Xie 2015),
// built from recfuse::nn.
//
//   recfuse::nn::autorec_options o;                  // item-based (I-AutoRec), 500 hidden units
//   auto ae = recfuse::nn::autorec<float>::fit(cpu, train, o);   // train: interactions_view
//   float r = ae.predict(user, item, fallback);
//
// Model. With side == item every item is one row: its vector r_i of ratings by every user
// (0 where unobserved) passes a sigmoid bottleneck and back,
//   h(r_i) = W2 sigmoid(W1 r_i + b1) + b2,      W1: hidden x users, W2: users x hidden,
// and the reconstruction h(r_i)[u] is the predicted rating of (u, i). side == user swaps the
// roles (U-AutoRec: rows are users, inputs items). The loss is the squared error over the
// observed entries only: each batch of rows contributes mean over its observed entries of
// (h(r)[c] - r[c])^2, whose gradient the function forms (zero on unobserved entries) and hands
// to nn::backward; Adam (nn::adam, torch's L2 form) with weight decay l2 / (number of ratings)
// updates every parameter. Rows are visited in a fresh order each epoch (std::mt19937_64(seed ^
// 0x5eed), recfuse's portable draws); the network starts as nn::mlp({cols, hidden, cols},
// {sigmoid, identity}, seed). Only rows with a rating are trained and reconstructed.
//
// predict(u, i, fallback) returns the reconstruction clamped to the training ratings' range
// [lo, hi], or `fallback` for a user or item outside the ids or without a training rating.
// Results are identical for a fixed seed on a given backend; backends differ by rounding.
//
// Ratings must be > 0 (0 marks an unobserved entry: shift ratings on another scale first).
// Memory: the dense rows x cols rating matrix and its reconstruction (MovieLens 100K: 2 x 6 MB);
// a catalogue of millions needs a sparse input layer, which recfuse::nn does not have.
// Cost: O(epochs * rows * cols * hidden) multiply-adds (three dense products per batch).
//
// Errors (messages start with "recfuse::nn::autorec::fit"): hidden < 1, epochs < 0,
// batch_size < 1, learning_rate not finite and > 0, l2 not finite and >= 0 (value_error); the
// interactions' checks (shape_error, index_error, value_error for a non-finite value); a rating
// <= 0 (value_error naming the entry).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <type_traits>
#include <utility>
#include <vector>

#include "recfuse/core/config.hpp"
#include "recfuse/core/errors.hpp"
#include "recfuse/core/sparse.hpp"
#include "recfuse/core/views.hpp"
#include "recfuse/nn/activation.hpp"
#include "recfuse/nn/mlp.hpp"
#include "recfuse/nn/train.hpp"

namespace recfuse::nn {

enum class autorec_side { item, user };

struct autorec_options {
  autorec_side side = autorec_side::item;
  index_t hidden = 500;
  index_t epochs = 40;
  index_t batch_size = 128;
  double learning_rate = 1e-3;
  double l2 = 100.0;  // Adam's weight decay = l2 / number of training ratings
  std::uint64_t seed = 0;
};

template <class T = float>
class autorec {
  static_assert(std::is_floating_point_v<T>, "recfuse::nn::autorec: T must be float or double");

 public:
  using value_type = T;

  template <class Policy>
  static autorec fit(const Policy& policy, const interactions_view<T>& train,
                     const autorec_options& o = {}) {
    constexpr const char* fn = "recfuse::nn::autorec::fit";
    using ::recfuse::detail::throw_error;
    if (o.hidden < 1) throw_error<value_error>(fn, "hidden = ", o.hidden, ", need >= 1");
    if (o.epochs < 0) throw_error<value_error>(fn, "epochs = ", o.epochs, ", need >= 0");
    if (o.batch_size < 1) {
      throw_error<value_error>(fn, "batch_size = ", o.batch_size, ", need >= 1");
    }
    if (!(o.learning_rate > 0.0) || !std::isfinite(o.learning_rate)) {
      throw_error<value_error>(fn, "learning_rate = ", o.learning_rate,
                               ", need a finite value > 0");
    }
    if (!(o.l2 >= 0.0) || !std::isfinite(o.l2)) {
      throw_error<value_error>(fn, "l2 = ", o.l2, ", need a finite value >= 0");
    }
    ::recfuse::detail::check_interactions(fn, "train", train);
    for (index_t e = 0; e < train.size(); ++e) {
      if (!(train.value[e] > T(0))) {
        throw_error<value_error>(fn, "train entry ", e, " (user ", train.user[e], ", item ",
                                 train.item[e], ") has rating ", train.value[e],
                                 "; ratings must be > 0 (0 marks an unobserved entry)");
      }
    }
    const bool by_item = o.side == autorec_side::item;
    const index_t rows = by_item ? train.items : train.users;
    const index_t cols = by_item ? train.users : train.items;
    autorec a(train.users, train.items, o.side,
              mlp<T>({std::max<index_t>(cols, 1), o.hidden, std::max<index_t>(cols, 1)},
                     {activation::sigmoid, activation::identity}, o.seed));
    std::vector<T> dense(static_cast<std::size_t>(rows * cols), T(0));
    a.row_seen_.assign(static_cast<std::size_t>(rows), 0);
    a.col_seen_.assign(static_cast<std::size_t>(cols), 0);
    if (train.size() > 0) a.lo_ = a.hi_ = train.value[0];
    for (index_t e = 0; e < train.size(); ++e) {
      const index_t r = by_item ? train.item[e] : train.user[e];
      const index_t c = by_item ? train.user[e] : train.item[e];
      dense[static_cast<std::size_t>(r * cols + c)] = train.value[e];
      a.row_seen_[static_cast<std::size_t>(r)] = 1;
      a.col_seen_[static_cast<std::size_t>(c)] = 1;
      a.lo_ = std::min(a.lo_, train.value[e]);
      a.hi_ = std::max(a.hi_, train.value[e]);
    }
    std::vector<index_t> order;
    for (index_t r = 0; r < rows; ++r)
      if (a.row_seen_[static_cast<std::size_t>(r)]) order.push_back(r);
    a.reconstruction_.assign(dense.size(), T(0));
    if (order.empty()) return a;

    adam_options ao;
    ao.learning_rate = o.learning_rate;
    ao.weight_decay = o.l2 / static_cast<double>(train.size());
    adam<T> opt(a.net_.parameter_count(), ao);
    mlp_workspace<T> ws;
    std::vector<T> grads(static_cast<std::size_t>(a.net_.parameter_count()));
    const index_t batch = std::min<index_t>(o.batch_size, static_cast<index_t>(order.size()));
    std::vector<T> x(static_cast<std::size_t>(batch * cols)), g(x.size());
    std::mt19937_64 rng(o.seed ^ 0x5eedULL);
    const auto n_rows = static_cast<index_t>(order.size());
    for (index_t epoch = 0; epoch < o.epochs; ++epoch) {
      for (index_t k = n_rows - 1; k > 0; --k) {
        const auto j =
            static_cast<index_t>(detail::uniform_below(rng, static_cast<std::uint64_t>(k + 1)));
        std::swap(order[static_cast<std::size_t>(k)], order[static_cast<std::size_t>(j)]);
      }
      for (index_t b = 0; b < n_rows; b += batch) {
        const index_t n = std::min<index_t>(batch, n_rows - b);
        for (index_t r = 0; r < n; ++r) {
          std::copy_n(dense.data() + order[static_cast<std::size_t>(b + r)] * cols, cols,
                      x.data() + r * cols);
        }
        const matrix_view<const T> xb(x.data(), n, cols);
        const auto out = forward_train(policy, a.net_, xb, ws);
        // Masked squared error, averaged over the batch's observed entries.
        index_t observed = 0;
        for (index_t e = 0; e < n * cols; ++e) observed += x[e] != T(0);
        const T scale = T(2) / static_cast<T>(std::max<index_t>(1, observed));
        for (index_t r = 0; r < n; ++r) {
          for (index_t c = 0; c < cols; ++c) {
            const T t = x[r * cols + c];
            g[r * cols + c] = t != T(0) ? scale * (out(r, c) - t) : T(0);
          }
        }
        backward(policy, a.net_, ws, matrix_view<const T>(g.data(), n, cols),
                 vector_view<T>(grads.data(), a.net_.parameter_count()), matrix_view<T>{});
        opt.step(policy, a.net_.parameters(),
                 vector_view<const T>(grads.data(), a.net_.parameter_count()));
      }
    }
    forward(policy, a.net_, matrix_view<const T>(dense.data(), rows, cols),
            matrix_view<T>(a.reconstruction_.data(), rows, cols));
    return a;
  }

  // The reconstruction of (user, item) clamped to [lo(), hi()]; `fallback` where the user or
  // item is out of range or has no training rating.
  T predict(index_t user, index_t item, T fallback) const {
    if (!knows(user, item)) return fallback;
    const bool by_item = side_ == autorec_side::item;
    const index_t r = by_item ? item : user, c = by_item ? user : item;
    const index_t cols = by_item ? users_ : items_;
    return std::clamp(reconstruction_[static_cast<std::size_t>(r * cols + c)], lo_, hi_);
  }
  // Both the user and the item have a training rating.
  bool knows(index_t user, index_t item) const {
    if (user < 0 || user >= users_ || item < 0 || item >= items_) return false;
    const bool by_item = side_ == autorec_side::item;
    return row_seen_[static_cast<std::size_t>(by_item ? item : user)] &&
           col_seen_[static_cast<std::size_t>(by_item ? user : item)];
  }
  index_t users() const { return users_; }
  index_t items() const { return items_; }
  autorec_side side() const { return side_; }
  T lo() const { return lo_; }
  T hi() const { return hi_; }
  const mlp<T>& network() const { return net_; }

 private:
  autorec(index_t users, index_t items, autorec_side side, mlp<T> net)
      : users_(users), items_(items), side_(side), net_(std::move(net)) {}

  index_t users_ = 0, items_ = 0;
  autorec_side side_ = autorec_side::item;
  mlp<T> net_;
  std::vector<T> reconstruction_;  // rows x cols (rows: items for side == item)
  std::vector<char> row_seen_, col_seen_;
  T lo_ = T(0), hi_ = T(0);
};

}  // namespace recfuse::nn
