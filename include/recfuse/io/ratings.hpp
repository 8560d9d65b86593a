// recfuse: loading and saving rating files (MovieLens and similar) as interactions.
//
//   recfuse::io::id_map users, items;
//   auto train = recfuse::io::load_ratings("ml-100k/u1.base", users, items);  // float
//   auto test = recfuse::io::load_ratings("ml-100k/u1.test", users, items);   // same maps
//   recfuse::io::save_ratings("copy.tsv", train, users, items);
//
// Formats (ratings_file_options::format; `automatic` picks by the first line and the name: a tab
// in the first non-blank line means tab, else a ".csv" name means csv, else "::" means
// double_colon, a comma csv, anything else tab):
//   tab           `user item rating [time]`, fields split by runs of tabs or spaces
//                 (MovieLens u.data, u1.base, u1.test)
//   double_colon  `user::item::rating[::time]` (MovieLens ratings.dat)
//   csv           `user,item,rating[,time]` (MovieLens ratings.csv); no quoting
// Ids are text: integer and string ids both work, and each id_map gives them dense indices in
// first-seen order. Ids never seen before are always added, so loading a test file with the
// training maps gives unseen users / items indices >= the training sizes; the result has
// users = users.size(), items = items.size(). A first line whose user, item and rating fields
// all start like words (`userId,movieId,rating,timestamp`) is a header and is skipped, unless
// the rating is a missing-value marker such as NA; empty lines are skipped;
// CRLF line endings and a UTF-8 byte order mark are accepted. `time` is filled only when every
// line has a time field. An empty file gives empty interactions. Malformed input is an io_error
// naming the file, the 1-based line number and the line. save_ratings writes the tab format;
// load_ratings reads it back line for line (the same user and item text, bit-identical ratings,
// the same times) whatever the file's name, so with copies of the maps it was saved with the
// result equals the saved interactions.
#pragma once

#include <algorithm>
#include <bit>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

#include "recfuse/core/errors.hpp"
#include "recfuse/core/sparse.hpp"
#include "recfuse/io/archive.hpp"  // read_file, atomic_write
#include "recfuse/io/id_map.hpp"

