"""A real DLPack producer: JAX arrays (CPU) give the same results and errors
as the NumPy arrays they hold, and a float32 one is read without a copy.
tools/setup.sh installs a CPU jax best effort; without it these tests skip."""
import numpy as np
import pytest

import cumlp
from cumlp import _arrays, _cumlp

jax = pytest.importorskip("jax", reason="jax is not installed (tools/setup.sh installs it, best effort)")
jnp = pytest.importorskip("jax.numpy")
from jax.experimental import enable_x64  # noqa: E402 (after the skip)


def small():
    return cumlp.MLPClassifier((16,), max_iter=3, batch_size=64, learning_rate_init=0.01, random_state=0)


@pytest.fixture(scope="module")
def data(digits):
    X, y = digits
    X = (X / 16).astype(np.float32)
    return X, y.astype(np.int32), small().fit(X, y.astype(np.int32))


def test_float32_is_read_without_a_copy(data):
    X, y, _ = data
    xj = jnp.asarray(X)
    assert xj.dtype == jnp.float32
    seen = _arrays.as_features(xj)
    assert seen.ctypes.data == xj.unsafe_buffer_pointer()  # the jax buffer itself
    assert _cumlp._buffer_address(seen) == xj.unsafe_buffer_pointer()


def test_float32_fit_equals_numpy(data):
    X, y, reference = data
    clf = small().fit(jnp.asarray(X), jnp.asarray(y))
    assert clf.loss_curve_ == reference.loss_curve_  # same bits
    assert list(clf.classes_) == list(reference.classes_)
    np.testing.assert_array_equal(clf.predict_proba(jnp.asarray(X[:50])), reference.predict_proba(X[:50]))


def test_float64_fit_equals_numpy_float64(data):
    X, y, _ = data
    X64 = X.astype(np.float64)
    with enable_x64():
        xj = jnp.asarray(X64)
        assert xj.dtype == jnp.float64
        clf = small().fit(xj, jnp.asarray(y))
    assert clf.loss_curve_ == small().fit(X64, y).loss_curve_


def test_non_contiguous_views_equal_numpy(data):
    X, y, _ = data
    # jax materialises a transpose or a strided slice as a new array; the
    # result must equal NumPy's, which reads the non-contiguous view.
    xj = jnp.asarray(X)
    assert small().fit(xj[:, ::2], y).loss_curve_ == small().fit(X[:, ::2], y).loss_curve_
    square = X[:64, :64]
    assert small().fit(jnp.asarray(square).T, y[:64]).loss_curve_ == small().fit(square.T, y[:64]).loss_curve_


def test_network_train_step_equals_numpy(data):
    X, y, _ = data
    losses = []
    for x, labels in ((X[:32], y[:32]), (jnp.asarray(X[:32]), jnp.asarray(y[:32]))):
        net = cumlp.Network(cumlp.ModelSpec.parse("64-16-10", "relu"), cumlp.Optimizer.adam(0.01), seed=3)
        losses.append([net.train_step(x, labels) for _ in range(3)] + [net.forward(x).tolist()])
    assert losses[0] == losses[1]


def error_of(fn):
    with pytest.raises((TypeError, ValueError)) as e:
        fn()
    return e.type, str(e.value)


@pytest.mark.parametrize("make", [
    lambda: np.zeros(10, np.float32),                     # 1-D
    lambda: np.full((4, 2), np.nan, np.float32),          # NaN
    lambda: np.zeros((4, 2), np.complex64),               # complex
    lambda: np.zeros((5, 2), np.float32),                 # 5 rows, 4 labels
], ids=["wrong-dims", "nan", "complex", "lengths"])
def test_bad_input_gives_numpy_s_error(make):
    x = make()
    y = (np.arange(4) % 2).astype(np.int32)  # jax's default integer (without x64)
    expected = error_of(lambda: small().fit(x, y))
    assert error_of(lambda: small().fit(jnp.asarray(x), jnp.asarray(y))) == expected


@pytest.mark.parametrize("dtype", ["int32", "float16", "bool"])
def test_other_numeric_dtypes_are_converted_as_numpy_s(data, dtype):
    X, y, _ = data
    x = (X * 4).astype(dtype)
    assert small().fit(jnp.asarray(x), y).loss_curve_ == small().fit(x, y).loss_curve_


def test_bfloat16_is_refused_like_numpy_s_bfloat16():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    x = np.ones((4, 2), ml_dtypes.bfloat16)
    y = np.arange(4) % 2
    kind, message = error_of(lambda: small().fit(jnp.asarray(x), y))
    assert (kind, message) == error_of(lambda: small().fit(x, y))
    assert kind is TypeError and "X: expected numeric data, got dtype bfloat16, shape (4, 2)" in message
