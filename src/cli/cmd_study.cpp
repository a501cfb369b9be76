// edm study: the paper's experiments as commands. Each subcommand measures a
// grid of cases (study.h), prints a row per case as it goes, and writes
// DIR/study.md, study.csv and study.png (after every case, so an interrupted
// study keeps what it measured).
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "common.h"
#include "edm/core/error.h"
#include "edm/core/rng.h"
#include "edm/core/runtime.h"
#include "edm/data/dataset.h"
#include "edm/eval/detector.h"
#include "edm/io/atomic_file.h"
#include "edm/io/image.h"
#include "edm/model/model_file.h"
#include "edm/sampling/ideal_denoiser.h"
#include "edm/study/loss_profile.h"
#include "edm/study/report.h"
#include "edm/study/study.h"
#include "edm/viz/plot.h"

namespace edm::cli {

namespace {

struct StudyArgs {
  RuntimeOptions runtime;
  PrecisionOptions precision;
  std::string net, ref, out, seeds = "0-999", detector;
  int64_t batch = 64;
  GenerateOptions base;
  // nfe / rho
  std::string samplers = "edm,dpmpp3m,ipndm,deis,unipc", nfes = "5,7,9,11,15,19,35", rhos = "1,2,3,5,7,10,15";
  std::string rho_samplers = "edm";
  int64_t nfe = 11;
  // churn
  std::string S_churn = "0,2,4,8,16,40,80", S_noise = "1,1.007", ranges = "0.05,50:0,inf";
  // loss
  std::string data = "fashion-mnist:test";
  int64_t num = 2048, levels = 25;
  double sigma_lo = 0.002, sigma_hi = 80, P_mean = -1.2, P_std = 1.2;
  // ideal
  std::string ideal_data = "fashion-mnist";
  int64_t ideal_num = 2000;
  double std = 0.1;
  uint64_t seed = 0;
};

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::string cur;
  for (char ch : text) {
    if (ch == sep) {
      parts.push_back(cur), cur.clear();
    } else if (ch != ' ') {
      cur += ch;
    }
  }
  parts.push_back(cur);
  return parts;
}

// "0.05,50:0,inf" -> {[0.05, 50], [0, inf]}.
std::vector<ChurnRange> parse_ranges(const std::string& text) {
  std::vector<ChurnRange> ranges;
  for (const auto& part : split(text, ':')) {
    auto v = parse_double_list(part, "S_range");
    if (v.size() != 2 || !(v[0] >= 0) || !(v[1] >= v[0]))
      throw UsageError("--S_range takes S_min,S_max pairs (0 <= S_min <= S_max) separated by ':', got '" + text + "'");
    ranges.push_back({v[0], v[1]});
  }
  return ranges;
}

// The model file's name without its folders, for titles.
std::string model_name(const std::string& path) { return std::filesystem::path(path).filename().string(); }

// `twins[i]` >= 0: case i makes the images of that earlier case (churn_twins),
// whose result it takes instead of generating them again.
void run_grid(StudyArgs& a, const std::vector<StudyCase>& cases, StudyReport report, bool show_nfe,
              const std::vector<int64_t>& twins = {}) {
  const auto device = parse_device(a.runtime.device);
  auto ref = load_stats(a.ref);  // fail fast, before the long part
  const auto seeds = parse_seed_list(a.seeds);
  auto net = load_denoiser(a.net, device, resolve_precision(a.precision, device));
  for (const auto& c : cases) check_generate_options(*net, c.gen);
  auto det = load_detector(a.detector.empty() ? default_detector_path() : a.detector, device);
  std::vector<StudyResult> results;
  std::fprintf(stderr, "%zu cases, %zu images each -> %s/study.{md,csv,png}\n", cases.size(), seeds.size(),
               a.out.c_str());
  for (size_t i = 0; i < cases.size(); ++i) {
    const int64_t twin = i < twins.size() ? twins[i] : -1;
    if (twin >= 0) {
      StudyResult same = results[twin];
      same.c = cases[i], same.seconds = 0;
      results.push_back(same);
    } else {
      results.push_back(run_case(*det, net, seeds, ref, cases[i], a.batch));
    }
    const auto& r = results.back();
    char nfe[32] = "", note[64] = "";
    if (show_nfe) std::snprintf(nfe, sizeof nfe, "  NFE %.4g", r.nfe);
    if (twin >= 0) std::snprintf(note, sizeof note, "  (the images of case %lld)", static_cast<long long>(twin + 1));
    std::printf("[%zu/%zu] %-40s %s %-8g%s  FD %8.3f  (%.1f s)%s\n", i + 1, cases.size(), r.c.series.c_str(),
                report.xlabel.c_str(), r.c.x, nfe, r.fd, r.seconds, note);
    std::fflush(stdout);
    write_study(a.out, report, results, show_nfe);
  }
  std::cout << "\n" << study_table(report, results, show_nfe);
}

void run_nfe(StudyArgs& a) {
  init_threads(a.runtime.threads);
  auto cases = nfe_cases(split(a.samplers, ','), parse_int_list(a.nfes, "nfe"), a.base);
  run_grid(a, cases, {"FD against NFE (" + model_name(a.net) + ")", "NFE", "FD", true, true}, false);
}

void run_rho(StudyArgs& a) {
  init_threads(a.runtime.threads);
  auto cases = rho_cases(split(a.rho_samplers, ','), parse_double_list(a.rhos, "rho"), a.nfe, a.base);
  run_grid(a, cases, {"FD against rho (" + model_name(a.net) + ")", "rho", "FD", false, false}, true);
}

void run_churn(StudyArgs& a) {
  init_threads(a.runtime.threads);
  auto cases = churn_cases(parse_double_list(a.S_churn, "S_churn"), parse_double_list(a.S_noise, "S_noise"),
                           parse_ranges(a.ranges), a.base);
  run_grid(a, cases, {"FD against S_churn (" + model_name(a.net) + ")", "S_churn", "FD", false, false}, false,
           churn_twins(cases));
}

torch::Tensor one_hot_labels(const Dataset& d, const Denoiser& net, const std::string& data) {
  if (net.label_dim() == 0) return {};
  if (!d.labels.defined() || d.label_dim != net.label_dim())
    throw UsageError("the model is conditional on " + std::to_string(net.label_dim()) + " classes; " + data + " has " +
                     (d.labels.defined() ? std::to_string(d.label_dim) + " classes" : "no labels"));
  return torch::one_hot(d.labels, d.label_dim).to(torch::kFloat32);
}

void run_loss(StudyArgs& a) {
  init_threads(a.runtime.threads);
  const auto device = parse_device(a.runtime.device);
  auto net = load_denoiser(a.net, device, resolve_precision(a.precision, device));
  require_pixel_model(*net, a.net, "edm study loss");
  auto d = load_dataset(a.data);
  if (d.images.sizes().slice(1).vec() != net->sample_shape())
    throw UsageError(a.data + " holds images of another shape than the model's samples");
  const int64_t n = std::min(a.num, d.size());
  auto images = from_uint8(d.images.slice(0, 0, n));
  auto labels = one_hot_labels(d, *net, a.data);
  if (labels.defined()) labels = labels.slice(0, 0, n);
  auto sigmas = log_spaced(a.sigma_lo, a.sigma_hi, a.levels);
  const double sigma_data = read_model_config(TensorFile(a.net)).value("sigma_data", 0.5);
  auto p = loss_per_sigma(*net, images, labels, sigmas, a.seed, 256, sigma_data);
  auto density = p_train_density(sigmas, a.P_mean, a.P_std);
  std::ostringstream md;
  md << "# Loss per noise level (" << model_name(a.net) << ", " << n << " images of " << a.data << ")\n\n"
     << "| sigma | loss | std. error | p_train density (ln sigma) |\n|---|---|---|---|\n";
  std::string csv = "sigma,loss,stderr,p_train\n";
  double peak = 0;
  for (double v : density) peak = std::max(peak, v);
  double top = 0;
  for (double v : p.loss) top = std::max(top, v);
  std::vector<double> scaled;
  char line[160];
  for (size_t i = 0; i < sigmas.size(); ++i) {
    std::snprintf(line, sizeof line, "| %.4g | %.5f | %.5f | %.4f |\n", sigmas[i], p.loss[i], p.stderr_[i], density[i]);
    md << line;
    std::snprintf(line, sizeof line, "%.9g,%.9g,%.9g,%.9g\n", sigmas[i], p.loss[i], p.stderr_[i], density[i]);
    csv += line;
    scaled.push_back(density[i] / peak * top);
  }
  std::filesystem::create_directories(a.out);
  write_file_atomic(a.out + "/loss.md", md.str());
  write_file_atomic(a.out + "/loss.csv", csv);
  plot::Plot plot;
  plot.title("Loss per noise level (Figure 5a)").xlabel("sigma").ylabel("lambda(sigma) |D - y|^2").log_x();
  plot.add_series("loss", p.sigma, p.loss, {}, 2, 4);
  plot.add_series("p_train (scaled)", p.sigma, scaled, plot::kGray, 1.5);
  plot.save(a.out + "/loss.png");
  std::cout << md.str();
}

void run_ideal(StudyArgs& a) {
  if (!(a.std >= 0)) throw UsageError("--std must be >= 0");
  auto d = load_dataset(a.ideal_data);
  const int64_t n = std::min(a.ideal_num, d.size());
  auto points = from_uint8(d.images.slice(0, 0, n), torch::kFloat64);
  auto labels = d.labels.defined() ? d.labels.slice(0, 0, n) : torch::Tensor();
  save_ideal_denoiser(a.out, points, labels, a.std);
  std::cout << "wrote " << a.out << ": the ideal denoiser of the first " << n << " images of " << a.ideal_data
            << ", std " << a.std << "\n";
}

void add_common(CLI::App* sub, StudyArgs& a) {
  sub->add_option("--net,--network", a.net, "Model file (.safetensors), an ideal denoiser too")->required();
  add_runtime_options(sub, a.runtime);
  add_precision_options(sub, a.precision);
}

void add_fd_options(CLI::App* sub, StudyArgs& a) {
  add_common(sub, a);
  sub->add_option("--ref", a.ref, "Reference statistics (edm fid ref)")->required();
  sub->add_option("--out", a.out, "Folder for study.md, study.csv, study.png")->required();
  sub->add_option("--seeds", a.seeds, "Seeds of the images of every case")->capture_default_str();
  sub->add_option("--batch", a.batch, "Images per batch")->check(CLI::PositiveNumber)->capture_default_str();
  sub->add_option("--detector", a.detector, "Detector (default: built-in)");
}

}  // namespace

