// recfuse: NumPy .npy files, to hand embeddings and weights to and from Python.
//
//   recfuse::io::save_npy("item_factors.npy", matrix_view<const float>(p, items, k));  // atomic
//   auto t = recfuse::io::load_npy<float>("title_embeddings.npy");   // any supported dtype -> T
//   matrix_view<const float> e = t.matrix();                          // 2-D (or 1-D as 1 x n)
//
// Writing: format version 1.0 ('<f4' for float, '<f8' for double, C order), the header padded
// with spaces to a multiple of 64 bytes and ended by '\n' as numpy does; version 2.0 only when
// the header would not fit in 65535 bytes. Reading: versions 1.0, 2.0 and 3.0; dtypes '<f2'
// (IEEE half), '<f4', '<f8', '<i1' '|u1' '<i2' '<u2' '<i4' '<u4' '<i8' '<u8' and '|b1',
// converted to T (so int64 beyond 2^24 rounds when T is float; half and float convert exactly).
// An integer T takes only values that fit: an integer in T's range or a finite floating-point
// value whose truncation toward zero is in it; NaN, infinity or anything out of range is an
// io_error naming the element, its value and T's range. Shapes of rank 1 or more; Fortran-order
// arrays of rank <= 2 are transposed into row-major on load, of rank > 2 refused. Big-endian ('>')
// data, structured dtypes, 0-d arrays, truncated files and bytes after the data are io_errors that
// start with "recfuse::io::load_npy: <path>: ". NaN and infinities load as they are (this is raw
// data; the model loaders check finiteness). See docs/io.md.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "recfuse/core/config.hpp"
#include "recfuse/core/errors.hpp"
#include "recfuse/core/views.hpp"
#include "recfuse/io/archive.hpp"

namespace recfuse::io {

// An n-dimensional array, row-major (C order).
template <class T>
struct tensor {
  std::vector<index_t> shape;
  std::vector<T> data;

  index_t rank() const { return static_cast<index_t>(shape.size()); }
  index_t size() const { return static_cast<index_t>(data.size()); }
  // 2-D: shape[0] x shape[1]; 1-D: a single row, 1 x shape[0]; other ranks: shape_error.
  index_t rows() const { return shape.size() == 1 ? 1 : extent("rows", 0); }
  index_t cols() const { return shape.size() == 1 ? shape[0] : extent("cols", 1); }
  matrix_view<const T> matrix() const { return {data.data(), rows(), cols()}; }
  matrix_view<T> matrix() { return {data.data(), rows(), cols()}; }
  // All elements, flat, whatever the rank.
  vector_view<const T> vector() const { return {data.data(), size()}; }
  vector_view<T> vector() { return {data.data(), size()}; }

 private:
  index_t extent(const char* what, std::size_t i) const {
    if (shape.size() != 2) {
      recfuse::detail::throw_error<shape_error>("recfuse::io::tensor::matrix", "a tensor of rank ",
                                                shape.size(), " is not a matrix (", what,
                                                " needs rank 1 or 2)");
    }
    return shape[i];
  }
};

namespace detail {

// IEEE 754 binary16 -> float, exact (subnormals, infinities and NaN payloads included).
inline float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exponent = (h >> 10) & 0x1fu;
  std::uint32_t mantissa = h & 0x3ffu;
  std::uint32_t bits;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;
  } else {  // subnormal: normalise
    std::uint32_t e = 113;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      --e;
    }
    bits = sign | (e << 23) | ((mantissa & 0x3ffu) << 13);
  }
  return std::bit_cast<float>(bits);
}

// bfloat16 -> float (the upper half of a float32), exact.
inline float bfloat16_to_float(std::uint16_t b) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16);
}

// Element types a file may hold.
enum class element_kind { f16, bf16, f32, f64, i8, u8, i16, u16, i32, u32, i64, u64, boolean };

inline std::size_t element_size(element_kind k) {
  switch (k) {
    case element_kind::i8:
    case element_kind::u8:
    case element_kind::boolean:
      return 1;
    case element_kind::f16:
    case element_kind::bf16:
    case element_kind::i16:
    case element_kind::u16:
      return 2;
    case element_kind::f32:
    case element_kind::i32:
    case element_kind::u32:
      return 4;
    case element_kind::f64:
    case element_kind::i64:
    case element_kind::u64:
      return 8;
  }
  return 1;
}

