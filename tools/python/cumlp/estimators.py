"""scikit-learn estimators on cumlp's core: MLPClassifier and MLPRegressor.

Drop-in for ``sklearn.neural_network.MLPClassifier``/``MLPRegressor`` where
they overlap. Per parameter (scikit-learn's name; what cumlp does with it):

hidden_layer_sizes  implemented: Linear layers of these widths.
activation          implemented: 'identity', 'logistic', 'tanh', 'relu'; also
                    cumlp's 'leaky-relu' and 'elu'. Others raise ValueError.
solver              'adam', 'sgd' and cumlp's 'adamw'; 'lbfgs' raises.
alpha               only 0.0 (the default here; scikit-learn's is 1e-4):
                    scikit-learn's alpha is an L2 penalty on weights only,
                    divided by the batch size, which the core does not have;
                    any other value raises. Use ``weight_decay`` (L2 on every
                    parameter, as torch.optim) instead.
batch_size          implemented: 'auto' = min(200, n_samples); larger values
                    are clipped to n_samples with a warning, as scikit-learn.
learning_rate       'constant' only; 'invscaling'/'adaptive' raise.
learning_rate_init  implemented.
momentum, nesterovs_momentum
                    implemented for solver='sgd' (the core's SGD momentum, as
                    torch.optim.SGD; equal to scikit-learn's velocity form at a
                    constant rate); unused by adam/adamw, as in scikit-learn.
beta_1, beta_2, epsilon  implemented (adam, adamw).
max_iter            implemented: epochs.
shuffle             implemented (seeded per epoch).
random_state        implemented: int seeds init, split, shuffles and dropout
                    (same seed, same bits); None draws a seed from NumPy.
tol, n_iter_no_change, early_stopping, validation_fraction
                    implemented with scikit-learn's rule: without
                    early_stopping, stop once the training loss has not
                    improved by tol for n_iter_no_change epochs; with it,
                    hold out validation_fraction (a seeded permutation, not
                    stratified), stop once the validation score (accuracy,
                    R^2) has not improved by tol, and restore the best weights.
verbose             implemented: per-epoch loss and samples/s (a tqdm bar
                    when tqdm is installed).
cumlp's own: weight_decay, l1, dropout (after every hidden layer), device
('cpu', 'sim', 'cuda', 'cuda:N', 'auto'), precision ('f32'; 'f64' on cpu),
callbacks (callables given each epoch's figures as a dict).

Differences that remain: the classifier's output is a softmax over all
classes (also for two classes, where scikit-learn uses one logistic unit);
the regressor's loss is the mean squared error (scikit-learn's is half of it,
so SGD steps are twice as large for the same learning rate); inputs are held
as float32 by the core's datasets, also with precision='f64'.
"""
import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted

from . import _cumlp
from ._arrays import _from_any, as_column_or_1d, as_features, same_length
from ._progress import EpochReporter

ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu",
               "leaky-relu": "leaky-relu", "elu": "elu"}
SOLVERS = ("adam", "sgd", "adamw")


def _check(cond, message):
    if not cond:
        raise ValueError(message)


