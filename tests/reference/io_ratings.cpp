// io::load_ratings and io::save_ratings on small files written into a temp directory: every
// format, ids as text, time present or absent, CRLF, empty files, every malformed-line error
// with its file and line number, the atomic save, and MovieLens 100K when it is beside the repo.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

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

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Files in `dir` whose name holds ".tmp." (left-over temp files of an atomic write).
int temp_files(const fs::path& dir) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().find(".tmp.") != std::string::npos) ++n;
  }
  return n;
}

template <class T>
void check_entry(const interactions<T>& d, const io::id_map& users, const io::id_map& items,
                 index_t e, const std::string& user, const std::string& item, T value) {
  CAPTURE(e);
  REQUIRE(e < d.size());
  CHECK(users.key(d.user[e]) == user);
  CHECK(items.key(d.item[e]) == item);
  CHECK(d.value[e] == value);
}

}  // namespace

TEST_CASE("load_ratings: tab-separated MovieLens u.data with time", "[io][ratings]") {
  test::temp_dir dir;
  write_text(dir / "u.data",
             "196\t242\t3\t881250949\n186\t302\t3\t891717742\n"
             "22\t377\t1\t878887116\n196\t302\t4.5\t881251000\n");
  io::id_map users, items;
  const auto d = io::load_ratings(dir / "u.data", users, items);
  REQUIRE(d.size() == 4);
  CHECK(d.users == 3);
  CHECK(d.items == 3);
  CHECK(users.keys() == std::vector<std::string>{"196", "186", "22"});
  CHECK(items.keys() == std::vector<std::string>{"242", "302", "377"});
  CHECK(d.user == std::vector<std::int32_t>{0, 1, 2, 0});
  CHECK(d.item == std::vector<std::int32_t>{0, 1, 2, 1});
  CHECK(d.value == std::vector<float>{3, 3, 1, 4.5f});
  CHECK(d.time == std::vector<std::int64_t>{881250949, 891717742, 878887116, 881251000});
  // The view passes the library's own boundary check.
  detail::check_interactions("test", "data", d.view());
}

TEST_CASE("load_ratings: whitespace runs, no time, double values", "[io][ratings]") {
  test::temp_dir dir;
  write_text(dir / "r.txt", "  1 10  5\n\n2\t \t20 0.1  \n   \n1 20 2.25");  // no final newline
  io::id_map users, items;
  const auto d = io::load_ratings<double>(dir / "r.txt", users, items);
  REQUIRE(d.size() == 3);
  CHECK(d.time.empty());
  check_entry(d, users, items, 0, "1", "10", 5.0);
  check_entry(d, users, items, 1, "2", "20", 0.1);  // parsed as double, not via float
  check_entry(d, users, items, 2, "1", "20", 2.25);
}

TEST_CASE("load_ratings: time only on some lines gives no time column", "[io][ratings]") {
  test::temp_dir dir;
  write_text(dir / "mixed.tsv", "1\t1\t5\t100\n1\t2\t4\n2\t1\t3\t300\n");
  io::id_map users, items;
  const auto d = io::load_ratings(dir / "mixed.tsv", users, items);
  CHECK(d.size() == 3);
  CHECK(d.time.empty());
  write_text(dir / "first.tsv", "1\t1\t5\n1\t2\t4\t200\n");
  io::id_map u2, i2;
  const auto e = io::load_ratings(dir / "first.tsv", u2, i2);
  CHECK(e.size() == 2);
  CHECK(e.time.empty());
}

TEST_CASE("load_ratings: ratings.dat with string ids", "[io][ratings]") {
  test::temp_dir dir;
  write_text(dir / "ratings.dat",
             "alice::The Matrix (1999)::5::978300760\nbob::Heat::3::978302109\n"
             "alice::Heat::4::978301968\n");
  io::id_map users, items;
  const auto d = io::load_ratings(dir / "ratings.dat", users, items);
  REQUIRE(d.size() == 3);
  check_entry(d, users, items, 0, "alice", "The Matrix (1999)", 5.0f);  // spaces kept in ids
  check_entry(d, users, items, 1, "bob", "Heat", 3.0f);
  check_entry(d, users, items, 2, "alice", "Heat", 4.0f);
  CHECK(d.time == std::vector<std::int64_t>{978300760, 978302109, 978301968});
  CHECK(d.users == 2);
  CHECK(d.items == 2);
}

