"""ironmage's Python worker: serves one MLflow pyfunc model to the Rust process that started it.

The Rust side runs `python -u -c <core subprocess/frames.py + this file>` and talks over
stdin/stdout with frames (read_frame, write_frame there): a 4-byte
big-endian length, then that many bytes of UTF-8 JSON. One request, one answer, in order:

  {"op": "init", "requirements": [spec, ...]}  -> {"op": "hello", python, mlflow, requirements}
  {"op": "load", "model_dir": path}             -> {"op": "loaded", ...} | {"op": "error", ...}
  {"op": "predict", "columns": [...], "rows": [[...], ...]}
                                                -> {"op": "result", "values": [...]}
                                                 | {"op": "error", "kind", "message", ...}
  {"op": "exit"}                                -> the process exits with status 0

End of input also ends the process, so a worker whose parent died goes away after its current
request. Everything the model prints goes to stderr: the protocol keeps private copies of the
original stdin and stdout, and fds 0 and 1 are pointed elsewhere before any model code runs.
"""

import math
import os
import re
import sys
import traceback

# `-c` puts the current directory first on sys.path: it must not shadow the model's packages.
if sys.path and sys.path[0] == "":
    sys.path.pop(0)


def traceback_summary(exc, frames=6):
    """The last frames of the traceback and the exception, short enough for a log line."""
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-frames)
    return "".join(lines).strip()


# ---- requirements -------------------------------------------------------------------------


def normalize(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_version(name):
    import importlib.metadata as metadata

    for candidate in (name, normalize(name), normalize(name).replace("-", "_")):
        try:
            return metadata.version(candidate)
        except Exception:
            continue
    return None


def check_requirement(spec):
    entry = {"spec": spec, "name": None, "installed": None, "status": "unchecked"}
    try:
        from packaging.requirements import Requirement
    except Exception:
        Requirement = None
    if Requirement is not None:
        try:
            req = Requirement(spec)
        except Exception:
            return entry
        entry["name"] = req.name
        if req.marker is not None:
            try:
                if not req.marker.evaluate():
                    entry["status"] = "not_applicable"
                    return entry
            except Exception:
                pass
        version = installed_version(req.name)
        entry["installed"] = version
        if version is None:
            entry["status"] = "missing"
        elif not req.specifier or req.specifier.contains(version, prereleases=True):
            entry["status"] = "satisfied"
        else:
            entry["status"] = "mismatched"
        return entry
    # Without `packaging` only presence and exact pins can be checked.
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(==\s*([^\s;,]+))?", spec)
    if not match:
        return entry
    entry["name"] = match.group(1)
    version = installed_version(match.group(1))
    entry["installed"] = version
    if version is None:
        entry["status"] = "missing"
    elif match.group(3) is None or match.group(3) == version:
        entry["status"] = "satisfied"
    else:
        entry["status"] = "mismatched"
    return entry


def hello(request):
    import platform

    return {
        "op": "hello",
        "pid": os.getpid(),
        "python": platform.python_version(),
        "executable": sys.executable,
        "mlflow": installed_version("mlflow"),
        "requirements": [check_requirement(s) for s in request.get("requirements", [])],
    }


# ---- loading ------------------------------------------------------------------------------


def load(request):
    import mlflow.pyfunc

    model = mlflow.pyfunc.load_model(request["model_dir"])
    metadata = model.metadata
    flavors = dict(metadata.flavors or {})
    schema = input_schema(model)
    direct = direct_predict(model, schema)
    schema_json = None
    if schema is not None:
        try:
            schema_json = schema.to_dict()
        except Exception:
            schema_json = None
    return Served(model, schema, direct), {
        "op": "loaded",
        "direct": direct is not None,
        "flavors": list(flavors),
        "loader_module": (flavors.get("python_function") or {}).get("loader_module"),
        "input_schema": schema_json,
        "mlflow": getattr(mlflow, "__version__", None),
    }


def input_schema(model):
    try:
        return model.metadata.get_input_schema()
    except Exception:
        return None


# Column types MLflow's schema check leaves alone when a column already has their dtype.
PLAIN_DTYPES = {"double": "float64", "float": "float32", "long": "int64", "integer": "int32", "boolean": "bool"}


class Served:
    """A loaded model, its input schema, and the direct way into it (see direct_predict)."""

    def __init__(self, model, schema, direct):
        self.model = model
        self.schema = schema
        self.direct = direct

    def predict(self, frame):
        if self.direct is not None:
            function, dtypes = self.direct
            if list(frame.columns) == list(dtypes) and all(
                str(frame[c].dtype) == t for c, t in dtypes.items()
            ):
                return function(frame)
        return self.model.predict(frame)


def direct_predict(model, schema):
    """The flavor's own predict function and the column dtypes it takes, when MLflow's schema
    check would have nothing to change: a signature of required, named columns of plain
    numeric or boolean types, no parameters, no type hints. Input that ironmage has already
    cast to exactly those columns and dtypes then skips the check, which costs more than a
    small model's prediction (about 1 ms a call for a scaler and a logistic regression);
    anything else goes through `model.predict` and the check as before."""
    try:
        function = getattr(model, "_predict_fn", None)
        metadata = model.metadata
        if function is None or schema is None or schema.is_tensor_spec():
            return None
        if metadata.get_params_schema() is not None or metadata._is_signature_from_type_hint():
            return None
        if getattr(metadata, "_is_type_hint_from_example", lambda: False)():
            return None
        dtypes = {}
        for spec in schema.inputs:
            name = getattr(spec, "name", None)
            type_name = getattr(getattr(spec, "type", None), "name", None)
            if name is None or getattr(spec, "required", True) is not True or type_name not in PLAIN_DTYPES:
                return None
            dtypes[name] = PLAIN_DTYPES[type_name]
        import inspect

        params = inspect.signature(function).parameters
        if any(p.default is inspect.Parameter.empty for p in list(params.values())[1:]
               if p.kind not in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)):
            return None
        return function, dtypes
    except Exception:
        return None


