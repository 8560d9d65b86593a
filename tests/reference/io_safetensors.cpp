// io::save_safetensors / io::load_safetensors: bit-exact round trips with metadata, the header
// layout of the reference implementation, files written by the safetensors Python package
// (tests/data/st_*.safetensors and torch_mlp.safetensors, made by
// `python tests/data/make_fixtures.py` in tests/data with safetensors 0.8.0, numpy 2.4.6 and
// torch 2.15.0), hand-written headers (F16, BF16, integer dtypes, JSON escapes) and every
// malformed-file error, truncation at every byte included.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "recfuse/io/safetensors.hpp"
#include "test_support.hpp"

using namespace recfuse;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

std::string make_st(const std::string& json, const std::string& buffer) {
  std::string out(8, '\0');
  for (int b = 0; b < 8; ++b) out[b] = static_cast<char>((json.size() >> (8 * b)) & 0xff);
  return out + json + buffer;
}

}  // namespace

TEMPLATE_TEST_CASE("save_safetensors/load_safetensors: round trip with metadata", "[io][st]", float,
                   double) {
  using T = TestType;
  test::temp_dir dir;
  auto a = test::random_vector<T>(12, 3);
  a[0] = std::numeric_limits<T>::quiet_NaN();
  a[1] = T(-0.0);
  const auto b = test::random_vector<T>(5, 4);
  const T s = T(42.5);
  const std::vector<io::named_tensor<T>> tensors = {{"zeta.weight", {3, 4}, a.data()},
                                                    {"alpha", {5}, b.data()},
                                                    {"empty", {0, 7}, nullptr},
                                                    {"scalar", {}, &s},
                                                    {"mid \"quoted\"", {1, 1, 5}, b.data()}};
  const std::map<std::string, std::string> meta = {
      {"format", "pt"}, {"note", "line 1\nline \"2\" \\ caf\xc3\xa9"}, {"empty", ""}};
  io::save_safetensors(dir / "m.safetensors", tensors, meta);
  const auto f = io::load_safetensors<T>(dir / "m.safetensors");
  CHECK(f.metadata == meta);
  REQUIRE(f.tensors.size() == 5);
  CHECK(f.tensors.at("zeta.weight").shape == std::vector<index_t>{3, 4});
  CHECK(test::same_bits(f.tensors.at("zeta.weight").data, a));
  CHECK(f.tensors.at("alpha").data == b);
  CHECK(f.tensors.at("empty").shape == std::vector<index_t>{0, 7});
  CHECK(f.tensors.at("empty").data.empty());
  CHECK(f.tensors.at("scalar").shape.empty());
  CHECK(f.tensors.at("scalar").data == std::vector<T>{s});
  CHECK(f.tensors.at("mid \"quoted\"").shape == std::vector<index_t>{1, 1, 5});

  // Layout: header length a multiple of 8, names sorted, data back to back in that order.
  const std::string bytes = test::read_bytes(dir / "m.safetensors");
  std::uint64_t n = 0;
  for (int k = 7; k >= 0; --k) n = n << 8 | static_cast<unsigned char>(bytes[k]);
  CHECK(n % 8 == 0);
  const std::string header = bytes.substr(8, n);
  CHECK(header.front() == '{');
  const std::string dt = std::is_same_v<T, float> ? "\"F32\"" : "\"F64\"";
  CHECK_THAT(header,
             Contains("\"alpha\":{\"dtype\":" + dt + ",\"shape\":[5],\"data_offsets\":[0,"));
  CHECK(header.find("\"alpha\":{") < header.find("\"empty\":{\"dtype"));
  CHECK(header.find("\"mid \\\"quoted\\\"\"") < header.find("\"zeta.weight\""));
  CHECK(bytes.size() == 8 + n + (5 + 0 + 5 + 1 + 12) * sizeof(T));
  // The data of "alpha" comes first.
  CHECK(std::memcmp(bytes.data() + 8 + n, b.data(), 5 * sizeof(T)) == 0);

  SECTION("without metadata, and loaded as the other type") {
    io::save_safetensors<T>(dir / "n.safetensors", {{"x", {2}, b.data()}});
    const auto g = io::load_safetensors<double>(dir / "n.safetensors");
    CHECK(g.metadata.empty());
    CHECK(g.tensors.at("x").data == std::vector<double>{double(b[0]), double(b[1])});
    io::save_safetensors<T>(dir / "none.safetensors", {});
    CHECK(io::load_safetensors<T>(dir / "none.safetensors").tensors.empty());
  }
}

