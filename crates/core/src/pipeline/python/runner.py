"""ironmage's Python block runner: runs Mage-style block files for the Rust process that started it.

The Rust side runs `python -u -c <core subprocess/frames.py + this file>` in the project folder and talks over stdin/stdout
with frames: a 4-byte big-endian length, then that many bytes of UTF-8 JSON. One request at a
time; a `run` is answered by any number of `log` frames, then `done` or `error`:

  {"op": "hello"}  -> {"op": "hello", pid, python, pandas, pyarrow}
                    | {"op": "error", "kind": "missing", "message"}
  {"op": "run", "file", "block", "inputs": [arrow path, ...], "output": arrow path,
   "kwargs": {...}, "execution_date": iso}
                   -> {"op": "log", "line"} ...
                      {"op": "done", "function", "decorator", "output": bool, "rows", "tests"}
                    | {"op": "error", "kind": "file" | "block" | "test" | "output",
                       "message", "traceback"}
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
    "sensor", "callback", "condition", "extension", "on_success", "on_failure", "configuration",
    "data_source", "xy", "x", "y", "render", "columns", "preprocesser_functions",
)


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

    def globals(self):
        names = {}
        for kind in BLOCK_DECORATORS:
            names[kind] = self.collect(kind)
        names["test"] = self.collect_test
        for kind in OTHER_DECORATORS:
            names[kind] = lambda function: function
        return names

    def collect(self, kind):
        def decorator(function):
            self.blocks.append((kind, function))
            return function

        return decorator

    def collect_test(self, function):
        self.tests.append(function)
        return function


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
