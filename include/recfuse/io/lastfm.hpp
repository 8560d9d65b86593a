// recfuse: the Last.FM listening counts and a typed knowledge graph (head, relation, tail
// triples) with its item -> entity links, as used by knowledge-graph recommenders (MKR, KGCN).
//
//   recfuse::io::id_map users, artists;
//   auto listens = recfuse::io::load_lastfm_listens("lastfm-kg/user_artists.dat", users, artists);
//   auto kg = recfuse::io::load_kg_triples("lastfm-kg/kg.txt");
//   auto links = recfuse::io::load_item_entities("lastfm-kg/item_index2entity_id.txt", artists,
//   kg); auto attrs = recfuse::io::kg_item_attributes(kg, links, artists.size()); auto g =
//   recfuse::graph::attribute_graph<float>(cpu, attrs.pattern());  // artist-entity-artist
//
// Files (fields split by runs of tabs or spaces, as load_ratings' tab format; empty lines, CRLF
// line endings and a UTF-8 byte order mark are accepted; ids are text, so integer and string
// ids both work):
//   listens  `user artist weight`, the weight a listening count (HetRec 2011 user_artists.dat);
//            a first line of words (`userID artistID weight`) is a header and is skipped. Read
//            by load_ratings' parser (users and artists added to the maps in first-seen order,
//            as load_ratings does), so its number errors call the weight "rating". A weight must
//            be finite and >= 0, and a (user, artist) pair may appear once: a repeated pair is
//            an error, not summed (HetRec's file has none; summing would hide a broken file).
//   triples  `head relation tail` (kg.txt); no header. Entities (heads and tails) get dense
//            indices in kg.entities in first-seen order (head before tail on each line); relation
//            names get dense ids in first-seen order, kg.relations[id] being the name: the typed
//            relation list. A repeated triple is kept (a multigraph, as the file says).
//   links    `item entity` (item_index2entity_id.txt); no header. Only items of `items` (the
//            artists' map of the listens) are linked; other lines are counted in skipped_lines.
//            An entity that kg.entities lacks is added to it (an isolated entity). An item on two
//            lines with the same entity is fine; with different entities it is an error. Two
//            items may share an entity.
//
// kg_item_attributes: for each linked item i (entity e = links.entity_of_item[i] >= 0), its
// attributes are the entities adjacent to e in the graph, as the head or the tail of a triple
// whose relation is in `relations` (every relation when empty); with typed = true an attribute is
// the pair (relation r, entity x), encoded as r * kg.entities.size() + x. Repeats count once; a
// self loop (e, r, e) gives e itself. Unlinked items have no attributes. The result is an items x
// attributes CSR pattern (the pairs sorted by item then attribute, with row offsets): pattern()
// goes straight into graph::attribute_graph, which then links two items sharing a neighbour
// entity (the artist -> entity -> artist paths). Cost O(triples + entities + items + the sum over
// linked items of d log d), d the degree of the item's entity.
//
// Errors: io_error, naming the function and the file, for a missing or unreadable file and, with
// the 1-based line number and the line, for a line with the wrong number of fields, an empty
// field of a tab-separated line (e.g. an empty relation name), a weight that is not a number, not
// finite or negative, a repeated (user, artist) pair (naming both lines), or an item linked to two
// entities (naming both lines). On an error the maps and the graph may hold ids added by earlier
// lines. kg_item_attributes: shape_error for head/relation/tail of different lengths, items
// smaller than links.entity_of_item.size(), or typed ids that would pass INT32_MAX; index_error
// for a triple, link or relation filter id out of range; value_error for items < 0.
// See docs/io.md.
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "recfuse/core/config.hpp"
#include "recfuse/core/errors.hpp"
#include "recfuse/core/sparse.hpp"
#include "recfuse/core/views.hpp"
#include "recfuse/io/archive.hpp"  // read_file
#include "recfuse/io/id_map.hpp"
#include "recfuse/io/movielens.hpp"  // bad_line
#include "recfuse/io/ratings.hpp"    // parse_ratings, scan_line, quoted_line

