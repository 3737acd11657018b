// Run under mpirun: trains with the ranks of the launch and, on rank 0, the
// same global batches in one process alone, and compares. Exit 0: passed;
// 1: a difference beyond the tolerance (printed); 77: data absent (skip).
//
//   dist_check params DEVICE DTYPE STEPS BATCH [dropout]
//                                                parameters after STEPS train_step calls (with
//                                                dropout: masks keyed by the global row, so the
//                                                same as one process's)
//   dist_check curve digits|fashion EPOCHS       Trainer::fit loss curves (f32, cpu)
//
// Tolerances (why):
//   f64 parameters, 1e-10 relative (inf-norm of the difference over the
//     inf-norm of the parameters): the ranks add their rows' gradient terms
//     in another order than one GEMM over all rows, ~1e-16 relative per
//     step; Adam over 50 steps keeps that far below 1e-10, while a wrong
//     weighting of uneven shards (a plain mean of the shard means) is ~1e-2.
//   f32 parameters (sim), 1e-5 relative: the same reordering at float
//     rounding (6e-8) over a few steps.
//   f32 loss curves, 1e-4 relative per epoch (the bound): float
//     reordering compounding over 30 epochs of training.
// And, for a fixed world size, two runs give the same bits (fixed-order sum).
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "cumlp/cumlp.h"
#include "cumlp/train.h"

namespace {
using namespace cumlp;

// Largest |a - b| over the largest |b|.
double relative_gap(const std::vector<double>& a, const std::vector<double>& b) {
  double gap = 0, scale = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!std::isfinite(a[i]) || !std::isfinite(b[i])) return INFINITY;
    gap = std::max(gap, std::abs(a[i] - b[i]));
    scale = std::max(scale, std::abs(b[i]));
  }
  return a.size() == b.size() ? gap / std::max(scale, 1e-300) : INFINITY;
}

bool report(const char* what, double gap, double tolerance) {
  std::printf("%s: relative gap %.3g (tolerance %.0e) %s\n", what, gap, tolerance, gap <= tolerance ? "ok" : "FAIL");
  return gap <= tolerance;
}

// STEPS seeded global batches of BATCH rows (the same on every rank), each a train_step.
std::vector<double> train_params(const std::shared_ptr<Communicator>& comm, const std::string& device, DType dt,
                                 int steps, int64_t batch, bool dropout) {
  const int64_t in = 20, out = 5;
  ModelSpec spec = ModelSpec::parse("20-16-12-5", Activation::Tanh, -1, Activation::Identity);
  if (dropout)
    spec = ModelSpec::input(in).linear(16, true).activation(Activation::Tanh).dropout(0.25).linear(12, true)
               .activation(Activation::Tanh).dropout(0.25).linear(out, true).loss(LossKind::CrossEntropy);
  NetworkOptions o{Device::parse(device, dt), dt, 4242, batch};
  o.communicator = comm;
  Network net(spec, Optimizer::adam(0.01), o);
  std::mt19937_64 gen(99);
  std::uniform_real_distribution<double> u(-1, 1);
  for (int s = 0; s < steps; ++s) {
    Tensor x({batch, in}, dt), y({batch}, dt);
    for (int64_t i = 0; i < batch * in; ++i) x.set(i, u(gen));
    for (int64_t i = 0; i < batch; ++i) y.set(i, static_cast<double>(gen() % out));
    net.train_step(x, y);
  }
  return net.parameters().to_vector();
}

int check_params(const std::shared_ptr<Communicator>& comm, const std::string& device, DType dt, int steps,
                 int64_t batch, bool dropout) {
  const std::vector<double> dist = train_params(comm, device, dt, steps, batch, dropout);
  const std::vector<double> again = train_params(comm, device, dt, steps, batch, dropout);
  if (comm->rank() != 0) return 0;
  const std::vector<double> alone = train_params(nullptr, device, dt, steps, batch, dropout);
  const bool same_bits = std::memcmp(dist.data(), again.data(), dist.size() * sizeof(double)) == 0;
  std::printf("%d ranks, %s %s, %d steps of %lld rows%s: two runs %s\n", comm->size(), device.c_str(),
              dtype_name(dt), steps, static_cast<long long>(batch), dropout ? " with dropout" : "",
              same_bits ? "bit-identical" : "DIFFER");
  return report("parameters vs one process", relative_gap(dist, alone), dt == DType::F64 ? 1e-10 : 1e-5) && same_bits
             ? 0 : 1;
}

int check_curve(const std::shared_ptr<Communicator>& comm, const std::string& data, int epochs) {
  Dataset train;
  ModelSpec spec;
  TrainConfig config;
  config.epochs = epochs;
  if (data == "digits") {
    const std::string csv = "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz";
    if (!std::filesystem::exists(csv)) return 77;
    CsvOptions c;
    c.scale = 1.0 / 16;
    train = load_csv(csv, c);
    spec = ModelSpec::parse("64-32-16-10", Activation::ReLU, -1, Activation::Identity);
    config.valid_fraction = 0.2;  // 1437 training rows
    config.batch_size = 0;        // full batch: 1437 rows, split unevenly over 2 and 4 ranks
  } else {
    const std::string dir = "/usr/share/datasets/fashion-mnist";
    if (!std::filesystem::exists(dir + "/train-images-idx3-ubyte.gz")) return 77;
    const Dataset all = load_mnist_dir(dir, Part::train, ImageSet::fashion_mnist);
    std::vector<int64_t> rows(1000);
    for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<int64_t>(i);
    train = all.subset(rows);
    spec = ModelSpec::parse("784-32-10", Activation::ReLU, -1, Activation::Identity);
    config.valid_fraction = 0.2;  // 800 training rows
    config.batch_size = 150;      // 5 full batches and one of 50 per epoch
  }
  const auto fit = [&](const std::shared_ptr<Communicator>& c) {
    NetworkOptions o{Device::parse("cpu"), DType::F32, 777, 256};
    o.communicator = c;
    Network net(spec, Optimizer::adam(0.01), o);
    return Trainer(net, config).fit(train);
  };
  const TrainReport dist = fit(comm);
  if (comm->rank() != 0) return 0;
  const TrainReport alone = fit(nullptr);
  std::printf("%d ranks, %s, %d epochs: final train loss %.6f (alone %.6f), world_size %d\n", comm->size(),
              data.c_str(), epochs, dist.train_loss.back(), alone.train_loss.back(), dist.world_size);
  const bool ok = report("train loss curve", relative_gap(dist.train_loss, alone.train_loss), 1e-4) &
                  report("valid loss curve", relative_gap(dist.valid_loss, alone.valid_loss), 1e-4);
  return ok && dist.world_size == comm->size() && alone.world_size == 1 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::shared_ptr<Communicator> comm = connect_ranks({"env", 60});
    if (!comm) {
      std::fprintf(stderr, "dist_check must run under mpirun with 2 or more ranks\n");
      return 1;
    }
    const std::vector<std::string> a(argv + 1, argv + argc);
    if ((a.size() == 5 || (a.size() == 6 && a[5] == "dropout")) && a[0] == "params")
      return check_params(comm, a[1], parse_dtype(a[2]), std::stoi(a[3]), std::stoll(a[4]), a.size() == 6);
    if (a.size() == 3 && a[0] == "curve") return check_curve(comm, a[1], std::stoi(a[2]));
    std::fprintf(stderr, "usage: dist_check params DEVICE DTYPE STEPS BATCH [dropout] | curve digits|fashion EPOCHS\n");
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
