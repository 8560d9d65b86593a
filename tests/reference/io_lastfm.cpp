// io::load_lastfm_listens / load_kg_triples / load_item_entities / kg_item_attributes on small
// inline files and a hand-built graph (hand-checked indices, values and attribute rows, every
// error with its line number), and on the Last.FM knowledge-graph files when they sit beside the
// checkout (../shared/data/lastfm-kg; skipped otherwise).
#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "recfuse/core/execution.hpp"
#include "recfuse/graph/builders.hpp"
#include "recfuse/io/lastfm.hpp"
#include "test_support.hpp"

using namespace recfuse;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

void write_text(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

fs::path lastfm_dir() {
  // tests/reference/ -> the checkout -> its sibling shared/data/lastfm-kg
  return fs::path(__FILE__).parent_path() / ".." / ".." / ".." / "shared" / "data" / "lastfm-kg";
}

using ids = std::vector<std::int32_t>;
using offs = std::vector<index_t>;

// The graph of the kg_item_attributes tests: entities e0..e5, relations origin, genre, parent.
//   e0 -origin-> e1 (twice), e2 -origin-> e1, e0 -genre-> e3, e3 -parent-> e4, e5 -genre-> e5,
//   e2 -genre-> e3
io::knowledge_graph hand_graph() {
  io::knowledge_graph kg;
  for (const char* e : {"e0", "e1", "e2", "e3", "e4", "e5"}) kg.entities.insert(e);
  kg.relations = {"origin", "genre", "parent"};
  kg.head = {0, 2, 0, 3, 0, 5, 2};
  kg.relation = {0, 0, 1, 2, 0, 1, 1};
  kg.tail = {1, 1, 3, 4, 1, 5, 3};
  return kg;
}

// item 0 -> e0, item 1 -> e2, item 2 unlinked, item 3 -> e5, item 4 -> e3 (item 5: past the list)
io::item_entity_links hand_links() {
  io::item_entity_links l;
  l.entity_of_item = {0, 2, -1, 5, 3};
  l.linked = 4;
  return l;
}

}  // namespace

TEST_CASE("load_lastfm_listens: counts by the maps' indices", "[io][lastfm]") {
  test::temp_dir dir;
  const auto p = dir / "user_artists.dat";
  write_text(p,
             "userID\tartistID\tweight\n2\t51\t13883\n2\t52\t11690\r\n\n7\t51\t0\n3\t60 \t5.5\n");
  SECTION("fresh maps") {
    io::id_map users, artists;
    const auto d = io::load_lastfm_listens(p, users, artists);
    CHECK(d.user == ids{0, 0, 1, 2});
    CHECK(d.item == ids{0, 1, 0, 2});
    CHECK(d.value == std::vector<float>{13883.f, 11690.f, 0.f, 5.5f});
    CHECK(d.time.empty());
    CHECK(d.users == 3);
    CHECK(d.items == 3);
    CHECK(users.keys() == std::vector<std::string>{"2", "7", "3"});
    CHECK(artists.keys() == std::vector<std::string>{"51", "52", "60"});
  }
  SECTION("filled maps, double") {
    io::id_map users, artists;
    artists.insert("99");
    artists.insert("52");
    const auto d = io::load_lastfm_listens<double>(p, users, artists);
    CHECK(d.item == ids{2, 1, 2, 3});
    CHECK(d.value == std::vector<double>{13883, 11690, 0, 5.5});
    CHECK(d.items == 4);
  }
  SECTION("no header, empty file") {
    write_text(p, "u1 a1 3\n");
    io::id_map users, artists;
    const auto d = io::load_lastfm_listens(p, users, artists);
    CHECK(d.value == std::vector<float>{3.f});
    CHECK(users.key(0) == "u1");
    write_text(p, "");
    io::id_map u2, a2;
    CHECK(io::load_lastfm_listens(p, u2, a2).size() == 0);
  }
}

