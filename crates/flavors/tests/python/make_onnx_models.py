"""Converts small scikit-learn models to ONNX with skl2onnx, for the Rust ONNX scoring tests.

Usage: make_onnx_models.py OUT_DIR [--bench]

Writes OUT_DIR/<case>.onnx for each case, and OUT_DIR/cases.json: for each case its test rows
and what scikit-learn itself predicts on them (predict, and predict_proba for classifiers), which
the Rust side must reproduce. Everything is seeded, so two runs write the same figures.

Also writes models the Rust side must refuse: one with two inputs, one with an operator tract
does not implement (SVMClassifier), and a double-input linear regression that must be accepted
and scored in f64.

With --bench, writes only OUT_DIR/bench_rf100.onnx, a 100-tree RandomForestClassifier for the
scoring benchmark, and OUT_DIR/bench.json with scikit-learn's own timings on the same shapes.
"""

import json
import os
import sys
import time
import warnings

import numpy as np
from onnx import TensorProto, helper
from skl2onnx import to_onnx
from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

N_FEATURES = 6
N_TEST = 40


def float32_rows(x):
    """Rows that survive a round trip through float32 unchanged, as the models score float32."""
    return np.asarray(x, dtype=np.float32).astype(np.float64)


def classification(n_classes, seed):
    x, y = make_classification(
        n_samples=400,
        n_features=N_FEATURES,
        n_informative=4,
        n_redundant=1,
        n_classes=n_classes,
        n_clusters_per_class=1,
        random_state=seed,
    )
    return float32_rows(x), y


def regression(seed):
    x, y = make_regression(
        n_samples=400, n_features=N_FEATURES, n_informative=4, noise=0.1, random_state=seed
    )
    # A target of order 1 keeps float32 rounding far below the tests' tolerance.
    return float32_rows(x), y / np.abs(y).max()


def write_model(out_dir, name, onx):
    with open(os.path.join(out_dir, name + ".onnx"), "wb") as f:
        f.write(onx.SerializeToString())


