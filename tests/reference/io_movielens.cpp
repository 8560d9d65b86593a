// io::load_movielens_items / load_movielens_users on small inline files (Latin-1 titles, years,
// genres, users absent from either side, every malformed-line error with its line number), and
// on MovieLens 100K when it sits beside the checkout (../shared/data/ml-100k; skipped otherwise).
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "recfuse/io/movielens.hpp"
#include "recfuse/io/ratings.hpp"
#include "test_support.hpp"

using namespace recfuse;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

void write_text(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

std::string flags(std::initializer_list<int> on) {
  std::string s;
  for (int g = 0; g < 19; ++g) {
    s += '|';
    s += std::find(on.begin(), on.end(), g) != on.end() ? '1' : '0';
  }
  return s;
}

std::vector<std::int32_t> row_genres(const csr_matrix<float>& m, index_t r) {
  return {m.indices.begin() + m.offsets[r], m.indices.begin() + m.offsets[r + 1]};
}

fs::path ml100k() {
  // tests/reference/ -> the checkout -> its sibling shared/data/ml-100k
  return fs::path(__FILE__).parent_path() / ".." / ".." / ".." / "shared" / "data" / "ml-100k";
}

}  // namespace

TEST_CASE("load_movielens_items: titles, years, genres by the map's indices", "[io][movielens]") {
  test::temp_dir dir;
  write_text(dir / "u.item",
             "1|Toy Story (1995)|01-Jan-1995||http://x|" + flags({3, 4, 5}).substr(1) + "\n" +
                 "2|Mis\xe9rables, Les (1995)|01-Jan-1995||http://y" + flags({8}) + "\r\n" + "\n" +
                 "267|unknown||||1" + flags({}).substr(2) + "\n" +
                 "5|Copycat (1995)|1995 (re-release 01-Jan-1998)||" + flags({6, 8, 16}));
  io::id_map items;
  items.insert("5");
  items.insert("2");
  items.insert("999");  // in the map, not in the file
  items.insert("1");
  // 267 is in the file, not in the map: skipped
  const auto m = io::load_movielens_items(dir / "u.item", items);
  REQUIRE(m.titles.size() == 4);
  CHECK(m.titles == std::vector<std::string>{"Copycat (1995)", "Mis\xc3\xa9rables, Les (1995)", "",
                                             "Toy Story (1995)"});
  CHECK(m.year == std::vector<int>{1998, 1995, 0, 1995});
  REQUIRE(m.genre_names.size() == 19);
  CHECK(m.genre_names[4] == "Children's");
  CHECK(m.genre_names[18] == "Western");
  CHECK(m.genres.rows == 4);
  CHECK(m.genres.cols == 19);
  CHECK(m.genres.offsets == std::vector<index_t>{0, 3, 4, 4, 7});
  CHECK(row_genres(m.genres, 0) == std::vector<std::int32_t>{6, 8, 16});
  CHECK(row_genres(m.genres, 1) == std::vector<std::int32_t>{8});
  CHECK(row_genres(m.genres, 3) == std::vector<std::int32_t>{3, 4, 5});
  CHECK(m.genres.values == std::vector<float>(7, 1.0f));

  io::id_map none;
  const auto e = io::load_movielens_items(dir / "u.item", none);
  CHECK(e.titles.empty());
  CHECK(e.genres.rows == 0);
  CHECK(e.genres.offsets == std::vector<index_t>{0});
}

TEST_CASE("load_movielens_items: malformed lines name the file and line", "[io][movielens]") {
  test::temp_dir dir;
  io::id_map items;
  items.insert("1");
  const auto p = dir / "u.item";
  const auto fails_with = [&](const std::string& text, const std::string& what) {
    write_text(p, text);
    CAPTURE(what);
    CHECK_THROWS_MATCHES(
        io::load_movielens_items(p, items), io_error,
        test::what_is(Contains("recfuse::io::load_movielens_items: \"" + p.string() + "\":") &&
                      Contains(what)));
  };
  const std::string good = "1|A (1990)|01-Jan-1990||u" + flags({1}) + "\n";
  fails_with(good + "\n2|B|01-Jan-1990||u|0|1\n", ":3: expected 24 fields");
  fails_with(good + "3|B|01-Jan-1990||u" + flags({}).substr(0, 36) + "|2\n",
             ":2: genre flag 19 (Western) is \"2\"");
  fails_with(good + "|B|01-Jan-1990||u" + flags({}) + "\n", ":2: empty item id");
  fails_with(good + good, ":2: item id \"1\" repeats line 1");
  // An id the map lacks repeats too: every id of the file counts.
  const std::string other = "7|B (1991)|01-Jan-1991||u" + flags({2}) + "\n";
  fails_with(other + good + "\n" + other, ":4: item id \"7\" repeats line 1");
  CHECK_THROWS_MATCHES(io::load_movielens_items(dir / "missing", items), io_error,
                       test::what_is(Contains("cannot open")));
}

