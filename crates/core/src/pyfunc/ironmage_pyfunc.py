"""Score a model that ironmage trained, as MLflow's python_function flavor loads it.

ironmage writes this file into the MLflow model folder of every version a pipeline registers;
the folder's `model.json` holds the version: its raw input columns, fitted preprocessing
steps, feature order and model numbers, every float written so that it reads back to the same
bits. This module replays them with the float operations of ironmage's Rust scorer, in the
same order (sums run tree by tree or feature by feature, from zero; the logistic function uses
the C library's exp, as Rust does), so that `predict` answers what ironmage's prediction
service answers in `prediction`: class 0 or 1 for a classifier (1 when the probability of
class 1 is above the model's threshold), the value for a regressor.

Needs numpy and pandas only:

    model = mlflow.pyfunc.load_model("models:/churn/Production")
    model.predict(pandas.DataFrame([{"account_age": 24.0, ...}]))
    model.get_raw_model().score(frame)  # the probability of class 1, or the value
"""

import json
import math

import numpy as np
import pandas as pd

FORMAT = "ironmage-pyfunc"
FORMAT_VERSION = 1
NUMBER = "number"
TEXT = "text"


def _load_pyfunc(path):
    """MLflow's entry point: `path` is the flavor's `data`, the model.json file."""
    with open(path, encoding="utf-8") as f:
        return IronmageModel(json.load(f))


def _float(value):
    # A float is a JSON number, or "NaN", "Infinity" or "-Infinity", which float() reads.
    return float(value)


def _floats(values):
    return np.array([_float(v) for v in values], dtype=np.float64)


def _exp(x):
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _logistic(z):
    # math.exp is the C library's exp, as Rust's f64::exp; numpy's own may differ in the
    # last bit.
    e = np.array([_exp(-v) for v in z.tolist()], dtype=np.float64)
    return 1.0 / (1.0 + e)


def _missing(value):
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


class _Trees:
    def __init__(self, spec):
        self.roots = np.array(spec["roots"], dtype=np.int64)
        self.feature = np.array(spec["feature"], dtype=np.int64)
        self.threshold = _floats(spec["threshold"])
        self.left = np.array(spec["left"], dtype=np.int64)
        self.right = np.array(spec["right"], dtype=np.int64)
        self.leaf_values = _floats(spec["leaf_values"])
        n = len(self.feature)
        if not (
            len(self.threshold) == n and len(self.left) == n and len(self.right) == n
        ):
            raise ValueError("model.json: tree arrays of different lengths")

    def leaves(self, x):
        """The leaf each row reaches in each tree: an (n_rows, n_trees) array of indices."""
        node = np.tile(self.roots, (x.shape[0], 1))
        # A walk takes at most one step per node; more means a malformed document.
        for _ in range(len(self.feature) + 1):
            split = self.feature[node] >= 0
            if not split.any():
                return self.left[node]
            rows, trees = np.nonzero(split)
            at = node[rows, trees]
            value = x[rows, self.feature[at]]
            # NaN compares false, so it goes right, as in Rust.
            node[rows, trees] = np.where(value <= self.threshold[at], self.left[at], self.right[at])
        raise ValueError("model.json: a tree walk does not end")

    def sum(self, x, width=1, column=0):
        """Per row, the sum over trees, in tree order, of the reached leaves' values."""
        values = self.leaf_values[self.leaves(x) * width + column]
        total = np.zeros(x.shape[0], dtype=np.float64)
        for t in range(values.shape[1]):
            total = total + values[:, t]
        return total


def _linear(x, weights, intercept):
    total = np.full(x.shape[0], -0.0, dtype=np.float64)
    for j, w in enumerate(weights):
        total = total + x[:, j] * w
    return intercept + total


