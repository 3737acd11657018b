"""The lower level: cumlp.Network (the C++ Network) with NumPy/DLPack inputs,
and fit() (the C++ Trainer) on a cumlp.Dataset.

    spec = cumlp.ModelSpec.parse("784-100-100-10", "relu")     # logits, cross-entropy
    net = cumlp.Network(spec, cumlp.Optimizer.adam(0.01), device="cpu", seed=777)
    loss = net.train_step(x, labels)       # x [B, 784] float32/float64, labels [B] class indices
    logits = net.forward(x)
    report = cumlp.fit(net, cumlp.load_mnist_dir(d, fashion=True), epochs=3, batch_size=100)
"""
import numpy as np

from . import _cumlp
from ._arrays import as_array, same_length

Network = _cumlp.Network

DIGITS_CSV = "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz"


def _inputs(net, x):
    return as_array(x, "x", 2, dtypes=(np.float32, np.float64))


def _targets(net, y, x):
    if net.spec.loss_name == "cross-entropy":
        a = as_array(y, "y", 1, dtypes=(np.int32, np.int64, np.uint8, np.int16, np.uint16))
        a = a.astype(np.float32 if net.dtype == "f32" else np.float64)  # the core reads indices from floats
    else:
        a = as_array(y, "y", 2)
    same_length(x, a, "x", "y")
    return a


def train_step(self, x, y):
    """One optimizer step on the batch (x [B, in], y [B] class indices or
    [B, out] targets); returns the batch loss before the update. The GIL is
    released while the step runs."""
    x = _inputs(self, x)
    return self._train_step(x, _targets(self, y, x))


def forward(self, x):
    """Outputs [B, out] in evaluation mode (logits for cross-entropy models)."""
    return self._forward(_inputs(self, x))


def evaluate(self, x, y):
    """(loss, predicted class per row) in evaluation mode."""
    x = _inputs(self, x)
    return self._evaluate(x, _targets(self, y, x))


def predict_classes(self, x):
    """Predicted class per row (argmax; 0.5 / 0 threshold for one output)."""
    return self._predict_classes(_inputs(self, x))


for _f in (train_step, forward, evaluate, predict_classes):
    setattr(Network, _f.__name__, _f)


def fit(net, train, test=None, *, epochs=10, batch_size=100, valid_fraction=0.2, patience=0, seed=777,
        shuffle=True, on_progress=None):
    """The C++ Trainer: trains `net` on the Dataset `train` and returns its report
    as a dict (train_loss, valid_loss, epochs_run, best_epoch, samples_per_second,
    test metrics when `test` is given). on_progress(dict) is called after every
    epoch (and now and then during one); returning True after an epoch stops
    there. Ctrl-C stops after the current step and raises KeyboardInterrupt.
    The training thread runs Python only in the Ctrl-C polls (at most every
    50 ms) and in on_progress: the report's python_seconds is the wall time
    of those GIL-held sections (acquisition included), python_sections their
    count."""
    return _cumlp._fit(net, train, test, int(epochs), int(batch_size), float(valid_fraction), int(patience),
                       int(seed), bool(shuffle), on_progress)


class Trainer:
    """The C++ Trainer: a network and its training settings (TrainConfig's
    fields); fit() trains and returns the report dict of cumlp.fit."""

    def __init__(self, net, *, epochs=10, batch_size=100, valid_fraction=0.2, patience=0, seed=777, shuffle=True):
        self.net = net
        self.config = dict(epochs=epochs, batch_size=batch_size, valid_fraction=valid_fraction, patience=patience,
                           seed=seed, shuffle=shuffle)

    def fit(self, train, test=None, on_progress=None):
        return fit(self.net, train, test, on_progress=on_progress, **self.config)


def load_digits(path=DIGITS_CSV):
    """scikit-learn's 8x8 digits (1797 rows, pixel values 0..16, unscaled) as a Dataset."""
    return _cumlp.load_csv(path)


def load_network(path, device="cpu"):
    """(Network, metadata dict) from a .safetensors model file."""
    return _cumlp.load_network(str(path), device)