TEST_CASE("load_movielens_users: age, gender, occupation", "[io][movielens]") {
  test::temp_dir dir;
  write_text(dir / "u.user",
             "1|24|M|technician|85711\n2|53|F|other|94043\r\n3|23|M|writer|32067\n"
             "4|24|M|technician|43537\n");
  io::id_map users;
  users.insert("4");
  users.insert("2");
  users.insert("77");
  users.insert("1");
  SECTION("occupations in first-seen order") {
    const auto u = io::load_movielens_users(dir / "u.user", users);
    CHECK(u.age == std::vector<int>{24, 53, 0, 24});
    CHECK(u.gender == std::vector<char>{'M', 'F', '?', 'M'});
    CHECK(u.occupation_names == std::vector<std::string>{"technician", "other"});
    CHECK(u.occupation == std::vector<int>{0, 1, -1, 0});
  }
  SECTION("occupations from u.occupation") {
    write_text(dir / "u.occupation", "administrator\nother\ntechnician\nwriter\n");
    const auto u = io::load_movielens_users(dir / "u.user", users, dir / "u.occupation");
    CHECK(u.occupation_names ==
          std::vector<std::string>{"administrator", "other", "technician", "writer"});
    CHECK(u.occupation == std::vector<int>{2, 1, -1, 2});
    write_text(dir / "u.occupation", "administrator\nother\n");
    CHECK_THROWS_MATCHES(io::load_movielens_users(dir / "u.user", users, dir / "u.occupation"),
                         io_error,
                         test::what_is(Contains(":1: occupation \"technician\" is not listed")));
  }
  SECTION("malformed lines") {
    const auto p = dir / "bad.user";
    const auto fails_with = [&](const std::string& text, const std::string& what) {
      write_text(p, text);
      CAPTURE(what);
      CHECK_THROWS_MATCHES(
          io::load_movielens_users(p, users), io_error,
          test::what_is(Contains("recfuse::io::load_movielens_users: \"" + p.string() + "\":") &&
                        Contains(what)));
    };
    fails_with("1|24|M|technician\n", ":1: expected 5 fields");
    fails_with("1|24|M|technician|1\n2|x|F|other|2\n", ":2: age \"x\" is not a non-negative");
    fails_with("1|-4|M|technician|1\n", ":1: age \"-4\"");
    fails_with("1|24|MF|technician|1\n", ":1: gender \"MF\" is not one character");
    fails_with("1|24|M|a|1\n1|25|M|a|1\n", ":2: user id \"1\" repeats line 1");
    fails_with("88|24|M|a|1\n1|25|M|a|1\n88|30|F|b|2\n", ":3: user id \"88\" repeats line 1");
  }
}

TEST_CASE("MovieLens 100K u.item and u.user", "[io][movielens][ml100k]") {
  const fs::path dir = ml100k();
  if (!fs::exists(dir / "u.item") || !fs::exists(dir / "u.user") || !fs::exists(dir / "u.data")) {
    WARN("MovieLens 100K not found at " << dir.string() << "; skipped");
    return;
  }
  io::id_map users, items;
  const auto data = io::load_ratings(dir / "u.data", users, items);
  REQUIRE(items.size() == 1682);
  const auto m = io::load_movielens_items(dir / "u.item", items);
  const index_t toy = items.find("1");
  CHECK(m.titles[toy] == "Toy Story (1995)");
  CHECK(m.year[toy] == 1995);
  CHECK(row_genres(m.genres, toy) == std::vector<std::int32_t>{3, 4, 5});
  CHECK(m.titles[items.find("543")] == "Mis\xc3\xa9rables, Les (1995)");
  CHECK(m.year[items.find("267")] == 0);  // "unknown", no date
  CHECK(m.titles[items.find("267")] == "unknown");
  int with_title = 0;
  for (const auto& t : m.titles) with_title += !t.empty();
  CHECK(with_title == 1682);
  CHECK(m.genres.nnz() == 2893);

  const auto u = io::load_movielens_users(dir / "u.user", users, dir / "u.occupation");
  REQUIRE(u.age.size() == 943);
  CHECK(u.age[users.find("1")] == 24);
  CHECK(u.gender[users.find("2")] == 'F');
  CHECK(u.occupation_names.size() == 21);
  CHECK(u.occupation_names[static_cast<std::size_t>(u.occupation[users.find("1")])] ==
        "technician");
  CHECK(std::count(u.occupation.begin(), u.occupation.end(), -1) == 0);
  const auto v = io::load_movielens_users(dir / "u.user", users);
  CHECK(v.occupation_names.size() == 21);
}
