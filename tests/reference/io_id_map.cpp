// io::id_map: first-seen order, lookups, integer ids as text, the direct table for dense decimal
// ids against the hash map, the size limit, and the errors.
#include <catch2/catch.hpp>

#include <cstdint>
#include <exception>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "recfuse/io/id_map.hpp"
#include "test_support.hpp"

using namespace recfuse;
using Catch::Matchers::Contains;

TEST_CASE("id_map: first-seen order, find, key", "[io][id_map]") {
  io::id_map m;
  CHECK(m.size() == 0);
  CHECK(m.empty());
  CHECK(m.find("a") == -1);
  CHECK(m.insert("bob") == 0);
  CHECK(m.insert("alice") == 1);
  CHECK(m.insert("bob") == 0);  // existing: same index, no growth
  CHECK(m.insert(std::string("carol")) == 2);
  CHECK(m.size() == 3);
  CHECK(m.find("alice") == 1);
  CHECK(m.find("dave") == -1);
  CHECK(m.contains("carol"));
  CHECK_FALSE(m.contains("Carol"));  // case matters
  CHECK(m.key(0) == "bob");
  CHECK(m.key(2) == "carol");
  CHECK(m.keys() == std::vector<std::string>{"bob", "alice", "carol"});
  CHECK(m.insert("") == 3);  // the empty string is an id like any other for the map itself
  CHECK(m.find("") == 3);
}

TEST_CASE("id_map: integer ids are their decimal text", "[io][id_map]") {
  io::id_map m;
  CHECK(m.insert(std::int64_t{196}) == 0);
  CHECK(m.insert("196") == 0);
  CHECK(m.insert(196) == 0);
  CHECK(m.insert(std::int64_t{-5}) == 1);
  CHECK(m.key(1) == "-5");
  CHECK(m.find(std::int64_t{-5}) == 1);
  CHECK(m.insert(INT64_MIN) == 2);
  CHECK(m.key(2) == "-9223372036854775808");
  CHECK(m.find(INT64_MAX) == -1);
  // Non-canonical spellings are different ids: ids are text.
  CHECK(m.insert("0196") == 3);
  CHECK(m.insert("+196") == 4);
  CHECK(m.find("196") == 0);
  CHECK(m.insert("99999999999999999999") == 5);  // beyond int64: still fine as text
  CHECK(m.find("99999999999999999999") == 5);
  CHECK(m.insert("0") == 6);
  CHECK(m.insert("00") == 7);
  CHECK(m.find(std::int64_t{0}) == 6);
}

TEST_CASE("id_map: dense and sparse decimal ids agree with a plain map", "[io][id_map]") {
  // Ids far above the current size go to the hash map; as the map grows the direct table
  // grows over them. Every lookup must still find every id.
  std::mt19937_64 rng(7);
  std::vector<std::string> ids;
  ids.push_back("100000");    // sparse at first, inside the table once ~12,500 ids exist
  ids.push_back("67108863");  // the largest the table could ever hold
  ids.push_back("67108864");  // never in the table
  ids.push_back("123456789");
  for (int i = 0; i < 30000; ++i) ids.push_back(std::to_string(rng() % 60000));
  for (int i = 0; i < 300; ++i) ids.push_back(std::to_string(rng() % 5000000));
  for (int i = 0; i < 300; ++i) ids.push_back(std::string("u") + std::to_string(rng() % 1000));
  io::id_map m;
  std::vector<std::string> order;  // first-seen order, by a plain hash map
  std::unordered_map<std::string, index_t> oracle;
  for (const auto& id : ids) {
    const index_t got = m.insert(id);
    const auto [it, added] = oracle.emplace(id, static_cast<index_t>(order.size()));
    if (added) order.push_back(id);
    REQUIRE(got == it->second);
  }
  REQUIRE(m.size() == static_cast<index_t>(order.size()));
  for (std::size_t i = 0; i < order.size(); ++i) {
    CAPTURE(order[i]);
    REQUIRE(m.find(order[i]) == static_cast<index_t>(i));
    REQUIRE(m.key(static_cast<index_t>(i)) == order[i]);
  }
  CHECK(m.find("100000") == 0);
  CHECK(m.find("67108864") == 2);
  for (int i = 0; i < 2000; ++i) {  // ids never inserted
    const std::string id = std::to_string(60000 + rng() % 40000);
    if (!oracle.count(id)) REQUIRE(m.find(id) == -1);
  }

  io::id_map copy = m;  // copies are independent
  CHECK(copy.insert("fresh") == m.size());
  CHECK(m.find("fresh") == -1);
  CHECK(copy.find("100000") == 0);
  m.clear();
  CHECK(m.size() == 0);
  CHECK(m.find("100000") == -1);
  CHECK(m.insert("5") == 0);
}

TEST_CASE("id_map: reserve keeps behaviour", "[io][id_map]") {
  io::id_map m;
  m.reserve(1000);
  m.reserve(0);
  m.reserve(-3);
  for (int i = 0; i < 1000; ++i) REQUIRE(m.insert(std::int64_t{999 - i}) == i);
  CHECK(m.key(0) == "999");
}

TEST_CASE("id_map: errors", "[io][id_map]") {
  io::id_map m;
  m.insert("x");
  REQUIRE_THROWS_MATCHES(m.key(5), index_error,
                         test::what_is(Contains("recfuse::io::id_map::key") &&
                                       Contains("index 5") && Contains("[0, 1)")));
  REQUIRE_THROWS_MATCHES(m.key(-1), index_error, test::what_is(Contains("index -1")));
  const io::id_map empty;
  REQUIRE_THROWS_AS(empty.key(0), index_error);

  io::id_map small(2);
  CHECK(small.max_size() == 2);
  CHECK(small.insert("a") == 0);
  CHECK(small.insert("7") == 1);
  CHECK(small.insert("a") == 0);  // existing ids are still found when full
  REQUIRE_THROWS_MATCHES(small.insert("c"), index_error,
                         test::what_is(Contains("recfuse::io::id_map::insert") &&
                                       Contains("\"c\"") && Contains("2 ids")));
  REQUIRE_THROWS_AS(small.insert("8"), index_error);  // the direct-table path too
  CHECK(small.size() == 2);
  CHECK(small.find("8") == -1);
  CHECK(io::id_map().max_size() == INT32_MAX);
  REQUIRE_THROWS_MATCHES(
      io::id_map(0), value_error,
      test::what_is(Contains("recfuse::io::id_map") && Contains("max_size is 0")));
  REQUIRE_THROWS_AS(io::id_map(index_t{INT32_MAX} + 1), value_error);
}
