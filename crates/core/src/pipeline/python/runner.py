"""ironmage's Python block runner: runs Mage-style block files for the Rust process that started it.

The Rust side runs `python -u -c <core subprocess/frames.py + this file>` in the project folder and talks over stdin/stdout
with frames: a 4-byte big-endian length, then that many bytes of UTF-8 JSON. One request at a
time; a `run` is answered by any number of `log` frames, then `done` or `error`:

  {"op": "hello"}  -> {"op": "hello", pid, python, executable, pandas, pyarrow, packages}
                    | {"op": "error", "kind": "missing", "message"}
  {"op": "run", "file", "block", "inputs": [arrow path, ...], "output": arrow path,
   "model_dir": folder | null, "kwargs": {...}, "execution_date": iso,
   "callback": "success" | "failure" (a callback block), "sensor": true (a sensor block),
   "items": [input index, ...] (inputs that are a dynamic block's item: a dict or a value)}
                   -> {"op": "log", "line"} ...
                      {"op": "done", "function", "decorator", "output": bool, "rows", "tests",
                       "model": null | {"flavor", "class", "task", "metrics", "params",
                                        "features", "importances", "mlflow"}}
                    | {"op": "error", "kind": "file" | "block" | "test" | "output" | "model",
                       "message", "traceback"}

A callback run calls the file's `@callback(status)` (`@on_success`, `@on_failure`) functions
for the parent's outcome, or its block function when it has no callback function; a sensor run
calls its `@sensor` function and answers `done` with `"value": bool`.

`model_dir` is set when a block downstream takes a model: the block must then return a fitted
model (anything with `predict`), or a dict `{"model": ..., "metrics": {...}, "params": {...},
"input_example": DataFrame}`, which is saved there as an MLflow model folder.
  {"op": "exit"}   -> the process exits with status 0

A block file is executed the way Mage executes it: the decorators (`data_loader`, `transformer`,
`data_exporter`, `custom`, `test`, ...) are in its globals before it runs, so Mage's guard
`if 'data_loader' not in globals(): from mage_ai... import data_loader` never imports mage_ai.
Upstream outputs are the positional arguments (pandas DataFrames), variables the keyword
arguments. What block code prints goes to the block's log; the protocol keeps private copies
of the original stdin and stdout, and fds 0 and 1 are pointed elsewhere before any block runs.
End of input ends the process, so a runner whose parent died goes away.
"""

import datetime
import faulthandler
import inspect
import logging
import math
import os
import sys
import time
import traceback

# `-c` puts the current directory first on sys.path; the project folder (the current
# directory, where Mage projects import their own helper modules from) goes there explicitly.
if sys.path and sys.path[0] == "":
    sys.path.pop(0)
sys.path.insert(0, os.getcwd())
# A crash in native code prints the Python stack to stderr, which the Rust side quotes.
faulthandler.enable()

RUNNER_FILE = "<string>"

# The block kinds a file may declare, as Mage names them; `test` functions are checked after.
BLOCK_DECORATORS = ("data_loader", "transformer", "data_exporter", "custom")
# Mage decorators a block file may import but that ironmage does not run (yet): a file of only
# these has no block function and fails saying so.
OTHER_DECORATORS = (
    "condition", "extension", "configuration",
    "data_source", "xy", "x", "y", "render", "columns", "preprocesser_functions",
)


# What a model-returning block may put in the dict it returns, besides `model`.
MODEL_KEYS = ("model", "metrics", "params", "input_example")
# Libraries with an MLflow flavor of their own; any other model is pickled by mlflow.sklearn,
# which saves whatever has `predict` (the pyfunc flavor calls it).
OWN_FLAVORS = {"lightgbm": "lightgbm", "xgboost": "xgboost"}


def class_name(value):
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}"


