// recfuse: saving and loading an nn::mlp as safetensors (PyTorch-compatible) or as .npy files.
//
//   recfuse::nn::save_mlp("scorer.safetensors", net);   // one file, atomic
//   recfuse::nn::save_mlp("scorer", net);               // a directory of .npy files
//   auto net2 = recfuse::nn::load_mlp<float>("scorer.safetensors");
//   auto net3 = recfuse::nn::load_mlp<float>("torch_export.safetensors", {relu, relu, sigmoid});
//
// A path ending in ".safetensors" (with no trailing '/') is one safetensors file: layer l is
// written as "{2l}.weight" (out x in) and "{2l}.bias" (out), the keys of
// torch.nn.Sequential(Linear, ReLU, Linear, ...) .state_dict(), with metadata "recfuse.activations"
// = "relu,relu,identity" and "format" = "pt". Any other path, and any path with a trailing '/'
// ("model.safetensors/" too), is a directory holding "{l}.weight.npy", "{l}.bias.npy" (l = 0, 1,
// ...) and "activations.txt" (the same comma-separated list). The directory is written whole into a
// temporary sibling and renamed into place; an existing directory at the path is replaced only
// when it holds nothing but such files (otherwise io_error), and during the swap there is a
// moment when the path does not exist.
//
// load_mlp reads a regular file as safetensors and a directory as above. In a safetensors file
// the layers are the tensors named "[prefix.]N.weight" / "[prefix.]N.bias" with N a decimal
// index, sorted by N (gaps allowed: Sequential puts activations between the Linear layers);
// other tensors are ignored, and every layer must share one prefix. Activations: the argument
// when given, else the file's "recfuse.activations", else relu for every hidden layer and
// identity for the last. Checks, each an io_error naming the file and the tensor: a weight
// without its bias (or the reverse), a weight that is not 2-D or a bias not 1-D, a bias length
// other than the weight's rows, a layer whose inputs differ from the previous layer's outputs
// (both sizes printed), an extent of 0, no layer at all. Non-finite weights are a value_error
// naming the tensor and the element. Weights stored in another type convert to T.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "recfuse/core/config.hpp"
#include "recfuse/core/errors.hpp"
#include "recfuse/core/views.hpp"
#include "recfuse/io/archive.hpp"
#include "recfuse/io/npy.hpp"
#include "recfuse/io/safetensors.hpp"
#include "recfuse/nn/activation.hpp"
#include "recfuse/nn/mlp.hpp"