TEST_CASE("load_ratings: ratings.csv with a header", "[io][ratings]") {
  test::temp_dir dir;
  write_text(dir / "ratings.csv",
             "userId,movieId,rating,timestamp\n1,31,2.5,1260759144\n1,1029,3.0,1260759179\n"
             "7,31, 4.5 ,1260759185\n");
  io::id_map users, items;
  const auto d = io::load_ratings(dir / "ratings.csv", users, items);
  REQUIRE(d.size() == 3);
  check_entry(d, users, items, 0, "1", "31", 2.5f);
  check_entry(d, users, items, 1, "1", "1029", 3.0f);
  check_entry(d, users, items, 2, "7", "31", 4.5f);
  CHECK(d.time == std::vector<std::int64_t>{1260759144, 1260759179, 1260759185});

  // Without a header, and detected from the content although the name says nothing.
  write_text(dir / "plain.txt", "u1,i1,1\nu2,i1,2\n");
  io::id_map u2, i2;
  const auto e = io::load_ratings(dir / "plain.txt", u2, i2);
  REQUIRE(e.size() == 2);
  check_entry(e, u2, i2, 1, "u2", "i1", 2.0f);
  CHECK(e.time.empty());

  // A quoted header word counts as a header too.
  write_text(dir / "q.csv", "\"user\",\"item\",\"rating\"\nx,y,1\n");
  io::id_map u3, i3;
  CHECK(io::load_ratings(dir / "q.csv", u3, i3).size() == 1);
}

TEST_CASE("load_ratings: explicit formats", "[io][ratings]") {
  test::temp_dir dir;
  write_text(dir / "a.log", "1,2,3\n");  // CSV content under an unrelated name
  io::ratings_file_options csv;
  csv.file_format = io::ratings_file_options::format::csv;
  io::id_map users, items;
  CHECK(io::load_ratings(dir / "a.log", users, items, csv).size() == 1);

  io::ratings_file_options tab;
  tab.file_format = io::ratings_file_options::format::tab;
  io::id_map u2, i2;
  REQUIRE_THROWS_MATCHES(io::load_ratings(dir / "a.log", u2, i2, tab), io_error,
                         test::what_is(Contains("a.log\":1:") && Contains("found 1")));

  write_text(dir / "b.csv", "1::2::3\n");  // the option wins over the extension
  io::ratings_file_options dc;
  dc.file_format = io::ratings_file_options::format::double_colon;
  io::id_map u3, i3;
  const auto d = io::load_ratings(dir / "b.csv", u3, i3, dc);
  REQUIRE(d.size() == 1);
  check_entry(d, u3, i3, 0, "1", "2", 3.0f);
}

TEST_CASE("load_ratings: CRLF line endings and a byte order mark", "[io][ratings]") {
  test::temp_dir dir;
  const std::vector<std::pair<std::string, std::string>> files = {
      {"u.data", "1\t2\t3\t100\r\n4\t5\t1\t200\r\n\r\n"},
      {"ratings.dat", "1::2::3::100\r\n4::5::1::200\r\n"},
      {"ratings.csv", "\xEF\xBB\xBFuserId,movieId,rating,timestamp\r\n1,2,3,100\r\n4,5,1,200\r\n"},
  };
  for (const auto& [name, text] : files) {
    CAPTURE(name);
    write_text(dir / name, text);
    io::id_map users, items;
    const auto d = io::load_ratings(dir / name, users, items);
    REQUIRE(d.size() == 2);
    check_entry(d, users, items, 0, "1", "2", 3.0f);
    check_entry(d, users, items, 1, "4", "5", 1.0f);
    CHECK(d.time == std::vector<std::int64_t>{100, 200});
  }
}

