// recfuse: owning sparse containers for interactions, on the host.
//
//   recfuse::interactions<float> data;          // COO: user, item, value (+ optional time)
//   auto by_user = recfuse::to_csr(data.view());                      // users x items
//   auto by_item = recfuse::to_csr(data.view(), recfuse::csr_by::item);  // items x users
//
// Ids are dense 32-bit indices (io::id_map turns arbitrary ids into them); offsets are 64-bit.
// Duplicate (user, item) pairs are kept as separate entries, in input order, by every
// conversion here: a rating given twice is two observations, for SGD and ALS alike.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "recfuse/core/errors.hpp"
#include "recfuse/core/views.hpp"

namespace recfuse {

// A non-owning COO view of interactions: entry e is (user[e], item[e], value[e]).
template <class T>
struct interactions_view {
  index_t users = 0;
  index_t items = 0;
  vector_view<const std::int32_t> user;
  vector_view<const std::int32_t> item;
  vector_view<const T> value;

  constexpr index_t size() const { return value.size(); }
};

// Owning COO interactions. `time` is empty when the source had no timestamps.
template <class T>
struct interactions {
  index_t users = 0;
  index_t items = 0;
  std::vector<std::int32_t> user;
  std::vector<std::int32_t> item;
  std::vector<T> value;
  std::vector<std::int64_t> time;

  index_t size() const { return static_cast<index_t>(value.size()); }
  interactions_view<T> view() const {
    return {users,
            items,
            {user.data(), static_cast<index_t>(user.size())},
            {item.data(), static_cast<index_t>(item.size())},
            {value.data(), static_cast<index_t>(value.size())}};
  }
};

// Owning CSR with 64-bit offsets and Index column ids.
template <class T, class Index = std::int32_t>
struct csr_matrix {
  index_t rows = 0;
  index_t cols = 0;
  std::vector<index_t> offsets{0};
  std::vector<Index> indices;
  std::vector<T> values;

  index_t nnz() const { return static_cast<index_t>(indices.size()); }
  csr_view<T, Index> view() const {
    return {rows, cols, offsets.data(), indices.data(), values.data()};
  }
  csr_pattern_view<Index> pattern() const { return {rows, cols, offsets.data(), indices.data()}; }
};

enum class csr_by { user, item };

namespace detail {

// Checks a COO view at an API boundary: equal lengths, ids in range, and (unless allow_non_finite)
// finite values. Names the first offending entry.
template <class T>
void check_interactions(const char* function, const char* name, const interactions_view<T>& d,
                        bool allow_non_finite = false) {
  if (d.users < 0 || d.items < 0) {
    throw_error<shape_error>(function, name, " has users = ", d.users, ", items = ", d.items);
  }
  if (d.users > INT32_MAX || d.items > INT32_MAX) {
    throw_error<shape_error>(function, name, " has users = ", d.users, ", items = ", d.items,
                             "; ids are 32-bit, so each must be at most ", INT32_MAX);
  }
  check_vector(function, "user ids", d.user);
  check_vector(function, "item ids", d.item);
  check_vector(function, "values", d.value);
  check_same(function, "user ids size", d.user.size(), "values size", d.value.size());
  check_same(function, "item ids size", d.item.size(), "values size", d.value.size());
  for (index_t e = 0; e < d.size(); ++e) {
    if (d.user[e] < 0 || d.user[e] >= d.users) {
      throw_error<index_error>(function, name, " entry ", e, " has user id ", d.user[e],
                               ", outside [0, ", d.users, ")");
    }
    if (d.item[e] < 0 || d.item[e] >= d.items) {
      throw_error<index_error>(function, name, " entry ", e, " has item id ", d.item[e],
                               ", outside [0, ", d.items, ")");
    }
    if (!allow_non_finite && !std::isfinite(d.value[e])) {
      throw_error<value_error>(function, name, " entry ", e, " (user ", d.user[e], ", item ",
                               d.item[e], ") has value ", d.value[e]);
    }
  }
}

}  // namespace detail

// COO -> CSR by a counting sort: stable, so entries of a row keep their input order (rows are
// not sorted by column). Ids must already be in range (check_interactions).
template <class T>
csr_matrix<T> to_csr(const interactions_view<T>& d, csr_by by = csr_by::user) {
  const bool by_user = by == csr_by::user;
  csr_matrix<T> m;
  m.rows = by_user ? d.users : d.items;
  m.cols = by_user ? d.items : d.users;
  const auto& row_ids = by_user ? d.user : d.item;
  const auto& col_ids = by_user ? d.item : d.user;
  m.offsets.assign(static_cast<std::size_t>(m.rows + 1), 0);
  for (index_t e = 0; e < d.size(); ++e) ++m.offsets[static_cast<std::size_t>(row_ids[e]) + 1];
  for (index_t r = 0; r < m.rows; ++r) m.offsets[r + 1] += m.offsets[r];
  std::vector<index_t> next(m.offsets.begin(), m.offsets.end() - 1);
  m.indices.resize(static_cast<std::size_t>(d.size()));
  m.values.resize(static_cast<std::size_t>(d.size()));
  for (index_t e = 0; e < d.size(); ++e) {
    const index_t at = next[static_cast<std::size_t>(row_ids[e])]++;
    m.indices[at] = col_ids[e];
    m.values[at] = d.value[e];
  }
  return m;
}

// The transpose of a CSR matrix (stable: each new row lists its entries in old-row order).
template <class T, class Index>
csr_matrix<T, Index> transpose(const csr_matrix<T, Index>& a) {
  csr_matrix<T, Index> t;
  t.rows = a.cols;
  t.cols = a.rows;
  t.offsets.assign(static_cast<std::size_t>(t.rows + 1), 0);
  for (const Index c : a.indices) ++t.offsets[static_cast<std::size_t>(c) + 1];
  for (index_t r = 0; r < t.rows; ++r) t.offsets[r + 1] += t.offsets[r];
  std::vector<index_t> next(t.offsets.begin(), t.offsets.end() - 1);
  t.indices.resize(a.indices.size());
  t.values.resize(a.values.size());
  for (index_t r = 0; r < a.rows; ++r) {
    for (index_t e = a.offsets[r]; e < a.offsets[r + 1]; ++e) {
      const index_t at = next[static_cast<std::size_t>(a.indices[e])]++;
      t.indices[at] = static_cast<Index>(r);
      t.values[at] = a.values[e];
    }
  }
  return t;
}

}  // namespace recfuse
