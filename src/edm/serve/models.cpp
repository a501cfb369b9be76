#include "edm/serve/models.h"

#include <cmath>
#include <filesystem>

#include "edm/core/error.h"
#include "edm/io/sha256.h"
#include "edm/model/model_file.h"
#include "edm/sampling/generate.h"

namespace edm::serve {

Models::Models(const std::vector<std::string>& paths, torch::Device device) : device_(device) {
  if (paths.empty()) throw UsageError("give at least one --net");
  for (const auto& p : paths) {
    auto m = std::make_unique<Model>();
    m->name = std::filesystem::path(p).filename().string();
    for (const auto& other : models_)
      if (other->name == m->name) throw UsageError("two models named " + m->name + ": give files distinct names");
    m->path = p;
    m->net = load_denoiser(p, device);
    m->sha256 = sha256_file_hex(p);
    models_.push_back(std::move(m));
  }
}

Model& Models::find(const std::string& name) {
  if (name.empty() && models_.size() == 1) return *models_[0];
  for (auto& m : models_)
    if (m->name == name) return *m;
  std::string names;
  for (auto& m : models_) names += (names.empty() ? "" : ", ") + m->name;
  throw UsageError(name.empty() ? "give 'net' (" + names + ")" : "no model '" + name + "' (" + names + ")");
}

nlohmann::json Models::describe() const {
  auto finite = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); };
  nlohmann::json out = nlohmann::json::array();
  for (const auto& m : models_) {
    const auto image = image_shape(*m->net);  // what the page shows: a latent model's decoded images
    out.push_back({{"name", m->name},
                   {"sha256", m->sha256},
                   {"resolution", image.back()},
                   {"channels", image.front()},
                   {"label_dim", m->net->label_dim()},
                   {"sigma_min", finite(m->net->sigma_min())},
                   {"sigma_max", finite(m->net->sigma_max())}});
  }
  return out;
}

RunSlot::RunSlot(Model& m, int max_waiting) {
  if (m.waiting.fetch_add(1) >= max_waiting) {
    m.waiting.fetch_sub(1);
    throw Error("model " + m.name + " is busy: " + std::to_string(max_waiting) + " requests are waiting");
  }
  lock_ = std::unique_lock<std::mutex>(m.run);
  m.waiting.fetch_sub(1);
}

}  // namespace edm::serve
