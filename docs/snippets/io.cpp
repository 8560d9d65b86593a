#include <cstdio>
#include <filesystem>
#include <fstream>

#include <recfuse/factorize/persist.hpp>
#include <recfuse/io/ratings.hpp>

int main() {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "recfuse-io-snippet";
  fs::create_directories(dir);
  std::ofstream(dir / "ratings.csv") << "userId,movieId,rating,timestamp\n"
                                        "alice,m1,4.5,1000\n"
                                        "bob,m2,3,1001\n"
                                        "alice,m2,5,1002\n";

  // Ids are text; each map numbers them 0, 1, ... in first-seen order.
  recfuse::io::id_map users, items;
  const auto train = recfuse::io::load_ratings(dir / "ratings.csv", users, items);
  std::printf("%lld ratings, %lld users, %lld items; user 1 is %s\n",
              static_cast<long long>(train.size()), static_cast<long long>(train.users),
              static_cast<long long>(train.items), users.key(1).c_str());
  // 3 ratings, 2 users, 2 items; user 1 is bob

  // A model over those ids (normally from recfuse::fit_biased_als or fit_biased_sgd).
  recfuse::biased_mf_model<float> model;
  model.users = train.users;
  model.items = train.items;
  model.factors = 2;
  model.global_mean = 4.1666665f;
  model.min_rating = 0.5f;
  model.max_rating = 5;
  model.user_bias = {0.25f, -0.5f};
  model.item_bias = {0.1f, -0.1f};
  model.user_factors = {0.5f, -0.25f, 0.125f, 1};
  model.item_factors = {1, 0, -0.5f, 0.75f};
  recfuse::save_model(dir / "model.rfm", model);  // atomic: a temp file renamed into place

  const auto loaded = recfuse::load_biased_mf_model<float>(dir / "model.rfm");
  std::printf("alice, m2: %.4f\n", loaded.predict(users.find("alice"), items.find("m2")));
  // alice, m2: 3.8792

  try {  // errors name the function, the file and the problem
    recfuse::load_implicit_mf_model<float>(dir / "model.rfm");
  } catch (const recfuse::io_error& e) {
    std::printf("%s\n", e.what());
    // recfuse::load_implicit_mf_model: "/tmp/recfuse-io-snippet/model.rfm": the file holds a
    // model of kind "biased_mf", not "implicit_mf" (load it with recfuse::load_biased_mf_model)
  }
  fs::remove_all(dir);
  return loaded.item_factors == model.item_factors ? 0 : 1;
}
