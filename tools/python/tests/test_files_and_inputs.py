"""save/load on the CLI's files, `cumlp predict` on a Python model, zero-copy
input, and bad input raising ValueError/TypeError (never a crash)."""
import json
import subprocess

import numpy as np
import pytest

import cumlp
from cumlp import _arrays, _cumlp


@pytest.fixture(scope="module")
def fitted(digits):
    X, y = digits
    labels = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])[y]
    return cumlp.MLPClassifier((32,), max_iter=20, random_state=0).fit(X / 16, labels), X / 16, labels


def test_save_load_round_trip_is_bit_exact(fitted, tmp_path):
    clf, X, _ = fitted
    clf.save(tmp_path / "m.safetensors")
    back = cumlp.load(tmp_path / "m.safetensors")
    assert list(back.classes_) == list(clf.classes_)  # kept in the file's metadata
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(back.predict(X), clf.predict(X))
    assert back.get_params()["hidden_layer_sizes"] == (32,)


def test_python_model_works_with_cli_predict(fitted, cli, tmp_path):
    clf, X, _ = fitted
    clf.save(tmp_path / "m.safetensors")
    np.savetxt(tmp_path / "rows.csv", X[:50], delimiter=",", fmt="%.9g")  # %.9g: float32 round-trips
    run = subprocess.run([cli, "predict", str(tmp_path / "m.safetensors"), str(tmp_path / "rows.csv"), "--json"],
                         capture_output=True, text=True, check=True)
    predicted = np.array(json.loads(run.stdout)["predictions"])
    np.testing.assert_array_equal(clf.classes_[predicted], clf.predict(X[:50]))


def test_contiguous_float32_input_is_not_copied():
    x = np.random.RandomState(0).rand(8, 3).astype(np.float32)
    assert _arrays.as_features(x) is x
    assert _cumlp._buffer_address(x) == x.ctypes.data

    class Tensorish:  # a foreign array exposing only DLPack, as PyTorch/JAX/CuPy tensors do
        def __init__(self, a):
            self.a = a

        def __dlpack__(self, **kw):
            return self.a.__dlpack__(**kw)

        def __dlpack_device__(self):
            return self.a.__dlpack_device__()

    via_dlpack = _arrays.as_features(Tensorish(x))
    assert via_dlpack.ctypes.data == x.ctypes.data


def test_a_tensor_outside_host_memory_is_refused_naming_its_dtype_and_shape():
    class DeviceTensor:  # a CUDA tensor as NumPy sees it: DLPack on a device
        dtype, shape = "float32", (4, 3)

        def __dlpack__(self, **kw):
            raise BufferError("device memory")

        def __dlpack_device__(self):
            return (2, 0)  # kDLCUDA

        def __array__(self):
            raise AssertionError("read on the host")

    with pytest.raises(TypeError, match=r"X: cannot read this DeviceTensor \(dtype float32, shape \(4, 3\)\) through "
                       r"DLPack on the host \(.*\); move it to CPU memory first"):
        cumlp.MLPClassifier(max_iter=1).fit(DeviceTensor(), np.arange(4))


def test_other_input_is_converted_once():
    x = np.arange(12, dtype=np.float64).reshape(4, 3)
    assert _arrays.as_features(x).dtype == np.float32
    assert _arrays.as_features(x[:, ::2]).flags.c_contiguous


@pytest.mark.parametrize("X, y, error, message", [
    (np.zeros(10), np.zeros(10), ValueError, r"X: expected a 2-D array, got dtype float64, shape \(10,\)"),
    (np.full((4, 2), np.nan), np.arange(4), ValueError, "X: contains NaN or infinity"),
    (np.array([["a", "b"], ["c", "d"]]), np.arange(2), TypeError, "X: expected numeric data, got dtype <U1"),
    (np.zeros((5, 2)), np.arange(4), ValueError, "X and y have different lengths: 5 and 4"),
    (np.zeros((4, 2)), np.zeros((4, 3)), ValueError, "y: expected a 1-D array"),
    (np.zeros((4, 2), dtype=complex), np.arange(4), ValueError, "X: Complex data not supported"),
])
def test_bad_input_raises(X, y, error, message):
    with pytest.raises(error, match=message):
        cumlp.MLPClassifier(max_iter=1).fit(X, y)


def test_finiteness_check_survives_an_overflowing_sum():
    big = np.full((4, 2), 3e38, np.float32)  # finite, but its float32 sum overflows
    assert _arrays.as_features(big) is big
    big[3, 1] = np.inf
    with pytest.raises(ValueError, match="X: contains NaN or infinity"):
        _arrays.as_features(big)


def test_predict_checks_features(fitted):
    clf, X, _ = fitted
    with pytest.raises(ValueError, match="X has 3 features, but MLPClassifier is expecting 64"):
        clf.predict(X[:, :3])


def test_library_errors_keep_their_one_line_message():
    net = cumlp.Network(cumlp.ModelSpec.parse("4-3-2"), cumlp.Optimizer.sgd(0.1))
    with pytest.raises(cumlp.Error) as e:
        net.train_step(np.zeros((2, 5), np.float32), np.array([0, 1]))
    assert isinstance(e.value, ValueError) and "\n" not in str(e.value) and "5" in str(e.value)
    with pytest.raises(cumlp.Error, match="class 7 is not an integer"):
        net.train_step(np.zeros((2, 4), np.float32), np.array([0, 7]))
    with pytest.raises(cumlp.Error, match="no_such_file"):
        cumlp.load("no_such_file.safetensors")
