// recfuse Thrust backend: the activations of recfuse/nn/activation.hpp as host/device functions
// (the public ones are host-only), for the functors of the nn kernels and of layers built on
// them. Same formulas in T as nn::activate / nn::activation_derivative; exp is expf for float
// and exp for double (the CUDA and host libraries may round them differently by an ulp).
#pragma once

#include <cmath>

#include "recfuse/nn/activation.hpp"
#include "recfuse/thrust/policy.hpp"

namespace recfuse::thrust_backend::detail {

RECFUSE_HOST_DEVICE inline float exp_of(float z) { return ::expf(z); }
RECFUSE_HOST_DEVICE inline double exp_of(double z) { return ::exp(z); }

// nn::activate: relu keeps NaN (z == z is false only for NaN).
template <class T>
RECFUSE_HOST_DEVICE inline T apply_activation(nn::activation a, T z) {
  if (a == nn::activation::relu) return z > T(0) ? z : (z == z ? T(0) : z);
  if (a == nn::activation::sigmoid) return T(1) / (T(1) + exp_of(-z));
  return z;
}

// d = g * act'(y), as the reference's activation_backward: relu selects g where y > 0 (no NaN
// from where it is flat), sigmoid multiplies by y (1 - y), identity passes g.
template <class T>
RECFUSE_HOST_DEVICE inline T backprop_activation(nn::activation a, T y, T g) {
  if (a == nn::activation::relu) return y > T(0) ? g : T(0);
  if (a == nn::activation::sigmoid) return g * (y * (T(1) - y));
  return g * T(1);
}

}  // namespace recfuse::thrust_backend::detail
