"""Graph-structure snapshots: compare a graph's Mermaid drawing with the committed one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SNAPSHOTS = Path(__file__).parent / "unit" / "snapshots"


def assert_matches_snapshot(name: str, mermaid: str) -> None:
    """Compare with ``tests/unit/snapshots/<name>.mmd``; ``UPDATE_SNAPSHOTS=1`` rewrites it.

    A missing snapshot is written; under ``CI=true`` that also fails the test, so a snapshot
    is never silently created in CI.
    """
    snapshot = SNAPSHOTS / f"{name}.mmd"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1" or not snapshot.exists():
        snapshot.parent.mkdir(exist_ok=True)
        snapshot.write_text(mermaid)
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"snapshot {snapshot.name} was missing under CI; written now, commit it")
    assert mermaid == snapshot.read_text(), f"graph structure changed; see {snapshot}"
