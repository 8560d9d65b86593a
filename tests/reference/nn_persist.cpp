// nn::save_mlp / nn::load_mlp: round trips through safetensors and a directory of .npy files
// giving bit-identical parameters and forward outputs, a torch.nn.Sequential state_dict written
// by PyTorch (tests/data/torch_mlp.safetensors, made by `python tests/data/make_fixtures.py` in
// tests/data with torch 2.15.0; the expected outputs below are torch's), and every error: shape
// mismatches between layers, missing tensors, non-finite weights, truncated files.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "recfuse/io/safetensors.hpp"
#include "recfuse/nn/mlp.hpp"
#include "recfuse/nn/persist.hpp"
#include "test_support.hpp"

using namespace recfuse;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;
using nn::activation;

namespace {

template <class T>
std::vector<T> run(const nn::mlp<T>& net, const std::vector<T>& x) {
  const auto rows = static_cast<index_t>(x.size()) / net.inputs();
  return nn::predict(reference_backend::policy{}, net,
                     matrix_view<const T>(x.data(), rows, net.inputs()));
}

template <class T>
bool same_bits(vector_view<const T> a, vector_view<const T> b) {
  return a.size() == b.size() &&
         (a.size() == 0 ||
          std::memcmp(a.data(), b.data(), static_cast<std::size_t>(a.size()) * sizeof(T)) == 0);
}

}  // namespace

TEMPLATE_TEST_CASE("save_mlp/load_mlp: round trips", "[nn][persist]", float, double) {
  using T = TestType;
  test::temp_dir dir;
  const nn::mlp<T> net({5, 7, 3, 2}, {activation::relu, activation::sigmoid, activation::identity},
                       3);
  const auto x = test::random_vector<T>(9 * 5, 21, -2, 2);
  const auto expected = run(net, x);
  // A trailing '/' always means a directory, even after ".safetensors".
  for (const std::string name : {"m.safetensors", "mdir", "mdir2/", "mdir3.safetensors/"}) {
    CAPTURE(name);
    const fs::path p = dir.path / name;
    nn::save_mlp(p, net);
    nn::save_mlp(p, net);  // saving again replaces the file or directory
    const auto back = nn::load_mlp<T>(p);
    CHECK(back.widths() == net.widths());
    CHECK(back.activations() == net.activations());
    CHECK(same_bits(back.parameters(), net.parameters()));
    CHECK(run(back, x) == expected);
  }
  CHECK(fs::is_regular_file(dir / "m.safetensors"));
  CHECK(fs::is_regular_file(dir / "mdir" / "2.bias.npy"));
  CHECK(fs::is_regular_file(dir / "mdir2" / "0.weight.npy"));
  CHECK(fs::is_directory(dir / "mdir3.safetensors"));
  CHECK(fs::is_regular_file(dir / "mdir3.safetensors" / "0.weight.npy"));
  CHECK(test::read_bytes(dir / "mdir3.safetensors" / "activations.txt") ==
        "relu,sigmoid,identity\n");
  CHECK(test::read_bytes(dir / "mdir" / "activations.txt") == "relu,sigmoid,identity\n");
  for (const auto& e : fs::directory_iterator(dir.path)) {  // no temp files or dirs left
    CHECK(e.path().filename().string().find(".tmp.") == std::string::npos);
  }
  SECTION("the safetensors file has torch.nn.Sequential's keys") {
    const auto f = io::load_safetensors<T>(dir / "m.safetensors");
    std::vector<std::string> keys;
    for (const auto& [k, v] : f.tensors) keys.push_back(k);
    CHECK(keys == std::vector<std::string>{"0.bias", "0.weight", "2.bias", "2.weight", "4.bias",
                                           "4.weight"});
    CHECK(f.tensors.at("2.weight").shape == std::vector<index_t>{3, 7});
    CHECK(f.metadata.at("recfuse.activations") == "relu,sigmoid,identity");
  }
  SECTION("activations from the argument; a float file loads as double") {
    const auto back = nn::load_mlp<T>(
        dir / "mdir", {activation::identity, activation::relu, activation::sigmoid});
    CHECK(back.activations() ==
          std::vector<activation>{activation::identity, activation::relu, activation::sigmoid});
    CHECK_THROWS_MATCHES(
        nn::load_mlp<T>(dir / "m.safetensors", {activation::relu}), shape_error,
        test::what_is(Contains("recfuse::nn::load_mlp") && Contains("activations has 1 entries") &&
                      Contains("3 layers")));
    const auto d = nn::load_mlp<double>(dir / "m.safetensors");
    for (index_t i = 0; i < d.parameter_count(); ++i) {
      CHECK(d.parameters()[i] == static_cast<double>(net.parameters()[i]));
    }
  }
}

