// recfuse Kokkos backend: host arrays (a model's std::vectors, a CSR built on the host) seen
// from the policy's execution space, for the kernels whose public functions take
// and return host objects.
//
// On a space that can read host memory (Serial, OpenMP, Threads) a staged array IS the host
// array: the kernels read and write it in place and nothing is copied. On a device space (Cuda,
// HIP, SYCL) it is a copy in the space's memory, made on the policy's instance, and store()
// copies it back to the host array and waits; so device fits copy the model there and back.
#pragma once

#include <type_traits>

#include <Kokkos_Core.hpp>

#include "recfuse/core/config.hpp"
#include "recfuse/kokkos/detail/buffer.hpp"
#include "recfuse/kokkos/policy.hpp"

namespace recfuse::kokkos_backend::detail {

template <class ExecSpace>
inline constexpr bool reads_host_memory =
    std::is_same_v<memory_space_of<ExecSpace>, ::recfuse::host_memory>;

// n elements at host (T may be const: an input that is never stored back).
template <class ExecSpace, class T>
class staged {
 public:
  using value_type = std::remove_const_t<T>;

  staged(const policy<ExecSpace>& p, const char* label, T* host, index_t n) : host_(host), n_(n) {
    if constexpr (reads_host_memory<ExecSpace>) {
      ptr_ = host;
    } else {
      copy_ = make_uninitialized_buffer<value_type>(p, label, n);
      Kokkos::deep_copy(p.instance, copy_, host_view<const value_type>(host_, n_));
      ptr_ = copy_.data();
    }
  }
  staged(const staged&) = delete;
  staged& operator=(const staged&) = delete;

  // The array in the space's memory.
  T* get() const { return ptr_; }

  // Waits for the kernels on p's instance and, on a device space, copies the array back.
  void store(const policy<ExecSpace>& p) const requires(!std::is_const_v<T>) {
    if constexpr (!reads_host_memory<ExecSpace>) {
      Kokkos::deep_copy(p.instance, host_view<value_type>(host_, n_), copy_);
    }
    p.instance.fence();
  }

 private:
  template <class U>
  static Kokkos::View<U*, Kokkos::HostSpace, Kokkos::MemoryUnmanaged> host_view(U* ptr, index_t n) {
    return {ptr, static_cast<std::size_t>(n)};
  }

  T* host_;
  index_t n_;
  T* ptr_ = nullptr;
  buffer<ExecSpace, value_type> copy_;  // empty on spaces that read host memory
};

// A std::vector (or anything with data() and size()) staged, writable or read-only.
template <class ExecSpace, class V>
staged<ExecSpace, typename V::value_type> stage(const policy<ExecSpace>& p, const char* label,
                                                V& v) {
  return {p, label, v.data(), static_cast<index_t>(v.size())};
}
template <class ExecSpace, class V>
staged<ExecSpace, const typename V::value_type> stage_const(const policy<ExecSpace>& p,
                                                            const char* label, const V& v) {
  return {p, label, v.data(), static_cast<index_t>(v.size())};
}

}  // namespace recfuse::kokkos_backend::detail
