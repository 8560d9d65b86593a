// io::save_npy / io::load_npy: bit-exact round trips, the header numpy expects, files written by
// numpy itself (tests/data/npy_*.npy, made by `python tests/data/make_fixtures.py` in
// tests/data with numpy 2.4.6), hand-written headers of versions 2.0 and 3.0, every dtype
// conversion, and every malformed-file error (truncation at every byte included).
#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "recfuse/io/npy.hpp"
#include "test_support.hpp"

using namespace recfuse;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

// A .npy file: magic, version major.0, the header length (2 bytes for 1.0, else 4), `dict`
// padded with spaces and a newline to a multiple of 64, then `data`.
std::string make_npy(int major, const std::string& dict, const std::string& data) {
  const std::size_t prefix = major == 1 ? 10 : 12;
  std::string header = dict;
  header.append((64 - (prefix + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string out("\x93NUMPY", 6);
  out += static_cast<char>(major);
  out += '\0';
  const std::size_t n = header.size();
  out += static_cast<char>(n & 0xff);
  out += static_cast<char>((n >> 8) & 0xff);
  if (major != 1) {
    out += static_cast<char>((n >> 16) & 0xff);
    out += static_cast<char>((n >> 24) & 0xff);
  }
  return out + header + data;
}

}  // namespace

TEMPLATE_TEST_CASE("save_npy/load_npy: bit-exact round trips", "[io][npy]", float, double) {
  using T = TestType;
  test::temp_dir dir;
  const auto nan = std::numeric_limits<T>::quiet_NaN();
  const auto denorm = std::numeric_limits<T>::denorm_min();
  for (const auto& [rows, cols] :
       std::vector<std::pair<index_t, index_t>>{{2, 3}, {1, 1}, {0, 5}, {5, 0}, {7, 17}, {64, 3}}) {
    CAPTURE(rows, cols);
    auto v = test::random_vector<T>(rows * cols, 11 + static_cast<std::uint64_t>(rows));
    if (v.size() >= 3) {
      v[0] = nan;
      v[1] = T(-0.0);
      v[2] = denorm;
    }
    io::save_npy(dir / "m.npy", matrix_view<const T>(v.data(), rows, cols));
    const auto t = io::load_npy<T>(dir / "m.npy");
    CHECK(t.shape == std::vector<index_t>{rows, cols});
    CHECK(test::same_bits(t.data, v));
    CHECK(t.rows() == rows);
    CHECK(t.cols() == cols);
    CHECK(t.matrix().rows() == rows);
    // numpy's layout: version 1.0, header padded to a multiple of 64 ending in '\n'.
    const std::string bytes = test::read_bytes(dir / "m.npy");
    REQUIRE(bytes.size() >= 10);
    CHECK(bytes.substr(0, 8) == std::string("\x93NUMPY\x01\x00", 8));
    const std::size_t hlen =
        static_cast<unsigned char>(bytes[8]) + 256u * static_cast<unsigned char>(bytes[9]);
    CHECK((10 + hlen) % 64 == 0);
    CHECK(bytes[10 + hlen - 1] == '\n');
    CHECK(bytes.size() == 10 + hlen + v.size() * sizeof(T));
    const std::string descr = std::is_same_v<T, float> ? "'<f4'" : "'<f8'";
    // Built by appending: GCC 12 warns (-Wrestrict, a false positive, GCC bug 105329) on the
    // inlined memcpy of "(" + std::string&&.
    std::string shape = "(";
    shape += std::to_string(rows);
    shape += ", ";
    shape += std::to_string(cols);
    shape += ")";
    CHECK_THAT(bytes.substr(10, hlen),
               Contains(descr) && Contains("'fortran_order': False") && Contains(shape));
  }
  SECTION("1-D") {
    const std::vector<T> v = {T(1.5), T(-2), nan, T(0.1)};
    io::save_npy(dir / "v.npy", vector_view<const T>(v.data(), 4));
    const auto t = io::load_npy<T>(dir / "v.npy");
    CHECK(t.shape == std::vector<index_t>{4});
    CHECK(test::same_bits(t.data, v));
    CHECK(t.rows() == 1);  // a 1-D array is one row
    CHECK(t.cols() == 4);
    CHECK_THAT(test::read_bytes(dir / "v.npy"), Contains("'shape': (4,)"));
    io::save_npy(dir / "e.npy", vector_view<const T>(nullptr, 0));
    CHECK(io::load_npy<T>(dir / "e.npy").shape == std::vector<index_t>{0});
  }
  SECTION("a strided matrix is written packed") {
    const std::vector<T> v = {1, 2, 99, 3, 4, 99};
    io::save_npy(dir / "s.npy", matrix_view<const T>(v.data(), 2, 2, 3));
    CHECK(io::load_npy<T>(dir / "s.npy").data == std::vector<T>{1, 2, 3, 4});
  }
  SECTION("a tensor of rank 3") {
    io::tensor<T> t{{2, 1, 3}, {1, 2, 3, 4, 5, 6}};
    io::save_npy(dir / "t.npy", t);
    const auto back = io::load_npy<T>(dir / "t.npy");
    CHECK(back.shape == t.shape);
    CHECK(back.data == t.data);
    CHECK(back.vector().size() == 6);
    CHECK_THROWS_AS(back.matrix(), shape_error);
    CHECK_THROWS_MATCHES(
        back.rows(), shape_error,
        test::what_is(Contains("recfuse::io::tensor::matrix") && Contains("rank 3")));
    io::tensor<T> bad{{2, 2}, {1, 2, 3}};
    CHECK_THROWS_AS(io::save_npy(dir / "bad.npy", bad), shape_error);
    CHECK_THROWS_AS(io::save_npy(dir / "bad.npy", io::tensor<T>{{}, {1}}), shape_error);
    // Extents whose product overflows 64 bits (here to exactly 2^128, which a wrapping
    // product would take for 0 == data.size()) are a shape_error, not a file.
    const index_t big = index_t{1} << 62;
    CHECK_THROWS_MATCHES(
        io::save_npy(dir / "bad.npy", io::tensor<T>{{big, 4, big, 4}, {}}), shape_error,
        test::what_is(Contains("recfuse::io::save_npy") &&
                      Contains("(4611686018427387904, 4, 4611686018427387904, 4)") &&
                      Contains("too large")));
    CHECK_THROWS_AS(io::save_npy(dir / "bad.npy", io::tensor<T>{{big, 2}, {}}), shape_error);
    CHECK_FALSE(fs::exists(dir / "bad.npy"));
    io::save_npy(dir / "z.npy", io::tensor<T>{{big, 0, big}, {}});  // 0 elements: fine
    CHECK(io::load_npy<T>(dir / "z.npy").shape == std::vector<index_t>{big, 0, big});
  }
  SECTION("loads converted to the other type") {
    const std::vector<T> v = {T(0.5), T(-3), T(1e3)};
    io::save_npy(dir / "c.npy", vector_view<const T>(v.data(), 3));
    CHECK(io::load_npy<float>(dir / "c.npy").data == std::vector<float>{0.5f, -3.f, 1000.f});
    CHECK(io::load_npy<double>(dir / "c.npy").data == std::vector<double>{0.5, -3, 1000});
  }
}

TEST_CASE("save_npy: atomic, and errors name the function", "[io][npy]") {
  test::temp_dir dir;
  const std::vector<float> v = {1, 2};
  fs::create_directory(dir / "d.npy");
  CHECK_THROWS_MATCHES(
      io::save_npy(dir / "d.npy", vector_view<const float>(v.data(), 2)), io_error,
      test::what_is(Contains("recfuse::io::save_npy") && Contains("it is a directory")));
  CHECK_THROWS_AS(io::save_npy(dir / "no" / "x.npy", vector_view<const float>(v.data(), 2)),
                  io_error);
  CHECK_THROWS_AS(io::save_npy(dir / "x.npy", matrix_view<const float>(v.data(), 2, 2, 1)),
                  shape_error);
  io::save_npy(dir / "x.npy", vector_view<const float>(v.data(), 2));
  for (const auto& e : fs::directory_iterator(dir.path)) {
    CHECK(e.path().filename().string().find(".tmp.") == std::string::npos);
  }
}

TEST_CASE("load_npy: files written by numpy", "[io][npy]") {
  SECTION("<f4, 2 x 3") {
    const auto t = io::load_npy<float>(test::fixture("npy_f4_2x3.npy"));
    CHECK(t.shape == std::vector<index_t>{2, 3});
    CHECK(t.data == std::vector<float>{0.5f, -1.25f, 3.f, 4.f, -0.f, 1024.125f});
    CHECK(std::signbit(t.data[4]));
    const auto d = io::load_npy<double>(test::fixture("npy_f4_2x3.npy"));
    CHECK(d.matrix()(1, 2) == 1024.125);
  }
  SECTION("<f8, Fortran order, is transposed into row-major") {
    // np.asfortranarray(np.arange(6).reshape(2, 3) + 0.5)
    const auto t = io::load_npy<double>(test::fixture("npy_f8_fortran_2x3.npy"));
    CHECK(t.shape == std::vector<index_t>{2, 3});
    CHECK(t.data == std::vector<double>{0.5, 1.5, 2.5, 3.5, 4.5, 5.5});
  }
  SECTION("<i8, format version 2.0") {
    const auto t = io::load_npy<double>(test::fixture("npy_i8_v2.npy"));
    CHECK(t.shape == std::vector<index_t>{3});
    CHECK(t.data == std::vector<double>{1, -2, 3000000000.0});
  }
  SECTION("<f2") {
    const auto t = io::load_npy<float>(test::fixture("npy_f2.npy"));
    CHECK(t.data == std::vector<float>{1.f, -0.5f, 65504.f, std::ldexp(1.f, -24)});
  }
}

TEST_CASE("load_npy: hand-written headers, versions and dtypes", "[io][npy]") {
  test::temp_dir dir;
  const auto p = dir / "h.npy";
  SECTION("version 2.0 and 3.0") {
    test::write_bytes(p, make_npy(2, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
                                  test::le_bytes(std::vector<double>{0.25, -8})));
    CHECK(io::load_npy<double>(p).data == std::vector<double>{0.25, -8});
    test::write_bytes(
        p, make_npy(3, "{\"descr\": \"<f4\", \"shape\": (1, 2), \"fortran_order\": False}",
                    test::le_bytes(std::vector<float>{3, 4})));
    const auto t = io::load_npy<float>(p);
    CHECK(t.shape == std::vector<index_t>{1, 2});
    CHECK(t.data == std::vector<float>{3, 4});
  }
  SECTION("half precision: subnormal, infinities, NaN, signed zero") {
    // 0x0001 = 2^-24, 0x03ff = largest subnormal, 0x7c00 = inf, 0xfc00 = -inf, 0x7e00 = NaN,
    // 0x8000 = -0, 0x3c00 = 1, 0xc000 = -2, 0x7bff = 65504
    test::write_bytes(
        p, make_npy(1, "{'descr': '<f2', 'fortran_order': False, 'shape': (9,), }",
                    test::le_bytes(std::vector<std::uint16_t>{
                        0x0001, 0x03ff, 0x7c00, 0xfc00, 0x7e00, 0x8000, 0x3c00, 0xc000, 0x7bff})));
    const auto t = io::load_npy<float>(p);
    REQUIRE(t.size() == 9);
    CHECK(t.data[0] == std::ldexp(1.f, -24));
    CHECK(t.data[1] == std::ldexp(1023.f, -24));
    CHECK(t.data[2] == std::numeric_limits<float>::infinity());
    CHECK(t.data[3] == -std::numeric_limits<float>::infinity());
    CHECK(std::isnan(t.data[4]));  // NaN loads as it is
    CHECK((t.data[5] == 0 && std::signbit(t.data[5])));
    CHECK(t.data[6] == 1.f);
    CHECK(t.data[7] == -2.f);
    CHECK(t.data[8] == 65504.f);
  }
  SECTION("integers and booleans") {
    test::write_bytes(p, make_npy(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }",
                                  test::le_bytes(std::vector<std::int32_t>{-7, 0, 2147483647})));
    CHECK(io::load_npy<double>(p).data == std::vector<double>{-7, 0, 2147483647.0});
    test::write_bytes(p, make_npy(1, "{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }",
                                  std::string("\x00\xff", 2)));
    CHECK(io::load_npy<float>(p).data == std::vector<float>{0, 255});
    test::write_bytes(p, make_npy(1, "{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }",
                                  std::string("\x01\x00", 2)));
    CHECK(io::load_npy<float>(p).data == std::vector<float>{1, 0});
  }
  SECTION("an integer T takes only values that fit") {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const float inf = std::numeric_limits<float>::infinity();
    test::write_bytes(p,
                      make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }",
                               test::le_bytes(std::vector<float>{3.75f, -3.75f, -0.5f, 127.9f})));
    CHECK(io::load_npy<std::int32_t>(p).data == std::vector<std::int32_t>{3, -3, 0, 127});
    CHECK(io::load_npy<std::int8_t>(p).data == std::vector<std::int8_t>{3, -3, 0, 127});
    CHECK_THROWS_MATCHES(
        io::load_npy<std::uint8_t>(p), io_error,
        test::what_is(Contains("element 1 of '<f4' data is -3.75") && Contains("range [0, 255]")));
    for (const float bad : {nan, inf, -inf, 3e9f, -3e9f}) {
      CAPTURE(bad);
      test::write_bytes(p, make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }",
                                    test::le_bytes(std::vector<float>{1, 2, bad})));
      CHECK_THROWS_MATCHES(
          io::load_npy<std::int32_t>(p), io_error,
          test::what_is(Contains("recfuse::io::load_npy: \"" + p.string() + "\": element 2") &&
                        Contains("range [-2147483648, 2147483647]")));
      CHECK(io::load_npy<float>(p).size() == 3);  // floating-point T takes anything
    }
    test::write_bytes(p, make_npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
                                  test::le_bytes(std::vector<double>{2147483647.5, 2147483648.0})));
    CHECK_THROWS_WITH(io::load_npy<std::int32_t>(p),
                      Contains("element 1 of '<f8' data is 2.14748e+09"));
    CHECK(io::load_npy<std::int64_t>(p).data == std::vector<std::int64_t>{2147483647, 2147483648});
    test::write_bytes(
        p, make_npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
                    test::le_bytes(std::vector<double>{-9223372036854775808.0, 9.3e18})));
    CHECK_THROWS_WITH(io::load_npy<std::int64_t>(p),
                      Contains("element 1 of '<f8' data is 9.3e+18"));
    // Integers into a narrower or unsigned integer type: range-checked, no wrapping.
    test::write_bytes(p, make_npy(1, "{'descr': '<i2', 'fortran_order': False, 'shape': (3,), }",
                                  test::le_bytes(std::vector<std::int16_t>{-128, 127, 300})));
    CHECK_THROWS_WITH(io::load_npy<std::int8_t>(p),
                      Contains("element 2 of '<i2' data is 300") && Contains("[-128, 127]"));
    CHECK(io::load_npy<std::int16_t>(p).data == std::vector<std::int16_t>{-128, 127, 300});
    CHECK_THROWS_WITH(io::load_npy<std::uint32_t>(p), Contains("element 0 of '<i2' data is -128"));
    test::write_bytes(p, make_npy(1, "{'descr': '<u8', 'fortran_order': False, 'shape': (2,), }",
                                  test::le_bytes(std::vector<std::uint64_t>{1, 1ULL << 63})));
    CHECK_THROWS_WITH(io::load_npy<std::int64_t>(p),
                      Contains("element 1 of '<u8' data is 9223372036854775808"));
    CHECK(io::load_npy<std::uint64_t>(p).data == std::vector<std::uint64_t>{1, 1ULL << 63});
    // Fortran order: the element is counted in the file's order.
    test::write_bytes(p, make_npy(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }",
                                  test::le_bytes(std::vector<float>{1, 2, nan, 4})));
    CHECK_THROWS_WITH(io::load_npy<int>(p),
                      Contains("element 2 (in the file's column-major order)"));
  }
  SECTION("rank 3 loads; Fortran order of rank 1 is plain") {
    test::write_bytes(p,
                      make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 2), }",
                               test::le_bytes(std::vector<float>{1, 2, 3, 4})));
    const auto t = io::load_npy<float>(p);
    CHECK(t.shape == std::vector<index_t>{1, 2, 2});
    CHECK_THROWS_AS(t.matrix(), shape_error);
    test::write_bytes(p, make_npy(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }",
                                  test::le_bytes(std::vector<float>{1, 2})));
    CHECK(io::load_npy<float>(p).data == std::vector<float>{1, 2});
  }
}

