// io::archive, save_archive / load_archive, and the model files of recfuse/factorize/persist.hpp:
// bit-exact round trips, every corruption (truncation at every cut, flipped bytes, bad magic,
// future versions, crafted lengths) as a clear io_error, and the atomic-write guarantee.
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

#include "recfuse/factorize/persist.hpp"
#include "recfuse/io/archive.hpp"
#include "test_support.hpp"

#if defined(__unix__)
#include <unistd.h>
#endif

using namespace recfuse;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {
using test::same_bits;

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

int temp_files(const fs::path& dir) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().find(".tmp.") != std::string::npos) ++n;
  }
  return n;
}

template <class T>
bool same_bits(T a, T b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

// Values that a careless format would not keep: signed zero, denormals, extremes, infinities.
template <class T>
std::vector<T> special_values() {
  using L = std::numeric_limits<T>;
  return {T(0),        -T(0),        L::denorm_min(), -L::denorm_min(), L::min(),    L::max(),
          L::lowest(), L::epsilon(), L::infinity(),   -L::infinity(),   T(1) / T(3), T(-2.5)};
}

// A small archive with one entry of every kind.
io::archive sample_archive() {
  io::archive a("test_kind");
  a.put("pi", 3.141592653589793);
  a.put("neg_zero", -0.0);
  a.put("tiny", std::numeric_limits<double>::denorm_min());
  a.put_string("name", "movies");
  a.put_string("empty", "");
  a.put_string("binary", std::string("a\0b\xff", 4));
  a.put_array<float>("f32", special_values<float>(), {3, 4});
  a.put_array<double>("f64", special_values<double>(), {12});
  a.put_array<std::int32_t>("i32", std::vector<std::int32_t>{INT32_MIN, -1, 0, INT32_MAX});
  a.put_array<std::int64_t>("i64", std::vector<std::int64_t>{INT64_MIN, INT64_MAX}, {1, 2});
  a.put_array<float>("empty_array", std::vector<float>{}, {0, 5});
  a.put_array<double>("rank0", std::vector<double>{7.5}, {});
  return a;
}

// Builds a file by hand: header + payload + CRC (correct unless told otherwise).
std::string build_file(const std::string& payload, std::uint32_t version = 1,
                       std::uint32_t flags = 0) {
  std::string f = "RFARCHV1";
  const auto le = [&](std::uint64_t v, int bytes) {
    for (int b = 0; b < bytes; ++b) f.push_back(static_cast<char>((v >> (8 * b)) & 0xff));
  };
  le(version, 4);
  le(flags, 4);
  le(payload.size(), 8);
  f += payload;
  le(io::detail::crc64(payload.data(), payload.size()), 8);
  return f;
}

struct payload_builder {
  std::string s;
  payload_builder& u8(std::uint8_t v) {
    s.push_back(static_cast<char>(v));
    return *this;
  }
  payload_builder& u32(std::uint32_t v) {
    for (int b = 0; b < 4; ++b) s.push_back(static_cast<char>((v >> (8 * b)) & 0xff));
    return *this;
  }
  payload_builder& u64(std::uint64_t v) {
    for (int b = 0; b < 8; ++b) s.push_back(static_cast<char>((v >> (8 * b)) & 0xff));
    return *this;
  }
  payload_builder& text(const std::string& t) {
    u32(static_cast<std::uint32_t>(t.size()));
    s += t;
    return *this;
  }
};

biased_mf_model<float> small_biased_f() {
  biased_mf_model<float> m;
  m.users = 3;
  m.items = 4;
  m.factors = 2;
  m.global_mean = 3.5f;
  m.min_rating = 1;
  m.max_rating = 5;
  m.user_bias = {0.25f, -0.0f, std::numeric_limits<float>::denorm_min()};
  m.item_bias = {1, 2, 3, -4};
  m.user_factors = {1, 2, 3, 4, 5, 6};
  m.item_factors = {-1, -2, 0.1f, 0.2f, 1e-38f, 3e38f, 7, 8};
  return m;
}

}  // namespace

TEST_CASE("archive: CRC-64/XZ check value and continuation", "[io][archive]") {
  CHECK(io::detail::crc64("123456789", 9) == 0x995DC9BBDF1939FAULL);
  CHECK(io::detail::crc64("", 0) == 0);
  std::string data(1000, '\0');
  std::mt19937 rng(1);
  for (auto& c : data) c = static_cast<char>(rng());
  for (std::size_t cut : {0, 1, 7, 8, 9, 500, 999, 1000}) {
    const auto first = io::detail::crc64_update(0, data.data(), cut);
    CHECK(io::detail::crc64_update(first, data.data() + cut, data.size() - cut) ==
          io::detail::crc64(data.data(), data.size()));
  }
  // Bytewise definition, as a second opinion for the sliced loop.
  std::uint64_t crc = ~std::uint64_t{0};
  for (const char c : data) {
    crc ^= static_cast<unsigned char>(c);
    for (int b = 0; b < 8; ++b) crc = (crc & 1) ? (crc >> 1) ^ 0xC96C5795D7870F42ULL : crc >> 1;
  }
  CHECK(~crc == io::detail::crc64(data.data(), data.size()));
}

