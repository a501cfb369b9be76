// The library was built with these (cpp-httplib.pc); its classes must be
// seen the same way here.
#define CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_ZLIB_SUPPORT
#define CPPHTTPLIB_BROTLI_SUPPORT
#include "edm/serve/server.h"

#include <httplib.h>

#include "edm/core/error.h"
#include "edm/sampling/options_json.h"
#include "edm/sampling/samplers.h"
#include "edm/serve/run.h"

namespace edm::serve {

namespace {

void json_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(nlohmann::json({{"error", message}}).dump() + "\n", "application/json");
}

std::string status_text(int status) {
  switch (status) {
    case 400:
      return "bad request";
    case 404:
      return "not found";
    case 405:
      return "method not allowed";
    case 413:
      return "request body too large";
    case 414:
      return "URI too long";
    default:
      return "HTTP status " + std::to_string(status);
  }
}

nlohmann::json info(const Models& models, const Limits& limits) {
  nlohmann::json samplers = nlohmann::json::array();
  for (const auto& s : sampler_table()) {
    nlohmann::json takes = nlohmann::json::array();
    std::string flags = option_flags(s.options);
    for (size_t at = 0; (at = flags.find("--", at)) != std::string::npos; at += 2)
      takes.push_back(flags.substr(at + 2, flags.find(',', at) - at - 2));
    samplers.push_back({{"name", s.name}, {"description", s.description}, {"options", takes}});
  }
  return {
      {"models", models.describe()},
      {"samplers", samplers},
      {"defaults", sampler_options_to_json(SamplerOptions())},
      {"limits", {{"max_images", limits.max_images}, {"max_steps", limits.max_steps}, {"max_nfe", limits.max_nfe}}}};
}

}  // namespace

struct Server::Impl {
  std::shared_ptr<Models> models;
  ServerOptions o;
  httplib::Server http;

  void generate(const httplib::Request& req, httplib::Response& res);
  void routes();
};

void Server::Impl::generate(const httplib::Request& req, httplib::Response& res) {
  GenerateRequest r;
  Model* m = nullptr;
  try {
    r = parse_generate_request(req.body, o.limits);
    m = &models->find(r.net);
    check_class_idx(*m->net, r.gen.class_idx);
    if (r.guidance) check_guidance(*m->net, *r.guidance);
  } catch (const Error& e) {
    return json_error(res, 400, e.what());
  }
  if (!r.stream) {
    try {
      RunSlot slot(*m, o.max_waiting);
      nlohmann::json done;
      run_generation(*m, models->device(), r, [&](const nlohmann::json& e) { return done = e, true; });
      done.erase("type");
      res.set_content(done.dump() + "\n", "application/json");
    } catch (const Error& e) {
      json_error(res, 503, e.what());
    }
    return;
  }
  // Streamed: the run happens while the response is written, one line per event.
  res.set_chunked_content_provider("application/x-ndjson", [this, m, r](size_t, httplib::DataSink& sink) {
    auto emit = [&](const nlohmann::json& e) {
      const std::string line = e.dump() + "\n";
      return sink.is_writable() && sink.write(line.data(), line.size());
    };
    try {
      RunSlot slot(*m, o.max_waiting);
      run_generation(*m, models->device(), r, emit);
    } catch (const std::exception& e) {
      emit({{"type", "error"}, {"error", e.what()}});
    }
    sink.done();
    return true;
  });
}

void Server::Impl::routes() {
  http.Get("/", [](const httplib::Request&, httplib::Response& res) { res.set_content(page_html(), "text/html"); });
  http.Get("/api/info", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(info(*models, o.limits).dump() + "\n", "application/json");
  });
  http.Post("/api/generate", [this](const httplib::Request& req, httplib::Response& res) { generate(req, res); });
  // Errors httplib answers itself (malformed HTTP, unknown paths, bodies over
  // the limit) get a JSON body too.
  http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) json_error(res, res.status, status_text(res.status));
  });
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    json_error(res, 500, what);
  });
}

Server::Server(std::shared_ptr<Models> models, ServerOptions o) : impl_(std::make_unique<Impl>()) {
  impl_->models = std::move(models);
  impl_->o = o;
  const int threads = o.threads;
  impl_->http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  impl_->http.set_payload_max_length(o.limits.max_body);
  impl_->http.set_read_timeout(10, 0);
  impl_->routes();
}

Server::~Server() { stop(); }

int Server::bind() {
  auto& h = impl_->http;
  const int port = impl_->o.port == 0 ? h.bind_to_any_port(impl_->o.host)
                                      : (h.bind_to_port(impl_->o.host, impl_->o.port) ? impl_->o.port : -1);
  if (port < 0) throw Error("cannot listen on " + impl_->o.host + ":" + std::to_string(impl_->o.port));
  return port;
}

void Server::listen() { impl_->http.listen_after_bind(); }

void Server::stop() {
  if (impl_->http.is_running()) impl_->http.stop();
}

}  // namespace edm::serve