// One source value (widened losslessly to double, int64 or uint64) into T. Floating-point T takes
// any value (as static_cast does; NaN and infinities included). Integer T takes
// a value only when it fits: an integer within T's range, or a finite floating-point value whose
// truncation toward zero is within it (static_cast of anything else is undefined behaviour or
// wraps). Returns false, leaving `out` alone, when the value does not fit.
template <class T, class S>
bool convert_value(S v, T& out) {
  if constexpr (std::is_floating_point_v<T>) {
    out = static_cast<T>(v);
    return true;
  } else if constexpr (std::is_floating_point_v<S>) {
    constexpr int digits = std::numeric_limits<T>::digits;
    // 2^digits: one past T's largest value; -2^digits is T's smallest when T is signed.
    constexpr double hi = digits >= 64 ? 18446744073709551616.0
                                       : static_cast<double>(std::uint64_t{1} << (digits % 64));
    constexpr double lo = std::is_signed_v<T> ? -hi : 0.0;
    const double t = std::trunc(static_cast<double>(v));
    if (!(t >= lo && t < hi)) return false;  // NaN fails both
    out = static_cast<T>(t);
    return true;
  } else {
    constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<T>::max());
    if constexpr (std::is_signed_v<S>) {
      if (v < 0) {
        if constexpr (!std::is_signed_v<T>) {
          return false;
        } else if (v < static_cast<std::int64_t>(std::numeric_limits<T>::min())) {
          return false;
        }
      } else if (static_cast<std::uint64_t>(v) > max) {
        return false;
      }
    } else if (v > max) {
      return false;
    }
    out = static_cast<T>(v);
    return true;
  }
}

// Element i of `src` (kind `k`), widened losslessly, passed to f.
template <class F>
decltype(auto) with_element(element_kind k, const unsigned char* src, std::size_t i, F&& f) {
  switch (k) {
    case element_kind::f16:
      return f(static_cast<double>(half_to_float(load_le<std::uint16_t>(src + 2 * i))));
    case element_kind::bf16:
      return f(static_cast<double>(bfloat16_to_float(load_le<std::uint16_t>(src + 2 * i))));
    case element_kind::f32:
      return f(static_cast<double>(std::bit_cast<float>(load_le<std::uint32_t>(src + 4 * i))));
    case element_kind::f64:
      return f(std::bit_cast<double>(load_le<std::uint64_t>(src + 8 * i)));
    case element_kind::i8:
      return f(static_cast<std::int64_t>(static_cast<std::int8_t>(src[i])));
    case element_kind::u8:
      return f(static_cast<std::uint64_t>(src[i]));
    case element_kind::boolean:
      return f(static_cast<std::uint64_t>(src[i] != 0));
    case element_kind::i16:
      return f(static_cast<std::int64_t>(
          static_cast<std::int16_t>(load_le<std::uint16_t>(src + 2 * i))));
    case element_kind::u16:
      return f(static_cast<std::uint64_t>(load_le<std::uint16_t>(src + 2 * i)));
    case element_kind::i32:
      return f(static_cast<std::int64_t>(
          static_cast<std::int32_t>(load_le<std::uint32_t>(src + 4 * i))));
    case element_kind::u32:
      return f(static_cast<std::uint64_t>(load_le<std::uint32_t>(src + 4 * i)));
    case element_kind::i64:
      return f(static_cast<std::int64_t>(load_le<std::uint64_t>(src + 8 * i)));
    case element_kind::u64:
      break;
  }
  return f(load_le<std::uint64_t>(src + 8 * i));
}

// The value of element i as text, for error messages.
inline std::string element_text(element_kind k, const unsigned char* src, std::size_t i) {
  return with_element(k, src, i, [](auto v) { return recfuse::detail::concat(v); });
}

// T's range as text, "[-128, 127]", for error messages.
template <class T>
std::string range_text() {
  return recfuse::detail::concat("[", +std::numeric_limits<T>::min(), ", ",
                                 +std::numeric_limits<T>::max(), "]");
}

template <class T, class Load>
std::size_t convert_loop(std::size_t count, T* out, Load load) {
  for (std::size_t i = 0; i < count; ++i) {
    if (!convert_value(load(i), out[i])) return i;
  }
  return count;
}