TEST_CASE("load_npy: malformed files are io_errors naming the function and file", "[io][npy]") {
  test::temp_dir dir;
  const auto p = dir / "bad.npy";
  const auto fails_with = [&](const std::string& bytes, const std::string& what) {
    test::write_bytes(p, bytes);
    CAPTURE(what);
    CHECK_THROWS_MATCHES(
        io::load_npy<float>(p), io_error,
        test::what_is(Contains("recfuse::io::load_npy: \"" + p.string() + "\": ") &&
                      Contains(what)));
  };
  const std::string f4 = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }";
  const std::string data = test::le_bytes(std::vector<float>{1, 2, 3, 4});
  const std::string good = make_npy(1, f4, data);

  fails_with("PK\x03\x04 this is a zip", "bad magic");
  fails_with(std::string("\x93NUMPY\x01", 7), "truncated");
  fails_with(std::string("\x93NUMPY\x04\x00\x10\x00", 10), "format version 4.0");
  fails_with(make_npy(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2), }", data),
             "big-endian");
  fails_with(make_npy(1, "{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", data),
             "unsupported dtype '<c8'");
  fails_with(
      make_npy(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (4,), }", data),
      "structured");
  fails_with(make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", data),
             "0-d array");
  fails_with(make_npy(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (1, 2, 2), }", data),
             "Fortran-order arrays of rank 3");
  fails_with(make_npy(1, "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2, 2), }", data),
             "cannot parse the header");
  fails_with(make_npy(1, "{'descr': '<f4', 'shape': (2, 2), }", data), "lacks one of");
  fails_with(make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -2), }", data),
             "not a non-negative integer");
  fails_with(make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), 'x': 1}", data),
             "unexpected key 'x'");
  fails_with(make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2)} junk", data),
             "unexpected text");
  fails_with(make_npy(1,
                      "{'descr': '<f4', 'fortran_order': False, 'shape': "
                      "(99999999999999999999,), }",
                      data),
             "overflows");
  fails_with(make_npy(1,
                      "{'descr': '<f4', 'fortran_order': False, 'shape': "
                      "(4294967296, 4294967296, 4294967296), }",
                      data),
             "is too large");
  fails_with(make_npy(1, f4, data + "xyz"), "3 bytes after the data");
  fails_with(make_npy(1, f4, data.substr(0, 12)), "needs 16 bytes but the file has 12");
  {
    std::string no_newline = good;
    no_newline[good.size() - data.size() - 1] = ' ';
    fails_with(no_newline, "does not end in a newline");
  }
  {
    std::string long_header = good;
    long_header[8] = '\xff';  // claims 0x00ff + ... header bytes, more than the file has
    long_header[9] = '\x7f';
    fails_with(long_header, "truncated header");
  }
  SECTION("truncated at every byte") {
    for (std::size_t cut = 0; cut < good.size(); ++cut) {
      CAPTURE(cut);
      test::write_bytes(p, good.substr(0, cut));
      CHECK_THROWS_AS(io::load_npy<float>(p), io_error);
    }
    test::write_bytes(p, good);
    CHECK(io::load_npy<float>(p).data == std::vector<float>{1, 2, 3, 4});
  }
  SECTION("missing file, directory") {
    CHECK_THROWS_MATCHES(
        io::load_npy<float>(dir / "none.npy"), io_error,
        test::what_is(Contains("recfuse::io::load_npy") && Contains("cannot open")));
    CHECK_THROWS_AS(io::load_npy<float>(dir.path), io_error);
  }
}
