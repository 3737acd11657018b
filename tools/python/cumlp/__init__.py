"""cumlp: multilayer perceptrons on cumlp's C++/CUDA core, from Python.

    import cumlp
    clf = cumlp.MLPClassifier(hidden_layer_sizes=(100, 100), learning_rate_init=0.01,
                              batch_size=100, max_iter=3, random_state=777)
    clf.fit(X_train, y_train).score(X_test, y_test)
    clf.save("model.safetensors")            # the CLI's file format
    clf = cumlp.load("model.safetensors")    # also reads `cumlp train`'s models

The lower level is the C++ API's: Network, ModelSpec, Optimizer, Dataset,
fit(), the loaders, check() and bench(). Library errors raise cumlp.Error
(a ValueError) with the library's one-line message.
"""
from . import _cumlp
from ._cumlp import (Dataset, Error, ModelSpec, Optimizer, bench, check, devices, evaluate, load_cifar10_dir,
                     load_csv, load_mnist_dir, plot_confusion, plot_loss, read_checkpoint)
from ._files import load
from .estimators import MLPClassifier, MLPRegressor
from .network import Network, Trainer, fit, load_digits, load_network

__all__ = ["Dataset", "Error", "MLPClassifier", "MLPRegressor", "ModelSpec", "Network", "Optimizer", "bench",
           "check", "devices", "evaluate", "fit", "load", "load_cifar10_dir", "load_csv", "load_digits",
           "load_mnist_dir", "load_network", "plot_confusion", "plot_loss",
           "read_checkpoint", "Trainer"]
