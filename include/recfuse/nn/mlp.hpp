// recfuse: the MLP scorer: dense layers y = act(x W^T + b), batched inference and backprop.
//
//   recfuse::nn::mlp<float> net({64, 256, 128, 1}, {relu, relu, identity}, /*seed=*/7);
//   recfuse::nn::forward(recfuse::exec::xsimd{}, net, x, out);   // x: batch x 64, out: batch x 1
//
// Layout: W_l is out x in, row-major, as torch.nn.Linear's weight; parameters() is the flat
// array W0, b0, W1, b1, ... (each W row-major), the order of a torch.nn.Sequential state_dict.
// Initialisation as torch.nn.Linear: W and b uniform in (-1/sqrt(in), 1/sqrt(in)), drawn in that
// flat order from std::mt19937_64(seed) mapped to doubles by recfuse's own rule (portable).
//
// forward keeps no state: intermediate layers go to thread-local scratch that is reused, so
// repeated calls allocate nothing once the largest batch has been seen. NaN in x propagates to
// the rows it appears in (relu keeps NaN). forward_train keeps every layer's output in an
// mlp_workspace for backward, which needs the x of forward_train alive until it returns.
//
// Errors (messages start with the function's name): x.cols() != inputs(), out not
// batch x outputs(), a grad_output / grad_parameters / grad_input of the wrong shape
// (shape_error); mlp's constructor: fewer than 2 widths, a width < 1 (value_error), activations
// not one per layer (shape_error).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <type_traits>
#include <utility>
#include <vector>

#include "recfuse/core/config.hpp"
#include "recfuse/core/errors.hpp"
#include "recfuse/core/execution.hpp"
#include "recfuse/core/views.hpp"
#include "recfuse/nn/activation.hpp"
#include "recfuse/nn/gemm.hpp"
#include "recfuse/reference/nn/mlp.hpp"

namespace recfuse::nn {

namespace detail {

// Uniform in (0, 1) from 53 bits of one mt19937_64 word: exactly rounded, so portable.
inline double uniform01(std::mt19937_64& g) {
  return (static_cast<double>(g() >> 11) + 0.5) * 0x1.0p-53;
}

// Uniform integer in [0, n), n >= 1, by rejection (no modulo bias).
inline std::uint64_t uniform_below(std::mt19937_64& g, std::uint64_t n) {
  const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  std::uint64_t x = g();
  while (x >= limit) x = g();
  return x % n;
}

// Grows v to at least n elements (never shrinks, so a reused buffer stops allocating).
template <class T>
T* reserve_buffer(std::vector<T>& v, index_t n) {
  if (static_cast<index_t>(v.size()) < n) v.resize(static_cast<std::size_t>(n));
  return v.data();
}

}  // namespace detail

template <class T = float>
class mlp {
  static_assert(std::is_floating_point_v<T>, "recfuse::nn::mlp: T must be float or double");

 public:
  using value_type = T;

  mlp() = default;
  mlp(std::vector<index_t> widths, std::vector<activation> activations, std::uint64_t seed = 0)
      : widths_(std::move(widths)), activations_(std::move(activations)) {
    constexpr const char* fn = "recfuse::nn::mlp";
    if (widths_.size() < 2) {
      ::recfuse::detail::throw_error<value_error>(fn, "widths has ", widths_.size(),
                                                  " entries, need at least 2 (inputs and outputs)");
    }
    for (std::size_t l = 0; l < widths_.size(); ++l) {
      if (widths_[l] < 1) {
        ::recfuse::detail::throw_error<value_error>(fn, "widths[", l, "] is ", widths_[l],
                                                    ", need >= 1");
      }
    }
    ::recfuse::detail::check_same(fn, "activations.size()",
                                  static_cast<index_t>(activations_.size()), "widths.size() - 1",
                                  static_cast<index_t>(widths_.size()) - 1);
    index_t total = 0;
    for (index_t l = 0; l < layers(); ++l) {
      offsets_.push_back(total);
      total += widths_[l + 1] * (widths_[l] + 1);
    }
    params_.resize(static_cast<std::size_t>(total));
    std::mt19937_64 g(seed);
    for (index_t l = 0; l < layers(); ++l) {
      const double bound = 1.0 / std::sqrt(static_cast<double>(widths_[l]));
      T* p = params_.data() + offsets_[l];
      const index_t count = widths_[l + 1] * (widths_[l] + 1);
      for (index_t i = 0; i < count; ++i) {
        p[i] = static_cast<T>(bound * (2.0 * detail::uniform01(g) - 1.0));
      }
    }
  }