// Converts `count` little-endian elements of kind `k` at `src` to T. Returns `count`, or the
// index of the first element that does not fit in T (see convert_value; only an integer T can
// refuse a value), with the elements before it converted.
template <class T>
std::size_t convert_elements(element_kind k, const unsigned char* src, std::size_t count, T* out) {
  if constexpr (std::is_floating_point_v<T> && std::endian::native == std::endian::little) {
    if ((k == element_kind::f32 && std::is_same_v<T, float>) ||
        (k == element_kind::f64 && std::is_same_v<T, double>)) {
      if (count) std::memcpy(out, src, count * sizeof(T));
      return count;
    }
  }
  switch (k) {
    case element_kind::f16:
      return convert_loop(count, out, [src](std::size_t i) {
        return half_to_float(load_le<std::uint16_t>(src + 2 * i));
      });
    case element_kind::bf16:
      return convert_loop(count, out, [src](std::size_t i) {
        return bfloat16_to_float(load_le<std::uint16_t>(src + 2 * i));
      });
    case element_kind::f32:
      return convert_loop(count, out, [src](std::size_t i) {
        return std::bit_cast<float>(load_le<std::uint32_t>(src + 4 * i));
      });
    case element_kind::f64:
      return convert_loop(count, out, [src](std::size_t i) {
        return std::bit_cast<double>(load_le<std::uint64_t>(src + 8 * i));
      });
    case element_kind::i8:
      return convert_loop(count, out, [src](std::size_t i) {
        return static_cast<std::int64_t>(static_cast<std::int8_t>(src[i]));
      });
    case element_kind::u8:
      return convert_loop(count, out,
                          [src](std::size_t i) { return static_cast<std::uint64_t>(src[i]); });
    case element_kind::boolean:
      return convert_loop(count, out,
                          [src](std::size_t i) { return static_cast<std::uint64_t>(src[i] != 0); });
    case element_kind::i16:
      return convert_loop(count, out, [src](std::size_t i) {
        return static_cast<std::int64_t>(
            static_cast<std::int16_t>(load_le<std::uint16_t>(src + 2 * i)));
      });
    case element_kind::u16:
      return convert_loop(count, out, [src](std::size_t i) {
        return static_cast<std::uint64_t>(load_le<std::uint16_t>(src + 2 * i));
      });
    case element_kind::i32:
      return convert_loop(count, out, [src](std::size_t i) {
        return static_cast<std::int64_t>(
            static_cast<std::int32_t>(load_le<std::uint32_t>(src + 4 * i)));
      });
    case element_kind::u32:
      return convert_loop(count, out, [src](std::size_t i) {
        return static_cast<std::uint64_t>(load_le<std::uint32_t>(src + 4 * i));
      });
    case element_kind::i64:
      return convert_loop(count, out, [src](std::size_t i) {
        return static_cast<std::int64_t>(load_le<std::uint64_t>(src + 8 * i));
      });
    case element_kind::u64:
      break;
  }
  return convert_loop(count, out,
                      [src](std::size_t i) { return load_le<std::uint64_t>(src + 8 * i); });
}

// The element count of `shape` when it fits in `available_bytes` / `element_bytes`; false when
// it does not (overflow included).
inline bool element_count_within(const std::vector<index_t>& shape, std::size_t element_bytes,
                                 std::size_t available_bytes, std::size_t& count) {
  for (const index_t d : shape) {
    if (d == 0) {
      count = 0;
      return true;
    }
  }
  const std::size_t limit = available_bytes / element_bytes;
  std::size_t c = 1;
  for (const index_t d : shape) {
    const auto x = static_cast<std::uint64_t>(d);
    if (c > limit / x) return false;
    c *= static_cast<std::size_t>(x);
  }
  count = c;
  return true;
}

