// End-to-end test of recfuse-service (examples/service): starts the binary on generated data (or
// MovieLens 100K with --data DIR), checks every endpoint, every bad-input case (status and error
// field), that an event shows in the next /recommend, a restart after kill -9 (acknowledged
// events present) and a graceful SIGTERM (exit 0, last snapshot). The service runs with seeded
// random item embeddings (written with recfuse::io::save_npy) for POST /search's semantic and
// hybrid retrieval, and once without them and once with a file of the wrong size.
//
//   service_test PATH/recfuse-service             generated data
//   service_test PATH/recfuse-service --data DIR  MovieLens 100K; exit 77 (skipped) without
//   DIR/u.data
#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "recfuse/io/npy.hpp"

extern char** environ;

namespace {

using json = nlohmann::json;

int failures = 0;

void check(bool ok, const std::string& what) {
  if (!ok) {
    ++failures;
    std::fprintf(stderr, "FAIL: %s\n", what.c_str());
  }
}

// A running recfuse-service: its pid, port and stdout pipe.
struct process {
  pid_t pid = -1;
  int out = -1;
  int port = 0;
};

process start(const std::string& binary, const std::vector<std::string>& args) {
  int pipe_fd[2];
  if (::pipe(pipe_fd) != 0) throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fd[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, pipe_fd[0]);
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(binary.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  process p;
  if (posix_spawn(&p.pid, binary.c_str(), &actions, nullptr, argv.data(), environ) != 0)
    throw std::runtime_error("cannot start " + binary);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fd[1]);
  p.out = pipe_fd[0];
  // The first line: "listening on HOST:PORT", within 60 s (training at start included).
  std::string line;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (line.find('\n') == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd pfd{p.out, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&pfd, 1, static_cast<int>(left.count())) <= 0)
      throw std::runtime_error("no 'listening on' line within 60 s");
    char c;
    if (::read(p.out, &c, 1) != 1) throw std::runtime_error("the service exited at start");
    line += c;
  }
  const auto colon = line.rfind(':');
  if (line.rfind("listening on ", 0) != 0 || colon == std::string::npos)
    throw std::runtime_error("unexpected first line: " + line);
  p.port = std::stoi(line.substr(colon + 1));
  return p;
}

int stop(process& p, int sig) {
  ::kill(p.pid, sig);
  int status = 0;
  ::waitpid(p.pid, &status, 0);
  ::close(p.out);
  p.pid = -1;
  return status;
}

// Runs a start that must fail to its exit (killed after 60 s); returns the wait status and stderr.
std::pair<int, std::string> run_to_exit(const std::string& binary,
                                        const std::vector<std::string>& args,
                                        const std::filesystem::path& err) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(binary.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), environ) != 0)
    throw std::runtime_error("cannot start " + binary);
  posix_spawn_file_actions_destroy(&actions);
  int status = 0;
  for (int t = 0; t < 1200 && ::waitpid(pid, &status, WNOHANG) == 0; ++t)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (::waitpid(pid, &status, WNOHANG) == 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  std::ifstream in(err);
  std::stringstream text;
  text << in.rdbuf();
  return {status, text.str()};
}

struct reply {
  int status = 0;
  json body;
};

reply get(int port, const std::string& path) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(10, 0);
  auto r = c.Get(path.c_str());
  if (!r) return {-1, nullptr};
  return {r->status, json::parse(r->body, nullptr, false)};
}

reply post(int port, const std::string& path, const std::string& body,
           const char* type = "application/json") {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(10, 0);
  auto r = c.Post(path.c_str(), body, type);
  if (!r) return {-1, nullptr};
  return {r->status, json::parse(r->body, nullptr, false)};
}

std::string text(const json& j) { return j.is_string() ? j.get<std::string>() : j.dump(); }

// The user's rated items as text ids, and their values.
std::vector<std::pair<std::string, double>> rated(int port, const std::string& user) {
  const auto r = get(port, "/user?user=" + user);
  std::vector<std::pair<std::string, double>> out;
  if (r.status != 200) return out;
  for (const auto& e : r.body["rated"]) out.push_back({text(e["item"]), e["value"].get<double>()});
  return out;
}

