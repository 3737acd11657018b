"""Checks on arrays coming from users, with the argument's name in every error.

NumPy arrays are read through the buffer protocol and PyTorch/JAX/CuPy
tensors through DLPack (``numpy.from_dlpack``): a C-contiguous float32 (or
float64) array passes through unchanged, with no copy. Anything else is
converted once, or refused with one clear error:

* ``TypeError``: non-numeric data (strings, objects).
* ``ValueError``: wrong number of dimensions, NaN or infinity, mismatched
  lengths, an empty array, complex numbers (scikit-learn's convention).
"""
import warnings

import numpy as np


def _describe(a):
    return f"dtype {a.dtype}, shape {tuple(a.shape)}"


def _from_any(x, name):
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "toarray") and hasattr(x, "nnz"):  # scipy.sparse
        raise TypeError(f"{name}: sparse input is not supported ({type(x).__name__}); pass a dense array "
                        "(x.toarray())")
    if hasattr(x, "__dlpack__"):
        try:
            return np.from_dlpack(x)
        except (RuntimeError, TypeError, BufferError, ValueError) as e:
            reason = e
        # NumPy reads fewer dtypes through DLPack than producers send (bool,
        # bfloat16): a tensor in host memory is read through __array__ instead
        # (one copy) and checked as NumPy input is, so it gets NumPy's result.
        if _in_host_memory(x) and hasattr(x, "__array__"):
            try:
                return np.asarray(x)
            except (RuntimeError, TypeError, ValueError):
                pass
        described = f"dtype {getattr(x, 'dtype', '?')}, shape {tuple(getattr(x, 'shape', ()))}"
        raise TypeError(f"{name}: cannot read this {type(x).__name__} ({described}) through DLPack on the host "
                        f"({reason}); move it to CPU memory first") from None
    try:
        return np.asarray(x)
    except (ValueError, TypeError) as e:
        raise ValueError(f"{name}: cannot be read as an array ({e})") from None


def _in_host_memory(x):
    try:
        return x.__dlpack_device__()[0] in (1, 3)  # kDLCPU, kDLCUDAHost
    except Exception:  # noqa: BLE001 (a producer's own error: not host memory as far as we know)
        return False


_RESHAPE = ("Reshape your data either using array.reshape(-1, 1) if your data has a single feature or "
            "array.reshape(1, -1) if it contains a single sample.")


def _sum_is_finite(a):
    with np.errstate(over="ignore", invalid="ignore"):
        return np.isfinite(a.sum())


def as_array(x, name, ndim, *, dtypes=(np.float32, np.float64), check_finite=True):
    """x as a C-contiguous array of one of `dtypes` (the first one when it
    must be converted) with `ndim` dimensions. Returns x itself when it
    already is one (no copy)."""
    a = _from_any(x, name)
    if a.dtype.kind == "c":
        raise ValueError(f"{name}: Complex data not supported ({_describe(a)})")
    if a.dtype.kind == "O":  # Python objects: numbers are fine, anything else is not
        try:
            a = a.astype(np.float64)
        except (TypeError, ValueError) as e:
            raise TypeError(f"{name}: expected numeric data, got {_describe(a)} ({e})") from None
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected numeric data, got {_describe(a)}")
    if a.ndim != ndim:
        hint = " " + _RESHAPE if ndim == 2 and a.ndim == 1 else ""
        raise ValueError(f"{name}: expected a {ndim}-D array, got {_describe(a)}.{hint}")
    if a.shape[0] == 0 or (ndim == 2 and a.shape[1] == 0):
        what = "sample" if a.shape[0] == 0 else "feature"
        raise ValueError(f"{name}: Found array with 0 {what}(s) (shape={tuple(a.shape)}) while a minimum of 1 is "
                         "required.")
    if a.dtype.type not in dtypes:
        a = a.astype(dtypes[0])
    a = np.ascontiguousarray(a)
    # A sum is finite only if every term is (Inf and NaN propagate), so the
    # cheap sum decides unless it overflowed; then the full test does.
    if check_finite and a.dtype.kind == "f" and not _sum_is_finite(a) and not np.isfinite(a).all():
        raise ValueError(f"{name}: contains NaN or infinity ({_describe(a)})")
    return a


def as_features(x, name="X"):
    """Samples [n, features] as float32 (the dtype the core's datasets hold)."""
    return as_array(x, name, 2, dtypes=(np.float32,))


def as_column_or_1d(y, name="y"):
    """Labels: 1-D, or [n, 1] flattened with scikit-learn's DataConversionWarning."""
    a = _from_any(y, name)
    if a.ndim == 2 and a.shape[1] == 1:
        from sklearn.exceptions import DataConversionWarning
        warnings.warn("A column-vector y was passed when a 1d array was expected. Please change the shape of y "
                      "to (n_samples, ), for example using ravel().", DataConversionWarning, stacklevel=3)
        a = a.reshape(-1)
    if a.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array, got {_describe(a)}")
    if a.size == 0:
        raise ValueError(f"{name}: is empty ({_describe(a)})")
    return a


def same_length(x, y, xname="X", yname="y"):
    if len(x) != len(y):
        raise ValueError(f"{xname} and {yname} have different lengths: {len(x)} and {len(y)} "
                         f"({xname}: {_describe(x)}, {yname}: {_describe(y)})")
