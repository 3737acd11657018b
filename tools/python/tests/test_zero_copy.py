"""Zero-copy input: a C-contiguous float32 (or uint8) array is borrowed by
cumlp.Dataset, not copied, and the estimators train from it in place on cpu;
float64 and non-contiguous input are copied once."""
import gc
import sys

import numpy as np
import pytest

import cumlp
from cumlp import _cumlp, estimators


def _data(n=120, features=6, seed=0):
    rs = np.random.RandomState(seed)
    return rs.rand(n, features).astype(np.float32), (np.arange(n) % 3).astype(np.int32)


def _train(data, seed=5):
    net = cumlp.Network(cumlp.ModelSpec.parse("6-8-3"), cumlp.Optimizer.adam(0.01), device="cpu", seed=seed,
                        max_batch=20)
    report = cumlp.fit(net, data, epochs=2, batch_size=20, valid_fraction=0, seed=seed)
    return report, net


def test_float32_samples_are_the_callers_memory():
    x, y = _data()
    d = cumlp.Dataset(x, y, 3)
    assert np.shares_memory(d.samples, x)
    assert d.samples.ctypes.data == x.ctypes.data
    assert not d.samples.flags.writeable
    x[1, 2] = 7.5  # documented: a later change to x is seen (the Dataset reads x's memory)
    assert d.samples[1, 2] == 7.5 and d.x[1, 2] == 7.5


def test_uint8_samples_are_borrowed_and_scaled_on_gather():
    pixels = np.arange(24, dtype=np.uint8).reshape(4, 6)
    d = cumlp.Dataset(pixels, np.zeros(4, np.int32), 1, scale=1 / 255)
    assert np.shares_memory(d.samples, pixels) and d.samples.dtype == np.uint8
    np.testing.assert_array_equal(d.x, (pixels.astype(np.float64) / 255).astype(np.float32))


def test_float64_and_non_contiguous_input_are_copied_once():
    x, y = _data()
    d64 = cumlp.Dataset(x.astype(np.float64), y, 3)
    assert d64.samples.dtype == np.float32 and not np.shares_memory(d64.samples, x)
    np.testing.assert_array_equal(d64.samples, x)
    wide = np.repeat(x, 2, axis=1)
    strided = cumlp.Dataset(wide[:, ::2], y, 3)
    assert not np.shares_memory(strided.samples, wide)
    np.testing.assert_array_equal(strided.samples, x)


def test_the_dataset_and_the_network_keep_x_alive_and_let_go():
    x, y = _data()
    base = sys.getrefcount(x)
    d = cumlp.Dataset(x, y, 3)
    assert sys.getrefcount(x) > base  # the Dataset holds x
    expected = x.copy()
    report, net = _train(d)
    del d
    gc.collect()
    assert sys.getrefcount(x) > base  # the network still reads x's memory
    # A second fit attaches another dataset with the GIL released: x's owner is
    # let go there (its deleter takes the GIL) and x is released.
    cumlp.fit(net, cumlp.Dataset(expected.copy(), y, 3), epochs=1, batch_size=20, valid_fraction=0)
    gc.collect()
    assert sys.getrefcount(x) == base
    np.testing.assert_array_equal(x, expected)


def test_training_from_the_borrowed_array_equals_training_from_a_copy():
    x, y = _data()
    borrowed, copied = cumlp.Dataset(x, y, 3), cumlp.Dataset(x.astype(np.float64), y, 3)
    assert np.shares_memory(borrowed.samples, x) and not np.shares_memory(copied.samples, x)
    (a, net_a), (b, net_b) = _train(borrowed), _train(copied)
    assert a["train_loss"] == b["train_loss"]
    np.testing.assert_array_equal(net_a.parameters(), net_b.parameters())


def test_a_temporary_array_lives_as_long_as_its_dataset():
    y = _data()[1]
    d = cumlp.Dataset(np.full((120, 6), 0.25, np.float32), y, 3)  # no other reference to the array
    gc.collect()
    np.testing.assert_array_equal(d.samples, np.full((120, 6), 0.25, np.float32))
    _train(d)


@pytest.mark.parametrize("make", [lambda x: x, lambda x: x.astype(np.float64)], ids=["float32", "float64"])
def test_estimator_fit_borrows_float32_input(monkeypatch, make):
    x, y = _data()
    seen, real = [], _cumlp.Dataset

    def spy(*args, **kwargs):
        seen.append(real(*args, **kwargs))
        return seen[-1]

    monkeypatch.setattr(estimators._cumlp, "Dataset", spy)  # the module the estimators call
    X = make(x)
    cumlp.MLPClassifier((8,), max_iter=2, batch_size=20, random_state=0).fit(X, y)
    assert len(seen) == 1
    assert np.shares_memory(seen[0].samples, X) == (X.dtype == np.float32)