TEST_CASE("load_lastfm_listens: errors", "[io][lastfm]") {
  test::temp_dir dir;
  const auto p = dir / "bad.dat";
  const auto fails_with = [&](const std::string& text, const std::string& what) {
    write_text(p, text);
    CAPTURE(what);
    io::id_map users, artists;
    CHECK_THROWS_MATCHES(
        io::load_lastfm_listens(p, users, artists), io_error,
        test::what_is(Contains("recfuse::io::load_lastfm_listens: \"" + p.string() + "\":") &&
                      Contains(what)));
  };
  {
    io::id_map users, artists;
    CHECK_THROWS_MATCHES(io::load_lastfm_listens(dir / "absent.dat", users, artists), io_error,
                         test::what_is(Contains("recfuse::io::load_lastfm_listens") &&
                                       Contains((dir / "absent.dat").string())));
  }
  fails_with("1\t2\t3\n1\t2\n", ":2: expected 3 fields (user, artist, weight)");
  fails_with("1\t2\t3\t4\n",
             ":1: expected 3 fields (user, artist, weight) separated by tabs or "
             "spaces but found 4");
  fails_with("1\t\t3\n", ":1: empty artist");
  fails_with("\t2\t3\n", ":1: empty user");
  fails_with("1\t2\tx\n", ":1: rating \"x\" is not a number");
  fails_with("1\t2\t3\n1\t3\tnan\n", ":2: rating \"nan\" is not finite");
  fails_with("1\t2\t3\n1\t3\tinf\n", ":2: rating \"inf\" is not finite");
  fails_with("userID\tartistID\tweight\n1\t2\t5\n1\t3\t-2\n",
             ":3: weight \"-2\" is negative (a listening count is >= 0)");
  fails_with("userID\tartistID\tweight\n1\t2\t5\n3\t2\t1\n\n1\t3\t1\n3\t2\t7\n1\t2\t1\n",
             ":6: user \"3\" and artist \"2\" repeat line 3");
}

TEST_CASE("load_kg_triples: dense entities and the typed relation list", "[io][lastfm]") {
  test::temp_dir dir;
  const auto p = dir / "kg.txt";
  write_text(p,
             "10\tmusic.artist.origin\t100\n11\tmusic.artist.origin\t100\n"
             "10\tmusic.artist.genre\t200\n\n200\tmusic.genre.parent\t201\r\n"
             "10\tmusic.artist.origin\t100\n");
  const auto kg = io::load_kg_triples(p);
  CHECK(kg.size() == 5);
  CHECK(kg.entities.keys() == std::vector<std::string>{"10", "100", "11", "200", "201"});
  CHECK(kg.relations == std::vector<std::string>{"music.artist.origin", "music.artist.genre",
                                                 "music.genre.parent"});
  CHECK(kg.head == ids{0, 2, 0, 3, 0});
  CHECK(kg.relation == ids{0, 0, 1, 2, 0});
  CHECK(kg.tail == ids{1, 1, 3, 4, 1});
  CHECK(kg.relation_id("music.artist.genre") == 1);
  CHECK(kg.relation_id("music.artist") == -1);

  write_text(p, "");
  const auto empty = io::load_kg_triples(p);
  CHECK(empty.size() == 0);
  CHECK(empty.entities.empty());
  CHECK(empty.relations.empty());

  const auto fails_with = [&](const std::string& text, const std::string& what) {
    write_text(p, text);
    CAPTURE(what);
    CHECK_THROWS_MATCHES(
        io::load_kg_triples(p), io_error,
        test::what_is(Contains("recfuse::io::load_kg_triples: \"" + p.string() + "\":") &&
                      Contains(what)));
  };
  fails_with("1\tr\t2\n1\t\t2\n", ":2: empty relation name");
  fails_with("\tr\t2\n", ":1: empty head");
  fails_with("1\tr\t\r\n", ":1: empty tail");
  fails_with("1\tr\n",
             ":1: expected 3 fields (head, relation name, tail) separated by tabs or "
             "spaces but found 2");
  fails_with("1 r 2 3 4 5\n",
             ":1: expected 3 fields (head, relation name, tail) separated by "
             "tabs or spaces but found more than 4");
  CHECK_THROWS_MATCHES(io::load_kg_triples(dir / "absent.txt"), io_error,
                       test::what_is(Contains("recfuse::io::load_kg_triples") &&
                                     Contains((dir / "absent.txt").string())));
}

TEST_CASE("load_item_entities: links, skipped lines, added entities", "[io][lastfm]") {
  test::temp_dir dir;
  write_text(dir / "kg.txt", "10\torigin\t100\n11\torigin\t100\n");
  auto kg = io::load_kg_triples(dir / "kg.txt");  // entities 10, 100, 11
  io::id_map items;
  for (const char* a : {"a1", "a2", "a3", "a4", "a5"}) items.insert(a);
  const auto p = dir / "links.txt";
  write_text(p, "a1\t10\na9\t11\n\na2\t11\r\na3\t999\na1\t10\na4\t10\n");
  const auto l = io::load_item_entities(p, items, kg);
  CHECK(l.entity_of_item == ids{0, 2, 3, 0, -1});
  CHECK(l.linked == 4);
  CHECK(l.skipped_lines == 1);
  CHECK(kg.entities.size() == 4);
  CHECK(kg.entities.key(3) == "999");  // an isolated entity
  CHECK(kg.size() == 2);

  const auto fails_with = [&](const std::string& text, const std::string& what) {
    write_text(p, text);
    CAPTURE(what);
    CHECK_THROWS_MATCHES(
        io::load_item_entities(p, items, kg), io_error,
        test::what_is(Contains("recfuse::io::load_item_entities: \"" + p.string() + "\":") &&
                      Contains(what)));
  };
  fails_with("a1\t10\n\na1\t777\n",
             ":3: item \"a1\" is linked to entity \"10\" on line 1 and to entity \"777\" here");
  CHECK_FALSE(kg.entities.contains("777"));  // the conflicting entity was not added
  fails_with("a1\t10\na2\n",
             ":2: expected 2 fields (item, entity) separated by tabs or spaces "
             "but found 1");
  fails_with("a1\t\n", ":1: empty entity");
  fails_with("a1\t10\t3\n", ":1: expected 2 fields (item, entity)");
  CHECK_THROWS_MATCHES(io::load_item_entities(dir / "absent.txt", items, kg), io_error,
                       test::what_is(Contains("recfuse::io::load_item_entities") &&
                                     Contains((dir / "absent.txt").string())));
}

