// Run under mpirun (sim ranks): the recorded distributed step
// (host/executor/executor_dist.cpp) against the op-by-op distributed step and
// one process. Exit 0: passed; 1: a difference (printed).
//
//   record_check steps STEPS BATCH [dropout]   for a narrow plan (the fused step: one sum after it) and a
//                                              wide one (a sum per layer on the side stream, beside backward),
//                                              global batches of BATCH, BATCH - 3 and 1 rows in turn (two
//                                              uneven splits and a rank without rows; each size warms up,
//                                              records, then replays), checks: parameters and every loss the
//                                              same bits as the op-by-op distributed executor (the same
//                                              arithmetic, host-staged sum in rank order); the same bits on a
//                                              second run; within 1e-5 relative of one process (float
//                                              reordering, dist_check's tolerance); replays issue no launch.
//   record_check hang SECONDS                  rank 1 stops taking part at step 5 (a replay); rank 0 must
//                                              name it within --dist-timeout SECONDS, before rank 1 returns.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "cumlp/cumlp.h"
#include "host/core/device_registry.h"
#include "host/executor/executor.h"
#include "host/executor/plan.h"

namespace {
using namespace cumlp;

constexpr int64_t kIn = 20, kOut = 5;

ModelSpec spec_of(bool wide, bool dropout) {
  ModelSpec s = ModelSpec::input(kIn);
  s.linear(wide ? 160 : 16).tanh();  // > 128 wide: not the fused narrow step
  if (dropout) s.dropout(0.25);
  s.linear(12).relu();
  if (dropout) s.dropout(0.25);
  s.linear(kOut);
  return s;
}

struct Run {
  std::vector<float> params;
  std::vector<double> losses;  // train_step_loss of every step, then the totals' sum
  int64_t replay_launches = 0;  // launches issued by the steps that replayed
  bool recorded = false;
};

// STEPS global batches (seeded, the same on every rank), this rank's shard of each.
Run train(Communicator* comm, bool wide, bool dropout, bool record, int steps, int64_t batch) {
  Executor ex(Plan::compile(spec_of(wide, dropout)), Optimizer::adam(0.01), make_backend(Device::parse("sim")),
              DType::F32, 4242, batch, comm, record);
  Run run;
  run.recorded = ex.records_distributed();
  const int64_t sizes[3] = {batch, batch - 3, 1};
  for (int s = 0; s < steps; ++s) {
    const int64_t global = sizes[s % 3];
    std::vector<float> x(static_cast<std::size_t>(global * kIn));
    std::vector<int32_t> y(static_cast<std::size_t>(global));
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.37f * static_cast<float>(i + 11 * s));
    for (std::size_t i = 0; i < y.size(); ++i) y[i] = static_cast<int32_t>((i * 7 + s) % kOut);
    const Shard sh = comm ? shard_of(global, comm->rank(), comm->size()) : Shard{0, global};
    if (sh.rows() > 0) ex.load_batch(sh.rows(), x.data() + sh.begin * kIn, y.data() + sh.begin);
    const int64_t before = ex.backend().launches();
    if (comm) ex.queue_shard_step(sh.rows(), global, sh.begin);
    else ex.queue_step(global);
    if (s >= 6) run.replay_launches += ex.backend().launches() - before;  // every size replays from its third step
    run.losses.push_back(ex.train_step_loss());
  }
  run.losses.push_back(ex.take_losses().sum);
  run.params.resize(static_cast<std::size_t>(ex.plan().param_count));
  ex.backend().download(run.params.data(), ex.params(), ex.param_bytes());
  return run;
}

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

double relative_gap(const std::vector<float>& a, const std::vector<float>& b) {
  double gap = 0, scale = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!std::isfinite(a[i]) || !std::isfinite(b[i])) return INFINITY;
    gap = std::max(gap, std::abs(static_cast<double>(a[i]) - b[i]));
    scale = std::max(scale, std::abs(static_cast<double>(b[i])));
  }
  return a.size() == b.size() ? gap / std::max(scale, 1e-300) : INFINITY;
}

