// edm: train diffusion models and sample from them.
#include <c10/util/Exception.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "common.h"
#include "edm/core/error.h"
#include "edm/core/runtime.h"
#include "edm/dist/launch.h"

namespace {

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

// CLI11 reports a misspelt command as a missing one; name it instead.
bool check_command_name(CLI::App& app, int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') return true;
  std::string names;
  for (const auto* sub : app.get_subcommands({})) {
    if (sub->get_name() == argv[1]) return true;
    names += (names.empty() ? "" : ", ") + sub->get_name();
  }
  std::cerr << "edm: error: unknown command '" << argv[1] << "' (" << names << ")\n";
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  edm::retain_freed_memory();
  edm::cli::set_command_line(argc, argv);
  CLI::App app{"edm: diffusion models in the EDM design space (Karras et al. 2022)", "edm"};
  app.require_subcommand(1);
  app.set_version_flag("--version", EDM_VERSION);
  edm::cli::register_info(app);
  edm::cli::register_generate(app);
  edm::cli::register_invert(app);
  edm::cli::register_likelihood(app);
  edm::cli::register_steps(app);
  edm::cli::register_train(app);
  edm::cli::register_fid(app);
  edm::cli::register_toy(app);
  edm::cli::register_phema(app);
  edm::cli::register_dataset(app);
  edm::cli::register_serve(app);
  edm::cli::register_denoise(app);
  edm::cli::register_study(app);
  if (!check_command_name(app, argc, argv)) return 2;
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (!edm::dist::is_secondary_rank()) std::cerr << "edm: error: " << first_line(e.what()) << " (see --help)\n";
    return 2;
  } catch (const edm::dist::ReportedUsageError&) {
    return 2;
  } catch (const edm::UsageError& e) {
    if (!edm::dist::is_secondary_rank()) std::cerr << "edm: error: " << first_line(e.what()) << "\n";
    return 2;
  } catch (const edm::Error& e) {
    std::cerr << "edm: error: " << first_line(e.what()) << "\n";
    return 1;
  } catch (const c10::Error& e) {
    std::cerr << "edm: error: " << first_line(e.what_without_backtrace()) << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "edm: error: " << first_line(e.what()) << "\n";
    return 1;
  }
  return 0;
}
