// recfuse: saving and loading factorization models (recfuse/factorize/model.hpp).
//
//   recfuse::save_model("movies.rfm", model);                              // biased or implicit
//   auto m = recfuse::load_biased_mf_model<float>("movies.rfm");
//   auto x = recfuse::load_implicit_mf_model<double>("clicks.rfm");
//
// A model file is a recfuse::io::archive (recfuse/io/archive.hpp): versioned, checksummed and
// written atomically (the previous file survives a failed save). Its kind is "biased_mf" or
// "implicit_mf"; it records the element type, and loading checks it: a float model loads only
// as float, a double model only as double (a clear io_error names both types, no silent
// conversion). Values round-trip bit-exactly. Loading validates the kind, the element type,
// users and items in [0, INT32_MAX], factors in [1, 65536] (detail::mf::max_factors, the limit
// the fits have too), that every array's shape agrees with them, and that every value is finite
// (and min_rating <= max_rating), so a corrupt or hand-made file cannot make later use allocate
// huge k x k systems or compute with NaN. save_model refuses what load would refuse, so every
// file it writes loads.
#pragma once

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "recfuse/core/config.hpp"
#include "recfuse/core/errors.hpp"
#include "recfuse/factorize/detail/checks.hpp"  // detail::mf::max_factors
#include "recfuse/factorize/model.hpp"
#include "recfuse/io/archive.hpp"

