// `edm serve`: the web page and its JSON API over HTTP.
//   GET  /              the page (page.cpp)
//   GET  /api/info      models, samplers with the options each takes, option defaults, limits
//   POST /api/generate  a request (request.h); answers {"images": [{"seed", "png"}], ...} or,
//                       with "stream": true, newline-delimited JSON events (run.h)
// Errors are {"error": "..."} with status 400 (bad request), 404, 503 (queue full).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "edm/serve/models.h"
#include "edm/serve/request.h"

namespace edm::serve {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8000;  // 0: any free port
  Limits limits;
  int max_waiting = 64;  // requests queued per model beyond the one running
  int threads = 32;      // connections served at once
};

class Server {
 public:
  Server(std::shared_ptr<Models> models, ServerOptions o);
  ~Server();
  // Binds (throws edm::Error when it cannot) and returns the port.
  int bind();
  // Serves until stop(); call after bind().
  void listen();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The page, HTML with its script, embedded in the binary.
const std::string& page_html();

}  // namespace edm::serve
