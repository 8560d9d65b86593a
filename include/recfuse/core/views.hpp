// recfuse: non-owning views (dense vector, row-major dense matrix, CSR) and their checks.
//
// A view is a pointer, extents, a row stride and a memory-space tag; it is cheap to copy and
// owns nothing. Public functions take any container that an adapter (core/adapt.hpp) turns
// into a view, and normalise it at once to a view of const elements, so each kernel is
// instantiated once per element type rather than once per container.
#pragma once

#include <cstdint>
#include <type_traits>

#include "recfuse/core/config.hpp"
#include "recfuse/core/errors.hpp"
#include "recfuse/core/memory.hpp"

namespace recfuse {

// A contiguous run of `size` elements.
template <class T, class Space = host_memory>
class vector_view {
 public:
  using element_type = T;
  using value_type = std::remove_cv_t<T>;
  using memory_space = Space;

  constexpr vector_view() = default;
  constexpr vector_view(T* data, index_t size) : data_(data), size_(size) {}
  // A view of T converts to a view of const T.
  template <class U>
  requires(std::is_same_v<const U, T> && !std::is_same_v<U, T>) constexpr vector_view(
      const vector_view<U, Space>& other)  // NOLINT(google-explicit-constructor)
      : data_(other.data()), size_(other.size()) {}

  constexpr T* data() const { return data_; }
  constexpr index_t size() const { return size_; }
  constexpr bool empty() const { return size_ == 0; }
  // Kernels index within the extents the public function checked: asserted in builds without
  // NDEBUG (the sanitizer suite), free otherwise.
  constexpr T& operator[](index_t i) const {
    RECFUSE_ASSERT(i >= 0 && i < size_);
    return data_[i];
  }
  constexpr T* begin() const { return data_; }
  constexpr T* end() const { return data_ + size_; }

 private:
  T* data_ = nullptr;
  index_t size_ = 0;
};

// A rows x cols row-major matrix whose row i starts at data + i * stride (stride >= cols).
template <class T, class Space = host_memory>
class matrix_view {
 public:
  using element_type = T;
  using value_type = std::remove_cv_t<T>;
  using memory_space = Space;

  constexpr matrix_view() = default;
  constexpr matrix_view(T* data, index_t rows, index_t cols)
      : data_(data), rows_(rows), cols_(cols), stride_(cols) {}
  constexpr matrix_view(T* data, index_t rows, index_t cols, index_t stride)
      : data_(data), rows_(rows), cols_(cols), stride_(stride) {}
  template <class U>
  requires(std::is_same_v<const U, T> && !std::is_same_v<U, T>) constexpr matrix_view(
      const matrix_view<U, Space>& other)  // NOLINT(google-explicit-constructor)
      : data_(other.data()), rows_(other.rows()), cols_(other.cols()), stride_(other.stride()) {}

  constexpr T* data() const { return data_; }
  constexpr index_t rows() const { return rows_; }
  constexpr index_t cols() const { return cols_; }
  constexpr index_t stride() const { return stride_; }
  constexpr index_t size() const { return rows_ * cols_; }
  constexpr bool empty() const { return rows_ == 0 || cols_ == 0; }
  constexpr bool contiguous() const { return stride_ == cols_ || rows_ <= 1; }
  constexpr T* row(index_t i) const { return data_ + i * stride_; }
  constexpr T& operator()(index_t i, index_t j) const {
    RECFUSE_ASSERT(i >= 0 && i < rows_ && j >= 0 && j < cols_);
    return data_[i * stride_ + j];
  }

 private:
  T* data_ = nullptr;
  index_t rows_ = 0;
  index_t cols_ = 0;
  index_t stride_ = 0;
};

// The sparsity pattern of a rows x cols CSR matrix: row i holds the column ids
// indices[offsets[i] .. offsets[i + 1]). Offsets are 64-bit; column ids are Index.
template <class Index = std::int32_t, class Space = host_memory>
class csr_pattern_view {
 public:
  using index_type = Index;
  using memory_space = Space;

  constexpr csr_pattern_view() = default;
  constexpr csr_pattern_view(index_t rows, index_t cols, const index_t* offsets,
                             const Index* indices)
      : rows_(rows), cols_(cols), offsets_(offsets), indices_(indices) {}

  constexpr index_t rows() const { return rows_; }
  constexpr index_t cols() const { return cols_; }
  constexpr const index_t* offsets() const { return offsets_; }
  constexpr const Index* indices() const { return indices_; }
  // Number of stored entries; valid for host views whose offsets have been checked.
  constexpr index_t nnz() const { return rows_ == 0 || offsets_ == nullptr ? 0 : offsets_[rows_]; }
  constexpr index_t row_size(index_t i) const { return offsets_[i + 1] - offsets_[i]; }
  constexpr const Index* row_begin(index_t i) const { return indices_ + offsets_[i]; }
  constexpr const Index* row_end(index_t i) const { return indices_ + offsets_[i + 1]; }

