#include "edm/sampling/ideal_denoiser.h"

#include <cmath>
#include <limits>
#include <optional>

#include "edm/core/error.h"

namespace edm {

IdealDenoiser::IdealDenoiser(torch::Tensor points, torch::Tensor labels, double std, int64_t label_dim, bool fast)
    : points_(points.to(torch::kFloat64)), labels_(labels), std_(std), label_dim_(label_dim), fast_(fast) {
  if (points_.dim() < 2 || points_.size(0) < 1) throw Error("ideal denoiser: points must be [K,...] with K >= 1");
  if (!(std >= 0) || !std::isfinite(std)) throw Error("ideal denoiser: std must be a finite non-negative number");
  flat_ = points_.reshape({points_.size(0), -1});
  sq_norms_ = flat_.square().sum(1);
  if (labels_.defined()) {
    if (labels_.dim() != 1 || labels_.size(0) != points_.size(0))
      throw Error("ideal denoiser: labels must be [K] to match points");
    labels_ = labels_.to(torch::kInt64).to(points_.device());
    if (labels_.numel() && labels_.min().item<int64_t>() < 0)
      throw Error("ideal denoiser: labels must be non-negative");
    if (label_dim_ == 0) label_dim_ = labels_.max().item<int64_t>() + 1;
  }
}

torch::Tensor IdealDenoiser::denoise(const torch::Tensor& x_in, const torch::Tensor& sigma_in,
                                     const torch::Tensor& class_labels, const torch::Tensor&) {
  const auto dev = points_.device();
  auto x = x_in.to(dev, torch::kFloat64).reshape({x_in.size(0), -1});
  const int64_t n = x.size(0), k = flat_.size(0);
  auto sigma = sigma_in.to(dev, torch::kFloat64).reshape({-1}).expand({n});
  // Each component is N(y_k, (std^2 + sigma^2) I); its posterior mean shrinks x
  // towards y_k by std^2 / (std^2 + sigma^2).
  auto var = sigma * sigma + std_ * std_;  // [N]
  torch::Tensor dist2;
  if (fast_) {
    dist2 = (x.square().sum(1, true) - 2 * x.matmul(flat_.t()) + sq_norms_.unsqueeze(0)).clamp_min(0);
  } else {
    // Direct differences, chunked to bound memory: exact to the last bits.
    dist2 = torch::empty({n, k}, x.options());
    const int64_t chunk = std::max<int64_t>(1, (int64_t(8) << 20) / std::max<int64_t>(1, n * x.size(1)));
    for (int64_t a = 0; a < k; a += chunk) {
      auto y = flat_.narrow(0, a, std::min(chunk, k - a));
      dist2.narrow(1, a, y.size(0)).copy_((x.unsqueeze(1) - y.unsqueeze(0)).square().sum(2));
    }
  }
  const double inf = std::numeric_limits<double>::infinity();
  if (labels_.defined() && class_labels.defined()) {
    // Only the points of the requested class: the others are infinitely far.
    auto cls = class_labels.to(dev).argmax(1);  // one-hot -> class
    dist2.masked_fill_(labels_.unsqueeze(0) != cls.unsqueeze(1), inf);
    if (!(dist2 < inf).any(1).all().item<bool>()) throw Error("ideal denoiser: a requested class has no points");
  }
  auto logits = -dist2 / (2 * var.unsqueeze(1));
  // var = 0: the posterior collapses onto the nearest point.
  auto nearest =
      torch::where(dist2 == std::get<0>(dist2.min(1, true)), torch::zeros_like(dist2), torch::full_like(dist2, -inf));
  logits = torch::where((var == 0).unsqueeze(1), nearest, logits);
  auto w = torch::softmax(logits, 1);
  auto mean_y = w.matmul(flat_);  // sum_k w_k y_k
  auto shrink = (std_ * std_) / var.clamp_min(std::numeric_limits<double>::min());
  auto out = std_ > 0 ? mean_y + shrink.unsqueeze(1) * (x - mean_y) : mean_y;
  return out.reshape(x_in.sizes());
}

std::shared_ptr<Denoiser> load_ideal_denoiser(const TensorFile& file, const nlohmann::json& config,
                                              torch::Device device) {
  for (const auto& [key, value] : config.items())
    if (key != "precond" && key != "std" && key != "img_resolution" && key != "img_channels" && key != "label_dim")
      throw Error(file.path() + ": unknown key \"" + key + "\" in the ideal denoiser's edm.config");
  // Sizes must be integers (a raw JSON type error otherwise) and agree with the points.
  auto integer = [&](const char* key) -> std::optional<int64_t> {
    if (!config.contains(key)) return std::nullopt;
    if (!config[key].is_number_integer() || config[key].get<int64_t>() < 0)
      throw Error(file.path() + ": edm.config \"" + key + "\" is not a non-negative integer");
    return config[key].get<int64_t>();
  };
  const int64_t label_dim = integer("label_dim").value_or(0);
  const auto img_resolution = integer("img_resolution"), img_channels = integer("img_channels");
  double std = 0;
  if (config.contains("std")) {
    if (!config["std"].is_number()) throw Error(file.path() + ": edm.config \"std\" is not a number");
    std = config["std"].get<double>();
  }
  if (!file.has("points")) throw Error(file.path() + ": ideal denoiser has no tensor 'points'");
  auto points = file.get("points");
  if (points.dim() < 2) throw Error(file.path() + ": tensor 'points' must be [K,C,H,W] or [K,...]");
  for (int64_t d = 1; d < points.dim(); ++d)
    if (points.size(d) == 0) throw Error(file.path() + ": tensor 'points' has an empty dimension");
  if (points.dim() == 4 && points.size(2) != points.size(3))
    throw Error(file.path() + ": tensor 'points' holds " + std::to_string(points.size(2)) + "x" +
                std::to_string(points.size(3)) + " images; images must be square");
  if ((img_channels && *img_channels != points.size(1)) ||
      (img_resolution && *img_resolution != (points.dim() > 2 ? points.size(2) : 0)))
    throw Error(file.path() + ": edm.config's img_channels / img_resolution do not match tensor 'points' " +
                c10::str(points.sizes()));
  torch::Tensor labels;
  if (file.has("labels")) labels = file.get("labels");
  for (const auto& name : file.names())
    if (name != "points" && name != "labels") throw Error(file.path() + ": unexpected tensor '" + name + "'");
  try {
    return std::make_shared<IdealDenoiser>(points.to(device), labels.defined() ? labels.to(device) : labels, std,
                                           label_dim);
  } catch (const Error& e) {
    throw Error(file.path() + ": " + e.what());
  }
}

void save_ideal_denoiser(const std::string& path, const torch::Tensor& points, const torch::Tensor& labels,
                         double std) {
  nlohmann::json config = {{"precond", "ideal"},
                           {"std", std},
                           {"img_resolution", points.dim() > 2 ? points.size(2) : 0},
                           {"img_channels", points.size(1)},
                           {"label_dim", labels.defined() ? labels.max().item<int64_t>() + 1 : 0}};
  std::map<std::string, torch::Tensor> t = {{"points", points}};
  if (labels.defined()) t["labels"] = labels.to(torch::kInt64);
  save_tensors(path, t, {{"edm.config", config.dump()}, {"edm.format", "edm-model-v1"}});
}

}  // namespace edm