namespace recfuse::nn {
namespace detail {

inline bool is_safetensors_path(const std::filesystem::path& p) {
  return p.extension() == ".safetensors";
}

inline std::string activation_list(const std::vector<activation>& a) {
  std::string s;
  for (std::size_t l = 0; l < a.size(); ++l) {
    if (l) s += ',';
    s += activation_name(a[l]);
  }
  return s;
}

// The first non-finite element of a rows x cols block, as "element k (row i, column j) is nan".
template <class T>
bool first_non_finite(const T* p, index_t rows, index_t cols, index_t stride, std::string& where) {
  for (index_t i = 0; i < rows; ++i) {
    for (index_t j = 0; j < cols; ++j) {
      const T v = p[i * stride + j];
      if (!std::isfinite(v)) {
        where = rows == 1 ? recfuse::detail::concat("element ", j, " is ", v)
                          : recfuse::detail::concat("element ", i * cols + j, " (row ", i,
                                                    ", column ", j, ") is ", v);
        return true;
      }
    }
  }
  return false;
}

// Names of a directory entry written by save_mlp: "activations.txt", "{l}.weight.npy",
// "{l}.bias.npy".
inline bool is_mlp_file_name(const std::string& name) {
  if (name == "activations.txt") return true;
  std::size_t i = 0;
  while (i < name.size() && name[i] >= '0' && name[i] <= '9') ++i;
  if (i == 0) return false;
  const std::string_view rest = std::string_view(name).substr(i);
  return rest == ".weight.npy" || rest == ".bias.npy";
}

template <class T>
void check_finite_for_save(const char* fn, const mlp<T>& net, bool torch_names) {
  for (index_t l = 0; l < net.layers(); ++l) {
    const index_t key = torch_names ? 2 * l : l;
    const auto w = net.weight(l);
    const auto b = net.bias(l);
    std::string where;
    if (first_non_finite(w.data(), w.rows(), w.cols(), w.stride(), where)) {
      recfuse::detail::throw_error<value_error>(fn, "layer ", l, " weight (tensor \"", key,
                                                ".weight\") ", where, " (weights must be finite)");
    }
    if (first_non_finite(b.data(), 1, b.size(), b.size(), where)) {
      recfuse::detail::throw_error<value_error>(fn, "layer ", l, " bias (tensor \"", key,
                                                ".bias\") ", where, " (weights must be finite)");
    }
  }
}

template <class T>
void save_mlp_directory(const char* fn, const std::filesystem::path& target, const mlp<T>& net) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(target, ec)) {
    if (!fs::is_directory(target, ec)) {
      recfuse::detail::throw_error<io_error>(fn, "cannot write ", target,
                                             ": it exists and is not a directory");
    }
    for (const auto& e : fs::directory_iterator(target, ec)) {
      if (!is_mlp_file_name(e.path().filename().string())) {
        recfuse::detail::throw_error<io_error>(
            fn, "will not replace ", target, ": it holds ", e.path().filename(),
            ", which save_mlp does not write (choose a new or empty path)");
      }
    }
  }
#if RECFUSE_IO_POSIX
  const long long pid = static_cast<long long>(::getpid());
#else
  const long long pid = 0;
#endif
  const auto tag = [&] {
    return recfuse::detail::concat(
        ".tmp.", pid, ".", io::detail::temp_file_counter.fetch_add(1, std::memory_order_relaxed));
  };
  fs::path temp = target;
  temp += tag();
  if (!fs::create_directory(temp, ec) || ec) {
    recfuse::detail::throw_error<io_error>(fn, "cannot create ", temp, ": ",
                                           ec ? ec.message() : std::string("it exists"));
  }
  try {
    for (index_t l = 0; l < net.layers(); ++l) {
      const auto w = net.weight(l);
      const auto b = net.bias(l);
      io::detail::write_npy<T>(fn, temp / recfuse::detail::concat(l, ".weight.npy"),
                               {w.rows(), w.cols()}, w.data(), w.rows(), w.cols(), w.stride());
      io::detail::write_npy<T>(fn, temp / recfuse::detail::concat(l, ".bias.npy"), {b.size()},
                               b.data(), 1, b.size(), b.size());
    }
    const std::string acts = activation_list(net.activations()) + "\n";
    io::detail::atomic_write(fn, temp / "activations.txt",
                             [&](io::detail::output_file& out) { out.write(acts); });
    if (fs::exists(target, ec)) {
      fs::path old = target;
      old += tag();
      fs::rename(target, old, ec);
      if (ec) {
        recfuse::detail::throw_error<io_error>(fn, "cannot move the old ", target,
                                               " aside: ", ec.message());
      }
      fs::rename(temp, target, ec);
      if (ec) {
        std::error_code ignore;
        fs::rename(old, target, ignore);
        recfuse::detail::throw_error<io_error>(fn, "cannot rename ", temp, " to ", target, ": ",
                                               ec.message());
      }
      fs::remove_all(old, ec);
    } else {
      fs::rename(temp, target, ec);
      if (ec) {
        recfuse::detail::throw_error<io_error>(fn, "cannot rename ", temp, " to ", target, ": ",
                                               ec.message());
      }
    }
  } catch (...) {
    std::error_code ignore;
    fs::remove_all(temp, ignore);
    throw;
  }
}

