"""The estimators learn: digits, Fashion-MNIST with the CLI's fashion-small
recipe (same loss curve bits as `cumlp train`), a regression, and every
scikit-learn parameter either taking effect or raising."""
import json
import subprocess

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

import cumlp


def test_digits_accuracy(digits):
    X, y = digits
    Xtr, Xte, ytr, yte = train_test_split(X / 16, y, test_size=0.25, random_state=0)
    clf = cumlp.MLPClassifier(hidden_layer_sizes=(32, 16), max_iter=100, random_state=777)
    clf.fit(Xtr, ytr)
    assert clf.score(Xte, yte) >= 0.9
    assert clf.n_iter_ == len(clf.loss_curve_) <= 100
    assert list(clf.classes_) == list(range(10))


FASHION_SMALL = dict(hidden_layer_sizes=(100, 100), activation="relu", solver="adam", learning_rate_init=0.01,
                     batch_size=100, max_iter=3, random_state=777, shuffle=True, device="cpu")


def test_fashion_small_recipe_matches_cli_bit_for_bit(fashion, cli, tmp_path):
    Xtr, ytr, Xte, yte = fashion
    clf = cumlp.MLPClassifier(**FASHION_SMALL).fit(Xtr, ytr)
    accuracy = clf.score(Xte, yte)
    assert accuracy >= 0.84
    run = subprocess.run([cli, "train", "--preset", "fashion-small", "--seed", "777", "--device", "cpu", "--json",
                          "--out", str(tmp_path)], capture_output=True, text=True, check=True)
    report = json.loads(run.stdout)
    # Same data, init, shuffles and kernels: the per-epoch losses are the same doubles.
    assert clf.loss_curve_ == report["train_loss"]
    assert accuracy == report["test_accuracy"]
    # The CLI's model in Python: input_scale (1/255) applies to raw pixels, as `cumlp predict` does.
    cli_model = cumlp.load(tmp_path / "model.safetensors")
    assert cli_model.input_scale_ == pytest.approx(1 / 255, rel=1e-15)
    raw = np.rint(Xte * 255).astype(np.float32)
    np.testing.assert_array_equal(cli_model.predict(raw), clf.predict(Xte))


def test_regressor_fits_a_smooth_function():
    rng = np.random.RandomState(0)
    X = rng.uniform(-2, 2, size=(600, 2)).astype(np.float32)
    y = np.sin(X[:, 0]) + 0.5 * X[:, 1] ** 2
    reg = cumlp.MLPRegressor(hidden_layer_sizes=(32, 32), max_iter=300, learning_rate_init=0.01,
                             random_state=1).fit(X[:500], y[:500])
    assert reg.predict(X[500:]).shape == (100,)
    assert reg.score(X[500:], y[500:]) >= 0.9


def test_same_seed_same_bits(digits):
    X, y = digits
    a = cumlp.MLPClassifier((16,), max_iter=5, random_state=3).fit(X[:300], y[:300])
    b = cumlp.MLPClassifier((16,), max_iter=5, random_state=3).fit(X[:300], y[:300])
    c = cumlp.MLPClassifier((16,), max_iter=5, random_state=4).fit(X[:300], y[:300])
    assert a.loss_curve_ == b.loss_curve_
    np.testing.assert_array_equal(a.net_.parameters(), b.net_.parameters())
    assert a.loss_curve_ != c.loss_curve_


@pytest.mark.parametrize("change", [dict(momentum=0.0), dict(nesterovs_momentum=False), dict(learning_rate_init=0.05),
                                    dict(weight_decay=1e-3), dict(l1=1e-4), dict(dropout=0.2), dict(batch_size=50),
                                    dict(shuffle=False), dict(activation="tanh"), dict(precision="f64")])
def test_each_parameter_takes_effect(digits, change):
    X, y = digits
    base = dict(hidden_layer_sizes=(16,), solver="sgd", learning_rate_init=0.01, max_iter=4, random_state=5)
    ref = cumlp.MLPClassifier(**base).fit(X[:400] / 16, y[:400])
    alt = cumlp.MLPClassifier(**{**base, **change}).fit(X[:400] / 16, y[:400])
    assert alt.loss_curve_ != ref.loss_curve_


