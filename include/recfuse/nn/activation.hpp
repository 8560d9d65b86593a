// recfuse: the activations of the MLP scorer and the graph layer.
//
//   identity: a(z) = z           relu: a(z) = max(z, 0)          sigmoid: a(z) = 1 / (1 + e^-z)
//
// Derivatives are taken from the activation's output y (as backpropagation has it at hand):
// identity 1, relu 1 where y > 0 else 0 (0 at z = 0, as PyTorch), sigmoid y * (1 - y).
// NaN propagates through identity and sigmoid; relu(NaN) is NaN (std::max would hide it).
//
// activate, activation_derivative and activation_backprop are RECFUSE_HOST_DEVICE: the device
// backends' kernels call them (exp is ::expf for float and ::exp for double, the functions
// std::exp calls on the host).
#pragma once

#include <cmath>
#include <string_view>
#include <type_traits>

#include "recfuse/core/config.hpp"
#include "recfuse/core/errors.hpp"

namespace recfuse::nn {

enum class activation { identity, relu, sigmoid };

inline const char* activation_name(activation a) {
  switch (a) {
    case activation::identity:
      return "identity";
    case activation::relu:
      return "relu";
    case activation::sigmoid:
      return "sigmoid";
  }
  return "unknown";
}

// Parses "identity", "relu" or "sigmoid"; a value_error naming `function` otherwise.
inline activation parse_activation(const char* function, std::string_view name) {
  if (name == "identity" || name == "linear") return activation::identity;
  if (name == "relu") return activation::relu;
  if (name == "sigmoid") return activation::sigmoid;
  detail::throw_error<value_error>(function, "unknown activation '", name,
                                   "' (expected identity, relu or sigmoid)");
}

template <class T>
RECFUSE_HOST_DEVICE inline T activate(activation a, T z) {
  switch (a) {
    case activation::relu:
      return z > T(0) ? z : (z == z ? T(0) : z);
    case activation::sigmoid:
      if constexpr (std::is_same_v<T, float>) {
        return T(1) / (T(1) + ::expf(-z));
      } else {
        return T(1) / (T(1) + ::exp(-z));
      }
    case activation::identity:
      break;
  }
  return z;
}

// d a / d z expressed through the output y = a(z).
template <class T>
RECFUSE_HOST_DEVICE inline T activation_derivative(activation a, T y) {
  switch (a) {
    case activation::relu:
      return y > T(0) ? T(1) : T(0);
    case activation::sigmoid:
      return y * (T(1) - y);
    case activation::identity:
      break;
  }
  return T(1);
}

// g * act'(y), the gradient through the activation given its output y. relu selects (g where
// y > 0, else 0) as PyTorch's threshold_backward does, so it passes no NaN from where it is flat.
template <class T>
RECFUSE_HOST_DEVICE inline T activation_backprop(activation a, T y, T g) {
  return a == activation::relu ? (y > T(0) ? g : T(0)) : g * activation_derivative(a, y);
}

}  // namespace recfuse::nn
