#include "edm/sampling/multistep.h"

#include <string>

#include "edm/core/error.h"

namespace edm {

int sampler_order(const SamplerOptions& o, int fallback, int max, const char* sampler) {
  const int order = o.order ? o.order : fallback;
  if (order < 1 || order > max)
    throw UsageError("--order must be 1 to " + std::to_string(max) + " for sampler '" + sampler + "', got " +
                     std::to_string(order));
  return order;
}

}  // namespace edm
