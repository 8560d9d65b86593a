// recfuse-service: an HTTP JSON recommendation service on cpp-httplib (docs/service.md).
//
//   recfuse-service [--data DIR | --generated | --ratings PATH [--model PATH]] [--port 0]
//                   [--snapshot-dir DIR] [--threads N] [--refit-interval-ms MS] [limits...]
//                   [--item-embeddings PATH]
//
// At start: the state in --snapshot-dir when there is one (restart), else --model (a biased_mf
// model saved by recfuse-mf --save, with the --ratings file it was fit on for the ids), else a
// biased ALS fit on --ratings (default DIR/u.data), else on generated data of MovieLens 100K's
// shape. Prints "listening on HOST:PORT" on stdout once it serves; logs go to stderr.
// Endpoints: GET /recommend, /search, /similar, /user, /health, /metrics; POST /events, /search
// (semantic and hybrid search with a query embedding; --item-embeddings).
// SIGINT / SIGTERM: stop serving, refit what is pending, write a last snapshot, exit 0.
#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <pthread.h>

#include <httplib.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "../common/cli.hpp"
#include "../common/generated.hpp"
#include "recfuse/fuse/explain.hpp"
#include "recfuse/io/movielens.hpp"
#include "recfuse/io/npy.hpp"
#include "recfuse/io/ratings.hpp"
#include "recfuse/scale/normalize.hpp"
#include "recfuse/search/bm25.hpp"
#include "recfuse/search/hybrid.hpp"
#include "recfuse/search/semantic.hpp"
#include "recfuse/select/topk.hpp"
#if __has_include("recfuse/xsimd/search/bm25.hpp")
#include "recfuse/xsimd/search/bm25.hpp"
#endif
#include "service.hpp"

namespace {

using json = nlohmann::json;
using recfuse::index_t;
using service::request_error;

struct arguments {
  std::string host = "127.0.0.1";
  int port = 0;
  int threads = 2;
  std::string data = "../shared/data/ml-100k", ratings, model, titles, snapshot_dir;
  std::string item_embeddings;
  bool generated = false;
  long long factors = 64;
  int iterations = 10;
  std::uint64_t seed = 42;
  long long refit_interval_ms = 2000;
  std::size_t max_body_bytes = 1 << 20;
  std::size_t keep_alive_max_count = 100;
  long keep_alive_timeout_s = 2;
  service::limits limits;
};

// ---- start-up data ---------------------------------------------------------------------------

// MovieLens 100K's shape (examples/common/generated.hpp; up to 320 ratings per user, no split);
// ids "1".."943" and "1".."1682" as in u.data.
service::initial_data generate(std::uint64_t seed) {
  constexpr index_t users = 943, items = 1682;
  service::initial_data d;
  for (index_t u = 0; u < users; ++u) d.users.insert(static_cast<std::int64_t>(u + 1));
  for (index_t i = 0; i < items; ++i) {
    d.items.insert(static_cast<std::int64_t>(i + 1));
    d.titles.push_back("generated item " + std::to_string(i + 1));
  }
  d.ratings.users = users;
  d.ratings.items = items;
  examples::generate_ratings(seed, {.max_extra = 300},
                             [&](std::int32_t u, std::int32_t i, float r, bool) {
                               d.ratings.user.push_back(u);
                               d.ratings.item.push_back(i);
                               d.ratings.value.push_back(r);
                             });
  return d;
}

service::initial_data initial(const arguments& a, std::string& source) {
  namespace fs = std::filesystem;
  const fs::path data(a.data);
  const fs::path ratings = !a.ratings.empty() ? fs::path(a.ratings) : data / "u.data";
  service::initial_data d;
  const bool files =
      !a.generated && (!a.ratings.empty() || !a.model.empty() || fs::exists(ratings));
  if (files) {
    d.ratings = recfuse::io::load_ratings<float>(ratings, d.users, d.items);
    source = ratings.string();
  } else {
    d = generate(a.seed);
    source = "generated";
  }
  if (!a.model.empty()) {
    d.model = recfuse::load_biased_mf_model<float>(a.model);
    if (d.model.users != d.users.size() || d.model.items != d.items.size()) {
      throw std::runtime_error("--model " + a.model + " has " + std::to_string(d.model.users) +
                               " users and " + std::to_string(d.model.items) + " items, but " +
                               source + " has " + std::to_string(d.users.size()) + " and " +
                               std::to_string(d.items.size()) +
                               " (pass the --ratings file the model was fit on)");
    }
    source += " + model " + a.model;
  } else {
    recfuse::als_options o;
    o.factors = a.factors;
    o.iterations = a.iterations;
    o.seed = a.seed;
    const recfuse::exec::xsimd cpu{a.threads};
    d.model = recfuse::fit_biased_als(cpu, d.ratings.view(), o);
  }
  const fs::path titles = !a.titles.empty() ? fs::path(a.titles) : data / "u.item";
  if (files && (fs::exists(titles) || !a.titles.empty()))
    d.titles = recfuse::io::load_movielens_items(titles, d.items).titles;
  return d;
}

// ---- request parsing -------------------------------------------------------------------------

// An id as the API prints it: a number when the key is a canonical integer, else a string.
json id_json(const std::string& key) {
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), v);
  if (ec == std::errc() && end == key.data() + key.size() && std::to_string(v) == key) return v;
  return key;
}