TEST_CASE("load_ratings: empty files give empty interactions", "[io][ratings]") {
  test::temp_dir dir;
  for (const std::string text : {"", "\n\n", "  \r\n\t\n", "userId,movieId,rating\n"}) {
    CAPTURE(text);
    write_text(dir / "e.csv", text);
    io::id_map users, items;
    const auto d = io::load_ratings(dir / "e.csv", users, items);
    CHECK(d.size() == 0);
    CHECK(d.users == 0);
    CHECK(d.items == 0);
    CHECK(d.user.empty());
    CHECK(d.time.empty());
  }
  // With non-empty maps, the sizes are the maps' sizes.
  write_text(dir / "e.tsv", "");
  io::id_map users, items;
  users.insert("x");
  const auto d = io::load_ratings(dir / "e.tsv", users, items);
  CHECK(d.users == 1);
  CHECK(d.items == 0);
}

TEST_CASE("load_ratings: a test file against the training maps", "[io][ratings]") {
  test::temp_dir dir;
  write_text(dir / "train.tsv", "a\tx\t1\nb\ty\t2\n");
  write_text(dir / "test.tsv", "b\tx\t3\nc\ty\t4\na\tz\t5\n");
  io::id_map users, items;
  const auto train = io::load_ratings(dir / "train.tsv", users, items);
  CHECK(train.users == 2);
  CHECK(train.items == 2);
  const auto test = io::load_ratings(dir / "test.tsv", users, items);
  CHECK(test.user == std::vector<std::int32_t>{1, 2, 0});  // "c" is new: index 2 >= 2 users
  CHECK(test.item == std::vector<std::int32_t>{0, 1, 2});  // "z" is new: index 2 >= 2 items
  CHECK(test.users == 3);
  CHECK(test.items == 3);
}

TEST_CASE("load_ratings: ids are text", "[io][ratings]") {
  test::temp_dir dir;
  write_text(dir / "big.tsv",
             "99999999999999999999\t-1\t5\n007\t1.5\t4\n7\t+3\t3\n99999999999999999999\tx\t2\n");
  io::id_map users, items;
  const auto d = io::load_ratings(dir / "big.tsv", users, items);
  REQUIRE(d.size() == 4);
  CHECK(users.keys() == std::vector<std::string>{"99999999999999999999", "007", "7"});
  CHECK(items.keys() == std::vector<std::string>{"-1", "1.5", "+3", "x"});
  CHECK(d.user == std::vector<std::int32_t>{0, 1, 2, 0});
}

TEST_CASE("load_ratings: numbers", "[io][ratings]") {
  test::temp_dir dir;
  write_text(dir / "n.tsv", "1\t1\t+4\t+12\n1\t2\t-0.5\t-7\n1\t3\t1e-3\t0\n1\t4\t000123\t0\n");
  io::id_map users, items;
  const auto d = io::load_ratings(dir / "n.tsv", users, items);
  CHECK(d.value == std::vector<float>{4.0f, -0.5f, 1e-3f, 123.0f});
  CHECK(d.time == std::vector<std::int64_t>{12, -7, 0, 0});
  io::id_map u2, i2;
  const auto e = io::load_ratings<double>(dir / "n.tsv", u2, i2);
  CHECK(e.value[2] == 1e-3);
}

