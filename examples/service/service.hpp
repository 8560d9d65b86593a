// recfuse-service's state: the immutable model readers score against, the mutable store of
// ratings and folded-in users, the background refit that swaps in a new model, and the
// durability (snapshot + fsync'ed event journal). No HTTP here; main.cpp serves it.
//
// Concurrency (docs/service.md, "Model swap"):
// - model_state is immutable once published. current() copies a shared_ptr under a mutex that is
//   held for that copy only, so a reader never waits for a refit and keeps its model alive for
//   as long as it scores against it; a refit builds the next state aside and publishes it with one
//   pointer store.
// - store_mutex_ (shared) guards the ids, every user's rated items and folded-in factors, titles
//   and counters. Readers hold it shared for a copy of one user's row (microseconds).
// - ingest_mutex_ serialises event batches: journal append + fsync, apply to the store, fold-in.
//   The refit takes it only to capture a consistent cut (sequence number S and every rating up to
//   S) and to publish, never while it solves.
//
// Durability: every event gets a sequence number. POST /events returns only after its batch is
// appended to snapshot_dir/journal and fdatasync'ed. A snapshot writes model-<version>.rfm
// (recfuse::save_model) and then state.rfa (ids, titles, every rating up to S, S itself, the
// model's file name), both with the library's atomic write (temp file, fsync, rename), and only
// then rewrites the journal to the events after S. A restart loads state.rfa and its model and
// replays the journal's events after S, so an acknowledged event is always in one of the two.
#pragma once

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "recfuse/factorize.hpp"
#include "recfuse/io/archive.hpp"
#include "recfuse/io/id_map.hpp"
#if __has_include("recfuse/xsimd/all.hpp")
#include "recfuse/xsimd/all.hpp"
#endif

namespace service {

using recfuse::index_t;

// The policy every request scores with, one thread each (the HTTP pool gives the parallelism).
// With the Thrust backend built, exec::thrust<thrust::cuda::tag> here would score on the GPU
// (docs/service.md, "Threads and policies").
#if __has_include("recfuse/xsimd/all.hpp")
using policy = recfuse::exec::xsimd;
inline policy request_policy() { return policy{1}; }
inline const char* policy_name = "xsimd";
#else
using policy = recfuse::exec::reference;
inline policy request_policy() { return policy{}; }
inline const char* policy_name = "reference";
#endif

struct limits {
  index_t max_users = 1000000;
  index_t max_items = 100000;
  index_t max_pending_events = 100000;
  long long max_ratings = 20000000;
  index_t max_k = 1000;
};

// What readers score against; never changed once published.
struct model_state {
  std::uint64_t version = 0;
  std::uint64_t seq = 0;  // events included in the fit
  recfuse::biased_mf_model<float> model;
  std::vector<float> scoring;         // items x (factors + 1): [q_i, b_i]
  std::vector<float> unit;            // items x factors: q_i / |q_i|, 0 for a zero row
  std::vector<std::int32_t> popular;  // the model's items by number of ratings, most first
  index_t width() const { return model.factors + 1; }
};

struct rating {
  std::int32_t item;
  float value;
};

struct user_row {
  std::vector<rating> rated;  // sorted by item, one entry per item (a new value replaces)
  bool folded = false;        // factors below are newer than the model's row
  std::uint64_t folded_seq = 0;
  float bias = 0;
  std::vector<float> factors;
};

struct event {
  std::uint64_t seq = 0;
  std::string user, item;
  float value = 0;
};

// A request error: HTTP status, message and the field at fault.
struct request_error : std::runtime_error {
  int status;
  std::string field;
  request_error(int s, std::string f, const std::string& message)
      : std::runtime_error(message), status(s), field(std::move(f)) {}
};

// Ids in the API are the ratings file's ids: 1..64 bytes, no whitespace or control characters
// (the journal and the snapshot store them as text, one per field / line).
inline bool valid_key(std::string_view k) {
  if (k.empty() || k.size() > 64) return false;
  for (const unsigned char c : k)
    if (c <= ' ' || c == 0x7f) return false;
  return true;
}

inline std::string join_lines(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    out += s;
    out += '\n';
  }
  return out;
}

