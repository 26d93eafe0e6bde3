"""The ledger's path watched instead of a ``stat`` per check (``storage.path_watch``): it asks
the kernel, and ``stat``s only when something happened at or above the path, or once a second;
whatever happened, a decision never reads a file the path no longer names."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from callguard import Guard, ReasonCode
from callguard.storage import path_watch
from callguard.storage import sqlite as sqlite_ledger
from conftest import NPV, paris

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="inotify is Linux's; elsewhere a stat per check"
)

DEST = "06 11 22 33 44"


@pytest.fixture(autouse=True)
def watched_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_ledger, "_WATCH_AFTER", 1)


@pytest.fixture
def stats(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    seen: list[object] = []
    real = os.stat

    def counting(path: object, *args: object, **kw: object) -> os.stat_result:
        seen.append(path)
        return real(path, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(sqlite_ledger.os, "stat", counting)
    yield seen


def _ask(g: Guard, hour: int) -> list[ReasonCode]:
    return [
        r.code for r in g.may_call(DEST, NPV, paris(2026, 11, 23, hour), purpose="PRESS").reasons
    ]


def test_a_quiet_path_needs_no_stat_and_any_event_one(tmp_path: Path, stats: list[object]) -> None:
    with Guard(tmp_path / "l.db") as g:
        assert g.engine.ledger._watch is not None  # type: ignore[attr-defined]
        assert _ask(g, 10) == []
        stats.clear()
        assert _ask(g, 11) == []
        assert stats == []
        (tmp_path / "unrelated.csv").write_text("x")  # an event in the directory
        assert _ask(g, 12) == []
        assert len(stats) == 1
        assert _ask(g, 15) == []
        assert len(stats) == 1  # drained: quiet again


def test_the_directory_renamed_is_seen(tmp_path: Path) -> None:
    home = tmp_path / "callguard"
    home.mkdir()
    with Guard(home / "l.db") as g:
        assert _ask(g, 10) == []
        os.rename(home, tmp_path / "elsewhere")
        assert _ask(g, 11) == [ReasonCode.LEDGER_UNAVAILABLE]


def test_a_directory_above_replaced_is_seen(tmp_path: Path) -> None:
    """Two levels up: the path now resolves through another directory to another ledger."""
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "other" / "b").mkdir(parents=True)
    Guard(tmp_path / "other" / "b" / "l.db").close()
    with Guard(tmp_path / "a" / "b" / "l.db") as g:
        assert _ask(g, 10) == []
        os.rename(tmp_path / "a", tmp_path / "old")
        os.rename(tmp_path / "other", tmp_path / "a")
        assert _ask(g, 11) == [ReasonCode.LEDGER_UNAVAILABLE]


def test_a_symbolic_link_retargeted_is_seen(tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    Guard(tmp_path / "two" / "l.db").close()
    link = tmp_path / "current"
    link.symlink_to(tmp_path / "one")
    with Guard(link / "l.db") as g:
        assert _ask(g, 10) == []
        link.unlink()
        link.symlink_to(tmp_path / "two")
        assert _ask(g, 11) == [ReasonCode.LEDGER_UNAVAILABLE]


def test_a_file_replaced_inside_the_linked_directory_is_seen(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    Guard(tmp_path / "other.db").close()
    link = tmp_path / "current"
    link.symlink_to(tmp_path / "data")
    with Guard(link / "l.db") as g:
        assert _ask(g, 10) == []
        os.replace(tmp_path / "other.db", tmp_path / "data" / "l.db")
        assert _ask(g, 11) == [ReasonCode.LEDGER_UNAVAILABLE]


def test_the_backstop_stats_without_an_event(
    tmp_path: Path, stats: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What inotify cannot report (a file system mounted over a directory) a stat a second
    still finds: here, the second has passed."""
    with Guard(tmp_path / "l.db") as g:
        assert _ask(g, 10) == []
        stats.clear()
        monkeypatch.setattr(path_watch, "BACKSTOP_NS", 0)
        g.engine.ledger._watch.drain()  # type: ignore[attr-defined, union-attr]
        assert _ask(g, 11) == []
        assert len(stats) == 1


def test_without_inotify_every_check_stats(
    tmp_path: Path, stats: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(path_watch, "watch", lambda path: None)  # another system, or no watch left
    with Guard(tmp_path / "l.db") as g:
        assert _ask(g, 10) == []
        stats.clear()
        assert _ask(g, 11) == []
        assert len(stats) == 1
        os.unlink(tmp_path / "l.db")
        assert _ask(g, 12) == [ReasonCode.LEDGER_UNAVAILABLE]


def test_closing_the_ledger_closes_the_watch(tmp_path: Path) -> None:
    def open_fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    before = open_fds()
    for _ in range(3):
        with Guard(tmp_path / "l.db") as g:
            assert _ask(g, 10) == []
            assert g.engine.ledger._watch is not None  # type: ignore[attr-defined]
    assert open_fds() == before
