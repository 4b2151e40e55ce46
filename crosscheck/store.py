"""Finished points of a sweep, one JSON line each (appended, flushed and fsynced as they finish).

An interrupted run therefore loses at most the point in flight, a torn last line is ignored, and a
rerun with the same output folder reuses every finished point whose key (kind, parameters, package
version) matches.
"""

from __future__ import annotations

import json
import os
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

try:
    _VERSION = version("scalinglab")
except PackageNotFoundError:  # running from a source tree that is not installed
    _VERSION = "source"


class PointStore:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._done: dict[str, dict] = {}
        if self.path.exists():
            text = self.path.read_text()
            complete = text[: text.rfind("\n") + 1]
            if complete != text:  # a last line torn by an interruption: cut it so appends stay whole
                with open(self.path, "r+") as fh:
                    fh.truncate(len(complete.encode()))
            for line in complete.splitlines():
                try:
                    entry = json.loads(line)
                    self._done[entry["key"]] = entry["value"]
                except (ValueError, KeyError, TypeError):
                    continue  # a corrupt line is recomputed, not trusted

    @staticmethod
    def key(*parts) -> str:
        return json.dumps([_VERSION, *parts])

    def get(self, key: str) -> dict | None:
        return self._done.get(key)

    def put(self, key: str, value: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a") as fh:
            fh.write(json.dumps({"key": key, "value": value}, default=float) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        self._done[key] = value

    def cached(self, key: str, compute) -> tuple[dict, bool]:
        """(value, reused): the stored value, or compute() stored now."""
        hit = self.get(key)
        if hit is not None:
            return hit, True
        value = compute()
        self.put(key, value)
        return value, False
