#include "host/dist/data_parallel.h"

#include <cstring>

#include "host/shared/error_macros.h"

namespace cumlp {

uint64_t fingerprint(const void* data, std::size_t bytes, uint64_t h) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < bytes; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

void check_same_network_on_every_rank(const Network& net) {
  Communicator& comm = *net.communicator();
  const std::string what = net.spec().describe() + "|" + net.optimizer().describe() + "|" + dtype_name(net.dtype()) +
                           "|" + net.device().type + "|" + std::to_string(net.seed());
  comm.check_same(fingerprint(what), "model spec, optimizer, dtype, device type or seed");
}

void check_same_training_on_every_rank(const Network& net, const std::string& settings) {
  Communicator& comm = *net.communicator();
  comm.check_same(fingerprint(settings), "training settings (seed, batch size, epochs, data)");
  const Tensor p = net.parameters();
  comm.check_same(fingerprint(p.raw(), p.bytes(), net.step_count()),
                  "parameters or step count (a different --resume checkpoint?)");
}

Tensor rows_of(const Tensor& t, Shard s) {
  CUMLP_CHECK(t.rank() >= 1 && s.begin >= 0 && s.begin <= s.end && s.end <= t.dim(0), "rows [", s.begin, ", ",
              s.end, ") of a tensor of shape ", t.describe());
  std::vector<int64_t> shape = t.shape();
  const std::size_t row_bytes = t.dim(0) ? t.bytes() / static_cast<std::size_t>(t.dim(0)) : 0;
  shape[0] = s.rows();
  Tensor out(shape, t.dtype());
  if (s.rows() > 0)
    std::memcpy(out.raw(), static_cast<const char*>(t.raw()) + row_bytes * static_cast<std::size_t>(s.begin),
                row_bytes * static_cast<std::size_t>(s.rows()));
  return out;
}

}  // namespace cumlp