int check_steps(Communicator& comm, int steps, int64_t batch, bool dropout) {
  bool ok = true;
  for (const bool wide : {false, true}) {
    const Run rec = train(&comm, wide, dropout, true, steps, batch);
    const Run again = train(&comm, wide, dropout, true, steps, batch);
    const Run ops = train(&comm, wide, dropout, false, steps, batch);
    if (comm.rank() != 0) continue;
    const Run alone = train(nullptr, wide, dropout, true, steps, batch);
    const double gap = relative_gap(rec.params, alone.params);
    const bool pass = rec.recorded && !ops.recorded && rec.replay_launches == 0 && same_bits(rec.params, ops.params) &&
                      same_bits(rec.losses, ops.losses) && same_bits(rec.params, again.params) &&
                      same_bits(rec.losses, again.losses) && gap <= 1e-5;
    std::printf("%s plan%s, %d ranks, %d steps: recorded %d, replay launches %lld, params/losses vs op by op %s/%s, "
                "second run %s, vs one process %.3g (tolerance 1e-05): %s\n",
                wide ? "wide" : "narrow", dropout ? " with dropout" : "", comm.size(), steps, rec.recorded,
                static_cast<long long>(rec.replay_launches), same_bits(rec.params, ops.params) ? "same" : "DIFFER",
                same_bits(rec.losses, ops.losses) ? "same" : "DIFFER",
                same_bits(rec.params, again.params) && same_bits(rec.losses, again.losses) ? "same" : "DIFFER", gap,
                pass ? "ok" : "FAIL");
    ok = ok && pass;
  }
  return ok ? 0 : 1;
}

int check_hang(Communicator& comm, double timeout) {
  const auto start = std::chrono::steady_clock::now();
  const double sleep_s = 3 * timeout + 2;
  bool recorded = false;  // the hang meets a replayed step
  try {
    Executor ex(Plan::compile(spec_of(true, false)), Optimizer::adam(0.01), make_backend(Device::parse("sim")),
                DType::F32, 4242, 8, &comm);
    recorded = ex.records_distributed();
    std::vector<float> x(8 * kIn, 0.5f);
    std::vector<int32_t> y(8, 1);
    for (int s = 0; s < 10; ++s) {
      if (s == 5 && comm.rank() == 1) {  // hangs: never reaches the sum
        std::this_thread::sleep_for(std::chrono::duration<double>(sleep_s));
        comm.abandon();  // rank 0 is gone: do not finalize with it
        return 0;
      }
      const Shard sh = shard_of(8, comm.rank(), comm.size());
      ex.load_batch(sh.rows(), x.data(), y.data());
      ex.queue_shard_step(sh.rows(), 8, sh.begin);
    }
    std::printf("hang: rank %d finished every step: FAIL\n", comm.rank());
    return 1;
  } catch (const RankError& e) {
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const bool named = std::string(e.what()).find("rank 1 did not take part") != std::string::npos;
    const bool pass = comm.rank() == 0 && named && recorded && waited < sleep_s;
    std::printf("hang: rank %d stopped after %.1f s (rank 1 sleeps %.0f s): %s: %s\n", comm.rank(), waited, sleep_s,
                e.what(), pass ? "named the hung rank ok" : "FAIL");
    return pass ? 0 : 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> a(argv + 1, argv + argc);
  try {
    const bool hang = a.size() == 2 && a[0] == "hang";
    const std::shared_ptr<Communicator> comm = connect_ranks({"env", hang ? std::stod(a[1]) : 60});
    if (!comm) {
      std::fprintf(stderr, "record_check must run under mpirun with 2 or more ranks\n");
      return 1;
    }
    if (hang) return check_hang(*comm, std::stod(a[1]));
    if ((a.size() == 3 || (a.size() == 4 && a[3] == "dropout")) && a[0] == "steps")
      return check_steps(*comm, std::stoi(a[1]), std::stoll(a[2]), a.size() == 4);
    std::fprintf(stderr, "usage: record_check steps STEPS BATCH [dropout] | hang SECONDS\n");
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