  index_t inputs() const { return widths_.empty() ? 0 : widths_.front(); }
  index_t outputs() const { return widths_.empty() ? 0 : widths_.back(); }
  index_t layers() const { return widths_.empty() ? 0 : static_cast<index_t>(widths_.size()) - 1; }
  const std::vector<index_t>& widths() const { return widths_; }
  const std::vector<activation>& activations() const { return activations_; }
  activation layer_activation(index_t l) const { return activations_[static_cast<std::size_t>(l)]; }

  // Layer l's weight, widths[l+1] x widths[l] (out x in), and bias, widths[l+1].
  matrix_view<T> weight(index_t l) {
    return {params_.data() + offsets_[l], widths_[l + 1], widths_[l]};
  }
  matrix_view<const T> weight(index_t l) const {
    return {params_.data() + offsets_[l], widths_[l + 1], widths_[l]};
  }
  vector_view<T> bias(index_t l) {
    return {params_.data() + offsets_[l] + widths_[l + 1] * widths_[l], widths_[l + 1]};
  }
  vector_view<const T> bias(index_t l) const {
    return {params_.data() + offsets_[l] + widths_[l + 1] * widths_[l], widths_[l + 1]};
  }
  vector_view<T> parameters() { return {params_.data(), parameter_count()}; }
  vector_view<const T> parameters() const { return {params_.data(), parameter_count()}; }
  index_t parameter_count() const { return static_cast<index_t>(params_.size()); }
  // Offset of layer l's weight in parameters(); its bias follows the weight.
  index_t parameter_offset(index_t l) const { return offsets_[static_cast<std::size_t>(l)]; }
  index_t max_width() const { return *std::max_element(widths_.begin(), widths_.end()); }

 private:
  std::vector<index_t> widths_;
  std::vector<activation> activations_;
  std::vector<index_t> offsets_;
  std::vector<T> params_;
};

// The outputs of every layer for one batch, kept by forward_train for backward, plus the
// buffers backward and train_step use. Reusable: buffers only grow, so a training loop with a
// fixed batch size allocates on its first step only.
template <class T>
class mlp_workspace {
 public:
  mlp_workspace() = default;
  index_t batch() const { return batch_; }
  // Output of layer l (batch x widths[l+1]) from the last forward_train.
  matrix_view<const T> layer_output(index_t l) const {
    return {outputs_[static_cast<std::size_t>(l)].data(), batch_,
            widths_[static_cast<std::size_t>(l) + 1]};
  }