std::string key_param(const httplib::Request& req, const char* name) {
  if (!req.has_param(name))
    throw request_error(400, name, std::string("missing query parameter ") + name);
  std::string v = req.get_param_value(name);
  if (!service::valid_key(v))
    throw request_error(400, name,
                        std::string(name) + " must be 1..64 characters without whitespace");
  return v;
}

index_t k_param(const httplib::Request& req, index_t max_k) {
  if (!req.has_param("k")) return std::min<index_t>(10, max_k);
  const std::string v = req.get_param_value("k");
  long long k = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), k);
  if (ec != std::errc() || end != v.data() + v.size() || k < 1 || k > max_k)
    throw request_error(
        400, "k", "k must be an integer in [1, " + std::to_string(max_k) + "], got '" + v + "'");
  return static_cast<index_t>(k);
}

// A JSON id (integer or string) as a key; `where` names it in the error.
std::string key_value(const json& v, const char* name, const std::string& where) {
  std::string key;
  if (v.is_number_integer())
    key = v.is_number_unsigned() ? std::to_string(v.get<std::uint64_t>())
                                 : std::to_string(v.get<std::int64_t>());
  else if (v.is_string())
    key = v.get<std::string>();
  else
    throw request_error(400, name, where + " must be an integer or a string");
  if (!service::valid_key(key))
    throw request_error(400, name, where + " must be 1..64 characters without whitespace");
  return key;
}

std::string key_field(const json& e, const char* name, std::size_t at) {
  const std::string where = "events[" + std::to_string(at) + "]." + name;
  if (!e.contains(name)) throw request_error(400, name, where + " is missing");
  return key_value(e[name], name, where);
}

std::vector<service::event> parse_events(const std::string& body, float lo, float hi) {
  json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded()) throw request_error(400, "body", "the body is not valid JSON");
  if (doc.is_object()) doc = json::array({doc});
  if (!doc.is_array() || doc.empty())
    throw request_error(400, "body", "the body must be a non-empty JSON array of events");
  std::vector<service::event> out;
  for (std::size_t at = 0; at < doc.size(); ++at) {
    const json& e = doc[at];
    if (!e.is_object())
      throw request_error(400, "body", "events[" + std::to_string(at) + "] is not an object");
    service::event ev;
    ev.user = key_field(e, "user", at);
    ev.item = key_field(e, "item", at);
    const std::string where = "events[" + std::to_string(at) + "].value";
    if (!e.contains("value")) throw request_error(400, "value", where + " is missing");
    if (!e["value"].is_number()) throw request_error(400, "value", where + " must be a number");
    const double v = e["value"].get<double>();
    if (!std::isfinite(v) || v < lo || v > hi) {
      char range[96];
      std::snprintf(range, sizeof range, " must be a finite number in [%g, %g]",
                    static_cast<double>(lo), static_cast<double>(hi));
      throw request_error(400, "value", where + range);
    }
    ev.value = static_cast<float>(v);
    out.push_back(std::move(ev));
  }
  return out;
}

// ---- metrics ---------------------------------------------------------------------------------

class metrics {
 public:
  static constexpr std::array<const char*, 8> names = {
      "/recommend", "/search", "/events", "/similar", "/user", "/health", "/metrics", "other"};
  static constexpr std::array<double, 10> bounds_us = {50,   100,  250,   500,    1000,
                                                       2000, 5000, 10000, 100000, 1e300};

  static std::size_t endpoint(const std::string& path) {
    for (std::size_t e = 0; e + 1 < names.size(); ++e)
      if (path == names[e]) return e;
    return names.size() - 1;
  }
  void count(const std::string& path, int status) {
    if (status < 100 || status > 599) status = 599;
    statuses_[endpoint(path)][static_cast<std::size_t>(status - 100)].fetch_add(
        1, std::memory_order_relaxed);
  }
  void time(std::size_t e, double us) {
    std::size_t b = 0;
    while (us > bounds_us[b]) ++b;
    latency_[e][b].fetch_add(1, std::memory_order_relaxed);
    total_us_[e].fetch_add(static_cast<std::uint64_t>(us), std::memory_order_relaxed);
  }
  json report() const {
    json requests = json::object(), latency = json::object();
    for (std::size_t e = 0; e < names.size(); ++e) {
      json by_status = json::object();
      for (std::size_t s = 0; s < 500; ++s)
        if (const auto n = statuses_[e][s].load(std::memory_order_relaxed))
          by_status[std::to_string(s + 100)] = n;
      if (!by_status.empty()) requests[names[e]] = by_status;
      json buckets = json::array();
      std::uint64_t n = 0;
      for (std::size_t b = 0; b < bounds_us.size(); ++b) {
        n += latency_[e][b].load(std::memory_order_relaxed);
        buckets.push_back({{"le_us", b + 1 < bounds_us.size() ? json(bounds_us[b]) : json("inf")},
                           {"count", n}});  // cumulative, as Prometheus buckets
      }
      if (n > 0)
        latency[names[e]] = {{"count", n},
                             {"sum_us", total_us_[e].load(std::memory_order_relaxed)},
                             {"buckets", buckets}};
    }
    return {{"requests", requests}, {"latency", latency}};
  }

