"""init, attempt, outcome, keys and serve on the command line."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from callguard import Guard
from callguard.cli import cli
from conftest import NPV, paris

NUMBER = "06 12 34 56 78"
AT = "2026-11-23T10:30:00+01:00"


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "ledger.db")
    assert run("init", "--db", path).exit_code == 0
    with Guard(path, professional="acme") as guard:
        guard.record_consent(NUMBER, paris(2026, 9, 1), proof="form-1")
    return path


def attempt(db: str, *extra: str) -> Result:
    return run(
        "attempt",
        NUMBER,
        "--caller-id",
        NPV,
        "--at",
        AT,
        "--db",
        db,
        "--professional",
        "acme",
        *extra,
    )


def test_init_creates_a_private_ledger(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    result = run("init", "--db", str(path))
    assert result.exit_code == 0 and "created ledger" in result.output
    assert path.is_file() and (path.stat().st_mode & 0o077) == 0
    assert "ledger ready" in run("init", "--db", str(path)).output


@pytest.mark.parametrize(
    "args",
    [
        ["attempt", NUMBER, "--caller-id", NPV],
        ["outcome", "1", "ANSWERED"],
        ["keys", "create", "--professional", "acme"],
        ["keys", "list"],
        ["keys", "revoke", "x"],
        ["serve"],
    ],
)
def test_every_service_command_refuses_a_missing_ledger(tmp_path: Path, args: list[str]) -> None:
    missing = tmp_path / "typo.db"
    result = run(*args, "--db", str(missing))
    assert result.exit_code == 2
    assert str(missing) in result.output and "callguard init" in result.output
    assert not missing.exists()


def test_attempt_prints_the_id_then_refuses_at_the_cap(db: str) -> None:
    ids = []
    for _ in range(4):
        result = attempt(db)
        assert result.exit_code == 0, result.output
        ids.append(int(result.output.strip()))
    assert len(set(ids)) == 4
    fifth = attempt(db)
    assert fifth.exit_code == 1 and "FREQUENCY_CAP" in fifth.output
    as_json = attempt(db, "--json")
    assert as_json.exit_code == 1 and json.loads(as_json.output)["allowed"] is False


def test_attempt_json_campaign_and_errors(db: str) -> None:
    result = attempt(db, "--json", "--campaign", "spring")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["allowed"] is True and isinstance(data["attempt_id"], int)
    refused = run("attempt", "06 98 76 54 32", "--caller-id", NPV, "--at", AT, "--db", db)
    assert refused.exit_code == 1 and "NO_CONSENT" in refused.output
    assert run("attempt", NUMBER, "--caller-id", NPV, "--at", "soon", "--db", db).exit_code == 2
    assert attempt(db, "--purpose", "NOPE").exit_code == 2


def test_attempt_on_a_locked_ledger_exits_2(db: str) -> None:
    import sqlite3

    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        # The CLI waits the busy timeout (5 s), then refuses: fail closed.
        result = attempt(db)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert result.exit_code == 2 and "LEDGER_UNAVAILABLE" in result.output


def test_outcome_records_and_unknown_ids_exit_2(db: str) -> None:
    attempt_id = attempt(db).output.strip()
    result = run("outcome", attempt_id, "REFUSED", "--db", db, "--professional", "acme")
    assert result.exit_code == 0 and "REFUSED" in result.output
    with Guard(db, professional="acme") as guard:
        assert "REFUSAL_COOLDOWN" in {
            c.value for c in guard.may_call(NUMBER, NPV, paris(2026, 11, 24, 11)).codes
        }
    assert run("outcome", attempt_id, "ANSWERED", "--db", db).exit_code == 2  # another professional
    assert run("outcome", "99999", "ANSWERED", "--db", db, "--professional", "acme").exit_code == 2
    assert run("outcome", attempt_id, "MAYBE", "--db", db).exit_code == 2


def test_keys_create_list_revoke(db: str) -> None:
    created = run("keys", "create", "--professional", "acme", "--name", "dialer-1", "--db", db)
    assert created.exit_code == 0
    key = created.output
    assert key.count("\n") == 1 and key.strip().startswith("cg_") and len(key.strip()) > 40
    key = key.strip()
    second = run("keys", "create", "--professional", "beta", "--db", db).output.strip()
    assert second != key
    dup = run("keys", "create", "--professional", "acme", "--name", "dialer-1", "--db", db)
    assert dup.exit_code == 2 and "already exists" in dup.output
    listed = run("keys", "list", "--db", db, "--json")
    rows = json.loads(listed.output)
    assert (rows[0]["name"], rows[0]["professional"], rows[0]["revoked_at"]) == (
        "dialer-1",
        "acme",
        None,
    )
    assert rows[0]["prefix"] == key[:11] and rows[1]["professional"] == "beta"
    text = run("keys", "list", "--db", db).output
    assert key not in text and second not in text and "dialer-1" in text
    assert key.encode() not in Path(db).read_bytes()
    revoked = run("keys", "revoke", key[:11], "--db", db)
    assert revoked.exit_code == 0 and "dialer-1" in revoked.output
    assert json.loads(run("keys", "list", "--db", db, "--json").output)[0]["revoked_at"]
    assert run("keys", "revoke", "nobody", "--db", db).exit_code == 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM")
def test_serve_answers_then_stops_gracefully_on_sigterm(db: str) -> None:
    httpx = pytest.importorskip("httpx")
    key = run("keys", "create", "--professional", "acme", "--db", db).output.strip()
    port, agi_port = _free_port(), _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from callguard.cli import main; main()",
            "serve",
            "--db",
            db,
            "--port",
            str(port),
            "--agi-port",
            str(agi_port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr
            time.sleep(0.1)
        r = httpx.post(
            f"http://127.0.0.1:{port}/v1/attempts",
            timeout=10,
            headers={"Authorization": f"Bearer {key}"},
            json={"number": NUMBER, "caller_id": NPV, "at": AT},
        )
        assert r.status_code == 200 and r.json()["allowed"] is True
        with socket.create_connection(("127.0.0.1", agi_port), timeout=5):
            pass
        # A request in flight when SIGTERM arrives is finished before the process exits: it
        # waits for a write lock that is released only after the signal was sent.
        import sqlite3
        import threading

        blocker = sqlite3.connect(db, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        answers: list[int] = []

        def in_flight() -> None:
            r = httpx.post(
                f"http://127.0.0.1:{port}/v1/attempts",
                timeout=30,
                headers={"Authorization": f"Bearer {key}"},
                json={"number": NUMBER, "caller_id": NPV, "at": AT},
            )
            answers.append(r.status_code)

        thread = threading.Thread(target=in_flight)
        thread.start()
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        blocker.execute("ROLLBACK")
        blocker.close()
        thread.join(30)
        assert answers == [200]
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    # uvicorn finishes the requests in flight, then re-raises the signal it caught.
    assert proc.returncode in (0, -signal.SIGTERM), err
    assert "Application shutdown complete" in err
    logs = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert any(line.get("route") == "/v1/attempts" and line.get("allowed") for line in logs)
    assert key not in err and key not in out