TEST_CASE("load_ratings: malformed lines name the file, the line and the text", "[io][ratings]") {
  test::temp_dir dir;
  struct bad {
    std::string text;
    std::string line;  // ":<n>:"
    std::string what;
  };
  const std::vector<bad> cases = {
      {"1\t2\t3\n\n1\t2\n", ":3:", "found 2"},
      {"1\t2\t3\t4\t5\n", ":1:", "found more than 4"},
      {"1\t2\t3\n1\t2\tabc\n", ":2:", "rating \"abc\" is not a number"},
      {"1\t2\t4x\n", ":1:", "rating \"4x\" is not a number"},  // line 1, but not a header
      {"1\t2\t4.5.1\n", ":1:", "not a number"},
      {"1\t2\t\xE2\x80\x93"
       "1\n",
       ":1:", "not a number"},
      {"1\t2\t3\n1\t2\tnan\n", ":2:", "rating \"nan\" is not finite"},
      {"1\t2\tNaN\n", ":1:", "not finite"},
      {"1\t2\t-inf\n", ":1:", "rating \"-inf\" is not finite"},
      {"1\t2\t1e999\n", ":1:", "out of range for float"},
      {"1\t2\t3\t12a\n", ":1:", "time \"12a\" is not an integer"},
      {"1\t2\t3\t1.5\n", ":1:", "time \"1.5\" is not an integer"},
      {"1\t2\t3\t99999999999999999999\n", ":1:", "out of range for a 64-bit integer"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    write_text(dir / "bad.tsv", c.text);
    io::id_map users, items;
    REQUIRE_THROWS_MATCHES(
        io::load_ratings(dir / "bad.tsv", users, items), io_error,
        test::what_is(Contains("recfuse::io::load_ratings") && Contains("bad.tsv\"" + c.line) &&
                      Contains(c.what) && Contains("(line: \"")));
  }
  write_text(dir / "bad.csv", "user,item,rating\n1,,3\n");
  io::id_map users, items;
  REQUIRE_THROWS_MATCHES(io::load_ratings(dir / "bad.csv", users, items), io_error,
                         test::what_is(Contains("bad.csv\":2:") && Contains("empty item id") &&
                                       Contains("line: \"1,,3\"")));
  write_text(dir / "bad.dat", "1::2::3::4::5::6\n");
  REQUIRE_THROWS_MATCHES(io::load_ratings(dir / "bad.dat", users, items), io_error,
                         test::what_is(Contains("separated by \"::\"") && Contains("more than 4")));
  write_text(dir / "long.tsv", "1\t2\t3\n1\t2\t" + std::string(1000, 'z') + "\n");
  REQUIRE_THROWS_MATCHES(
      io::load_ratings(dir / "long.tsv", users, items), io_error,
      test::what_is(Contains("zzz...\")")));  // the line is shortened in the message
  // A double rating out of float range is fine as double.
  write_text(dir / "big.tsv", "1\t2\t1e300\n");
  io::id_map u2, i2;
  CHECK(io::load_ratings<double>(dir / "big.tsv", u2, i2).value[0] == 1e300);
}

TEST_CASE("load_ratings: file errors and full maps", "[io][ratings]") {
  test::temp_dir dir;
  io::id_map users, items;
  REQUIRE_THROWS_MATCHES(
      io::load_ratings(dir / "missing.tsv", users, items), io_error,
      test::what_is(Contains("recfuse::io::load_ratings") && Contains("cannot open") &&
                    Contains("missing.tsv") && Contains("No such file")));
  REQUIRE_THROWS_MATCHES(io::load_ratings(dir.path, users, items), io_error,
                         test::what_is(Contains("is a directory")));

  write_text(dir / "three.tsv", "a\tx\t1\nb\tx\t1\nc\tx\t1\n");
  io::id_map two(2), many;
  REQUIRE_THROWS_MATCHES(
      io::load_ratings(dir / "three.tsv", two, many), io_error,
      test::what_is(Contains("three.tsv\":3:") && Contains("too many distinct user ids") &&
                    Contains("\"c\"")));
}

TEST_CASE("save_ratings: round trip", "[io][ratings]") {
  test::temp_dir dir;
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<float> rating(0.5f, 5.0f);
  io::id_map users, items;
  interactions<float> d;
  for (int e = 0; e < 5000; ++e) {
    d.user.push_back(
        static_cast<std::int32_t>(users.insert(std::string("user") + std::to_string(rng() % 300))));
    d.item.push_back(static_cast<std::int32_t>(items.insert(std::int64_t(rng() % 1000))));
    d.value.push_back(e == 0 ? -0.0f : e == 1 ? 1e-40f : rating(rng));  // incl. a denormal
    d.time.push_back(static_cast<std::int64_t>(rng() % 2000000000) - 1000000000);
  }
  d.users = users.size();
  d.items = items.size();
  io::save_ratings(dir / "out.tsv", d, users, items);
  CHECK(temp_files(dir.path) == 0);

  io::id_map u2, i2;
  const auto back = io::load_ratings(dir / "out.tsv", u2, i2);
  REQUIRE(back.size() == d.size());
  CHECK(u2.keys() == users.keys());  // first-seen order is the same
  CHECK(i2.keys() == items.keys());
  CHECK(back.user == d.user);
  CHECK(back.item == d.item);
  CHECK(back.time == d.time);
  CHECK(std::memcmp(back.value.data(), d.value.data(), d.value.size() * sizeof(float)) == 0);

  // Without time; double values.
  interactions<double> x;
  x.user = {0, 0};
  x.item = {1, 0};
  x.value = {0.1, 1.0 / 3.0};
  io::save_ratings(dir / "x.tsv", x, users, items);
  CHECK(read_text(dir / "x.tsv") == users.key(0) + "\t" + items.key(1) + "\t0.1\n" + users.key(0) +
                                        "\t" + items.key(0) + "\t0.3333333333333333\n");
  io::id_map u3, i3;
  const auto xb = io::load_ratings<double>(dir / "x.tsv", u3, i3);
  CHECK(xb.value == x.value);
  CHECK(xb.time.empty());

  // Saving over an existing file replaces it.
  interactions<float> one;
  one.user = {0};
  one.item = {0};
  one.value = {2};
  io::save_ratings(dir / "out.tsv", one, users, items);
  CHECK(read_text(dir / "out.tsv") == users.key(0) + "\t" + items.key(0) + "\t2\n");
  CHECK(temp_files(dir.path) == 0);
}

TEST_CASE("save_ratings: round trip whatever the name, ids with :: and commas", "[io][ratings]") {
  test::temp_dir dir;
  io::id_map users, items;
  interactions<double> d;
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"urn::7", "a,b"}, {"x", "The::Item"}, {"urn::7", "plain"}, {"3,4", "a,b"}};
  for (const auto& [u, i] : pairs) {
    d.user.push_back(static_cast<std::int32_t>(users.insert(u)));
    d.item.push_back(static_cast<std::int32_t>(items.insert(i)));
  }
  d.value = {0.1, -0.0, 4.5, 1.0 / 3.0};
  d.time = {10, 20, 30, 40};
  d.users = users.size();
  d.items = items.size();
  for (const std::string name : {"out.csv", "OUT.CSV", "out.dat", "out.tsv", "out"}) {
    CAPTURE(name);
    io::save_ratings(dir / name, d, users, items);
    io::id_map u2 = users, i2 = items;  // copies of the maps it was saved with
    const auto back = io::load_ratings<double>(dir / name, u2, i2);
    CHECK(back.user == d.user);
    CHECK(back.item == d.item);
    CHECK(back.time == d.time);
    REQUIRE(back.value.size() == d.value.size());
    CHECK(std::memcmp(back.value.data(), d.value.data(), d.value.size() * sizeof(double)) == 0);
    CHECK(u2.keys() == users.keys());
    CHECK(back.users == d.users);
    CHECK(back.items == d.items);
    io::id_map u3, i3;  // fresh maps: the same text per line
    const auto fresh = io::load_ratings<double>(dir / name, u3, i3);
    REQUIRE(fresh.size() == 4);
    for (index_t e = 0; e < 4; ++e) {
      CHECK(u3.key(fresh.user[e]) == pairs[static_cast<std::size_t>(e)].first);
      CHECK(i3.key(fresh.item[e]) == pairs[static_cast<std::size_t>(e)].second);
    }
  }

  // Detection order: a tab in the first non-blank line wins over ".csv" and "::".
  write_text(dir / "t.csv", "\n  \nurn::7\ta,b\t3\n");
  io::id_map u4, i4;
  const auto t = io::load_ratings(dir / "t.csv", u4, i4);
  REQUIRE(t.size() == 1);
  check_entry(t, u4, i4, 0, "urn::7", "a,b", 3.0f);
  // Without a tab, ".csv" still means csv and "::" still means double_colon.
  write_text(dir / "s.csv", "a::b,c,4\n");
  io::id_map u5, i5;
  check_entry(io::load_ratings(dir / "s.csv", u5, i5), u5, i5, 0, "a::b", "c", 4.0f);
  write_text(dir / "s.dat", "a::b,c::4\n");
  io::id_map u6, i6;
  check_entry(io::load_ratings(dir / "s.dat", u6, i6), u6, i6, 0, "a", "b,c", 4.0f);

  // A user id that starts with a byte order mark could not be read back: refused.
  io::id_map bom;
  bom.insert("\xEF\xBB\xBFu");
  interactions<float> b;
  b.user = {0};
  b.item = {0};
  b.value = {1};
  REQUIRE_THROWS_MATCHES(
      io::save_ratings(dir / "bom.tsv", b, bom, items), value_error,
      test::what_is(Contains("recfuse::io::save_ratings") && Contains("byte order mark")));
  CHECK(!fs::exists(dir / "bom.tsv"));
  CHECK(temp_files(dir.path) == 0);
}

