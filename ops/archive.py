"""Archive checkpoint rows to JSONL.gz before retention deletes them.

One file per thread and prune: ``<dir>/<graph>/<thread>-<UTC time>.jsonl.gz``. Each line is
one row: ``{"table": "checkpoints" | "checkpoint_writes" | "checkpoint_blobs", "row": {...}}``
with ``bytea`` columns as base64 text (``{"$b64": "..."}``) and JSON columns as they are, so
`read_archive` gives the rows back exactly (a restore is an ``INSERT`` of them). The file is
written to a temporary name and renamed, so a crash never leaves half an archive under the
final name, and it is on disk (``fsync``) before anything is deleted.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["archive_path", "read_archive", "write_archive"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _safe(name: str) -> str:
    """A file-name-safe form of an id (unsafe runs become ``_``; never empty or dotted)."""
    cleaned = _UNSAFE.sub("_", name).strip("._") or "_"
    return cleaned[:120]


def archive_path(directory: Path, graph_id: str | None, thread_id: str) -> Path:
    """Where a thread's archive of now goes (see the module docs)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return Path(directory) / _safe(graph_id or "unknown") / f"{_safe(thread_id)}-{stamp}.jsonl.gz"


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$b64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _restored(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"$b64"}:
        return base64.b64decode(value["$b64"])
    return value


def write_archive(path: Path, tables: Mapping[str, Iterable[Mapping[str, Any]]]) -> int:
    """Write the rows of `tables` to `path` (JSONL.gz, durable before it returns).

    Returns:
        How many rows were written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    count = 0
    with open(partial, "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb") as out:
            for table, rows in tables.items():
                for row in rows:
                    record = {k: _jsonable(v) for k, v in row.items()}
                    line = json.dumps({"table": table, "row": record}, sort_keys=True)
                    out.write(line.encode("utf-8") + b"\n")
                    count += 1
        raw.flush()
        os.fsync(raw.fileno())
    partial.replace(path)
    return count


def read_archive(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """The ``(table, row)`` pairs of an archive, bytes restored."""
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            item = json.loads(line)
            yield item["table"], {k: _restored(v) for k, v in item["row"].items()}