 private:
  std::array<std::array<std::atomic<std::uint64_t>, 500>, names.size()> statuses_{};
  std::array<std::array<std::atomic<std::uint64_t>, bounds_us.size()>, names.size()> latency_{};
  std::array<std::atomic<std::uint64_t>, names.size()> total_us_{};
};

// ---- endpoints -------------------------------------------------------------------------------

json error_body(const std::string& message, const std::string& field) {
  return {{"error", message}, {"field", field}};
}

// Up to `count` of the items the user rated above the global mean that are most like `item`:
// weight cos(q_i, q_j) * (r_j - mu), positive factors and above-mean ratings only, largest first
// (a disliked item with opposite factors also has a positive product, but is no reason).
json because_you_rated(const service::model_state& m, const service::service& svc,
                       const std::vector<service::rating>& rated, index_t item, int count) {
  const index_t f = m.model.factors;
  std::vector<std::pair<double, std::size_t>> w;
  for (std::size_t r = 0; r < rated.size(); ++r) {
    if (rated[r].item >= m.model.items || !(rated[r].value > m.model.global_mean)) continue;
    double c = 0;
    for (index_t x = 0; x < f; ++x)
      c += static_cast<double>(m.unit[item * f + x]) * m.unit[rated[r].item * f + x];
    if (c > 0) w.push_back({c * (rated[r].value - m.model.global_mean), r});
  }
  const auto n = std::min<std::size_t>(static_cast<std::size_t>(count), w.size());
  std::partial_sort(w.begin(), w.begin() + static_cast<std::ptrdiff_t>(n), w.end(),
                    [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<std::int32_t> ids;
  for (std::size_t j = 0; j < n; ++j) ids.push_back(rated[w[j].second].item);
  std::vector<std::string> keys, titles;
  svc.describe_items(ids, keys, titles);
  json out = json::array();
  for (std::size_t j = 0; j < n; ++j)
    out.push_back({{"item", id_json(keys[j])},
                   {"title", titles[j]},
                   {"rating", rated[w[j].second].value},
                   {"weight", w[j].first}});
  return out;
}

json recommend(const service::service& svc, const std::string& user, index_t k, bool full) {
  const auto m = svc.current();
  const auto& model = m->model;
  const auto u = svc.user(user, *m);
  json items = json::array();
  std::vector<std::int32_t> ids;
  std::vector<double> scores;
  std::vector<char> seen(static_cast<std::size_t>(model.items), 0);
  std::vector<std::int32_t> exclude;
  for (const auto& r : u.rated)
    if (r.item < model.items) {
      seen[r.item] = 1;
      exclude.push_back(r.item);
    }
  const bool cold = !u.has_factors;
  recfuse::topk_result<float> top;
  if (cold) {
    // Popularity: the most rated items the user has not rated, scored mu + b_i.
    for (const auto i : m->popular) {
      if (static_cast<index_t>(ids.size()) == k) break;
      if (seen[i]) continue;
      ids.push_back(i);
      scores.push_back(model.predict(-1, i));
    }
  } else {
    std::vector<float> q(u.factors);
    q.push_back(1.0f);  // picks up b_i from the scoring matrix's last column
    const std::array<index_t, 2> offsets = {0, static_cast<index_t>(exclude.size())};
    const recfuse::csr_pattern_view<std::int32_t> ex(1, model.items, offsets.data(),
                                                     exclude.data());
    top = recfuse::topk_inner_product(
        service::request_policy(), recfuse::matrix_view<const float>(q.data(), 1, m->width()),
        recfuse::matrix_view<const float>(m->scoring.data(), model.items, m->width()), k, ex);
    for (index_t j = 0; j < k; ++j) {
      const index_t i = top.index(0, j);
      if (i < 0) break;
      ids.push_back(static_cast<std::int32_t>(i));
      const double s = model.global_mean + u.bias + top.value(0, j);
      scores.push_back(std::clamp<double>(s, model.min_rating, model.max_rating));
    }
  }
  std::vector<std::string> keys, titles;
  svc.describe_items(ids, keys, titles);
  std::vector<std::int32_t> rated_items;
  std::vector<float> rated_values;
  if (full && !cold)
    for (const auto& r : u.rated)
      if (r.item < model.items) {
        rated_items.push_back(r.item);
        rated_values.push_back(r.value);
      }
  for (std::size_t j = 0; j < ids.size(); ++j) {
    const index_t i = ids[j];
    json e = {{"item", id_json(keys[j])}, {"title", titles[j]}, {"score", scores[j]}};
    json why = {{"global_mean", model.global_mean}, {"item_bias", model.item_bias[i]}};
    if (cold) {
      why["reason"] = "popular";
    } else {
      why["user_bias"] = u.bias;
      why["factors"] = top.value(0, static_cast<index_t>(j)) - model.item_bias[i];
      why["because_you_rated"] = because_you_rated(*m, svc, u.rated, i, 2);
      if (full) {
        // The exact split of the fold-in score over the rated items (recfuse/fuse/explain.hpp).
        const auto x = recfuse::fuse::explain_factorization(
            service::request_policy(), model,
            {rated_items.data(), static_cast<index_t>(rated_items.size())},
            {rated_values.data(), static_cast<index_t>(rated_values.size())}, i, 3,
            recfuse::als_options{});
        std::vector<std::int32_t> ev;
        for (const auto& c : x.evidence) ev.push_back(static_cast<std::int32_t>(c.item));
        std::vector<std::string> ek, et;
        svc.describe_items(ev, ek, et);
        json evidence = json::array();
        for (std::size_t c = 0; c < ev.size(); ++c)
          evidence.push_back({{"item", id_json(ek[c])},
                              {"title", et[c]},
                              {"contribution", x.evidence[c].contribution}});
        why["fold_in"] = {
            {"score", x.score}, {"baseline", x.baseline}, {"evidence", evidence}, {"rest", x.rest}};
      }
    }
    e["explanation"] = std::move(why);
    items.push_back(std::move(e));
  }
  return {{"user", id_json(user)},       {"k", k},
          {"cold_start", cold},          {"n_rated", u.rated.size()},
          {"model_version", m->version}, {"items", std::move(items)}};
}

json similar(const service::service& svc, const std::string& item, index_t k) {
  const auto m = svc.current();
  const index_t i = svc.find_item(item);
  if (i < 0) throw request_error(400, "item", "unknown item " + item);
  if (i >= m->model.items)
    throw request_error(400, "item",
                        "item " + item + " has no factors yet (it arrives with the next refit)");
  const index_t f = m->model.factors;
  const std::array<index_t, 2> offsets = {0, 1};
  const std::int32_t self = static_cast<std::int32_t>(i);
  const recfuse::csr_pattern_view<std::int32_t> ex(1, m->model.items, offsets.data(), &self);
  const auto top = recfuse::topk_inner_product(
      service::request_policy(), recfuse::matrix_view<const float>(m->unit.data() + i * f, 1, f),
      recfuse::matrix_view<const float>(m->unit.data(), m->model.items, f), k, ex);
  std::vector<std::int32_t> ids;
  for (index_t j = 0; j < k && top.index(0, j) >= 0; ++j)
    ids.push_back(static_cast<std::int32_t>(top.index(0, j)));
  std::vector<std::string> keys, titles;
  svc.describe_items(ids, keys, titles);
  json items = json::array();
  for (std::size_t j = 0; j < ids.size(); ++j)
    items.push_back({{"item", id_json(keys[j])},
                     {"title", titles[j]},
                     {"cosine", top.value(0, static_cast<index_t>(j))}});
  return {{"item", id_json(item)}, {"k", k}, {"model_version", m->version}, {"items", items}};
}

// ---- search ----------------------------------------------------------------------------------

// Item text embeddings (--item-embeddings, tools/embed_titles.py): row j is internal item ids[j],
// L2-normalised (a zero row stays zero). Items without a row (added by events, or missing from
// the file) are not semantic candidates. Immutable once the service serves.
struct item_embeddings {
  index_t dim = 0;
  std::vector<float> rows;        // size() x dim
  std::vector<std::int32_t> ids;  // internal item id of each row
  index_t size() const { return static_cast<index_t>(ids.size()); }
  bool empty() const { return ids.empty(); }
};

// L2-normalises rows x d finite floats in place (recfuse::normalize_rows; zero rows stay zero).
void normalise(float* v, index_t rows, index_t d) {
  const recfuse::matrix_view<float> m(v, rows, d);
  recfuse::normalize_rows(service::request_policy(), m, m);
}

// Loads an items x d .npy whose row r is the item with id r + 1 (MovieLens ids, as
// tools/embed_titles.py writes it). On a fresh start the rows must equal the service's items; on
// a restart from a snapshot, items added by events since have no row, so rows <= items. Every id
// 1..rows must be an item of the service, every entry finite.
item_embeddings load_item_embeddings(const std::string& path, const service::service& svc,
                                     bool resumed) {
  const auto t = recfuse::io::load_npy<float>(path);
  const std::string flag = "--item-embeddings " + path;
  if (t.rank() != 2 || t.shape[0] < 1 || t.shape[1] < 1)
    throw std::runtime_error(flag + " must be an items x d array with items, d >= 1 (shape has " +
                             std::to_string(t.rank()) + " dimensions or an empty extent)");
  const index_t rows = t.shape[0], d = t.shape[1], items = svc.stats().items;
  if (resumed ? rows > items : rows != items)
    throw std::runtime_error(flag + " has " + std::to_string(rows) + " rows but the service has " +
                             std::to_string(items) + " items at start (row r is item id r + 1" +
                             (resumed ? "; items added by events since may lack a row)" : ")"));
  item_embeddings e;
  e.dim = d;
  e.rows.assign(t.data.begin(), t.data.end());
  e.ids.resize(static_cast<std::size_t>(rows));
  for (index_t r = 0; r < rows; ++r) {
    const index_t i = svc.find_item(std::to_string(r + 1));
    if (i < 0)
      throw std::runtime_error(flag + ": row " + std::to_string(r) + " is item id " +
                               std::to_string(r + 1) + ", which the service does not have");
    e.ids[static_cast<std::size_t>(r)] = static_cast<std::int32_t>(i);
    float* v = e.rows.data() + r * d;
    for (index_t c = 0; c < d; ++c)
      if (!std::isfinite(v[c]))
        throw std::runtime_error(flag + ": row " + std::to_string(r) + " has a non-finite entry");
  }
  normalise(e.rows.data(), rows, d);
  return e;
}

// One search: BM25 over the titles for text, semantic for vector (either or both), fused and
// re-ranked for the user.
struct search_query {
  std::optional<std::string> text;  // BM25 query
  std::vector<float> vector;        // unit-length query embedding; empty: none
  std::optional<std::string> user;
  index_t k = 10;
  double personal_weight = 0.02;
};

// hybrid_rank's "rrf" fusion of the BM25 list (text) and the semantic list (vector), re-ranked
// with personal_weight times the user's min-max normalised predicted rating over the candidates
// (recfuse/search/hybrid.hpp). Each signal's candidates are its 5k best matches (at least 50);
// rated items are not excluded (a search may look for one). With semantic_fields, every
// explanation also has the semantic signal's keys (POST /search); GET /search's stay as they were.
json run_search(const service::service& svc, const recfuse::search::bm25_index<float>& index,
                const item_embeddings& embeddings, const search_query& sq, bool semantic_fields) {
  const auto m = svc.current();
  std::optional<service::service::user_view> u;
  if (sq.user) u = svc.user(*sq.user, *m);
  const bool personal = u && u->has_factors && sq.personal_weight > 0;
  const index_t k = sq.k;
  std::optional<recfuse::topk_result<float>> lexical, semantic;
  if (sq.text) {
    recfuse::csr_matrix<float> q;
    try {
      q = index.encode_texts({*sq.text});
    } catch (const recfuse::value_error& e) {
      throw request_error(400, "q", e.what());
    }
    const index_t depth = std::min<index_t>(index.items(), std::max<index_t>(50, 5 * k));
    lexical = recfuse::search::bm25_topk(service::request_policy(), index, q.view(), depth);
  }
  if (!sq.vector.empty()) {
    const index_t d = embeddings.dim;
    const index_t depth = std::min<index_t>(embeddings.size(), std::max<index_t>(50, 5 * k));
    semantic = recfuse::search::semantic_topk(
        service::request_policy(), recfuse::matrix_view<const float>(sq.vector.data(), 1, d),
        recfuse::matrix_view<const float>(embeddings.rows.data(), embeddings.size(), d), depth);
    for (auto& i : semantic->indices)
      if (i >= 0) i = embeddings.ids[static_cast<std::size_t>(i)];
  }
  recfuse::search::hybrid_options options;
  options.personal_weight = personal ? sq.personal_weight : 0.0;
  recfuse::search::personal_fn predict;
  if (personal) {
    predict = [&](index_t, index_t i) -> double {
      const auto& model = m->model;
      if (i >= model.items) return model.global_mean;
      double s = model.global_mean + u->bias + model.item_bias[i];
      for (index_t c = 0; c < model.factors; ++c)
        s += static_cast<double>(u->factors[c]) * model.item_factors[i * model.factors + c];
      return s;
    };
  }
  const auto hits = recfuse::search::hybrid_rank<float>(
      lexical ? &*lexical : nullptr, semantic ? &*semantic : nullptr, k, options, predict);
  std::vector<std::int32_t> ids;
  for (const auto& h : hits[0]) ids.push_back(static_cast<std::int32_t>(h.item));
  std::vector<std::string> keys, titles;
  svc.describe_items(ids, keys, titles);
  // A signal's raw score at a 1-based rank; null where the item is not in its list.
  const auto raw = [](const std::optional<recfuse::topk_result<float>>& list, index_t rank) {
    return list && rank > 0 ? json(list->value(0, rank - 1)) : json(nullptr);
  };
  json items = json::array();
  for (std::size_t j = 0; j < ids.size(); ++j) {
    const auto& h = hits[0][j];
    json why = {{"bm25", h.bm25},
                {"bm25_rank", h.bm25_rank},
                {"bm25_score", raw(lexical, h.bm25_rank)},
                {"personal", h.personal}};
    if (semantic_fields) {
      why["semantic"] = h.semantic;
      why["semantic_rank"] = h.semantic_rank;
      why["cosine"] = raw(semantic, h.semantic_rank);
    }
    if (personal) why["predicted_rating"] = predict(0, h.item);
    items.push_back({{"item", id_json(keys[j])},
                     {"title", titles[j]},
                     {"score", h.score},
                     {"explanation", why}});
  }
  json out = {{"q", sq.text ? json(*sq.text) : json(nullptr)},
              {"user", u ? id_json(*sq.user) : json(nullptr)},
              {"personalised", personal},
              {"cold_start", u.has_value() && !u->has_factors},
              {"k", k},
              {"model_version", m->version},
              {"items", items}};
  if (semantic_fields) out["semantic"] = semantic.has_value();
  return out;
}

std::string check_text(std::string text) {
  if (text.empty() || text.size() > 1000)
    throw request_error(400, "q", "q must be 1..1000 bytes of text");
  return text;
}

double check_personal_weight(double w, bool ok) {
  if (!ok || !std::isfinite(w) || w < 0 || w > 1)
    throw request_error(400, "personal_weight", "personal_weight must be a number in [0, 1]");
  return w;
}

// GET /search?q=TEXT&user=U&k=K&personal_weight=W: BM25 only.
json search(const service::service& svc, const recfuse::search::bm25_index<float>& index,
            const item_embeddings& embeddings, const httplib::Request& req, index_t k) {
  if (!req.has_param("q")) throw request_error(400, "q", "missing query parameter q");
  search_query sq;
  sq.text = check_text(req.get_param_value("q"));
  sq.k = k;
  if (req.has_param("personal_weight")) {
    const std::string v = req.get_param_value("personal_weight");
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), sq.personal_weight);
    check_personal_weight(sq.personal_weight, ec == std::errc() && end == v.data() + v.size());
  }
  if (req.has_param("user")) sq.user = key_param(req, "user");
  return run_search(svc, index, embeddings, sq, false);
}

