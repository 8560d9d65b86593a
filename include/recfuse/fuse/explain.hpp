// recfuse: "because you liked X" -- the rated items behind a factorization score.
//
//   auto why = recfuse::fuse::explain_factorization(cpu, model, rated, ratings, item, 3);
//   // why.score == why.baseline + sum of why.evidence[*].contribution + why.rest
//
// The score explained is the fold-in score: the user's factors solved from (rated, ratings) by
// the ALS user step against the model's fixed item factors (recfuse::fold_in_user), which is
// linear in the user's ratings, so the score splits exactly into one part per rated entry (the
// idea of implicit's ALS `explain`).
//
// Biased MF (r = mu + b_u + b_i + p_u . q_i): the fold-in solves w = [b_u, p_u] from features
// x_j = [1, q_j] and targets e_j = r_j - mu - b_j with the library's weighted lambda,
//   A = sum_{j in R} x_j x_j^T + diag(reg_bias |R|, reg_factor |R|, ..., reg_factor |R|),
//   w = A^{-1} sum_j e_j x_j,
// so with x_i = [1, q_i] the score is mu + b_i + x_i^T w = baseline + sum_j c_j, where
//   baseline = mu + b_i,   c_j = e_j * x_i^T A^{-1} x_j.
// b_u is solved with p_u, as fold_in_user does, and so is split among the rated items too:
// baseline + sum_j c_j equals fold_in_user's b_u + p_u . q_i + mu + b_i exactly in real
// arithmetic. score is that sum before clipping to [min_rating, max_rating]. The system is
// solved in double by Cholesky, with fold_in_user's jitter retry; when it stays singular the
// fold-in gives zero factors and every contribution here is 0.
//
// Implicit ALS (Hu, Koren and Volinsky): with confidences c_j = 1 + alpha v_j,
//   A = Y^T Y + sum_j (c_j - 1) y_j y_j^T + regularization I   (not scaled by |R|, as fit),
//   p_u = A^{-1} sum_{j: v_j > 0} c_j y_j,
// so score = y_i . p_u = sum_j c_j y_i^T A^{-1} y_j, baseline 0. This is fold_in_user's exact
// (Cholesky) solution; with the conjugate-gradient solver fold_in_user stops after cg_steps
// steps and is only near it. Entries of value 0 are as if absent (as in fit) and never appear
// in the evidence. Y^T Y is recfuse::gramian(policy, model.item_matrix()) unless given.
//
// Output: evidence holds the top_n rated items by contribution, largest first (ties: smaller
// item id), and rest the sum of the others' contributions; score = baseline + the sum of every
// contribution. A duplicated item is a separate observation in the solve (as in fold_in_user);
// its contributions are summed into one evidence entry. An empty rating list gives score =
// baseline and no evidence. The explained item may be one of the rated ones.
//
// Errors (messages start with "recfuse::fuse::explain_factorization"): a model whose arrays do
// not match its sizes (shape_error); rated items and ratings of different lengths, item_gram
// not factors^2 long (shape_error); item or a rated id outside [0, model.items) (index_error);
// NaN or infinite ratings, negative implicit values, top_n < 0, bad regularization options, an
// implicit system that is not positive definite (regularization 0) (value_error).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "recfuse/core/config.hpp"
#include "recfuse/core/errors.hpp"
#include "recfuse/core/execution.hpp"
#include "recfuse/core/views.hpp"
#include "recfuse/factorize/detail/checks.hpp"
#include "recfuse/factorize/implicit_als.hpp"
#include "recfuse/factorize/model.hpp"
#include "recfuse/reference/fuse/explain.hpp"

