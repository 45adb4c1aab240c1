"""`make serve` after the checkpointer changed: the old thread list moves aside, not mixed in."""

from __future__ import annotations

from pathlib import Path

from server.serve import CHECKPOINTER_MARKER, set_aside_other_checkpointers


def test_the_first_serve_records_the_checkpointer(tmp_path: Path) -> None:
    api = tmp_path / ".langgraph_api"

    assert set_aside_other_checkpointers("sqlite:///a.sqlite", api) is None
    assert (api / CHECKPOINTER_MARKER).is_file()
    assert "a.sqlite" not in (api / CHECKPOINTER_MARKER).read_text()  # a fingerprint only


def test_the_same_checkpointer_keeps_the_thread_list(tmp_path: Path) -> None:
    api = tmp_path / ".langgraph_api"
    set_aside_other_checkpointers("postgresql://u:secret@db/app", api)
    (api / "threads.pckl").write_text("the thread list")

    assert set_aside_other_checkpointers("postgresql://u:secret@db/app", api) is None
    assert (api / "threads.pckl").read_text() == "the thread list"


def test_another_checkpointer_moves_the_old_state_aside_and_loses_nothing(tmp_path: Path) -> None:
    api = tmp_path / ".langgraph_api"
    set_aside_other_checkpointers("sqlite:///.langgraph_api/cp.sqlite", api)
    (api / "threads.pckl").write_text("threads of the SQLite checkpointer")

    note = set_aside_other_checkpointers("postgresql://u:secret@db/app", api)

    [moved] = tmp_path.glob(".langgraph_api.previous-*")
    assert note is not None and str(moved) in note and "secret" not in note
    assert (moved / "threads.pckl").read_text() == "threads of the SQLite checkpointer"
    assert not (api / "threads.pckl").exists()
    assert set_aside_other_checkpointers("postgresql://u:secret@db/app", api) is None