bool has_rating(int port, const std::string& user, const std::string& item, double value) {
  for (const auto& [i, v] : rated(port, user))
    if (i == item && v == value) return true;
  return false;
}

void check_recommend(int port, const std::string& user, int k) {
  const auto r = get(port, "/recommend?user=" + user + "&k=" + std::to_string(k));
  check(r.status == 200, "/recommend " + user + " status " + std::to_string(r.status));
  if (r.status != 200) return;
  const json& b = r.body;
  check(b["cold_start"] == false, "/recommend " + user + " is not a cold start");
  check(b["items"].size() == static_cast<std::size_t>(k), "/recommend returns k items");
  std::set<std::string> seen;
  for (const auto& [i, v] : rated(port, user)) seen.insert(i);
  check(b["n_rated"].get<std::size_t>() == seen.size(), "/recommend n_rated == /user n_rated");
  double last = INFINITY;
  for (const auto& e : b["items"]) {
    check(!seen.count(text(e["item"])), "/recommend excludes rated item " + text(e["item"]));
    const double score = e["score"].get<double>();
    check(std::isfinite(score) && score <= last + 1e-9, "/recommend scores finite, descending");
    last = score;
    const json& x = e["explanation"];
    const double raw = x["global_mean"].get<double>() + x["user_bias"].get<double>() +
                       x["item_bias"].get<double>() + x["factors"].get<double>();
    check(std::abs(std::clamp(raw, 1.0, 5.0) - score) < 1e-3,
          "/recommend score == mu + b_u + b_i + p.q clipped (" + std::to_string(raw) + " vs " +
              std::to_string(score) + ")");
    check(x["because_you_rated"].is_array(), "/recommend explanation has because_you_rated");
  }
}

void check_error(int port, const char* method, const std::string& path, const std::string& body,
                 int status, const std::string& field) {
  const auto r = std::string(method) == "GET" ? get(port, path) : post(port, path, body);
  const std::string what = std::string(method) + " " + path.substr(0, 60) + " " +
                           body.substr(0, 60) + ": status " + std::to_string(r.status);
  check(r.status == status, what + ", expected " + std::to_string(status));
  check(r.body.is_object() && r.body.contains("error") && r.body["error"].is_string(),
        what + ": an \"error\" string");
  check(r.body.is_object() && r.body.value("field", "?") == field,
        what + ": field " + (r.body.is_object() ? r.body.value("field", "?") : "?") +
            ", expected " + field);
}

// Seeded random item embeddings, items x dim, row r = item id r + 1, written as .npy.
std::vector<float> write_embeddings(const std::filesystem::path& path, int items, int dim) {
  std::mt19937 gen(13);
  std::normal_distribution<float> normal;
  std::vector<float> e(static_cast<std::size_t>(items) * dim);
  for (auto& x : e) x = normal(gen);
  recfuse::io::save_npy(path, recfuse::matrix_view<const float>(e.data(), items, dim));
  return e;
}