class _MLPBase(BaseEstimator):
    _loss = None  # set by the subclasses

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=0.0,
                 batch_size="auto", learning_rate="constant", learning_rate_init=0.001, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1, beta_1=0.9,
                 beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, weight_decay=0.0, l1=0.0, dropout=0.0,
                 device="cpu", precision="f32", callbacks=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.weight_decay = weight_decay
        self.l1 = l1
        self.dropout = dropout
        self.device = device
        self.precision = precision
        self.callbacks = callbacks

    # ---- parameters -------------------------------------------------------------
    def _hidden(self):
        h = self.hidden_layer_sizes
        h = [h] if isinstance(h, numbers.Integral) else list(h)
        _check(all(isinstance(v, numbers.Integral) and v >= 1 for v in h),
               f"hidden_layer_sizes must be positive integers, got {self.hidden_layer_sizes!r}")
        return [int(v) for v in h]

    def _validate_params(self):
        _check(self.activation in ACTIVATIONS,
               f"activation={self.activation!r} is not supported; expected one of {sorted(ACTIVATIONS)}")
        _check(self.solver in SOLVERS, f"solver={self.solver!r} is not supported by cumlp; expected one of {SOLVERS}")
        _check(self.alpha == 0, f"alpha={self.alpha!r}: scikit-learn's alpha (L2 on weights only, divided by the "
               "batch size) is not implemented by cumlp's core; use weight_decay= (L2 on every parameter) or alpha=0")
        _check(self.learning_rate == "constant",
               f"learning_rate={self.learning_rate!r}: only 'constant' is implemented by cumlp")
        _check(self.batch_size == "auto" or (isinstance(self.batch_size, numbers.Integral) and self.batch_size >= 1),
               f"batch_size must be 'auto' or an integer >= 1, got {self.batch_size!r}")
        _check(isinstance(self.max_iter, numbers.Integral) and self.max_iter >= 1,
               f"max_iter must be an integer >= 1, got {self.max_iter!r}")
        _check(isinstance(self.n_iter_no_change, numbers.Integral) and self.n_iter_no_change >= 1,
               f"n_iter_no_change must be an integer >= 1, got {self.n_iter_no_change!r}")
        _check(isinstance(self.tol, numbers.Real) and self.tol >= 0, f"tol must be >= 0, got {self.tol!r}")
        _check(not self.early_stopping or 0 < self.validation_fraction < 1,
               f"validation_fraction must be in (0, 1), got {self.validation_fraction!r}")
        _check(isinstance(self.dropout, numbers.Real) and 0 <= self.dropout < 1,
               f"dropout must be in [0, 1), got {self.dropout!r}")
        _check(self.precision in ("f32", "f64"), f"precision must be 'f32' or 'f64', got {self.precision!r}")
        _check(isinstance(self.device, str), f"device must be a string such as 'cpu', got {self.device!r}")
        _check(self.callbacks is None or all(callable(c) for c in self.callbacks),
               f"callbacks must be a list of callables, got {self.callbacks!r}")

    def _optimizer(self):
        lr = float(self.learning_rate_init)
        if self.solver == "sgd":
            o = _cumlp.Optimizer.sgd(lr, float(self.momentum), bool(self.nesterovs_momentum and self.momentum > 0))
            o.weight_decay = float(self.weight_decay)
        else:
            o = (_cumlp.Optimizer.adam if self.solver == "adam" else _cumlp.Optimizer.adamw)(lr, float(self.weight_decay))
            o.beta1, o.beta2, o.eps = float(self.beta_1), float(self.beta_2), float(self.epsilon)
        o.l1 = float(self.l1)
        o.validate()  # the core's own message for a bad rate, beta or penalty
        return o

    def _spec(self, features, outputs):
        spec = _cumlp.ModelSpec.input(features)
        for width in self._hidden():
            spec.linear(width).activation(ACTIVATIONS[self.activation])
            if self.dropout > 0:
                spec.dropout(float(self.dropout))
        spec.linear(outputs).loss(self._loss)
        spec.validate()
        return spec

    def _seed(self):
        rs = self.random_state
        if rs is None:
            return int(np.random.randint(0, 2**31 - 1))
        if isinstance(rs, numbers.Integral):
            _check(rs >= 0, f"random_state must be >= 0, got {rs}")
            return int(rs)
        if isinstance(rs, np.random.RandomState):
            return int(rs.randint(0, 2**31 - 1))
        raise ValueError(f"random_state must be None, an int or a RandomState, got {rs!r}")

    # ---- fit --------------------------------------------------------------------
    def fit(self, X, y):
        """Trains a new network on X [n, features] and y; returns self."""
        self._validate_params()
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None.")
        X = as_features(X)
        y = _from_any(y, "y")
        self._y_ndim = y.ndim
        y = as_column_or_1d(y) if self._loss == "cross-entropy" else self._targets_2d(y)
        same_length(X, y)
        labels, targets, n_out = self._encode(y)
        n = X.shape[0]
        batch = min(200, n) if self.batch_size == "auto" else int(self.batch_size)
        if batch > n:
            warnings.warn(f"Got batch_size larger than sample size. It is going to be clipped to {n}")
            batch = n
        seed = self._seed()
        self.n_features_in_ = X.shape[1]
        self.net_ = _cumlp.Network(self._spec(X.shape[1], n_out), self._optimizer(), self.device, self.precision,
                                   seed, min(batch, 1024))
        data = _cumlp.Dataset(X, labels, max(n_out, 1) if targets is None else 1, targets, "X")
        valid = self.validation_fraction if self.early_stopping else 0.0
        valid_rows = _cumlp.split_indices(n, valid, seed)[1] if valid else []
        rule = _StoppingRule(self, X[valid_rows] if valid else None, y[valid_rows] if valid else None)
        reporter = EpochReporter(self.verbose, self.callbacks, self.max_iter)
        try:
            report = _cumlp._fit(self.net_, data, None, int(self.max_iter), batch, valid, 0, seed,
                                 bool(self.shuffle), lambda p: reporter(p) or rule(p))
        finally:
            reporter.close()
        self.loss_curve_ = list(report["train_loss"])
        self.n_iter_ = report["epochs_run"]
        self.t_ = n * self.n_iter_ if not valid else report["train_rows"] * self.n_iter_
        self.best_loss_ = None if valid else min(self.loss_curve_)
        self.validation_scores_ = rule.scores if valid else None
        self.best_validation_score_ = rule.best if valid else None
        self.fit_report_ = report
        if valid and rule.best_parameters is not None:
            self.net_.set_parameters(rule.best_parameters)
        if not report["stopped"] and self.n_iter_ == self.max_iter:
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                          "optimization hasn't converged yet.", ConvergenceWarning)
        return self

    def _features(self, X):
        check_is_fitted(self, "net_")
        X = as_features(X)
        _check(X.shape[1] == self.n_features_in_,
               f"X has {X.shape[1]} features, but {type(self).__name__} is expecting {self.n_features_in_} features "
               "as input")
        scale = getattr(self, "input_scale_", 1.0)
        return X if scale == 1.0 else (X.astype(np.float64) * scale).astype(np.float32)

    def _outputs(self, X):
        X = self._features(X)
        return self.net_._forward(X)

    # ---- files ------------------------------------------------------------------
    def save(self, path):
        """Writes the model as the CLI's .safetensors file, with classes_ and
        the estimator's parameters in its metadata (cumlp.load reads it back)."""
        from ._files import save_estimator
        save_estimator(self, path)

    def __getstate__(self):
        from ._files import network_bytes
        state = dict(self.__dict__)
        if "net_" in state:
            state["net_"] = network_bytes(state["net_"])
        return state

    def __setstate__(self, state):
        from ._files import network_from_bytes
        if isinstance(state.get("net_"), bytes):
            state["net_"] = network_from_bytes(state["net_"], state.get("device", "cpu"))
        self.__dict__.update(state)


