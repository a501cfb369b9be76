#include "edm/study/study.h"

#include <chrono>
#include <sstream>

#include "edm/core/error.h"
#include "edm/dist/world.h"
#include "edm/eval/fid.h"
#include "edm/sampling/counting_denoiser.h"
#include "edm/sampling/sampler.h"
#include "edm/sampling/samplers.h"

namespace edm {

namespace {

// The steps with which `sampler` makes `nfe` evaluations, or the next count
// above it that it can make (Heun-based samplers make only odd counts).
int64_t steps_near_nfe(const SamplerInfo& s, const SamplerOptions& o, int64_t nfe) {
  for (int64_t n = nfe; n < nfe + 2; ++n) {
    try {
      return steps_for_nfe(s, o, n);
    } catch (const UsageError&) {
      // try the next count
    }
  }
  return steps_for_nfe(s, o, nfe);  // the error names the counts it can make
}

std::string number(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

}  // namespace

std::vector<StudyCase> nfe_cases(const std::vector<std::string>& samplers, const std::vector<int64_t>& nfes,
                                 const GenerateOptions& base) {
  std::vector<StudyCase> cases;
  for (const auto& name : samplers) {
    const SamplerInfo& s = find_sampler(name);
    for (int64_t nfe : nfes) {
      StudyCase c{name, 0, base};
      c.gen.sampler = name;
      c.gen.sampler_options.num_steps = steps_near_nfe(s, base.sampler_options, nfe);
      c.x = static_cast<double>(s.nfe(c.gen.sampler_options));
      cases.push_back(c);
    }
  }
  return cases;
}

std::vector<StudyCase> rho_cases(const std::vector<std::string>& samplers, const std::vector<double>& rhos, int64_t nfe,
                                 const GenerateOptions& base) {
  std::vector<StudyCase> cases;
  for (const auto& name : samplers) {
    const SamplerInfo& s = find_sampler(name);
    for (double rho : rhos) {
      StudyCase c{name + " (" + number(nfe) + " NFE)", rho, base};
      c.gen.sampler = name;
      c.gen.sampler_options.disc.rho = rho;
      c.gen.sampler_options.num_steps = steps_near_nfe(s, c.gen.sampler_options, nfe);
      cases.push_back(c);
    }
  }
  return cases;
}

std::vector<StudyCase> churn_cases(const std::vector<double>& S_churn, const std::vector<double>& S_noise,
                                   const std::vector<ChurnRange>& ranges, const GenerateOptions& base) {
  std::vector<StudyCase> cases;
  for (const auto& r : ranges)
    for (double noise : S_noise) {
      const std::string series =
          "S_noise " + number(noise) + ", S_min " + number(r.S_min) + ", S_max " + number(r.S_max);
      for (double churn : S_churn) {
        StudyCase c{series, churn, base};
        c.gen.sampler = "edm";
        auto& o = c.gen.sampler_options;
        o.S_churn = churn, o.S_noise = noise, o.S_min = r.S_min, o.S_max = r.S_max;
        cases.push_back(c);
      }
    }
  return cases;
}

std::vector<int64_t> churn_twins(const std::vector<StudyCase>& cases) {
  // What Algorithm 2 does with a case's options: its gamma, and where and how
  // much it churns only when gamma > 0.
  auto effect = [](const StudyCase& c) {
    const auto& o = c.gen.sampler_options;
    const double gamma = churn_gamma_in_range(o);
    return gamma > 0 ? std::vector<double>{gamma, o.S_noise, o.S_min, o.S_max} : std::vector<double>{0};
  };
  std::vector<int64_t> twins(cases.size(), -1);
  for (size_t i = 0; i < cases.size(); ++i)
    for (size_t j = 0; j < i && twins[i] < 0; ++j)
      if (twins[j] < 0 && effect(cases[i]) == effect(cases[j])) twins[i] = static_cast<int64_t>(j);
  return twins;
}

StudyResult run_case(Detector& det, std::shared_ptr<Denoiser> net, const std::vector<uint64_t>& seeds,
                     const FeatureStats& ref, const StudyCase& c, int64_t batch) {
  if (seeds.size() < 2) throw UsageError("a study needs at least 2 seeds for FID statistics");
  // The batches of `edm fid calc` on one process, so that a case's FD is that command's.
  const auto batches = dist::rank_batches(seeds, batch, 0, 1);
  CountingDenoiser counted(std::move(net));
  const auto start = std::chrono::steady_clock::now();
  auto stats = generated_features(det, counted, batches, c.gen, false).finish();
  StudyResult r{c};
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.nfe = static_cast<double>(counted.rows()) / static_cast<double>(seeds.size());
  r.fd = frechet_distance_to_reference(stats, ref, "the reference statistics");
  return r;
}

}  // namespace edm