TEST_CASE("kg_item_attributes: neighbours of the items' entities", "[io][lastfm]") {
  const auto kg = hand_graph();
  const auto links = hand_links();
  SECTION("untyped, every relation") {
    const auto a = io::kg_item_attributes(kg, links, 6);
    CHECK(a.items == 6);
    CHECK(a.attributes == 6);
    CHECK(a.offsets == offs{0, 2, 4, 4, 5, 8, 8});
    CHECK(a.item == ids{0, 0, 1, 1, 3, 4, 4, 4});
    CHECK(a.attribute == ids{1, 3, 1, 3, 5, 0, 2, 4});
    CHECK(a.size() == 8);
    // Straight into attribute_graph: items 0 and 1 share e1 and e3; no other pair shares one.
    const auto g = graph::attribute_graph<float>(exec::reference{}, a.pattern());
    CHECK(g.rows == 6);
    CHECK(g.offsets == offs{0, 1, 2, 2, 2, 2, 2});
    CHECK(g.indices == ids{1, 0});
    CHECK(g.values == std::vector<float>{2.f, 2.f});
  }
  SECTION("typed: relation * entities + entity") {
    const auto a = io::kg_item_attributes(kg, links, 6, {}, true);
    CHECK(a.attributes == 18);
    CHECK(a.offsets == offs{0, 2, 4, 4, 5, 8, 8});
    CHECK(a.attribute == ids{1, 9, 1, 9, 11, 6, 8, 16});
  }
  SECTION("relation filter") {
    const auto genre = io::kg_item_attributes(kg, links, 6, {1});
    CHECK(genre.offsets == offs{0, 1, 2, 2, 3, 5, 5});
    CHECK(genre.attribute == ids{3, 3, 5, 0, 2});
    CHECK(genre.item == ids{0, 1, 3, 4, 4});
    const auto some = io::kg_item_attributes(kg, links, 6, {2, 0, 2}, true);
    CHECK(some.offsets == offs{0, 1, 2, 2, 2, 3, 3});
    CHECK(some.attribute == ids{1, 1, 16});
  }
  SECTION("sizes 0 and 1") {
    const io::knowledge_graph none;
    const auto a = io::kg_item_attributes(none, io::item_entity_links{}, 0);
    CHECK(a.offsets == offs{0});
    CHECK(a.size() == 0);
    const auto b = io::kg_item_attributes(none, io::item_entity_links{}, 3, {}, true);
    CHECK(b.offsets == offs{0, 0, 0, 0});
    CHECK(b.attributes == 0);
    io::item_entity_links one;
    one.entity_of_item = {3};
    const auto c = io::kg_item_attributes(kg, one, 1);
    CHECK(c.offsets == offs{0, 3});
    CHECK(c.attribute == ids{0, 2, 4});
  }
  SECTION("errors") {
    // One matcher (a Contains && Contains built in a lambda would outlive its parts).
    const auto what = [](const std::string& s) {
      return test::what_is(Contains("recfuse::io::kg_item_attributes: " + s));
    };
    CHECK_THROWS_MATCHES(io::kg_item_attributes(kg, links, -1), value_error, what("items is -1"));
    CHECK_THROWS_MATCHES(io::kg_item_attributes(kg, links, 4), shape_error,
                         what("items is 4 but links.entity_of_item has 5 entries"));
    CHECK_THROWS_MATCHES(io::kg_item_attributes(kg, links, 6, {1, 3}), index_error,
                         what("relations[1] is 3, outside [0, 3)"));
    auto bad_links = links;
    bad_links.entity_of_item[2] = 6;
    CHECK_THROWS_MATCHES(io::kg_item_attributes(kg, bad_links, 6), index_error,
                         what("links.entity_of_item[2] is 6, outside [-1, 6)"));
    auto bad = kg;
    bad.tail.pop_back();
    CHECK_THROWS_MATCHES(io::kg_item_attributes(bad, links, 6), shape_error,
                         what("tail size is 6 but head size is 7"));
    bad = kg;
    bad.tail[1] = 6;
    CHECK_THROWS_MATCHES(io::kg_item_attributes(bad, links, 6), index_error,
                         what("triple 1 has head 2 and tail 6"));
    bad = kg;
    bad.relation[3] = -1;
    CHECK_THROWS_MATCHES(io::kg_item_attributes(bad, links, 6), index_error,
                         what("triple 3 has relation -1, outside [0, 3)"));
    bad = kg;
    bad.relations.resize(65536, "r");
    for (int e = 6; e <= 32768; ++e) bad.entities.insert(std::int64_t{e});
    CHECK_THROWS_MATCHES(io::kg_item_attributes(bad, links, 6, {}, true), shape_error,
                         what("typed attributes need relations * entities = 65536 * 32769"));
    CHECK(io::kg_item_attributes(bad, links, 6).attributes == 32769);  // untyped still fits
  }
}