inline std::vector<activation> parse_activation_list(const char* fn,
                                                     const std::filesystem::path& path,
                                                     std::string_view text, const char* where) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
    text.remove_suffix(1);
  std::vector<activation> out;
  if (text.empty()) return out;
  for (;;) {
    const std::size_t comma = text.find(',');
    std::string_view name = text.substr(0, comma);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    if (name == "identity" || name == "linear") {
      out.push_back(activation::identity);
    } else if (name == "relu") {
      out.push_back(activation::relu);
    } else if (name == "sigmoid") {
      out.push_back(activation::sigmoid);
    } else {
      recfuse::detail::throw_error<io_error>(fn, path, ": ", where, " names unknown activation \"",
                                             name, "\" (expected identity, relu or sigmoid)");
    }
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

template <class T>
struct loaded_layer {
  std::string weight_name, bias_name;
  const io::tensor<T>* weight = nullptr;
  const io::tensor<T>* bias = nullptr;
};

// Builds the mlp from layers in order; checks shapes, finiteness and the activations.
template <class T>
mlp<T> assemble_mlp(const char* fn, const std::filesystem::path& path,
                    const std::vector<loaded_layer<T>>& layers, std::vector<activation> acts,
                    const std::vector<activation>& stored, const char* stored_where) {
  if (layers.empty()) {
    recfuse::detail::throw_error<io_error>(
        fn, path, ": no layers found (expected tensors named like \"0.weight\" and \"0.bias\")");
  }
  std::vector<index_t> widths;
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const auto& L = layers[l];
    if (L.weight->shape.size() != 2) {
      recfuse::detail::throw_error<io_error>(fn, path, ": tensor \"", L.weight_name, "\" has ",
                                             L.weight->shape.size(),
                                             " dimensions; a weight must be 2-D (out x in)");
    }
    if (L.bias->shape.size() != 1) {
      recfuse::detail::throw_error<io_error>(fn, path, ": tensor \"", L.bias_name, "\" has ",
                                             L.bias->shape.size(),
                                             " dimensions; a bias must be 1-D");
    }
    const index_t out = L.weight->shape[0], in = L.weight->shape[1];
    if (out == 0 || in == 0) {
      recfuse::detail::throw_error<io_error>(fn, path, ": tensor \"", L.weight_name,
                                             "\" has shape ", out, " x ", in,
                                             " (a layer needs at least one input and output)");
    }
    if (L.bias->shape[0] != out) {
      recfuse::detail::throw_error<io_error>(fn, path, ": tensor \"", L.bias_name, "\" has ",
                                             L.bias->shape[0], " elements but \"", L.weight_name,
                                             "\" has ", out, " rows (outputs)");
    }
    if (l == 0) {
      widths.push_back(in);
    } else if (in != widths.back()) {
      recfuse::detail::throw_error<io_error>(fn, path, ": tensor \"", L.weight_name, "\" takes ",
                                             in, " inputs but the previous layer (\"",
                                             layers[l - 1].weight_name, "\") has ", widths.back(),
                                             " outputs");
    }
    widths.push_back(out);
  }
  const auto count = static_cast<index_t>(layers.size());
  if (acts.empty()) {
    if (!stored.empty()) {
      if (static_cast<index_t>(stored.size()) != count) {
        recfuse::detail::throw_error<io_error>(fn, path, ": ", stored_where, " lists ",
                                               stored.size(), " activations but the file has ",
                                               count, " layers");
      }
      acts = stored;
    } else {
      acts.assign(layers.size(), activation::relu);
      acts.back() = activation::identity;
    }
  } else if (static_cast<index_t>(acts.size()) != count) {
    recfuse::detail::throw_error<shape_error>(fn, "activations has ", acts.size(), " entries but ",
                                              path, " holds ", count, " layers");
  }
  for (const auto& L : layers) {
    std::string where;
    const auto& w = *L.weight;
    if (first_non_finite(w.data.data(), w.shape[0], w.shape[1], w.shape[1], where)) {
      recfuse::detail::throw_error<value_error>(fn, path, ": tensor \"", L.weight_name, "\" ",
                                                where, " (weights must be finite)");
    }
    if (first_non_finite(L.bias->data.data(), 1, L.bias->shape[0], L.bias->shape[0], where)) {
      recfuse::detail::throw_error<value_error>(fn, path, ": tensor \"", L.bias_name, "\" ", where,
                                                " (weights must be finite)");
    }
  }
  mlp<T> net(widths, acts, 0);
  for (index_t l = 0; l < count; ++l) {
    const auto& L = layers[static_cast<std::size_t>(l)];
    const auto w = net.weight(l);
    for (index_t i = 0; i < w.rows(); ++i) {
      std::memcpy(w.row(i), L.weight->data.data() + i * w.cols(),
                  static_cast<std::size_t>(w.cols()) * sizeof(T));
    }
    const auto b = net.bias(l);
    std::memcpy(b.data(), L.bias->data.data(), static_cast<std::size_t>(b.size()) * sizeof(T));
  }
  return net;
}