def model_parts(output, function):
    """`{"model", "metrics", "params", "input_example"}` from what a model block returned: the
    model alone, or a dict holding it under `model`."""
    usage = ("return a fitted model (an object with a predict method), or a dict "
             "{'model': model, 'metrics': {...}, 'params': {...}}")
    if isinstance(output, dict):
        if "model" not in output:
            raise BlockFailure("model", f"{function}() returned a dict without a 'model' key "
                               f"(keys: {sorted(map(str, output))}): {usage}")
        unknown = sorted(str(k) for k in output if k not in MODEL_KEYS)
        if unknown:
            raise BlockFailure("model", f"{function}() returned unknown keys {unknown} "
                               f"(known: {list(MODEL_KEYS)})")
        parts = dict(output)
    else:
        parts = {"model": output}
    model = parts["model"]
    if not callable(getattr(model, "predict", None)) or isinstance(model, type):
        what = "None" if model is None else f"a {type(model).__name__}"
        raise BlockFailure("model", f"{function}() returned {what}, which is not a model, and "
                           f"a block downstream takes one: {usage}")
    for key in ("metrics", "params"):
        value = parts.get(key)
        if value is None:
            continue
        if not isinstance(value, dict):
            raise BlockFailure("model", f"'{key}' must be a dict of names to values, "
                               f"not a {type(value).__name__}")
        parts[key] = {str(k): json_value(v, f"{key}[{k!r}]") for k, v in value.items()}
    for name, value in (parts.get("metrics") or {}).items():
        if not isinstance(value, (int, float, dict)) or isinstance(value, bool):
            raise BlockFailure("model", f"metric {name!r} is {value!r}: metrics are numbers "
                               "(or a dict of numbers, such as feature importances)")
    return parts


def json_value(value, where):
    """Numpy scalars and arrays as plain JSON values; anything else must already be one."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, dict):
        return {str(k): json_value(v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_value(v, where) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        if isinstance(value, float) and not math.isfinite(value):
            raise BlockFailure("model", f"{where} is {value}: give a finite number")
        return value
    raise BlockFailure("model", f"{where} is a {type(value).__name__}: give numbers, text, "
                       "booleans, lists or dicts")


def flavor_of(model):
    """The MLflow flavor for the library the model's class comes from."""
    library = type(model).__module__.split(".")[0]
    return OWN_FLAVORS.get(library, "sklearn")


def sklearn_options(mlflow, model):
    """MLflow 3 saves scikit-learn models with skops, which refuses to load any type not listed
    as trusted (a forest's tree storage, numpy dtypes): the block's author made this model, so
    the types it holds are trusted. An object skops cannot write is cloudpickled instead."""
    if "skops_trusted_types" not in inspect.signature(mlflow.sklearn.save_model).parameters:
        return {}
    try:
        import skops.io

        return {"skops_trusted_types": skops.io.get_untrusted_types(data=skops.io.dumps(model))}
    except Exception:
        return {"serialization_format": mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE}


def final_step(model):
    """The estimator at the end of a scikit-learn Pipeline; the model itself otherwise."""
    steps = getattr(model, "steps", None)
    if isinstance(steps, list) and steps and isinstance(steps[-1], tuple):
        return steps[-1][-1]
    return model


def task_of(model):
    if getattr(model, "_estimator_type", None) == "regressor":
        return "regression"
    if callable(getattr(model, "predict_proba", None)):
        return "classification"
    return "regression"


def feature_names(model):
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        names = getattr(final_step(model), "feature_names_in_", None)
    return [str(n) for n in names] if names is not None else []


def importances(model, features):
    values = getattr(final_step(model), "feature_importances_", None)
    if values is None or len(values) != len(features):
        return []
    return [[name, float(v)] for name, v in zip(features, values)]


def hyperparameters(model):
    """What the estimator was built with (its scalar `get_params`), when the block logs none."""
    get = getattr(model, "get_params", None)
    if not callable(get):
        return {}
    try:
        params = get(deep=False)
    except Exception:
        return {}
    return {str(k): v for k, v in params.items()
            if v is None or isinstance(v, (bool, int, float, str))}


