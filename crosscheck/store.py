"""The result store of a sweep: one JSON line per finished point, appended, flushed and fsynced.

Lines are ``{"key": K, "value": V}`` for points and ``{"header": H}`` for the run's metadata (what
was swept, the environment), appended when a run starts with a header different from the last one;
readers use the last header. A key is the canonical JSON of the point's kind, parameters and the
package version, so a rerun with the same output folder reuses every finished point and recomputes
the others. A SIGKILL loses at most the points in flight: a torn last line is cut on the next open,
a corrupt line is ignored (its point is recomputed), and a later line for the same key wins.
One run writes a store at a time (an exclusive lock on the file; a second writer gets an error).
"""

from __future__ import annotations

import fcntl
import json
import os
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

try:
    VERSION = version("scalinglab")
except PackageNotFoundError:  # running from a source tree that is not installed
    VERSION = "source"


def point_key(kind: str, params: dict) -> str:
    """Canonical JSON (sorted keys, no spaces) of the kind, parameters and package version of a point."""
    return json.dumps({"kind": kind, "params": params, "version": VERSION}, sort_keys=True, separators=(",", ":"))


def read_store(path: Path) -> tuple[dict | None, dict[str, object]]:
    """(last header, key -> value) of a store's complete lines, without writing to it."""
    header, done = None, {}
    text = Path(path).read_text() if Path(path).exists() else ""
    for line in text[: text.rfind("\n") + 1].splitlines():
        try:
            entry = json.loads(line)
            if "header" in entry:
                header = entry["header"]
            else:
                done[entry["key"]] = entry["value"]
        except (ValueError, KeyError, TypeError):
            continue  # a corrupt line is recomputed, not trusted
    return header, done


class PointStore:
    """The writer of a store: ``put`` appends a point durably; use as a context manager (closes the file)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "a+b")
        try:
            fcntl.flock(self._fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._fh.close()
            raise ValueError(f"another run is writing {self.path}") from None
        self._fh.seek(0)
        data = self._fh.read()
        complete = data[: data.rfind(b"\n") + 1]
        if complete != data:  # a last line torn by an interruption: cut it so appends stay whole
            self._fh.truncate(len(complete))
            os.fsync(self._fh.fileno())
        self.header, self._done = read_store(self.path)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        self._fh.close()  # also releases the lock

    def _append(self, entry: dict) -> dict:
        line = json.dumps(entry, default=float) + "\n"
        self._fh.write(line.encode())
        self._fh.flush()
        os.fsync(self._fh.fileno())
        return json.loads(line)  # what a reader of the store will see (tuples become lists)

    def set_header(self, header: dict) -> None:
        """Record the run's metadata unless it equals the last recorded header."""
        header = json.loads(json.dumps(header, default=float))
        if header != self.header:
            self.header = self._append({"header": header})["header"]

    def get(self, key: str):
        return self._done.get(key)

    def put(self, key: str, value) -> None:
        self._done[key] = self._append({"key": key, "value": value})["value"]
