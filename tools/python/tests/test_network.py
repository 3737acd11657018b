"""The lower level: Network, fit (the C++ Trainer), loaders, check, bench,
Ctrl-C during training, and the GIL released while training."""
import os
import signal
import sys
import threading

import numpy as np
import pytest

import cumlp


def test_network_learns_xor():
    spec = cumlp.ModelSpec.parse("2-10-10-10-1", "sigmoid", -1, "sigmoid").loss("bce")
    net = cumlp.Network(spec, cumlp.Optimizer.sgd(1.0, 0.5), device="cpu", seed=777)
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    t = np.array([[0], [1], [1], [0]], np.float32)
    first = net.train_step(x, t)
    for _ in range(3000):
        last = net.train_step(x, t)
    assert last < first / 10
    assert list(net.predict_classes(x)) == [0, 1, 1, 0]
    assert net.forward(x).shape == (4, 1) and net.step_count == 3001


def test_sgd_momentum_matches_torch_formula_through_network():
    # One Linear layer, MSE: the gradient in closed form, the update as
    # torch.optim.SGD(momentum=0.9, nesterov=True) computes it, in float64
    # (tolerance 1e-12 relative: a few roundings per step over 3 steps).
    spec = cumlp.ModelSpec.input(3).linear(2).loss("mse")
    net = cumlp.Network(spec, cumlp.Optimizer.sgd(0.1, 0.9, True), dtype="f64", seed=1)
    rng = np.random.RandomState(0)
    p = net.parameters().copy()
    buf = np.zeros_like(p)
    for step in range(3):
        x, t = rng.rand(4, 3), rng.rand(4, 2)
        W, b = p[:6].reshape(2, 3), p[6:]
        d = 2 * (x @ W.T + b - t) / t.size
        g = np.concatenate([(d.T @ x).ravel(), d.sum(0)])
        buf = g if step == 0 else 0.9 * buf + g
        p = p - 0.1 * (g + 0.9 * buf)
        net.train_step(x, t)
    np.testing.assert_allclose(net.parameters(), p, rtol=1e-12, atol=1e-14)


def test_fit_on_digits_dataset():
    data = cumlp.load_digits()
    assert len(data) == 1797 and data.features == 64
    net = cumlp.Network(cumlp.ModelSpec.parse("64-32-16-10", "relu"), cumlp.Optimizer.adam(), seed=777)
    seen = []
    report = cumlp.fit(net, data, data, epochs=20, batch_size=0, valid_fraction=0.2,
                       on_progress=lambda p: seen.append(p) if p["epoch_done"] else None)
    assert report["epochs_run"] == 20 and len(report["valid_loss"]) == 20
    assert report["train_loss"][-1] < report["train_loss"][0]
    assert [p["epoch"] for p in seen] == list(range(1, 21))
    assert 0 < report["test"]["accuracy"] <= 1 and len(report["test"]["confusion"]) == 100


def test_trainer_keeps_its_settings_and_the_core_validates_them():
    data = cumlp.load_digits()
    net = cumlp.Network(cumlp.ModelSpec.parse("64-16-10", "relu"), cumlp.Optimizer.adamw(0.01), seed=3)
    report = cumlp.Trainer(net, epochs=2, batch_size=0, valid_fraction=0.1, seed=3).fit(data)
    assert report["epochs_run"] == 2 and report["valid_rows"] == 180 and report["train_rows"] == 1617
    with pytest.raises(cumlp.Error, match="epochs"):
        cumlp.Trainer(net, epochs=0).fit(data)


def test_ctrl_c_stops_after_the_current_step():
    data = cumlp.load_digits()
    net = cumlp.Network(cumlp.ModelSpec.parse("64-256-256-10", "relu"), cumlp.Optimizer.adam(), seed=1)
    timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        cumlp.fit(net, data, epochs=100000, batch_size=1, valid_fraction=0)
    timer.join()
    assert 0 < net.step_count < 100000 * 1797  # stopped inside the run, the network intact
    assert np.isfinite(net.parameters()).all()


def test_the_gil_is_released_while_training():
    # With an enormous switch interval Python never takes the GIL from a
    # thread by force: the main thread can run while the worker is inside
    # fit only if fit released it. The worker reads the main thread's
    # counter just before and just after fit.
    data = cumlp.load_digits()
    net = cumlp.Network(cumlp.ModelSpec.parse("64-64-10", "relu"), cumlp.Optimizer.adam(), seed=1)
    ticks, seen, done = [0], [], threading.Event()

    def train():
        seen.append(ticks[0])
        cumlp.fit(net, data, epochs=2, batch_size=1, valid_fraction=0)
        seen.append(ticks[0])
        done.set()

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e6)
    try:
        worker = threading.Thread(target=train)
        worker.start()
        while not done.wait(0.001):  # the wait releases the GIL, so the worker can take it back
            ticks[0] += 1
        worker.join()
    finally:
        sys.setswitchinterval(interval)
    assert seen[1] > seen[0]


def test_check_and_bench_on_cpu():
    rows = cumlp.check("cpu")
    assert rows and all(r["pass"] for r in rows)
    steps = cumlp.bench("cpu", quick=True, models=["C"])
    assert steps[0]["model"] == "C" and steps[0]["us_per_step"] > 0
    assert any(d["name"] == "cpu" and d["available"] for d in cumlp.devices())


def test_loaders_report_missing_files():
    with pytest.raises(cumlp.Error, match="nowhere"):
        cumlp.load_mnist_dir("/nowhere")
    with pytest.raises(cumlp.Error, match="nowhere"):
        cumlp.load_cifar10_dir("/nowhere", "test")


def test_sim_device_runs_the_cuda_kernels_with_momentum(digits):
    # The CUDA kernels on the simulator against the CPU backend: same init
    # (counter-based RNG), float32 kernels with different summation orders,
    # so the loss curves agree to rtol 1e-4 over 3 epochs, not bit for bit.
    X, y = digits
    kw = dict(hidden_layer_sizes=(16,), solver="sgd", momentum=0.9, learning_rate_init=0.01, batch_size=50,
              max_iter=3, random_state=7)
    cpu = cumlp.MLPClassifier(device="cpu", **kw).fit(X[:200] / 16, y[:200])
    sim = cumlp.MLPClassifier(device="sim", **kw).fit(X[:200] / 16, y[:200])
    assert sim.net_.device == "sim"
    np.testing.assert_allclose(sim.loss_curve_, cpu.loss_curve_, rtol=1e-4)
