// Search three titles with BM25, fuse with a semantic list, and re-rank for one user.
#include <cstdio>
#include <string>
#include <vector>

#include <recfuse/search/bm25.hpp>
#include <recfuse/search/hybrid.hpp>
#include <recfuse/xsimd/search/bm25.hpp>
#include <recfuse/xsimd/search/semantic.hpp>

int main() {
  const recfuse::exec::xsimd cpu{2};
  const std::vector<std::string> titles = {"Toy Story (1995)", "Toy Soldiers (1991)",
                                           recfuse::search::latin1_to_utf8("Am\xE9lie (2001)")};
  const auto index = recfuse::search::bm25_index<float>::from_texts(titles);
  const auto q = index.encode_texts({"toy story"});
  const auto lexical = recfuse::search::bm25_topk(cpu, index, q.view(), 3);
  std::printf("bm25: item %lld (%.3f), item %lld (%.3f)\n",
              static_cast<long long>(lexical.index(0, 0)), lexical.value(0, 0),
              static_cast<long long>(lexical.index(0, 1)), lexical.value(0, 1));
  // bm25: item 0 (1.374), item 1 (0.445)

  // Semantic candidates from 2-d embeddings (normally tools/embed_titles.py), then one user's
  // model scores re-rank the fused list; each hit says what every signal brought.
  const std::vector<float> items = {1.0f, 0.0f, 0.8f, 0.6f, 0.0f, 1.0f}, query = {0.9f, 0.4f};
  const auto semantic =
      recfuse::search::semantic_topk(cpu, recfuse::matrix_view<const float>(query.data(), 1, 2),
                                     recfuse::matrix_view<const float>(items.data(), 3, 2), 3);
  const std::vector<float> user = {0.1f, 3.0f, 1.0f};
  recfuse::search::hybrid_options opt;
  opt.personal_weight = 0.02;
  const auto hits = recfuse::search::hybrid_rank(
      &lexical, &semantic, 2, opt,
      recfuse::search::dense_personal(recfuse::vector_view<const float>(user.data(), 3)));
  for (const auto& h : hits[0]) {
    std::printf("item %lld: %.4f = %.4f (bm25) + %.4f (semantic) + %.4f (personal)\n",
                static_cast<long long>(h.item), h.score, h.bm25, h.semantic, h.personal);
  }
  // item 1: 0.0525 = 0.0161 (bm25) + 0.0164 (semantic) + 0.0200 (personal)
  // item 0: 0.0325 = 0.0164 (bm25) + 0.0161 (semantic) + 0.0000 (personal)
}