namespace recfuse {
namespace detail {

inline constexpr double model_file_version = 1;

inline void check_model_extents(const char* fn, index_t users, index_t items, index_t factors) {
  if (users < 0 || items < 0 || factors < 1 || users > INT32_MAX || items > INT32_MAX ||
      factors > mf::max_factors) {
    throw_error<shape_error>(fn, "the model has users = ", users, ", items = ", items,
                             ", factors = ", factors, " (users and items must be in [0, ",
                             INT32_MAX, "], factors in [1, ", mf::max_factors, "])");
  }
}

// The index of v's first NaN or infinity, or -1 when all are finite. One pass: a value is NaN
// or infinite when its exponent bits are all ones; the OR of that test over a block of 1024
// (integer operations the compiler vectorizes) is checked once per block.
template <class T>
index_t first_non_finite(const std::vector<T>& v) {
  using bits = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  constexpr bits exponent =
      static_cast<bits>(sizeof(T) == 4 ? 0x7f800000ull : 0x7ff0000000000000ull);
  constexpr std::size_t block = 1024;
  for (std::size_t start = 0; start < v.size(); start += block) {
    const std::size_t stop = std::min(v.size(), start + block);
    bits any = 0;
    for (std::size_t i = start; i < stop; ++i) {
      any |= static_cast<bits>((std::bit_cast<bits>(v[i]) & exponent) == exponent);
    }
    if (any == 0) continue;
    for (std::size_t i = start; i < stop; ++i) {
      if (!std::isfinite(v[i])) return static_cast<index_t>(i);
    }
  }
  return -1;
}

// " element 7 (user 3, factor 1) is nan" for a [rows, cols] array, " element 7 (user 7) is
// inf" for a vector (cols = 0).
template <class T>
std::string non_finite_text(const char* row, index_t cols, index_t at, T value) {
  return concat(" element ", at, " (", row, " ", cols > 0 ? at / cols : at,
                cols > 0 ? concat(", factor ", at % cols) : std::string(), ") is ", value);
}

// save_model: value_error for a NaN or infinite value, or min_rating > max_rating.
template <class T>
void check_model_values(const char* fn, const char* name, const std::vector<T>& v, const char* row,
                        index_t cols) {
  if (const index_t at = first_non_finite(v); at >= 0) {
    throw_error<value_error>(fn, name,
                             non_finite_text(row, cols, at, v[static_cast<std::size_t>(at)]),
                             "; a saved model's values must be finite");
  }
}

template <class T>
void check_model_scalars(const char* fn, T global_mean, T min_rating, T max_rating) {
  if (!std::isfinite(global_mean) || !std::isfinite(min_rating) || !std::isfinite(max_rating) ||
      !(min_rating <= max_rating)) {
    throw_error<value_error>(fn, "the model has global_mean = ", global_mean,
                             ", min_rating = ", min_rating, ", max_rating = ", max_rating,
                             " (each must be finite, and min_rating <= max_rating)");
  }
}

template <class T>
void check_model_vector(const char* fn, const char* name, const std::vector<T>& v, index_t expected,
                        const char* what) {
  if (static_cast<index_t>(v.size()) != expected) {
    throw_error<shape_error>(fn, name, " has ", v.size(), " elements but ", what, " is ", expected);
  }
}

template <class T>
io::archive model_archive(const char* kind, index_t users, index_t items, index_t factors) {
  io::archive a(kind);
  a.put("model_version", model_file_version);
  a.put_string("dtype", io::dtype_name(io::dtype_of<T>()));
  a.put_string("recfuse_version", concat(RECFUSE_VERSION_MAJOR, ".", RECFUSE_VERSION_MINOR, ".",
                                         RECFUSE_VERSION_PATCH));
  a.put("users", static_cast<double>(users));
  a.put("items", static_cast<double>(items));
  a.put("factors", static_cast<double>(factors));
  return a;
}

// Loads `path` and checks that it holds a `kind` model of element type T.
template <class T>
io::archive open_model(const char* fn, const std::filesystem::path& path, const char* kind,
                       const char* other_kind, const char* other_loader) {
  io::archive a = io::detail::read_archive(fn, path);
  if (a.kind() != kind) {
    throw_error<io_error>(
        fn, path, ": the file holds a model of kind \"", a.kind(), "\", not \"", kind, "\"",
        a.kind() == other_kind ? concat(" (load it with ", other_loader, ")") : std::string());
  }
  if (a.type("model_version") != io::entry_type::scalar) {
    throw_error<io_error>(fn, path, ": no model_version entry; not a complete ", kind,
                          " model file");
  }
  if (const double v = a.scalar("model_version"); v != model_file_version) {
    throw_error<io_error>(fn, path, ": model version ", v, " is not supported (this build reads ",
                          model_file_version, ")");
  }
  if (a.type("dtype") != io::entry_type::string) {
    throw_error<io_error>(fn, path, ": no dtype entry; not a complete ", kind, " model file");
  }
  const char* want = io::dtype_name(io::dtype_of<T>());
  if (const std::string& got = a.string("dtype"); got != want) {
    const char* type = got == "float32" ? "float" : got == "float64" ? "double" : nullptr;
    throw_error<io_error>(fn, path, ": the model holds ", got,
                          " values, but it is being loaded as ", want,
                          type ? concat(" (call ", fn, "<", type, ">)") : std::string());
  }
  return a;
}

inline double model_scalar(const char* fn, const io::archive& a, const char* name) {
  if (a.type(name) != io::entry_type::scalar) {
    throw_error<io_error>(fn, a.source(), ": the ", a.kind(), " model has no scalar \"", name,
                          "\"");
  }
  return a.scalar(name);
}

// v as the shortest text that reads back to it: 2147483647, 2.5, 1e+300, nan.
inline std::string number_text(double v) {
  char buf[32];
  return std::string(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

inline index_t model_extent(const char* fn, const io::archive& a, const char* name, index_t min,
                            index_t max) {
  const double v = model_scalar(fn, a, name);
  if (!(v >= static_cast<double>(min) && v <= static_cast<double>(max)) || v != std::floor(v)) {
    throw_error<io_error>(fn, a.source(), ": ", name, " is ", number_text(v),
                          " (need an integer in [", min, ", ", max, "])");
  }
  return static_cast<index_t>(v);
}

// A scalar that must be finite once converted to T, the model's type.
template <class T>
T model_value(const char* fn, const io::archive& a, const char* name) {
  const double v = model_scalar(fn, a, name);
  if (!std::isfinite(static_cast<T>(v))) {
    throw_error<io_error>(fn, a.source(), ": ", name, " is ", number_text(v), " (need a finite ",
                          io::dtype_name(io::dtype_of<T>()), " value)");
  }
  return static_cast<T>(v);
}

template <class T>
std::vector<T> model_array(const char* fn, const io::archive& a, const char* name,
                           const std::vector<index_t>& shape, const char* what) {
  if (a.type(name) != io::entry_type::array) {
    throw_error<io_error>(fn, a.source(), ": the ", a.kind(), " model has no array \"", name, "\"");
  }
  if (a.array_dtype(name) != io::dtype_of<T>()) {
    throw_error<io_error>(fn, a.source(), ": array \"", name, "\" holds ",
                          io::dtype_name(a.array_dtype(name)), ", not ",
                          io::dtype_name(io::dtype_of<T>()));
  }
  const auto& got = a.array_shape(name);
  if (got != shape) {
    const auto text = [](const std::vector<index_t>& s) {
      std::string t = "[";
      for (std::size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
      return t + "]";
    };
    throw_error<io_error>(fn, a.source(), ": array \"", name, "\" has shape ", text(got), " but ",
                          what, " is ", text(shape));
  }
  std::vector<T> v = a.array<T>(name);
  if (const index_t at = first_non_finite(v); at >= 0) {
    const char* row = std::string_view(name).starts_with("user") ? "user" : "item";
    throw_error<io_error>(
        fn, a.source(), ": array \"", name, "\"",
        non_finite_text(row, shape.size() == 2 ? shape[1] : 0, at, v[static_cast<std::size_t>(at)]),
        " (a model's values must be finite)");
  }
  return v;
}

}  // namespace detail

// Saves a biased MF model. shape_error when users or items are outside [0, INT32_MAX], factors
// outside [1, 65536], or its vectors disagree with them; value_error when a value is NaN or
// infinite or min_rating > max_rating (a file load_biased_mf_model would refuse); io_error
// when the file cannot be written. On any error the previous file at `path` survives.
template <class T>
void save_model(const std::filesystem::path& path, const biased_mf_model<T>& m) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                "recfuse::save_model: models hold float or double");
  constexpr const char* fn = "recfuse::save_model";
  detail::check_model_extents(fn, m.users, m.items, m.factors);
  detail::check_model_vector(fn, "user_bias", m.user_bias, m.users, "users");
  detail::check_model_vector(fn, "item_bias", m.item_bias, m.items, "items");
  detail::check_model_vector(fn, "user_factors", m.user_factors, m.users * m.factors,
                             "users x factors");
  detail::check_model_vector(fn, "item_factors", m.item_factors, m.items * m.factors,
                             "items x factors");
  detail::check_model_scalars(fn, m.global_mean, m.min_rating, m.max_rating);
  detail::check_model_values(fn, "user_bias", m.user_bias, "user", 0);
  detail::check_model_values(fn, "item_bias", m.item_bias, "item", 0);
  detail::check_model_values(fn, "user_factors", m.user_factors, "user", m.factors);
  detail::check_model_values(fn, "item_factors", m.item_factors, "item", m.factors);
  io::archive a = detail::model_archive<T>("biased_mf", m.users, m.items, m.factors);
  a.put("global_mean", static_cast<double>(m.global_mean));
  a.put("min_rating", static_cast<double>(m.min_rating));
  a.put("max_rating", static_cast<double>(m.max_rating));
  a.put_array("user_bias", std::span<const T>(m.user_bias), {m.users});
  a.put_array("item_bias", std::span<const T>(m.item_bias), {m.items});
  a.put_array("user_factors", std::span<const T>(m.user_factors), {m.users, m.factors});
  a.put_array("item_factors", std::span<const T>(m.item_factors), {m.items, m.factors});
  io::detail::write_archive(fn, path, a);
}

// Saves an implicit MF model; errors as for the biased model.
template <class T>
void save_model(const std::filesystem::path& path, const implicit_mf_model<T>& m) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                "recfuse::save_model: models hold float or double");
  constexpr const char* fn = "recfuse::save_model";
  detail::check_model_extents(fn, m.users, m.items, m.factors);
  detail::check_model_vector(fn, "user_factors", m.user_factors, m.users * m.factors,
                             "users x factors");
  detail::check_model_vector(fn, "item_factors", m.item_factors, m.items * m.factors,
                             "items x factors");
  detail::check_model_values(fn, "user_factors", m.user_factors, "user", m.factors);
  detail::check_model_values(fn, "item_factors", m.item_factors, "item", m.factors);
  io::archive a = detail::model_archive<T>("implicit_mf", m.users, m.items, m.factors);
  a.put_array("user_factors", std::span<const T>(m.user_factors), {m.users, m.factors});
  a.put_array("item_factors", std::span<const T>(m.item_factors), {m.items, m.factors});
  io::detail::write_archive(fn, path, a);
}

