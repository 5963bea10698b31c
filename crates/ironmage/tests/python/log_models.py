"""Train small models with the real libraries and log them through the official mlflow client
to an ironmage server, as a team's training scripts do; register each, move it to Production,
and write what the libraries themselves predict for a few rows, for the serving test to compare.

usage: log_models.py TRACKING_URI OUT_JSON [NAME_PREFIX]
"""

import json
import sys
import warnings

import lightgbm as lgb
import mlflow
import numpy as np
import pandas as pd
import xgboost as xgb
from mlflow import MlflowClient
from skl2onnx import to_onnx
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

warnings.filterwarnings("ignore")

uri, out = sys.argv[1], sys.argv[2]
prefix = sys.argv[3] if len(sys.argv) > 3 else ""
mlflow.set_tracking_uri(uri)
mlflow.set_experiment("serving-flavors")
client = MlflowClient()

# Seed 002's column names, one with a hyphen that clients send with an underscore.
COLUMNS = ["NumberOfTime30-59DaysPastDueNotWorse", "age", "DebtRatio", "MonthlyIncome"]
rng = np.random.default_rng(0)
X = pd.DataFrame(rng.normal(size=(400, 4)), columns=COLUMNS)
X["age"] = (X["age"] * 10 + 45).round()
y = ((X[COLUMNS[0]] + 0.5 * X["DebtRatio"] + rng.normal(scale=0.5, size=400)) > 0).astype(int)
test = X.iloc[:16]
result = {}


def promote(name):
    version = max(int(v.version) for v in client.search_model_versions(f"name='{name}'"))
    client.transition_model_version_stage(name, str(version), "Production")
    return version


def record(name, expected, probabilities=None, tensor=False):
    result[name] = {
        "version": promote(name),
        "rows": test.to_dict(orient="records"),
        "matrix": test.to_numpy().tolist(),
        "tensor": tensor,
        "expected": [e.item() if hasattr(e, "item") else e for e in expected],
        "probabilities": None if probabilities is None else np.asarray(probabilities).tolist(),
    }


# A scikit-learn pipeline: served through Python workers (pyfunc).
name = prefix + "sk-pipeline"
pipe = Pipeline([("scale", StandardScaler()), ("model", LogisticRegression())]).fit(X, y)
with mlflow.start_run():
    mlflow.sklearn.log_model(pipe, name="model", input_example=X.head(3), registered_model_name=name)
loaded = mlflow.pyfunc.load_model(f"models:/{name}/1")
record(name, loaded.predict(test))

# A random forest converted to ONNX: served natively by tract.
name = prefix + "sk-onnx"
forest = RandomForestClassifier(n_estimators=20, max_depth=5, random_state=0).fit(X.to_numpy(), y)
onx = to_onnx(forest, X.to_numpy()[:1].astype(np.float32), options={"zipmap": False})
with mlflow.start_run():
    mlflow.onnx.log_model(onx, name="model", input_example=X.head(3).to_numpy().astype(np.float32), registered_model_name=name)
record(name, forest.predict(test.to_numpy().astype(np.float32)), forest.predict_proba(test.to_numpy().astype(np.float32)), tensor=True)

# A LightGBM booster: its text model is read into ironmage's tree evaluator.
name = prefix + "lgb-booster"
booster = lgb.train(
    {"objective": "binary", "num_leaves": 8, "verbose": -1, "seed": 0},
    lgb.Dataset(X.rename(columns=lambda c: c.replace("-", "_")), label=y),
    num_boost_round=20,
)
Xl = X.rename(columns=lambda c: c.replace("-", "_"))
with mlflow.start_run():
    mlflow.lightgbm.log_model(booster, name="model", input_example=Xl.head(3), registered_model_name=name)
p1 = booster.predict(Xl.iloc[:16])
record(name, (p1 > 0.5).astype(int), np.column_stack([1 - p1, p1]))
result[name]["rows"] = Xl.iloc[:16].to_dict(orient="records")

# An XGBoost classifier (scikit-learn API): its UBJSON model is read natively too.
name = prefix + "xgb-classifier"
clf = xgb.XGBClassifier(n_estimators=20, max_depth=3, random_state=0).fit(X, y)
with mlflow.start_run():
    mlflow.xgboost.log_model(clf, name="model", input_example=X.head(3), registered_model_name=name)
record(name, clf.predict(test), clf.predict_proba(test))

with open(out, "w") as f:
    json.dump(result, f)
