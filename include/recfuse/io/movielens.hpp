// recfuse: MovieLens 100K side information, u.item (titles, years, genres) and u.user (age,
// gender, occupation), keyed by the same id_map as the ratings.
//
//   recfuse::io::id_map users, items;
//   auto train = recfuse::io::load_ratings("ml-100k/u1.base", users, items);
//   auto meta = recfuse::io::load_movielens_items("ml-100k/u.item", items);
//   meta.titles[i];  meta.year[i];  meta.genres.view();   // row i = items' dense index i
//   auto who = recfuse::io::load_movielens_users("ml-100k/u.user", users);
//
// u.item lines are "id|title|release date|video release date|IMDb url|19 genre flags" in
// Latin-1; titles come back as UTF-8. u.user lines are "id|age|gender|occupation|zip code".
// Rows follow the map's dense indices: ids in the file that the map lacks are skipped, and map
// entries the file lacks keep the defaults (empty title, year 0, no genre; age 0, gender '?',
// occupation -1). Malformed lines are io_errors naming the function, the file and the line; so
// is an id that appears on two lines, whether or not the map holds it.
// The maps are not changed. See docs/io.md.
#pragma once

#include <array>
#include <charconv>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "recfuse/core/config.hpp"
#include "recfuse/core/errors.hpp"
#include "recfuse/core/sparse.hpp"
#include "recfuse/io/archive.hpp"
#include "recfuse/io/id_map.hpp"
#include "recfuse/search/tokenize.hpp"

namespace recfuse::io {

struct movielens_items {
  std::vector<std::string> titles;       // UTF-8; empty when the item is not in the file
  std::vector<int> year;                 // from the release date; 0 = unknown
  std::vector<std::string> genre_names;  // the 19 genres of u.genre, in its order
  csr_matrix<float> genres;              // items x genres, value 1 for each genre an item has
};

struct movielens_users {
  std::vector<int> age;                       // 0 when the user is not in the file
  std::vector<char> gender;                   // 'M' or 'F' as in the file; '?' when absent
  std::vector<int> occupation;                // index into occupation_names; -1 when absent
  std::vector<std::string> occupation_names;  // u.occupation's order, or first-seen order
};

// The genres of MovieLens 100K (u.genre), in the order of u.item's flag columns.
inline const std::array<const char*, 19>& movielens_genre_names() {
  static const std::array<const char*, 19> names = {
      "unknown",     "Action", "Adventure", "Animation", "Children's", "Comedy",  "Crime",
      "Documentary", "Drama",  "Fantasy",   "Film-Noir", "Horror",     "Musical", "Mystery",
      "Romance",     "Sci-Fi", "Thriller",  "War",       "Western"};
  return names;
}

namespace detail {

// Calls f(line_number, fields) for every non-blank line split at '|' (CR and a UTF-8 BOM
// dropped).
template <class F>
void for_each_pipe_line(const char* fn, const std::filesystem::path& path, F&& f) {
  const file_buffer file = read_file(fn, path);
  std::string_view text(file.begin(), file.size);
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::vector<std::string_view> fields;
  std::size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    fields.clear();
    for (;;) {
      const std::size_t bar = line.find('|');
      fields.push_back(line.substr(0, bar));
      if (bar == std::string_view::npos) break;
      line.remove_prefix(bar + 1);
    }
    f(line_no, fields);
  }
}

[[noreturn]] inline void bad_line(const char* fn, const std::filesystem::path& path,
                                  std::size_t line, const std::string& what) {
  throw_error<io_error>(fn, path, ":", line, ": ", what);
}

inline bool parse_int(std::string_view s, int& v) {
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && !s.empty();
}

// The last run of exactly four digits in `date` ("01-Jan-1995" -> 1995), or 0.
inline int last_year(std::string_view date) {
  int year = 0;
  std::size_t i = 0;
  while (i < date.size()) {
    if (date[i] < '0' || date[i] > '9') {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < date.size() && date[j] >= '0' && date[j] <= '9') ++j;
    if (j - i == 4) parse_int(date.substr(i, 4), year);
    i = j;
  }
  return year;
}

}  // namespace detail