// POST /search with {"q", "vector", "user", "k", "personal_weight"} (each optional; q or vector
// needed): every field checked, 400 naming the one at fault.
json search_post(const service::service& svc, const recfuse::search::bm25_index<float>& index,
                 const item_embeddings& embeddings, const std::string& body, index_t max_k) {
  const json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded()) throw request_error(400, "body", "the body is not valid JSON");
  if (!doc.is_object())
    throw request_error(400, "body",
                        "the body must be a JSON object with q, vector, user, k, personal_weight");
  for (const auto& [name, value] : doc.items())
    if (name != "q" && name != "vector" && name != "user" && name != "k" &&
        name != "personal_weight")
      throw request_error(
          400, name, "unknown field " + name + " (known: q, vector, user, k, personal_weight)");
  search_query sq;
  sq.k = std::min<index_t>(10, max_k);
  if (doc.contains("q")) {
    if (!doc["q"].is_string()) throw request_error(400, "q", "q must be a string");
    sq.text = check_text(doc["q"].get<std::string>());
  }
  if (doc.contains("vector")) {
    if (embeddings.empty())
      throw request_error(400, "vector",
                          "vector given, but the service has no item embeddings (start it with "
                          "--item-embeddings)");
    const json& v = doc["vector"];
    if (!v.is_array() || static_cast<index_t>(v.size()) != embeddings.dim)
      throw request_error(
          400, "vector",
          "vector must be an array of " + std::to_string(embeddings.dim) +
              " numbers (the item embeddings' dimension), got " +
              (v.is_array() ? std::to_string(v.size()) + " entries" : v.type_name()));
    sq.vector.resize(v.size());
    for (std::size_t c = 0; c < v.size(); ++c) {
      const double x = v[c].is_number() ? v[c].get<double>() : NAN;
      if (!std::isfinite(x) || std::abs(x) > std::numeric_limits<float>::max())
        throw request_error(400, "vector",
                            "vector[" + std::to_string(c) + "] must be a finite float");
      sq.vector[c] = static_cast<float>(x);
    }
    if (std::all_of(sq.vector.begin(), sq.vector.end(), [](float x) { return x == 0; }))
      throw request_error(400, "vector", "vector has norm 0 (need a non-zero embedding)");
    normalise(sq.vector.data(), 1, embeddings.dim);
  }
  if (!sq.text && sq.vector.empty())
    throw request_error(400, "q", "the body needs q (text), vector (a query embedding) or both");
  if (doc.contains("user")) sq.user = key_value(doc["user"], "user", "user");
  if (doc.contains("k")) {
    const json& k = doc["k"];
    if (!k.is_number_integer() || k.get<long long>() < 1 || k.get<long long>() > max_k ||
        (k.is_number_unsigned() && k.get<std::uint64_t>() > static_cast<std::uint64_t>(max_k)))
      throw request_error(
          400, "k", "k must be an integer in [1, " + std::to_string(max_k) + "], got " + k.dump());
    sq.k = static_cast<index_t>(k.get<long long>());
  }
  if (doc.contains("personal_weight")) {
    const json& w = doc["personal_weight"];
    sq.personal_weight = check_personal_weight(w.is_number() ? w.get<double>() : NAN, true);
  }
  return run_search(svc, index, embeddings, sq, true);
}

