// Shared helpers for the tests: seeded random data, per-type tolerances and views of vectors
// (test_data.hpp, which the CUDA programs include without Catch2), a
// matcher on an exception's message and a temporary directory.
//   CHECK_THROWS_MATCHES(f(), recfuse::io_error, test::what_is(Catch::Contains("recfuse::f")));
//   test::temp_dir dir;  write(dir / "a.tsv");  // removed with its content at scope end
// Header-only (every helper inline or a template); include it after <catch2/catch.hpp>.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "recfuse/core/config.hpp"
#include "recfuse/core/views.hpp"
#include "test_data.hpp"

namespace recfuse::test {

// A committed test fixture: tests/data/<name>.
inline std::filesystem::path fixture(const char* name) {
  return std::filesystem::path(__FILE__).parent_path().parent_path() / "data" / name;
}

// A whole file as bytes, and bytes written as a whole file.
inline std::string read_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}
inline void write_bytes(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary);
  out << bytes;
}

// The bytes of a vector as a little-endian file holds them (the test machines are little-endian).
template <class U>
std::string le_bytes(const std::vector<U>& v) {
  std::string s(v.size() * sizeof(U), '\0');
  if (!v.empty()) std::memcpy(s.data(), v.data(), s.size());
  return s;
}

// Bit-for-bit equality (NaN payloads and signed zeros included).
template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

// Matches an exception whose what() satisfies the string matcher M (any
// Catch::MatcherBase<std::string>, combinations with && and || included). Use through what_is.
template <class M>
class what_matcher : public Catch::MatcherBase<std::exception> {
  static_assert(std::is_base_of_v<Catch::MatcherBase<std::string>, M>,
                "what_is takes a string matcher such as Catch::Contains(\"...\")");

 public:
  explicit what_matcher(M m) : m_(std::move(m)) {}
  bool match(const std::exception& e) const override { return m_.match(e.what()); }
  std::string describe() const override { return "has a message that " + m_.toString(); }

 private:
  M m_;
};

// what_is(Catch::Contains("recfuse::fn") && Catch::Contains("value")): for
// CHECK_THROWS_MATCHES / REQUIRE_THROWS_MATCHES. (A combined matcher refers to its parts, so
// build it inside the macro's argument, not in a variable that outlives them.)
template <class M>
what_matcher<M> what_is(M m) {
  return what_matcher<M>(std::move(m));
}

// A fresh, unique directory under the system temp directory; it and its content are removed at
// scope end (owner permissions are restored first, so a test may make it read-only). `dir / "f"`
// names a file inside it.
struct temp_dir {
  std::filesystem::path path;

  temp_dir() {
    static std::atomic<unsigned> counter{0};
    std::random_device rd;
    for (int attempt = 0;; ++attempt) {
      path = std::filesystem::temp_directory_path() /
             ("recfuse-test-" + std::to_string(rd()) + "-" + std::to_string(rd()) + "-" +
              std::to_string(counter.fetch_add(1)));
      if (std::filesystem::create_directory(path)) break;  // false: it existed already
      if (attempt == 100) throw std::runtime_error("temp_dir: no fresh name in 100 attempts");
    }
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::permissions(path, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::add, ec);
    std::filesystem::remove_all(path, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  std::filesystem::path operator/(const std::string& name) const { return path / name; }
};

}  // namespace recfuse::test
