"""No fault, clock or input ends in an allowed call, a hang or a lost fact: purges against the
real present, ledger locations, lost files, instants out of range, bad types, DST.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

import callguard
from callguard import ConfigurationError, Guard, LedgerError, Outcome, ReasonCode
from conftest import NPV, paris

DEST = "06 11 22 33 44"
UTC = timezone.utc


def codes(d: callguard.Decision) -> set[ReasonCode]:
    return {r.code for r in d.reasons}


# -- purge never looks at a future present --------------------------------------------------------


def test_purge_with_a_future_now_is_refused(tmp_path: Path) -> None:
    today = paris(2026, 11, 26, 12)
    with Guard(tmp_path / "l.db", clock=lambda: today) as g:
        g.record_consent(DEST, paris(2026, 11, 1), proof="p")
        for day in (16, 17, 18, 19):
            g.record_call(DEST, paris(2026, 11, day, 11))
        with pytest.raises(ConfigurationError, match="future"):
            g.purge(paris(2026, 11, 23), now=paris(2029, 12, 1))
        with pytest.raises(ConfigurationError):
            g.purge(paris(2026, 11, 23))
        # Nothing was removed: the fifth call is still refused.
        assert codes(g.may_call(DEST, NPV, paris(2026, 11, 26, 11))) == {ReasonCode.FREQUENCY_CAP}


def test_purge_log_names_who_when_and_what(tmp_path: Path) -> None:
    today = paris(2026, 11, 26, 12)
    with Guard(tmp_path / "l.db", clock=lambda: today) as g:
        g.record_call(DEST, paris(2025, 1, 6, 11))
        report = g.purge(paris(2025, 6, 1))
        assert report.total == 1
        text = str(report)
        assert "acme" in text or "default" in text
        assert "attempts" in text


# -- ledger locations -------------------------------------------------------------------------------


def test_a_libpq_keyword_string_is_never_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    dsn = "host=127.0.0.1 port=1 dbname=test user=nobody password=s3cret connect_timeout=1"
    with pytest.raises(LedgerError) as info:
        Guard(dsn)
    assert "s3cret" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u@h1.invalid:5439,h2.invalid:5432/db?connect_timeout=1",
        "postgresql://u@127.0.0.1:notaport/db",
        "postgresql://u:p%zz-secret@127.0.0.1:1/db?connect_timeout=1",
        "postgresql://u:p%41ss@127.0.0.1:1/db?connect_timeout=1",
    ],
)
def test_server_urls_fail_cleanly_and_never_show_the_password(url: str) -> None:
    with pytest.raises(LedgerError) as info:
        Guard(url)
    text = str(info.value) + repr(info.value)
    assert "secret" not in text and "p%41ss" not in text and "pAss" not in text


def test_a_server_that_accepts_but_never_answers_is_bounded() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        started = time.monotonic()
        with pytest.raises(LedgerError):
            Guard(f"postgresql://u@127.0.0.1:{port}/db", busy_timeout=1)
        assert time.monotonic() - started < 10
    finally:
        stop.set()
        thread.join()
        for s in held:
            s.close()
        listener.close()


# -- lost or replaced files ---------------------------------------------------------------------------


def test_a_ledger_deleted_under_a_running_guard_fails_closed(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    with Guard(path) as g:
        g.record_consent(DEST, paris(2026, 11, 1), proof="p")
        os.unlink(path)
        d = g.attempt(DEST, NPV, paris(2026, 11, 23, 11))
        assert codes(d) == {ReasonCode.LEDGER_UNAVAILABLE}
        assert d.attempt_id is None
        with pytest.raises(LedgerError, match=r"l\.db"):
            g.record_call(DEST, paris(2026, 11, 23, 11))


def test_a_ledger_replaced_under_a_running_guard_fails_closed(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    other = tmp_path / "other.db"
    Guard(other).close()
    with Guard(path) as g:
        g.record_consent(DEST, paris(2026, 11, 1), proof="p")
        os.replace(other, path)
        d = g.attempt(DEST, NPV, paris(2026, 11, 23, 11))
        assert codes(d) == {ReasonCode.LEDGER_UNAVAILABLE}


# -- batches ------------------------------------------------------------------------------------------


def test_attempt_inside_a_batch_is_refused(guard: Guard) -> None:
    guard.record_consent(DEST, paris(2026, 11, 1), proof="p")
    with pytest.raises(ConfigurationError, match="batch"), guard.batch():
        guard.attempt(DEST, NPV, paris(2026, 11, 23, 11))
    assert guard.may_call(DEST, NPV, paris(2026, 11, 23, 11)).allowed


# -- instants and types at the boundary ---------------------------------------------------------------


@pytest.mark.parametrize(
    "at",
    [
        datetime(9999, 12, 31, 23, 30, tzinfo=UTC),
        datetime(2101, 1, 1, tzinfo=UTC),
        datetime(2016, 5, 31, 12, tzinfo=UTC),
        datetime(1, 1, 1, tzinfo=UTC),
    ],
)
def test_writes_refuse_instants_out_of_range(guard: Guard, at: datetime) -> None:
    with pytest.raises(ValueError, match=str(at.year)):
        guard.record_call(DEST, at)
    with pytest.raises(ValueError):
        guard.record_refusal(DEST, at)
    with pytest.raises(ValueError):
        guard.record_consent(DEST, at, proof="p")
    with pytest.raises(ValueError):
        guard.may_call(DEST, NPV, at)
    # Nothing was written: a later decision still works.
    assert guard.may_call(DEST, NPV, paris(2026, 11, 23, 11)).codes == {ReasonCode.NO_CONSENT}


def test_record_outcome_of_an_absurd_id_is_a_value_error(guard: Guard) -> None:
    for bad in (2**70, -1, 0):
        with pytest.raises(ValueError):
            guard.record_outcome(bad, Outcome.ANSWERED)
    with pytest.raises(ValueError):
        guard.record_outcome("12", Outcome.ANSWERED)  # type: ignore[arg-type]


def test_bad_types_are_value_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Guard(None)  # type: ignore[arg-type]
    with Guard(tmp_path / "l.db") as g:
        with pytest.raises(ValueError):
            g.import_bloctel(None, paris(2026, 11, 1))  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            g.record_call(DEST, paris(2026, 11, 2, 11), caller_id=b"0948123456")  # type: ignore[arg-type]
        assert codes(g.may_call(DEST, b"0948123456", paris(2026, 11, 2, 11))) >= {
            ReasonCode.CALLER_ID_INVALID
        }


# -- DST readings of a naive time, and zones that are not places ---------------------------------------


def _check_json(*args: str) -> dict[str, object]:
    import json

    from callguard.cli import cli

    result = CliRunner().invoke(cli, ["check", *args, "--json"], catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output
    return dict(json.loads(result.stdout))


@pytest.mark.parametrize(
    ("naive", "utc"),
    [
        ("2026-03-29T02:30", "2026-03-29T01:30:00+00:00"),  # gap: the later wall-clock reading
        ("2026-10-25T02:30", "2026-10-25T00:30:00+00:00"),  # fold: the first (summer) reading
    ],
)
def test_naive_times_in_a_dst_change(tmp_path: Path, naive: str, utc: str) -> None:
    db = str(tmp_path / "l.db")
    Guard(db).close()
    out = _check_json(DEST, "--caller-id", NPV, "--at", naive, "--db", db)
    assert datetime.fromisoformat(str(out["at"])) == datetime.fromisoformat(utc)


NOW = paris(2026, 11, 23, 11)


@pytest.mark.parametrize("zone", ["UTC", "Factory", "Etc/GMT+3", "GMT"])
def test_a_zone_that_is_no_place_is_refused(guard: Guard, zone: str) -> None:
    with pytest.raises(ValueError, match=zone.replace("+", r"\+")):
        guard.may_call(DEST, NPV, NOW, callee_tz=zone)