template <class T>
mlp<T> load_mlp_safetensors(const char* fn, const std::filesystem::path& path,
                            std::vector<activation> acts) {
  const auto file = io::detail::read_safetensors<T>(fn, path);
  struct found {
    std::string prefix;
    std::uint64_t index;
    loaded_layer<T> layer;
  };
  std::map<std::uint64_t, found> by_index;
  for (const auto& [name, t] : file.tensors) {
    std::string_view stem = name;
    bool is_weight = false;
    if (stem.size() > 7 && stem.substr(stem.size() - 7) == ".weight") {
      is_weight = true;
      stem.remove_suffix(7);
    } else if (stem.size() > 5 && stem.substr(stem.size() - 5) == ".bias") {
      stem.remove_suffix(5);
    } else {
      continue;
    }
    const std::size_t dot = stem.rfind('.');
    const std::string_view digits = dot == std::string_view::npos ? stem : stem.substr(dot + 1);
    const std::string_view prefix =
        dot == std::string_view::npos ? std::string_view() : stem.substr(0, dot + 1);
    if (digits.empty() || digits.size() > 9 ||
        digits.find_first_not_of("0123456789") != std::string_view::npos) {
      continue;  // not a Sequential layer (e.g. "embedding.weight")
    }
    std::uint64_t index = 0;
    for (const char c : digits) index = index * 10 + static_cast<std::uint64_t>(c - '0');
    auto [it, fresh] = by_index.try_emplace(index);
    found& f = it->second;
    if (fresh) {
      f.prefix = std::string(prefix);
      f.index = index;
    } else if (f.prefix != prefix) {
      recfuse::detail::throw_error<io_error>(fn, path, ": tensor \"", name, "\" and another layer ",
                                             index, " tensor have different prefixes (\"", prefix,
                                             "\" and \"", f.prefix, "\")");
    }
    auto& slot_name = is_weight ? f.layer.weight_name : f.layer.bias_name;
    auto& slot = is_weight ? f.layer.weight : f.layer.bias;
    if (slot) {
      recfuse::detail::throw_error<io_error>(fn, path, ": tensors \"", slot_name, "\" and \"", name,
                                             "\" both claim layer ", index);
    }
    slot_name = name;
    slot = &t;
  }
  std::vector<loaded_layer<T>> layers;
  const std::string* first_prefix = nullptr;
  for (const auto& [index, f] : by_index) {
    if (first_prefix && *first_prefix != f.prefix) {
      recfuse::detail::throw_error<io_error>(fn, path, ": layers use different prefixes (\"",
                                             *first_prefix, "\" and \"", f.prefix,
                                             "\"); expected one Sequential");
    }
    first_prefix = &f.prefix;
    if (!f.layer.weight) {
      recfuse::detail::throw_error<io_error>(fn, path, ": tensor \"", f.layer.bias_name,
                                             "\" has no matching \"", f.prefix, index, ".weight\"");
    }
    if (!f.layer.bias) {
      recfuse::detail::throw_error<io_error>(fn, path, ": tensor \"", f.layer.weight_name,
                                             "\" has no matching \"", f.prefix, index,
                                             ".bias\" (layers without a bias are not supported)");
    }
    layers.push_back(f.layer);
  }
  std::vector<activation> stored;
  if (const auto it = file.metadata.find("recfuse.activations"); it != file.metadata.end()) {
    stored = parse_activation_list(fn, path, it->second, "metadata \"recfuse.activations\"");
  }
  return assemble_mlp(fn, path, layers, std::move(acts), stored,
                      "metadata \"recfuse.activations\"");
}