TEST_CASE("archive: in-memory entries", "[io][archive]") {
  io::archive a = sample_archive();
  CHECK(a.kind() == "test_kind");
  CHECK(a.contains("pi"));
  CHECK_FALSE(a.contains("nope"));
  CHECK(a.type("pi") == io::entry_type::scalar);
  CHECK(a.type("name") == io::entry_type::string);
  CHECK(a.type("f32") == io::entry_type::array);
  CHECK(a.type("nope") == io::entry_type::none);
  CHECK(a.array_dtype("i64") == io::dtype::int64);
  CHECK(a.array_shape("f32") == std::vector<index_t>{3, 4});
  CHECK(a.names().size() == 12);
  std::vector<index_t> shape;
  CHECK(a.array<double>("rank0", &shape) == std::vector<double>{7.5});
  CHECK(shape.empty());
  a.put("pi", 3.0);  // replaces
  CHECK(a.scalar("pi") == 3.0);
  a.put_string("pi", "now a string");  // replaces across types
  CHECK(a.string("pi") == "now a string");
  a.set_kind("other");
  CHECK(a.kind() == "other");
  CHECK(a.source().empty());

  REQUIRE_THROWS_MATCHES(
      a.scalar("nope"), io_error,
      test::what_is(Contains("recfuse::io::archive::scalar") && Contains("no entry \"nope\"") &&
                    Contains("built in memory")));
  REQUIRE_THROWS_MATCHES(a.scalar("name"), io_error,
                         test::what_is(Contains("entry \"name\" is a string, not a scalar")));
  REQUIRE_THROWS_MATCHES(a.string("f32"), io_error,
                         test::what_is(Contains("recfuse::io::archive::string") &&
                                       Contains("is an array, not a string")));
  REQUIRE_THROWS_MATCHES(
      a.array<double>("f32"), io_error,
      test::what_is(Contains("recfuse::io::archive::array") && Contains("\"f32\"") &&
                    Contains("holds float32, not float64")));
  REQUIRE_THROWS_MATCHES(a.array<std::int32_t>("tiny"), io_error,
                         test::what_is(Contains("is a scalar, not an array")));
  const std::vector<float> six(6);
  REQUIRE_THROWS_MATCHES(
      a.put_array<float>("x", six, {2, 4}), shape_error,
      test::what_is(Contains("recfuse::io::archive::put_array") && Contains("\"x\"") &&
                    Contains("[2, 4] has 8 elements") && Contains("the data has 6")));
  REQUIRE_THROWS_MATCHES(a.put_array<float>("x", six, {-2, -3}), shape_error,
                         test::what_is(Contains("negative extent")));
  REQUIRE_THROWS_AS(a.put_array<float>("x", six, {}), shape_error);  // rank 0 holds 1 element
  const std::vector<float> none;
  REQUIRE_THROWS_MATCHES(a.put_array<float>("x", none, {index_t{1} << 62, index_t{1} << 62}),
                         shape_error, test::what_is(Contains("too many elements")));
  CHECK_FALSE(a.contains("x"));
  a.put_array<float>("huge_but_empty", none, {index_t{1} << 62, 0, index_t{1} << 62});
  CHECK(a.array_shape("huge_but_empty") ==
        std::vector<index_t>{index_t{1} << 62, 0, index_t{1} << 62});
}

TEST_CASE("archive: save and load round trip bit-exactly", "[io][archive]") {
  test::temp_dir dir;
  const io::archive a = sample_archive();
  io::save_archive(dir / "a.rfa", a);
  CHECK(temp_files(dir.path) == 0);
  const std::string bytes = read_bytes(dir / "a.rfa");
  CHECK(bytes.substr(0, 8) == "RFARCHV1");
  CHECK(bytes[8] == 1);  // version 1, little-endian
  CHECK(bytes[9] == 0);

  const io::archive b = io::load_archive(dir / "a.rfa");
  CHECK(b.kind() == "test_kind");
  CHECK(b.source() == dir / "a.rfa");
  CHECK(b.names() == a.names());
  CHECK(b.scalar("pi") == 3.141592653589793);
  CHECK(same_bits(b.scalar("neg_zero"), -0.0));
  CHECK(same_bits(b.scalar("tiny"), std::numeric_limits<double>::denorm_min()));
  CHECK(b.string("name") == "movies");
  CHECK(b.string("empty").empty());
  CHECK(b.string("binary") == std::string("a\0b\xff", 4));
  std::vector<index_t> shape;
  CHECK(same_bits(b.array<float>("f32", &shape), special_values<float>()));
  CHECK(shape == std::vector<index_t>{3, 4});
  CHECK(same_bits(b.array<double>("f64", &shape), special_values<double>()));
  CHECK(shape == std::vector<index_t>{12});
  CHECK(b.array<std::int32_t>("i32") == std::vector<std::int32_t>{INT32_MIN, -1, 0, INT32_MAX});
  CHECK(b.array<std::int64_t>("i64", &shape) == std::vector<std::int64_t>{INT64_MIN, INT64_MAX});
  CHECK(shape == std::vector<index_t>{1, 2});
  CHECK(b.array<float>("empty_array", &shape).empty());
  CHECK(shape == std::vector<index_t>{0, 5});
  CHECK(b.array<double>("rank0") == std::vector<double>{7.5});
  REQUIRE_THROWS_MATCHES(b.scalar("nope"), io_error,
                         test::what_is(Contains("no entry \"nope\"") && Contains("a.rfa")));

  // Saving is deterministic, and an empty archive round-trips too.
  io::save_archive(dir / "b.rfa", b);
  CHECK(read_bytes(dir / "b.rfa") == bytes);
  io::save_archive(dir / "empty.rfa", io::archive());
  const io::archive e = io::load_archive(dir / "empty.rfa");
  CHECK(e.kind().empty());
  CHECK(e.names().empty());
  CHECK(read_bytes(dir / "empty.rfa").size() == 24 + 8 + 8);  // kind length + entry count
}