TEST_CASE("Last.FM with its knowledge graph", "[io][lastfm][ml100k]") {
  const fs::path dir = lastfm_dir();
  if (!fs::exists(dir / "user_artists.dat") || !fs::exists(dir / "kg.txt") ||
      !fs::exists(dir / "item_index2entity_id.txt")) {
    WARN("Last.FM knowledge-graph data not found at " << dir.string() << "; skipped");
    return;
  }
  io::id_map users, artists;
  const auto listens = io::load_lastfm_listens(dir / "user_artists.dat", users, artists);
  CHECK(listens.size() == 92834);
  CHECK(users.size() == 1892);
  CHECK(artists.size() == 17632);
  CHECK(listens.users == 1892);
  CHECK(listens.items == 17632);
  CHECK(users.key(listens.user[0]) == "2");  // first line: 2, 51, 13883
  CHECK(artists.key(listens.item[0]) == "51");
  CHECK(listens.value[0] == 13883.f);

  auto kg = io::load_kg_triples(dir / "kg.txt");
  CHECK(kg.size() == 15518);
  CHECK(kg.relations.size() == 60);
  CHECK(kg.entities.size() == 9366);
  CHECK(kg.relations[0] == "music.artist.origin");
  CHECK(kg.relation_id("film.actor.film") >= 0);

  const auto links = io::load_item_entities(dir / "item_index2entity_id.txt", artists, kg);
  CHECK(links.linked == 3846);
  CHECK(links.skipped_lines == 0);
  CHECK(kg.entities.size() == 9366);  // every linked entity is in the graph already

  // Attributes against a set built here from the triples.
  std::set<std::pair<std::int32_t, std::int32_t>> expected, expected_origin;
  std::vector<std::vector<std::int32_t>> items_of(static_cast<std::size_t>(kg.entities.size()));
  for (std::size_t i = 0; i < links.entity_of_item.size(); ++i) {
    if (links.entity_of_item[i] >= 0) {
      items_of[static_cast<std::size_t>(links.entity_of_item[i])].push_back(
          static_cast<std::int32_t>(i));
    }
  }
  const auto origin = static_cast<std::int32_t>(kg.relation_id("music.artist.origin"));
  for (index_t k = 0; k < kg.size(); ++k) {
    for (const auto& [from, to] : {std::pair{kg.head[k], kg.tail[k]}, {kg.tail[k], kg.head[k]}}) {
      for (const std::int32_t i : items_of[static_cast<std::size_t>(from)]) {
        expected.insert({i, to});
        if (kg.relation[k] == origin) expected_origin.insert({i, to});
      }
    }
  }
  const auto all = io::kg_item_attributes(kg, links, artists.size());
  const auto by_origin = io::kg_item_attributes(kg, links, artists.size(), {origin});
  const auto as_set = [](const io::item_attributes& a) {
    std::set<std::pair<std::int32_t, std::int32_t>> s;
    for (index_t e = 0; e < a.size(); ++e) s.insert({a.item[e], a.attribute[e]});
    return s;
  };
  CHECK(all.size() == static_cast<index_t>(expected.size()));
  CHECK(as_set(all) == expected);
  CHECK(as_set(by_origin) == expected_origin);
  CHECK(all.size() == 9811);  // measured: 9,811 distinct (artist, neighbour entity) pairs
  CHECK(by_origin.size() == 2536);
  CHECK(io::kg_item_attributes(kg, links, artists.size(), {}, true).size() == 15525);
}