template <class T>
mlp<T> load_mlp_directory(const char* fn, const std::filesystem::path& dir,
                          std::vector<activation> acts) {
  namespace fs = std::filesystem;
  std::vector<io::tensor<T>> tensors;
  std::vector<loaded_layer<T>> layers;
  std::error_code ec;
  index_t count = 0;
  while (fs::exists(dir / recfuse::detail::concat(count, ".weight.npy"), ec) ||
         fs::exists(dir / recfuse::detail::concat(count, ".bias.npy"), ec)) {
    ++count;
  }
  tensors.reserve(static_cast<std::size_t>(2 * count));
  for (index_t l = 0; l < count; ++l) {
    loaded_layer<T> L;
    L.weight_name = recfuse::detail::concat(l, ".weight.npy");
    L.bias_name = recfuse::detail::concat(l, ".bias.npy");
    if (!fs::exists(dir / L.weight_name, ec)) {
      recfuse::detail::throw_error<io_error>(fn, dir, ": \"", L.bias_name, "\" has no matching \"",
                                             L.weight_name, "\"");
    }
    if (!fs::exists(dir / L.bias_name, ec)) {
      recfuse::detail::throw_error<io_error>(fn, dir, ": \"", L.weight_name,
                                             "\" has no matching \"", L.bias_name, "\"");
    }
    tensors.push_back(io::detail::read_npy<T>(fn, dir / L.weight_name));
    L.weight = &tensors.back();
    tensors.push_back(io::detail::read_npy<T>(fn, dir / L.bias_name));
    L.bias = &tensors.back();
    layers.push_back(L);
  }
  std::vector<activation> stored;
  if (fs::exists(dir / "activations.txt", ec)) {
    const auto text = io::detail::read_file(fn, dir / "activations.txt");
    stored = parse_activation_list(fn, dir, std::string_view(text.begin(), text.size),
                                   "activations.txt");
  }
  return assemble_mlp(fn, dir, layers, std::move(acts), stored, "activations.txt");
}

}  // namespace detail

// Saves `net` (see the top of this header): a ".safetensors" file, or else a directory of .npy
// files. value_error for an empty mlp or a non-finite weight (what load_mlp would refuse);
// io_error when writing fails, and the previous file or directory is then left as it was.
template <class T>
void save_mlp(const std::filesystem::path& path, const mlp<T>& net) {
  constexpr const char* fn = "recfuse::nn::save_mlp";
  if (net.layers() == 0) {
    recfuse::detail::throw_error<value_error>(fn, "the mlp is empty (default-constructed)");
  }
  std::filesystem::path target = path;
  // A trailing separator always means a directory, even after ".safetensors".
  const bool trailing_separator = target.filename().empty() && target.has_parent_path();
  if (trailing_separator) target = target.parent_path();
  const bool torch = !trailing_separator && detail::is_safetensors_path(target);
  detail::check_finite_for_save(fn, net, torch);
  if (!torch) return detail::save_mlp_directory(fn, target, net);
  std::vector<io::named_tensor<T>> tensors;
  std::vector<std::vector<T>> packed(static_cast<std::size_t>(net.layers()));
  for (index_t l = 0; l < net.layers(); ++l) {
    const auto w = net.weight(l);
    const T* wp = w.data();
    if (!w.contiguous()) {
      auto& buf = packed[static_cast<std::size_t>(l)];
      buf.resize(static_cast<std::size_t>(w.rows() * w.cols()));
      for (index_t i = 0; i < w.rows(); ++i) {
        std::copy(w.row(i), w.row(i) + w.cols(), buf.data() + i * w.cols());
      }
      wp = buf.data();
    }
    tensors.push_back({recfuse::detail::concat(2 * l, ".weight"), {w.rows(), w.cols()}, wp});
    tensors.push_back(
        {recfuse::detail::concat(2 * l, ".bias"), {net.bias(l).size()}, net.bias(l).data()});
  }
  const std::map<std::string, std::string> metadata = {
      {"format", "pt"}, {"recfuse.activations", detail::activation_list(net.activations())}};
  io::save_safetensors(target, tensors, metadata);
}

// Loads an mlp saved by save_mlp, or a torch.nn.Sequential of Linear layers saved with
// safetensors (see the top of this header).
template <class T = float>
mlp<T> load_mlp(const std::filesystem::path& path, std::vector<activation> activations = {}) {
  constexpr const char* fn = "recfuse::nn::load_mlp";
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return detail::load_mlp_directory<T>(fn, path, std::move(activations));
  }
  return detail::load_mlp_safetensors<T>(fn, path, std::move(activations));
}

}  // namespace recfuse::nn
