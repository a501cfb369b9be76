// edm.config "precond" name -> its coefficients (with the reference's default
// arguments) and default network type, around the shared PrecondImpl.
#include <cmath>

#include "edm/core/error.h"
#include "edm/nn/precond.h"

namespace edm::networks {

namespace {

struct Choice {
  std::shared_ptr<Preconditioning> pre;
  ModelLayout layout;
};

Choice read_choice(const std::string& name, ConfigReader& r) {
  if (name == "EDMPrecond") {
    const double sigma_min = r.number("sigma_min", 0), sigma_max = r.number("sigma_max", INFINITY);
    return {std::make_shared<EDMPreconditioning>(r.number("sigma_data", 0.5), sigma_min, sigma_max), {"DhariwalUNet"}};
  }
  if (name == "EDM2Precond")  // EDM's coefficients without a sigma range, network "unet"
    return {std::make_shared<EDMPreconditioning>(r.number("sigma_data", 0.5), 0, INFINITY), {"EDM2UNet", "unet", true}};
  if (name == "VPPrecond") {
    const double beta_d = r.number("beta_d", 19.9), beta_min = r.number("beta_min", 0.1);
    const double M = double(r.integer("M", 1000)), epsilon_t = r.number("epsilon_t", 1e-5);
    return {std::make_shared<VPPreconditioning>(beta_d, beta_min, M, epsilon_t), {"SongUNet"}};
  }
  if (name == "VEPrecond") {
    const double sigma_min = r.number("sigma_min", 0.02);
    return {std::make_shared<VEPreconditioning>(sigma_min, r.number("sigma_max", 100)), {"SongUNet"}};
  }
  if (name == "iDDPMPrecond") {
    const double C_1 = r.number("C_1", 0.001), C_2 = r.number("C_2", 0.008);
    const int64_t M = r.integer("M", 1000);
    if (M < 2) throw Error("edm.config: \"M\" must be at least 2");
    return {std::make_shared<iDDPMPreconditioning>(C_1, C_2, M), {"DhariwalUNet"}};
  }
  if (name == "DDPMPrecond") {
    const auto beta = r.string("beta_schedule", "linear", {"linear", "cosine"});
    const int64_t T = r.integer("T", 1000);
    if (T < 2 || T > 1000000) throw Error("edm.config: \"T\" must be in 2..1000000");
    const bool learn_sigma = r.boolean("learn_sigma", false);
    return {std::make_shared<DDPMPreconditioning>(ddpm::parse_beta_schedule(beta), T, learn_sigma), {"SongUNet"}};
  }
  if (name == "AutoencoderKL")  // no diffusion: the coefficients are never used (edm train --autoencoder)
    return {std::make_shared<EDMPreconditioning>(0.5, 0, INFINITY), {"AutoencoderKL"}};
  throw Error("edm.config: unknown precond \"" + name +
              "\" (EDMPrecond, VPPrecond, VEPrecond, iDDPMPrecond, DDPMPrecond, EDM2Precond, AutoencoderKL)");
}

}  // namespace

std::shared_ptr<PrecondImpl> make_precond(const nlohmann::json& config, const Build& build) {
  if (!config.is_object() || !config.contains("precond") || !config["precond"].is_string())
    throw Error("edm.config has no \"precond\" name");
  ConfigReader r(config, "edm.config");
  auto choice = read_choice(config["precond"].get<std::string>(), r);
  try {
    return std::make_shared<PrecondImpl>(config, r, choice.pre, choice.layout, build);
  } catch (const c10::Error& e) {  // a size torch refuses (an overflowing shape, an allocation)
    const std::string what = e.what_without_backtrace();
    throw Error("edm.config: a network of these sizes cannot be built: " + what.substr(0, what.find('\n')));
  }
}

int64_t parameter_count(const nlohmann::json& config) {
  int64_t n = 0;
  for (const auto& p : make_precond(config, Build{torch::kMeta, false})->parameters()) n += p.numel();
  return n;
}

std::shared_ptr<PrecondImpl> make_precond(const nlohmann::json& config) { return make_precond(config, Build{}); }

}  // namespace edm::networks