 private:
  index_t rows_ = 0;
  index_t cols_ = 0;
  const index_t* offsets_ = nullptr;
  const Index* indices_ = nullptr;
};

// A CSR matrix: a pattern plus one value per stored entry. Functions that need only the
// pattern (exclusion lists, relevant items) take csr_pattern_view and accept this too.
template <class T, class Index = std::int32_t, class Space = host_memory>
class csr_view : public csr_pattern_view<Index, Space> {
 public:
  using value_type = std::remove_cv_t<T>;

  constexpr csr_view() = default;
  constexpr csr_view(index_t rows, index_t cols, const index_t* offsets, const Index* indices,
                     const T* values)
      : csr_pattern_view<Index, Space>(rows, cols, offsets, indices), values_(values) {}

  constexpr const T* values() const { return values_; }
  constexpr const csr_pattern_view<Index, Space>& pattern() const { return *this; }

 private:
  const T* values_ = nullptr;
};

// Normalisation to views of const elements, so one kernel instantiation serves T and const T.
template <class T, class S>
constexpr vector_view<const T, S> as_const(vector_view<T, S> v) {
  return v;
}
template <class T, class S>
constexpr matrix_view<const T, S> as_const(matrix_view<T, S> m) {
  return m;
}

namespace detail {

inline void check_same(const char* function, const char* what_a, index_t a, const char* what_b,
                       index_t b) {
  if (a != b) {
    throw_error<shape_error>(function, what_a, " is ", a, " but ", what_b, " is ", b);
  }
}

template <class M>
void check_matrix(const char* function, const char* name, const M& m) {
  if (m.rows() < 0 || m.cols() < 0 || m.stride() < m.cols()) {
    throw_error<shape_error>(function, name, " has rows = ", m.rows(), ", cols = ", m.cols(),
                             ", stride = ", m.stride(), " (need rows, cols >= 0, stride >= cols)");
  }
  if (m.data() == nullptr && m.rows() > 0 && m.cols() > 0) {
    throw_error<value_error>(function, name, " is ", m.rows(), " x ", m.cols(),
                             " but its data pointer is null");
  }
}

template <class V>
void check_vector(const char* function, const char* name, const V& v) {
  if (v.size() < 0) throw_error<shape_error>(function, name, " has negative size ", v.size());
  if (v.data() == nullptr && v.size() > 0) {
    throw_error<value_error>(function, name, " has ", v.size(), " elements but a null pointer");
  }
}

// Validates a host CSR pattern: offsets[0] == 0, non-decreasing offsets, every column id in
// [0, cols). O(rows + nnz); callers run it once at the API boundary.
template <class Index>
void check_csr(const char* function, const char* name,
               const csr_pattern_view<Index, host_memory>& p) {
  if (p.rows() < 0 || p.cols() < 0) {
    throw_error<shape_error>(function, name, " has rows = ", p.rows(), ", cols = ", p.cols());
  }
  if (p.rows() == 0) return;
  if (p.offsets() == nullptr) throw_error<value_error>(function, name, " has null offsets");
  if (p.offsets()[0] != 0) {
    throw_error<index_error>(function, name, " offsets[0] is ", p.offsets()[0], ", expected 0");
  }
  for (index_t i = 0; i < p.rows(); ++i) {
    if (p.offsets()[i + 1] < p.offsets()[i]) {
      throw_error<index_error>(function, name, " offsets decrease at row ", i, ": offsets[", i,
                               "] = ", p.offsets()[i], ", offsets[", i + 1,
                               "] = ", p.offsets()[i + 1]);
    }
  }
  const index_t nnz = p.offsets()[p.rows()];
  if (nnz > 0 && p.indices() == nullptr) {
    throw_error<value_error>(function, name, " has ", nnz, " entries but null indices");
  }
  for (index_t i = 0; i < p.rows(); ++i) {
    for (index_t e = p.offsets()[i]; e < p.offsets()[i + 1]; ++e) {
      const auto c = static_cast<index_t>(p.indices()[e]);
      if (c < 0 || c >= p.cols()) {
        throw_error<index_error>(function, name, " row ", i, " holds column id ", c,
                                 ", outside [0, ", p.cols(), ")");
      }
    }
  }
}

}  // namespace detail
}  // namespace recfuse