TEST_CASE("archive: every truncation is an io_error", "[io][archive]") {
  test::temp_dir dir;
  io::save_archive(dir / "a.rfa", sample_archive());
  const std::string bytes = read_bytes(dir / "a.rfa");
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    CAPTURE(cut);
    write_bytes(dir / "cut.rfa", bytes.substr(0, cut));
    REQUIRE_THROWS_MATCHES(io::load_archive(dir / "cut.rfa"), io_error,
                           test::what_is(Contains("recfuse::io::load_archive") &&
                                         Contains("cut.rfa") && Contains("truncated")));
  }
  write_bytes(dir / "cut.rfa", bytes.substr(0, bytes.size() - 3));
  REQUIRE_THROWS_MATCHES(
      io::load_archive(dir / "cut.rfa"), io_error,
      test::what_is(Contains(std::to_string(bytes.size()) + " bytes in all) but the file has " +
                             std::to_string(bytes.size() - 3))));
  write_bytes(dir / "long.rfa", bytes + "x");
  REQUIRE_THROWS_MATCHES(io::load_archive(dir / "long.rfa"), io_error,
                         test::what_is(Contains("trailing data")));
}

TEST_CASE("archive: corruption, bad magic, other versions", "[io][archive]") {
  test::temp_dir dir;
  io::save_archive(dir / "a.rfa", sample_archive());
  const std::string bytes = read_bytes(dir / "a.rfa");

  // Any flipped bit in the payload or the checksum fails the checksum.
  std::mt19937 rng(5);
  for (int t = 0; t < 64; ++t) {
    std::string bad = bytes;
    const std::size_t at = 24 + rng() % (bad.size() - 24);
    bad[at] = static_cast<char>(bad[at] ^ (1 << (rng() % 8)));
    CAPTURE(at);
    write_bytes(dir / "bad.rfa", bad);
    REQUIRE_THROWS_MATCHES(
        io::load_archive(dir / "bad.rfa"), io_error,
        test::what_is(Contains("bad.rfa") && Contains("checksum mismatch") && Contains("corrupt")));
  }

  std::string magic = bytes;
  magic[3] = 'X';
  write_bytes(dir / "m.rfa", magic);
  REQUIRE_THROWS_MATCHES(io::load_archive(dir / "m.rfa"), io_error,
                         test::what_is(Contains("not a recfuse model file")));
  write_bytes(dir / "text.rfa", "user\titem\trating\n");
  REQUIRE_THROWS_MATCHES(io::load_archive(dir / "text.rfa"), io_error,
                         test::what_is(Contains("not a recfuse model file")));
  write_bytes(dir / "short.rfa", "RFX");
  REQUIRE_THROWS_MATCHES(io::load_archive(dir / "short.rfa"), io_error,
                         test::what_is(Contains("not a recfuse model file")));

  std::string future = bytes;
  future[8] = 2;
  write_bytes(dir / "v2.rfa", future);
  REQUIRE_THROWS_MATCHES(
      io::load_archive(dir / "v2.rfa"), io_error,
      test::what_is(Contains("format version 2 is not supported") && Contains("reads version 1")));
  std::string flags = bytes;
  flags[12] = 1;
  write_bytes(dir / "f.rfa", flags);
  REQUIRE_THROWS_MATCHES(io::load_archive(dir / "f.rfa"), io_error,
                         test::what_is(Contains("unsupported format flags 0x1")));
  std::string length = bytes;
  length[23] = static_cast<char>(0x80);  // payload length 2^63 + ...
  write_bytes(dir / "len.rfa", length);
  REQUIRE_THROWS_MATCHES(io::load_archive(dir / "len.rfa"), io_error,
                         test::what_is(Contains("truncated")));

  REQUIRE_THROWS_MATCHES(io::load_archive(dir / "missing.rfa"), io_error,
                         test::what_is(Contains("recfuse::io::load_archive") &&
                                       Contains("cannot open") && Contains("missing.rfa")));
  REQUIRE_THROWS_MATCHES(io::load_archive(dir.path), io_error,
                         test::what_is(Contains("is a directory")));
}

