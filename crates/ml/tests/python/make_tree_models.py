"""Trains small LightGBM and XGBoost models and writes the libraries' own predictions.

    python make_tree_models.py OUT_DIR            test models (run by crates/ml/tests/tree_import)
    python make_tree_models.py --bench OUT_DIR    100-tree models and the libraries' timings

Test mode writes, for each case, the model file, `NAME.rows` (one row per line, values separated
by spaces, `nan` for missing) and `NAME.preds` (the outputs the Rust import must give: the value
of a regressor, every class's probability for a classifier, `1 - p p` for a binary one), and
`cases.tsv` (name, loader, model file). Rows are held-out data with NaNs and exact zeros, plus rows
probing every split threshold of the model: the threshold itself and its neighbours in f64 (and,
for XGBoost, in f32 and around the f32 rounding midpoints), NaN, zero, values within LightGBM's
zero band, and odd categories. Seeds are fixed: the same libraries give the same files.
"""

import json
import os
import sys
import time

import lightgbm as lgb
import numpy as np
import xgboost as xgb

SEED = 7
N_FEATURES = 6
NAMES = [f"feat_{i}" for i in range(N_FEATURES)]


def data(n, rng):
    x = np.empty((n, N_FEATURES))
    x[:, 0] = rng.normal(size=n)
    x[:, 1] = rng.uniform(size=n)
    x[:, 2] = rng.normal(size=n)
    x[rng.uniform(size=n) < 0.3, 2] = 0.0
    x[:, 3] = rng.integers(0, 8, size=n)
    x[:, 4] = rng.normal(size=n) * 100
    x[:, 5] = rng.normal(size=n)
    y = (
        2 * x[:, 1]
        + np.sin(x[:, 0])
        + 1.5 * np.isin(x[:, 3], [1, 3, 5])
        + 0.3 * x[:, 2]
        + 0.005 * x[:, 4]
        + 0.3 * rng.normal(size=n)
    )
    x[rng.uniform(size=n) < 0.15, 0] = np.nan
    x[rng.uniform(size=n) < 0.1, 2] = np.nan
    x[rng.uniform(size=n) < 0.05, 5] = np.nan
    return x, y


def labels(y):
    binary = (y > np.median(y)).astype(int)
    multi = np.digitize(y, np.quantile(y, [1 / 3, 2 / 3]))
    return binary, multi


def prev32(t):
    return np.nextafter(np.float32(t), np.float32(-np.inf))


def probe_rows(base, thresholds, f32):
    """Rows equal to `base` but for one feature set at or around a split threshold."""
    rows = []
    for f, t in thresholds:
        values = [t, np.nextafter(t, -np.inf), np.nextafter(t, np.inf)]
        if f32:
            t32 = np.float32(t)
            p = prev32(t32)
            if np.isfinite(p):
                mid = (float(p) + float(t32)) / 2
                values += [float(p), mid, np.nextafter(mid, -np.inf), np.nextafter(mid, np.inf)]
        for v in values:
            r = base.copy()
            r[f] = v
            rows.append(r)
    return rows


def special_rows(base, finite_f32=False):
    """Odd values of every feature; XGBoost refuses values that are infinite as f32."""
    rows = [np.full(N_FEATURES, np.nan), np.zeros(N_FEATURES), np.full(N_FEATURES, 3e38)]
    if not finite_f32:
        rows.append(np.full(N_FEATURES, 1e300))
    odd = [np.nan, 0.0, -0.0, 1e-36, -1e-36, 1e-35, -1e-35, 1.0000000180025095e-35,
           -1.0000000180025095e-35, 2e-35, -1.0, -0.5, 0.5, 2.7, 9.0, 40.0, 1e10, -1e10, 3.0,
           3.4e38, -3.4e38]
    if not finite_f32:
        odd += [np.inf, -np.inf, 1e300]
    for f in range(N_FEATURES):
        for v in odd:
            r = base.copy()
            r[f] = v
            rows.append(r)
    return rows