namespace recfuse {
namespace fuse {

struct item_evidence {
  index_t item;
  double contribution;
};

struct factor_explanation {
  double score = 0.0;                   // baseline + every contribution (unclipped)
  double baseline = 0.0;                // mu + b_i (biased); 0 (implicit)
  std::vector<item_evidence> evidence;  // top_n items, largest contribution first
  double rest = 0.0;                    // sum of the contributions not in evidence
};

}  // namespace fuse

namespace detail {

inline constexpr const char* explain_fn = "recfuse::fuse::explain_factorization";

template <class T>
void check_explain_input(index_t model_items, vector_view<const std::int32_t> items,
                         vector_view<const T> values, index_t item, index_t top_n) {
  const char* fn = explain_fn;
  check_vector(fn, "rated items", items);
  check_vector(fn, "ratings", values);
  check_same(fn, "rated items.size()", items.size(), "ratings.size()", values.size());
  if (item < 0 || item >= model_items) {
    throw_error<index_error>(fn, "item is ", item, ", outside [0, ", model_items, ")");
  }
  if (top_n < 0) throw_error<value_error>(fn, "top_n is ", top_n, " (need >= 0)");
  for (index_t e = 0; e < items.size(); ++e) {
    if (items[e] < 0 || items[e] >= model_items) {
      throw_error<index_error>(fn, "rated items[", e, "] is ", items[e], ", outside [0, ",
                               model_items, ")");
    }
    if (!std::isfinite(values[e])) {
      throw_error<value_error>(fn, "ratings[", e, "] (item ", items[e], ") is ", values[e]);
    }
  }
}

// Merges the per-entry contributions by item and keeps the top_n (ties: smaller id).
inline fuse::factor_explanation explain_summary(vector_view<const std::int32_t> items,
                                                const std::vector<double>& c, double baseline,
                                                index_t top_n, const std::vector<bool>* skip) {
  fuse::factor_explanation out;
  out.baseline = baseline;
  double total = 0.0;
  std::vector<fuse::item_evidence> all;
  all.reserve(c.size());
  for (index_t e = 0; e < items.size(); ++e) {
    total += c[e];
    if (skip == nullptr || !(*skip)[e]) all.push_back({items[e], c[e]});
  }
  out.score = baseline + total;
  std::sort(all.begin(), all.end(), [](const fuse::item_evidence& a, const fuse::item_evidence& b) {
    return a.item < b.item;
  });
  std::size_t w = 0;
  for (std::size_t r = 0; r < all.size(); ++r) {
    if (w > 0 && all[w - 1].item == all[r].item) {
      all[w - 1].contribution += all[r].contribution;
    } else {
      all[w++] = all[r];
    }
  }
  all.resize(w);
  // NaN (from a model holding NaN) sorts last, so the order stays a strict weak order.
  auto before = [](const fuse::item_evidence& a, const fuse::item_evidence& b) {
    const bool na = std::isnan(a.contribution), nb = std::isnan(b.contribution);
    if (na != nb) return nb;
    if (!na && a.contribution != b.contribution) return a.contribution > b.contribution;
    return a.item < b.item;
  };
  const auto keep = static_cast<std::size_t>(std::min<index_t>(top_n, static_cast<index_t>(w)));
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(keep), all.end(),
                    before);
  for (std::size_t r = keep; r < all.size(); ++r) out.rest += all[r].contribution;
  all.resize(keep);
  out.evidence = std::move(all);
  return out;
}

}  // namespace detail