TEST_CASE("load_mlp: a torch.nn.Sequential state_dict", "[nn][persist]") {
  // torch.manual_seed(0); Sequential(Linear(3, 4), ReLU(), Linear(4, 2)), saved with the keys
  // prefixed "net."; outputs of x below computed by torch.
  const auto net = nn::load_mlp<float>(test::fixture("torch_mlp.safetensors"));
  CHECK(net.widths() == std::vector<index_t>{3, 4, 2});
  CHECK(net.activations() == std::vector<activation>{activation::relu, activation::identity});
  const std::vector<float> x = {1.0f, -2.0f, 0.5f, 0.25f, 0.0f, -1.0f};
  const std::vector<double> torch_out = {-0.18213798105716705, 0.22740711271762848,
                                         -0.11827395856380463, 0.11766135692596436};
  const auto out = run(net, x);
  REQUIRE(out.size() == 4);
  for (std::size_t i = 0; i < 4; ++i) CHECK(std::abs(out[i] - torch_out[i]) < 1e-6);
}

TEST_CASE("load_mlp: malformed models", "[nn][persist]") {
  test::temp_dir dir;
  const auto p = dir / "bad.safetensors";
  const std::vector<float> v(64, 0.5f);
  using nt = io::named_tensor<float>;
  const auto fails_with = [&](const std::vector<nt>& ts, const std::string& what,
                              const std::map<std::string, std::string>& meta = {}) {
    io::save_safetensors(p, ts, meta);
    CAPTURE(what);
    CHECK_THROWS_MATCHES(
        nn::load_mlp<float>(p), io_error,
        test::what_is(Contains("recfuse::nn::load_mlp: \"" + p.string() + "\"") && Contains(what)));
  };
  fails_with({nt{"0.weight", {4, 3}, v.data()}, nt{"0.bias", {4}, v.data()},
              nt{"2.weight", {2, 5}, v.data()}, nt{"2.bias", {2}, v.data()}},
             "tensor \"2.weight\" takes 5 inputs but the previous layer (\"0.weight\") has 4 "
             "outputs");
  fails_with({nt{"0.weight", {4, 3}, v.data()}, nt{"0.bias", {3}, v.data()}},
             "tensor \"0.bias\" has 3 elements but \"0.weight\" has 4 rows");
  fails_with({nt{"0.weight", {4, 3}, v.data()}}, "\"0.weight\" has no matching \"0.bias\"");
  fails_with({nt{"x.1.bias", {4}, v.data()}}, "\"x.1.bias\" has no matching \"x.1.weight\"");
  fails_with({nt{"0.weight", {12}, v.data()}, nt{"0.bias", {4}, v.data()}}, "must be 2-D");
  fails_with({nt{"0.weight", {4, 3}, v.data()}, nt{"0.bias", {2, 2}, v.data()}}, "must be 1-D");
  fails_with({nt{"0.weight", {0, 3}, v.data()}, nt{"0.bias", {0}, v.data()}}, "shape 0 x 3");
  fails_with({nt{"fc.weight", {4, 3}, v.data()}, nt{"fc.bias", {4}, v.data()}}, "no layers found");
  fails_with({nt{"a.0.weight", {4, 3}, v.data()}, nt{"a.0.bias", {4}, v.data()},
              nt{"b.1.weight", {2, 4}, v.data()}, nt{"b.1.bias", {2}, v.data()}},
             "different prefixes");
  fails_with({nt{"0.weight", {4, 3}, v.data()}, nt{"0.bias", {4}, v.data()}},
             "names unknown activation \"tanh\"", {{"recfuse.activations", "tanh"}});
  fails_with({nt{"0.weight", {4, 3}, v.data()}, nt{"0.bias", {4}, v.data()}},
             "lists 2 activations but the file has 1 layers",
             {{"recfuse.activations", "relu,identity"}});

  SECTION("non-finite weights are value_errors naming the tensor and element") {
    std::vector<float> w(12, 0.25f), b(4, 0.f);
    w[5] = std::numeric_limits<float>::quiet_NaN();
    io::save_safetensors<float>(p, {nt{"0.weight", {4, 3}, w.data()}, nt{"0.bias", {4}, b.data()}});
    CHECK_THROWS_MATCHES(nn::load_mlp<float>(p), value_error,
                         test::what_is(Contains("tensor \"0.weight\" element 5 (row 1, column 2) "
                                                "is nan")));
    w[5] = 0;
    b[3] = std::numeric_limits<float>::infinity();
    io::save_safetensors<float>(p, {nt{"0.weight", {4, 3}, w.data()}, nt{"0.bias", {4}, b.data()}});
    CHECK_THROWS_MATCHES(nn::load_mlp<float>(p), value_error,
                         test::what_is(Contains("tensor \"0.bias\" element 3 is inf")));
    // save_mlp refuses what load_mlp would refuse, and writes nothing.
    nn::mlp<float> net({3, 2}, {activation::identity}, 1);
    net.parameters()[4] = std::numeric_limits<float>::quiet_NaN();
    CHECK_THROWS_MATCHES(nn::save_mlp(dir / "nan.safetensors", net), value_error,
                         test::what_is(Contains("recfuse::nn::save_mlp") &&
                                       Contains("\"0.weight\") element 4 (row 1, column 1)")));
    CHECK_THROWS_AS(nn::save_mlp(dir / "nandir", net), value_error);
    CHECK_FALSE(fs::exists(dir / "nan.safetensors"));
    CHECK_FALSE(fs::exists(dir / "nandir"));
    CHECK_THROWS_AS(nn::save_mlp(dir / "empty", nn::mlp<float>()), value_error);
  }
  SECTION("truncated files, missing files") {
    const nn::mlp<float> net({3, 4, 2}, {activation::relu, activation::identity}, 5);
    nn::save_mlp(dir / "ok.safetensors", net);
    const std::string bytes = test::read_bytes(dir / "ok.safetensors");
    for (const std::size_t cut : {std::size_t{0}, std::size_t{7}, std::size_t{8}, std::size_t{40},
                                  bytes.size() / 2, bytes.size() - 1}) {
      CAPTURE(cut);
      std::ofstream(p, std::ios::binary) << bytes.substr(0, cut);
      CHECK_THROWS_AS(nn::load_mlp<float>(p), io_error);
    }
    CHECK_THROWS_MATCHES(
        nn::load_mlp<float>(dir / "missing.safetensors"), io_error,
        test::what_is(Contains("recfuse::nn::load_mlp") && Contains("cannot open")));
  }
  SECTION("directories") {
    const nn::mlp<float> net({3, 4, 2}, {activation::relu, activation::identity}, 5);
    nn::save_mlp(dir / "d", net);
    fs::remove(dir / "d" / "1.bias.npy");
    CHECK_THROWS_MATCHES(
        nn::load_mlp<float>(dir / "d"), io_error,
        test::what_is(Contains("\"1.weight.npy\" has no matching \"1.bias.npy\"")));
    nn::save_mlp(dir / "d", net);  // replaces the broken directory
    CHECK(nn::load_mlp<float>(dir / "d").widths() == net.widths());
    std::ofstream(dir / "d" / "activations.txt") << "relu\n";
    CHECK_THROWS_MATCHES(nn::load_mlp<float>(dir / "d"), io_error,
                         test::what_is(Contains("activations.txt lists 1 activations")));
    fs::create_directory(dir / "empty");
    CHECK_THROWS_MATCHES(nn::load_mlp<float>(dir / "empty"), io_error,
                         test::what_is(Contains("no layers found")));
    // A directory holding anything else is never replaced.
    std::ofstream(dir / "empty" / "notes.txt") << "mine";
    CHECK_THROWS_MATCHES(nn::save_mlp(dir / "empty", net), io_error,
                         test::what_is(Contains("will not replace") && Contains("notes.txt")));
    CHECK(fs::exists(dir / "empty" / "notes.txt"));
    std::ofstream(dir / "file") << "x";
    CHECK_THROWS_MATCHES(nn::save_mlp(dir / "file", net), io_error,
                         test::what_is(Contains("not a directory")));
  }
}
