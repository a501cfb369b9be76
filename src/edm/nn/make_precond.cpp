// edm.config "precond" name -> preconditioning class.
#include "edm/core/error.h"
#include "edm/nn/preconditioned.h"

namespace edm::nn {

std::shared_ptr<PrecondImpl> make_precond(const nlohmann::json& config, const Build& build) {
  if (!config.is_object() || !config.contains("precond") || !config["precond"].is_string())
    throw Error("edm.config has no \"precond\" name");
  const auto name = config["precond"].get<std::string>();
  if (name == "EDMPrecond") return std::make_shared<EDMPrecond>(config, build);
  if (name == "VPPrecond") return std::make_shared<VPPrecond>(config, build);
  if (name == "VEPrecond") return std::make_shared<VEPrecond>(config, build);
  if (name == "iDDPMPrecond") return std::make_shared<iDDPMPrecond>(config, build);
  throw Error("edm.config: unknown precond \"" + name + "\" (EDMPrecond, VPPrecond, VEPrecond, iDDPMPrecond)");
}

std::shared_ptr<PrecondImpl> make_precond(const nlohmann::json& config) { return make_precond(config, Build{}); }

}  // namespace edm::nn