TEST_CASE("load_ratings: a first line is a header only if every column is a word",
          "[io][ratings]") {
  test::temp_dir dir;
  struct bad {
    std::string name;
    std::string text;
    std::string what;
  };
  // Data lines whose rating is bad are errors on line 1, never skipped as headers.
  for (const auto& c : std::vector<bad>{
           {"u.data", "196\t242\tNA\t881250949\n186\t302\t3\t891717742\n",
            "u.data\":1: rating \"NA\" is not a number (line: \"196\t242\tNA\t881250949\")"},
           {"r.csv", "1,2,rating\n3,4,5\n", "r.csv\":1: rating \"rating\" is not a number"},
           {"r.dat", "1::m::x\n", "r.dat\":1: rating \"x\" is not a number"},
           {"s.tsv", "alice\tm1\tNA\n", "rating \"NA\" is not a number"},
           {"q.csv", "alice,m1,\"n/a\"\n", "rating \"\"n/a\"\" is not a number"},
           {"n.csv", "user,item,null\n", "rating \"null\" is not a number"},
           {"w.csv", "user,17,rating\n", "rating \"rating\" is not a number"},
       }) {
    CAPTURE(c.text);
    write_text(dir / c.name, c.text);
    io::id_map users, items;
    REQUIRE_THROWS_MATCHES(
        io::load_ratings(dir / c.name, users, items), io_error,
        test::what_is(Contains("recfuse::io::load_ratings") && Contains(c.what)));
  }
  // Headers: every column a word (letters, quotes or '_' first), in every format.
  for (const auto& [name, text] : std::vector<std::pair<std::string, std::string>>{
           {"h.csv", "userId,movieId,rating,timestamp\n1,2,3,4\n"},
           {"h.tsv", "user_id\titem_id\trating\n1\t2\t3\n"},
           {"h.dat", "UserID::MovieID::Rating::Timestamp\n1::2::3::4\n"},
           {"h2.csv", "\"user\",'item',_score\n1,2,3\n"},
       }) {
    CAPTURE(name);
    write_text(dir / name, text);
    io::id_map users, items;
    const auto d = io::load_ratings(dir / name, users, items);
    REQUIRE(d.size() == 1);
    check_entry(d, users, items, 0, "1", "2", 3.0f);
  }
}

