"""More of the boundary: every entry refuses an instant out of range without an OverflowError, a
forked child never talks on its parent's connections, locations keep their secrets, the purge log
says who, and a zone must be a place in the CLI too.
"""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

import callguard
from callguard import ConfigurationError, Guard, LedgerError, ReasonCode
from callguard.cli import cli
from callguard.storage import describe, is_server_url
from conftest import NPV, paris

DEST = "06 11 22 33 44"
UTC = timezone.utc
FAR = [
    datetime.max.replace(tzinfo=UTC),
    datetime.min.replace(tzinfo=UTC),
    datetime(2101, 1, 1, tzinfo=UTC),
]


@pytest.mark.parametrize("at", FAR)
def test_every_entry_refuses_an_instant_out_of_range(guard: Guard, at: datetime) -> None:
    ok = paris(2026, 11, 2, 11)
    entries = [
        lambda: guard.attempt(DEST, NPV, at),
        lambda: guard.scrub([DEST], NPV, at),
        lambda: guard.add_optout(DEST, at),
        lambda: guard.add_optout(DEST, ok, expires_at=at),
        lambda: guard.withdraw_consent(DEST, at),
        lambda: guard.record_slot_consent(DEST, ok, at, proof="p"),
        lambda: guard.record_contract(DEST, at),
        lambda: guard.import_bloctel([DEST], at),
        lambda: guard.purge(at),
        lambda: guard.purge(paris(2020, 1, 1), now=at),
        lambda: callguard.may_call(DEST, NPV, at),
    ]
    for entry in entries:
        with pytest.raises(ValueError, match=str(at.year)):
            entry()
    assert guard.may_call(DEST, NPV, paris(2026, 11, 23, 11)).codes == {ReasonCode.NO_CONSENT}


def test_days_out_of_range_are_value_errors(guard: Guard) -> None:
    for day in (date.max, date.min, date(2016, 5, 31)):
        with pytest.raises(ValueError, match=str(day.year)):
            guard.import_bloctel([DEST], day)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match=str(day.year)):
            guard.record_contract(DEST, paris(2026, 1, 1), day)  # type: ignore[arg-type]


def test_the_next_allowed_search_near_the_end_of_range(guard: Guard) -> None:
    at = datetime(2100, 12, 31, 22, tzinfo=UTC)
    guard.record_consent(DEST, paris(2100, 1, 1), proof="p")
    decision = guard.may_call(DEST, NPV, at)
    assert not decision.allowed  # Friday 31 Dec 2100, 23:00 in Paris: after hours
    assert decision.next_allowed_at is None or decision.next_allowed_at > at


@pytest.mark.parametrize("at", ["9999-12-31T23:30-05:00", "0001-01-01T00:00+05:00", "2101-01-02"])
def test_cli_at_out_of_range_is_a_usage_error(tmp_path: Path, at: str) -> None:
    db = str(tmp_path / "l.db")
    Guard(db).close()
    result = CliRunner().invoke(cli, ["check", DEST, "--caller-id", NPV, "--at", at, "--db", db])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "OverflowError" not in result.output


def test_cli_tz_that_is_no_place_is_a_usage_error(tmp_path: Path) -> None:
    db = str(tmp_path / "l.db")
    Guard(db).close()
    result = CliRunner().invoke(
        cli, ["check", DEST, "--caller-id", NPV, "--tz", "Etc/GMT-1", "--db", db]
    )
    assert result.exit_code == 2, result.output
    assert "Etc/GMT-1" in result.output


def test_a_real_place_is_still_accepted(guard: Guard) -> None:
    d = guard.may_call(DEST, NPV, paris(2026, 11, 23, 11), callee_tz="America/Cayenne")
    assert d.callee_tz == "America/Cayenne"


