"""Saves MLflow models with the real libraries, for the Rust Python-worker tests.

Usage: make_pyfunc_models.py OUT_DIR

Writes, each an MLflow model folder under OUT_DIR:
- sk_logreg: scikit-learn Pipeline(StandardScaler, LogisticRegression), signature f0..f3 double;
- sk_forest: RandomForestRegressor on f0..f2 double and `count` long, with a signature;
- lgbm: a LightGBM regressor through mlflow.lightgbm (skipped when lightgbm is absent);
- frame: a pyfunc PythonModel returning a DataFrame (an object per row);
- echo: a pyfunc PythonModel that doubles `x`, prints to stdout (which must not break the
  protocol), raises ValueError on negative `x`, kills its process (os._exit) on x == 666 sleeps
  2 s on x == 7777, and on x == 8888 forks a child that outlives it (keeping its pipes
  open) and exits;
- sleepy: a pyfunc PythonModel that sleeps `seconds` before answering;
- strict: sk_logreg with a requirement no index has;
- bad_loader: an MLmodel whose loader module does not exist.

and OUT_DIR/expected.json: for each of the first four, the test rows and what
`mlflow.pyfunc.load_model(dir).predict(df)` answers on them, which the Rust side must reproduce.
Everything is seeded, so two runs write the same figures.
"""

import importlib
import json
import os
import shutil
import sys
import time
import warnings

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")
os.environ.setdefault("MLFLOW_TRACKING_URI", "file:///dev/null")

import mlflow  # noqa: E402
import mlflow.pyfunc  # noqa: E402
import mlflow.sklearn  # noqa: E402
import sklearn  # noqa: E402
from mlflow.models import infer_signature  # noqa: E402
from sklearn.ensemble import RandomForestRegressor  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

N_TEST = 50


def pins(*names):
    """Explicit requirements: MLflow would otherwise infer them in a subprocess, slowly."""
    import importlib.metadata as md

    return [f"{n}=={md.version(n)}" for n in names]


class EchoModel(mlflow.pyfunc.PythonModel):
    def load_context(self, context):
        print("echo model loading: this line goes to stdout")

    def predict(self, context, model_input, params=None):
        x = model_input["x"]
        print(f"echo model predicting {len(model_input)} rows")
        if (x == 666).any():
            os._exit(3)
        if (x == 7777).any():
            time.sleep(2)
        if (x == 8888).any():
            # A forked child keeps the worker's pipes open after the worker dies.
            if os.fork() == 0:
                time.sleep(5)
                os._exit(0)
            os._exit(4)
        if (x < 0).any():
            raise ValueError(f"x must not be negative, got {float(x.min())}")
        return x * 2


class SleepyModel(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        time.sleep(float(model_input["seconds"].max()))
        return model_input["seconds"]


class FrameModel(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return pd.DataFrame(
            {
                "total": model_input["a"] + model_input["b"],
                "label": np.where(model_input["a"] > model_input["b"], "a", "b"),
                "half": model_input["a"] / 2.0,
            }
        )


def expected_entry(path, frame):
    model = mlflow.pyfunc.load_model(path)
    output = model.predict(frame)
    if isinstance(output, pd.DataFrame):
        values = output.to_dict(orient="records")
    else:
        values = np.asarray(output).tolist()
    return {
        "columns": list(frame.columns),
        "rows": frame.astype(object).values.tolist(),
        "expected": values,
    }


def main():
    out = sys.argv[1]
    rng = np.random.default_rng(7)
    expected = {}

    # A classifier pipeline on four double columns.
    x = rng.normal(size=(400, 4))
    y = (x[:, 0] + 0.5 * x[:, 1] - x[:, 2] * x[:, 3] > 0).astype(np.int64)
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(4)])
    pipe = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())]).fit(frame, y)
    test = pd.DataFrame(rng.normal(size=(N_TEST, 4)) * 2, columns=frame.columns)
    path = os.path.join(out, "sk_logreg")
    mlflow.sklearn.save_model(
        pipe,
        path,
        signature=infer_signature(frame, pipe.predict(frame)),
        pip_requirements=pins("scikit-learn", "pandas", "numpy"),
    )
    expected["sk_logreg"] = expected_entry(path, test)

    # A regressor on three doubles and a long.
    x = rng.normal(size=(300, 3))
    count = rng.integers(0, 20, size=300)
    frame = pd.DataFrame(x, columns=["f0", "f1", "f2"])
    frame["count"] = count.astype(np.int64)
    target = x[:, 0] * 3 + np.sin(x[:, 1]) + count * 0.1
    forest = RandomForestRegressor(n_estimators=20, max_depth=6, random_state=0).fit(frame, target)
    test = pd.DataFrame(rng.normal(size=(N_TEST, 3)), columns=["f0", "f1", "f2"])
    test["count"] = rng.integers(0, 20, size=N_TEST).astype(np.int64)
    path = os.path.join(out, "sk_forest")
    mlflow.sklearn.save_model(
        forest,
        path,
        signature=infer_signature(frame, forest.predict(frame)),
        pip_requirements=pins("scikit-learn", "pandas", "numpy"),
        # MLflow saves with skops, which trusts no tree storage unless told.
        skops_trusted_types=["sklearn.tree._tree.Tree"],
    )
    expected["sk_forest"] = expected_entry(path, test)

    try:
        import lightgbm

        mlflow_lightgbm = importlib.import_module("mlflow.lightgbm")
    except ImportError:
        lightgbm = None
    if lightgbm is not None:
        x = rng.normal(size=(300, 3))
        frame = pd.DataFrame(x, columns=["a", "b", "c"])
        target = x[:, 0] - 2 * x[:, 1] + x[:, 2] ** 2
        booster = lightgbm.LGBMRegressor(n_estimators=30, num_leaves=8, verbose=-1, n_jobs=1)
        booster.fit(frame, target)
        test = pd.DataFrame(rng.normal(size=(N_TEST, 3)), columns=["a", "b", "c"])
        path = os.path.join(out, "lgbm")
        mlflow_lightgbm.save_model(
            booster,
            path,
            signature=infer_signature(frame, booster.predict(frame)),
            pip_requirements=pins("lightgbm", "pandas", "numpy"),
        )
        expected["lgbm"] = expected_entry(path, test)

    base = pins("pandas", "numpy", "cloudpickle")
    path = os.path.join(out, "frame")
    mlflow.pyfunc.save_model(path, python_model=FrameModel(), pip_requirements=base)
    test = pd.DataFrame({"a": rng.normal(size=N_TEST), "b": rng.normal(size=N_TEST)})
    expected["frame"] = expected_entry(path, test)

    mlflow.pyfunc.save_model(
        os.path.join(out, "echo"), python_model=EchoModel(), pip_requirements=base
    )
    mlflow.pyfunc.save_model(
        os.path.join(out, "sleepy"), python_model=SleepyModel(), pip_requirements=base
    )

    strict = os.path.join(out, "strict")
    shutil.copytree(os.path.join(out, "sk_logreg"), strict)
    with open(os.path.join(strict, "requirements.txt"), "a") as f:
        f.write("\nironmage-no-such-package==1.0.0\n")

    bad = os.path.join(out, "bad_loader")
    os.makedirs(bad)
    with open(os.path.join(bad, "MLmodel"), "w") as f:
        f.write(
            "flavors:\n  python_function:\n    loader_module: ironmage_no_such_module\n"
            "    python_version: 3.12.0\n    env: {virtualenv: python_env.yaml}\n"
        )

    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f)


if __name__ == "__main__":
    main()