TEST_CASE("save_ratings: errors leave the previous file intact", "[io][ratings]") {
  test::temp_dir dir;
  const std::string before = "old\tcontent\t1\n";
  write_text(dir / "keep.tsv", before);
  io::id_map users, items;
  for (int i = 0; i < 10; ++i) users.insert(std::int64_t{i});
  items.insert("item");
  interactions<float> d;
  for (int e = 0; e < 200000; ++e) {  // more than the write buffer: the temp file gets data
    d.user.push_back(e % 10);
    d.item.push_back(0);
    d.value.push_back(1.0f);
  }
  d.value[150000] = std::numeric_limits<float>::quiet_NaN();
  REQUIRE_THROWS_MATCHES(io::save_ratings(dir / "keep.tsv", d, users, items), value_error,
                         test::what_is(Contains("recfuse::io::save_ratings") &&
                                       Contains("entry 150000") && Contains("nan")));
  CHECK(read_text(dir / "keep.tsv") == before);
  CHECK(temp_files(dir.path) == 0);

  d.value[150000] = 1.0f;
  d.user[199999] = 10;
  REQUIRE_THROWS_MATCHES(
      io::save_ratings(dir / "keep.tsv", d, users, items), index_error,
      test::what_is(Contains("entry 199999") && Contains("user id 10") && Contains("[0, 10)")));
  CHECK(read_text(dir / "keep.tsv") == before);
  d.user[199999] = 0;

  io::id_map spaced;
  spaced.insert("two words");
  interactions<float> s;
  s.user = {0};
  s.item = {0};
  s.value = {1};
  REQUIRE_THROWS_MATCHES(
      io::save_ratings(dir / "keep.tsv", s, spaced, items), value_error,
      test::what_is(Contains("user id \"two words\"") && Contains("whitespace")));
  s.item = {0, 0};
  REQUIRE_THROWS_MATCHES(io::save_ratings(dir / "keep.tsv", s, users, items), shape_error,
                         test::what_is(Contains("item ids size is 2 but values size is 1")));
  s.item = {0};
  s.time = {1, 2};
  REQUIRE_THROWS_MATCHES(io::save_ratings(dir / "keep.tsv", s, users, items), shape_error,
                         test::what_is(Contains("time size is 2")));
  s.time.clear();
  CHECK(read_text(dir / "keep.tsv") == before);

  // Targets that cannot be written.
  REQUIRE_THROWS_MATCHES(
      io::save_ratings(dir.path, s, users, items), io_error,
      test::what_is(Contains("recfuse::io::save_ratings") && Contains("is a directory")));
  CHECK(fs::is_directory(dir.path));
  REQUIRE_THROWS_MATCHES(io::save_ratings(dir / "no-such-dir" / "x.tsv", s, users, items), io_error,
                         test::what_is(Contains("cannot create") && Contains("No such file")));
  CHECK(temp_files(dir.path) == 0);
  CHECK(read_text(dir / "keep.tsv") == before);
}

