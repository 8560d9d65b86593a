// recfuse Thrust backend: the policy, the adapters and every kernel of this backend, for
// programs that want them all. Libraries should include the headers they use.
#pragma once

#include "recfuse/thrust/adapt.hpp"
#include "recfuse/thrust/metrics/error.hpp"
#include "recfuse/thrust/policy.hpp"