class IronmageModel:
    """A model of model.json: `predict` gives the answers, `score` the raw numbers."""

    def __init__(self, doc):
        if doc.get("format") != FORMAT or doc.get("format_version") != FORMAT_VERSION:
            raise ValueError(
                f"model.json is {doc.get('format')!r} version {doc.get('format_version')!r}; "
                f"this scorer reads {FORMAT!r} version {FORMAT_VERSION}"
            )
        self.task = doc["task"]
        self.label = doc["label"]
        self.classes = list(doc["classes"])
        self.threshold = _float(doc["threshold"])
        self.inputs = [(i["name"], i["kind"]) for i in doc["inputs"]]
        self.steps = doc["steps"]
        self.features = list(doc["features"])
        model = doc["model"]
        self.kind = model["kind"]
        if self.kind in ("forest_classifier", "forest_regressor", "gradient_boosting"):
            self.trees = _Trees(model["trees"])
        if self.kind == "forest_classifier":
            self.n_classes = int(model["n_classes"])
            if self.n_classes != 2:
                raise ValueError("model.json: a classifier of more than two classes")
        elif self.kind == "gradient_boosting":
            self.loss = model["loss"]
            self.baseline = _float(model["baseline"])
        elif self.kind in ("logistic_regression", "linear_regression"):
            self.weights = [_float(w) for w in model["weights"]]
            self.intercept = _float(model["intercept"])
        elif self.kind != "forest_regressor":
            raise ValueError(f"model.json: unknown model kind {self.kind!r}")

    def get_raw_model(self):
        """MLflow's `PyFuncModel.get_raw_model()` answers this object, for `score`."""
        return self

    @property
    def request_fields(self):
        """The columns a request carries: the inputs but the label."""
        return [name for name, _ in self.inputs if name != self.label]

    def predict(self, model_input, params=None):
        """Class 0 or 1 per row for a classifier (int64), the value for a regressor."""
        scores = self.score(model_input)
        if self.task == "classification":
            return (scores > self.threshold).astype(np.int64)
        return scores

    def score(self, model_input):
        """The probability of class 1 per row for a classifier, the value for a regressor."""
        return self._model(self._features(_frame(model_input)))

    def _columns(self, frame):
        """The raw input columns, in order, as [name, kind, values]; the label is missing."""
        n = len(frame)
        columns = []
        for name, kind in self.inputs:
            if name == self.label:
                values = np.full(n, np.nan) if kind == NUMBER else np.full(n, None, dtype=object)
            elif name not in frame.columns:
                expected = ", ".join(self.request_fields)
                raise ValueError(f"missing feature {name!r} (expected: {expected})")
            elif kind == NUMBER:
                try:
                    numbers = pd.to_numeric(frame[name], errors="raise")
                    values = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
                except (TypeError, ValueError) as e:
                    raise ValueError(f"feature {name!r}: expected numbers ({e})") from None
            else:
                texts = [None if _missing(v) else str(v) for v in frame[name]]
                values = np.array(texts, dtype=object)
            columns.append([name, kind, values])
        return columns

    def _features(self, frame):
        columns = self._columns(frame)
        for number, step in enumerate(self.steps, start=1):
            columns = _apply(step, number, columns)
        x = np.empty((len(frame), len(self.features)), dtype=np.float64)
        for j, feature in enumerate(self.features):
            found = [c for c in columns if c[0] == feature and c[1] == NUMBER]
            if not found:
                raise ValueError(f"feature {feature!r} is not a numeric column after preprocessing")
            x[:, j] = found[0][2]
        return x

    def _model(self, x):
        kind = self.kind
        if kind == "forest_classifier":
            total = self.trees.sum(x, width=self.n_classes, column=1)
            return total / float(len(self.trees.roots))
        if kind == "forest_regressor":
            return self.trees.sum(x)
        if kind == "gradient_boosting":
            z = self.baseline + self.trees.sum(x)
            return _logistic(z) if self.loss == "log_loss" else z
        z = _linear(x, self.weights, self.intercept)
        return _logistic(z) if kind == "logistic_regression" else z


def _frame(model_input):
    if isinstance(model_input, pd.DataFrame):
        return model_input
    if isinstance(model_input, dict):
        return pd.DataFrame([model_input])
    return pd.DataFrame(model_input)


def _find(columns, name, kind, number, step):
    for i, (n, k, _) in enumerate(columns):
        if n == name:
            if kind is not None and k != kind:
                raise ValueError(
                    f"preprocessing step {number} ({step}): column {name!r} is not {kind}"
                )
            return i
    raise ValueError(f"preprocessing step {number} ({step}): column {name!r} is missing")


def _apply(step, number, columns):
    """One fitted step on the columns; returns the new list (arrays are never changed in
    place, so a column selected twice stays two columns)."""
    kind = step["step"]
    if kind == "impute":
        for name, value in zip(step["columns"], step["values"]):
            i = _find(columns, name, NUMBER, number, kind)
            x = columns[i][2]
            columns[i] = [columns[i][0], NUMBER, np.where(np.isnan(x), _float(value), x)]
    elif kind == "scale":
        for name, mean, scale in zip(step["columns"], step["mean"], step["scale"]):
            i = _find(columns, name, NUMBER, number, kind)
            columns[i] = [columns[i][0], NUMBER, (columns[i][2] - _float(mean)) / _float(scale)]
    elif kind == "one_hot":
        column = step["column"]
        i = _find(columns, column, TEXT, number, kind)
        values = columns[i][2]
        indicators = [
            [f"{column}={c}", NUMBER, np.array([float(v == c) for v in values], dtype=np.float64)]
            for c in step["categories"]
        ]
        columns = columns[:i] + indicators + columns[i + 1 :]
    elif kind == "select_columns":
        picked = [_find(columns, name, None, number, kind) for name in step["columns"]]
        columns = [list(columns[i]) for i in picked]
    elif kind == "rename_columns":
        for old, new in zip(step["from"], step["to"]):
            i = _find(columns, old, None, number, kind)
            columns[i] = [new, columns[i][1], columns[i][2]]
    else:
        raise ValueError(f"model.json: unknown preprocessing step {kind!r}")
    return columns
