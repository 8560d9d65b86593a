// Every public header of the core library, included in reverse alphabetical order, so that a
// header whose names come from a later one fails here (each header alone is compiled by the
// recfuse_header_check target). A name found in the wrong detail namespace once broke
// select/topk.hpp followed by metrics/ranking.hpp.
// clang-format off
#include "recfuse/select/topk.hpp"
#include "recfuse/scale/standard_scaler.hpp"
#include "recfuse/scale/normalize.hpp"
#include "recfuse/scale/minmax_scaler.hpp"
#include "recfuse/reference/select.hpp"
#include "recfuse/reference/scale.hpp"
#include "recfuse/reference/ranking.hpp"
#include "recfuse/reference/metrics.hpp"
#include "recfuse/reference/factorize_implicit.hpp"
#include "recfuse/reference/factorize_biased.hpp"
#include "recfuse/metrics/ranking.hpp"
#include "recfuse/metrics/error.hpp"
#include "recfuse/io/ratings.hpp"
#include "recfuse/io/id_map.hpp"
#include "recfuse/io/archive.hpp"
#include "recfuse/factorize/persist.hpp"
#include "recfuse/factorize/model.hpp"
#include "recfuse/factorize/implicit_als.hpp"
#include "recfuse/factorize/biased_mf.hpp"
#include "recfuse/factorize.hpp"
#include "recfuse/core/views.hpp"
#include "recfuse/core/sparse.hpp"
#include "recfuse/core/memory.hpp"
#include "recfuse/core/execution.hpp"
#include "recfuse/core/errors.hpp"
#include "recfuse/core/config.hpp"
#include "recfuse/core/adapt.hpp"
// clang-format on

#include <catch2/catch.hpp>

TEST_CASE("headers: the public headers compile in reverse order", "[core]") { SUCCEED(); }
