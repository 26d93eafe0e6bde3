"""Checkpoints written while the service runs: on time, each within its own deadline, and a
failure is logged, never raised into the service."""

from __future__ import annotations

import json
import logging
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

import callguard
from callguard import Guard
from callguard._checkpoint import create_signing_key
from callguard._checkpoint_scheduler import CheckpointScheduler
from callguard.cli import cli
from conftest import NPV, paris

AT = paris(2026, 11, 24, 10, 30)


@pytest.fixture
def setup(tmp_path: Path) -> tuple[str, Path]:
    db = str(tmp_path / "ledger.db")
    with Guard(db, professional="acme") as g:
        g.record_call("06 12 34 56 78", AT, caller_id=NPV)
    key = tmp_path / "k.pem"
    create_signing_key(key)
    return db, key


def test_a_tick_writes_a_checkpoint_that_verifies(
    setup: tuple[str, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db, key = setup
    sched = CheckpointScheduler(db, key, tmp_path / "cps", clock=lambda: AT)
    with caplog.at_level(logging.INFO, logger="callguard.server"):
        path = sched.tick()
    assert path is not None and path.parent == tmp_path / "cps"
    assert json.loads(caplog.records[-1].getMessage()) == {"event": "checkpoint", "path": str(path)}
    assert callguard.verify(db, checkpoints=tmp_path / "cps", public_key=f"{key}.pub").ok


def test_a_failure_is_logged_and_never_raised(
    setup: tuple[str, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db, key = setup
    (tmp_path / "not-a-dir").write_text("x")
    sched = CheckpointScheduler(db, key, tmp_path / "not-a-dir", clock=lambda: AT)
    with caplog.at_level(logging.WARNING, logger="callguard.server"):
        assert sched.tick() is None
    event = json.loads(caplog.records[-1].getMessage())
    assert event["event"] == "checkpoint-failed" and "not-a-dir" in event["error"]
    gone = CheckpointScheduler(str(tmp_path / "moved.db"), key, tmp_path / "c", clock=lambda: AT)
    with caplog.at_level(logging.WARNING, logger="callguard.server"):
        assert gone.tick() is None
    assert "moved.db" in json.loads(caplog.records[-1].getMessage())["error"]


def test_a_locked_ledger_costs_the_deadline_not_the_service(
    setup: tuple[str, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db, key = setup
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    ticks = iter(range(100))
    sched = CheckpointScheduler(db, key, tmp_path / "cps", deadline=0.3,
                                clock=lambda: AT + timedelta(minutes=next(ticks)))  # fmt: skip
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="callguard.server"):
        assert sched.tick() is None
        assert time.monotonic() - started < 5
        # While the late one still runs, the next tick starts none.
        assert sched.tick() is None
    messages = [json.loads(r.getMessage()) for r in caplog.records]
    assert any("within 0.3 s" in m.get("error", "") for m in messages)
    assert any(m["event"] == "checkpoint-skipped" for m in messages)
    blocker.execute("ROLLBACK")
    blocker.close()
    assert sched._busy.acquire(timeout=30)
    sched._busy.release()
    assert sched.tick() is not None


def test_the_thread_takes_one_at_start_then_stops(setup: tuple[str, Path], tmp_path: Path) -> None:
    db, key = setup
    taken = threading.Event()
    sched = CheckpointScheduler(db, key, tmp_path / "cps", every=timedelta(hours=1),
                                on_taken=lambda p: taken.set() if p else None)  # fmt: skip
    sched.start()
    try:
        assert taken.wait(30)
    finally:
        sched.stop()
    assert len(list((tmp_path / "cps").glob("checkpoint-*.json"))) == 1


def test_a_bad_key_or_half_the_options_stop_serve_at_start(
    setup: tuple[str, Path], tmp_path: Path
) -> None:
    db, key = setup
    pytest.importorskip("uvicorn")
    result = CliRunner().invoke(cli, ["serve", "--db", db, "--signing-key", str(key)])
    assert result.exit_code == 2 and "--checkpoint-dir" in result.output
    (tmp_path / "bad.pem").write_text("not a key")
    result = CliRunner().invoke(cli, ["serve", "--db", db, "--signing-key",
                                      str(tmp_path / "bad.pem"), "--checkpoint-dir",
                                      str(tmp_path / "c")])  # fmt: skip
    assert result.exit_code == 2 and "bad.pem" in result.output


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM")
def test_serve_writes_checkpoints_while_it_serves(setup: tuple[str, Path], tmp_path: Path) -> None:
    httpx = pytest.importorskip("httpx")
    db, key = setup
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    cps = tmp_path / "cps"
    proc = subprocess.Popen(
        [sys.executable, "-c", "from callguard.cli import main; main()", "serve", "--db", db,
         "--port", str(port), "--signing-key", str(key), "--checkpoint-dir", str(cps),
         "--checkpoint-every", "60"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not list(cps.glob("checkpoint-*.json")):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert '"event": "checkpoint"' in err
    assert callguard.verify(db, checkpoints=cps, public_key=f"{key}.pub").ok