# ---- input --------------------------------------------------------------------------------


def integral(series):
    import numpy as np

    values = series.to_numpy()
    return bool(np.all(np.isfinite(values)) and np.all(np.mod(values, 1) == 0))


def cast_column(pd, column, type_name):
    """The column in the schema's type where that loses nothing; otherwise as it was, so that
    MLflow's own schema check names the problem."""
    kind = column.dtype.kind
    if str(column.dtype) == PLAIN_DTYPES.get(type_name):
        return column
    if type_name in ("double", "float"):
        target = "float64" if type_name == "double" else "float32"
        if kind in "iufb" or kind == "O":
            numeric = pd.to_numeric(column, errors="raise") if kind == "O" else column
            return numeric.astype(target)
    elif type_name in ("long", "integer"):
        target = "int64" if type_name == "long" else "int32"
        if kind in "iu":
            return column.astype(target)
        if kind == "f" and integral(column):
            return column.astype(target)
        if kind == "O":
            numeric = pd.to_numeric(column, errors="raise")
            if numeric.dtype.kind in "iu" or (numeric.dtype.kind == "f" and integral(numeric)):
                return numeric.astype(target)
    elif type_name == "boolean":
        if kind == "O" and all(isinstance(v, bool) for v in column):
            return column.astype(bool)
    elif type_name == "datetime":
        if kind in "OU":
            return pd.to_datetime(column)
    return column


def build_input(pd, schema, columns, rows):
    frame = pd.DataFrame(rows, columns=columns)
    if schema is None:
        return frame
    try:
        if schema.is_tensor_spec():
            return tensor_input(frame, schema)
    except Exception:
        return frame
    for spec in getattr(schema, "inputs", []):
        name = getattr(spec, "name", None)
        type_name = getattr(getattr(spec, "type", None), "name", None)
        if name is None or type_name is None or name not in frame.columns:
            continue
        try:
            column = frame[name]
            cast = cast_column(pd, column, type_name)
            # Replacing a column costs more than a small model's prediction: only when it changed.
            if cast is not column:
                frame[name] = cast
        except Exception:
            pass
    return frame


