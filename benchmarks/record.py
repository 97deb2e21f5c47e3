"""Writing a benchmark's numbers: light (no TensorFlow), so parent processes can import it."""

import json
import os


def write_json(path: str, obj) -> None:
    """Writes `obj` to `path`, making its folder. Benchmarks call it after every run, so
    an interrupted benchmark keeps what it measured."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)
