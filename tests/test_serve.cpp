// edm serve: the JSON API on an ephemeral port (bad requests, streaming,
// concurrency) and, through the binary, the page in headless Chromium showing
// the very PNG `edm generate` writes.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "edm/io/atomic_file.h"
#include "edm/io/safetensors.h"
#include "edm/sampling/ideal_denoiser.h"
#include "edm/serve/server.h"
#include "testing.h"

using namespace edm;
namespace fs = std::filesystem;

namespace {

struct HttpResponse {
  int status = 0;
  std::string headers, body;
};

std::string dechunk(const std::string& s) {
  std::string out;
  for (size_t at = 0; at < s.size();) {
    const size_t eol = s.find("\r\n", at);
    if (eol == std::string::npos) break;
    const size_t n = std::stoul(s.substr(at, eol - at), nullptr, 16);
    if (n == 0) break;
    out += s.substr(eol + 2, n);
    at = eol + 2 + n + 2;
  }
  return out;
}

bool answer_complete(const std::string& all) {
  const size_t split = all.find("\r\n\r\n");
  if (split == std::string::npos) return false;
  const std::string headers = all.substr(0, split);
  if (headers.find("Transfer-Encoding: chunked") != std::string::npos)
    return all.size() >= 5 && all.compare(all.size() - 5, 5, "0\r\n\r\n") == 0;
  const size_t cl = headers.find("Content-Length: ");
  return cl != std::string::npos && all.size() - split - 4 >= std::stoul(headers.substr(cl + 16));
}

// Sends raw bytes to the server and reads the answer until it closes.
HttpResponse http_raw(int port, const std::string& request) {
  HttpResponse r;
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{120, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return r;
  }
  for (size_t sent = 0; sent < request.size();) {
    const ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string all;
  char buf[65536];
  // Until the answer is complete (the server may keep the connection open).
  for (ssize_t n; !answer_complete(all) && (n = recv(fd, buf, sizeof buf, 0)) > 0;)
    all.append(buf, static_cast<size_t>(n));
  close(fd);
  const size_t split = all.find("\r\n\r\n");
  if (all.rfind("HTTP/1.1 ", 0) != 0 || split == std::string::npos) return r;
  r.status = std::stoi(all.substr(9, 3));
  r.headers = all.substr(0, split);
  r.body = all.substr(split + 4);
  if (r.headers.find("Transfer-Encoding: chunked") != std::string::npos) r.body = dechunk(r.body);
  return r;
}

HttpResponse post(int port, const std::string& path, const std::string& body) {
  return http_raw(port, "POST " + path + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" +
                            "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
}
HttpResponse get(int port, const std::string& path) {
  return http_raw(port, "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
}

std::string unbase64(const std::string& s) {
  auto v = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
  };
  std::string out;
  int bits = 0, acc = 0;
  for (char c : s) {
    if (v(c) < 0) continue;
    acc = acc << 6 | v(c), bits += 6;
    if (bits >= 8) out += static_cast<char>((acc >> (bits - 8)) & 0xff), bits -= 8;
  }
  return out;
}

// An ideal model, conditional, and a server for it on a free port.
struct Fixture {
  test::TempDir dir;
  std::string model = dir / "ideal.safetensors";
  std::unique_ptr<serve::Server> server;
  std::thread thread;
  int port = 0;
  explicit Fixture(bool start = true) {
    TensorFile ref(test::reference("samplers.safetensors"));
    auto pts = ref.get("data.points");
    auto labels = torch::arange(pts.size(0), torch::kInt64).remainder(2);
    save_ideal_denoiser(model, pts, labels, 0.2);
    if (!start) return;
    serve::ServerOptions o;
    o.port = 0;
    o.limits.max_images = 8;
    server = std::make_unique<serve::Server>(std::make_shared<serve::Models>(std::vector{model}, torch::kCPU), o);
    port = server->bind();
    thread = std::thread([this] { server->listen(); });
  }
  ~Fixture() {
    if (server) server->stop();
    if (thread.joinable()) thread.join();
  }
};

nlohmann::json json_of(const HttpResponse& r) {
  try {
    return nlohmann::json::parse(r.body);
  } catch (...) {
    return nlohmann::json();
  }
}

}  // namespace

TEST(ServeApi, PageInfoAndOneGeneration) {
  Fixture f;
  auto page = get(f.port, "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("/api/generate"), std::string::npos);
  auto info = json_of(get(f.port, "/api/info"));
  EXPECT_EQ(info["models"][0]["name"], "ideal.safetensors");
  EXPECT_EQ(info["models"][0]["label_dim"], 2);
  EXPECT_EQ(info["defaults"]["steps"], 18);
  EXPECT_GE(info["samplers"].size(), 8u);
  auto r = post(f.port, "/api/generate", R"({"seeds": "3-4", "steps": 5, "class": 1, "sampler": "ddim", "eta": 0.5})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = json_of(r);
  ASSERT_EQ(j["images"].size(), 2u);
  EXPECT_EQ(j["images"][1]["seed"], 4);
  EXPECT_EQ(j["nfe"], 5);
  EXPECT_EQ(unbase64(j["images"][0]["png"]).substr(1, 3), "PNG");
}

TEST(ServeApi, StreamsTheDenoisedEstimateOfEveryStep) {
  Fixture f;
  auto r = post(f.port, "/api/generate", R"({"seeds": [0, 1, 2], "steps": 6, "stream": true})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.headers.find("application/x-ndjson"), std::string::npos);
  std::vector<nlohmann::json> events;
  std::istringstream lines(r.body);
  for (std::string line; std::getline(lines, line);) events.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(events.size(), 7u) << r.body;  // one per step, then the images
  double sigma = INFINITY;
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(events[i]["type"], "step");
    EXPECT_EQ(events[i]["step"], i + 1);
    EXPECT_EQ(events[i]["nfe"], i == 5 ? 11 : 2 * i + 2);  // Heun: two per step, one at the last
    EXPECT_EQ(events[i]["images"].size(), 3u);
    EXPECT_LE(events[i]["sigma"].get<double>(), sigma);
    sigma = events[i]["sigma"];
  }
  EXPECT_EQ(events[6]["type"], "done");
  // The stream ends with the images a plain request answers.
  auto plain = json_of(post(f.port, "/api/generate", R"({"seeds": [0, 1, 2], "steps": 6})"));
  EXPECT_EQ(events[6]["images"], plain["images"]);
}

TEST(ServeApi, HundredMalformedRequestsGetJsonErrors) {
  Fixture f;
  std::vector<std::string> bodies = {"",
                                     "{",
                                     "[]",
                                     "null",
                                     "3",
                                     "\"x\"",
                                     "{\"seeds\": }",
                                     "{\"steps\": \"5\"}",
                                     "{\"steps\": 0}",
                                     "{\"steps\": -1}",
                                     "{\"steps\": 2.5}",
                                     "{\"steps\": 100000}",
                                     "{\"seeds\": \"5-1\"}",
                                     "{\"seeds\": \"x\"}",
                                     "{\"seeds\": []}",
                                     "{\"seeds\": [-1]}",
                                     "{\"seeds\": \"0-99\"}",
                                     "{\"seeds\": [1.5]}",
                                     "{\"seeds\": {}}",
                                     "{\"class\": 2}",
                                     "{\"class\": -1}",
                                     "{\"class\": \"a\"}",
                                     "{\"guidance\": \"x\"}",
                                     "{\"sampler\": \"nope\"}",
                                     "{\"sampler\": 3}",
                                     "{\"net\": \"other\"}",
                                     "{\"net\": 1}",
                                     "{\"stream\": 1}",
                                     "{\"bogus\": 1}",
                                     "{\"solver\": \"rk4\"}",
                                     "{\"disc\": \"cosine\"}",
                                     "{\"rho\": 0}",
                                     "{\"alpha\": 0}",
                                     "{\"S_churn\": -1}",
                                     "{\"sigma_min\": 5, \"sigma_max\": 1}",
                                     "{\"sampler\": \"edm\", \"eta\": 0.5}",
                                     "{\"sampler\": \"langevin\", "
                                     "\"ld_steps\": 100000}",
                                     "{\"S_min\": 5, \"S_max\": 1}",
                                     "{\"ld_snr\": 0}",
                                     "{\"eta\": -1}"};
  for (int i = 0; static_cast<int>(bodies.size()) < 90; ++i)
    bodies.push_back("{\"steps\": " + std::to_string(-i) + "}");
  int answered = 0;
  for (const auto& b : bodies) {
    auto r = post(f.port, "/api/generate", b);
    EXPECT_EQ(r.status, 400) << b << ": " << r.body;
    EXPECT_TRUE(json_of(r).contains("error")) << b << ": " << r.body;
    answered += r.status != 0;
  }
  // Malformed HTTP, unknown paths and bodies over the limit: JSON errors too.
  const std::vector<std::pair<std::string, int>> raw = {
      {"GARBAGE\r\n\r\n", 400},
      {"GET\r\n\r\n", 400},
      {"POST /api/generate HTTP/1.1\r\nContent-Length: abc\r\nConnection: close\r\n\r\n", 400},
      {"GET /nothing HTTP/1.1\r\nConnection: close\r\n\r\n", 404},
      {"DELETE /api/generate HTTP/1.1\r\nConnection: close\r\n\r\n", 404},
      {"POST /api/generate HTTP/1.1\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n" + std::string(100000, '{'),
       413},
      {"POST /api/generate HTTP/1.1\r\nConnection: close\r\nContent-Length: 3\r\n\r\n{}}", 400},
      {"GET /" + std::string(20000, 'a') + " HTTP/1.1\r\nConnection: close\r\n\r\n", 414},
      {"POST /api/generate HTTP/1.1\r\nContent-Length: 5\r\nConnection: close\r\n\r\n\xff\xfe\x01\x02\x03", 400},
      {std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) + "\r\n\r\n", 400},
  };
  for (const auto& [req, status] : raw) {
    auto r = http_raw(f.port, req);
    EXPECT_EQ(r.status, status) << req.substr(0, 60) << ": " << r.body;
    EXPECT_TRUE(json_of(r).contains("error")) << req.substr(0, 60) << ": " << r.body;
    answered += r.status != 0;
  }
  EXPECT_EQ(answered, 100);
  // Still serving.
  EXPECT_EQ(post(f.port, "/api/generate", R"({"steps": 2})").status, 200);
}

TEST(ServeApi, TwentyConcurrentRequestsAllAnswered) {
  Fixture f;
  std::vector<HttpResponse> answers(20);
  std::vector<std::thread> clients;
  for (int i = 0; i < 20; ++i)
    clients.emplace_back([&, i] {
      answers[i] = post(
          f.port, "/api/generate",
          "{\"seeds\": [" + std::to_string(i) + "], \"steps\": 4, \"stream\": " + (i % 2 ? "true" : "false") + "}");
    });
  for (auto& c : clients) c.join();
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(answers[i].status, 200) << i << ": " << answers[i].body;
    // Each answer is the image of its own seed, as a request made alone gives.
    auto alone = json_of(post(f.port, "/api/generate", "{\"seeds\": [" + std::to_string(i) + "], \"steps\": 4}"));
    std::string last = answers[i].body;
    if (i % 2) last = last.substr(last.rfind('\n', last.size() - 2) + 1);
    EXPECT_EQ(json_of({200, "", last})["images"], alone["images"]) << i;
  }
}

namespace {

// `edm serve` as a child process; the port it printed.
struct ServeProcess {
  pid_t pid = -1;
  int port = 0;
  ServeProcess(const std::string& args, const std::string& log) {
    pid = fork();
    if (pid == 0) {
      execl("/bin/sh", "sh", "-c", ("exec " + test::edm_binary() + " serve " + args + " >" + log + " 2>&1").c_str(),
            nullptr);
      _exit(127);
    }
    const std::regex listening(R"(listening on http://127\.0\.0\.1:(\d+)/)");
    for (int i = 0; i < 600 && port == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      std::ifstream in(log);
      std::string text((std::istreambuf_iterator<char>(in)), {});
      std::smatch m;
      if (std::regex_search(text, m, listening)) port = std::stoi(m[1]);
    }
  }
  ~ServeProcess() {
    if (pid > 0) kill(pid, SIGTERM), waitpid(pid, nullptr, 0);
  }
};

std::string url_encode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (isalnum(c) || c == '-' || c == '_' || c == '.') {
      out += static_cast<char>(c);
    } else {
      char b[4];
      std::snprintf(b, sizeof b, "%%%02X", c);
      out += b;
    }
  }
  return out;
}

std::string run_command(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  char buf[65536];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  pclose(p);
  return out;
}

std::string chromium() {
  for (const char* c : {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"})
    if (fs::exists(c)) return c;
  return "";
}

}  // namespace

TEST(ServeCli, BinaryRefusesBadOptions) {
  Fixture f(false);
  auto r = test::run_edm("serve --net " + (f.dir / "missing.safetensors") + " --port 0");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  r = test::run_edm("serve --net " + f.model + " --port 70000");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = test::run_edm("serve --net " + f.model + " --net " + f.model + " --port 0");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("two models named"), std::string::npos) << r.output;
}

TEST(ServeCli, BrowserShowsThePngOfEdmGenerate) {
  const std::string browser = chromium();
  ASSERT_FALSE(browser.empty()) << "Debian's chromium is not installed (scripts/setup.sh installs it)";
  Fixture f(false);
  ServeProcess serve("--net " + f.model + " --port 0", f.dir / "serve.log");
  ASSERT_GT(serve.port, 0) << read_file(f.dir / "serve.log");
  // Two settings on the same seeds: Algorithm 2 with churn, and DPM-Solver++.
  const nlohmann::json a = {{"sampler", "edm"}, {"steps", 8}, {"S_churn", 10}, {"class", 1}};
  const nlohmann::json b = {{"sampler", "dpmpp2m"}, {"steps", 6}};
  const std::string url = "http://127.0.0.1:" + std::to_string(serve.port) +
                          "/?run=1&seeds=0-1&A=" + url_encode(a.dump()) + "&B=" + url_encode(b.dump());
  const std::string flags =
      " --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir=" + (f.dir / "profile") +
      " --virtual-time-budget=60000 ";
  const std::string dom = run_command(browser + flags + "--dump-dom '" + url + "' 2>/dev/null");
  ASSERT_NE(dom.find("<title>edm: done</title>"), std::string::npos) << dom.substr(0, 2000);
  for (const auto& [panel, args] :
       {std::pair{std::string("A"), std::string("--sampler edm --steps 8 --S_churn 10 --class 1")},
        std::pair{std::string("B"), std::string("--sampler dpmpp2m --steps 6")}}) {
    auto r = test::run_edm("generate --net " + f.model + " --seeds 0-1 " + args + " --outdir " + (f.dir / panel));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    for (int seed : {0, 1}) {
      const std::regex img("id=\"" + panel + "-final-" + std::to_string(seed) +
                           "\" src=\"data:image/png;base64,([^\"]+)\"");
      std::smatch m;
      ASSERT_TRUE(std::regex_search(dom, m, img)) << panel << seed << ": " << dom.substr(0, 3000);
      EXPECT_EQ(unbase64(m[1]), read_file(f.dir / (panel + "/00000" + std::to_string(seed) + ".png")))
          << "panel " << panel << ", seed " << seed;
    }
  }
}