  // Internal state, used by forward_train, backward and train_step.
  std::vector<std::vector<T>> outputs_;
  std::vector<index_t> widths_;
  matrix_view<const T> input_{};
  index_t batch_ = 0;
  bool valid_ = false;
  std::vector<T> delta_[2];
  std::vector<T> grad_output_;
  std::vector<T> grad_parameters_;
};

namespace detail {

template <class Policy, class T>
void dense_forward(const Policy& policy, matrix_view<const T> x, matrix_view<const T> w,
                   vector_view<const T> b, activation act, matrix_view<T> y) {
  if (y.rows() == 0) return;
  if constexpr (requires { dense_forward_kernel(policy, x, w, b, act, y); }) {
    RECFUSE_CHECK_NATIVE(dense_forward_kernel, policy, x, w, b, act, y);
    dense_forward_kernel(policy, x, w, b, act, y);
  } else {
    RECFUSE_NO_KERNEL("recfuse::nn::forward", Policy);
  }
}

template <class Policy, class T>
void activation_backward(const Policy& policy, activation act, matrix_view<const T> y,
                         matrix_view<const T> grad, matrix_view<T> delta) {
  if (y.rows() == 0 || act == activation::identity) {
    if (grad.data() != delta.data()) {
      for (index_t i = 0; i < grad.rows(); ++i) {
        std::copy(grad.row(i), grad.row(i) + grad.cols(), delta.row(i));
      }
    }
    return;
  }
  if constexpr (requires { activation_backward_kernel(policy, act, y, grad, delta); }) {
    RECFUSE_CHECK_NATIVE(activation_backward_kernel, policy, act, y, grad, delta);
    activation_backward_kernel(policy, act, y, grad, delta);
  } else {
    RECFUSE_NO_KERNEL("recfuse::nn::backward", Policy);
  }
}

template <class Policy, class T>
void dense_backward_input(const Policy& policy, matrix_view<const T> delta, matrix_view<const T> w,
                          activation act, matrix_view<const T> y, matrix_view<T> out) {
  if constexpr (requires { dense_backward_input_kernel(policy, delta, w, act, y, out); }) {
    RECFUSE_CHECK_NATIVE(dense_backward_input_kernel, policy, delta, w, act, y, out);
    dense_backward_input_kernel(policy, delta, w, act, y, out);
  } else {
    RECFUSE_NO_KERNEL("recfuse::nn::backward", Policy);
  }
}

template <class Policy, class T>
void column_sums(const Policy& policy, matrix_view<const T> a, vector_view<T> out) {
  if constexpr (requires { column_sums_kernel(policy, a, out); }) {
    RECFUSE_CHECK_NATIVE(column_sums_kernel, policy, a, out);
    column_sums_kernel(policy, a, out);
  } else {
    RECFUSE_NO_KERNEL("recfuse::nn::backward", Policy);
  }
}

template <class T>
void check_forward_input(const char* fn, const mlp<T>& net, matrix_view<const T> x) {
  if (net.layers() == 0) {
    ::recfuse::detail::throw_error<value_error>(fn, "the mlp is empty (default-constructed)");
  }
  ::recfuse::detail::check_matrix(fn, "x", x);
  ::recfuse::detail::check_same(fn, "x.cols()", x.cols(), "the mlp's inputs", net.inputs());
}

// Thread-local ping-pong buffers for the hidden layers of forward.
template <class T>
std::vector<T>& forward_scratch(int which) {
  thread_local std::vector<T> buffers[2];
  return buffers[which];
}

// Backprop from ws. grad_output is d loss / d output, or, when at_preactivation, d loss / d z of
// the last layer (train_step's combined sigmoid + binary cross-entropy gradient).
template <class Policy, class T>
void backward_impl(const Policy& policy, const mlp<T>& net, mlp_workspace<T>& ws,
                   matrix_view<const T> grad_output, vector_view<T> grad_parameters,
                   matrix_view<T> grad_input, bool at_preactivation) {
  const index_t batch = ws.batch_;
  const index_t layers = net.layers();
  const index_t wmax = net.max_width();
  T* buf[2] = {reserve_buffer(ws.delta_[0], batch * wmax),
               reserve_buffer(ws.delta_[1], batch * wmax)};
  // delta of the last layer
  const index_t last = layers - 1;
  matrix_view<T> delta(buf[0], batch, net.outputs());
  if (at_preactivation) {
    activation_backward(policy, activation::identity, ws.layer_output(last), grad_output, delta);
  } else {
    activation_backward(policy, net.layer_activation(last), ws.layer_output(last), grad_output,
                        delta);
  }
  int cur = 0;
  for (index_t l = last; l >= 0; --l) {
    const index_t in = net.widths()[static_cast<std::size_t>(l)];
    const index_t out = net.widths()[static_cast<std::size_t>(l) + 1];
    const matrix_view<const T> input = l == 0 ? ws.input_ : ws.layer_output(l - 1);
    const index_t off = net.parameter_offset(l);
    matrix_view<T> grad_w(grad_parameters.data() + off, out, in);
    vector_view<T> grad_b(grad_parameters.data() + off + out * in, out);
    const matrix_view<const T> d = delta;
    if (batch == 0) {
      std::fill(grad_w.data(), grad_w.data() + out * in, T(0));
      std::fill(grad_b.data(), grad_b.data() + out, T(0));
    } else {
      gemm(policy, op::transpose, op::none, T(1), d, input, T(0), grad_w);
      column_sums(policy, d, grad_b);
    }
    if (l > 0) {
      matrix_view<T> next(buf[1 - cur], batch, in);
      if (batch > 0) {
        dense_backward_input(policy, d, net.weight(l), net.layer_activation(l - 1),
                             ws.layer_output(l - 1), next);
      }
      delta = next;
      cur = 1 - cur;
    } else if (grad_input.data() != nullptr && batch > 0) {
      gemm(policy, op::none, op::none, T(1), d, net.weight(0), T(0), grad_input);
    }
  }
}

}  // namespace detail

// out (batch x outputs) = the network applied to each row of x (batch x inputs).
template <class Policy, class T>
void forward(const Policy& policy, const mlp<T>& net, matrix_view<const std::type_identity_t<T>> x,
             matrix_view<T> out) {
  constexpr const char* fn = "recfuse::nn::forward";
  detail::check_forward_input(fn, net, x);
  ::recfuse::detail::check_matrix(fn, "out", out);
  ::recfuse::detail::check_same(fn, "out.rows()", out.rows(), "x.rows()", x.rows());
  ::recfuse::detail::check_same(fn, "out.cols()", out.cols(), "the mlp's outputs", net.outputs());
  const index_t batch = x.rows();
  if (batch == 0) return;
  const index_t layers = net.layers();
  matrix_view<const T> in = x;
  int which = 0;
  for (index_t l = 0; l < layers; ++l) {
    const index_t width = net.widths()[static_cast<std::size_t>(l) + 1];
    matrix_view<T> y = out;
    if (l + 1 < layers) {
      y = matrix_view<T>(detail::reserve_buffer(detail::forward_scratch<T>(which), batch * width),
                         batch, width);
      which = 1 - which;
    }
    detail::dense_forward(policy, in, net.weight(l), net.bias(l), net.layer_activation(l), y);
    in = y;
  }
}

// The outputs as a new row-major batch x outputs array.
template <class Policy, class T>
std::vector<T> predict(const Policy& policy, const mlp<T>& net,
                       matrix_view<const std::type_identity_t<T>> x) {
  detail::check_forward_input("recfuse::nn::predict", net, x);
  std::vector<T> out(static_cast<std::size_t>(x.rows() * net.outputs()));
  forward(policy, net, x, matrix_view<T>(out.data(), x.rows(), net.outputs()));
  return out;
}

// forward that keeps every layer's output in ws for backward; returns the output
// (batch x outputs, valid until ws is used again).
template <class Policy, class T>
matrix_view<const T> forward_train(const Policy& policy, const mlp<T>& net,
                                   matrix_view<const std::type_identity_t<T>> x,
                                   mlp_workspace<T>& ws) {
  detail::check_forward_input("recfuse::nn::forward_train", net, x);
  const index_t batch = x.rows();
  const auto layers = static_cast<std::size_t>(net.layers());
  if (ws.outputs_.size() < layers) ws.outputs_.resize(layers);
  ws.widths_ = net.widths();
  ws.batch_ = batch;
  ws.input_ = x;
  matrix_view<const T> in = x;
  for (std::size_t l = 0; l < layers; ++l) {
    const index_t width = net.widths()[l + 1];
    matrix_view<T> y(detail::reserve_buffer(ws.outputs_[l], batch * width), batch, width);
    detail::dense_forward(policy, in, net.weight(static_cast<index_t>(l)),
                          net.bias(static_cast<index_t>(l)),
                          net.layer_activation(static_cast<index_t>(l)), y);
    in = y;
  }
  ws.valid_ = true;
  return in;
}

// Backpropagation of grad_output (d loss / d output, batch x outputs) through the batch of the
// last forward_train on ws. grad_parameters (parameter_count(), layout of parameters()) is
// overwritten; grad_input (batch x inputs) too, unless it is an empty matrix_view<T>{}.
template <class Policy, class T>
void backward(const Policy& policy, const mlp<T>& net, mlp_workspace<T>& ws,
              matrix_view<const std::type_identity_t<T>> grad_output,
              vector_view<std::type_identity_t<T>> grad_parameters,
              matrix_view<std::type_identity_t<T>> grad_input) {
  constexpr const char* fn = "recfuse::nn::backward";
  if (!ws.valid_ || ws.widths_ != net.widths()) {
    ::recfuse::detail::throw_error<value_error>(
        fn, "the workspace holds no forward_train of this network's shape");
  }
  ::recfuse::detail::check_matrix(fn, "grad_output", grad_output);
  ::recfuse::detail::check_same(fn, "grad_output.rows()", grad_output.rows(), "the batch",
                                ws.batch_);
  ::recfuse::detail::check_same(fn, "grad_output.cols()", grad_output.cols(), "the mlp's outputs",
                                net.outputs());
  ::recfuse::detail::check_vector(fn, "grad_parameters", grad_parameters);
  ::recfuse::detail::check_same(fn, "grad_parameters.size()", grad_parameters.size(),
                                "parameter_count()", net.parameter_count());
  if (grad_input.data() != nullptr || grad_input.rows() != 0) {
    ::recfuse::detail::check_matrix(fn, "grad_input", grad_input);
    ::recfuse::detail::check_same(fn, "grad_input.rows()", grad_input.rows(), "the batch",
                                  ws.batch_);
    ::recfuse::detail::check_same(fn, "grad_input.cols()", grad_input.cols(), "the mlp's inputs",
                                  net.inputs());
  }
  detail::backward_impl(policy, net, ws, grad_output, grad_parameters, grad_input, false);
}

}  // namespace recfuse::nn
