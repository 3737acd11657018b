"""Estimators in the CLI's .safetensors files, and back.

A Python-trained model is an ordinary cumlp model file (`cumlp predict` and
`cumlp eval` read it) whose metadata also holds extra.sklearn_estimator (the
class), extra.classes (classes_ as JSON) and extra.sklearn_params (the
constructor parameters that are plain values). A file written by
`cumlp train` loads as an estimator too: a cross-entropy model as an
MLPClassifier with classes_ 0..k-1, any other as an MLPRegressor; its
extra.input_scale (1/255 for pixels) is applied to the inputs of predict,
as `cumlp predict` applies it.
"""
import json
import os
import tempfile

import numpy as np

from . import _cumlp

_PLAIN = (type(None), bool, int, float, str)


def save_estimator(est, path):
    from sklearn.utils.validation import check_is_fitted
    check_is_fitted(est, "net_")
    params = {k: v for k, v in est.get_params().items() if isinstance(v, _PLAIN)}
    params["hidden_layer_sizes"] = list(est._hidden())
    extra = {"sklearn_estimator": type(est).__name__, "sklearn_params": json.dumps(params),
             "input_scale": json.dumps(float(getattr(est, "input_scale_", 1.0))),
             "n_features_in": str(est.n_features_in_)}
    if hasattr(est, "classes_"):
        extra["classes"] = json.dumps(est.classes_.tolist())
    if hasattr(est, "_y_ndim"):
        extra["y_ndim"] = str(est._y_ndim)
    est.net_.save(os.fspath(path), extra)


def load(path, device="cpu"):
    """An estimator from a .safetensors model written by save() or by the CLI."""
    from .estimators import MLPClassifier, MLPRegressor
    net, info = _cumlp.load_network(os.fspath(path), device)
    extra = info["extra"]
    kind = extra.get("sklearn_estimator")
    if kind is None:
        kind = "MLPClassifier" if info["spec"].loss_name == "cross-entropy" else "MLPRegressor"
    cls = {"MLPClassifier": MLPClassifier, "MLPRegressor": MLPRegressor}.get(kind)
    if cls is None:
        raise ValueError(f"{path}: unknown estimator '{kind}' in the metadata")
    params = json.loads(extra.get("sklearn_params", "{}"))
    params = {k: v for k, v in params.items() if k in cls._get_param_names()}
    if "hidden_layer_sizes" in params:
        params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
    params["device"] = device
    est = cls(**params)
    est.net_ = net
    est.n_features_in_ = int(extra.get("n_features_in", info["spec"].input_features))
    est.input_scale_ = float(json.loads(extra.get("input_scale", "1")))
    if cls is MLPClassifier:
        classes = extra.get("classes")
        est.classes_ = np.array(json.loads(classes)) if classes else np.arange(info["spec"].output_features)
    est._y_ndim = int(extra.get("y_ndim", "1"))
    return est


def network_bytes(net):
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "net.safetensors")
        net.save(p)
        with open(p, "rb") as f:
            return f.read()


def network_from_bytes(data, device):
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "net.safetensors")
        with open(p, "wb") as f:
            f.write(data)
        return _cumlp.load_network(p, device)[0]