namespace recfuse::io {

// A typed knowledge graph: triples (head, relation, tail) over dense entity and relation ids.
struct knowledge_graph {
  id_map entities;                                 // external entity id text -> dense index
  std::vector<std::string> relations;              // dense relation id -> name (first-seen order)
  std::vector<std::int32_t> head, relation, tail;  // one entry per triple (dense ids)

  // The number of triples.
  index_t size() const { return static_cast<index_t>(head.size()); }
  // The id of relation `name`, or -1 when absent (a linear scan over the relations).
  index_t relation_id(std::string_view name) const {
    for (std::size_t r = 0; r < relations.size(); ++r) {
      if (relations[r] == name) return static_cast<index_t>(r);
    }
    return -1;
  }
};

// Item -> entity links: entity_of_item[i] is item i's entity index in the graph, or -1.
struct item_entity_links {
  std::vector<std::int32_t> entity_of_item;
  index_t linked = 0;         // items with an entity
  index_t skipped_lines = 0;  // lines whose item is not in the items' map
};

// Items x attributes as (item, attribute) pairs sorted by item then attribute, without repeats,
// and as a CSR pattern: item i's attributes are attribute[offsets[i] .. offsets[i + 1]).
struct item_attributes {
  std::vector<std::int32_t> item, attribute;
  index_t attributes = 0;           // attribute ids are in [0, attributes)
  index_t items = 0;                // rows
  std::vector<index_t> offsets{0};  // items + 1 entries
  index_t size() const { return static_cast<index_t>(attribute.size()); }
  // The items x attributes pattern, for graph::attribute_graph; valid while this object lives.
  csr_pattern_view<std::int32_t> pattern() const {
    return {items, attributes, offsets.data(), attribute.data()};
  }
};

namespace detail {

// The text of a file read by read_file, without a UTF-8 byte order mark. It keeps file_buffer's
// padding, as scan_line needs.
inline std::string_view text_of(const file_buffer& file) {
  std::string_view text(file.begin(), file.size);
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  return text;
}

// Calls f(line_number, line, fields, n) for every non-blank line of `text` (from text_of), its
// fields split by runs of tabs or spaces (at most 5 kept; n == 5 means "5 or more").
template <class F>
void for_each_blank_separated_line(std::string_view text, F&& f) {
  std::string_view fields[5];
  const char* p = text.data();
  const char* const end = p + text.size();
  std::size_t line_no = 0;
  while (p < end) {
    ++line_no;
    const char* line_end = nullptr;
    const int n = scan_line(p, end, ratings_format::tab, fields, line_end);
    const std::string_view line(p, static_cast<std::size_t>(line_end - p));
    p = line_end < end ? line_end + 1 : end;
    if (n > 0) f(line_no, line, fields, n);
  }
}

// An io_error for line `line_no` of `path`, quoting the line.
template <class... Args>
[[noreturn]] void bad_text_line(const char* fn, const std::filesystem::path& path,
                                std::size_t line_no, std::string_view line, Args&&... what) {
  bad_line(
      fn, path, line_no,
      recfuse::detail::concat(std::forward<Args>(what)..., " (line: \"", quoted_line(line), "\")"));
}

// For a line with n != names.size() fields: an io_error naming the empty field when the line,
// split at single tabs, has names.size() fields and one of them is empty (`1<TAB><TAB>2`), else
// the field count.
[[noreturn]] inline void wrong_field_count(const char* fn, const std::filesystem::path& path,
                                           std::size_t line_no, std::string_view line, int n,
                                           std::initializer_list<const char*> names) {
  std::string_view rest = line;
  while (!rest.empty() && rest.back() == '\r') rest.remove_suffix(1);
  std::vector<std::string_view> parts;
  for (;;) {
    const auto tab = rest.find('\t');
    parts.push_back(trim(rest.substr(0, tab)));
    if (tab == std::string_view::npos) break;
    rest.remove_prefix(tab + 1);
  }
  if (parts.size() == names.size()) {
    for (std::size_t k = 0; k < parts.size(); ++k) {
      if (parts[k].empty()) bad_text_line(fn, path, line_no, line, "empty ", names.begin()[k]);
    }
  }
  std::string expected;
  for (const char* name : names) expected += (expected.empty() ? "" : ", ") + std::string(name);
  bad_text_line(fn, path, line_no, line, "expected ", names.size(), " fields (", expected,
                ") separated by tabs or spaces but found ",
                n == 5 ? std::string("more than 4") : std::to_string(n));
}

}  // namespace detail

// Loads Last.FM listening counts (`user artist weight` lines after an optional header) as
// interactions users x artists with value = the listening count; see the top of this file.
// T is float or double.
template <class T = float>
interactions<T> load_lastfm_listens(const std::filesystem::path& path, id_map& users,
                                    id_map& artists) {
  static_assert(std::is_floating_point_v<T>,
                "recfuse::io::load_lastfm_listens: T is float or double");
  constexpr const char* fn = "recfuse::io::load_lastfm_listens";
  const detail::file_buffer file = detail::read_file(fn, path);
  const std::string_view text = detail::text_of(file);
  std::size_t data_lines = 0;  // non-blank lines, a header included
  detail::for_each_blank_separated_line(
      text, [&](std::size_t line_no, std::string_view line, const std::string_view(&)[5], int n) {
        if (n != 3) {
          detail::wrong_field_count(fn, path, line_no, line, n, {"user", "artist", "weight"});
        }
        ++data_lines;
      });
  interactions<T> out =
      detail::parse_ratings<T>(fn, path, text, users, artists, detail::ratings_format::tab);
  const std::size_t first_entry_line = data_lines - out.value.size();  // 1 with a header, else 0

  // Calls f(line_no, line, weight field) for entry e's line.
  const auto at_entry = [&](std::size_t e, auto&& f) {
    std::size_t k = 0;
    detail::for_each_blank_separated_line(text, [&](std::size_t line_no, std::string_view line,
                                                    const std::string_view(&fields)[5], int) {
      if (k++ == e + first_entry_line) f(line_no, line, fields[2]);
    });
  };
  for (std::size_t e = 0; e < out.value.size(); ++e) {
    if (out.value[e] < 0) {
      at_entry(e, [&](std::size_t line_no, std::string_view line, std::string_view w) {
        detail::bad_text_line(fn, path, line_no, line, "weight \"", w,
                              "\" is negative (a listening count is >= 0)");
      });
    }
  }
  // Repeated (user, artist) pairs: sort (pair, entry) and report the first repeat in file order.
  std::vector<std::pair<std::uint64_t, std::uint32_t>> keys(out.value.size());
  for (std::size_t e = 0; e < keys.size(); ++e) {
    keys[e] = {
        static_cast<std::uint64_t>(out.user[e]) << 32 | static_cast<std::uint32_t>(out.item[e]),
        static_cast<std::uint32_t>(e)};
  }
  std::sort(keys.begin(), keys.end());
  std::size_t repeat = keys.size(), first = 0;
  for (std::size_t k = 1, group = 0; k < keys.size(); ++k) {
    if (keys[k].first != keys[k - 1].first) {
      group = k;
    } else if (keys[k].second < repeat) {
      repeat = keys[k].second;
      first = keys[group].second;
    }
  }
  if (repeat < keys.size()) {
    std::size_t first_line = 0;
    at_entry(first, [&](std::size_t line_no, std::string_view, std::string_view) {
      first_line = line_no;
    });
    at_entry(repeat, [&](std::size_t line_no, std::string_view line, std::string_view) {
      detail::bad_text_line(fn, path, line_no, line, "user \"", users.key(out.user[repeat]),
                            "\" and artist \"", artists.key(out.item[repeat]), "\" repeat line ",
                            first_line, " (a pair may appear once)");
    });
  }
  return out;
}

// Loads `head relation tail` triples; see the top of this file. io_error for a missing file, a
// line without 3 fields, or an empty field of a tab-separated line.
inline knowledge_graph load_kg_triples(const std::filesystem::path& path) {
  constexpr const char* fn = "recfuse::io::load_kg_triples";
  const detail::file_buffer file = detail::read_file(fn, path);
  const std::string_view text = detail::text_of(file);
  knowledge_graph kg;
  const auto lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
  kg.head.reserve(lines);
  kg.relation.reserve(lines);
  kg.tail.reserve(lines);
  id_map relation_ids;
  detail::for_each_blank_separated_line(text, [&](std::size_t line_no, std::string_view line,
                                                  const std::string_view(&fields)[5], int n) {
    if (n != 3)
      detail::wrong_field_count(fn, path, line_no, line, n, {"head", "relation name", "tail"});
    kg.head.push_back(static_cast<std::int32_t>(kg.entities.insert(fields[0])));
    const index_t r = relation_ids.insert(fields[1]);
    if (r == static_cast<index_t>(kg.relations.size())) kg.relations.emplace_back(fields[1]);
    kg.relation.push_back(static_cast<std::int32_t>(r));
    kg.tail.push_back(static_cast<std::int32_t>(kg.entities.insert(fields[2])));
  });
  return kg;
}

// Loads `item entity` links for the items of `items`, adding unknown entities to kg.entities;
// see the top of this file. io_error for a missing file, a line without 2 fields, an empty field
// of a tab-separated line, or an item linked to two different entities.
inline item_entity_links load_item_entities(const std::filesystem::path& path, const id_map& items,
                                            knowledge_graph& kg) {
  constexpr const char* fn = "recfuse::io::load_item_entities";
  const detail::file_buffer file = detail::read_file(fn, path);
  item_entity_links out;
  out.entity_of_item.assign(static_cast<std::size_t>(items.size()), -1);
  std::vector<std::size_t> line_of(static_cast<std::size_t>(items.size()), 0);
  detail::for_each_blank_separated_line(
      detail::text_of(file),
      [&](std::size_t line_no, std::string_view line, const std::string_view(&fields)[5], int n) {
        if (n != 2) detail::wrong_field_count(fn, path, line_no, line, n, {"item", "entity"});
        const index_t at = items.find(fields[0]);
        if (at < 0) {
          ++out.skipped_lines;
          return;
        }
        const auto i = static_cast<std::size_t>(at);
        const std::int32_t had = out.entity_of_item[i];
        if (had >= 0) {
          if (kg.entities.find(fields[1]) == had) return;
          detail::bad_text_line(fn, path, line_no, line, "item \"", fields[0],
                                "\" is linked to entity \"", kg.entities.key(had), "\" on line ",
                                line_of[i], " and to entity \"", fields[1], "\" here");
        }
        out.entity_of_item[i] = static_cast<std::int32_t>(kg.entities.insert(fields[1]));
        line_of[i] = line_no;
        ++out.linked;
      });
  return out;
}

// The items x attributes pattern of graph neighbours of the linked items; see the top of this
// file. `items` rows (>= links.entity_of_item.size(); items past it are unlinked); `relations`
// keeps only triples of those relation ids (all when empty); typed encodes (r, x) as
// r * kg.entities.size() + x.
inline item_attributes kg_item_attributes(const knowledge_graph& kg, const item_entity_links& links,
                                          index_t items,
                                          const std::vector<std::int32_t>& relations = {},
                                          bool typed = false) {
  constexpr const char* fn = "recfuse::io::kg_item_attributes";
  using recfuse::detail::throw_error;
  const index_t entities = kg.entities.size();
  const auto relation_count = static_cast<index_t>(kg.relations.size());
  const index_t m = kg.size();
  recfuse::detail::check_same(fn, "relation size", static_cast<index_t>(kg.relation.size()),
                              "head size", m);
  recfuse::detail::check_same(fn, "tail size", static_cast<index_t>(kg.tail.size()), "head size",
                              m);
  if (items < 0) throw_error<value_error>(fn, "items is ", items, " (need >= 0)");
  const auto linked_size = static_cast<index_t>(links.entity_of_item.size());
  if (items < linked_size) {
    throw_error<shape_error>(fn, "items is ", items, " but links.entity_of_item has ", linked_size,
                             " entries");
  }
  if (typed && relation_count * entities > INT32_MAX) {
    throw_error<shape_error>(fn, "typed attributes need relations * entities = ", relation_count,
                             " * ", entities, " ids, more than ", INT32_MAX);
  }
  std::vector<char> keep(static_cast<std::size_t>(relation_count), relations.empty() ? 1 : 0);
  for (std::size_t k = 0; k < relations.size(); ++k) {
    if (relations[k] < 0 || relations[k] >= relation_count) {
      throw_error<index_error>(fn, "relations[", k, "] is ", relations[k], ", outside [0, ",
                               relation_count, ")");
    }
    keep[static_cast<std::size_t>(relations[k])] = 1;
  }
  // Entity adjacency (kept triples, both directions; a self loop once) as CSR.
  std::vector<index_t> offsets(static_cast<std::size_t>(entities) + 1, 0);
  for (index_t k = 0; k < m; ++k) {
    const std::int32_t h = kg.head[k], r = kg.relation[k], t = kg.tail[k];
    if (h < 0 || h >= entities || t < 0 || t >= entities) {
      throw_error<index_error>(fn, "triple ", k, " has head ", h, " and tail ", t,
                               "; entities are in [0, ", entities, ")");
    }
    if (r < 0 || r >= relation_count) {
      throw_error<index_error>(fn, "triple ", k, " has relation ", r, ", outside [0, ",
                               relation_count, ")");
    }
    if (!keep[static_cast<std::size_t>(r)]) continue;
    ++offsets[static_cast<std::size_t>(h) + 1];
    if (t != h) ++offsets[static_cast<std::size_t>(t) + 1];
  }
  for (index_t e = 0; e < entities; ++e) offsets[e + 1] += offsets[e];
  std::vector<std::int32_t> adjacent(static_cast<std::size_t>(offsets.back()));
  {
    std::vector<index_t> next(offsets.begin(), offsets.end() - 1);
    const auto code = [&](std::int32_t r, std::int32_t x) {
      return typed ? static_cast<std::int32_t>(r * entities + x) : x;
    };
    for (index_t k = 0; k < m; ++k) {
      const std::int32_t h = kg.head[k], r = kg.relation[k], t = kg.tail[k];
      if (!keep[static_cast<std::size_t>(r)]) continue;
      adjacent[static_cast<std::size_t>(next[h]++)] = code(r, t);
      if (t != h) adjacent[static_cast<std::size_t>(next[t]++)] = code(r, h);
    }
  }
  item_attributes out;
  out.items = items;
  out.attributes = typed ? relation_count * entities : entities;
  out.offsets.assign(static_cast<std::size_t>(items) + 1, 0);
  for (index_t i = 0; i < items; ++i) {
    const std::int32_t e = i < linked_size ? links.entity_of_item[static_cast<std::size_t>(i)] : -1;
    if (e < -1 || e >= entities) {
      throw_error<index_error>(fn, "links.entity_of_item[", i, "] is ", e, ", outside [-1, ",
                               entities, ")");
    }
    if (e >= 0) {
      const auto begin = out.attribute.size();
      out.attribute.insert(out.attribute.end(), adjacent.begin() + offsets[e],
                           adjacent.begin() + offsets[e + 1]);
      std::sort(out.attribute.begin() + static_cast<std::ptrdiff_t>(begin), out.attribute.end());
      out.attribute.erase(std::unique(out.attribute.begin() + static_cast<std::ptrdiff_t>(begin),
                                      out.attribute.end()),
                          out.attribute.end());
      out.item.resize(out.attribute.size(), static_cast<std::int32_t>(i));
    }
    out.offsets[static_cast<std::size_t>(i) + 1] = static_cast<index_t>(out.attribute.size());
  }
  return out;
}

}  // namespace recfuse::io