def tensor_input(frame, schema):
    """A single unnamed tensor input gets the rows as one array of its dtype; named tensors
    get a dict of column arrays."""
    import numpy as np

    inputs = schema.inputs
    if len(inputs) == 1 and inputs[0].name is None:
        return np.asarray(frame.to_numpy(), dtype=inputs[0].type)
    out = {}
    for spec in inputs:
        if spec.name in frame.columns:
            out[spec.name] = np.asarray(frame[spec.name].to_list(), dtype=spec.type)
    return out


# ---- output -------------------------------------------------------------------------------


def plain(value):
    """A JSON value for one output cell: NaN and infinities become null."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    import numpy as np

    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return plain(value.item())
    if isinstance(value, bytes):
        import base64

        return base64.b64encode(value).decode("ascii")
    try:
        import pandas as pd

        if value is pd.NaT or value is pd.NA:
            return None
        if isinstance(value, (pd.Timestamp, pd.Timedelta)):
            return value.isoformat()
    except Exception:
        pass
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "__float__"):
        return plain(float(value))
    return str(value)


def per_row(pd, output, n_rows):
    """One JSON value per input row: scalars for a Series, 1-D array or list; an object per
    row for a DataFrame (or a dict of equal-length columns); a list per row for 2-D arrays."""
    import numpy as np

    if isinstance(output, pd.DataFrame):
        columns = [str(c) for c in output.columns]
        values = [
            {c: plain(v) for c, v in zip(columns, row)}
            for row in output.itertuples(index=False, name=None)
        ]
    elif isinstance(output, pd.Series):
        values = [plain(v) for v in output.tolist()]
    elif isinstance(output, np.ndarray):
        if output.ndim == 0:
            values = [plain(output.item())]
        else:
            values = [plain(v) for v in output.tolist()]
    elif isinstance(output, (list, tuple)):
        values = [plain(v) for v in output]
    elif isinstance(output, dict):
        columns = {str(k): list(np.asarray(v).reshape(-1)) if not isinstance(v, list) else v
                   for k, v in output.items()}
        lengths = {len(v) for v in columns.values()}
        if lengths != {n_rows}:
            raise OutputError(
                f"the model returned a dict whose columns have lengths {sorted(lengths)} "
                f"for {n_rows} rows"
            )
        values = [{k: plain(v[i]) for k, v in columns.items()} for i in range(n_rows)]
    else:
        values = [plain(output)]
    if len(values) != n_rows:
        raise OutputError(
            f"the model returned {len(values)} values for {n_rows} rows "
            f"({type(output).__name__}); ironmage needs one per row"
        )
    return values


class OutputError(Exception):
    pass


def predict(pd, served, request):
    columns = request["columns"]
    rows = request["rows"]
    try:
        frame = build_input(pd, served.schema, columns, rows)
        output = served.predict(frame)
    except Exception as exc:
        return {
            "op": "error",
            "kind": "predict",
            "message": error_message(exc),
            "traceback": traceback_summary(exc),
        }
    try:
        return {"op": "result", "values": per_row(pd, output, len(rows))}
    except Exception as exc:
        return {
            "op": "error",
            "kind": "output",
            "message": error_message(exc),
            "traceback": traceback_summary(exc),
        }


# ---- main loop ----------------------------------------------------------------------------


def main():
    proto_in, proto_out = take_protocol_streams()
    served = None
    pd = None
    while True:
        request = read_frame(proto_in)
        if request is None:
            return 0
        op = request.get("op")
        if op == "predict" and served is not None:
            answer = predict(pd, served, request)
        elif op == "init":
            answer = hello(request)
        elif op == "load":
            try:
                import pandas

                pd = pandas
                served, answer = load(request)
            except Exception as exc:
                answer = {
                    "op": "error",
                    "kind": "load",
                    "message": error_message(exc),
                    "traceback": traceback_summary(exc),
                }
        elif op == "exit":
            return 0
        else:
            answer = {
                "op": "error",
                "kind": "protocol",
                "message": f"unexpected request {op!r}" + (" before load" if served is None else ""),
            }
        try:
            write_frame(proto_out, answer, allow_nan=False)
        except ValueError as exc:
            # Only a value json cannot encode gets here: answer with the reason instead.
            write_frame(proto_out, {"op": "error", "kind": "output", "message": error_message(exc)}, allow_nan=False)


if __name__ == "__main__":
    sys.exit(main())
