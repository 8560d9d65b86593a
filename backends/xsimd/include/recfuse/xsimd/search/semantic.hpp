// recfuse xsimd backend: semantic retrieval runs on topk_inner_product's xsimd kernel; this header
// includes it (recfuse/search/semantic.hpp composes, it has no kernel of its own).
#pragma once

#include "recfuse/search/semantic.hpp"
#include "recfuse/xsimd/select/topk.hpp"