TEST_CASE("load_ratings: MovieLens 100K u1.base", "[io][ratings][data][ml100k]") {
  const fs::path data =
      fs::path(__FILE__).parent_path() / ".." / ".." / ".." / "shared" / "data" / "ml-100k";
  if (!fs::exists(data / "u1.base")) {
    WARN("MovieLens 100K not found at " << data.string() << "; skipped");
    return;
  }
  io::id_map users, items;
  const auto train = io::load_ratings(data / "u1.base", users, items);
  CHECK(train.size() == 80000);
  CHECK(train.users <= 943);
  CHECK(train.items <= 1682);
  CHECK(train.time.size() == 80000);
  CHECK(users.key(train.user[0]) == "1");
  CHECK(items.key(train.item[0]) == "1");
  CHECK(train.value[0] == 5.0f);
  CHECK(train.time[0] == 874965758);
  double sum = 0;
  for (const float v : train.value) sum += v;
  CHECK(sum / 80000 == Approx(3.52835).epsilon(1e-5));  // the mean of u1.base
  detail::check_interactions("test", "u1.base", train.view());

  const index_t train_users = users.size();
  const auto test = io::load_ratings(data / "u1.test", users, items);
  CHECK(test.size() == 20000);
  CHECK(users.size() >= train_users);
  CHECK(users.size() == 943);
  CHECK(test.users == users.size());
}