inline std::string shape_text(const std::vector<index_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

// ---- the .npy header: a Python dict literal -------------------------------------------------

struct npy_header {
  std::string descr;
  bool fortran_order = false;
  std::vector<index_t> shape;
};

class npy_header_parser {
 public:
  npy_header_parser(const char* fn, const std::filesystem::path& path, std::string_view text)
      : fn_(fn), path_(path), s_(text) {}

  npy_header parse() {
    npy_header h;
    bool have_descr = false, have_order = false, have_shape = false;
    skip_space();
    expect('{');
    for (;;) {
      skip_space();
      if (peek() == '}') {
        ++i_;
        break;
      }
      const std::string key = quoted();
      skip_space();
      expect(':');
      skip_space();
      if (key == "descr") {
        if (peek() != '\'' && peek() != '"') {
          fail("'descr' is not a simple dtype string (structured dtypes are not supported)");
        }
        h.descr = quoted();
        have_descr = true;
      } else if (key == "fortran_order") {
        h.fortran_order = boolean();
        have_order = true;
      } else if (key == "shape") {
        h.shape = tuple();
        have_shape = true;
      } else {
        fail("unexpected key '" + key + "'");
      }
      skip_space();
      if (peek() == ',') {
        ++i_;
        continue;
      }
      skip_space();
      expect('}');
      break;
    }
    skip_space();
    if (i_ != s_.size()) fail("unexpected text after the dictionary");
    if (!have_descr || !have_order || !have_shape) {
      fail("the header lacks one of 'descr', 'fortran_order' and 'shape'");
    }
    return h;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    std::string shown(s_.substr(0, 200));
    recfuse::detail::throw_error<io_error>(fn_, path_, ": cannot parse the header: ", what,
                                           " (header: \"", shown, "\")");
  }
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  void skip_space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r'))
      ++i_;
  }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "' at character " + std::to_string(i_));
    ++i_;
  }
  std::string quoted() {
    const char q = peek();
    if (q != '\'' && q != '"') fail("expected a quoted string at character " + std::to_string(i_));
    ++i_;
    const std::size_t start = i_;
    while (i_ < s_.size() && s_[i_] != q) {
      if (s_[i_] == '\\') fail("escapes in header strings are not supported");
      ++i_;
    }
    if (i_ >= s_.size()) fail("unterminated string");
    std::string out(s_.substr(start, i_ - start));
    ++i_;
    return out;
  }
  bool boolean() {
    if (s_.substr(i_, 4) == "True") {
      i_ += 4;
      return true;
    }
    if (s_.substr(i_, 5) == "False") {
      i_ += 5;
      return false;
    }
    fail("'fortran_order' is neither True nor False");
  }
  std::vector<index_t> tuple() {
    std::vector<index_t> out;
    expect('(');
    for (;;) {
      skip_space();
      if (peek() == ')') {
        ++i_;
        return out;
      }
      if (peek() < '0' || peek() > '9') fail("a shape extent is not a non-negative integer");
      std::uint64_t v = 0;
      while (peek() >= '0' && peek() <= '9') {
        const auto d = static_cast<std::uint64_t>(peek() - '0');
        if (v > (static_cast<std::uint64_t>(std::numeric_limits<index_t>::max()) - d) / 10) {
          fail("a shape extent overflows 64 bits");
        }
        v = v * 10 + d;
        ++i_;
      }
      if (peek() == 'L') ++i_;  // Python 2 long
      out.push_back(static_cast<index_t>(v));
      skip_space();
      if (peek() == ',') {
        ++i_;
        continue;
      }
      skip_space();
      expect(')');
      return out;
    }
  }

  const char* fn_;
  const std::filesystem::path& path_;
  std::string_view s_;
  std::size_t i_ = 0;
};

inline constexpr char npy_magic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

inline bool npy_dtype(std::string_view descr, element_kind& k) {
  struct entry {
    std::string_view name;
    element_kind kind;
  };
  static constexpr entry table[] = {
      {"<f2", element_kind::f16}, {"<f4", element_kind::f32},     {"<f8", element_kind::f64},
      {"|i1", element_kind::i8},  {"<i1", element_kind::i8},      {"|u1", element_kind::u8},
      {"<u1", element_kind::u8},  {"|b1", element_kind::boolean}, {"<i2", element_kind::i16},
      {"<u2", element_kind::u16}, {"<i4", element_kind::i32},     {"<u4", element_kind::u32},
      {"<i8", element_kind::i64}, {"<u8", element_kind::u64}};
  for (const auto& e : table) {
    if (e.name == descr) {
      k = e.kind;
      return true;
    }
  }
  return false;
}

template <class T>
constexpr const char* npy_descr() {
  if constexpr (std::is_same_v<T, float>) {
    return "<f4";
  } else if constexpr (std::is_same_v<T, double>) {
    return "<f8";
  } else {
    static_assert(dependent_false<T>, "recfuse::io::save_npy writes float or double");
  }
}

