"""Per-epoch progress for fit: verbose printing (a tqdm bar when tqdm is
installed) and the callbacks= hooks."""
import sys


class EpochReporter:
    """Called with the trainer's progress dicts (after every epoch, and now and
    then during one); returns None so the stopping rule decides."""

    def __init__(self, verbose, callbacks, epochs):
        self.callbacks = list(callbacks or [])
        self.bar = None
        self.verbose = bool(verbose)
        if self.verbose:
            try:
                from tqdm.auto import tqdm
                self.bar = tqdm(total=epochs, unit="epoch", file=sys.stdout)
            except ImportError:
                self.bar = None

    def __call__(self, p):
        if not p["epoch_done"]:
            if self.bar is not None:
                self.bar.set_postfix(loss=f"{p['loss']:.4f}", batch=f"{p['batch']}/{p['batches']}")
            return None
        figures = {k: p[k] for k in ("epoch", "loss", "valid_loss", "samples_per_second")}
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{p['loss']:.4f}", samples_per_s=f"{p['samples_per_second']:.0f}")
        elif self.verbose:
            valid = "" if p["valid_loss"] is None else f", validation loss = {p['valid_loss']:.8f}"
            print(f"Iteration {p['epoch']}, loss = {p['loss']:.8f}{valid}, "
                  f"{p['samples_per_second']:.0f} samples/s", flush=True)
        for cb in self.callbacks:
            cb(dict(figures))
        return None

    def close(self):
        if self.bar is not None:
            self.bar.close()