class io_capture:
    """What a library prints to stdout/stderr while saving (MLflow warnings), kept as lines."""

    def __init__(self):
        import io

        self.buffer = io.StringIO()

    def __enter__(self):
        self.saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = self.buffer
        logging.getLogger("mlflow").addHandler(self.handler())
        return self

    def handler(self):
        self._handler = logging.StreamHandler(self.buffer)
        return self._handler

    def __exit__(self, *exc):
        sys.stdout, sys.stderr = self.saved
        logging.getLogger("mlflow").removeHandler(self._handler)
        return False

    def lines(self):
        return [line for line in self.buffer.getvalue().splitlines() if line.strip()]


def user_traceback(exc):
    """The traceback without the runner's own frames: it starts in the block file."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != RUNNER_FILE]
    lines = ["Traceback (most recent call last):\n"]
    lines += traceback.format_list(frames)
    lines += traceback.format_exception_only(type(exc), exc)
    return "".join(lines).rstrip()


class BlockFailure(Exception):
    """Why the block failed, already in words: `kind` as in the protocol."""

    def __init__(self, kind, message, tb=None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.traceback = tb


class LogStream:
    """A text stream whose complete lines become `log` frames (print() in block code)."""

    def __init__(self, send):
        self.send = send
        self.pending = ""

    def write(self, text):
        self.pending += text
        while "\n" in self.pending:
            line, self.pending = self.pending.split("\n", 1)
            self.send(line)
        return len(text)

    def flush(self):
        if self.pending:
            self.send(self.pending)
            self.pending = ""

    def isatty(self):
        return False


class Decorators:
    """The decorators a block file finds in its globals; they collect what they decorate."""

    def __init__(self):
        self.blocks = []
        self.tests = []
        self.sensors = []
        # (status, function): `success` or `failure`.
        self.callbacks = []

    def globals(self):
        names = {}
        for kind in BLOCK_DECORATORS:
            names[kind] = self.collect(kind)
        names["test"] = self.collect_test
        names["sensor"] = self.collect_sensor
        names["callback"] = self.callback
        names["on_success"] = self.collect_callback("success")
        names["on_failure"] = self.collect_callback("failure")
        for kind in OTHER_DECORATORS:
            names[kind] = lambda function: function
        return names

    def collect_sensor(self, function):
        self.sensors.append(function)
        return function

    def collect_callback(self, status):
        def decorator(function):
            self.callbacks.append((status, function))
            return function

        return decorator

    def callback(self, status="success"):
        """Mage's `@callback('success')` / `@callback('failure')`; a bare `@callback` is
        a success callback."""
        if callable(status):
            return self.collect_callback("success")(status)
        return self.collect_callback(str(status))

    def collect(self, kind):
        def decorator(function):
            self.blocks.append((kind, function))
            return function

        return decorator

    def collect_test(self, function):
        self.tests.append(function)
        return function


def as_item(frame):
    """A dynamic block's item as Mage hands it to a child block: its one row as a dict, or
    the value itself when the dynamic block returned a list of plain values (pandas names that
    column 0)."""
    records = frame.to_dict("records")
    if len(records) != 1:
        return frame
    item = records[0]
    return item["0"] if list(item) == ["0"] else item


def call(function, args, kwargs):
    """Call as Mage does, fitting the signature: extra positionals and keywords are dropped
    when the function takes no *args or **kwargs (`def load_data():` is a valid block)."""
    params = inspect.signature(function).parameters.values()
    if not any(p.kind == p.VAR_POSITIONAL for p in params):
        positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        args = args[: len(positional)]
    if not any(p.kind == p.VAR_KEYWORD for p in params):
        names = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        taken = {p.name for p in list(params)[: len(args)]}
        kwargs = {k: v for k, v in kwargs.items() if k in names and k not in taken}
    return function(*args, **kwargs)


def installed_packages():
    """Every installed distribution, name -> version: the run's environment, recorded on the run
    and on the versions it registers."""
    import importlib.metadata

    packages = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"] if dist.metadata else None
        if name:
            packages.setdefault(name, dist.version)
    return packages


class Runner:
    def __init__(self, proto_in, proto_out):
        self.proto_in = proto_in
        self.proto_out = proto_out
        self.pa = None
        self.pd = None

    def send(self, message):
        write_frame(self.proto_out, message, default=str)

    def log(self, line):
        self.send({"op": "log", "line": line})

    def hello(self):
        missing = []
        try:
            import pandas
            self.pd = pandas
        except ImportError as e:
            missing.append(f"pandas ({e})")
        try:
            import pyarrow
            import pyarrow.ipc  # noqa: F401
            self.pa = pyarrow
        except ImportError as e:
            missing.append(f"pyarrow ({e})")
        if missing:
            return {"op": "error", "kind": "missing", "message": "; ".join(missing)}
        return {
            "op": "hello",
            "pid": os.getpid(),
            "python": sys.version.split()[0],
            "executable": sys.executable,
            "pandas": self.pd.__version__,
            "pyarrow": self.pa.__version__,
            "packages": installed_packages(),
        }

    def read_input(self, path):
        with self.pa.memory_map(path, "r") as source:
            table = self.pa.ipc.open_file(source).read_all()
        return table, table.to_pandas()

    def run(self, request):
        started = time.perf_counter()
        inputs = [self.read_input(path) for path in request["inputs"]]
        read_seconds = time.perf_counter() - started
        input_types = {}
        for table, _ in inputs:
            for field in table.schema:
                input_types.setdefault(field.name, field.type)
        args = [frame for _, frame in inputs]
        for i in request.get("items") or []:
            if 0 <= i < len(args):
                args[i] = as_item(args[i])
        kwargs = dict(request.get("kwargs") or {})
        if request.get("execution_date"):
            kwargs["execution_date"] = datetime.datetime.fromisoformat(request["execution_date"])
        logger = logging.getLogger(f"ironmage.block.{request['block']}")
        kwargs["logger"] = logger

        decorators = Decorators()
        path = request["file"]
        module = {"__name__": f"ironmage_block_{request['block']}", "__file__": path,
                  "__builtins__": __builtins__}
        module.update(decorators.globals())
        log_stream = LogStream(self.log)
        handler = logging.StreamHandler(log_stream)
        handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
        logger.handlers = [handler]
        logger.setLevel(logging.INFO)
        logger.propagate = False
        saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = log_stream
        try:
            try:
                with open(path, encoding="utf-8") as f:
                    code = compile(f.read(), path, "exec")
                exec(code, module)
            except Exception as e:
                raise BlockFailure("file", f"{os.path.basename(path)}: {error_message(e)}",
                                   user_traceback(e)) from None
            if request.get("sensor"):
                return self.run_sensor(decorators, path, args, kwargs, started, read_seconds)
            if request.get("callback") and decorators.callbacks:
                return self.run_callbacks(decorators, request["callback"], args, kwargs, started,
                                          read_seconds)
            if not decorators.blocks:
                raise BlockFailure(
                    "file",
                    f"{os.path.basename(path)} has no function decorated with "
                    + ", ".join(f"@{d}" for d in BLOCK_DECORATORS),
                )
            kind, function = decorators.blocks[0]
            if len(decorators.blocks) > 1:
                print(f"several block functions; running the first one, {function.__name__}")
            try:
                output = call(function, args, kwargs)
            except Exception as e:
                raise BlockFailure("block", f"{function.__name__}: {error_message(e)}",
                                   user_traceback(e)) from None
            for test in decorators.tests:
                try:
                    call(test, [output, *args], kwargs)
                except Exception as e:
                    raise BlockFailure("test", f"@test {test.__name__} failed: {error_message(e)}",
                                       user_traceback(e)) from None
        finally:
            log_stream.flush()
            sys.stdout, sys.stderr = saved
        writing = time.perf_counter()
        model = None
        rows = None
        if request.get("model_dir"):
            model = self.save_model(output, request["model_dir"], function.__name__)
        else:
            rows = self.write_output(output, request["output"], input_types)
        now = time.perf_counter()
        return {
            "op": "done",
            "function": function.__name__,
            "decorator": kind,
            "output": rows is not None,
            "rows": rows,
            "tests": len(decorators.tests),
            "seconds": now - started,
            "read_seconds": read_seconds,
            "write_seconds": now - writing,
            "model": model,
        }

    def run_sensor(self, decorators, path, args, kwargs, started, read_seconds):
        """Call the file's `@sensor` function: is its condition true now?"""
        if not decorators.sensors:
            raise BlockFailure("file", f"{os.path.basename(path)} has no function decorated "
                               "with @sensor (a sensor block's file returns True when its "
                               "condition holds)")
        function = decorators.sensors[0]
        try:
            value = call(function, args, kwargs)
        except Exception as e:
            raise BlockFailure("block", f"{function.__name__}: {error_message(e)}",
                               user_traceback(e)) from None
        return self.done(function.__name__, "sensor", started, read_seconds, value=bool(value))

    def run_callbacks(self, decorators, status, args, kwargs, started, read_seconds):
        """Call the file's callback functions for the parent's outcome; Mage's signature
        `def success_callback(parent_block_data, **kwargs)` gets None when there is no table."""
        names = []
        for wanted, function in decorators.callbacks:
            if wanted != status:
                continue
            params = inspect.signature(function).parameters.values()
            required = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                        and p.default is p.empty and p.name not in kwargs]
            padded = list(args) + [None] * max(0, len(required) - len(args))
            try:
                call(function, padded, kwargs)
            except Exception as e:
                raise BlockFailure("block", f"{function.__name__}: {error_message(e)}",
                                   user_traceback(e)) from None
            names.append(function.__name__)
        if not names:
            print(f"no @callback('{status}') function: nothing to run on this outcome")
        return self.done(", ".join(names) or "(none)", f"callback({status})", started,
                         read_seconds)

    def done(self, function, decorator, started, read_seconds, value=None):
        return {
            "op": "done",
            "function": function,
            "decorator": decorator,
            "output": False,
            "rows": None,
            "tests": 0,
            "seconds": time.perf_counter() - started,
            "read_seconds": read_seconds,
            "write_seconds": 0.0,
            "model": None,
            "value": value,
        }

    def save_model(self, output, folder, function):
        """Save the returned model as an MLflow model folder at `folder`, with the flavor of
        the library it comes from; what the Rust side records about it."""
        returned = model_parts(output, function)
        model = returned["model"]
        try:
            import mlflow
        except ImportError as e:
            raise BlockFailure(
                "model",
                f"{function}() returned a model ({class_name(model)}); saving it as an MLflow "
                f"model needs mlflow, which {sys.executable} lacks ({e}): install it with "
                f"`{sys.executable} -m pip install mlflow`",
            ) from None
        flavor = flavor_of(model)
        options = {}
        example = returned.get("input_example")
        if example is not None:
            # The signature makes MLflow (and the prediction service's workers) cast request
            # columns to the training types and order them as the model saw them.
            from mlflow.models import infer_signature

            options["input_example"] = example
            options["signature"] = infer_signature(example, model.predict(example))
        saver = getattr(mlflow, flavor)
        if flavor == "sklearn":
            options.update(sklearn_options(mlflow, model))
        saved = io_capture()
        try:
            with saved:
                saver.save_model(model, folder, **options)
        except Exception as e:
            raise BlockFailure("model", f"mlflow.{flavor}.save_model failed: {error_message(e)}",
                               user_traceback(e)) from None
        for line in saved.lines():
            self.log(line)
        features = feature_names(model)
        return {
            "flavor": flavor,
            "class": class_name(model),
            "task": task_of(model),
            "metrics": returned.get("metrics") or {},
            "params": returned.get("params") or hyperparameters(model),
            "features": features,
            "importances": importances(model, features),
            "mlflow": mlflow.__version__,
        }

    def write_output(self, output, path, input_types):
        """Write a returned DataFrame (or pyarrow Table, or what pandas makes a frame of) as
        Arrow, with only the types the Rust side holds; None is no table."""
        pa, pd = self.pa, self.pd
        if output is None:
            return None
        if isinstance(output, pa.Table):
            table = output
        else:
            model = output.get("model") if isinstance(output, dict) else output
            if not isinstance(output, pd.DataFrame) and callable(getattr(model, "predict", None)):
                raise BlockFailure(
                    "output",
                    f"the block returned a model ({class_name(model)}) but no block downstream "
                    "takes one: put a register_model (or evaluate) block downstream of it, or "
                    "return a pandas DataFrame",
                )
            if isinstance(output, dict) and all(pd.api.types.is_scalar(v)
                                                for v in output.values()):
                # One item's result, as a dynamic block's child returns it: one row.
                output = pd.DataFrame([output])
            elif isinstance(output, (bool, int, float, str)):
                output = pd.DataFrame({"0": [output]})
            if not isinstance(output, pd.DataFrame):
                if isinstance(output, (pd.Series, dict, list)):
                    output = pd.DataFrame(output)
                else:
                    raise BlockFailure(
                        "output",
                        f"the block returned a {type(output).__name__}: "
                        "return a pandas DataFrame (or None for no table)",
                    )
            output = output.rename(columns=str)
            try:
                table = pa.Table.from_pandas(output, preserve_index=False)
            except Exception as e:
                raise BlockFailure("output", f"the returned DataFrame cannot be converted to "
                                   f"Arrow: {error_message(e)}") from None
        table = pa.table([self.portable(table.column(i), table.schema.field(i), input_types)
                          for i in range(table.num_columns)],
                         names=[str(n) for n in table.column_names])
        with pa.OSFile(path, "wb") as sink:
            with pa.ipc.new_file(sink, table.schema) as writer:
                writer.write_table(table)
        return table.num_rows

    def portable(self, column, field, input_types):
        """The column with a type ironmage reads: numbers (ints, floats, bools) and strings.
        Categories become their values, dates and times ISO text, decimals floats."""
        pa = self.pa
        t = field.type
        if pa.types.is_dictionary(t):
            column = column.cast(t.value_type)
            t = t.value_type
        if pa.types.is_null(t):
            # All missing: pandas lost the type; an input column of that name tells it.
            return column.cast(input_types.get(field.name, pa.float64()))
        if pa.types.is_temporal(t):
            return column.cast(pa.string())
        if pa.types.is_decimal(t):
            return column.cast(pa.float64())
        if pa.types.is_float16(t):
            return column.cast(pa.float32())
        if (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)
                or pa.types.is_string(t) or pa.types.is_large_string(t)):
            return column
        if hasattr(pa.types, "is_string_view") and pa.types.is_string_view(t):
            return column.cast(pa.string())
        raise BlockFailure(
            "output",
            f"column {field.name!r} has type {t}: a block output holds numbers, booleans, "
            "text, categories, dates and times",
        )

    def serve(self):
        while True:
            request = read_frame(self.proto_in)
            if request is None or request.get("op") == "exit":
                return
            op = request.get("op")
            if op == "hello":
                self.send(self.hello())
            elif op == "run":
                try:
                    answer = self.run(request)
                except BlockFailure as f:
                    answer = {"op": "error", "kind": f.kind, "message": f.message,
                              "traceback": f.traceback}
                except Exception as e:
                    answer = {"op": "error", "kind": "block", "message": error_message(e),
                              "traceback": user_traceback(e)}
                self.send(answer)
            else:
                self.send({"op": "error", "kind": "protocol", "message": f"unknown op {op!r}"})


if __name__ == "__main__":
    Runner(*take_protocol_streams()).serve()