// Writes a C-order .npy of `count` elements at `data` (rows of `cols` elements `stride` apart).
template <class T>
void write_npy(const char* fn, const std::filesystem::path& path, const std::vector<index_t>& shape,
               const T* data, index_t rows, index_t cols, index_t stride) {
  std::string dict =
      recfuse::detail::concat("{'descr': '", npy_descr<T>(),
                              "', 'fortran_order': False, 'shape': ", shape_text(shape), ", }");
  // magic (6) + version (2) + length (2 or 4) + dict + padding + '\n' == multiple of 64.
  std::size_t prefix = 10;
  int major = 1;
  if (dict.size() + 1 + 64 > 65535) {
    prefix = 12;
    major = 2;
  }
  const std::size_t pad = (64 - (prefix + dict.size() + 1) % 64) % 64;
  dict.append(pad, ' ');
  dict += '\n';
  atomic_write(fn, path, [&](output_file& out) {
    unsigned char head[12];
    std::memcpy(head, npy_magic, 6);
    head[6] = static_cast<unsigned char>(major);
    head[7] = 0;
    if (major == 1) {
      store_le(head + 8, static_cast<std::uint16_t>(dict.size()));
    } else {
      store_le(head + 8, static_cast<std::uint32_t>(dict.size()));
    }
    out.write(head, prefix);
    out.write(dict);
    for (index_t r = 0; r < rows; ++r) {
      const T* row = data + r * stride;
      if constexpr (std::endian::native == std::endian::little) {
        out.write(row, static_cast<std::size_t>(cols) * sizeof(T));
      } else {
        for (index_t c = 0; c < cols; ++c) {
          unsigned char b[sizeof(T)];
          if constexpr (sizeof(T) == 4) {
            store_le(b, std::bit_cast<std::uint32_t>(row[c]));
          } else {
            store_le(b, std::bit_cast<std::uint64_t>(row[c]));
          }
          out.write(b, sizeof b);
        }
      }
    }
  });
}

template <class T>
tensor<T> read_npy(const char* fn, const std::filesystem::path& path) {
  static_assert(std::is_arithmetic_v<T> && !std::is_same_v<T, bool>,
                "recfuse::io::load_npy: T must be a floating-point or integer type (not bool)");
  const file_buffer file = read_file(fn, path);
  const auto p = reinterpret_cast<const unsigned char*>(file.begin());
  const std::size_t size = file.size;
  if (std::memcmp(p, npy_magic, std::min<std::size_t>(size, 6)) != 0) {
    throw_error<io_error>(fn, path, ": not a .npy file (bad magic; expected \"\\x93NUMPY\")");
  }
  if (size < 10) {
    throw_error<io_error>(fn, path, ": truncated: the file has ", size,
                          " bytes, less than the 10-byte preamble");
  }
  const int major = p[6], minor = p[7];
  std::size_t prefix = 0, header_len = 0;
  if (major == 1 && minor == 0) {
    prefix = 10;
    header_len = load_le<std::uint16_t>(p + 8);
  } else if ((major == 2 || major == 3) && minor == 0) {
    prefix = 12;
    if (size < 12) {
      throw_error<io_error>(fn, path, ": truncated: the file has ", size,
                            " bytes, less than the 12-byte preamble of format ", major, ".0");
    }
    header_len = load_le<std::uint32_t>(p + 8);
  } else {
    throw_error<io_error>(fn, path, ": format version ", major, ".", minor,
                          " is not supported (this build reads 1.0, 2.0 and 3.0)");
  }
  if (header_len > size - prefix) {
    throw_error<io_error>(fn, path, ": truncated header: it claims ", header_len,
                          " bytes but only ", size - prefix, " follow the preamble");
  }
  std::string_view text(reinterpret_cast<const char*>(p + prefix), header_len);
  if (text.empty() || text.back() != '\n') {
    throw_error<io_error>(fn, path, ": malformed header: it does not end in a newline");
  }
  const npy_header h = npy_header_parser(fn, path, text).parse();
  if (!h.descr.empty() && h.descr[0] == '>') {
    throw_error<io_error>(fn, path, ": dtype '", h.descr,
                          "' is big-endian; only little-endian data is supported");
  }
  element_kind kind{};
  if (!npy_dtype(h.descr, kind)) {
    throw_error<io_error>(fn, path, ": unsupported dtype '", h.descr,
                          "' (supported: <f2, <f4, <f8, |b1, |i1, |u1, <i2, <u2, <i4, <u4, <i8, "
                          "<u8)");
  }
  if (h.shape.empty()) {
    throw_error<io_error>(fn, path,
                          ": a 0-d array (a scalar) is not supported; save at least a "
                          "1-d array");
  }
  if (h.fortran_order && h.shape.size() > 2) {
    throw_error<io_error>(fn, path, ": Fortran-order arrays of rank ", h.shape.size(),
                          " are not supported (rank 1 and 2 are transposed on load)");
  }
  const std::size_t esize = element_size(kind);
  const std::size_t available = size - prefix - header_len;
  std::size_t count = 0;
  if (!element_count_within(h.shape, esize, std::numeric_limits<std::size_t>::max(), count)) {
    throw_error<io_error>(fn, path, ": shape ", shape_text(h.shape), " of '", h.descr,
                          "' is too large (its size in bytes overflows)");
  }
  if (count * esize != available) {
    if (count * esize > available) {
      throw_error<io_error>(fn, path, ": truncated data: shape ", shape_text(h.shape), " of '",
                            h.descr, "' needs ", count * esize, " bytes but the file has ",
                            available, " after the header");
    }
    throw_error<io_error>(fn, path, ": malformed: ", available - count * esize,
                          " bytes after the data of shape ", shape_text(h.shape));
  }
  tensor<T> t;
  t.shape = h.shape;
  t.data.resize(count);
  const unsigned char* src = p + prefix + header_len;
  const auto convert = [&](T* out) {
    const std::size_t bad = convert_elements(kind, src, count, out);
    if (bad != count) {
      throw_error<io_error>(
          fn, path, ": element ", bad,
          h.fortran_order && h.shape.size() == 2 ? " (in the file's column-major order)" : "",
          " of '", h.descr, "' data is ", element_text(kind, src, bad),
          ", which does not fit in the requested integer type (range ", range_text<T>(), ")");
    }
  };
  if (!h.fortran_order || h.shape.size() < 2) {
    convert(t.data.data());
  } else {
    // Column-major rows x cols: element (i, j) sits at j * rows + i.
    std::vector<T> col_major(count);
    convert(col_major.data());
    const auto rows = static_cast<std::size_t>(h.shape[0]);
    const auto cols = static_cast<std::size_t>(h.shape[1]);
    for (std::size_t i = 0; i < rows; ++i) {
      for (std::size_t j = 0; j < cols; ++j) t.data[i * cols + j] = col_major[j * rows + i];
    }
  }
  return t;
}

}  // namespace detail