TEST_CASE("archive: malformed payloads with a valid checksum", "[io][archive]") {
  // Crafted files: lengths are checked against the bytes that remain before any allocation.
  test::temp_dir dir;
  const auto check = [&](const std::string& payload, const std::string& what_text) {
    write_bytes(dir / "c.rfa", build_file(payload));
    REQUIRE_THROWS_MATCHES(
        io::load_archive(dir / "c.rfa"), io_error,
        test::what_is(Contains("c.rfa") && Contains("malformed payload at byte") &&
                      Contains(what_text)));
  };
  const auto head = [](std::uint32_t entries) {
    payload_builder p;
    p.text("k").u32(entries);
    return p;
  };
  // A well-formed file built by hand loads.
  {
    auto p = head(1);
    p.text("x").u8(1).u64(0x4000000000000000ULL);  // 2.0
    write_bytes(dir / "ok.rfa", build_file(p.s));
    CHECK(io::load_archive(dir / "ok.rfa").scalar("x") == 2.0);
  }
  check(payload_builder().u32(1000).s, "the kind needs 1000 bytes");
  check(payload_builder().text("k").s, "the entry count");
  check(head(2).text("x").u8(1).u64(0).s, "an entry name");  // one entry missing
  check(head(1).u32(0xFFFFFFFFu).s, "an entry name needs 4294967295 bytes");
  check(head(1).text("x").u8(9).s, "unknown type 9");
  check(head(1).text("s").u8(2).u64(~0ULL).s, "claims 18446744073709551615 string bytes");
  check(head(1).text("a").u8(3).u8(7).s, "unknown dtype 7");
  check(head(1).text("a").u8(3).u8(1).u32(0xFFFFFFFFu).s, "claims rank 4294967295");
  check(head(1).text("a").u8(3).u8(1).u32(2).u64(1ULL << 40).u64(1ULL << 40).s,
        "needs more than the 0 bytes");
  check(head(1).text("a").u8(3).u8(2).u32(2).u64(~0ULL >> 1).u64(3).s, "needs more than");
  check(head(1).text("a").u8(3).u8(1).u32(1).u64(~0ULL).s, "has extent 18446744073709551615");
  check(head(1).text("a").u8(3).u8(1).u32(1).u64(2).u32(0).s, "needs more than the 4 bytes");
  check(head(2).text("x").u8(1).u64(0).text("x").u8(1).u64(0).s, "duplicate entry name");
  check(head(0).u8(0).s, "1 bytes after the last entry");
  // An array with a zero extent needs no data, whatever the other extents say.
  auto zero = head(1);
  zero.text("z").u8(3).u8(4).u32(3).u64(1ULL << 62).u64(0).u64(1ULL << 62);
  write_bytes(dir / "z.rfa", build_file(zero.s));
  std::vector<index_t> shape;
  CHECK(io::load_archive(dir / "z.rfa").array<std::int64_t>("z", &shape).empty());
  CHECK(shape == std::vector<index_t>{index_t{1} << 62, 0, index_t{1} << 62});
}

TEST_CASE("archive: atomic writes keep the previous file on failure", "[io][archive]") {
  test::temp_dir dir;
  io::archive one("one");
  one.put("v", 1.0);
  io::archive two("two");
  two.put("v", 2.0);
  io::save_archive(dir / "m.rfa", one);
  io::save_archive(dir / "m.rfa", two);  // replaces
  CHECK(io::load_archive(dir / "m.rfa").kind() == "two");
  CHECK(temp_files(dir.path) == 0);
  const std::string before = read_bytes(dir / "m.rfa");

  // A failure while the temp file is being written: the target is untouched, no temp remains.
  struct boom {};
  CHECK_THROWS_AS(io::detail::atomic_write("test", dir / "m.rfa",
                                           [](io::detail::output_file& out) {
                                             const std::string junk(3 << 20, 'j');
                                             out.write(junk);
                                             throw boom{};
                                           }),
                  boom);
  CHECK(read_bytes(dir / "m.rfa") == before);
  CHECK(temp_files(dir.path) == 0);

  // Targets that cannot be written.
  fs::create_directories(dir / "sub" / "inner");
  REQUIRE_THROWS_MATCHES(
      io::save_archive(dir / "sub", one), io_error,
      test::what_is(Contains("recfuse::io::save_archive") && Contains("is a directory")));
  CHECK(fs::is_directory(dir / "sub" / "inner"));
  REQUIRE_THROWS_MATCHES(io::save_archive(dir / "nowhere" / "m.rfa", one), io_error,
                         test::what_is(Contains("cannot create") && Contains("nowhere")));
  CHECK(temp_files(dir.path) == 0);
  CHECK(read_bytes(dir / "m.rfa") == before);

#if defined(__unix__)
  if (::geteuid() != 0) {  // root ignores directory permissions
    fs::permissions(dir.path,
                    fs::perms::owner_write | fs::perms::group_write | fs::perms::others_write,
                    fs::perm_options::remove);
    REQUIRE_THROWS_MATCHES(
        io::save_archive(dir / "m.rfa", one), io_error,
        test::what_is(Contains("cannot create") && Contains("Permission denied")));
    fs::permissions(dir.path, fs::perms::owner_write, fs::perm_options::add);
    CHECK(read_bytes(dir / "m.rfa") == before);
  } else {
    WARN("running as root: the read-only directory case is skipped");
  }
#endif
}

