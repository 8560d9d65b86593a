// recfuse: safetensors files (the format of Hugging Face and PyTorch state dicts).
//
//   std::vector<recfuse::io::named_tensor<float>> ts = {{"0.weight", {16, 8}, w}, {"0.bias", {16},
//   b}}; recfuse::io::save_safetensors("model.safetensors", ts, {{"format", "pt"}});   // atomic
//   auto f = recfuse::io::load_safetensors<float>("model.safetensors");
//   const recfuse::io::tensor<float>& w0 = f.tensors.at("0.weight");
//
// Layout: u64 little-endian header length N, N bytes of JSON
//   {"__metadata__": {"k": "v", ...}, "name": {"dtype": "F32", "shape": [2, 3],
//    "data_offsets": [begin, end]}, ...}
// then the byte buffer; offsets are relative to the buffer's start. Writing: F32 (float) or F64
// (double) tensors sorted by name, laid out back to back in that order, the header padded with
// spaces to a multiple of 8 bytes (as the reference implementation does). Reading: F16, BF16,
// F32, F64, I8, U8, I16, U16, I32, U32, I64, U64 and BOOL, converted to T (an integer T takes
// only values that fit: integers in its range, finite floating-point values whose truncation is
// in it; anything else is an io_error naming the tensor and the element). Loading validates
// like the reference implementation: N below 100 MB and within the file, the JSON (a strict
// parser; duplicate names are errors), each dtype and shape, end - begin == elements * size,
// and the tensors tiling the buffer exactly (sorted by offset, each starting where the last
// ended, the last ending at the end of the file). Every problem is an io_error starting with
// "recfuse::io::load_safetensors: <path>: ". NaN and infinities load as they are.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "recfuse/core/config.hpp"
#include "recfuse/core/errors.hpp"
#include "recfuse/io/archive.hpp"
#include "recfuse/io/npy.hpp"

namespace recfuse::io {

// A tensor to write: its name, shape and row-major data (product(shape) elements; data may be
// null when that product is 0). The data is not copied; it must outlive the call.
template <class T>
struct named_tensor {
  std::string name;
  std::vector<index_t> shape;
  const T* data = nullptr;
};

template <class T>
struct safetensors_file {
  std::map<std::string, tensor<T>> tensors;
  std::map<std::string, std::string> metadata;
};

namespace detail {

inline constexpr std::uint64_t safetensors_max_header = 100'000'000;

// ---- a small strict JSON parser for the header ----------------------------------------------
// Objects (keys kept in order, duplicates reported by the caller), strings with every escape
// (\uXXXX with surrogate pairs -> UTF-8), arrays, non-negative integers up to 2^64 - 1, true,
// false and null. Fractions, exponents and negative numbers are refused (no header needs them).

struct json_value {
  enum class kind { null, boolean, integer, string, array, object };
  kind type = kind::null;
  bool flag = false;
  std::uint64_t integer = 0;
  std::string text;
  std::vector<json_value> items;
  std::vector<std::pair<std::string, json_value>> members;
};

inline const char* json_kind_name(json_value::kind k) {
  switch (k) {
    case json_value::kind::null:
      return "null";
    case json_value::kind::boolean:
      return "a boolean";
    case json_value::kind::integer:
      return "an integer";
    case json_value::kind::string:
      return "a string";
    case json_value::kind::array:
      return "an array";
    case json_value::kind::object:
      return "an object";
  }
  return "unknown";
}

class json_parser {
 public:
  json_parser(const char* fn, const std::filesystem::path& path, std::string_view s)
      : fn_(fn), path_(path), s_(s) {}

  json_value parse_document() {
    json_value v = value(0);
    space();
    if (i_ != s_.size()) fail("unexpected text after the JSON value");
    return v;
  }

 private:
  static constexpr int max_depth = 64;

  [[noreturn]] void fail(const std::string& what) const {
    throw_error<io_error>(fn_, path_, ": malformed JSON header at byte ", i_ + 8, ": ", what);
  }
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  void space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r'))
      ++i_;
  }
  void expect(char c) {
    if (i_ >= s_.size() || s_[i_] != c) fail(std::string("expected '") + c + "'");
    ++i_;
  }
  bool literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }

  json_value value(int depth) {
    if (depth > max_depth) fail("nested deeper than 64 levels");
    space();
    json_value v;
    const char c = peek();
    if (c == '{') {
      ++i_;
      v.type = json_value::kind::object;
      space();
      if (peek() == '}') {
        ++i_;
        return v;
      }
      for (;;) {
        space();
        if (peek() != '"') fail("expected a string key");
        std::string key = string();
        space();
        expect(':');
        json_value member = value(depth + 1);
        v.members.emplace_back(std::move(key), std::move(member));
        space();
        if (peek() == ',') {
          ++i_;
          continue;
        }
        expect('}');
        return v;
      }
    }
    if (c == '[') {
      ++i_;
      v.type = json_value::kind::array;
      space();
      if (peek() == ']') {
        ++i_;
        return v;
      }
      for (;;) {
        v.items.push_back(value(depth + 1));
        space();
        if (peek() == ',') {
          ++i_;
          continue;
        }
        expect(']');
        return v;
      }
    }
    if (c == '"') {
      v.type = json_value::kind::string;
      v.text = string();
      return v;
    }
    if (c >= '0' && c <= '9') {
      v.type = json_value::kind::integer;
      if (c == '0' && i_ + 1 < s_.size() && s_[i_ + 1] >= '0' && s_[i_ + 1] <= '9') {
        fail("a number has a leading zero");
      }
      std::uint64_t x = 0;
      while (peek() >= '0' && peek() <= '9') {
        const auto d = static_cast<std::uint64_t>(peek() - '0');
        if (x > (UINT64_MAX - d) / 10) fail("an integer overflows 64 bits");
        x = x * 10 + d;
        ++i_;
      }
      if (peek() == '.' || peek() == 'e' || peek() == 'E') fail("only integers are supported");
      v.integer = x;
      return v;
    }
    if (c == '-') fail("negative numbers are not allowed here");
    if (literal("true")) {
      v.type = json_value::kind::boolean;
      v.flag = true;
      return v;
    }
    if (literal("false")) {
      v.type = json_value::kind::boolean;
      return v;
    }
    if (literal("null")) return v;
    if (i_ >= s_.size()) fail("unexpected end of the header");
    fail(std::string("unexpected character '") + c + "'");
  }

  unsigned hex4() {
    if (s_.size() - i_ < 4) fail("truncated \\u escape");
    unsigned v = 0;
    for (int k = 0; k < 4; ++k) {
      const char h = s_[i_++];
      v <<= 4;
      if (h >= '0' && h <= '9') {
        v |= static_cast<unsigned>(h - '0');
      } else if (h >= 'a' && h <= 'f') {
        v |= static_cast<unsigned>(h - 'a' + 10);
      } else if (h >= 'A' && h <= 'F') {
        v |= static_cast<unsigned>(h - 'A' + 10);
      } else {
        fail("bad hex digit in a \\u escape");
      }
    }
    return v;
  }
  static void utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xc0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xe0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }
  std::string string() {
    expect('"');
    std::string out;
    for (;;) {
      if (i_ >= s_.size()) fail("unterminated string");
      const char c = s_[i_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ >= s_.size()) fail("unterminated escape");
      const char e = s_[i_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out += e;
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          unsigned cp = hex4();
          if (cp >= 0xd800 && cp < 0xdc00) {
            if (s_.substr(i_, 2) != "\\u") fail("a high surrogate without its low half");
            i_ += 2;
            const unsigned lo = hex4();
            if (lo < 0xdc00 || lo >= 0xe000) fail("a high surrogate without its low half");
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          } else if (cp >= 0xdc00 && cp < 0xe000) {
            fail("a lone low surrogate");
          }
          utf8(out, cp);
          break;
        }
        default:
          fail(std::string("unknown escape '\\") + e + "'");
      }
    }
  }

  const char* fn_;
  const std::filesystem::path& path_;
  std::string_view s_;
  std::size_t i_ = 0;
};

inline void json_escape(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      out += "\\u00";
      out += hex[u >> 4];
      out += hex[u & 0xf];
    } else {
      out += c;
    }
  }
  out += '"';
}