TEST_CASE("save_safetensors: refuses what it cannot write", "[io][st]") {
  test::temp_dir dir;
  const std::vector<float> v = {1, 2};
  const auto p = dir / "x.safetensors";
  using nt = io::named_tensor<float>;
  CHECK_THROWS_MATCHES(
      io::save_safetensors<float>(p, {nt{"a", {2}, v.data()}, nt{"a", {2}, v.data()}}), value_error,
      test::what_is(Contains("recfuse::io::save_safetensors") && Contains("\"a\" appears twice")));
  CHECK_THROWS_AS(io::save_safetensors<float>(p, {nt{"__metadata__", {2}, v.data()}}), value_error);
  CHECK_THROWS_AS(io::save_safetensors<float>(p, {nt{"", {2}, v.data()}}), value_error);
  CHECK_THROWS_AS(io::save_safetensors<float>(p, {nt{"a", {-1}, v.data()}}), shape_error);
  CHECK_THROWS_AS(io::save_safetensors<float>(p, {nt{"a", {2}, nullptr}}), value_error);
  CHECK_FALSE(fs::exists(p));
}

TEST_CASE("load_safetensors: an integer T takes only values that fit", "[io][st]") {
  test::temp_dir dir;
  const auto p = dir / "i.safetensors";
  const double nan = std::numeric_limits<double>::quiet_NaN();
  // "a": F64 {2.9, -2.9, x}; "b": I32 {-1, 7}; BF16 0x7fc0 is NaN.
  const auto write = [&](double x) {
    test::write_bytes(p,
                      make_st("{\"a\":{\"dtype\":\"F64\",\"shape\":[3],\"data_offsets\":[0,24]},"
                              "\"b\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[24,32]},"
                              "\"c\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[32,34]}}",
                              test::le_bytes(std::vector<double>{2.9, -2.9, x}) +
                                  test::le_bytes(std::vector<std::int32_t>{-1, 7}) +
                                  test::le_bytes(std::vector<std::uint16_t>{0x3f80})));
  };
  write(100);
  const auto f = io::load_safetensors<std::int16_t>(p);
  CHECK(f.tensors.at("a").data == std::vector<std::int16_t>{2, -2, 100});
  CHECK(f.tensors.at("b").data == std::vector<std::int16_t>{-1, 7});
  CHECK(f.tensors.at("c").data == std::vector<std::int16_t>{1});
  CHECK_THROWS_MATCHES(
      io::load_safetensors<std::uint16_t>(p), io_error,
      test::what_is(Contains("recfuse::io::load_safetensors: \"" + p.string() + "\": tensor") &&
                    Contains("element 1 is -2.9") && Contains("range [0, 65535]")));
  for (const double bad : {nan, std::numeric_limits<double>::infinity(), 40000.0, -1e300}) {
    CAPTURE(bad);
    write(bad);
    CHECK_THROWS_MATCHES(io::load_safetensors<std::int16_t>(p), io_error,
                         test::what_is(Contains("tensor \"a\": element 2 is ") &&
                                       Contains("range [-32768, 32767]")));
    CHECK(io::load_safetensors<double>(p).tensors.at("a").data.size() == 3);
  }
  write(1);
  CHECK_THROWS_WITH(io::load_safetensors<std::uint32_t>(p),
                    Contains("tensor \"a\": element 1 is -2.9"));
  test::write_bytes(p, make_st("{\"b\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                               test::le_bytes(std::vector<std::int32_t>{-1, 7})));
  CHECK_THROWS_WITH(io::load_safetensors<std::uint32_t>(p),
                    Contains("tensor \"b\": element 0 is -1") && Contains("range [0, 4294967295]"));
}

TEST_CASE("load_safetensors: files written by the safetensors package", "[io][st]") {
  SECTION("numpy: F32, F16, F64, an empty tensor and metadata") {
    const auto f = io::load_safetensors<float>(test::fixture("st_mixed.safetensors"));
    CHECK(f.metadata ==
          std::map<std::string, std::string>{{"author", "recfuse"}, {"note", "fixture"}});
    REQUIRE(f.tensors.size() == 4);
    CHECK(f.tensors.at("w").shape == std::vector<index_t>{2, 2});
    CHECK(f.tensors.at("w").data == std::vector<float>{1, 2, 3, -4.5f});
    CHECK(f.tensors.at("h").data == std::vector<float>{0.5f, -2.f, std::ldexp(1.f, -14)});
    CHECK(f.tensors.at("d").data == std::vector<float>{0.1f});
    CHECK(f.tensors.at("e").shape == std::vector<index_t>{0, 3});
    const auto g = io::load_safetensors<double>(test::fixture("st_mixed.safetensors"));
    CHECK(g.tensors.at("d").data == std::vector<double>{0.1});
  }
  SECTION("torch: BF16") {
    const auto f = io::load_safetensors<float>(test::fixture("st_bf16.safetensors"));
    CHECK(f.tensors.at("bf").data == std::vector<float>{1.f, -2.5f, 0.0078125f});
  }
  SECTION("torch: a Sequential state_dict") {
    const auto f = io::load_safetensors<float>(test::fixture("torch_mlp.safetensors"));
    REQUIRE(f.tensors.size() == 4);
    CHECK(f.tensors.at("net.0.weight").shape == std::vector<index_t>{4, 3});
    CHECK(f.tensors.at("net.0.bias").shape == std::vector<index_t>{4});
    CHECK(f.tensors.at("net.2.weight").shape == std::vector<index_t>{2, 4});
    CHECK(f.tensors.at("net.2.bias").shape == std::vector<index_t>{2});
  }
}

TEST_CASE("load_safetensors: hand-written headers", "[io][st]") {
  test::temp_dir dir;
  const auto p = dir / "h.safetensors";
  SECTION("F16, BF16, integer dtypes, escapes, unknown fields, null metadata") {
    const std::string buf =
        test::le_bytes(std::vector<std::uint16_t>{0x3c00, 0xfc00}) +  // F16 1, -inf
        test::le_bytes(std::vector<std::uint16_t>{0x4049, 0xbf80}) +  // BF16
        test::le_bytes(std::vector<std::int64_t>{-3, 1LL << 40}) +    // I64
        std::string("\x01\x00\x07", 3);                               // BOOL, U8
    test::write_bytes(p,
                      make_st("{\"__metadata__\":null, \"h\\u00e9\\n\\ud83d\\ude00\": {\"dtype\":"
                              "\"F16\",\"shape\":[2],\"data_offsets\":[0,4], \"extra\": [1, {}]},"
                              "\"b\":{\"data_offsets\":[4,8],\"shape\":[1,2],\"dtype\":\"BF16\"},"
                              "\"i\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[8,24]},"
                              "\"t\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[24,26]},"
                              "\"u\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[26,27]}}  ",
                              buf));
    const auto f = io::load_safetensors<double>(p);
    CHECK(f.metadata.empty());
    const std::string name = "h\xc3\xa9\n\xf0\x9f\x98\x80";
    REQUIRE(f.tensors.count(name) == 1);
    CHECK(f.tensors.at(name).data[0] == 1.0);
    CHECK(f.tensors.at(name).data[1] == -std::numeric_limits<double>::infinity());
    CHECK(f.tensors.at("b").data == std::vector<double>{3.140625, -1.0});
    CHECK(f.tensors.at("i").data == std::vector<double>{-3, 1099511627776.0});
    CHECK(f.tensors.at("t").data == std::vector<double>{1, 0});
    CHECK(f.tensors.at("u").data == std::vector<double>{7});
  }
}

TEST_CASE("load_safetensors: malformed files are io_errors", "[io][st]") {
  test::temp_dir dir;
  const auto p = dir / "bad.safetensors";
  const auto fails_with = [&](const std::string& bytes, const std::string& what) {
    test::write_bytes(p, bytes);
    CAPTURE(what);
    CHECK_THROWS_MATCHES(
        io::load_safetensors<float>(p), io_error,
        test::what_is(Contains("recfuse::io::load_safetensors: \"" + p.string() + "\": ") &&
                      Contains(what)));
  };
  const std::string data = test::le_bytes(std::vector<float>{1, 2, 3, 4});
  const auto one = [](const std::string& dtype, const std::string& shape, const std::string& offs) {
    return "{\"a\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":" + offs +
           "}}";
  };
  const std::string good = make_st(one("F32", "[2,2]", "[0,16]"), data);

  fails_with("abc", "truncated");
  fails_with(make_st("", "") + std::string("\xff\xff\xff\xff", 4), "not a safetensors file");
  {
    std::string huge = good;
    huge[4] = '\x01';  // header length 2^32 + ...
    fails_with(huge, "exceeds the limit");
    std::string longer = good;
    longer[0] = static_cast<char>(longer[0] + 100);
    fails_with(longer, "truncated: the header length is");
  }
  fails_with(make_st("[1,2]", data), "not a safetensors file");
  fails_with(make_st(one("F32", "[2,2]", "[0,16]") + "x", data), "unexpected text after");
  fails_with(make_st("{\"a\":{\"dtype\":\"F32\",}}", data), "malformed JSON header");
  fails_with(make_st("{\"a\":{\"dtype\":\"F32\"", data), "malformed JSON header");
  fails_with(make_st("{\"a\\q\":1}", data), "unknown escape");
  fails_with(make_st("{\"a\":\"\\ud800\"}", data), "surrogate");
  fails_with(make_st(one("F32", "[2,-2]", "[0,16]"), data), "negative numbers");
  fails_with(make_st(one("F32", "[2,2.0]", "[0,16]"), data), "only integers");
  fails_with(make_st(one("F32", "[2,2]", "[0,99999999999999999999]"), data), "overflows");
  fails_with(make_st(one("F32", "[2,\"2\"]", "[0,16]"), data), "non-negative integer");
  fails_with(make_st(one("C64", "[2]", "[0,16]"), data), "unsupported dtype \"C64\"");
  fails_with(make_st(one("F8_E4M3", "[16]", "[0,16]"), data), "unsupported dtype");
  fails_with(make_st(one("F32", "[2,2]", "[0]"), data), "data_offsets is not an array of two");
  fails_with(make_st(one("F32", "[2,2]", "[16,0]"), data), "end before they begin");
  fails_with(make_st(one("F32", "[2,2]", "[0,20]"), data), "ends at byte 20");
  fails_with(make_st(one("F32", "[2,3]", "[0,16]"), data), "does not match its 16 bytes");
  fails_with(make_st(one("F16", "[2,2]", "[0,16]"), data), "does not match");
  fails_with(make_st(one("F32", "[2,2]", "[0,16]"), data + "zz"), "trailing data");
  fails_with(make_st(one("F32", "[2]", "[8,16]"), data), "(gap)");
  fails_with(make_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                     "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
                     data),
             "(overlap)");
  fails_with(make_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                     "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
                     data),
             "\"a\" appears twice");
  fails_with(make_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[4]}}", data), "lacks one of");
  fails_with(make_st("{\"a\":[1]}", data), "not an object");
  fails_with(make_st("{\"__metadata__\":{\"k\":1}}", ""), "metadata \"k\" is an integer");
  {
    std::string deep(100, '[');
    fails_with(make_st("{\"a\":" + deep, data), "nested deeper");
  }
  SECTION("truncated at every byte") {
    for (std::size_t cut = 0; cut < good.size(); ++cut) {
      CAPTURE(cut);
      test::write_bytes(p, good.substr(0, cut));
      CHECK_THROWS_AS(io::load_safetensors<float>(p), io_error);
    }
    test::write_bytes(p, good);
    CHECK(io::load_safetensors<float>(p).tensors.at("a").data == std::vector<float>{1, 2, 3, 4});
  }
  CHECK_THROWS_MATCHES(
      io::load_safetensors<float>(dir / "none.safetensors"), io_error,
      test::what_is(Contains("recfuse::io::load_safetensors") && Contains("cannot open")));
}