def test_a_bytes_caller_id_is_never_stored(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    with Guard(path) as g, pytest.raises(ValueError, match="bytes"):
        g.record_call(DEST, paris(2026, 11, 2, 11), caller_id=b"0948123456")  # type: ignore[arg-type]
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM attempts").fetchone() == (0,)


def test_purge_by_is_logged_and_said(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    with Guard(path, professional="acme", clock=lambda: paris(2026, 11, 26, 12)) as g:
        g.record_call(DEST, paris(2025, 1, 6, 11))
        report = g.purge(paris(2025, 6, 1), by="dpo@acme.fr")
    text = str(report)
    assert "'acme'" in text and "dpo@acme.fr" in text and "attempts: 1" in text
    with sqlite3.connect(path) as conn:
        [(at, removed)] = conn.execute("SELECT at, removed FROM purge_log").fetchall()
    logged = json.loads(removed)
    assert logged["by"] == "dpo@acme.fr" and logged["removed"]["attempts"] == 1
    assert at == int(paris(2026, 11, 26, 12).timestamp()) * 1_000_000


def test_purge_allows_a_few_minutes_of_skew(tmp_path: Path) -> None:
    from datetime import timedelta

    today = paris(2026, 11, 26, 12)
    with Guard(tmp_path / "l.db", clock=lambda: today) as g:
        g.purge(paris(2025, 6, 1), now=today + timedelta(minutes=4))
        with pytest.raises(ConfigurationError, match="future"):
            g.purge(paris(2025, 6, 1), now=today + timedelta(minutes=6))


@pytest.mark.parametrize(
    ("location", "shown"),
    [
        (
            "host=db.example port=5432 dbname=cg user=app password=hunter2",
            "host=db.example port=5432 dbname=cg user=app",
        ),
        (
            "postgresql://app:hun%ter2@h1:5439,h2:5432/cg?options=-csearch_path%3Dx&password=zz",
            "postgresql://app@h1:5439,h2:5432/cg",
        ),
        ("postgres://h/cg", "postgres://h/cg"),
    ],
)
def test_locations_are_read_once_and_shown_without_secrets(location: str, shown: str) -> None:
    assert is_server_url(location)
    assert describe(location) == shown


def test_file_names_that_look_like_keywords_stay_files(tmp_path: Path) -> None:
    assert not is_server_url("reports=2026.db")
    assert not is_server_url(tmp_path / "host=x.db")
    assert not is_server_url(":memory:")


@pytest.mark.parametrize("bad", [None, 12, b"l.db", object()])
def test_a_location_that_is_no_text_is_a_configuration_error(bad: object) -> None:
    with pytest.raises(ConfigurationError):
        Guard(bad)  # type: ignore[arg-type]


def test_a_keyword_string_reaches_postgresql(postgres_server: str) -> None:
    from urllib.parse import parse_qsl, urlsplit

    from conftest import postgres_schema

    with postgres_schema(postgres_server) as url:
        parts = urlsplit(url)
        options = dict(parse_qsl(parts.query))["options"].replace("\\", "\\\\")
        dsn = (
            f"host={parts.hostname} port={parts.port or 5432} dbname={parts.path.lstrip('/')} "
            f"user={parts.username} options='{options}'"
        )
        with Guard(dsn) as g:
            assert g.path.startswith("host=")
            assert g.may_call(DEST, NPV, paris(2026, 11, 23, 11)).codes == {ReasonCode.NO_CONSENT}
            g.record_consent(DEST, paris(2026, 11, 1), proof="p")
        with Guard(url) as same:  # the same schema, through the URL
            assert same.may_call(DEST, NPV, paris(2026, 11, 23, 11)).allowed


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX")
def test_a_forked_child_is_refused_on_its_parents_connections(ledger_location: str) -> None:
    with Guard(ledger_location) as g:
        g.record_consent(DEST, paris(2026, 11, 1), proof="p")
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: report what it got, never run the parent's cleanup
            code = 1
            try:
                d = g.attempt(DEST, NPV, paris(2026, 11, 23, 11))
                try:
                    g.record_call(DEST, paris(2026, 11, 23, 11))
                    wrote = "wrote"
                except LedgerError:
                    wrote = "refused"
                os.write(write, f"{sorted(c.value for c in d.codes)}|{wrote}".encode())
                code = 0
            finally:
                os._exit(code)
        os.close(write)
        _, status = os.waitpid(pid, 0)
        got = os.read(read, 1000).decode()
        os.close(read)
        assert status == 0
        assert got == "['LEDGER_UNAVAILABLE']|refused"
        # The parent's connections were not disturbed.
        assert g.attempt(DEST, NPV, paris(2026, 11, 23, 11)).allowed


def test_a_call_log_time_out_of_range_is_a_rejected_line(tmp_path: Path) -> None:
    log = tmp_path / "calls.csv"
    log.write_text(
        "number;caller_id;started_at\n"
        f"{DEST};{NPV};9999-12-31T23:30-05:00\n"
        f"{DEST};{NPV};1900-01-01T10:00\n"
    )
    with Guard(tmp_path / "l.db") as g:
        report = callguard.audit(log, db=g)
    assert [r.line for r in report.rejected] == [2, 3]
    assert "out of range" in report.rejected[0].reason
    assert "before 2016-06-01" in report.rejected[1].reason


class _Proxy:
    """A TCP proxy to the test server that can freeze: it then keeps the connections open, lets
    the kernel acknowledge what the client sends, and forwards nothing either way."""

    def __init__(self, host: str, port: int) -> None:
        import socket
        import threading

        self.target = (host, port)
        self.frozen = threading.Event()
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import socket
        import threading

        while True:
            try:
                client = self.listener.accept()[0]
            except OSError:
                return
            server = socket.create_connection(self.target)
            self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, a: object, b: object) -> None:
        import socket

        assert isinstance(a, socket.socket) and isinstance(b, socket.socket)
        try:
            while data := a.recv(65536):
                while self.frozen.is_set():
                    self.frozen.wait(3600)  # hold the bytes: never forward them
                b.sendall(data)
        except OSError:
            return

    def close(self) -> None:
        self.listener.close()
        for s in self.sockets:
            s.close()


def test_a_server_that_stops_answering_mid_session_is_bounded(postgres_server: str) -> None:
    import time
    from urllib.parse import urlsplit

    from conftest import postgres_schema

    with postgres_schema(postgres_server) as url:
        parts = urlsplit(url)
        proxy = _Proxy(parts.hostname or "127.0.0.1", parts.port or 5432)
        try:
            through = url.replace(parts.netloc, f"{parts.username}@127.0.0.1:{proxy.port}")
            with Guard(through, busy_timeout=1) as g:
                g.record_consent(DEST, paris(2026, 11, 1), proof="p")
                assert g.may_call(DEST, NPV, paris(2026, 11, 23, 11)).allowed
                proxy.frozen.set()
                for call in (g.may_call, g.attempt):
                    started = time.monotonic()
                    d = call(DEST, NPV, paris(2026, 11, 23, 11))
                    assert d.codes == {ReasonCode.LEDGER_UNAVAILABLE}
                    assert time.monotonic() - started < 8  # 2 × busy_timeout + 2 s, and a tick
        finally:
            proxy.close()