namespace fuse {

// Biased MF, with fold_in_user's options (reg_bias and reg_factor are used).
template <class Policy, class T>
factor_explanation explain_factorization(const Policy& policy, const biased_mf_model<T>& model,
                                         vector_view<const std::int32_t> rated_items,
                                         std::type_identity_t<vector_view<const T>> ratings,
                                         index_t item, index_t top_n, const als_options& options) {
  const char* fn = detail::explain_fn;
  detail::mf::check_real_option<T>(fn, "reg_bias", options.reg_bias);
  detail::mf::check_real_option<T>(fn, "reg_factor", options.reg_factor);
  detail::mf::check_model(fn, model);
  detail::check_explain_input<T>(model.items, rated_items, ratings, item, top_n);
  std::vector<double> c(static_cast<std::size_t>(rated_items.size()));
  if constexpr (requires {
                  explain_factorization_kernel(policy, model, rated_items, ratings, item, options,
                                               c.data());
                }) {
    RECFUSE_CHECK_NATIVE(explain_factorization_kernel, policy, model, rated_items, ratings, item,
                         options, c.data());
    explain_factorization_kernel(policy, model, rated_items, ratings, item, options, c.data());
  } else {
    RECFUSE_NO_KERNEL("recfuse::fuse::explain_factorization", Policy);
  }
  const double baseline =
      static_cast<double>(model.global_mean) + static_cast<double>(model.item_bias[item]);
  return detail::explain_summary(rated_items, c, baseline, top_n, nullptr);
}

// Biased MF with reg_factor given and reg_bias at als_options{}'s default (0.05).
template <class Policy, class T>
factor_explanation explain_factorization(const Policy& policy, const biased_mf_model<T>& model,
                                         vector_view<const std::int32_t> rated_items,
                                         std::type_identity_t<vector_view<const T>> ratings,
                                         index_t item, index_t top_n, double reg_factor = 0.12) {
  als_options options;
  options.reg_factor = reg_factor;
  return explain_factorization(policy, model, rated_items, ratings, item, top_n, options);
}

// Implicit ALS with the item gramian Y^T Y given (k x k, as recfuse::gramian returns it).
template <class Policy, class T>
factor_explanation explain_factorization(const Policy& policy, const implicit_mf_model<T>& model,
                                         std::type_identity_t<vector_view<const T>> item_gram,
                                         vector_view<const std::int32_t> items,
                                         std::type_identity_t<vector_view<const T>> values,
                                         index_t item, index_t top_n,
                                         const implicit_als_options& options = {}) {
  const char* fn = detail::explain_fn;
  detail::mf::check_real_option<T>(fn, "regularization", options.regularization);
  detail::mf::check_real_option<T>(fn, "alpha", options.alpha);
  detail::mf::check_model(fn, model);
  detail::check_vector(fn, "item_gram", item_gram);
  detail::check_same(fn, "item_gram.size()", item_gram.size(), "model.factors^2",
                     model.factors * model.factors);
  detail::check_explain_input<T>(model.items, items, values, item, top_n);
  std::vector<bool> skip(static_cast<std::size_t>(items.size()));
  for (index_t e = 0; e < items.size(); ++e) {
    const T v = values[e];
    if (!(v >= T(0))) {
      detail::throw_error<value_error>(fn, "values[", e, "] (item ", items[e], ") is ", v,
                                       " (implicit feedback values must be >= 0)");
    }
    if (!std::isfinite(static_cast<T>(1.0 + options.alpha * static_cast<double>(v)))) {
      detail::throw_error<value_error>(
          fn, "values[", e, "] (item ", items[e], ") is ", v,
          ": its confidence 1 + alpha * value overflows (alpha = ", options.alpha, ")");
    }
    skip[static_cast<std::size_t>(e)] = !(v > T(0));
  }
  std::vector<double> c(static_cast<std::size_t>(items.size()));
  if constexpr (requires {
                  explain_factorization_kernel(policy, model, item_gram.data(), items, values, item,
                                               options, c.data());
                }) {
    RECFUSE_CHECK_NATIVE(explain_factorization_kernel, policy, model, item_gram.data(), items,
                         values, item, options, c.data());
    if (!explain_factorization_kernel(policy, model, item_gram.data(), items, values, item, options,
                                      c.data())) {
      detail::throw_error<value_error>(fn, "the fold-in system is not positive definite ",
                                       "(regularization = ", options.regularization,
                                       "; use regularization > 0)");
    }
  } else {
    RECFUSE_NO_KERNEL("recfuse::fuse::explain_factorization", Policy);
  }
  return detail::explain_summary(items, c, 0.0, top_n, &skip);
}

// Implicit ALS; computes Y^T Y with recfuse::gramian (O(items k^2): pass it when explaining
// many scores).
template <class Policy, class T>
factor_explanation explain_factorization(const Policy& policy, const implicit_mf_model<T>& model,
                                         vector_view<const std::int32_t> items,
                                         std::type_identity_t<vector_view<const T>> values,
                                         index_t item, index_t top_n,
                                         const implicit_als_options& options = {}) {
  detail::mf::check_model(detail::explain_fn, model);
  const std::vector<T> gram = gramian(policy, model.item_matrix());
  return explain_factorization(policy, model,
                               vector_view<const T>(gram.data(), static_cast<index_t>(gram.size())),
                               items, values, item, top_n, options);
}

}  // namespace fuse
}  // namespace recfuse