inline std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < s.size()) {
    const std::size_t end = s.find('\n', start);
    out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

inline std::shared_ptr<const model_state> make_state(recfuse::biased_mf_model<float> m,
                                                     std::uint64_t version, std::uint64_t seq,
                                                     const std::vector<std::int64_t>& counts) {
  auto s = std::make_shared<model_state>();
  s->version = version;
  s->seq = seq;
  s->model = std::move(m);
  const index_t n = s->model.items, f = s->model.factors;
  s->scoring.resize(static_cast<std::size_t>(n * (f + 1)));
  s->unit.resize(static_cast<std::size_t>(n * f));
  for (index_t i = 0; i < n; ++i) {
    const float* q = s->model.item_factors.data() + i * f;
    double norm = 0;
    for (index_t c = 0; c < f; ++c) {
      s->scoring[i * (f + 1) + c] = q[c];
      norm += static_cast<double>(q[c]) * q[c];
    }
    s->scoring[i * (f + 1) + f] = s->model.item_bias[i];
    const double scale = norm > 0 ? 1.0 / std::sqrt(norm) : 0.0;
    for (index_t c = 0; c < f; ++c) s->unit[i * f + c] = static_cast<float>(q[c] * scale);
  }
  s->popular.resize(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) s->popular[i] = static_cast<std::int32_t>(i);
  auto count = [&](std::int32_t i) {
    return static_cast<std::size_t>(i) < counts.size() ? counts[i] : std::int64_t{0};
  };
  std::stable_sort(s->popular.begin(), s->popular.end(),
                   [&](std::int32_t a, std::int32_t b) { return count(a) > count(b); });
  return s;
}

// The starting point: a model with the ids, ratings and titles it was fit on.
struct initial_data {
  recfuse::biased_mf_model<float> model;
  recfuse::io::id_map users, items;
  recfuse::interactions<float> ratings;  // internal ids of users / items
  std::vector<std::string> titles;       // per item, UTF-8 (may be empty)
};

class service {
 public:
  service(std::filesystem::path snapshot_dir, limits lim, recfuse::als_options als)
      : dir_(std::move(snapshot_dir)), limits_(lim), als_(als) {}
  service(const service&) = delete;
  service& operator=(const service&) = delete;
  ~service() {
    if (journal_fd_ >= 0) ::close(journal_fd_);
  }

  const limits& limits_in_use() const { return limits_; }
  bool durable() const { return !dir_.empty(); }
  std::filesystem::path state_file() const { return dir_ / "state.rfa"; }
  std::filesystem::path journal_file() const { return dir_ / "journal"; }

  // ---- start ---------------------------------------------------------------------------------

  // A fresh start from `d`; with a snapshot directory, writes the first snapshot at once, so that
  // the journal always has a base to be replayed on.
  void start(initial_data d) {
    users_ = std::move(d.users);
    items_ = std::move(d.items);
    titles_ = std::move(d.titles);
    titles_.resize(static_cast<std::size_t>(items_.size()));
    rows_.assign(static_cast<std::size_t>(users_.size()), {});
    counts_.assign(static_cast<std::size_t>(items_.size()), 0);
    for (index_t e = 0; e < d.ratings.size(); ++e)
      set_rating(d.ratings.user[e], d.ratings.item[e], d.ratings.value[e]);
    publish(make_state(std::move(d.model), 1, 0, counts_));
    if (durable()) {
      std::filesystem::create_directories(dir_);
      write_snapshot(capture(true));
      open_journal();
    }
  }

  // A restart from the snapshot directory: state.rfa, its model, then the journal's events after
  // the snapshot, refit and snapshotted at once. false when the directory holds no snapshot.
  bool resume() {
    if (!durable() || !std::filesystem::exists(state_file())) return false;
    const auto a = recfuse::io::load_archive(state_file());
    if (a.kind() != "recfuse_service_state")
      throw std::runtime_error(state_file().string() + " is not a recfuse-service state file");
    const auto seq = static_cast<std::uint64_t>(a.scalar("seq"));
    const auto version = static_cast<std::uint64_t>(a.scalar("version"));
    auto model = recfuse::load_biased_mf_model<float>(dir_ / a.string("model_file"));
    for (const auto& k : split_lines(a.string("user_keys"))) users_.insert(k);
    for (const auto& k : split_lines(a.string("item_keys"))) items_.insert(k);
    titles_ = split_lines(a.string("titles"));
    titles_.resize(static_cast<std::size_t>(items_.size()));
    if (model.users > users_.size() || model.items > items_.size())
      throw std::runtime_error("the snapshot's model has more users or items than its ids");
    rows_.assign(static_cast<std::size_t>(users_.size()), {});
    counts_.assign(static_cast<std::size_t>(items_.size()), 0);
    const auto u = a.array<std::int32_t>("user"), i = a.array<std::int32_t>("item");
    const auto v = a.array<float>("value");
    if (u.size() != i.size() || u.size() != v.size())
      throw std::runtime_error("the snapshot's rating arrays differ in length");
    for (std::size_t e = 0; e < u.size(); ++e) {
      if (u[e] < 0 || u[e] >= users_.size() || i[e] < 0 || i[e] >= items_.size())
        throw std::runtime_error("the snapshot holds a rating with an id outside its maps");
      set_rating(u[e], i[e], v[e]);
    }
    seq_ = snapshot_seq_ = seq;
    publish(make_state(std::move(model), version, seq, counts_));
    // Users and items the model lacks (a snapshot never has them, but a model written before
    // its state file could) are refit with the journal's events.
    for (index_t x = current()->model.users; x < users_.size(); ++x) dirty_user(x);
    for (index_t x = current()->model.items; x < items_.size(); ++x) dirty_item(x);
    replayed_ = replay_journal(seq);
    refit(true);
    open_journal();
    return true;
  }

  // ---- readers -------------------------------------------------------------------------------

  std::shared_ptr<const model_state> current() const {
    std::lock_guard lock(model_mutex_);
    return model_;
  }

  // One user's row as a reader sees it now.
  struct user_view {
    index_t id = -1;
    std::vector<rating> rated;
    bool has_factors = false;
    float bias = 0;
    std::vector<float> factors;
  };
  user_view user(const std::string& key, const model_state& m) const {
    user_view v;
    std::shared_lock lock(store_mutex_);
    v.id = users_.find(key);
    if (v.id < 0) return v;
    const user_row& r = rows_[v.id];
    v.rated = r.rated;
    if (r.folded) {
      v.has_factors = true;
      v.bias = r.bias;
      v.factors = r.factors;
    } else if (v.id < m.model.users) {
      v.has_factors = true;
      v.bias = m.model.user_bias[v.id];
      const float* p = m.model.user_factors.data() + v.id * m.model.factors;
      v.factors.assign(p, p + m.model.factors);
    }
    return v;
  }

  index_t find_item(const std::string& key) const {
    std::shared_lock lock(store_mutex_);
    return items_.find(key);
  }

  // Keys and titles of internal item ids, in the order given.
  void describe_items(const std::vector<std::int32_t>& ids, std::vector<std::string>& keys,
                      std::vector<std::string>& titles) const {
    std::shared_lock lock(store_mutex_);
    keys.clear();
    titles.clear();
    for (const auto i : ids) {
      keys.push_back(items_.key(i));
      titles.push_back(titles_[static_cast<std::size_t>(i)]);
    }
  }

  std::vector<std::string> all_titles(index_t n) const {
    std::shared_lock lock(store_mutex_);
    return {titles_.begin(), titles_.begin() + std::min<index_t>(n, items_.size())};
  }

  struct counters {
    std::uint64_t events, snapshot_seq, snapshots, replayed, refits;
    index_t users, items, pending;
    long long ratings;
  };
  counters stats() const {
    std::shared_lock lock(store_mutex_);
    return {seq_.load(),   snapshot_seq_.load(), snapshots_.load(), replayed_,     refits_.load(),
            users_.size(), items_.size(),        pending_,          total_ratings_};
  }

  // ---- events --------------------------------------------------------------------------------

  // Applies a validated batch: journal (fdatasync), store, fold-in of every user in it. Returns
  // the last sequence number. request_error 429 when a limit would be exceeded (nothing applied).
  std::uint64_t ingest(std::vector<event> batch) {
    std::lock_guard ingest(ingest_mutex_);
    {
      std::shared_lock lock(store_mutex_);
      std::vector<std::string_view> new_users, new_items;
      for (const auto& e : batch) {
        if (users_.find(e.user) < 0) new_users.push_back(e.user);
        if (items_.find(e.item) < 0) new_items.push_back(e.item);
      }
      const auto distinct = [](std::vector<std::string_view>& v) {
        std::sort(v.begin(), v.end());
        return static_cast<index_t>(std::unique(v.begin(), v.end()) - v.begin());
      };
      const auto n = static_cast<index_t>(batch.size());
      if (users_.size() + distinct(new_users) > limits_.max_users)
        throw request_error(429, "user",
                            "the batch would take the service past --max-users (" +
                                std::to_string(limits_.max_users) + ")");
      if (items_.size() + distinct(new_items) > limits_.max_items)
        throw request_error(429, "item",
                            "the batch would take the service past --max-items (" +
                                std::to_string(limits_.max_items) + ")");
      if (pending_ + n > limits_.max_pending_events)
        throw request_error(429, "events",
                            "more than --max-pending-events (" +
                                std::to_string(limits_.max_pending_events) +
                                ") events wait for the next refit; retry later");
      if (total_ratings_ + n > limits_.max_ratings)
        throw request_error(429, "events",
                            "the service holds --max-ratings (" +
                                std::to_string(limits_.max_ratings) + ") ratings");
    }
    std::uint64_t seq = seq_;
    for (auto& e : batch) e.seq = ++seq;
    if (journal_fd_ >= 0) append_journal(batch);
    std::vector<std::int32_t> touched;
    {
      std::unique_lock lock(store_mutex_);
      touched = apply_locked(batch);
      seq_ = seq;
    }
    if (durable()) tail_.insert(tail_.end(), batch.begin(), batch.end());
    fold_in(touched, seq);
    return seq;
  }

  // ---- refit ---------------------------------------------------------------------------------

  // Refits the users and items with new events since the last refit (refit_users, refit_items,
  // refit_users against the new items), publishes the model and, with a snapshot directory,
  // snapshots it. With force, also when nothing is pending. Returns whether a model was built.
  bool refit(bool force) {
    std::lock_guard refitting(refit_mutex_);
    cut c = capture(force);
    if (!c.taken) return false;
    auto old = current();
    recfuse::biased_mf_model<float> m = old->model;
    grow(m, c.data.users, c.data.items);
    const auto cpu = request_policy();
    const recfuse::vector_view<const std::int32_t> du(c.users.data(),
                                                      static_cast<index_t>(c.users.size()));
    const recfuse::vector_view<const std::int32_t> di(c.items.data(),
                                                      static_cast<index_t>(c.items.size()));
    if (!c.users.empty()) recfuse::refit_users(cpu, m, c.data.view(), du, als_);
    if (!c.items.empty()) recfuse::refit_items(cpu, m, c.data.view(), di, als_);
    if (!c.users.empty()) recfuse::refit_users(cpu, m, c.data.view(), du, als_);
    auto next = make_state(std::move(m), old->version + 1, c.seq, c.counts);
    {
      std::lock_guard ingest(ingest_mutex_);
      publish(next);
      std::unique_lock lock(store_mutex_);
      for (auto& r : rows_)
        if (r.folded && r.folded_seq <= c.seq) r.folded = false;
    }
    ++refits_;
    if (durable()) write_snapshot(std::move(c), next);
    return true;
  }

  // Runs refit every `interval` until stop() (interval 0: never).
  void run_refits(std::chrono::milliseconds interval) {
    std::unique_lock lock(stop_mutex_);
    while (interval.count() > 0 && !stopping_) {
      if (stop_cv_.wait_for(lock, interval, [&] { return stopping_; })) break;
      lock.unlock();
      try {
        refit(false);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "recfuse-service: refit failed: %s\n", e.what());
      }
      lock.lock();
    }
  }
  void stop() {
    std::lock_guard lock(stop_mutex_);
    stopping_ = true;
    stop_cv_.notify_all();
  }

 private:
  // Everything a refit and a snapshot need, taken at one sequence number.
  struct cut {
    bool taken = false;
    std::uint64_t seq = 0;
    recfuse::interactions<float> data;
    std::vector<std::int32_t> users, items;  // to refit
    std::vector<std::int64_t> counts;
    std::vector<std::string> user_keys, item_keys, titles;
  };

  void publish(std::shared_ptr<const model_state> s) {
    std::lock_guard lock(model_mutex_);
    model_ = std::move(s);
  }

  void dirty_user(index_t u) {
    if (static_cast<std::size_t>(u) >= user_dirty_.size()) user_dirty_.resize(u + 1, 0);
    if (!user_dirty_[u]) dirty_users_.push_back(static_cast<std::int32_t>(u));
    user_dirty_[u] = 1;
  }
  void dirty_item(index_t i) {
    if (static_cast<std::size_t>(i) >= item_dirty_.size()) item_dirty_.resize(i + 1, 0);
    if (!item_dirty_[i]) dirty_items_.push_back(static_cast<std::int32_t>(i));
    item_dirty_[i] = 1;
  }

  // Sets (u, i) to v (a new value replaces the old one). Caller holds store_mutex_ uniquely.
  void set_rating(index_t u, index_t i, float v) {
    auto& rated = rows_[u].rated;
    const auto it = std::lower_bound(rated.begin(), rated.end(), i,
                                     [](const rating& r, index_t x) { return r.item < x; });
    if (it != rated.end() && it->item == i) {
      it->value = v;
      return;
    }
    rated.insert(it, {static_cast<std::int32_t>(i), v});
    ++counts_[i];
    ++total_ratings_;
  }

  // Applies events to the store (new ids created); returns the users they touch.
  std::vector<std::int32_t> apply_locked(const std::vector<event>& batch) {
    std::vector<std::int32_t> touched;
    for (const auto& e : batch) {
      const index_t u = users_.insert(e.user);
      const index_t i = items_.insert(e.item);
      if (static_cast<std::size_t>(u) >= rows_.size()) rows_.resize(u + 1);
      if (static_cast<std::size_t>(i) >= counts_.size()) {
        counts_.resize(i + 1, 0);
        titles_.resize(i + 1);
      }
      set_rating(u, i, e.value);
      dirty_user(u);
      dirty_item(i);
      touched.push_back(static_cast<std::int32_t>(u));
      ++pending_;
    }
    std::sort(touched.begin(), touched.end());
    touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
    return touched;
  }

  // The ALS user step of each touched user against the current model's items (its ratings of
  // items the model does not have yet wait for the refit). Caller holds ingest_mutex_.
  void fold_in(const std::vector<std::int32_t>& users, std::uint64_t seq) {
    const auto m = current();
    const auto cpu = request_policy();
    std::vector<std::int32_t> items;
    std::vector<float> values, factors(static_cast<std::size_t>(m->model.factors));
    for (const auto u : users) {
      items.clear();
      values.clear();
      {
        std::shared_lock lock(store_mutex_);
        for (const auto& r : rows_[u].rated) {
          if (r.item >= m->model.items) continue;
          items.push_back(r.item);
          values.push_back(r.value);
        }
      }
      const float bias =
          recfuse::fold_in_user(cpu, m->model, {items.data(), static_cast<index_t>(items.size())},
                                {values.data(), static_cast<index_t>(values.size())},
                                {factors.data(), static_cast<index_t>(factors.size())}, als_);
      std::unique_lock lock(store_mutex_);
      auto& r = rows_[u];
      r.folded = true;
      r.folded_seq = seq;
      r.bias = bias;
      r.factors = factors;
    }
  }

  cut capture(bool force) {
    cut c;
    // Only ingest (held here) writes the store, so a shared lock suffices for the copy: readers
    // go on; the unique lock below is for resetting the dirty lists only.
    std::lock_guard ingest(ingest_mutex_);
    std::shared_lock lock(store_mutex_);
    if (!force && pending_ == 0) return c;
    c.taken = true;
    c.seq = seq_;
    c.data.users = users_.size();
    c.data.items = items_.size();
    c.data.user.reserve(static_cast<std::size_t>(total_ratings_));
    c.data.item.reserve(static_cast<std::size_t>(total_ratings_));
    c.data.value.reserve(static_cast<std::size_t>(total_ratings_));
    for (std::size_t u = 0; u < rows_.size(); ++u) {
      for (const auto& r : rows_[u].rated) {
        c.data.user.push_back(static_cast<std::int32_t>(u));
        c.data.item.push_back(r.item);
        c.data.value.push_back(r.value);
      }
    }
    c.counts = counts_;
    if (durable()) {
      c.user_keys = users_.keys();
      c.item_keys = items_.keys();
      c.titles = titles_;
    }
    lock.unlock();
    std::unique_lock write(store_mutex_);
    c.users = std::move(dirty_users_);
    c.items = std::move(dirty_items_);
    dirty_users_.clear();
    dirty_items_.clear();
    user_dirty_.assign(user_dirty_.size(), 0);
    item_dirty_.assign(item_dirty_.size(), 0);
    pending_ = 0;
    return c;
  }

  // New users and items start with zero factors and biases (as fit_biased_als leaves a row
  // without ratings) until the refit solves them.
  static void grow(recfuse::biased_mf_model<float>& m, index_t users, index_t items) {
    m.user_bias.resize(static_cast<std::size_t>(users), 0.0f);
    m.user_factors.resize(static_cast<std::size_t>(users * m.factors), 0.0f);
    m.item_bias.resize(static_cast<std::size_t>(items), 0.0f);
    m.item_factors.resize(static_cast<std::size_t>(items * m.factors), 0.0f);
    m.users = users;
    m.items = items;
  }

  void write_snapshot(cut c, std::shared_ptr<const model_state> state = nullptr) {
    if (!state) state = current();
    const std::string model_name = "model-" + std::to_string(state->version) + ".rfm";
    recfuse::save_model(dir_ / model_name, state->model);
    recfuse::io::archive a("recfuse_service_state");
    a.put("seq", static_cast<double>(c.seq));
    a.put("version", static_cast<double>(state->version));
    a.put_string("model_file", model_name);
    a.put_string("user_keys", join_lines(c.user_keys));
    a.put_string("item_keys", join_lines(c.item_keys));
    a.put_string("titles", join_lines(c.titles));
    a.put_array("user", c.data.user);
    a.put_array("item", c.data.item);
    a.put_array("value", c.data.value);
    recfuse::io::save_archive(state_file(), a);
    // state.rfa now names model_name: older models and the journal's events up to c.seq go.
    for (const auto& f : std::filesystem::directory_iterator(dir_)) {
      const auto name = f.path().filename().string();
      if (name.starts_with("model-") && name.ends_with(".rfm") && name != model_name)
        std::filesystem::remove(f.path());
    }
    {
      std::lock_guard ingest(ingest_mutex_);
      std::erase_if(tail_, [&](const event& e) { return e.seq <= c.seq; });
      // Rewritten even when closed: at a restart this also drops a torn last line.
      recfuse::io::detail::atomic_write(
          "recfuse-service", journal_file(),
          [&](recfuse::io::detail::output_file& out) { out.write(journal_text(tail_)); });
      if (journal_fd_ >= 0) {
        ::close(journal_fd_);
        journal_fd_ = -1;
        open_journal();
      }
      snapshot_seq_ = c.seq;
    }
    ++snapshots_;
  }

  static std::string journal_text(const std::vector<event>& events) {
    std::string out;
    char value[32];
    for (const auto& e : events) {
      std::snprintf(value, sizeof value, "%.9g", static_cast<double>(e.value));
      out += std::to_string(e.seq) + ' ' + e.user + ' ' + e.item + ' ' + value + '\n';
    }
    return out;
  }

  void open_journal() {
    journal_fd_ = ::open(journal_file().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    if (journal_fd_ < 0)
      throw std::runtime_error("cannot open " + journal_file().string() + ": " +
                               std::strerror(errno));
    journal_size_ = ::lseek(journal_fd_, 0, SEEK_END);
  }

  // One write and one fdatasync per batch; on failure the file is cut back and nothing applies.
  void append_journal(const std::vector<event>& batch) {
    const std::string text = journal_text(batch);
    const char* p = text.data();
    std::size_t left = text.size();
    bool ok = true;
    while (left > 0) {
      const ::ssize_t w = ::write(journal_fd_, p, left);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        ok = false;
        break;
      }
      p += w;
      left -= static_cast<std::size_t>(w);
    }
    if (ok && ::fdatasync(journal_fd_) != 0) ok = false;
    if (!ok) {
      const int err = errno;
      if (::ftruncate(journal_fd_, journal_size_) != 0) { /* reported below */
      }
      throw request_error(
          503, "events", std::string("the event journal cannot be written: ") + std::strerror(err));
    }
    journal_size_ += static_cast<off_t>(text.size());
  }

  // Applies the journal's events after `seq` to the store; a torn last line (a batch whose
  // write never completed, so never acknowledged) is ignored. Returns the events applied.
  std::uint64_t replay_journal(std::uint64_t seq) {
    std::ifstream in(journal_file(), std::ios::binary);
    if (!in) return 0;
    std::stringstream all;
    all << in.rdbuf();
    const std::string text = all.str();
    std::vector<event> batch;
    std::size_t start = 0;
    std::uint64_t line = 0;
    while (start < text.size()) {
      const std::size_t end = text.find('\n', start);
      ++line;
      if (end == std::string::npos) break;  // torn tail
      std::istringstream fields(text.substr(start, end - start));
      event e;
      if (!(fields >> e.seq >> e.user >> e.item >> e.value) || !valid_key(e.user) ||
          !valid_key(e.item) || !std::isfinite(e.value))
        throw std::runtime_error(journal_file().string() + ":" + std::to_string(line) +
                                 ": not a journal record");
      if (e.seq > seq) batch.push_back(std::move(e));
      start = end + 1;
    }
    std::unique_lock lock(store_mutex_);
    for (const auto& e : batch) {
      if (e.seq != seq_ + 1)
        throw std::runtime_error(journal_file().string() + ": event " + std::to_string(e.seq) +
                                 " follows " + std::to_string(seq_.load()));
      apply_locked({e});
      seq_ = e.seq;
      tail_.push_back(e);
    }
    return batch.size();
  }

  std::filesystem::path dir_;
  limits limits_;
  recfuse::als_options als_;

  mutable std::mutex model_mutex_;
  std::shared_ptr<const model_state> model_;

  mutable std::shared_mutex store_mutex_;
  recfuse::io::id_map users_, items_;
  std::vector<user_row> rows_;
  std::vector<std::string> titles_;
  std::vector<std::int64_t> counts_;
  long long total_ratings_ = 0;
  index_t pending_ = 0;
  std::vector<std::int32_t> dirty_users_, dirty_items_;
  std::vector<char> user_dirty_, item_dirty_;

  std::mutex ingest_mutex_, refit_mutex_;
  std::atomic<std::uint64_t> seq_{0}, snapshot_seq_{0}, snapshots_{0}, refits_{0};
  std::uint64_t replayed_ = 0;
  std::vector<event> tail_;  // journalled events after the last snapshot
  int journal_fd_ = -1;
  off_t journal_size_ = 0;

  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
};

}  // namespace service