def lgb_thresholds(booster):
    out = []

    def walk(node):
        if "split_feature" not in node:
            return
        if node.get("decision_type") == "<=":
            out.append((node["split_feature"], float(node["threshold"])))
        walk(node["left_child"])
        walk(node["right_child"])

    for tree in booster.dump_model()["tree_info"]:
        walk(tree["tree_structure"])
    return sorted(set(out))[:: max(1, len(set(out)) // 60)]


def xgb_thresholds(path):
    with open(path) as fh:
        model = json.load(fh)
    out = set()
    for tree in model["learner"]["gradient_booster"]["model"]["trees"]:
        for i, left in enumerate(tree["left_children"]):
            if left != -1:
                out.add((tree["split_indices"][i], float(np.float32(tree["split_conditions"][i]))))
    out = sorted(out)
    return out[:: max(1, len(out) // 60)]


def write_rows(path, rows):
    with open(path, "w") as fh:
        for r in rows:
            fh.write(" ".join(repr(float(v)) for v in r) + "\n")


def outputs(pred, kind):
    pred = np.asarray(pred, dtype=np.float64)
    if kind == "binary":
        return np.stack([1.0 - pred, pred], axis=1)
    if pred.ndim == 1:
        return pred[:, None]
    return pred


def make_tests(out):
    rng = np.random.default_rng(SEED)
    x, y = data(2400, rng)
    binary, multi = labels(y)
    xtr, xte = x[:2000], x[2000:]
    base = np.nanmedian(xtr, axis=0)
    counts = rng.poisson(np.exp(0.5 * y - 0.5))[:2000]
    cases = []

    lgb_cases = {
        "lgb_regression": ({"objective": "regression"}, y[:2000], "reg", None),
        "lgb_binary": ({"objective": "binary"}, binary[:2000], "binary", None),
        "lgb_multiclass": ({"objective": "multiclass", "num_class": 3}, multi[:2000], "multi", None),
        "lgb_multiclassova": ({"objective": "multiclassova", "num_class": 3}, multi[:2000], "multi", None),
        "lgb_categorical": ({"objective": "binary", "min_data_per_group": 5, "cat_smooth": 1},
                            binary[:2000], "binary", [3]),
        "lgb_zero_as_missing": ({"objective": "regression", "zero_as_missing": True}, y[:2000], "reg", None),
        "lgb_no_missing": ({"objective": "regression", "use_missing": False}, y[:2000], "reg", None),
        "lgb_poisson": ({"objective": "poisson"}, counts, "reg", None),
        "lgb_rf": ({"objective": "regression", "boosting": "rf", "bagging_fraction": 0.7,
                    "bagging_freq": 1, "feature_fraction": 0.8}, y[:2000], "reg", None),
    }
    for name, (params, target, kind, cats) in lgb_cases.items():
        params = dict(params, num_leaves=15, learning_rate=0.2, verbose=-1, seed=SEED,
                      deterministic=True, num_threads=1)
        ds = lgb.Dataset(xtr, target, feature_name=NAMES,
                         categorical_feature=cats if cats else "auto")
        booster = lgb.train(params, ds, num_boost_round=30)
        path = os.path.join(out, name + ".txt")
        booster.save_model(path)
        rows = list(xte) + special_rows(base) + probe_rows(base, lgb_thresholds(booster), False)
        rows = np.array(rows)
        write_rows(os.path.join(out, name + ".rows"), rows)
        write_rows(os.path.join(out, name + ".preds"), outputs(booster.predict(rows), kind))
        cases.append((name, "lightgbm", name + ".txt"))

    xgb_cases = {
        "xgb_regression": ({"objective": "reg:squarederror"}, y[:2000], "reg", NAMES),
        "xgb_binary": ({"objective": "binary:logistic"}, binary[:2000], "binary", NAMES),
        "xgb_binary_unnamed": ({"objective": "binary:logistic", "max_depth": 6}, binary[:2000],
                               "binary", None),
        "xgb_multiclass": ({"objective": "multi:softprob", "num_class": 3}, multi[:2000], "multi", NAMES),
        "xgb_poisson": ({"objective": "count:poisson"}, counts, "reg", NAMES),
        "xgb_forest": ({"objective": "reg:squarederror", "num_parallel_tree": 4, "subsample": 0.7,
                        "colsample_bynode": 0.8}, y[:2000], "reg", NAMES),
    }
    for name, (params, target, kind, names) in xgb_cases.items():
        params = dict({"max_depth": 4, "eta": 0.3, "seed": SEED, "nthread": 1}, **params)
        dtrain = xgb.DMatrix(xtr, target, feature_names=names)
        booster = xgb.train(params, dtrain, num_boost_round=30)
        json_path = os.path.join(out, name + ".json")
        booster.save_model(json_path)
        booster.save_model(os.path.join(out, name + ".ubj"))
        rows = list(xte) + special_rows(base, True) + probe_rows(base, xgb_thresholds(json_path), True)
        rows = np.array(rows)
        pred = booster.predict(xgb.DMatrix(rows, feature_names=names))
        write_rows(os.path.join(out, name + ".rows"), rows)
        write_rows(os.path.join(out, name + ".preds"), outputs(pred, kind))
        cases.append((name, "xgboost_json", name + ".json"))
        cases.append((name, "xgboost_ubj", name + ".ubj"))

    # models the import must refuse, with a word its message must contain
    refusals = []
    dart = xgb.train({"booster": "dart", "max_depth": 2, "seed": SEED, "nthread": 1},
                     xgb.DMatrix(xtr, y[:2000]), num_boost_round=3)
    dart.save_model(os.path.join(out, "refuse_dart.json"))
    refusals.append(("refuse_dart.json", "dart"))
    linear = xgb.train({"booster": "gblinear", "seed": SEED, "nthread": 1},
                       xgb.DMatrix(np.nan_to_num(xtr), y[:2000]), num_boost_round=3)
    linear.save_model(os.path.join(out, "refuse_gblinear.ubj"))
    refusals.append(("refuse_gblinear.ubj", "gblinear"))
    import pandas as pd

    frame = pd.DataFrame(xtr, columns=NAMES)
    frame["feat_3"] = frame["feat_3"].astype(int).astype("category")
    cat = xgb.train({"max_depth": 3, "seed": SEED, "nthread": 1, "max_cat_to_onehot": 1},
                    xgb.DMatrix(frame, y[:2000], enable_categorical=True), num_boost_round=3)
    cat.save_model(os.path.join(out, "refuse_categorical.json"))
    refusals.append(("refuse_categorical.json", "feat_3"))
    lin = lgb.train({"objective": "regression", "linear_tree": True, "verbose": -1, "seed": SEED},
                    lgb.Dataset(np.nan_to_num(xtr), y[:2000]), num_boost_round=3)
    lin.save_model(os.path.join(out, "refuse_linear.txt"))
    refusals.append(("refuse_linear.txt", "linear"))
    with open(os.path.join(out, "refusals.tsv"), "w") as fh:
        for r in refusals:
            fh.write("\t".join(r) + "\n")

    with open(os.path.join(out, "cases.tsv"), "w") as fh:
        for c in cases:
            fh.write("\t".join(c) + "\n")
    print(f"lightgbm {lgb.__version__}, xgboost {xgb.__version__}: {len(cases)} cases in {out}")


def timed(fn, min_seconds=1.0):
    """Seconds per call of `fn`: the best of 5 runs of enough calls to last `min_seconds`."""
    fn()
    n = 1
    while True:
        t = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t
        if dt >= min_seconds / 5:
            break
        n *= 2
    best = dt / n
    for _ in range(4):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t) / n)
    return best


def make_bench(out):
    rng = np.random.default_rng(SEED)
    n, d = 20000, 20
    x = rng.normal(size=(n, d))
    x[rng.uniform(size=(n, d)) < 0.05] = np.nan
    y = (np.nansum(x[:, :5], axis=1) + 0.5 * rng.normal(size=n) > 0).astype(int)
    batch = x[:10000]
    row = x[10000:10001]
    write_rows(os.path.join(out, "batch.rows"), batch)
    booster = lgb.train({"objective": "binary", "num_leaves": 31, "verbose": -1, "seed": SEED},
                        lgb.Dataset(x, y), num_boost_round=100)
    booster.save_model(os.path.join(out, "lightgbm.txt"))
    dx = xgb.train({"objective": "binary:logistic", "max_depth": 6, "seed": SEED},
                   xgb.DMatrix(x, y), num_boost_round=100)
    dx.save_model(os.path.join(out, "xgboost.json"))
    results = {
        "lightgbm": (timed(lambda: booster.predict(row)), timed(lambda: booster.predict(batch))),
        "xgboost": (timed(lambda: dx.inplace_predict(row)), timed(lambda: dx.inplace_predict(batch))),
    }
    for lib, (one, many) in results.items():
        print(f"{lib:9} python  1 row: {one * 1e6:9.1f} µs   10k-row batch: "
              f"{len(batch) / many:12.0f} rows/s")
    with open(os.path.join(out, "lightgbm.preds"), "w") as fh:
        fh.write("\n".join(repr(float(v)) for v in booster.predict(batch)) + "\n")
    with open(os.path.join(out, "xgboost.preds"), "w") as fh:
        fh.write("\n".join(repr(float(v)) for v in dx.inplace_predict(batch)) + "\n")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--bench":
        make_bench(sys.argv[2])
    elif len(sys.argv) == 2:
        make_tests(sys.argv[1])
    else:
        sys.exit(__doc__)