TEMPLATE_TEST_CASE("save_model: biased and implicit models round trip bit-exactly", "[io][persist]",
                   float, double) {
  using T = TestType;
  test::temp_dir dir;
  biased_mf_model<T> b;
  b.users = 3;
  b.items = 4;
  b.factors = 4;
  b.global_mean = T(3.5);
  b.min_rating = T(0.5);
  b.max_rating = std::numeric_limits<T>::max();
  b.user_bias = {T(0.25), -T(0), std::numeric_limits<T>::denorm_min()};
  b.item_bias = {1, 2, 3, -4};
  std::mt19937_64 rng(11);
  std::normal_distribution<double> normal;
  for (int k = 0; k < 12; ++k) b.user_factors.push_back(static_cast<T>(normal(rng)));
  for (const T v : special_values<T>()) {
    if (std::isfinite(v)) b.item_factors.push_back(v);  // a model's values are finite
  }
  b.item_factors.resize(16, T(0.5));
  save_model(dir / "b.rfm", b);
  const auto lb = load_biased_mf_model<T>(dir / "b.rfm");
  CHECK(lb.users == 3);
  CHECK(lb.items == 4);
  CHECK(lb.factors == 4);
  CHECK(same_bits(lb.global_mean, b.global_mean));
  CHECK(same_bits(lb.min_rating, b.min_rating));
  CHECK(same_bits(lb.max_rating, b.max_rating));
  CHECK(same_bits(lb.user_bias, b.user_bias));
  CHECK(same_bits(lb.item_bias, b.item_bias));
  CHECK(same_bits(lb.user_factors, b.user_factors));
  CHECK(same_bits(lb.item_factors, b.item_factors));
  CHECK(lb.predict(0, 3) == b.predict(0, 3));
  CHECK(std::isfinite(lb.predict(0, 3)));

  implicit_mf_model<T> x;
  x.users = 5;
  x.items = 2;
  x.factors = 3;
  for (int k = 0; k < 15; ++k) x.user_factors.push_back(static_cast<T>(normal(rng)));
  for (int k = 0; k < 6; ++k) x.item_factors.push_back(static_cast<T>(normal(rng)));
  save_model(dir / "x.rfm", x);
  const auto lx = load_implicit_mf_model<T>(dir / "x.rfm");
  CHECK(lx.users == 5);
  CHECK(lx.items == 2);
  CHECK(lx.factors == 3);
  CHECK(same_bits(lx.user_factors, x.user_factors));
  CHECK(same_bits(lx.item_factors, x.item_factors));

  // Empty models (no users or items) round-trip too; the factor count is still 1 or more.
  biased_mf_model<T> empty;
  empty.factors = 1;
  save_model(dir / "e.rfm", empty);
  const auto le = load_biased_mf_model<T>(dir / "e.rfm");
  CHECK(le.users == 0);
  CHECK(le.factors == 1);
  CHECK(le.user_factors.empty());
  implicit_mf_model<T> nu;
  nu.items = 3;
  nu.factors = detail::mf::max_factors;  // the largest factor count
  nu.item_factors.assign(static_cast<std::size_t>(3 * nu.factors), T(0.5));
  save_model(dir / "nu.rfm", nu);
  const auto lnu = load_implicit_mf_model<T>(dir / "nu.rfm");
  CHECK(lnu.items == 3);
  CHECK(lnu.factors == detail::mf::max_factors);
  CHECK(same_bits(lnu.item_factors, nu.item_factors));
  CHECK(temp_files(dir.path) == 0);
}

