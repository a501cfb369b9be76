// c10d process groups across real processes on loopback (Gloo).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "edm/core/error.h"
#include "edm/dist/grad_reducer.h"
#include "edm/dist/launch.h"
#include "edm/dist/world.h"
#include "testing.h"

using namespace edm;

namespace {

// Forks `n` ranks that each run `body(world)` and exit with its return value.
std::vector<int> run_ranks(int n, std::chrono::milliseconds timeout, const std::function<int(dist::World&)>& body) {
  const int port = dist::free_port();
  std::vector<pid_t> pids;
  for (int r = 0; r < n; ++r) {
    pid_t pid = fork();
    if (pid == 0) {
      setenv("RANK", std::to_string(r).c_str(), 1);
      setenv("WORLD_SIZE", std::to_string(n).c_str(), 1);
      setenv("MASTER_ADDR", "127.0.0.1", 1);
      setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      int code = 99;
      try {
        auto world = dist::World::from_env(torch::kCPU, timeout);
        code = body(world);
      } catch (const Error& e) {
        code = 3;
      } catch (...) {
        code = 4;
      }
      _exit(code);
    }
    pids.push_back(pid);
  }
  std::vector<int> codes;
  for (pid_t p : pids) {
    int status = 0;
    waitpid(p, &status, 0);
    codes.push_back(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  }
  return codes;
}

}  // namespace

TEST(Dist, AllReduceAndBroadcastAcrossTwoProcesses) {
  auto codes = run_ranks(2, std::chrono::seconds(30), [](dist::World& w) {
    if (w.size() != 2) return 10;
    // Sums in place, whatever the dtype (bucketed gradient means: GradReducer below).
    std::vector<torch::Tensor> t = {torch::full({3, 5}, double(w.rank() + 1)), torch::arange(7.0) * (w.rank() + 1),
                                    torch::full({2}, float(w.rank()))};
    for (auto& x : t) w.all_reduce_sum(x);
    if (!torch::allclose(t[0], torch::full({3, 5}, 3.0))) return 11;
    if (!torch::allclose(t[1], torch::arange(7.0) * 3.0)) return 12;
    if (!torch::allclose(t[2], torch::full({2}, 1.0f))) return 13;
    std::vector<torch::Tensor> b = {torch::full({4}, float(w.rank() + 7))};
    w.broadcast_from_main(b);
    if (!torch::equal(b[0], torch::full({4}, 7.0f))) return 14;
    if (std::abs(w.all_reduce_mean(double(w.rank())) - 0.5) > 1e-12) return 15;
    w.barrier();
    return 0;
  });
  EXPECT_EQ(codes, (std::vector<int>{0, 0}));
}

TEST(Dist, DeadPeerGivesErrorInBoundedTime) {
  auto start = std::chrono::steady_clock::now();
  auto codes = run_ranks(2, std::chrono::seconds(5), [](dist::World& w) {
    if (w.rank() == 1) _exit(0);  // dies without taking part
    auto t = torch::ones({8});
    w.all_reduce_sum(t);
    return 0;
  });
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(codes[0], 3);  // edm::Error, not a hang or a crash
  EXPECT_LT(secs, 30.0);
}

TEST(Dist, HungPeerGivesErrorInBoundedTime) {
  auto start = std::chrono::steady_clock::now();
  auto codes = run_ranks(2, std::chrono::seconds(3), [](dist::World& w) {
    if (w.rank() == 1) {
      std::this_thread::sleep_for(std::chrono::seconds(8));  // alive but silent
      return 0;
    }
    auto t = torch::ones({8});
    w.all_reduce_sum(t);
    return 0;
  });
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(codes[0], 3);
  EXPECT_LT(secs, 30.0);
}

TEST(Dist, SingleProcessWithoutEnvironment) {
  unsetenv("WORLD_SIZE");
  auto w = dist::World::from_env(torch::kCPU, std::chrono::seconds(1));
  EXPECT_FALSE(w.distributed());
  auto t = torch::ones({2});
  w.all_reduce_sum(t);
  EXPECT_TRUE(torch::equal(t, torch::ones({2})));
}

TEST(Dist, RankBatchesSplitLikeTheReference) {
  std::vector<uint64_t> seeds;
  for (uint64_t s = 0; s < 10; ++s) seeds.push_back(s);
  // 10 seeds, batch 3, 2 ranks: num_batches = ((9 // 6) + 1) * 2 = 4 -> sizes 3,3,2,2.
  auto r0 = dist::rank_batches(seeds, 3, 0, 2), r1 = dist::rank_batches(seeds, 3, 1, 2);
  EXPECT_EQ(r0, (std::vector<std::vector<uint64_t>>{{0, 1, 2}, {6, 7}}));
  EXPECT_EQ(r1, (std::vector<std::vector<uint64_t>>{{3, 4, 5}, {8, 9}}));
  auto one = dist::rank_batches(seeds, 4, 0, 1);
  EXPECT_EQ(one.size(), 3u);  // 4,3,3
  EXPECT_EQ(one[0].size(), 4u);
}

TEST(Dist, LaunchStopsAllRanksWhenOneFails) {
  // `edm` itself is the launched program; an unknown subcommand fails fast on every rank.
  EXPECT_THROW(dist::launch_local(2, test::edm_binary(), {"nosuchcommand"}), Error);
  EXPECT_NO_THROW(dist::launch_local(2, test::edm_binary(), {"info", "--device", "cpu"}));
}

namespace {

// Running: exists and is not a zombie waiting for whoever adopted it.
bool running(pid_t p) {
  if (::kill(p, 0) != 0) return false;
  std::ifstream stat("/proc/" + std::to_string(p) + "/stat");
  std::string pid, comm, state;
  stat >> pid >> comm >> state;
  return state != "Z";
}

// Starts a launcher of two `sleep` ranks in a child process, waits for the
// ranks' pids, sends the launcher `sig` and returns whether both ranks are
// gone within a few seconds.
bool ranks_end_with_launcher(int sig) {
  test::TempDir dir;
  const std::string script = "echo $$ > " + dir.path() + "/pid.$RANK.tmp && mv " + dir.path() + "/pid.$RANK.tmp " +
                             dir.path() + "/pid.$RANK && exec sleep 60";
  pid_t launcher = ::fork();
  if (launcher == 0) {
    try {
      dist::launch_local(2, "/bin/sh", {"-c", script}, std::chrono::seconds(2));
    } catch (...) {
      ::_exit(1);
    }
    ::_exit(0);
  }
  std::vector<pid_t> ranks;
  for (int i = 0; i < 200 && ranks.size() < 2; ++i) {
    ranks.clear();
    for (int r = 0; r < 2; ++r) {
      std::ifstream in(dir / ("pid." + std::to_string(r)));
      pid_t p = 0;
      if (in >> p) ranks.push_back(p);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(ranks.size(), 2u);
  ::kill(launcher, sig);
  int status = 0;
  ::waitpid(launcher, &status, 0);
  for (int i = 0; i < 100; ++i) {
    bool any = false;
    for (pid_t p : ranks) any = any || running(p);
    if (!any) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (pid_t p : ranks) ::kill(p, SIGKILL);
  return false;
}

}  // namespace

TEST(Dist, RanksEndWhenTheLauncherIsStoppedOrKilled) {
  EXPECT_TRUE(ranks_end_with_launcher(SIGTERM));
  EXPECT_TRUE(ranks_end_with_launcher(SIGINT));
  EXPECT_TRUE(ranks_end_with_launcher(SIGKILL));
}

TEST(Dist, GradReducerAveragesAccumulatedGradientsDuringBackward) {
  auto codes = run_ranks(2, std::chrono::seconds(30), [](dist::World& w) {
    const double r = w.rank() + 1;
    auto a = torch::zeros({3}, torch::requires_grad());
    auto b = torch::zeros({2, 2}, torch::requires_grad());  // used by rank 0 only
    auto c = torch::zeros({4}, torch::requires_grad());     // used by no rank
    auto d = torch::zeros({5}, torch::kFloat64).requires_grad_();
    // 16-byte buckets: several buckets, started one by one during backward.
    dist::GradReducer reducer(w, {a, b, c, d}, 16);
    if (reducer.num_buckets() < 3) return 10;
    for (int step = 0; step < 2; ++step) {
      for (auto* p : {&a, &b, &c, &d}) p->mutable_grad() = torch::Tensor();
      // Two micro-batches: the first only accumulates locally.
      for (int micro = 0; micro < 2; ++micro) {
        if (micro == 1) reducer.arm();
        auto loss = (a * r * (micro + 1)).sum() + (d * r).sum();
        if (w.rank() == 0) loss = loss + (b * 2).sum();
        loss.backward();
      }
      // d's bucket went out during backward; c's, never filled, holds back the rest.
      if (reducer.buckets_started() != 1) return 15;
      reducer.finish();
      // a: rank r contributes r*(1+2) = 3r; mean over r = 1, 2 is 4.5.
      if (!torch::allclose(a.grad(), torch::full({3}, 4.5f))) return 11;
      if (!torch::allclose(b.grad(), torch::full({2, 2}, 2.0f))) return 12;  // (2 + 2 + 0) / 2
      if (c.grad().defined()) return 13;
      if (!torch::allclose(d.grad(), torch::full({5}, 3.0, torch::kFloat64))) return 14;  // (2 + 4) / 2
    }
    return 0;
  });
  EXPECT_EQ(codes, (std::vector<int>{0, 0}));
}
