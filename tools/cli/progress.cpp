#include "progress.h"

#include <cstdio>
#include <unistd.h>

namespace cumlp::cli {

ProgressPrinter::ProgressPrinter(bool quiet) : quiet_(quiet), tty_(::isatty(STDERR_FILENO) == 1) {}

void ProgressPrinter::operator()(const Progress& p) {
  if (quiet_) return;
  if (p.epoch_done) {
    if (tty_) std::fputs("\r\033[K", stderr);
    std::fprintf(stderr, "epoch %d/%d  train_loss %.6f", p.epoch, p.epochs, p.loss);
    if (p.validated) std::fprintf(stderr, "  valid_loss %.6f", p.valid_loss);
    std::fprintf(stderr, "  %.0f samples/s\n", p.samples_per_second);
    return;
  }
  // Redraw at most ~20 times per epoch: a terminal is slower than a small step.
  const int64_t every = p.batches > 20 ? p.batches / 20 : 1;
  if (!tty_ || (p.batch % every != 0 && p.batch != p.batches)) return;
  constexpr int kWidth = 24;
  const int filled = static_cast<int>(kWidth * p.batch / p.batches);
  char bar[kWidth + 1];
  for (int i = 0; i < kWidth; ++i) bar[i] = i < filled ? '=' : (i == filled ? '>' : ' ');
  bar[kWidth] = '\0';
  std::fprintf(stderr, "\r\033[Kepoch %d/%d [%s] %lld/%lld  loss %.4f  %.0f samples/s  ETA %.0fs", p.epoch, p.epochs,
               bar, static_cast<long long>(p.batch), static_cast<long long>(p.batches), p.loss, p.samples_per_second,
               p.eta_seconds);
  std::fflush(stderr);
}

}  // namespace cumlp::cli