// Loads a model saved by save_model(path, biased_mf_model<T>). io_error, naming the file, for
// every problem load_archive reports (missing, not a model file, unsupported version,
// truncated, corrupt), and when the file holds another kind of model, another element type
// (float vs double), users or items outside [0, INT32_MAX], factors outside [1, 65536], arrays
// whose shapes disagree with them, a NaN or infinite value (global_mean, min_rating,
// max_rating, or an array element: the message names the array and the element), or
// min_rating > max_rating.
template <class T = float>
biased_mf_model<T> load_biased_mf_model(const std::filesystem::path& path) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                "recfuse::load_biased_mf_model: models hold float or double");
  constexpr const char* fn = "recfuse::load_biased_mf_model";
  const io::archive a = detail::open_model<T>(fn, path, "biased_mf", "implicit_mf",
                                              "recfuse::load_implicit_mf_model");
  biased_mf_model<T> m;
  m.users = detail::model_extent(fn, a, "users", 0, INT32_MAX);
  m.items = detail::model_extent(fn, a, "items", 0, INT32_MAX);
  m.factors = detail::model_extent(fn, a, "factors", 1, detail::mf::max_factors);
  m.global_mean = detail::model_value<T>(fn, a, "global_mean");
  m.min_rating = detail::model_value<T>(fn, a, "min_rating");
  m.max_rating = detail::model_value<T>(fn, a, "max_rating");
  if (!(m.min_rating <= m.max_rating)) {
    detail::throw_error<io_error>(fn, a.source(), ": min_rating ", m.min_rating, " > max_rating ",
                                  m.max_rating);
  }
  m.user_bias = detail::model_array<T>(fn, a, "user_bias", {m.users}, "[users]");
  m.item_bias = detail::model_array<T>(fn, a, "item_bias", {m.items}, "[items]");
  m.user_factors =
      detail::model_array<T>(fn, a, "user_factors", {m.users, m.factors}, "[users, factors]");
  m.item_factors =
      detail::model_array<T>(fn, a, "item_factors", {m.items, m.factors}, "[items, factors]");
  return m;
}

// Loads a model saved by save_model(path, implicit_mf_model<T>); errors as above (no biases or
// rating range to check).
template <class T = float>
implicit_mf_model<T> load_implicit_mf_model(const std::filesystem::path& path) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                "recfuse::load_implicit_mf_model: models hold float or double");
  constexpr const char* fn = "recfuse::load_implicit_mf_model";
  const io::archive a =
      detail::open_model<T>(fn, path, "implicit_mf", "biased_mf", "recfuse::load_biased_mf_model");
  implicit_mf_model<T> m;
  m.users = detail::model_extent(fn, a, "users", 0, INT32_MAX);
  m.items = detail::model_extent(fn, a, "items", 0, INT32_MAX);
  m.factors = detail::model_extent(fn, a, "factors", 1, detail::mf::max_factors);
  m.user_factors =
      detail::model_array<T>(fn, a, "user_factors", {m.users, m.factors}, "[users, factors]");
  m.item_factors =
      detail::model_array<T>(fn, a, "item_factors", {m.items, m.factors}, "[items, factors]");
  return m;
}

}  // namespace recfuse
