// recfuse xsimd backend: the hybrid ranking (recfuse/search/hybrid.hpp) is host code without a
// kernel; this header includes the kernels of the functions that produce its inputs (BM25 and
// semantic retrieval).
#pragma once

#include "recfuse/search/hybrid.hpp"
#include "recfuse/xsimd/search/bm25.hpp"
#include "recfuse/xsimd/search/semantic.hpp"
