// recfuse: adapters from containers to views.
//
// recfuse::as_vector(c) and recfuse::as_matrix(c) turn a container into a view without
// copying. They are a class template, recfuse::adapter<Container>, rather than overloads, so a
// backend header included later (thrust::device_vector, Kokkos::View) adds its own adapter and
// the generic code still finds it.
//
// Supported here: the views themselves, std::vector, std::span, and anything xtensor-shaped
// (xt::xtensor, xt::xarray, xt::adapt results: data(), shape(), strides(), dimension()), with
// row-major, unit-stride rows. The xtensor case is duck-typed so this header includes nothing
// from xtensor.
#pragma once

#include <concepts>
#include <cstddef>
#include <span>
#include <type_traits>
#include <vector>

#include "recfuse/core/views.hpp"

namespace recfuse {

template <class Container, class = void>
struct adapter;  // no adapter: as_vector / as_matrix do not accept this type

template <class T, class S>
struct adapter<vector_view<T, S>> {
  static constexpr vector_view<T, S> vector(vector_view<T, S> v) { return v; }
};

template <class T, class S>
struct adapter<matrix_view<T, S>> {
  static constexpr matrix_view<T, S> matrix(matrix_view<T, S> m) { return m; }
  static constexpr vector_view<T, S> vector(matrix_view<T, S> m) {
    if (!m.contiguous()) {
      detail::throw_error<shape_error>("recfuse::as_vector", "a matrix with stride ", m.stride(),
                                       " != cols ", m.cols(), " is not one contiguous vector");
    }
    return {m.data(), m.size()};
  }
};

template <class T, class Alloc>
struct adapter<std::vector<T, Alloc>> {
  static vector_view<T> vector(std::vector<T, Alloc>& v) {
    return {v.data(), static_cast<index_t>(v.size())};
  }
  static vector_view<const T> vector(const std::vector<T, Alloc>& v) {
    return {v.data(), static_cast<index_t>(v.size())};
  }
};

template <class T, std::size_t Extent>
struct adapter<std::span<T, Extent>> {
  static vector_view<T> vector(std::span<T, Extent> s) {
    return {s.data(), static_cast<index_t>(s.size())};
  }
};

namespace detail {

template <class C>
concept xtensor_like = requires(C& c) {
  c.data();
  c.shape();
  c.strides();
  { c.dimension() } -> std::convertible_to<std::size_t>;
  typename C::value_type;
};

// First element of an xtensor-like container: a view (xt::view, xt::row, strided views) shares
// its parent's data() and starts data_offset() elements into it.
template <class X>
auto* first_element(X& c) {
  if constexpr (requires { c.data_offset(); }) {
    return c.data() + c.data_offset();
  } else {
    return c.data();
  }
}

}  // namespace detail

template <class C>
struct adapter<C, std::enable_if_t<detail::xtensor_like<C>>> {
  template <class X>
  static auto vector(X& c) {
    using T = std::remove_pointer_t<decltype(c.data())>;
    if (c.dimension() != 1) {
      detail::throw_error<shape_error>("recfuse::as_vector", "expected a 1-d container, got ",
                                       c.dimension(), " dimensions");
    }
    const auto n = static_cast<index_t>(c.shape()[0]);
    if (n > 1 && c.strides()[0] != 1) {
      detail::throw_error<shape_error>("recfuse::as_vector", "stride ", c.strides()[0],
                                       " is not 1");
    }
    return vector_view<T>(detail::first_element(c), n);
  }
  template <class X>
  static auto matrix(X& c) {
    using T = std::remove_pointer_t<decltype(c.data())>;
    if (c.dimension() != 2) {
      detail::throw_error<shape_error>("recfuse::as_matrix", "expected a 2-d container, got ",
                                       c.dimension(), " dimensions");
    }
    const auto rows = static_cast<index_t>(c.shape()[0]);
    const auto cols = static_cast<index_t>(c.shape()[1]);
    const auto col_stride = static_cast<index_t>(c.strides()[1]);
    const auto row_stride = rows > 1 ? static_cast<index_t>(c.strides()[0]) : cols;
    if ((cols > 1 && col_stride != 1) || row_stride < cols) {
      detail::throw_error<shape_error>("recfuse::as_matrix",
                                       "need row-major rows of unit stride, got strides (",
                                       c.strides()[0], ", ", c.strides()[1], ")");
    }
    return matrix_view<T>(detail::first_element(c), rows, cols, row_stride);
  }
};

template <class C>
concept vector_like = requires(C&& c) {
  adapter<std::remove_cvref_t<C>>::vector(c);
};

template <class C>
concept matrix_like = requires(C&& c) {
  adapter<std::remove_cvref_t<C>>::matrix(c);
};

// A vector view of `c` (mutable when `c` is).
template <vector_like C>
constexpr auto as_vector(C&& c) {
  return adapter<std::remove_cvref_t<C>>::vector(c);
}

// A matrix view of `c`.
template <matrix_like C>
constexpr auto as_matrix(C&& c) {
  return adapter<std::remove_cvref_t<C>>::matrix(c);
}

// Element type and memory space of what as_vector / as_matrix give for C.
template <class C>
using vector_view_of = decltype(as_vector(std::declval<C&>()));
template <class C>
using matrix_view_of = decltype(as_matrix(std::declval<C&>()));

}  // namespace recfuse