// Reads u.item. io_error for a missing file, a line without 24 '|'-separated fields, an empty
// or repeated id, or a genre flag other than 0 or 1.
inline movielens_items load_movielens_items(const std::filesystem::path& u_item,
                                            const id_map& items) {
  constexpr const char* fn = "recfuse::io::load_movielens_items";
  constexpr std::size_t genre_count = 19;
  const auto n = static_cast<std::size_t>(items.size());
  movielens_items out;
  out.titles.assign(n, std::string());
  out.year.assign(n, 0);
  for (const char* g : movielens_genre_names()) out.genre_names.emplace_back(g);
  std::vector<std::uint32_t> flags(n, 0);  // bit g: genre g
  // Every id of the file (in the map or not) -> the line it first appeared on.
  std::unordered_map<std::string, std::size_t> first_line;
  detail::for_each_pipe_line(fn, u_item, [&](std::size_t line, const auto& f) {
    if (f.size() != 5 + genre_count) {
      detail::bad_line(fn, u_item, line,
                       recfuse::detail::concat("expected 24 fields separated by '|' (id, title, "
                                               "release date, video release date, url, 19 genre "
                                               "flags) but found ",
                                               f.size()));
    }
    if (f[0].empty()) detail::bad_line(fn, u_item, line, "empty item id");
    std::uint32_t bits = 0;
    for (std::size_t g = 0; g < genre_count; ++g) {
      const auto flag = f[5 + g];
      if (flag != "0" && flag != "1") {
        detail::bad_line(
            fn, u_item, line,
            recfuse::detail::concat("genre flag ", g + 1, " (", movielens_genre_names()[g],
                                    ") is \"", flag, "\", not 0 or 1"));
      }
      if (flag == "1") bits |= std::uint32_t{1} << g;
    }
    const auto [seen, fresh] = first_line.try_emplace(std::string(f[0]), line);
    if (!fresh) {
      detail::bad_line(
          fn, u_item, line,
          recfuse::detail::concat("item id \"", f[0], "\" repeats line ", seen->second));
    }
    const index_t at = items.find(f[0]);
    if (at < 0) return;
    const auto i = static_cast<std::size_t>(at);
    out.titles[i] = search::latin1_to_utf8(f[1]);
    out.year[i] = detail::last_year(f[2]);
    flags[i] = bits;
  });
  out.genres.rows = static_cast<index_t>(n);
  out.genres.cols = static_cast<index_t>(genre_count);
  out.genres.offsets.assign(n + 1, 0);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t g = 0; g < genre_count; ++g) {
      if (flags[i] >> g & 1u) {
        out.genres.indices.push_back(static_cast<std::int32_t>(g));
        out.genres.values.push_back(1.0f);
      }
    }
    out.genres.offsets[i + 1] = static_cast<index_t>(out.genres.indices.size());
  }
  return out;
}

// Reads u.user. Occupation names come from `u_occupation` (one per line, as u.occupation)
// when given, and an occupation missing from it is an error; otherwise they are collected in
// the order they first appear in u.user (among the users in the map). io_error for a missing
// file, a line without 5 fields, an empty or repeated id, an age that is not a non-negative
// integer, or a gender that is not one character.
inline movielens_users load_movielens_users(const std::filesystem::path& u_user,
                                            const id_map& users,
                                            const std::filesystem::path& u_occupation = {}) {
  constexpr const char* fn = "recfuse::io::load_movielens_users";
  const auto n = static_cast<std::size_t>(users.size());
  movielens_users out;
  out.age.assign(n, 0);
  out.gender.assign(n, '?');
  out.occupation.assign(n, -1);
  const bool fixed = !u_occupation.empty();
  if (fixed) {
    detail::for_each_pipe_line(fn, u_occupation, [&](std::size_t line, const auto& f) {
      if (f.size() != 1) {
        detail::bad_line(fn, u_occupation, line, "an occupation name holds '|'");
      }
      std::string_view name = f[0];
      while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
      out.occupation_names.emplace_back(name);
    });
  }
  // Every id of the file (in the map or not) -> the line it first appeared on.
  std::unordered_map<std::string, std::size_t> first_line;
  detail::for_each_pipe_line(fn, u_user, [&](std::size_t line, const auto& f) {
    if (f.size() != 5) {
      detail::bad_line(fn, u_user, line,
                       recfuse::detail::concat("expected 5 fields separated by '|' (id, age, "
                                               "gender, occupation, zip code) but found ",
                                               f.size()));
    }
    if (f[0].empty()) detail::bad_line(fn, u_user, line, "empty user id");
    int age = 0;
    if (!detail::parse_int(f[1], age) || age < 0) {
      detail::bad_line(fn, u_user, line,
                       recfuse::detail::concat("age \"", f[1], "\" is not a non-negative integer"));
    }
    if (f[2].size() != 1) {
      detail::bad_line(fn, u_user, line,
                       recfuse::detail::concat("gender \"", f[2], "\" is not one character"));
    }
    const auto [seen, fresh] = first_line.try_emplace(std::string(f[0]), line);
    if (!fresh) {
      detail::bad_line(
          fn, u_user, line,
          recfuse::detail::concat("user id \"", f[0], "\" repeats line ", seen->second));
    }
    const index_t at = users.find(f[0]);
    if (at < 0) return;
    const auto u = static_cast<std::size_t>(at);
    int occ = -1;
    for (std::size_t k = 0; k < out.occupation_names.size(); ++k) {
      if (out.occupation_names[k] == f[3]) occ = static_cast<int>(k);
    }
    if (occ < 0) {
      if (fixed) {
        detail::bad_line(
            fn, u_user, line,
            recfuse::detail::concat("occupation \"", f[3], "\" is not listed in ", u_occupation));
      }
      occ = static_cast<int>(out.occupation_names.size());
      out.occupation_names.emplace_back(f[3]);
    }
    out.age[u] = age;
    out.gender[u] = f[2][0];
    out.occupation[u] = occ;
  });
  return out;
}

}  // namespace recfuse::io