TEST_CASE("save_model: load errors name the file and the problem", "[io][persist]") {
  test::temp_dir dir;
  const auto b = small_biased_f();
  save_model(dir / "b.rfm", b);
  implicit_mf_model<float> x;
  x.users = 1;
  x.items = 1;
  x.factors = 1;
  x.user_factors = {1};
  x.item_factors = {2};
  save_model(dir / "x.rfm", x);

  REQUIRE_THROWS_MATCHES(
      load_implicit_mf_model<float>(dir / "b.rfm"), io_error,
      test::what_is(Contains("recfuse::load_implicit_mf_model") && Contains("b.rfm") &&
                    Contains("kind \"biased_mf\", not \"implicit_mf\"") &&
                    Contains("recfuse::load_biased_mf_model")));
  REQUIRE_THROWS_MATCHES(load_biased_mf_model<float>(dir / "x.rfm"), io_error,
                         test::what_is(Contains("recfuse::load_biased_mf_model") &&
                                       Contains("kind \"implicit_mf\", not \"biased_mf\"")));
  REQUIRE_THROWS_MATCHES(
      load_biased_mf_model<double>(dir / "b.rfm"), io_error,
      test::what_is(Contains("holds float32 values") && Contains("loaded as float64") &&
                    Contains("load_biased_mf_model<float>")));
  implicit_mf_model<double> xd;
  xd.factors = 1;
  save_model(dir / "xd.rfm", xd);
  REQUIRE_THROWS_MATCHES(
      load_implicit_mf_model<float>(dir / "xd.rfm"), io_error,
      test::what_is(Contains("holds float64 values") && Contains("loaded as float32")));

  // Archive-level problems carry the model loader's name.
  std::string bytes = read_bytes(dir / "b.rfm");
  write_bytes(dir / "cut.rfm", bytes.substr(0, bytes.size() / 2));
  REQUIRE_THROWS_MATCHES(load_biased_mf_model(dir / "cut.rfm"), io_error,
                         test::what_is(Contains("recfuse::load_biased_mf_model") &&
                                       Contains("cut.rfm") && Contains("truncated")));
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x10);
  write_bytes(dir / "flip.rfm", bytes);
  REQUIRE_THROWS_MATCHES(load_biased_mf_model(dir / "flip.rfm"), io_error,
                         test::what_is(Contains("checksum mismatch")));
  REQUIRE_THROWS_MATCHES(
      load_biased_mf_model(dir / "none.rfm"), io_error,
      test::what_is(Contains("recfuse::load_biased_mf_model") && Contains("cannot open")));

  // Archives with the right kind but inconsistent content.
  const auto edit = [&](auto&& change) {
    io::archive a = io::load_archive(dir / "b.rfm");
    change(a);
    io::save_archive(dir / "edit.rfm", a);
  };
  edit([](io::archive& a) { a.put("users", 4.0); });
  REQUIRE_THROWS_MATCHES(
      load_biased_mf_model(dir / "edit.rfm"), io_error,
      test::what_is(Contains("array \"user_bias\" has shape [3] but [users] is [4]")));
  edit([](io::archive& a) { a.put("factors", 1.0); });
  REQUIRE_THROWS_MATCHES(load_biased_mf_model(dir / "edit.rfm"), io_error,
                         test::what_is(Contains("\"user_factors\" has shape [3, 2]") &&
                                       Contains("[users, factors] is [3, 1]")));
  edit([](io::archive& a) { a.put("users", 2.5); });
  REQUIRE_THROWS_MATCHES(load_biased_mf_model(dir / "edit.rfm"), io_error,
                         test::what_is(Contains("users is 2.5")));
  edit([](io::archive& a) { a.put("items", -1.0); });
  REQUIRE_THROWS_MATCHES(load_biased_mf_model(dir / "edit.rfm"), io_error,
                         test::what_is(Contains("items is -1")));
  edit([](io::archive& a) { a.put_string("global_mean", "x"); });
  REQUIRE_THROWS_MATCHES(load_biased_mf_model(dir / "edit.rfm"), io_error,
                         test::what_is(Contains("no scalar \"global_mean\"")));
  edit([](io::archive& a) { a.put("item_factors", 0.0); });
  REQUIRE_THROWS_MATCHES(load_biased_mf_model(dir / "edit.rfm"), io_error,
                         test::what_is(Contains("no array \"item_factors\"")));
  edit([](io::archive& a) { a.put_array<double>("item_bias", std::vector<double>{1, 2, 3, 4}); });
  REQUIRE_THROWS_MATCHES(load_biased_mf_model(dir / "edit.rfm"), io_error,
                         test::what_is(Contains("\"item_bias\" holds float64, not float32")));
  edit([](io::archive& a) { a.put("model_version", 2.0); });
  REQUIRE_THROWS_MATCHES(load_biased_mf_model(dir / "edit.rfm"), io_error,
                         test::what_is(Contains("model version 2 is not supported")));
  edit([](io::archive& a) { a.set_kind("something"); });
  REQUIRE_THROWS_MATCHES(load_biased_mf_model(dir / "edit.rfm"), io_error,
                         test::what_is(Contains("kind \"something\", not \"biased_mf\"")));
  io::save_archive(dir / "bare.rfm", io::archive("biased_mf"));
  REQUIRE_THROWS_MATCHES(load_biased_mf_model(dir / "bare.rfm"), io_error,
                         test::what_is(Contains("no model_version entry")));
}

// A biased_mf archive built entry by entry, as a hand-made or corrupt file (with a valid
// checksum) could hold it: users = items = 0 by default, so every array is empty.
io::archive crafted_biased(double factors, double users = 0, double items = 0) {
  io::archive a("biased_mf");
  a.put("model_version", 1.0);
  a.put_string("dtype", "float32");
  a.put("users", users);
  a.put("items", items);
  a.put("factors", factors);
  a.put("global_mean", 3.5);
  a.put("min_rating", 1.0);
  a.put("max_rating", 5.0);
  const auto u = static_cast<index_t>(users), i = static_cast<index_t>(items);
  const auto k = static_cast<index_t>(factors);
  a.put_array<float>("user_bias", std::vector<float>(static_cast<std::size_t>(u), 0.5f), {u});
  a.put_array<float>("item_bias", std::vector<float>(static_cast<std::size_t>(i), -0.5f), {i});
  a.put_array<float>("user_factors", std::vector<float>(static_cast<std::size_t>(u * k), 1.0f),
                     {u, k});
  a.put_array<float>("item_factors", std::vector<float>(static_cast<std::size_t>(i * k), 2.0f),
                     {i, k});
  return a;
}

