#include "edm/serve/request.h"

#include "edm/core/error.h"
#include "edm/core/rng.h"
#include "edm/sampling/options_json.h"

namespace edm::serve {

namespace {

std::vector<uint64_t> parse_seeds(const nlohmann::json& j) {
  if (j.is_string()) return parse_seed_list(j.get<std::string>());
  if (j.is_number_unsigned()) return {j.get<uint64_t>()};
  if (!j.is_array()) throw UsageError("'seeds' must be a list such as \"0-3,7\" or [0, 1, 2]");
  std::vector<uint64_t> out;
  for (const auto& s : j) {
    if (!s.is_number_unsigned() || s.get<uint64_t>() >= (uint64_t(1) << 32))
      throw UsageError("'seeds' must hold integers in [0, 2^32)");
    out.push_back(s.get<uint64_t>());
  }
  return out;
}

void check_limits(const GenerateRequest& r, const Limits& limits) {
  if (r.seeds.empty()) throw UsageError("'seeds' is empty");
  if (static_cast<int64_t>(r.seeds.size()) > limits.max_images)
    throw UsageError("at most " + std::to_string(limits.max_images) + " seeds per request");
  const auto& o = r.gen.sampler_options;
  if (o.num_steps > limits.max_steps) throw UsageError("at most " + std::to_string(limits.max_steps) + " steps");
  validate(o);
  const SamplerInfo& s = resolve_sampler(r.gen);
  check_options(s, o);
  if (s.nfe(o) > limits.max_nfe)
    throw UsageError("the sampler would make " + std::to_string(s.nfe(o)) + " evaluations per image, at most " +
                     std::to_string(limits.max_nfe));
}

}  // namespace

GenerateRequest parse_generate_request(const std::string& body, const Limits& limits) {
  if (body.size() > limits.max_body)
    throw UsageError("request body over " + std::to_string(limits.max_body) + " bytes");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(body);
  } catch (const nlohmann::json::exception&) {
    throw UsageError("the request body is not valid JSON");
  }
  if (!j.is_object()) throw UsageError("the request body must be a JSON object");
  GenerateRequest r;
  nlohmann::json options = nlohmann::json::object();
  for (auto it = j.begin(); it != j.end(); ++it) {
    const auto& k = it.key();
    const auto& v = it.value();
    if (k == "net") {
      if (!v.is_string()) throw UsageError("'net' must be a model name");
      r.net = v.get<std::string>();
    } else if (k == "seeds") {
      r.seeds = parse_seeds(v);
    } else if (k == "class") {
      if (!v.is_null() && !v.is_number_integer()) throw UsageError("'class' must be an integer or null");
      if (!v.is_null()) r.gen.class_idx = v.get<int64_t>();
    } else if (k == "guidance") {
      if (!v.is_null() && !v.is_number()) throw UsageError("'guidance' must be a number or null");
      if (!v.is_null()) r.guidance = v.get<double>();
    } else if (k == "sampler") {
      if (!v.is_string()) throw UsageError("'sampler' must be a sampler name");
      r.gen.sampler = v.get<std::string>();
    } else if (k == "stream") {
      if (!v.is_boolean()) throw UsageError("'stream' must be true or false");
      r.stream = v.get<bool>();
    } else {
      options[k] = v;  // a sampler option, or an unknown field reported there
    }
  }
  sampler_options_from_json(options, r.gen.sampler_options);
  // The command line's rule for "auto": ablation as soon as one of these is given.
  for (const char* k : {"solver", "disc", "schedule", "scaling"}) r.gen.ablation_options_given |= options.contains(k);
  check_limits(r, limits);
  return r;
}

}  // namespace edm::serve
