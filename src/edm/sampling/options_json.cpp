#include "edm/sampling/options_json.h"

#include <cmath>
#include <cstdint>
#include <vector>

#include "edm/core/error.h"

namespace edm {

namespace {

// The one list of fields. Keys are the command-line names.
template <class Options, class F>
void for_each_field(Options& o, F&& f) {
  f("steps", o.num_steps);
  f("sigma_min", o.sigma_min);
  f("sigma_max", o.sigma_max);
  f("rho", o.disc.rho);
  f("S_churn", o.S_churn);
  f("S_min", o.S_min);
  f("S_max", o.S_max);
  f("S_noise", o.S_noise);
  f("solver", o.solver);
  f("disc", o.discretization);
  f("schedule", o.schedule);
  f("scaling", o.scaling);
  f("alpha", o.alpha);
  f("eta", o.eta);
  f("ld_steps", o.ld_steps);
  f("ld_snr", o.ld_snr);
  f("epsilon_s", o.disc.epsilon_s);
  f("C_1", o.disc.C_1);
  f("C_2", o.disc.C_2);
  f("M", o.disc.M);
  f("order", o.order);
  f("variant", o.variant);
  f("restart", o.restart);
  f("rtol", o.rtol);
  f("predictor", o.predictor);
  f("corrector-steps", o.corrector_steps);
  f("snr", o.snr);
  f("respace", o.respace);
  f("clip-denoised", o.clip_denoised);
  f("afs", o.afs);
  f("steps-file", o.steps);  // the noise levels themselves, so no file is needed to remake an image
}

nlohmann::json put(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}
nlohmann::json put(int64_t v) { return v; }
nlohmann::json put(int v) { return v; }
nlohmann::json put(bool v) { return v; }
nlohmann::json put(const std::vector<double>& v) { return v; }
nlohmann::json put(const std::string& v) { return v; }
nlohmann::json put(const std::optional<double>& v) { return v ? put(*v) : nlohmann::json(); }

[[noreturn]] void wrong_type(const std::string& key, const char* what) {
  throw UsageError("'" + key + "' must be " + what);
}

void get(const nlohmann::json& j, const std::string& key, double& v) {
  if (j.is_number()) {
    v = j.get<double>();
  } else if (j == "inf" || j == "-inf") {
    v = j == "inf" ? INFINITY : -INFINITY;
  } else {
    wrong_type(key, "a number");
  }
}
void get(const nlohmann::json& j, const std::string& key, int64_t& v) {
  if (j.is_number_integer()) {
    v = j.get<int64_t>();
  } else if (j.is_number_float() && j.get<double>() == std::floor(j.get<double>()) &&
             std::abs(j.get<double>()) < 1e15) {
    v = static_cast<int64_t>(j.get<double>());
  } else {
    wrong_type(key, "an integer");
  }
}
void get(const nlohmann::json& j, const std::string& key, int& v) {
  int64_t wide = 0;
  get(j, key, wide);
  if (wide < INT32_MIN || wide > INT32_MAX) wrong_type(key, "a 32-bit integer");
  v = static_cast<int>(wide);
}
void get(const nlohmann::json& j, const std::string& key, bool& v) {
  if (!j.is_boolean()) wrong_type(key, "true or false");
  v = j.get<bool>();
}
void get(const nlohmann::json& j, const std::string& key, std::vector<double>& v) {
  if (!j.is_array()) wrong_type(key, "an array of numbers");
  v.clear();
  for (const auto& x : j) {
    if (!x.is_number()) wrong_type(key, "an array of numbers");
    v.push_back(x.get<double>());
  }
}
void get(const nlohmann::json& j, const std::string& key, std::string& v) {
  if (!j.is_string()) wrong_type(key, "a string");
  v = j.get<std::string>();
}
void get(const nlohmann::json& j, const std::string& key, std::optional<double>& v) {
  if (j.is_null()) {
    v.reset();
    return;
  }
  double d = 0;
  get(j, key, d);
  v = d;
}

}  // namespace

nlohmann::json sampler_options_to_json(const SamplerOptions& o) {
  nlohmann::json j = nlohmann::json::object();
  for_each_field(o, [&](const char* key, const auto& v) { j[key] = put(v); });
  return j;
}

void sampler_options_from_json(const nlohmann::json& j, SamplerOptions& o) {
  if (!j.is_object()) throw UsageError("sampler options must be a JSON object");
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool known = false;
    for_each_field(o, [&](const char* key, auto& v) {
      if (it.key() != key) return;
      get(it.value(), it.key(), v);
      known = true;
    });
    if (!known) throw UsageError("unknown sampler option '" + it.key() + "'");
  }
}

const std::vector<std::string>& sampler_option_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    SamplerOptions o;
    for_each_field(o, [&](const char* key, const auto&) { out.emplace_back(key); });
    return out;
  }();
  return names;
}

}  // namespace edm