json user_info(const service::service& svc, const std::string& user) {
  const auto m = svc.current();
  const auto u = svc.user(user, *m);
  if (u.id < 0) throw request_error(400, "user", "unknown user " + user);
  std::vector<std::int32_t> ids;
  for (const auto& r : u.rated) ids.push_back(r.item);
  std::vector<std::string> keys, titles;
  svc.describe_items(ids, keys, titles);
  json rated = json::array();
  for (std::size_t j = 0; j < ids.size(); ++j)
    rated.push_back({{"item", id_json(keys[j])}, {"value", u.rated[j].value}});
  return {{"user", id_json(user)}, {"n_rated", rated.size()}, {"rated", rated}};
}

// The signal thread: waits for SIGINT or SIGTERM (blocked in every other thread) and stops the
// server; main then writes the last snapshot.
void wait_for_signal(httplib::Server& server, std::atomic<bool>& signalled,
                     const std::atomic<bool>& done) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int sig = 0;
  sigwait(&set, &sig);
  if (done) return;  // main woke this thread: the server has already stopped
  signalled = true;
  // listen_after_bind may not have started yet: stop until it has returned.
  while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  server.stop();
}

}  // namespace

int main(int argc, char** argv) {
  arguments a;
  CLI::App app{"recfuse-service: an HTTP JSON recommendation service (docs/service.md)",
               "recfuse-service"};
  app.add_option("--host", a.host, "address to bind")->capture_default_str();
  app.add_option("--port", a.port, "port; 0 picks a free one")
      ->check(examples::integer_in(0, 65535))
      ->capture_default_str();
  app.add_option("--threads", a.threads, "HTTP worker threads")
      ->check(examples::integer_in(1, 256))
      ->capture_default_str();
  app.add_option("--data", a.data, "MovieLens 100K directory (u.data, u.item)")
      ->capture_default_str();
  app.add_flag("--generated", a.generated, "generated data of MovieLens 100K's shape");
  app.add_option("--ratings", a.ratings, "ratings file to train on (default DATA/u.data)");
  app.add_option("--titles", a.titles, "u.item-style titles (default DATA/u.item)");
  app.add_option("--model", a.model, "biased_mf model from recfuse-mf --save, fit on --ratings");
  app.add_option("--item-embeddings", a.item_embeddings,
                 "items x d .npy of item text embeddings (tools/embed_titles.py; row r = item id "
                 "r + 1) for POST /search's vector");
  app.add_option("--factors", a.factors, "factors of the fit at start")
      ->check(examples::integer_in(1LL, 65536LL))
      ->capture_default_str();
  app.add_option("--iterations", a.iterations, "ALS sweeps of the fit at start")
      ->check(examples::integer_in(0, 1000))
      ->capture_default_str();
  app.add_option("--seed", a.seed, "seed of the fit and of generated data")
      ->check(examples::integer_in(std::uint64_t{0}, UINT64_MAX))
      ->capture_default_str();
  app.add_option("--snapshot-dir", a.snapshot_dir, "snapshot + event journal; resumes from it");
  app.add_option("--refit-interval-ms", a.refit_interval_ms,
                 "period of the background refit + snapshot; 0 = none")
      ->check(examples::integer_in(0LL, 86400000LL))
      ->capture_default_str();
  app.add_option("--max-body-bytes", a.max_body_bytes, "largest request body")
      ->check(examples::integer_in(std::size_t{16}, std::size_t{1} << 30))
      ->capture_default_str();
  app.add_option("--keep-alive-max-count", a.keep_alive_max_count,
                 "requests per keep-alive connection before the server closes it")
      ->check(examples::integer_in(std::size_t{1}, std::size_t{1} << 30))
      ->capture_default_str();
  app.add_option("--keep-alive-timeout-s", a.keep_alive_timeout_s,
                 "seconds an idle keep-alive connection holds its worker")
      ->check(examples::integer_in(0L, 3600L))
      ->capture_default_str();
  app.add_option("--max-users", a.limits.max_users, "most users")
      ->check(examples::integer_in(index_t{1}, index_t{INT32_MAX}))
      ->capture_default_str();
  app.add_option("--max-items", a.limits.max_items, "most items")
      ->check(examples::integer_in(index_t{1}, index_t{INT32_MAX}))
      ->capture_default_str();
  app.add_option("--max-pending-events", a.limits.max_pending_events,
                 "most events waiting for a refit (then 429)")
      ->check(examples::integer_in(index_t{1}, index_t{INT32_MAX}))
      ->capture_default_str();
  app.add_option("--max-ratings", a.limits.max_ratings, "most ratings held (then 429)")
      ->check(examples::integer_in(1LL, 1LL << 40))
      ->capture_default_str();
  app.add_option("--max-k", a.limits.max_k, "largest k")
      ->check(examples::integer_in(index_t{1}, index_t{100000}))
      ->capture_default_str();
  examples::parse_or_exit(app, argc, argv);

  // SIGINT and SIGTERM go to the signal thread only: block them before any thread starts.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  try {
    recfuse::als_options als;  // the refits' and fold-ins' regularisation
    service::service svc(a.snapshot_dir, a.limits, als);
    const auto t0 = std::chrono::steady_clock::now();
    std::string source = "snapshot " + a.snapshot_dir;
    const bool resumed = svc.resume();
    if (!resumed) svc.start(initial(a, source));
    const auto st = svc.stats();
    const auto m = svc.current();
    std::fprintf(stderr,
                 "recfuse-service: %s: %lld users, %lld items, %lld ratings, %lld factors, model "
                 "version %llu, %llu events (%llu replayed from the journal), ready in %.2f s, "
                 "policy %s\n",
                 source.c_str(), static_cast<long long>(st.users), static_cast<long long>(st.items),
                 st.ratings, static_cast<long long>(m->model.factors),
                 static_cast<unsigned long long>(m->version),
                 static_cast<unsigned long long>(st.events),
                 static_cast<unsigned long long>(st.replayed),
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
                 service::policy_name);

    item_embeddings embeddings;
    if (!a.item_embeddings.empty()) {
      embeddings = load_item_embeddings(a.item_embeddings, svc, resumed);
      std::fprintf(stderr, "recfuse-service: item embeddings %s: %lld items x %lld dimensions\n",
                   a.item_embeddings.c_str(), static_cast<long long>(embeddings.size()),
                   static_cast<long long>(embeddings.dim));
    }

    httplib::Server server;
    metrics stats;
    const auto threads = static_cast<std::size_t>(a.threads);
    server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    server.set_payload_max_length(a.max_body_bytes);
    // Without TCP_NODELAY a keep-alive response's last segment waits for the client's delayed
    // ACK: about 40 ms per request instead of a fraction of a millisecond.
    server.set_tcp_nodelay(true);
    // httplib serves a keep-alive connection on one pool thread for its whole life: a bounded
    // count and a short idle timeout keep idle clients from holding every worker.
    server.set_keep_alive_max_count(a.keep_alive_max_count);
    server.set_keep_alive_timeout(a.keep_alive_timeout_s);
    server.set_logger([&](const httplib::Request& req, const httplib::Response& res) {
      stats.count(req.path, res.status);
    });
    server.set_error_handler([&](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return;
      std::string message = "HTTP " + std::to_string(res.status), field = "";
      if (res.status == 413) {
        // cpp-httplib caps form-encoded bodies (curl -d's default type) at 8 KB on its own.
        const bool form =
            req.get_header_value("Content-Type").starts_with("application/x-www-form-urlencoded");
        message = form ? "a form-encoded body is limited to 8192 bytes by cpp-httplib; send "
                         "Content-Type: application/json"
                       : "the request body is larger than --max-body-bytes (" +
                             std::to_string(a.max_body_bytes) + " bytes)";
        field = "body";
      } else if (res.status == 404) {
        message = "no endpoint " + req.method + " " + req.path;
        field = "path";
      }
      res.set_content(error_body(message, field).dump(), "application/json");
    });
    // Each handler: timed, JSON out, request_error -> its status, anything else -> 500.
    const auto handle = [&](const char* path, auto body) {
      const std::size_t e = metrics::endpoint(path);
      return [&stats, e, body](const httplib::Request& req, httplib::Response& res) {
        const auto start = std::chrono::steady_clock::now();
        try {
          res.set_content(body(req).dump(), "application/json");
        } catch (const request_error& x) {
          res.status = x.status;
          res.set_content(error_body(x.what(), x.field).dump(), "application/json");
        } catch (const std::exception& x) {
          res.status = 500;
          res.set_content(error_body(x.what(), "").dump(), "application/json");
        }
        stats.time(
            e, std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
                   .count());
      };
    };
    const service::limits lim = a.limits;
    server.Get("/recommend", handle("/recommend", [&](const httplib::Request& req) {
                 const std::string user = key_param(req, "user");
                 const index_t k = k_param(req, lim.max_k);
                 const bool full =
                     req.has_param("explain") && req.get_param_value("explain") == "full";
                 return recommend(svc, user, k, full);
               }));
    const auto index =
        recfuse::search::bm25_index<float>::from_texts(svc.all_titles(svc.current()->model.items));
    server.Get("/search", handle("/search", [&](const httplib::Request& req) {
                 return search(svc, index, embeddings, req, k_param(req, lim.max_k));
               }));
    server.Post("/search", handle("/search", [&](const httplib::Request& req) {
                  return search_post(svc, index, embeddings, req.body, lim.max_k);
                }));
    server.Get("/similar", handle("/similar", [&](const httplib::Request& req) {
                 const std::string item = key_param(req, "item");
                 return similar(svc, item, k_param(req, lim.max_k));
               }));
    server.Get("/user", handle("/user", [&](const httplib::Request& req) {
                 return user_info(svc, key_param(req, "user"));
               }));
    server.Post("/events", handle("/events", [&](const httplib::Request& req) {
                  const auto m = svc.current();
                  auto batch = parse_events(req.body, m->model.min_rating, m->model.max_rating);
                  const auto n = batch.size();
                  const auto seq = svc.ingest(std::move(batch));
                  return json{{"accepted", n}, {"seq", seq}, {"durable", svc.durable()}};
                }));
    server.Get("/health", handle("/health", [&](const httplib::Request&) {
                 const auto s = svc.stats();
                 const auto cur = svc.current();
                 return json{{"status", "ok"},
                             {"events", s.events},
                             {"snapshots", s.snapshots},
                             {"snapshot_seq", s.snapshot_seq},
                             {"replayed", s.replayed},
                             {"refits", s.refits},
                             {"model_version", cur->version},
                             {"model_seq", cur->seq},
                             {"users", s.users},
                             {"items", s.items},
                             {"ratings", s.ratings},
                             {"pending_events", s.pending},
                             {"factors", cur->model.factors},
                             {"policy", service::policy_name}};
               }));
    server.Get("/metrics",
               handle("/metrics", [&](const httplib::Request&) { return stats.report(); }));

    const int port = a.port == 0 ? server.bind_to_any_port(a.host) : a.port;
    if (port <= 0 || (a.port != 0 && !server.bind_to_port(a.host, a.port))) {
      std::fprintf(stderr, "recfuse-service: cannot bind %s:%d\n", a.host.c_str(), a.port);
      return 1;
    }
    std::atomic<bool> signalled{false}, done{false};
    std::thread signals(wait_for_signal, std::ref(server), std::ref(signalled), std::cref(done));
    std::thread refits([&] { svc.run_refits(std::chrono::milliseconds(a.refit_interval_ms)); });
    std::printf("listening on %s:%d\n", a.host.c_str(), port);
    std::fflush(stdout);
    server.listen_after_bind();
    svc.stop();
    refits.join();
    done = true;
    if (!signalled) pthread_kill(signals.native_handle(), SIGTERM);
    signals.join();
    svc.refit(svc.durable());  // what is pending, and the last snapshot
    const auto end = svc.stats();
    std::fprintf(stderr, "recfuse-service: stopped; %llu events, last snapshot at %llu\n",
                 static_cast<unsigned long long>(end.events),
                 static_cast<unsigned long long>(end.snapshot_seq));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "recfuse-service: %s\n", e.what());
    return 1;
  }
  return 0;
}
