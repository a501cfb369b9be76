#include "edm/train/resume_options.h"

#include <map>
#include <nlohmann/json.hpp>

#include "edm/core/error.h"

namespace edm {

namespace {

using json = nlohmann::json;

// The --precond name of a state's preconditioning (EDM2 keeps EDM's; an
// autoencoder has none and runs with the default's).
std::string precond_option(const json& config) {
  static const std::map<std::string, std::string> names = {
      {"EDMPrecond", "edm"},     {"EDM2Precond", "edm"},  {"VPPrecond", "vp"},     {"VEPrecond", "ve"},
      {"iDDPMPrecond", "iddpm"}, {"DDPMPrecond", "ddpm"}, {"AutoencoderKL", "edm"}};
  auto it = names.find(config.value("precond", std::string()));
  return it == names.end() ? config.value("precond", std::string()) : it->second;
}

json model_key(const json& config, const char* key, const json& fallback) {
  if (!config.contains("model") || !config["model"].is_object()) return fallback;
  const auto& m = config["model"];
  return m.contains(key) && !m[key].is_null() ? m[key] : fallback;
}

json config_key(const json& config, const char* key, const json& fallback) {
  return config.contains(key) && !config[key].is_null() ? config[key] : fallback;
}

std::string shown(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

// Numbers compare by value: 8 and 8.0 are one width.
bool same(const json& a, const json& b) {
  if (a.is_number() && b.is_number()) return a.get<double>() == b.get<double>();
  return a == b;
}

class Checker {
 public:
  Checker(const TrainOptions& o, const std::string& path) : o_(o), path_(path) {}
  // `given`: the command line set the option (optional fields: when set).
  void operator()(const char* option, bool given, const json& ours, const json& state) const {
    if (!given && !o_.given.count(option)) return;
    if (!same(ours, state))
      throw UsageError("--" + std::string(option) + " " + shown(ours) + " conflicts with the training state's " +
                       shown(state) + " (" + path_ + "); a resumed run keeps the state's network: drop --" + option);
  }

 private:
  const TrainOptions& o_;
  const std::string& path_;
};

}  // namespace

void adopt_resumed_options(TrainOptions& o, const TrainStateInfo& s, const std::string& path) {
  if (!o.transfer.empty())
    throw UsageError("--transfer starts a new run from a model's weights; --resume goes on from " + path +
                     ": give one of them");
  const Checker check(o, path);
  const json& c = s.config;
  if (!s.arch.empty()) check("arch", false, o.arch, s.arch);
  check("precond", false, o.precond, precond_option(c));
  const bool classifier = config_key(c, "num_classes", 0).get<double>() > 0;
  check("classifier", false, o.classifier, classifier);
  const bool autoencoder = config_key(c, "precond", "") == "AutoencoderKL";
  check("autoencoder", false, o.autoencoder, autoencoder);
  check("latent-channels", false, o.latent_channels, autoencoder ? model_key(c, "latent_channels", nullptr) : nullptr);
  check("cond", o.cond.has_value(), o.cond.value_or(false),
        !classifier && config_key(c, "label_dim", 0).get<double>() > 0);
  check("cbase", o.cbase.has_value(), o.cbase.value_or(0), model_key(c, "model_channels", nullptr));
  check("cres", !o.cres.empty(), o.cres, model_key(c, "channel_mult", nullptr));
  check("sigma-data", o.sigma_data.has_value(), o.sigma_data.value_or(0), config_key(c, "sigma_data", 0.5));
  check("dropout", o.dropout.has_value(), o.dropout.value_or(0), model_key(c, "dropout", nullptr));
  check("label-dropout", false, o.label_dropout, model_key(c, "label_dropout", 0));
  check("fp16", false, o.fp16, config_key(c, "use_fp16", false));
  check("bf16", false, o.bf16, config_key(c, "use_bf16", false));
  const bool ddpm = precond_option(c) == "ddpm";  // only DDPM's config has a chain
  check("beta", o.beta.has_value(), o.beta.value_or(""), ddpm ? config_key(c, "beta_schedule", "linear") : nullptr);
  check("T", o.T.has_value(), o.T.value_or(0), ddpm ? config_key(c, "T", 1000) : nullptr);
  check("learn-sigma", false, o.learn_sigma, ddpm && config_key(c, "learn_sigma", false).get<bool>());
  check("seed", false, o.seed, s.counters.seed);
  const json upsampler = config_key(c, "upsampler", nullptr);
  check("cascade-from", o.cascade_from.has_value(), o.cascade_from.value_or(0),
        upsampler.is_object() ? config_key(upsampler, "low_resolution", nullptr) : json(nullptr));
  check("cond-aug-max", false, o.cond_aug_max,
        upsampler.is_object() ? config_key(upsampler, "cond_aug_max", nullptr) : json(nullptr));
  check("resolution", o.resolution.has_value(), o.resolution.value_or(0),
        c.contains("latent") ? json(nullptr) : config_key(c, "img_resolution", nullptr));
  if (!o.latent.empty() && !c.contains("latent"))
    throw UsageError("--latent conflicts with the training state " + path + ", which trains on pixels: drop --latent");
  if (!s.arch.empty()) o.arch = s.arch;  // the recipe goes on as it began
  o.precond = precond_option(c);
}

}  // namespace edm
