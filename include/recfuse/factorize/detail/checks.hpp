// recfuse: the input checks both factorization families share (recfuse/factorize/biased_mf.hpp
// and recfuse/factorize/implicit_als.hpp), so that they accept and reject the same things with
// the same messages.
//
//   detail::mf::check_factors(fn, options.factors);              // 1 <= factors <= max_factors
//   detail::mf::check_real_option<T>(fn, "alpha", options.alpha);  // finite, >= 0, finite in T
//   detail::mf::check_model(fn, model);                  // a biased_mf_model or implicit_mf_model
//   const auto rows = detail::mf::checked_rows(fn, "users", ids, model.users);  // sorted, unique
//
// Every check throws (value_error, shape_error or index_error) with a message that starts with
// the public function's name `fn` and names the offending option, size or id.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "recfuse/core/config.hpp"
#include "recfuse/core/errors.hpp"
#include "recfuse/core/views.hpp"

namespace recfuse::detail::mf {

// The largest factor count a fit accepts, and a model may have: the solvers hold k x k systems
// (k^2 elements, in double for Cholesky), so 65,536 factors already need 32 GiB per system.
inline constexpr index_t max_factors = 65536;

// options.factors of a fit.
inline void check_factors(const char* fn, index_t factors) {
  if (factors < 1 || factors > max_factors) {
    throw_error<value_error>(fn, "options.factors is ", factors,
                             " (need 1 <= factors <= ", max_factors, ")");
  }
}

template <class T>
constexpr const char* type_name() {
  if constexpr (std::is_same_v<T, float>) {
    return "float";
  } else if constexpr (std::is_same_v<T, double>) {
    return "double";
  } else {
    return "long double";
  }
}

enum class bound { non_negative, positive };

// A real-valued option: finite and >= 0 (or > 0), and still finite once converted to T, the
// model's type, in which the kernels use it (a double of 1e39 is inf as a float).
template <class T>
void check_real_option(const char* fn, const char* name, double v, bound b = bound::non_negative) {
  static_assert(std::is_floating_point_v<T>, "recfuse: factorization models hold float or double");
  const bool positive = b == bound::positive;
  if (!(positive ? v > 0.0 : v >= 0.0) || !std::isfinite(v)) {
    throw_error<value_error>(fn, "options.", name, " is ", v, " (need a finite value ",
                             positive ? "> 0" : ">= 0", ")");
  }
  if (!std::isfinite(static_cast<T>(v))) {
    throw_error<value_error>(fn, "options.", name, " is ", v, ", which overflows ", type_name<T>(),
                             " (the model's type; need a finite value ", positive ? "> 0" : ">= 0",
                             " in ", type_name<T>(), ")");
  }
}

// A model's sizes and vectors: users and items in [0, INT32_MAX] (ids are 32-bit), factors in
// [0, max_factors], every vector as long as the sizes say. Model is biased_mf_model<T> (with
// bias vectors) or implicit_mf_model<T>.
template <class Model>
void check_model(const char* fn, const Model& m) {
  using T = typename decltype(m.user_factors)::value_type;
  static_assert(std::is_floating_point_v<T>, "recfuse: factorization models hold float or double");
  // (Copied first: `m.items < 0 || ... >` in a template would parse as a template-id.)
  const index_t users = m.users, items = m.items, factors = m.factors;
  if (users < 0 || items < 0 || factors < 0 || users > INT32_MAX || items > INT32_MAX ||
      factors > max_factors) {
    throw_error<shape_error>(fn, "model has users = ", users, ", items = ", items,
                             ", factors = ", factors, " (need users and items in [0, ", INT32_MAX,
                             "], factors in [0, ", max_factors, "])");
  }
  auto same = [&](const char* what, std::size_t have, const char* sizes, index_t want) {
    if (have != static_cast<std::size_t>(want)) {
      throw_error<shape_error>(fn, "model.", what, " has ", have, " elements but ", sizes, " is ",
                               want);
    }
  };
  if constexpr (requires { m.user_bias; }) {
    same("user_bias", m.user_bias.size(), "model.users", users);
    same("item_bias", m.item_bias.size(), "model.items", items);
  }
  same("user_factors", m.user_factors.size(), "model.users * model.factors", users * factors);
  same("item_factors", m.item_factors.size(), "model.items * model.factors", items * factors);
}

// The row ids a refit lists, each checked against [0, n) (index_error naming the first one
// outside), sorted and without duplicates.
inline std::vector<std::int32_t> checked_rows(const char* fn, const char* name,
                                              vector_view<const std::int32_t> ids, index_t n) {
  check_vector(fn, name, ids);
  for (index_t j = 0; j < ids.size(); ++j) {
    if (ids[j] < 0 || ids[j] >= n) {
      throw_error<index_error>(fn, name, "[", j, "] is ", ids[j], ", outside [0, ", n, ")");
    }
  }
  std::vector<std::int32_t> rows(ids.begin(), ids.end());
  std::sort(rows.begin(), rows.end());
  rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  return rows;
}

}  // namespace recfuse::detail::mf
