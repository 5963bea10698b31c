# The Python side of subprocess/frames.rs, put in front of every script ironmage runs with
# `python -c` (the block runner, the pyfunc worker): the protocol's streams and frames, once.
import json
import os
import struct
import sys

# Largest frame either side accepts, as frames.rs.
MAX_FRAME = 1 << 30


def take_protocol_streams():
    """The protocol's private stdin/stdout; user code sees /dev/null and stderr instead."""
    proto_in = os.fdopen(os.dup(0), "rb")
    proto_out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return proto_in, proto_out


def read_frame(stream):
    """The next message, or None at the end of the stream."""
    header = stream.read(4)
    if len(header) < 4:
        return None
    (length,) = struct.unpack(">I", header)
    if length > MAX_FRAME:
        raise ValueError(f"frame of {length} bytes is larger than {MAX_FRAME}")
    body = stream.read(length)
    if len(body) < length:
        return None
    return json.loads(body)


def write_frame(stream, message, **json_options):
    """Send one message; `json_options` go to json.dumps (e.g. allow_nan=False)."""
    body = json.dumps(message, separators=(",", ":"), **json_options).encode("utf-8")
    stream.write(struct.pack(">I", len(body)) + body)
    stream.flush()


def error_message(exc):
    """`Type: message`, the one line a caller sees."""
    text = str(exc).strip()
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