TEST_CASE("load_model: factor counts outside [1, 65536] and non-finite values are refused",
          "[io][persist]") {
  test::temp_dir dir;
  const auto path = dir / "m.rfm";
  const auto load_error = [&](const io::archive& a) -> std::string {
    io::save_archive(path, a);
    try {
      load_biased_mf_model<float>(path);
    } catch (const io_error& e) {
      return e.what();
    }
    return "(loaded)";
  };

  // A valid checksum, no users or items, and a huge factor count: refused before any use could
  // allocate factors^2 elements.
  const std::string huge = load_error(crafted_biased(2147483647.0));
  CHECK_THAT(huge, Contains("recfuse::load_biased_mf_model") && Contains("m.rfm") &&
                       Contains("factors is 2147483647") && Contains("[1, 65536]"));
  CHECK_THAT(load_error(crafted_biased(65537.0)), Contains("factors is 65537"));
  CHECK_THAT(load_error(crafted_biased(0.0)), Contains("factors is 0 (need an integer in [1,"));
  CHECK(load_error(crafted_biased(65536.0)) == "(loaded)");  // the limit itself loads
  CHECK(load_error(crafted_biased(2.0, 3.0, 4.0)) == "(loaded)");
  io::archive many_users = crafted_biased(1.0);
  many_users.put("users", 1e10);
  CHECK_THAT(load_error(many_users), Contains("users is 1e+10") && Contains("[0, 2147483647]"));

  // The implicit loader applies the same limit.
  io::archive x("implicit_mf");
  x.put("model_version", 1.0);
  x.put_string("dtype", "float64");
  x.put("users", 0.0);
  x.put("items", 0.0);
  x.put("factors", 2147483647.0);
  x.put_array<double>("user_factors", std::vector<double>{}, {0, 2147483647});
  x.put_array<double>("item_factors", std::vector<double>{}, {0, 2147483647});
  io::save_archive(path, x);
  REQUIRE_THROWS_MATCHES(load_implicit_mf_model<double>(path), io_error,
                         test::what_is(Contains("recfuse::load_implicit_mf_model") &&
                                       Contains("factors is 2147483647")));

  // Scalars: finite (in the model's type) and min_rating <= max_rating.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  struct scalar_case {
    const char* name;
    double value;
    std::string what;
  };
  for (const auto& c : std::vector<scalar_case>{
           {"global_mean", nan, "global_mean is nan (need a finite float32 value)"},
           {"min_rating", -inf, "min_rating is -inf"},
           {"max_rating", inf, "max_rating is inf"},
           {"max_rating", 1e39, "max_rating is 1e+39 (need a finite float32"},  // inf as float
           {"min_rating", 6.0, "min_rating 6 > max_rating 5"},
           {"max_rating", 0.5, "min_rating 1 > max_rating 0.5"},
       }) {
    CAPTURE(c.name, c.value);
    io::archive a = crafted_biased(2.0, 3.0, 4.0);
    a.put(c.name, c.value);
    CHECK_THAT(load_error(a), Contains("recfuse::load_biased_mf_model") && Contains(c.what));
  }

  // Arrays: the first NaN or infinity is named with its array, element, row and factor.
  struct array_case {
    const char* name;
    std::size_t at;
    float value;
    std::string what;
  };
  const float fnan = std::numeric_limits<float>::quiet_NaN();
  const float finf = std::numeric_limits<float>::infinity();
  for (const auto& c : std::vector<array_case>{
           {"user_bias", 2, fnan, "array \"user_bias\" element 2 (user 2) is nan"},
           {"item_bias", 0, -finf, "array \"item_bias\" element 0 (item 0) is -inf"},
           {"user_factors", 5, finf, "array \"user_factors\" element 5 (user 2, factor 1) is inf"},
           {"item_factors", 6, fnan, "array \"item_factors\" element 6 (item 3, factor 0) is nan"},
       }) {
    CAPTURE(c.name);
    io::archive a = crafted_biased(2.0, 3.0, 4.0);
    std::vector<index_t> shape;
    auto v = a.array<float>(c.name, &shape);
    v[c.at] = c.value;
    a.put_array<float>(c.name, v, shape);
    CHECK_THAT(load_error(a), Contains("m.rfm") && Contains(c.what) && Contains("finite"));
  }

  // A non-finite value far into a large array (past the first blocks the scan tests at once).
  io::archive big = crafted_biased(8.0, 1000.0, 3.0);
  std::vector<index_t> shape;
  auto uf = big.array<float>("user_factors", &shape);
  uf[7777] = fnan;
  big.put_array<float>("user_factors", uf, shape);
  CHECK_THAT(load_error(big), Contains("element 7777 (user 972, factor 1) is nan"));

  // Double models: an implicit model with an infinity.
  implicit_mf_model<double> d;
  d.users = 2;
  d.items = 1;
  d.factors = 2;
  d.user_factors = {1, 2, 3, 4};
  d.item_factors = {5, 6};
  save_model(path, d);
  io::archive da = io::load_archive(path);
  da.put_array<double>("item_factors", std::vector<double>{5, -inf}, {1, 2});
  io::save_archive(path, da);
  REQUIRE_THROWS_MATCHES(load_implicit_mf_model<double>(path), io_error,
                         test::what_is(Contains("recfuse::load_implicit_mf_model") &&
                                       Contains("\"item_factors\" element 1 (item 0, factor 1) is "
                                                "-inf")));
}