void register_study(CLI::App& app) {
  auto* study = app.add_subcommand("study", "The paper's experiments: FD against NFE, rho, churn; loss per sigma");
  study->require_subcommand(1);
  auto a = std::make_shared<StudyArgs>();

  auto* nfe = study->add_subcommand("nfe", "FD against NFE per sampler (the paper's Figure 2 / Table 2)");
  add_fd_options(nfe, *a);
  nfe->add_option("--samplers", a->samplers, "Samplers, comma-separated")->capture_default_str();
  nfe->add_option("--nfe", a->nfes, "NFE values, comma-separated")->capture_default_str();
  nfe->callback([a] { run_nfe(*a); });

  auto* rho = study->add_subcommand("rho", "FD against the time-step exponent rho at a fixed NFE");
  add_fd_options(rho, *a);
  rho->add_option("--samplers", a->rho_samplers, "Samplers, comma-separated")->capture_default_str();
  rho->add_option("--rho", a->rhos, "rho values, comma-separated")->capture_default_str();
  rho->add_option("--nfe", a->nfe, "Evaluations per image")->check(CLI::PositiveNumber)->capture_default_str();
  rho->callback([a] { run_rho(*a); });

  auto* churn =
      study->add_subcommand("churn", "FD against S_churn per S_noise and [S_min, S_max] (Table 5, Figure 14)");
  add_fd_options(churn, *a);
  churn->add_option("--steps", a->base.sampler_options.num_steps, "Steps of the edm sampler")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  churn->add_option("--S_churn", a->S_churn, "S_churn values, comma-separated")->capture_default_str();
  churn->add_option("--S_noise", a->S_noise, "S_noise values, comma-separated")->capture_default_str();
  churn->add_option("--S_range", a->ranges, "S_min,S_max pairs separated by ':'")->capture_default_str();
  churn->callback([a] { run_churn(*a); });

  auto* loss = study->add_subcommand("loss", "The trained model's loss per noise level (Figure 5a)");
  add_common(loss, *a);
  loss->add_option("--out", a->out, "Folder for loss.md, loss.csv, loss.png")->required();
  loss->add_option("--data", a->data, "Images (and labels) the loss is measured on")->capture_default_str();
  loss->add_option("--num", a->num, "Images")->check(CLI::PositiveNumber)->capture_default_str();
  loss->add_option("--levels", a->levels, "Noise levels, log-spaced")
      ->check(CLI::Range(2, 1000))
      ->capture_default_str();
  loss->add_option("--sigma-lo", a->sigma_lo, "Lowest noise level")->capture_default_str();
  loss->add_option("--sigma-hi", a->sigma_hi, "Highest noise level")->capture_default_str();
  loss->add_option("--seed", a->seed, "Seed of the noise")->capture_default_str();
  loss->add_option("--P-mean", a->P_mean, "p_train drawn under the loss: ln sigma ~ N(P_mean, P_std^2)")
      ->capture_default_str();
  loss->add_option("--P-std", a->P_std, "See --P-mean")->check(CLI::PositiveNumber)->capture_default_str();
  loss->callback([a] { run_loss(*a); });

  auto* ideal = study->add_subcommand("ideal", "Write the ideal denoiser of a data set's first images as a model file");
  ideal->add_option("--data", a->ideal_data, "Images (and labels)")->capture_default_str();
  ideal->add_option("--num", a->ideal_num, "Images")->check(CLI::PositiveNumber)->capture_default_str();
  ideal->add_option("--std", a->std, "Each image blurred into a Gaussian of this std")->capture_default_str();
  ideal->add_option("--out", a->out, "Model file to write")->required();
  ideal->callback([a] { run_ideal(*a); });
}

}  // namespace edm::cli