class _StoppingRule:
    """scikit-learn's stopping rule, asked after every epoch; True stops."""

    def __init__(self, est, x_valid, y_valid):
        self.est, self.x_valid, self.y_valid = est, x_valid, y_valid
        self.scores, self.best, self.best_parameters = [], -np.inf, None
        self.best_loss, self.no_improvement = np.inf, 0

    def __call__(self, p):
        if not p["epoch_done"]:
            return False
        est = self.est
        if self.x_valid is not None:
            score = est._score_rows(self.x_valid, self.y_valid)
            self.scores.append(score)
            improved = score >= self.best + est.tol  # scikit-learn's comparisons, exactly
            if score > self.best:
                self.best, self.best_parameters = score, est.net_.parameters()
        else:
            improved = p["loss"] <= self.best_loss - est.tol
            self.best_loss = min(self.best_loss, p["loss"])
        self.no_improvement = 0 if improved else self.no_improvement + 1
        return self.no_improvement > est.n_iter_no_change


class MLPClassifier(ClassifierMixin, _MLPBase):
    """Multilayer perceptron classifier (softmax cross-entropy) on cumlp's core.
    Parameters: see the module documentation."""
    _loss = "cross-entropy"

    def _encode(self, y):
        if y.dtype.kind not in "biufUSO":
            raise TypeError(f"y: expected class labels, got dtype {y.dtype}")
        if y.dtype.kind == "f" and not np.isfinite(y).all():
            raise ValueError("y: contains NaN or infinity")
        from sklearn.utils.multiclass import type_of_target
        kind = type_of_target(y)
        _check(kind in ("binary", "multiclass"), f"Unknown label type: {kind!r} (y: MLPClassifier takes class labels)")
        self.classes_, idx = np.unique(y, return_inverse=True)
        _check(len(self.classes_) >= 2, f"MLPClassifier needs at least 2 classes in y, got {len(self.classes_)} class")
        return idx.astype(np.int32), None, len(self.classes_)

    def _score_rows(self, x, y):
        return float(np.mean(self.classes_[self.net_._predict_classes(x)] == y))

    def predict(self, X):
        """The class of each row of X."""
        X = self._features(X)
        return self.classes_[self.net_._predict_classes(X)]

    def predict_proba(self, X):
        """Softmax of the network's outputs: [n, n_classes], columns in classes_ order."""
        z = self._outputs(X).astype(np.float64)
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X):
        return np.log(self.predict_proba(X))


class MLPRegressor(RegressorMixin, _MLPBase):
    """Multilayer perceptron regressor (mean squared error, identity output) on
    cumlp's core. Parameters: see the module documentation."""
    _loss = "mse"

    def _more_tags(self):
        return {"multioutput": True}

    def _targets_2d(self, y):
        from ._arrays import as_array
        a = as_array(y, "y", 1 if np.ndim(y) == 1 else 2, dtypes=(np.float32,))
        return a.reshape(-1, 1) if a.ndim == 1 else a

    def _encode(self, y):
        return np.zeros(len(y), np.int32), y, y.shape[1]

    def _score_rows(self, x, y):
        from sklearn.metrics import r2_score
        return float(r2_score(y, self.net_._forward(x)))

    def predict(self, X):
        """The network's outputs: [n] for one target, else [n, targets]."""
        out = self._outputs(X).astype(np.float64)  # scikit-learn's regressors predict float64
        return out.reshape(-1) if getattr(self, "_y_ndim", 1) == 1 else out