inline bool safetensors_dtype(std::string_view name, element_kind& k) {
  struct entry {
    std::string_view name;
    element_kind kind;
  };
  static constexpr entry table[] = {
      {"F16", element_kind::f16},     {"BF16", element_kind::bf16}, {"F32", element_kind::f32},
      {"F64", element_kind::f64},     {"I8", element_kind::i8},     {"U8", element_kind::u8},
      {"I16", element_kind::i16},     {"U16", element_kind::u16},   {"I32", element_kind::i32},
      {"U32", element_kind::u32},     {"I64", element_kind::i64},   {"U64", element_kind::u64},
      {"BOOL", element_kind::boolean}};
  for (const auto& e : table) {
    if (e.name == name) {
      k = e.kind;
      return true;
    }
  }
  return false;
}

template <class T>
safetensors_file<T> read_safetensors(const char* fn, const std::filesystem::path& path) {
  static_assert(
      std::is_arithmetic_v<T> && !std::is_same_v<T, bool>,
      "recfuse::io::load_safetensors: T must be a floating-point or integer type (not bool)");
  const file_buffer file = read_file(fn, path);
  const auto p = reinterpret_cast<const unsigned char*>(file.begin());
  const std::size_t size = file.size;
  if (size < 8) {
    throw_error<io_error>(fn, path, ": truncated: the file has ", size,
                          " bytes, less than the 8-byte header length");
  }
  const auto n = load_le<std::uint64_t>(p);
  if (n > safetensors_max_header) {
    throw_error<io_error>(fn, path, ": header length ", n, " exceeds the limit of ",
                          safetensors_max_header, " bytes (not a safetensors file?)");
  }
  if (n > size - 8) {
    throw_error<io_error>(fn, path, ": truncated: the header length is ", n, " but only ", size - 8,
                          " bytes follow it");
  }
  if (n < 2 || p[8] != '{') {
    throw_error<io_error>(fn, path, ": not a safetensors file (the header is not a JSON object)");
  }
  const std::string_view text(reinterpret_cast<const char*>(p + 8), static_cast<std::size_t>(n));
  const json_value root = json_parser(fn, path, text).parse_document();
  if (root.type != json_value::kind::object) {
    throw_error<io_error>(fn, path, ": the header is not a JSON object");
  }
  const unsigned char* buffer = p + 8 + n;
  const std::size_t buffer_size = size - 8 - static_cast<std::size_t>(n);

  struct slot {
    const std::string* name;
    element_kind kind;
    std::vector<index_t> shape;
    std::uint64_t begin, end;
  };
  std::vector<slot> slots;
  safetensors_file<T> out;
  bool seen_metadata = false;
  for (const auto& [name, info] : root.members) {
    if (name == "__metadata__") {
      if (seen_metadata) throw_error<io_error>(fn, path, ": \"__metadata__\" appears twice");
      seen_metadata = true;
      if (info.type == json_value::kind::null) continue;
      if (info.type != json_value::kind::object) {
        throw_error<io_error>(fn, path, ": \"__metadata__\" is ", json_kind_name(info.type),
                              ", not an object of strings");
      }
      for (const auto& [k, v] : info.members) {
        if (v.type != json_value::kind::string) {
          throw_error<io_error>(fn, path, ": metadata \"", k, "\" is ", json_kind_name(v.type),
                                ", not a string");
        }
        if (!out.metadata.emplace(k, v.text).second) {
          throw_error<io_error>(fn, path, ": metadata \"", k, "\" appears twice");
        }
      }
      continue;
    }
    if (info.type != json_value::kind::object) {
      throw_error<io_error>(fn, path, ": tensor \"", name, "\" is described by ",
                            json_kind_name(info.type), ", not an object");
    }
    const json_value* dtype = nullptr;
    const json_value* shape = nullptr;
    const json_value* offsets = nullptr;
    for (const auto& [k, v] : info.members) {
      const json_value** field = k == "dtype"          ? &dtype
                                 : k == "shape"        ? &shape
                                 : k == "data_offsets" ? &offsets
                                                       : nullptr;
      if (!field) continue;  // unknown fields are ignored, as by the reference implementation
      if (*field) throw_error<io_error>(fn, path, ": tensor \"", name, "\" repeats \"", k, "\"");
      *field = &v;
    }
    if (!dtype || !shape || !offsets) {
      throw_error<io_error>(fn, path, ": tensor \"", name,
                            "\" lacks one of \"dtype\", \"shape\" and \"data_offsets\"");
    }
    slot s{&name, element_kind::f32, {}, 0, 0};
    if (dtype->type != json_value::kind::string) {
      throw_error<io_error>(fn, path, ": tensor \"", name, "\": dtype is ",
                            json_kind_name(dtype->type), ", not a string");
    }
    if (!safetensors_dtype(dtype->text, s.kind)) {
      throw_error<io_error>(fn, path, ": tensor \"", name, "\": unsupported dtype \"", dtype->text,
                            "\" (supported: F16, BF16, F32, F64, I8, U8, I16, U16, I32, U32, "
                            "I64, U64, BOOL)");
    }
    if (shape->type != json_value::kind::array) {
      throw_error<io_error>(fn, path, ": tensor \"", name, "\": shape is not an array");
    }
    for (const auto& d : shape->items) {
      if (d.type != json_value::kind::integer ||
          d.integer > static_cast<std::uint64_t>(std::numeric_limits<index_t>::max())) {
        throw_error<io_error>(fn, path, ": tensor \"", name,
                              "\": shape holds something other than a non-negative integer");
      }
      s.shape.push_back(static_cast<index_t>(d.integer));
    }
    if (offsets->type != json_value::kind::array || offsets->items.size() != 2 ||
        offsets->items[0].type != json_value::kind::integer ||
        offsets->items[1].type != json_value::kind::integer) {
      throw_error<io_error>(fn, path, ": tensor \"", name,
                            "\": data_offsets is not an array of two integers");
    }
    s.begin = offsets->items[0].integer;
    s.end = offsets->items[1].integer;
    if (s.end < s.begin) {
      throw_error<io_error>(fn, path, ": tensor \"", name, "\": data_offsets [", s.begin, ", ",
                            s.end, "] end before they begin");
    }
    if (s.end > buffer_size) {
      throw_error<io_error>(fn, path, ": truncated: tensor \"", name, "\" ends at byte ", s.end,
                            " of the data buffer, which has only ", buffer_size, " bytes");
    }
    const std::size_t esize = element_size(s.kind);
    std::size_t count = 0;
    const std::size_t bytes = static_cast<std::size_t>(s.end - s.begin);
    if (!element_count_within(s.shape, esize, bytes, count) || count * esize != bytes) {
      throw_error<io_error>(fn, path, ": tensor \"", name, "\": shape ", shape_text(s.shape),
                            " of ", dtype->text, " does not match its ", bytes,
                            " bytes of data (data_offsets [", s.begin, ", ", s.end, "])");
    }
    slots.push_back(std::move(s));
  }
  // Names are unique (the reference implementation refuses duplicates too).
  {
    std::vector<const std::string*> names;
    for (const auto& s : slots) names.push_back(s.name);
    std::sort(names.begin(), names.end(), [](auto a, auto b) { return *a < *b; });
    for (std::size_t i = 1; i < names.size(); ++i) {
      if (*names[i] == *names[i - 1]) {
        throw_error<io_error>(fn, path, ": tensor \"", *names[i], "\" appears twice");
      }
    }
  }
  // The tensors must tile the buffer: no gap, no overlap, nothing after the last.
  std::vector<const slot*> by_offset;
  for (const auto& s : slots) by_offset.push_back(&s);
  std::stable_sort(by_offset.begin(), by_offset.end(), [](const slot* a, const slot* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  std::uint64_t at = 0;
  for (const slot* s : by_offset) {
    if (s->begin != at) {
      throw_error<io_error>(fn, path, ": tensor \"", *s->name, "\" starts at byte ", s->begin,
                            " of the data buffer but the previous tensor ends at ", at,
                            s->begin < at ? " (overlap)" : " (gap)");
    }
    at = s->end;
  }
  if (at != buffer_size) {
    throw_error<io_error>(fn, path, ": the tensors cover ", at, " bytes but the data buffer has ",
                          buffer_size, " (", at < buffer_size ? "trailing data" : "truncated", ")");
  }
  for (const auto& s : slots) {
    tensor<T> t;
    t.shape = s.shape;
    const std::size_t count = static_cast<std::size_t>((s.end - s.begin) / element_size(s.kind));
    t.data.resize(count);
    const std::size_t bad = convert_elements(s.kind, buffer + s.begin, count, t.data.data());
    if (bad != count) {
      throw_error<io_error>(fn, path, ": tensor \"", *s.name, "\": element ", bad, " is ",
                            element_text(s.kind, buffer + s.begin, bad),
                            ", which does not fit in the requested integer type (range ",
                            range_text<T>(), ")");
    }
    out.tensors.emplace(*s.name, std::move(t));
  }
  return out;
}

}  // namespace detail

// Writes `tensors` (float -> F32, double -> F64) and optional string metadata as one
// safetensors file, atomically. shape_error for a negative extent or a null pointer with
// elements; value_error for an empty, duplicate or "__metadata__" name.
template <class T>
void save_safetensors(const std::filesystem::path& path,
                      const std::vector<named_tensor<T>>& tensors,
                      const std::map<std::string, std::string>& metadata = {}) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                "recfuse::io::save_safetensors writes float (F32) or double (F64) tensors");
  constexpr const char* fn = "recfuse::io::save_safetensors";
  constexpr const char* dtype = std::is_same_v<T, float> ? "F32" : "F64";
  std::vector<const named_tensor<T>*> order;
  for (const auto& t : tensors) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](auto a, auto b) { return a->name < b->name; });
  std::vector<std::size_t> counts;
  for (std::size_t i = 0; i < order.size(); ++i) {
    const auto& t = *order[i];
    if (t.name.empty() || t.name == "__metadata__") {
      recfuse::detail::throw_error<value_error>(fn, "a tensor may not be named \"", t.name, "\"");
    }
    if (i > 0 && order[i - 1]->name == t.name) {
      recfuse::detail::throw_error<value_error>(fn, "tensor name \"", t.name, "\" appears twice");
    }
    std::size_t count = 0;
    for (const index_t d : t.shape) {
      if (d < 0) {
        recfuse::detail::throw_error<shape_error>(fn, "tensor \"", t.name, "\" has shape ",
                                                  detail::shape_text(t.shape));
      }
    }
    if (!detail::element_count_within(t.shape, sizeof(T), std::numeric_limits<std::size_t>::max(),
                                      count)) {
      recfuse::detail::throw_error<shape_error>(fn, "tensor \"", t.name, "\" of shape ",
                                                detail::shape_text(t.shape), " is too large");
    }
    if (count > 0 && t.data == nullptr) {
      recfuse::detail::throw_error<value_error>(fn, "tensor \"", t.name, "\" has ", count,
                                                " elements but a null pointer");
    }
    counts.push_back(count);
  }
  std::string header = "{";
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [k, v] : metadata) {
      if (!first) header += ',';
      first = false;
      detail::json_escape(header, k);
      header += ':';
      detail::json_escape(header, v);
    }
    header += '}';
  }
  std::uint64_t offset = 0;
  for (std::size_t i = 0; i < order.size(); ++i) {
    if (i > 0 || !metadata.empty()) header += ',';
    detail::json_escape(header, order[i]->name);
    header += recfuse::detail::concat(":{\"dtype\":\"", dtype, "\",\"shape\":[");
    for (std::size_t d = 0; d < order[i]->shape.size(); ++d) {
      if (d) header += ',';
      header += std::to_string(order[i]->shape[d]);
    }
    const std::uint64_t end = offset + counts[i] * sizeof(T);
    header += recfuse::detail::concat("],\"data_offsets\":[", offset, ",", end, "]}");
    offset = end;
  }
  header += '}';
  header.append((8 - header.size() % 8) % 8, ' ');
  detail::atomic_write(fn, path, [&](detail::output_file& out) {
    unsigned char len[8];
    detail::store_le(len, static_cast<std::uint64_t>(header.size()));
    out.write(len, 8);
    out.write(header);
    for (std::size_t i = 0; i < order.size(); ++i) {
      if constexpr (std::endian::native == std::endian::little) {
        out.write(order[i]->data, counts[i] * sizeof(T));
      } else {
        for (std::size_t e = 0; e < counts[i]; ++e) {
          unsigned char b[sizeof(T)];
          if constexpr (sizeof(T) == 4) {
            detail::store_le(b, std::bit_cast<std::uint32_t>(order[i]->data[e]));
          } else {
            detail::store_le(b, std::bit_cast<std::uint64_t>(order[i]->data[e]));
          }
          out.write(b, sizeof b);
        }
      }
    }
  });
}

// Reads a safetensors file, converting every tensor to T. io_error on any problem; see the top
// of this header.
template <class T = float>
safetensors_file<T> load_safetensors(const std::filesystem::path& path) {
  return detail::read_safetensors<T>("recfuse::io::load_safetensors", path);
}

}  // namespace recfuse::io