def classifier_case(out_dir, name, model, x, y, zipmap, labels=None):
    if labels is not None:
        y = np.asarray(labels)[y]
    x_train, x_test = x[:-N_TEST], x[-N_TEST:]
    model.fit(x_train, y[:-N_TEST])
    options = None if zipmap else {id(model): {"zipmap": False}}
    onx = to_onnx(
        model,
        initial_types=[("input", FloatTensorType([None, N_FEATURES]))],
        options=options,
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    write_model(out_dir, name, onx)
    classes = model.classes_.tolist()
    return {
        "name": name,
        "kind": "classifier",
        "zipmap": zipmap,
        "n_features": N_FEATURES,
        "classes": [c if isinstance(c, str) else int(c) for c in classes],
        "rows": x_test.tolist(),
        "labels": [c if isinstance(c, str) else int(c) for c in model.predict(x_test).tolist()],
        "probabilities": model.predict_proba(x_test).tolist(),
    }


def regressor_case(out_dir, name, model, x, y):
    x_train, x_test = x[:-N_TEST], x[-N_TEST:]
    model.fit(x_train, y[:-N_TEST])
    onx = to_onnx(
        model,
        initial_types=[("input", FloatTensorType([None, N_FEATURES]))],
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    write_model(out_dir, name, onx)
    return {
        "name": name,
        "kind": "regressor",
        "zipmap": False,
        "n_features": N_FEATURES,
        "classes": [],
        "rows": x_test.tolist(),
        "values": model.predict(x_test).tolist(),
    }


def refused_models(out_dir):
    # Two inputs, as skl2onnx makes for a model over per-column inputs.
    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, [None, 2])
    b = helper.make_tensor_value_info("b", TensorProto.FLOAT, [None, 2])
    out = helper.make_tensor_value_info("sum", TensorProto.FLOAT, [None, 2])
    graph = helper.make_graph([helper.make_node("Add", ["a", "b"], ["sum"])], "two", [a, b], [out])
    two = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    write_model(out_dir, "refused_two_inputs", two)

    # An operator tract does not implement: skl2onnx converts SVC to SVMClassifier.
    x, y = classification(2, seed=11)
    svc = SVC(probability=False, random_state=0).fit(x, y)
    onx = to_onnx(
        svc,
        initial_types=[("input", FloatTensorType([None, N_FEATURES]))],
        options={id(svc): {"zipmap": False}},
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    write_model(out_dir, "refused_svm", onx)


def double_case(out_dir):
    x, y = regression(seed=12)
    x_train, x_test = x[:-N_TEST], x[-N_TEST:]
    model = LinearRegression().fit(x_train, y[:-N_TEST])
    onx = to_onnx(
        model,
        initial_types=[("input", DoubleTensorType([None, N_FEATURES]))],
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    write_model(out_dir, "double_linear_regression", onx)
    return {
        "name": "double_linear_regression",
        "kind": "regressor",
        "zipmap": False,
        "n_features": N_FEATURES,
        "classes": [],
        "rows": x_test.tolist(),
        "values": model.predict(x_test).tolist(),
    }


def bench(out_dir):
    x, y = make_classification(
        n_samples=5000, n_features=20, n_informative=10, n_classes=3, random_state=7
    )
    x = float32_rows(x)
    model = RandomForestClassifier(n_estimators=100, random_state=0, n_jobs=1).fit(x, y)
    onx = to_onnx(
        model,
        initial_types=[("input", FloatTensorType([None, 20]))],
        options={id(model): {"zipmap": False}},
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    write_model(out_dir, "bench_rf100", onx)
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(10_000, 20))
    model.predict_proba(rows[:1])
    n = 200
    started = time.perf_counter()
    for i in range(n):
        model.predict_proba(rows[i : i + 1])
    single = (time.perf_counter() - started) / n
    started = time.perf_counter()
    model.predict_proba(rows)
    batch = time.perf_counter() - started
    with open(os.path.join(out_dir, "bench.json"), "w") as f:
        json.dump({"sklearn_single_row_s": single, "sklearn_10k_batch_s": batch}, f)


def main():
    warnings.filterwarnings("ignore")
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    if "--bench" in sys.argv[2:]:
        bench(out_dir)
        return
    cases = []
    for zipmap in (False, True):
        suffix = "_zipmap" if zipmap else ""
        x2, y2 = classification(2, seed=1)
        x3, y3 = classification(3, seed=2)
        cases.append(
            classifier_case(
                out_dir,
                "rf_binary" + suffix,
                RandomForestClassifier(n_estimators=20, max_depth=6, random_state=0),
                x2,
                y2,
                zipmap,
            )
        )
        cases.append(
            classifier_case(
                out_dir,
                "rf_multiclass" + suffix,
                RandomForestClassifier(n_estimators=20, max_depth=6, random_state=0),
                x3,
                y3,
                zipmap,
            )
        )
        cases.append(
            classifier_case(
                out_dir,
                "rf_multiclass_strings" + suffix,
                RandomForestClassifier(n_estimators=20, max_depth=6, random_state=0),
                x3,
                y3,
                zipmap,
                labels=["bird", "cat", "dog"],
            )
        )
        cases.append(
            classifier_case(
                out_dir,
                "gb_binary" + suffix,
                GradientBoostingClassifier(n_estimators=30, max_depth=3, random_state=0),
                x2,
                y2,
                zipmap,
            )
        )
        cases.append(
            classifier_case(
                out_dir,
                "gb_multiclass" + suffix,
                GradientBoostingClassifier(n_estimators=30, max_depth=3, random_state=0),
                x3,
                y3,
                zipmap,
            )
        )
        cases.append(
            classifier_case(
                out_dir,
                "logreg_binary" + suffix,
                LogisticRegression(max_iter=1000),
                x2,
                y2,
                zipmap,
            )
        )
        cases.append(
            classifier_case(
                out_dir,
                "logreg_multiclass" + suffix,
                LogisticRegression(max_iter=1000),
                x3,
                y3,
                zipmap,
            )
        )
        cases.append(
            classifier_case(
                out_dir,
                "pipeline_scaler_rf" + suffix,
                Pipeline(
                    [
                        ("scale", StandardScaler()),
                        ("rf", RandomForestClassifier(n_estimators=20, max_depth=6, random_state=0)),
                    ]
                ),
                x3,
                y3,
                zipmap,
            )
        )
        cases.append(
            classifier_case(
                out_dir,
                "pipeline_scaler_logreg" + suffix,
                Pipeline([("scale", StandardScaler()), ("lr", LogisticRegression(max_iter=1000))]),
                x2,
                y2,
                zipmap,
            )
        )
    xr, yr = regression(seed=3)
    cases.append(
        regressor_case(
            out_dir,
            "rf_regressor",
            RandomForestRegressor(n_estimators=20, max_depth=6, random_state=0),
            xr,
            yr,
        )
    )
    cases.append(
        regressor_case(
            out_dir,
            "gb_regressor",
            GradientBoostingRegressor(n_estimators=30, max_depth=3, random_state=0),
            xr,
            yr,
        )
    )
    cases.append(double_case(out_dir))
    refused_models(out_dir)
    with open(os.path.join(out_dir, "cases.json"), "w") as f:
        json.dump(cases, f)


if __name__ == "__main__":
    main()
