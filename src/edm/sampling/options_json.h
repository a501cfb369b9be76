// SamplerOptions as JSON, under the command line's names without "--"
// ("steps", "sigma_min", "S_churn", "disc", ...): one list of fields
// (options_json.cpp) serves the parameters written into PNGs, --from-png and
// the HTTP API. A new option is one line there.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "edm/sampling/sampler.h"

namespace edm {

// Every field, set or not; an unset sigma_min / sigma_max is null and an
// infinite value is the string "inf" or "-inf" (JSON has no infinity).
nlohmann::json sampler_options_to_json(const SamplerOptions& o);

// Sets the fields `j` names, leaving the others as they are. Throws
// edm::UsageError naming a field that is unknown or of the wrong type.
void sampler_options_from_json(const nlohmann::json& j, SamplerOptions& o);

// The field names, in the list's order.
const std::vector<std::string>& sampler_option_names();

}  // namespace edm