// POST /search: a vector equal to an item's embedding finds it first (cosine 1); text + vector
// of the same item puts it first in both lists; with a user, every hit's contributions are rrf's
// 1 / (60 + rank) per signal plus a personal part in [0, 0.02], and sum to its score; q alone is
// GET /search's result; and each bad field is a 400 naming it.
void check_post_search(int port, const std::vector<float>& emb, int dim, const std::string& words,
                       const std::string& want, const std::string& get_q) {
  const auto vec = [&](int id) {
    json v = json::array();
    for (int c = 0; c < dim; ++c) v.push_back(emb[static_cast<std::size_t>(id - 1) * dim + c]);
    return v;
  };
  auto s = post(port, "/search", json{{"vector", vec(777)}, {"k", 5}}.dump());
  check(s.status == 200 && s.body["semantic"] == true && s.body["q"].is_null() &&
            s.body["items"].size() == 5,
        "POST /search vector: 200, 5 items (got " + s.body.dump().substr(0, 200) + ")");
  if (s.status == 200 && s.body["items"].size() == 5) {
    check(text(s.body["items"][0]["item"]) == "777", "POST /search: item 777's vector finds 777");
    double last = 2;
    for (std::size_t j = 0; j < 5; ++j) {
      const json& e = s.body["items"][j];
      const json& x = e["explanation"];
      const double cosine = x["cosine"].get<double>();
      check(cosine <= last + 1e-9 && (j > 0 || std::abs(cosine - 1) < 1e-5),
            "POST /search: cosines descending from 1");
      last = cosine;
      check(x["semantic_rank"] == j + 1 &&
                std::abs(x["semantic"].get<double>() - 1.0 / (61 + j)) < 1e-12,
            "POST /search: semantic == 1 / (60 + rank)");
      check(x["bm25"] == 0.0 && x["bm25_rank"] == -1 && x["bm25_score"].is_null() &&
                x["personal"] == 0.0 &&
                std::abs(e["score"].get<double>() - x["semantic"].get<double>()) < 1e-12,
            "POST /search vector alone: score == semantic, no bm25");
    }
  }
  // Text and vector of the same item, no personalisation: first in both lists, 2 / 61.
  s = post(port, "/search",
           json{{"q", words}, {"vector", vec(std::stoi(want))}, {"k", 5}, {"personal_weight", 0}}
               .dump());
  check(s.status == 200 && !s.body["items"].empty() && text(s.body["items"][0]["item"]) == want &&
            s.body["items"][0]["explanation"]["bm25_rank"] == 1 &&
            s.body["items"][0]["explanation"]["semantic_rank"] == 1 &&
            std::abs(s.body["items"][0]["score"].get<double>() - 2.0 / 61) < 1e-12,
        "POST /search q + vector: " + want + " first with 2 / 61 (got " +
            s.body.dump().substr(0, 300) + ")");
  // Personalised hybrid: the documented contributions.
  s = post(port, "/search",
           json{{"q", words}, {"vector", vec(std::stoi(want))}, {"k", 20}, {"user", 1}}.dump());
  check(s.status == 200 && s.body["personalised"] == true && s.body["items"].size() == 20,
        "POST /search q + vector + user: 200, personalised, 20 items");
  bool both = false;
  double last = INFINITY;
  for (const auto& e : s.body["items"]) {
    const json& x = e["explanation"];
    const auto rrf = [](const json& rank) {
      return rank.get<int>() > 0 ? 1.0 / (60 + rank.get<int>()) : 0.0;
    };
    const double b = x["bm25"].get<double>(), m = x["semantic"].get<double>(),
                 p = x["personal"].get<double>(), score = e["score"].get<double>();
    check(
        std::abs(b - rrf(x["bm25_rank"])) < 1e-12 && std::abs(m - rrf(x["semantic_rank"])) < 1e-12,
        "POST /search: each signal contributes 1 / (60 + rank)");
    check(p >= 0 && p <= 0.02 + 1e-12 && x.contains("predicted_rating"),
          "POST /search: personal in [0, 0.02] with the predicted rating");
    check(std::abs(score - (b + m + p)) < 1e-12 && score <= last + 1e-12,
          "POST /search: score == bm25 + semantic + personal, descending");
    last = score;
    both = both || (x["bm25_rank"].get<int>() > 0 && x["semantic_rank"].get<int>() > 0);
  }
  check(both, "POST /search: some hit is in both lists");
  // q alone is GET /search.
  s = post(port, "/search", json{{"q", words}, {"k", 5}, {"user", 1}}.dump());
  const auto g = get(port, "/search?q=" + get_q + "&k=5&user=1");
  check(s.status == 200 && g.status == 200 && s.body["items"].size() == g.body["items"].size(),
        "POST /search q alone: as many hits as GET /search");
  for (std::size_t j = 0; j < std::min(s.body["items"].size(), g.body["items"].size()); ++j)
    check(s.body["items"][j]["item"] == g.body["items"][j]["item"] &&
              s.body["items"][j]["score"] == g.body["items"][j]["score"],
          "POST /search q alone == GET /search");

  // Bad input, each naming its field.
  const auto filled = [&](const std::string& first) {
    std::string v = "[" + first;
    for (int c = 1; c < dim; ++c) v += ",0";
    return v + "]";
  };
  check_error(port, "POST", "/search", R"({"vector": [1, 2]})", 400, "vector");
  check_error(port, "POST", "/search", R"({"vector": "abc"})", 400, "vector");
  check_error(port, "POST", "/search", "{\"vector\": " + filled("1e39") + "}", 400, "vector");
  check_error(port, "POST", "/search", "{\"vector\": " + filled("\"NaN\"") + "}", 400, "vector");
  check_error(port, "POST", "/search", "{\"vector\": " + filled("0") + "}", 400, "vector");
  check_error(port, "POST", "/search", R"({"k": 3})", 400, "q");
  check_error(port, "POST", "/search", R"({"q": 5})", 400, "q");
  check_error(port, "POST", "/search", R"({"q": ""})", 400, "q");
  check_error(port, "POST", "/search", R"({"q": "item", "k": 0})", 400, "k");
  check_error(port, "POST", "/search", R"({"q": "item", "k": 101})", 400, "k");
  check_error(port, "POST", "/search", R"({"q": "item", "k": "3"})", 400, "k");
  check_error(port, "POST", "/search", R"({"q": "item", "personal_weight": 2})", 400,
              "personal_weight");
  check_error(port, "POST", "/search", R"({"q": "item", "user": "a b"})", 400, "user");
  check_error(port, "POST", "/search", R"({"query": "item"})", 400, "query");
  check_error(port, "POST", "/search", "[1]", 400, "body");
  check_error(port, "POST", "/search", "{", 400, "body");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 && !(argc == 4 && std::string(argv[2]) == "--data")) {
    std::fprintf(stderr, "usage: service_test PATH/recfuse-service [--data DIR]\n");
    return 2;
  }
  const std::string binary = argv[1];
  const bool ml = argc == 4;
  if (ml && !std::filesystem::exists(std::filesystem::path(argv[3]) / "u.data")) {
    std::printf("SKIP: MovieLens 100K not found at %s\n", argv[3]);
    return 77;
  }
  char dir_template[] = "/tmp/recfuse-service-test.XXXXXX";
  const std::filesystem::path dir = ::mkdtemp(dir_template);
  std::vector<std::string> args = {"--port",
                                   "0",
                                   "--threads",
                                   "2",
                                   "--snapshot-dir",
                                   (dir / "snap").string(),
                                   "--max-body-bytes",
                                   "65536",
                                   "--max-users",
                                   "1000",
                                   "--max-items",
                                   "1700",
                                   "--max-pending-events",
                                   "400",
                                   "--max-k",
                                   "100",
                                   "--refit-interval-ms",
                                   "300"};
  if (ml) {
    for (const char* a : {static_cast<const char*>("--data"), static_cast<const char*>(argv[3]),
                          "--factors", "32", "--iterations", "5"})
      args.push_back(a);
  } else {
    for (const char* a : {"--generated", "--factors", "16", "--iterations", "5"}) args.push_back(a);
  }
  const std::vector<std::string> plain_args = args;  // without item embeddings
  constexpr int dim = 8;
  const auto embeddings = write_embeddings(dir / "items.npy", 1682, dim);
  args.push_back("--item-embeddings");
  args.push_back((dir / "items.npy").string());
  process p;
  try {
    p = start(binary, args);
    const int port = p.port;

    // /health
    auto h = get(port, "/health");
    check(h.status == 200 && h.body["status"] == "ok", "/health ok");
    check(h.body["events"] == 0 && h.body["snapshots"] == 1, "/health: no events, 1 snapshot");
    check(h.body["items"] == 1682, "/health: 1682 items");

    // /recommend, with the cheap and the full explanation, and for an unknown user.
    check_recommend(port, "1", 5);
    auto full = get(port, "/recommend?user=1&k=3&explain=full");
    check(full.status == 200 && full.body["items"][0]["explanation"].contains("fold_in"),
          "/recommend explain=full has fold_in");
    if (full.status == 200) {
      const json& f = full.body["items"][0]["explanation"]["fold_in"];
      double sum = f["baseline"].get<double>() + f["rest"].get<double>();
      for (const auto& e : f["evidence"]) sum += e["contribution"].get<double>();
      check(f["evidence"].size() <= 3 && std::abs(sum - f["score"].get<double>()) < 1e-6,
            "fold_in: score == baseline + evidence + rest");
    }
    auto cold = get(port, "/recommend?user=nobody-yet&k=3");
    check(cold.status == 200 && cold.body["cold_start"] == true && cold.body["items"].size() == 3,
          "/recommend unknown user: 200, cold_start, 3 items");

    // /similar
    auto sim = get(port, "/similar?item=1&k=4");
    check(sim.status == 200 && sim.body["items"].size() == 4, "/similar 4 items");
    double last = 2;
    for (const auto& e : sim.body["items"]) {
      check(text(e["item"]) != "1", "/similar excludes the item itself");
      const double c = e["cosine"].get<double>();
      check(c <= 1 + 1e-5 && c >= -1 - 1e-5 && c <= last + 1e-9, "/similar cosines descending");
      last = c;
    }

    // /search: a title's words find it first without a user; with one it is personalised.
    const std::string q = ml ? "toy%20story" : "item%2012";
    const std::string want = ml ? "1" : "12";
    auto s = get(port, "/search?q=" + q + "&k=5");
    check(s.status == 200 && !s.body["items"].empty() && text(s.body["items"][0]["item"]) == want,
          "/search finds the title (got " + s.body.dump().substr(0, 200) + ")");
    auto sp = get(port, "/search?q=" + q + "&k=5&user=1");
    check(sp.status == 200 && sp.body["personalised"] == true, "/search with a user personalises");
    check_post_search(port, embeddings, dim, ml ? "toy story" : "item 12", want, q);

    // Bad input: status and field.
    check_error(port, "GET", "/recommend?k=3", "", 400, "user");
    check_error(port, "GET", "/recommend?user=1&k=0", "", 400, "k");
    check_error(port, "GET", "/recommend?user=1&k=abc", "", 400, "k");
    check_error(port, "GET", "/recommend?user=1&k=101", "", 400, "k");
    check_error(port, "GET", "/recommend?user=a%20b", "", 400, "user");
    check_error(port, "GET", "/similar?item=no-such-item", "", 400, "item");
    check_error(port, "GET", "/similar?k=3", "", 400, "item");
    check_error(port, "GET", "/search?user=1", "", 400, "q");
    check_error(port, "GET", "/search?q=%FF%FE", "", 400, "q");
    check_error(port, "GET", "/user?user=nobody", "", 400, "user");
    check_error(port, "GET", "/no-such-endpoint", "", 404, "path");
    check_error(port, "POST", "/events", "{\"user\": 1", 400, "body");
    check_error(port, "POST", "/events", "[]", 400, "body");
    check_error(port, "POST", "/events", "[{\"user\":1,\"item\":5,\"value\":NaN}]", 400, "body");
    check_error(port, "POST", "/events", "[{\"user\":1,\"item\":5,\"value\":\"NaN\"}]", 400,
                "value");
    check_error(port, "POST", "/events", "[{\"user\":1,\"item\":5,\"value\":9}]", 400, "value");
    check_error(port, "POST", "/events", "[{\"user\":1,\"item\":5}]", 400, "value");
    check_error(port, "POST", "/events", "[{\"item\":5,\"value\":3}]", 400, "user");
    check_error(port, "POST", "/events", "[{\"user\":1,\"item\":true,\"value\":3}]", 400, "item");
    check_error(port, "POST", "/events", std::string(70000, ' ') + "[]", 413, "body");
    // cpp-httplib's own 8 KB cap on form-encoded bodies (curl -d's default type) is named.
    auto form =
        post(port, "/events", std::string(9000, ' ') + "[]", "application/x-www-form-urlencoded");
    check(form.status == 413 && form.body.value("field", "") == "body" &&
              form.body.value("error", "").find("application/json") != std::string::npos,
          "a form-encoded body over 8 KB: 413 naming the content type");
    std::string many = "[";
    for (int e = 0; e < 401; ++e)
      many += std::string(e ? "," : "") + "{\"user\":1,\"item\":5,\"value\":3}";
    check_error(port, "POST", "/events", many + "]", 429, "events");
    h = get(port, "/health");
    check(h.status == 200 && h.body["events"] == 0, "no bad request applied an event");

    // An event shows in the next /recommend: rate the top item, it leaves the list.
    auto before = get(port, "/recommend?user=1&k=3");
    const std::string top = text(before.body["items"][0]["item"]);
    auto ack = post(port, "/events", "[{\"user\":1,\"item\":" + top + ",\"value\":1}]");
    check(ack.status == 200 && ack.body["accepted"] == 1, "POST /events accepted");
    auto after = get(port, "/recommend?user=1&k=3");
    check(after.body["n_rated"] == before.body["n_rated"].get<int>() + 1, "n_rated grows by 1");
    for (const auto& e : after.body["items"])
      check(text(e["item"]) != top, "the rated top item left /recommend");
    check_recommend(port, "1", 5);
    // A new user by events is folded in at once; a new item joins at the next refit.
    ack = post(port, "/events",
               R"([{"user":"tester","item":1,"value":5},{"user":"tester","item":2,"value":4},)"
               R"({"user":"tester","item":"new-item-1","value":5}])");
    check(ack.status == 200 && ack.body["accepted"] == 3, "events for a new user accepted");
    check_recommend(port, "tester", 4);
    bool joined = false;
    for (int t = 0; t < 100 && !joined; ++t) {
      joined = get(port, "/similar?item=new-item-1&k=2").status == 200;
      if (!joined) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    check(joined, "a new item gets factors at the next refit");
    auto m = get(port, "/metrics");
    check(m.status == 200 && m.body["requests"]["/recommend"]["200"].get<int>() >= 4 &&
              m.body["requests"]["/events"]["400"].get<int>() >= 8 &&
              m.body["latency"]["/recommend"]["count"].get<int>() >= 4,
          "/metrics counts requests and latencies");

    // kill -9 right after an acknowledged batch: it is in the journal (or a snapshot).
    ack = post(port, "/events",
               R"([{"user":3,"item":10,"value":4},{"user":"crash","item":20,"value":2}])");
    check(ack.status == 200, "events before kill -9 accepted");
    const auto acked = ack.body.value("seq", 0);
    stop(p, SIGKILL);
    p = start(binary, args);
    h = get(p.port, "/health");
    check(h.status == 200 && h.body["events"].get<int>() >= acked,
          "after kill -9: events " + h.body["events"].dump() + " >= " + std::to_string(acked));
    check(has_rating(p.port, "crash", "20", 2) && has_rating(p.port, "3", "10", 4),
          "after kill -9: the last batch is there");
    check(has_rating(p.port, "tester", "new-item-1", 5) && rated(p.port, "tester").size() == 3,
          "after kill -9: earlier events are there");
    check(has_rating(p.port, "1", top, 1), "after kill -9: user 1's event is there");
    check_recommend(p.port, "crash", 3);

    // SIGTERM: exit 0 after a last snapshot, so the next start replays nothing.
    const int status = stop(p, SIGTERM);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "SIGTERM: exit status 0");
    // More embedding rows than items: a start-up error naming the flag and both numbers.
    write_embeddings(dir / "too_many.npy", 2000, dim);
    auto bad_args = plain_args;
    bad_args.push_back("--item-embeddings");
    bad_args.push_back((dir / "too_many.npy").string());
    const auto [bad_status, bad_err] = run_to_exit(binary, bad_args, dir / "stderr.txt");
    check(WIFEXITED(bad_status) && WEXITSTATUS(bad_status) == 1 &&
              bad_err.find("--item-embeddings") != std::string::npos &&
              bad_err.find("2000 rows") != std::string::npos &&
              bad_err.find("1683 items") != std::string::npos,
          "--item-embeddings with 2000 rows: exit 1 naming the flag and both counts (got " +
              bad_err + ")");
    // Without --item-embeddings a vector is a 400 naming it.
    p = start(binary, plain_args);
    check_error(p.port, "POST", "/search", "{\"vector\": [1]}", 400, "vector");
    h = get(p.port, "/health");
    check(h.body["events"].get<int>() == acked && h.body["replayed"] == 0,
          "after SIGTERM: every event in the snapshot, none replayed");
    check(has_rating(p.port, "crash", "20", 2), "after SIGTERM: events there");
    stop(p, SIGTERM);
  } catch (const std::exception& e) {
    ++failures;
    std::fprintf(stderr, "FAIL: %s\n", e.what());
    if (p.pid > 0) stop(p, SIGKILL);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::printf("%s: %d failure(s)\n", failures ? "FAILED" : "passed", failures);
  return failures ? 1 : 0;
}