TEMPLATE_TEST_CASE("save_model: refuses what load would refuse", "[io][persist]", float, double) {
  using T = TestType;
  test::temp_dir dir;
  biased_mf_model<T> good;
  good.users = 2;
  good.items = 1;
  good.factors = 2;
  good.global_mean = 3;
  good.min_rating = 1;
  good.max_rating = 5;
  good.user_bias = {0, 1};
  good.item_bias = {2};
  good.user_factors = {1, 2, 3, 4};
  good.item_factors = {5, 6};
  save_model(dir / "m.rfm", good);
  const std::string before = read_bytes(dir / "m.rfm");
  const T nan = std::numeric_limits<T>::quiet_NaN();
  const T inf = std::numeric_limits<T>::infinity();

  auto b = good;
  b.user_factors[3] = nan;
  REQUIRE_THROWS_MATCHES(
      save_model(dir / "m.rfm", b), value_error,
      test::what_is(Contains("recfuse::save_model") &&
                    Contains("user_factors element 3 (user 1, factor 1) is nan")));
  b = good;
  b.item_bias[0] = -inf;
  REQUIRE_THROWS_MATCHES(save_model(dir / "m.rfm", b), value_error,
                         test::what_is(Contains("item_bias element 0 (item 0) is -inf")));
  b = good;
  b.global_mean = nan;
  REQUIRE_THROWS_MATCHES(save_model(dir / "m.rfm", b), value_error,
                         test::what_is(Contains("global_mean = nan")));
  b = good;
  b.max_rating = inf;
  REQUIRE_THROWS_MATCHES(save_model(dir / "m.rfm", b), value_error,
                         test::what_is(Contains("max_rating = inf")));
  b = good;
  b.min_rating = 6;
  REQUIRE_THROWS_MATCHES(save_model(dir / "m.rfm", b), value_error,
                         test::what_is(Contains("min_rating <= max_rating")));
  b = good;
  b.factors = 0;
  b.user_factors.clear();
  b.item_factors.clear();
  REQUIRE_THROWS_MATCHES(save_model(dir / "m.rfm", b), shape_error,
                         test::what_is(Contains("factors = 0") && Contains("[1, 65536]")));
  implicit_mf_model<T> x;
  x.factors = detail::mf::max_factors + 1;
  REQUIRE_THROWS_MATCHES(save_model(dir / "m.rfm", x), shape_error,
                         test::what_is(Contains("factors = 65537")));
  x.factors = 1;
  x.items = 1;
  x.item_factors = {nan};
  REQUIRE_THROWS_MATCHES(
      save_model(dir / "m.rfm", x), value_error,
      test::what_is(Contains("item_factors element 0 (item 0, factor 0) is nan")));
  CHECK(read_bytes(dir / "m.rfm") == before);
  CHECK(temp_files(dir.path) == 0);
}

TEST_CASE("save_model: inconsistent models are rejected and files survive", "[io][persist]") {
  test::temp_dir dir;
  const auto good = small_biased_f();
  save_model(dir / "m.rfm", good);
  const std::string before = read_bytes(dir / "m.rfm");

  auto b = good;
  b.user_factors.pop_back();
  REQUIRE_THROWS_MATCHES(
      save_model(dir / "m.rfm", b), shape_error,
      test::what_is(Contains("recfuse::save_model") &&
                    Contains("user_factors has 5 elements but users x factors is 6")));
  b = good;
  b.item_bias.push_back(0);
  REQUIRE_THROWS_MATCHES(save_model(dir / "m.rfm", b), shape_error,
                         test::what_is(Contains("item_bias has 5 elements but items is 4")));
  b = good;
  b.factors = -1;
  REQUIRE_THROWS_MATCHES(save_model(dir / "m.rfm", b), shape_error,
                         test::what_is(Contains("factors = -1")));
  implicit_mf_model<double> x;
  x.users = 2;
  x.factors = 2;
  REQUIRE_THROWS_MATCHES(
      save_model(dir / "m.rfm", x), shape_error,
      test::what_is(Contains("user_factors has 0 elements but users x factors is 4")));
  REQUIRE_THROWS_MATCHES(
      save_model(dir.path, good), io_error,
      test::what_is(Contains("recfuse::save_model") && Contains("is a directory")));
  CHECK(read_bytes(dir / "m.rfm") == before);
  CHECK(temp_files(dir.path) == 0);

  // A large model: the checksum and the copies stay fast.
  biased_mf_model<float> big;
  big.users = 20000;
  big.items = 5000;
  big.factors = 64;
  big.user_bias.assign(20000, 0.5f);
  big.item_bias.assign(5000, -0.5f);
  big.user_factors.assign(20000 * 64, 0.25f);
  big.item_factors.assign(5000 * 64, 0.125f);
  save_model(dir / "big.rfm", big);
  const auto lb = load_biased_mf_model(dir / "big.rfm");
  CHECK(same_bits(lb.user_factors, big.user_factors));
  CHECK(same_bits(lb.item_factors, big.item_factors));
}
