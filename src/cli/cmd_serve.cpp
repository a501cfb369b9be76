// edm serve: a web page and a JSON API to sample models one design choice at
// a time (src/edm/serve/server.h).
#include <iostream>

#include "common.h"
#include "edm/core/error.h"
#include "edm/core/runtime.h"
#include "edm/serve/server.h"

namespace edm::cli {

namespace {

struct ServeArgs {
  RuntimeOptions runtime;
  std::vector<std::string> nets;
  serve::ServerOptions o;
};

void run(ServeArgs& a) {
  init_threads(a.runtime.threads);
  if (a.o.limits.max_images < 1 || a.o.limits.max_steps < 1 || a.o.max_waiting < 0)
    throw UsageError("--max-images and --max-steps must be at least 1, --max-queue at least 0");
  if (a.o.port < 0 || a.o.port > 65535) throw UsageError("--port must be in 0-65535");
  auto models = std::make_shared<serve::Models>(a.nets, parse_device(a.runtime.device));
  serve::Server server(models, a.o);
  const int port = server.bind();
  std::cout << "edm serve: listening on http://" << a.o.host << ":" << port << "/" << std::endl;
  server.listen();
}

}  // namespace

void register_serve(CLI::App& app) {
  auto* sub = app.add_subcommand("serve", "Serve a web page and JSON API to sample models step by step");
  auto a = std::make_shared<ServeArgs>();
  sub->add_option("--net,--network", a->nets, "Model file(s) (.safetensors); repeat for several")->required();
  sub->add_option("--port", a->o.port, "TCP port (0: any free port, printed)")->capture_default_str();
  sub->add_option("--host", a->o.host, "Address to bind (0.0.0.0: every interface)")->capture_default_str();
  sub->add_option("--max-images", a->o.limits.max_images, "Most seeds per request")->capture_default_str();
  sub->add_option("--max-steps", a->o.limits.max_steps, "Most steps per request")->capture_default_str();
  sub->add_option("--max-queue", a->o.max_waiting, "Most requests waiting per model")->capture_default_str();
  add_runtime_options(sub, a->runtime);
  sub->callback([a] { run(*a); });
}

}  // namespace edm::cli
