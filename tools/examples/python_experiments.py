#!/usr/bin/env python3
"""The course's Fashion-MNIST and digits experiments from Python (cumlp's
scikit-learn estimator), with the plots saved as PNG files.

    python3 tools/examples/python_experiments.py [--out runs/python] [--device cpu] [--deep]

1. Fashion-MNIST small (experiment 4): 784-100-100-10 ReLU, Adam lr 0.01,
   batch 100, 3 epochs, seed 777 -> test accuracy, loss.png, confusion.png.
2. Digits 8x8 (experiment 7): 64-32-16-10 ReLU, Adam defaults, full batch,
   100 epochs on the raw 0..16 pixels -> the loss curve (the notes report
   about 0.205 at epoch 90).
3. With --deep, Fashion-MNIST deep (experiment 5): 784-500-400-300-200-100-50-10
   LeakyReLU, Adam defaults, batch 256, up to 100 epochs, early stopping on a
   20 % validation split with the best weights restored.
"""
import argparse
import os
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

import cumlp

# The recipes run a fixed number of epochs, as the notes do: not converging is expected.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

FASHION = "/usr/share/datasets/fashion-mnist"


def report(name, clf, X_test, y_test, out, class_names):
    acc = clf.score(X_test, y_test)
    print(f"{name}: {clf.n_iter_} epochs, final loss {clf.loss_curve_[-1]:.4f}, test accuracy {acc:.4f}")
    os.makedirs(out, exist_ok=True)
    valid = [] if clf.validation_scores_ is None else [1 - s for s in clf.validation_scores_]
    cumlp.plot_loss(os.path.join(out, f"{name}-loss.png"), clf.loss_curve_, [],
                    title=f"{name}: training loss per epoch")
    if valid:
        cumlp.plot_loss(os.path.join(out, f"{name}-valid-error.png"), valid, title=f"{name}: validation error")
    k = len(class_names)
    counts = np.zeros((k, k), np.int64)
    np.add.at(counts, (np.searchsorted(clf.classes_, y_test), np.searchsorted(clf.classes_, clf.predict(X_test))), 1)
    cumlp.plot_confusion(os.path.join(out, f"{name}-confusion.png"), counts.ravel().tolist(), class_names,
                         title=f"{name}: test confusion matrix")
    clf.save(os.path.join(out, f"{name}.safetensors"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="runs/python")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--deep", action="store_true", help="also run the deep Fashion-MNIST experiment (long)")
    a = ap.parse_args()

    train = cumlp.load_mnist_dir(FASHION, "train", fashion=True)
    test = cumlp.load_mnist_dir(FASHION, "test", fashion=True)
    small = cumlp.MLPClassifier(hidden_layer_sizes=(100, 100), learning_rate_init=0.01, batch_size=100, max_iter=3,
                                random_state=777, device=a.device, verbose=True)
    small.fit(train.x, train.labels)
    report("fashion-small", small, test.x, test.labels, a.out, test.class_names)

    digits = cumlp.load_digits()
    X, y = digits.x, digits.labels
    order = np.random.RandomState(777).permutation(len(X))
    tr, te = order[:1437], order[1437:]
    clf = cumlp.MLPClassifier(hidden_layer_sizes=(32, 16), batch_size=len(tr), max_iter=100, random_state=777,
                              device=a.device)
    clf.fit(X[tr], y[tr])
    print(f"digits: loss at epoch 90 {clf.loss_curve_[89]:.3f} (the notes: 0.205)")
    report("digits", clf, X[te], y[te], a.out, [str(c) for c in range(10)])

    if a.deep:
        deep = cumlp.MLPClassifier(hidden_layer_sizes=(500, 400, 300, 200, 100, 50), activation="leaky-relu",
                                   batch_size=256, max_iter=100, early_stopping=True, validation_fraction=0.2,
                                   n_iter_no_change=5, random_state=777, device=a.device, verbose=True)
        deep.fit(train.x, train.labels)
        report("fashion-deep", deep, test.x, test.labels, a.out, test.class_names)
    print(f"plots and models in {a.out}/")


if __name__ == "__main__":
    main()