namespace recfuse::io {

struct ratings_file_options {
  enum class format { automatic, tab, double_colon, csv };
  format file_format = format::automatic;
};

namespace detail {

using ratings_format = ratings_file_options::format;

constexpr bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

inline const char* format_name(ratings_format f) {
  switch (f) {
    case ratings_format::tab:
      return "tab";
    case ratings_format::double_colon:
      return "double_colon";
    case ratings_format::csv:
      return "csv";
    case ratings_format::automatic:
      break;
  }
  return "automatic";
}

inline const char* separator_name(ratings_format f) {
  switch (f) {
    case ratings_format::double_colon:
      return "\"::\"";
    case ratings_format::csv:
      return "','";
    default:
      return "tabs or spaces";
  }
}

// The end of the field starting at p < end: the first blank or '\n', or `end`. Reads 8 bytes
// at a time, up to 7 past `end` (file_buffer's padding).
inline const char* field_end(const char* p, const char* end) {
  if constexpr (std::endian::native == std::endian::little) {
    for (;;) {
      std::uint64_t w;
      std::memcpy(&w, p, 8);
      // High bit set in the lowest byte <= 0x20 (exact for the lowest such byte).
      const std::uint64_t low = (w - 0x2121212121212121ULL) & ~w & 0x8080808080808080ULL;
      if (low == 0) {
        p += 8;
        if (p >= end) return end;
        continue;
      }
      const char* q = p + (std::countr_zero(low) >> 3);
      if (q >= end) return end;
      if (*q == '\n' || is_blank(*q)) return q;
      p = q + 1;  // another control character: part of the field
      if (p >= end) return end;
    }
  } else {
    while (p < end && *p != '\n' && !is_blank(*p)) ++p;
    return p;
  }
}

// Reads one line starting at p: stores its fields (at most 5; a 5th means "too many") and
// returns the field count; `line_end` is the '\n' that ends it, or `end`. A blank line has 0.
// The text must be followed by 8 readable bytes (file_buffer's padding).
inline int scan_line(const char* p, const char* end, ratings_format f, std::string_view (&out)[5],
                     const char*& line_end) {
  int n = 0;
  if (f == ratings_format::tab) {  // one pass: fields are runs of non-blank characters
    for (;;) {
      while (p < end && is_blank(*p)) ++p;
      if (p == end || *p == '\n') break;
      const char* start = p;
      p = field_end(p, end);
      if (n < 5) out[n++] = std::string_view(start, static_cast<std::size_t>(p - start));
    }
    line_end = p;
    return n;
  }
  const auto* nl =
      static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
  line_end = nl ? nl : end;
  std::string_view line = trim(std::string_view(p, static_cast<std::size_t>(line_end - p)));
  if (line.empty()) return 0;
  const std::string_view sep = f == ratings_format::csv ? "," : "::";
  for (;;) {
    const auto at = line.find(sep);
    out[n++] = trim(line.substr(0, at));
    if (at == std::string_view::npos || n == 5) return n;
    line.remove_prefix(at + sep.size());
  }
}

// A rating field that is a small unsigned integer ("4"): its value, exact in float and double.
inline bool small_integer(std::string_view s, int& v) {
  if (s.empty() || s.size() > 6) return false;
  int x = 0;
  for (const char c : s) {
    const auto d = static_cast<unsigned>(static_cast<unsigned char>(c) - '0');
    if (d > 9) return false;
    x = x * 10 + static_cast<int>(d);
  }
  v = x;
  return true;
}

// A time field of at most 18 digits (no sign): its value, which cannot overflow.
inline bool small_time(std::string_view s, std::int64_t& v) {
  if (s.empty() || s.size() > 18) return false;
  std::int64_t x = 0;
  for (const char c : s) {
    const auto d = static_cast<unsigned>(static_cast<unsigned char>(c) - '0');
    if (d > 9) return false;
    x = x * 10 + static_cast<std::int64_t>(d);
  }
  v = x;
  return true;
}

// The format of `text` read from `path`, by its first non-blank line and then its name: a tab
// in that line means `tab` (what save_ratings writes, whatever the name and even with ids that
// hold "::" or ','); else a name ending in ".csv" means `csv`; else "::" in the line means
// `double_colon`, a comma means `csv`, anything else `tab`.
inline ratings_format detect_format(const std::filesystem::path& path, std::string_view text) {
  std::string_view line;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    line = trim(text.substr(0, nl));
    if (!line.empty() || nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  if (line.find('\t') != std::string_view::npos) return ratings_format::tab;
  std::string ext = path.extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext == ".csv") return ratings_format::csv;
  if (line.find("::") != std::string_view::npos) return ratings_format::double_colon;
  if (line.find(',') != std::string_view::npos) return ratings_format::csv;
  return ratings_format::tab;
}

// A field that starts like a word (a letter, a quote or '_'): every column of a header line.
inline bool looks_like_word(std::string_view s) {
  if (s.empty()) return false;
  const auto c = static_cast<unsigned char>(s.front());
  return std::isalpha(c) || c == '"' || c == '\'' || c == '_';
}

// A rating field that marks a missing value (NA, N/A, null, none, nil, missing; any case,
// quoted or not): never a header's column name, always a bad rating.
inline bool missing_value_marker(std::string_view s) {
  if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') && s.back() == s.front()) {
    s = s.substr(1, s.size() - 2);
  }
  if (s.size() > 7) return false;
  std::string w(s);
  for (char& c : w) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return w == "na" || w == "n/a" || w == "null" || w == "none" || w == "nil" || w == "missing";
}

// The first non-blank line is a header when its user, item and rating fields all start like
// words and the rating is no missing-value marker: `userId,movieId,rating,timestamp` is one;
// `196\t242\tNA\t881250949`, `1,2,rating` and `alice,m1,NA` are data lines with a bad rating.
inline bool is_header(const std::string_view (&fields)[5]) {
  return looks_like_word(fields[0]) && looks_like_word(fields[1]) && looks_like_word(fields[2]) &&
         !missing_value_marker(fields[2]);
}

inline std::string quoted_line(std::string_view line) {
  line = trim(line);
  constexpr std::size_t max = 200;
  std::string s(line.substr(0, max));
  if (line.size() > max) s += "...";
  return s;
}

template <class T>
interactions<T> parse_ratings(const char* fn, const std::filesystem::path& path,
                              std::string_view text, id_map& users, id_map& items,
                              ratings_format fmt) {
  interactions<T> out;
  if (text.size() >= 3 && static_cast<unsigned char>(text[0]) == 0xEF &&
      static_cast<unsigned char>(text[1]) == 0xBB && static_cast<unsigned char>(text[2]) == 0xBF) {
    text.remove_prefix(3);  // UTF-8 byte order mark
  }
  if (fmt == ratings_format::automatic) fmt = detect_format(path, text);

  {  // Reserve from the line count of the first 64 KiB, scaled to the whole file.
    const std::size_t sample = std::min<std::size_t>(text.size(), std::size_t{1} << 16);
    const auto lines =
        static_cast<std::size_t>(std::count(text.data(), text.data() + sample, '\n'));
    const double scale = sample == 0 ? 0.0 : static_cast<double>(text.size()) / sample;
    const auto guess = static_cast<std::size_t>(static_cast<double>(lines + 1) * scale * 1.02) + 16;
    out.user.reserve(guess);
    out.item.reserve(guess);
    out.value.reserve(guess);
    out.time.reserve(guess);
  }

  index_t line_no = 0;
  std::string_view line;
  const auto fail = [&](auto&&... what) {
    recfuse::detail::throw_error<io_error>(fn, path, ":", line_no, ": ", what..., " (line: \"",
                                           quoted_line(line), "\")");
  };
  const auto add_id = [&](id_map& map, std::string_view id, const char* which) -> std::int32_t {
    if (id.empty()) fail("empty ", which, " id");
    try {
      return static_cast<std::int32_t>(map.insert(id));
    } catch (const index_error&) {
      fail("too many distinct ", which, " ids: the map is full at ", map.size(), " ids and \"", id,
           "\" is new");
    }
    return -1;  // not reached
  };

  bool first_data_line = true;
  bool all_time = true;
  std::string_view fields[5];
  const char* p = text.data();
  const char* const end = p + text.size();
  while (p < end) {
    ++line_no;
    const char* line_end = nullptr;
    const int n = scan_line(p, end, fmt, fields, line_end);
    line = std::string_view(p, static_cast<std::size_t>(line_end - p));
    p = line_end < end ? line_end + 1 : end;
    if (n == 0) continue;
    if (n < 3 || n > 4) {
      fail("expected 3 or 4 fields (user, item, rating[, time]) separated by ", separator_name(fmt),
           " but found ", n == 5 ? "more than 4" : std::to_string(n));
    }

    // Rating: the whole field, by from_chars (a leading '+' is allowed).
    T rating{};
    if (int small = 0; small_integer(fields[2], small)) {
      rating = static_cast<T>(small);
    } else {
      std::string_view r = fields[2];
      if (r.size() > 1 && r.front() == '+') r.remove_prefix(1);
      const auto [ptr, ec] = std::from_chars(r.data(), r.data() + r.size(), rating);
      if (ec == std::errc::invalid_argument || ptr != r.data() + r.size()) {
        if (first_data_line && is_header(fields)) {
          first_data_line = false;
          continue;
        }
        fail("rating \"", fields[2], "\" is not a number");
      }
      if (ec == std::errc::result_out_of_range) {
        fail("rating \"", fields[2], "\" is out of range for ",
             std::is_same_v<T, float> ? "float" : "double");
      }
      if (!std::isfinite(rating)) fail("rating \"", fields[2], "\" is not finite");
    }
    first_data_line = false;

    std::int64_t stamp = 0;
    if (n == 4 && !small_time(fields[3], stamp)) {
      std::string_view t = fields[3];
      if (t.size() > 1 && t.front() == '+') t.remove_prefix(1);
      const auto [tp, tec] = std::from_chars(t.data(), t.data() + t.size(), stamp);
      if (tec == std::errc::result_out_of_range) {
        fail("time \"", fields[3], "\" is out of range for a 64-bit integer");
      }
      if (tec != std::errc() || tp != t.data() + t.size()) {
        fail("time \"", fields[3], "\" is not an integer");
      }
    }

    const std::int32_t u = add_id(users, fields[0], "user");
    const std::int32_t i = add_id(items, fields[1], "item");

    out.user.push_back(u);
    out.item.push_back(i);
    out.value.push_back(rating);
    if (all_time) {
      if (n == 4) {
        out.time.push_back(stamp);
      } else {
        all_time = false;
      }
    }
  }
  if (!all_time || out.value.empty()) {
    out.time.clear();
    out.time.shrink_to_fit();
  }
  out.users = users.size();
  out.items = items.size();
  return out;
}

// Writes v as std::to_chars(v) would (the shortest text that reads back to v), with a fast path
// for the common ratings, halves in [0, 1000): "4", "3.5", "0.5".
template <class T>
char* format_rating(char* q, char* last, T v) {
  const T twice = v * 2;
  if (v >= 0 && v < 1000 && twice == std::floor(twice) && !std::signbit(v)) {
    const int w = static_cast<int>(twice);
    q = std::to_chars(q, last, w / 2).ptr;
    if (w & 1) {
      *q++ = '.';
      *q++ = '5';
    }
    return q;
  }
  return std::to_chars(q, last, v).ptr;
}

}  // namespace detail

