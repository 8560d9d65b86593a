// recfuse: external ids (any text, or integers) to dense indices 0..n-1, in first-seen order.
//
//   recfuse::io::id_map users;
//   index_t u = users.insert("alice");   // 0; inserting "alice" again returns 0
//   index_t v = users.insert(std::int64_t{196});  // an integer id is its decimal text, "196"
//   users.find("bob");                   // -1: not in the map
//   users.key(1);                        // "196"
//
// Lookups by std::string_view do not allocate (the hash and equality are transparent), and
// canonical decimal ids that are dense enough ("1".."943") skip the hash through a direct
// table, a few bytes per id. The map holds at most max_size() ids (INT32_MAX by default, since
// interactions store 32-bit indices); inserting a new id into a full map throws index_error.
// Not thread-safe for concurrent inserts.
#pragma once

#include <algorithm>
#include <charconv>
#include <climits>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "recfuse/core/config.hpp"
#include "recfuse/core/errors.hpp"

namespace recfuse::io {
namespace detail {

struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

}  // namespace detail

class id_map {
 public:
  static constexpr index_t default_max_size = INT32_MAX;

  id_map() = default;
  // A map that accepts at most `max_size` ids (1 <= max_size <= INT32_MAX).
  explicit id_map(index_t max_size) : max_size_(max_size) {
    if (max_size < 1 || max_size > default_max_size) {
      recfuse::detail::throw_error<value_error>("recfuse::io::id_map", "max_size is ", max_size,
                                                " (need 1 <= max_size <= ", default_max_size, ")");
    }
  }

  // The index of `key`, adding it at index size() when it is new.
  index_t insert(std::string_view key) {
    std::uint32_t v = 0;
    const bool small = small_decimal(key, v);
    if (small && v < direct_.size()) {
      if (direct_[v] >= 0) return direct_[v];
      return add_direct(key, v);
    }
    if (const auto it = index_.find(key); it != index_.end()) return it->second;
    if (small && v < grow_bound()) return add_direct(key, v);
    const std::int32_t at = add(key);
    if (small) sparse_.emplace_back(v, at);
    return at;
  }
  index_t insert(std::int64_t key) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, key);
    return insert(std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)));
  }

  // The index of `key`, or -1 when it is not in the map.
  index_t find(std::string_view key) const {
    std::uint32_t v = 0;
    if (small_decimal(key, v) && v < direct_.size()) return direct_[v];
    const auto it = index_.find(key);
    return it == index_.end() ? -1 : it->second;
  }
  index_t find(std::int64_t key) const {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, key);
    return find(std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)));
  }
  bool contains(std::string_view key) const { return find(key) >= 0; }

  // The external id at `index`; index_error outside [0, size()).
  const std::string& key(index_t index) const {
    if (index < 0 || index >= size()) {
      recfuse::detail::throw_error<index_error>("recfuse::io::id_map::key", "index ", index,
                                                " is outside [0, ", size(), ")");
    }
    return keys_[static_cast<std::size_t>(index)];
  }
  // Every id, by index.
  const std::vector<std::string>& keys() const { return keys_; }

  index_t size() const { return static_cast<index_t>(keys_.size()); }
  bool empty() const { return keys_.empty(); }
  index_t max_size() const { return max_size_; }
  void reserve(index_t n) {
    if (n <= 0) return;
    keys_.reserve(static_cast<std::size_t>(n));
    index_.reserve(static_cast<std::size_t>(n));
  }
  void clear() {
    keys_.clear();
    index_.clear();
    direct_.clear();
    sparse_.clear();
  }

 private:
  // Canonical decimal ids ("0", "17", not "017" or "+5") below direct_limit can live in a
  // direct table, direct_[v] = index of the id "v" (or -1), kept at most a few times larger
  // than the number of ids. Invariant: every canonical id v < direct_.size() in the map is in
  // direct_; those above it are in sparse_ (and in the hash map) until the table grows.
  static constexpr std::uint32_t direct_limit = std::uint32_t{1} << 26;

  static bool small_decimal(std::string_view s, std::uint32_t& v) {
    if (s.empty() || s.size() > 8 || (s[0] == '0' && s.size() > 1)) return false;
    std::uint32_t x = 0;
    for (const char c : s) {
      const auto d = static_cast<std::uint32_t>(static_cast<unsigned char>(c) - '0');
      if (d > 9) return false;
      x = x * 10 + d;
    }
    v = x;
    return x < direct_limit;
  }
  std::uint32_t grow_bound() const {
    const std::size_t bound = std::max<std::size_t>(4096, 8 * (keys_.size() + 1));
    return static_cast<std::uint32_t>(std::min<std::size_t>(bound, direct_limit));
  }
  // Adds a key known to be new.
  std::int32_t add(std::string_view key) {
    if (size() >= max_size_) {
      recfuse::detail::throw_error<index_error>("recfuse::io::id_map::insert", "cannot add id \"",
                                                key, "\": the map already holds ", size(),
                                                " ids, its maximum");
    }
    const auto next = static_cast<std::int32_t>(keys_.size());
    keys_.emplace_back(key);
    try {
      index_.emplace(keys_.back(), next);
    } catch (...) {
      keys_.pop_back();
      throw;
    }
    return next;
  }
  // Adds the new canonical id v, growing the table to hold it first.
  std::int32_t add_direct(std::string_view key, std::uint32_t v) {
    if (v >= direct_.size()) {
      std::size_t n = std::max<std::size_t>(direct_.size() * 2, 4096);
      while (n <= v) n *= 2;
      n = std::min<std::size_t>(n, direct_limit);
      direct_.resize(n, -1);
      // Ids that were too far out before now fall inside the table.
      std::size_t kept = 0;
      for (const auto& [id, at] : sparse_) {
        if (id < n) {
          direct_[id] = at;
        } else {
          sparse_[kept++] = {id, at};
        }
      }
      sparse_.resize(kept);
    }
    const std::int32_t at = add(key);
    direct_[v] = at;
    return at;
  }

  std::unordered_map<std::string, std::int32_t, detail::string_hash, std::equal_to<>> index_;
  std::vector<std::string> keys_;
  std::vector<std::int32_t> direct_;
  std::vector<std::pair<std::uint32_t, std::int32_t>> sparse_;
  index_t max_size_ = default_max_size;
};

}  // namespace recfuse::io
