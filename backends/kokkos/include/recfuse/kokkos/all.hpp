// recfuse Kokkos backend: the policy, the adapters and every kernel of this backend, for
// programs that want them all. Libraries should include the headers they use.
#pragma once

#include "recfuse/kokkos/adapt.hpp"
#include "recfuse/kokkos/metrics/error.hpp"
#include "recfuse/kokkos/policy.hpp"