// Loads a ratings file; see the top of this file for formats and behaviour. T is float or
// double. io_error (naming the file, and for bad content the 1-based line number and the line)
// when the file is missing or unreadable, when a line has too few or too many fields, an empty
// id, a rating that is not a number, out of range, NaN or infinite, a time that is not an
// integer, or when an id map would pass its maximum size (INT32_MAX ids).
template <class T = float>
interactions<T> load_ratings(const std::filesystem::path& path, id_map& users, id_map& items,
                             const ratings_file_options& options = {}) {
  static_assert(std::is_floating_point_v<T>, "recfuse::io::load_ratings: T is float or double");
  constexpr const char* fn = "recfuse::io::load_ratings";
  const detail::file_buffer file = detail::read_file(fn, path);
  return detail::parse_ratings<T>(fn, path, std::string_view(file.begin(), file.size), users, items,
                                  options.file_format);
}

// Writes `user item rating [time]` lines, tab-separated, with the ids' external text (the time
// column when data.time has one entry per rating). Ratings are written in the shortest form
// that reads back to the same value. Written atomically (a temp file renamed over `path`): on
// any error the previous file at `path` is left as it was. Errors: shape_error for vectors of
// different lengths, index_error for an index outside its map, value_error for a non-finite
// rating, an id that is empty or holds whitespace, or a user id that starts with a UTF-8 byte
// order mark (the format could not read those back), io_error when the file cannot be written.
// load_ratings reads the file back line for line, whatever its name (see the top of this file).
template <class T>
void save_ratings(const std::filesystem::path& path, const interactions<T>& data,
                  const id_map& users, const id_map& items) {
  static_assert(std::is_floating_point_v<T>, "recfuse::io::save_ratings: T is float or double");
  constexpr const char* fn = "recfuse::io::save_ratings";
  using recfuse::detail::throw_error;
  const auto n = static_cast<index_t>(data.value.size());
  recfuse::detail::check_same(fn, "user ids size", static_cast<index_t>(data.user.size()),
                              "values size", n);
  recfuse::detail::check_same(fn, "item ids size", static_cast<index_t>(data.item.size()),
                              "values size", n);
  const bool with_time = !data.time.empty();
  if (with_time) {
    recfuse::detail::check_same(fn, "time size", static_cast<index_t>(data.time.size()),
                                "values size", n);
  }
  // Each id's text is checked once, on first use.
  std::vector<char> user_ok(static_cast<std::size_t>(users.size()), 0);
  std::vector<char> item_ok(static_cast<std::size_t>(items.size()), 0);
  const auto id_text = [&](const id_map& map, std::vector<char>& ok, std::int32_t id,
                           const char* which, index_t e) -> const std::string& {
    if (id < 0 || id >= map.size()) {
      throw_error<index_error>(fn, "entry ", e, " has ", which, " id ", id, ", outside [0, ",
                               map.size(), ") (the ", which, " map's size)");
    }
    const std::string& key = map.key(id);
    if (!ok[static_cast<std::size_t>(id)]) {
      if (key.empty() || std::any_of(key.begin(), key.end(),
                                     [](char c) { return detail::is_blank(c) || c == '\n'; })) {
        throw_error<value_error>(fn, which, " id \"", key, "\" (index ", id,
                                 ") is empty or holds whitespace; the format cannot hold it");
      }
      if (std::string_view(which) == "user" && key.starts_with("\xEF\xBB\xBF")) {  // a BOM
        throw_error<value_error>(
            fn, which, " id \"", key, "\" (index ", id,
            ") starts with a UTF-8 byte order mark; the format cannot hold it");
      }
      ok[static_cast<std::size_t>(id)] = 1;
    }
    return key;
  };
  detail::atomic_write(fn, path, [&](detail::output_file& out) {
    char buf[80];  // '\t' rating '\t' time '\n': at most 1 + 24 + 1 + 20 + 1 bytes
    char* const last = buf + sizeof buf - 1;
    for (index_t e = 0; e < n; ++e) {
      const T v = data.value[static_cast<std::size_t>(e)];
      if (!std::isfinite(v)) {
        throw_error<value_error>(fn, "entry ", e, " has rating ", v);
      }
      out.write(id_text(users, user_ok, data.user[static_cast<std::size_t>(e)], "user", e));
      out.write("\t", 1);
      out.write(id_text(items, item_ok, data.item[static_cast<std::size_t>(e)], "item", e));
      char* q = buf;
      *q++ = '\t';
      q = detail::format_rating(q, last, v);
      if (with_time) {
        *q++ = '\t';
        q = std::to_chars(q, last, data.time[static_cast<std::size_t>(e)]).ptr;
      }
      *q++ = '\n';
      out.write(buf, static_cast<std::size_t>(q - buf));
    }
  });
}

}  // namespace recfuse::io