def test_stopping_rules(digits):
    X, y = digits
    # Training-loss rule: with an enormous tol only epoch 1 improves (on an
    # infinite best), so the count passes n_iter_no_change=2 at epoch 4, as in scikit-learn.
    clf = cumlp.MLPClassifier((16,), max_iter=50, tol=1e9, n_iter_no_change=2, random_state=0).fit(X / 16, y)
    assert clf.n_iter_ == 4 and clf.validation_scores_ is None
    # Validation rule: scores per epoch, the best weights restored.
    es = cumlp.MLPClassifier((32,), max_iter=40, early_stopping=True, validation_fraction=0.2, n_iter_no_change=3,
                             random_state=0).fit(X / 16, y)
    assert len(es.validation_scores_) == es.n_iter_
    assert es.best_validation_score_ == max(es.validation_scores_)
    _, valid = cumlp._cumlp.split_indices(len(X), 0.2, 0)
    assert es.score(X[valid] / 16, y[valid]) == es.best_validation_score_


@pytest.mark.parametrize("bad, message", [
    (dict(activation="softplus"), "activation='softplus'"),
    (dict(solver="lbfgs"), "solver='lbfgs'"),
    (dict(alpha=1e-4), "alpha=0.0001"),
    (dict(learning_rate="adaptive"), "learning_rate='adaptive'"),
    (dict(batch_size=0), "batch_size"),
    (dict(momentum=1.5, solver="sgd"), "momentum must be in"),
    (dict(learning_rate_init=-1.0), "learning rate must be a positive number"),
    (dict(precision="f16"), "precision"),
    (dict(device="tpu"), "tpu"),
    (dict(dropout=1.0), "dropout"),
    (dict(hidden_layer_sizes=(10, 0)), "hidden_layer_sizes"),
])
def test_unsupported_values_raise(digits, bad, message):
    X, y = digits
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        cumlp.MLPClassifier(**{"max_iter": 1, **bad}).fit(X[:50], y[:50])


def test_verbose_and_callbacks(digits, capsys):
    X, y = digits
    seen = []
    cumlp.MLPClassifier((8,), max_iter=3, verbose=True, callbacks=[seen.append], random_state=0).fit(X[:200], y[:200])
    assert [s["epoch"] for s in seen] == [1, 2, 3]
    assert all(s["loss"] > 0 and s["samples_per_second"] > 0 for s in seen)
    out = capsys.readouterr().out
    assert "loss" in out


def test_verbose_uses_a_tqdm_bar_when_installed(digits, monkeypatch):
    import sys
    import types

    bars = []

    class FakeBar:  # records what the estimator asks of tqdm
        def __init__(self, total, **kw):
            self.total, self.n, self.postfix, self.closed = total, 0, {}, False
            bars.append(self)

        def update(self, k):
            self.n += k

        def set_postfix(self, **kw):
            self.postfix = kw

        def close(self):
            self.closed = True

    auto = types.ModuleType("tqdm.auto")
    auto.tqdm = FakeBar
    monkeypatch.setitem(sys.modules, "tqdm", types.ModuleType("tqdm"))
    monkeypatch.setitem(sys.modules, "tqdm.auto", auto)
    X, y = digits
    cumlp.MLPClassifier((8,), max_iter=3, verbose=True, random_state=0).fit(X[:200], y[:200])
    assert len(bars) == 1 and bars[0].total == 3 and bars[0].n == 3 and bars[0].closed
    assert "loss" in bars[0].postfix and "samples_per_s" in bars[0].postfix


def test_verbose_draws_a_real_tqdm_bar(digits, capsys):
    pytest.importorskip("tqdm", reason="tools/setup.sh installs Debian's python3-tqdm")
    X, y = digits
    cumlp.MLPClassifier((8,), max_iter=3, verbose=True, random_state=0).fit(X[:200], y[:200])
    out = capsys.readouterr().out
    assert "3/3" in out and "epoch" in out and "loss=" in out and "samples_per_s=" in out
    assert "Iteration" not in out


def test_verbose_prints_lines_without_tqdm(digits, capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # import fails, as when tqdm is not installed
    X, y = digits
    cumlp.MLPClassifier((8,), max_iter=2, verbose=True, random_state=0).fit(X[:200], y[:200])
    lines = [l for l in capsys.readouterr().out.splitlines() if l.startswith("Iteration")]
    assert len(lines) == 2 and lines[1].startswith("Iteration 2, loss = ") and lines[1].endswith(" samples/s")


def test_ctrl_c_during_fit_raises_keyboard_interrupt(digits):
    import os
    import signal
    import threading

    X, y = digits
    clf = cumlp.MLPClassifier((256, 256), batch_size=1, max_iter=100000, n_iter_no_change=10**9, random_state=0)
    timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        clf.fit(X / 16, y)
    timer.join()
    assert 0 < clf.net_.step_count < 100000 * len(X)