// Writes a matrix (any stride) as a rows x cols C-order .npy, atomically. T: float or double.
template <class T>
void save_npy(const std::filesystem::path& path, matrix_view<T> m) {
  using V = std::remove_const_t<T>;
  constexpr const char* fn = "recfuse::io::save_npy";
  recfuse::detail::check_matrix(fn, "the matrix", m);
  detail::write_npy<V>(fn, path, {m.rows(), m.cols()}, m.data(), m.rows(), m.cols(), m.stride());
}

// Writes a vector as a 1-d .npy of shape (n,), atomically.
template <class T>
void save_npy(const std::filesystem::path& path, vector_view<T> v) {
  using V = std::remove_const_t<T>;
  constexpr const char* fn = "recfuse::io::save_npy";
  recfuse::detail::check_vector(fn, "the vector", v);
  detail::write_npy<V>(fn, path, {v.size()}, v.data(), 1, v.size(), v.size());
}

// Writes a tensor of any rank >= 1; shape_error when the shape's product is not data.size().
template <class T>
void save_npy(const std::filesystem::path& path, const tensor<T>& t) {
  constexpr const char* fn = "recfuse::io::save_npy";
  for (const index_t d : t.shape) {
    if (d < 0)
      recfuse::detail::throw_error<shape_error>(fn, "negative extent in shape ",
                                                detail::shape_text(t.shape));
  }
  // The byte count must fit in size_t, as load_npy requires (overflow-checked, no sentinel).
  std::size_t count = 0;
  if (!detail::element_count_within(t.shape, sizeof(T), std::numeric_limits<std::size_t>::max(),
                                    count)) {
    recfuse::detail::throw_error<shape_error>(fn, "shape ", detail::shape_text(t.shape),
                                              " is too large (its size in bytes overflows)");
  }
  if (t.shape.empty() || count != t.data.size()) {
    recfuse::detail::throw_error<shape_error>(fn, "shape ", detail::shape_text(t.shape),
                                              " does not match the ", t.size(),
                                              " elements (rank must be at least 1)");
  }
  detail::write_npy<T>(fn, path, t.shape, t.data.data(), 1, t.size(), t.size());
}

// Reads a .npy file into T (float or double usually; any arithmetic type works, an integer T
// refusing values that do not fit). io_error on any problem with the file; see the top of this
// header.
template <class T = float>
tensor<T> load_npy(const std::filesystem::path& path) {
  return detail::read_npy<T>("recfuse::io::load_npy", path);
}

}  // namespace recfuse::io
