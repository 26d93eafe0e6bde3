"""callguard benchmarks: build a ledger at scale through the public API, then measure it.

    python benchmarks/run.py                 # full scale (about 10 minutes on 2 cores)
    python benchmarks/run.py --scale 0.01    # 1 %: 100 000 Bloctel numbers, 50 000 attempts...
    python benchmarks/run.py --scale 0.0005 --repeat 1     # the CI smoke run

Full scale is 10 million Bloctel-checked numbers (30 % listed), 5 million attempts over 2 million
numbers, 1 million consents, 100 000 refusals and 100 000 opt-outs; ``--scale`` multiplies every
count. Each figure is printed beside a *floor* measured in the same run on the same ledger: the
same questions asked with the plainest possible code (raw ``sqlite3`` prepared statements on
pre-normalised integer keys, or reading the input file without parsing it), and the ratio of
callguard to its floor. The machine is shared and noisy, so every timing is the median of
``--repeat`` runs, and the ratios matter more than the absolute rates.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from callguard import Guard, Outcome, audit

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 24, 11, 0, tzinfo=PARIS)  # a Tuesday, in the consent regime
CHECKED = datetime(2026, 7, 20, 9, 0, tzinfo=PARIS)  # Bloctel return of the opt-out regime
CALLER_ID = "09 48 12 34 56"

FULL = {
    "bloctel": 10_000_000,
    "attempts": 5_000_000,
    "attempt_numbers": 2_000_000,
    "consents": 1_000_000,
    "refusals": 100_000,
    "optouts": 100_000,
    "scrub": 1_000_000,
    "audit": 1_000_000,
    "lookups": 20_000,
}


# -- the population: distinct, valid numbers without storing them -----------------------------


def national(i: int) -> str:
    """The i-th number of the population (i < 7·10^7): a 073–079 mobile, distinct for distinct i.

    The 07 3–9 block holds no overseas prefix, and 7919 is prime to its 7·10^7 numbers, so
    ``i -> i * 7919 mod 7·10^7`` is a permutation of it.
    """
    return f"0{730_000_000 + (i * 7919 + 1234567) % 70_000_000}"


def key_of(i: int) -> int:
    return 33_000_000_000 + int(national(i)[1:])


def written(i: int, rng: random.Random) -> str:
    """The i-th number in a real-world input form: spaced, dotted, E.164, 0033, bare."""
    n = national(i)
    form = rng.randrange(5)
    if form == 0:
        return " ".join(n[j : j + 2] for j in range(0, 10, 2))
    if form == 1:
        return ".".join(n[j : j + 2] for j in range(0, 10, 2))
    if form == 2:
        return "+33" + n[1:]
    if form == 3:
        return "+33 (0)" + n[1] + " " + n[2:]
    return "0033" + n[1:]


OVERSEAS = ["0690 00 12 34", "0696 20 12 34", "0694 20 12 34", "0692 12 34 56", "0639 01 23 45"]


# -- measuring ------------------------------------------------------------------------------


@dataclass
class Row:
    name: str
    unit: str
    value: float
    floor: float | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.floor in (None, 0):
            return None
        return self.value / self.floor if self.floor else None


def median_rate(runs: Sequence[float]) -> float:
    return statistics.median(runs)


def timed(fn: Callable[[], int], repeat: int) -> float:
    """Median items per second of ``fn`` (which returns how many items it handled)."""
    rates = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        n = fn()
        rates.append(n / (time.perf_counter() - start))
    return statistics.median(rates)


def latencies(
    fn: Callable[[object], object], items: Sequence[object], repeat: int
) -> tuple[float, float, float]:
    """(rate/s, p50 µs, p99 µs): medians over ``repeat`` passes of per-call latencies."""
    rates, p50s, p99s = [], [], []
    clock = time.perf_counter
    for _ in range(repeat):
        gc.collect()
        lat = []
        start = clock()
        for item in items:
            t0 = clock()
            fn(item)
            lat.append(clock() - t0)
        total = clock() - start
        lat.sort()
        rates.append(len(items) / total)
        p50s.append(lat[len(lat) // 2] * 1e6)
        p99s.append(lat[int(len(lat) * 0.99)] * 1e6)
    return statistics.median(rates), statistics.median(p50s), statistics.median(p99s)


def child_peak_rss(code: str, *args: str) -> tuple[float, float, str]:
    """Run ``code`` in a fresh interpreter: (seconds, peak RSS in MB, its stdout)."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
    )
    seconds = time.perf_counter() - start
    peak = float(proc.stderr.strip().splitlines()[-1])
    return seconds, peak, proc.stdout


_REPORT_RSS = (
    "import resource, sys; "
    "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, file=sys.stderr)"
)


# -- building the ledger through the public API ---------------------------------------------


def write_bloctel_files(work: Path, n: int) -> tuple[Path, Path, int]:
    """The submission (every number) and the return file (30 % listed), Bloctel's format."""
    submitted = work / "bloctel-submitted.csv"
    listed = work / "bloctel-listed.csv"
    listed_count = 0
    with submitted.open("w") as sub, listed.open("w") as ret:
        sub.write("Telephone;Identifiant\n")
        ret.write("Telephone;Identifiant\n")
        for i in range(n):
            line = f"{national(i)};C{i}\n"
            sub.write(line)
            if i % 10 < 3:
                ret.write(line)
                listed_count += 1
    return submitted, listed, listed_count


_IMPORT_CHILD = (
    """
import sys
from datetime import datetime
from zoneinfo import ZoneInfo
from callguard import Guard
g = Guard(sys.argv[1], professional="acme")
r = g.import_bloctel(sys.argv[2], datetime(2026, 7, 20, 9, tzinfo=ZoneInfo("Europe/Paris")),
                     submitted=sys.argv[3])
print(r.listed, r.clean, len(r.rejected))
g.close()
"""
    + _REPORT_RSS
)

_READ_CHILD = (
    """
import sys
n = 0
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        for line in f:
            n += 1
print(n)
"""
    + _REPORT_RSS
)


def build(db: Path, work: Path, counts: dict[str, int], log: Callable[[str], None]) -> list[Row]:
    rows: list[Row] = []
    rng = random.Random(42)

    log(f"writing Bloctel files ({counts['bloctel']:,} numbers)")
    submitted, listed, listed_count = write_bloctel_files(work, counts["bloctel"])
    lines = counts["bloctel"] + listed_count
    Guard(db, professional="acme").close()  # create and migrate outside the timing

    log("importing the Bloctel return (child process, peak RSS)")
    seconds, peak, out = child_peak_rss(_IMPORT_CHILD, str(db), str(listed), str(submitted))
    floor_s, floor_peak, _ = child_peak_rss(_READ_CHILD, str(listed), str(submitted))
    got = [int(x) for x in out.split()]
    assert got == [listed_count, counts["bloctel"] - listed_count, 0], got
    rows.append(
        Row(
            "Bloctel import",
            "lines/s",
            lines / seconds,
            lines / floor_s,
            {
                "seconds": f"{seconds:.1f}",
                "peak RSS MB": f"{peak:.0f}",
                "floor RSS MB": f"{floor_peak:.0f}",
            },
        )
    )
    submitted.unlink()
    listed.unlink()

    guard = Guard(db, professional="acme")
    n_numbers = counts["attempt_numbers"]
    log(f"recording {counts['attempts']:,} attempts over {n_numbers:,} numbers (batch)")
    start = NOW - timedelta(days=120)
    with guard.batch():
        for j in range(counts["attempts"]):
            i = rng.randrange(n_numbers)
            at = start + timedelta(minutes=rng.randrange(120 * 24 * 60))
            guard.record_call(national(i), at, caller_id=CALLER_ID, outcome=Outcome.NO_ANSWER)
            if j % 1_000_000 == 999_999:
                log(f"  {j + 1:,}")
    log(
        f"recording {counts['consents']:,} consents, {counts['refusals']:,} refusals, "
        f"{counts['optouts']:,} opt-outs (batch)"
    )
    with guard.batch():
        for i in range(counts["consents"]):
            guard.record_consent(
                national(i), NOW - timedelta(days=rng.randrange(1, 300)), proof=f"form-{i}"
            )
        for _ in range(counts["refusals"]):
            guard.record_refusal(
                national(rng.randrange(n_numbers)), NOW - timedelta(days=rng.randrange(1, 120))
            )
        for _ in range(counts["optouts"]):
            guard.add_optout(
                national(rng.randrange(counts["bloctel"])),
                NOW - timedelta(days=rng.randrange(1, 400)),
            )
    guard.close()
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    total_rows = sum(
        conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608 - fixed names
        for t in ("attempts", "refusals", "optouts", "consents", "bloctel_checks")
    )
    conn.close()
    size = db.stat().st_size
    rows.append(
        Row(
            "ledger on disk",
            "MB per million rows",
            size / 1e6 / (total_rows / 1e6),
            extra={"rows": f"{total_rows:,}", "file MB": f"{size / 1e6:.0f}"},
        )
    )
    return rows


# -- the measurements ------------------------------------------------------------------------

_FLOOR_QUESTIONS = (
    "SELECT at FROM attempts WHERE professional = ? AND number = ? AND at >= ?",
    "SELECT at FROM refusals WHERE professional = ? AND number = ? AND at >= ?",
    "SELECT at, expires_at, removed_at FROM optouts WHERE professional = ? AND number = ?",
    "SELECT at, expires_at FROM consents WHERE professional = ? AND number = ?",
    "SELECT at FROM consent_withdrawals WHERE professional = ? AND number = ?",
    'SELECT start, "end" FROM slot_consents WHERE professional = ? AND number = ? AND "end" > ?',
    'SELECT start, "end" FROM contracts WHERE professional = ? AND number = ?',
    "SELECT checked_at, listed FROM bloctel_checks WHERE number = ? AND checked_at <= ? "
    "ORDER BY checked_at DESC LIMIT 1",
)


def floor_lookup(
    conn: sqlite3.Connection, now_us: int, since_us: int
) -> Callable[[object], object]:
    """The plainest code asking a decision's questions: one prepared SELECT per fact."""
    q = _FLOOR_QUESTIONS
    ex = conn.execute

    def ask(key: object) -> object:
        return (
            ex(q[0], (1, key, since_us)).fetchall(),
            ex(q[1], (1, key, since_us)).fetchall(),
            ex(q[2], (1, key)).fetchall(),
            ex(q[3], (1, key)).fetchall(),
            ex(q[4], (1, key)).fetchall(),
            ex(q[5], (1, key, now_us)).fetchall(),
            ex(q[6], (1, key)).fetchall(),
            ex(q[7], (key, now_us)).fetchall(),
        )

    return ask


def us(moment: datetime) -> int:
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (moment - epoch) // timedelta(microseconds=1)


def measure_may_call(db: Path, counts: dict[str, int], repeat: int) -> Row:
    rng = random.Random(7)
    population = counts["bloctel"]
    picks = [rng.randrange(population) for _ in range(counts["lookups"])]
    inputs: list[object] = [
        written(i, rng) if k % 50 else OVERSEAS[k % len(OVERSEAS)] for k, i in enumerate(picks)
    ]
    keys: list[object] = [key_of(i) for i in picks]
    guard = Guard(db, professional="acme")
    for item in inputs[:2000]:  # warm: caches, statement cache, OS page cache
        guard.may_call(item, CALLER_ID, NOW)
    rate, p50, p99 = latencies(lambda n: guard.may_call(n, CALLER_ID, NOW), inputs, repeat)
    allowed = sum(guard.may_call(n, CALLER_ID, NOW).allowed for n in inputs[:2000])
    guard.close()
    conn = sqlite3.connect(db)
    ask = floor_lookup(conn, us(NOW), us(NOW - timedelta(days=62)))
    for k in keys[:2000]:
        ask(k)
    f_rate, f_p50, f_p99 = latencies(ask, keys, repeat)
    conn.close()
    return Row(
        "may_call",
        "decisions/s",
        rate,
        f_rate,
        {
            "p50 µs": f"{p50:.1f}",
            "p99 µs": f"{p99:.1f}",
            "floor p50 µs": f"{f_p50:.1f}",
            "floor p99 µs": f"{f_p99:.1f}",
            "p50 ratio": f"{p50 / f_p50:.2f}",
            "allowed": f"{allowed / 20:.0f} %",
        },
    )


_ATTEMPT_CHILD = """
import sys, time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo
from callguard import Guard
db, first, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
g = Guard(db, professional="bench", busy_timeout=60)
now = datetime(2026, 11, 24, 11, tzinfo=ZoneInfo("Europe/Paris"))
numbers = [f"0{730_000_000 + (i * 7919 + 1234567) % 70_000_000}" for i in range(first, first + count)]
for n in numbers[:200]:
    g.record_consent(n, now - timedelta(days=3), proof="bench")
start = time.perf_counter()
done = 0
for k, n in enumerate(numbers):
    d = g.attempt(n, "09 48 12 34 56", now + timedelta(seconds=k % 3600), purpose="PRESS")
    done += d.attempt_id is not None
print(done, time.perf_counter() - start)
"""

_ATTEMPT_FLOOR_CHILD = """
import sqlite3, sys, time
db, first, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
conn = sqlite3.connect(db, isolation_level=None, timeout=60)
conn.execute("PRAGMA synchronous = NORMAL")
keys = [33_730_000_000 + (i * 7919 + 1234567) % 70_000_000 for i in range(first, first + count)]
now = 1_795_000_000_000_000
start = time.perf_counter()
for k, key in enumerate(keys):
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("SELECT at FROM attempts WHERE professional = 99 AND number = ? AND at >= ?",
                 (key, now - 2_678_400_000_000)).fetchall()
    conn.execute("INSERT INTO attempts (professional, number, at, recorded_at) "
                 "VALUES (99, ?, ?, ?)", (key, now + k, now))
    conn.execute("COMMIT")
print(count, time.perf_counter() - start)
"""


def run_attempt_children(code: str, location: str, firsts: list[int], n: int) -> float:
    """Start one process per entry of ``firsts``, each recording ``n`` attempts on its own
    numbers from that index; records per second of them all (over the slowest one's time)."""
    children = [
        subprocess.Popen(
            [sys.executable, "-c", code, location, str(first), str(n)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for first in firsts
    ]
    total, longest = 0, 0.0
    for child in children:
        out, _ = child.communicate()
        done, seconds = out.split()
        total, longest = total + int(done), max(longest, float(seconds))
    return total / longest


def measure_attempts(db: Path, counts: dict[str, int], repeat: int) -> list[Row]:
    n = max(500, counts["lookups"] // 4)
    base = 50_000_000  # numbers outside the built population: fresh counters

    def run(code: str, procs: int, offset: int) -> float:
        return run_attempt_children(code, str(db), [base + offset + p * n for p in range(procs)], n)

    rows = []
    for procs in (1, 2):
        mine = statistics.median(
            run(_ATTEMPT_CHILD, procs, 100_000 * (r * 4 + procs)) for r in range(repeat)
        )
        floor = statistics.median(
            run(_ATTEMPT_FLOOR_CHILD, procs, 100_000 * (r * 4 + procs + 40)) for r in range(repeat)
        )
        rows.append(
            Row(f"attempt() × {procs} process{'es' if procs > 1 else ''}", "records/s", mine, floor)
        )
    return rows


def measure_scrub(db: Path, work: Path, counts: dict[str, int], repeat: int) -> Row:
    rng = random.Random(11)
    n = counts["scrub"]
    picks = [rng.randrange(counts["bloctel"] * 2) for _ in range(n)]  # half never checked
    numbers = [written(i, rng) for i in picks]
    guard = Guard(db, professional="acme")

    def mine() -> int:
        return len(guard.scrub(numbers, CALLER_ID, NOW))

    rate = timed(mine, repeat)
    guard.close()
    keys = [key_of(i) for i in picks]
    conn = sqlite3.connect(db, isolation_level=None)

    def floor() -> int:
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS k (n INTEGER PRIMARY KEY)")
        conn.execute("DELETE FROM temp.k")
        conn.executemany("INSERT OR IGNORE INTO temp.k VALUES (?)", ((k,) for k in keys))
        since = us(NOW - timedelta(days=62))
        for sql in (
            "SELECT a.number, a.at FROM temp.k JOIN attempts a ON a.professional = 1 "
            "AND a.number = k.n AND a.at >= ?",
            "SELECT c.number, c.at FROM temp.k JOIN consents c ON c.professional = 1 "
            "AND c.number = k.n WHERE ? > 0",
            "SELECT b.number, max(b.checked_at) FROM temp.k JOIN bloctel_checks b "
            "ON b.number = k.n WHERE ? > 0 GROUP BY b.number",
        ):
            conn.execute(sql, (since,)).fetchall()
        return len(keys)

    f_rate = timed(floor, repeat)
    conn.close()
    return Row("Guard.scrub", "numbers/s", rate, f_rate, {"list": f"{n:,}"})


def measure_audit(db: Path, work: Path, counts: dict[str, int], repeat: int) -> Row:
    rng = random.Random(13)
    path = work / "calls.csv"
    n = counts["audit"]
    start = NOW - timedelta(days=90)
    business = [d for d in range(90) if (start + timedelta(days=d)).weekday() < 5]
    with path.open("w") as f:
        f.write("number,caller_id,started_at,outcome\n")
        for _ in range(n):
            # A dialer's log: weekday business hours, with a few calls outside them.
            if rng.random() < 0.05:
                at = start + timedelta(seconds=rng.randrange(90 * 86400))
            else:
                day = start.replace(hour=0, minute=0) + timedelta(days=rng.choice(business))
                at = day + timedelta(
                    hours=rng.choice([10, 11, 12, 14, 15, 16, 17, 18, 19]),
                    seconds=rng.randrange(3600),
                )
            outcome = "REFUSED" if rng.random() < 0.02 else "NO_ANSWER"
            f.write(f"{national(rng.randrange(n // 3))},{CALLER_ID},{at.isoformat()},{outcome}\n")
    guard = Guard(db, professional="acme")
    rate = timed(lambda: audit(path, db=guard).calls, repeat)
    guard.close()

    def floor() -> int:
        with path.open("rb") as f:
            return sum(1 for _ in f) - 1

    f_rate = timed(floor, repeat)
    path.unlink()
    return Row("audit", "calls/s", rate, f_rate, {"log": f"{n:,} calls"})


def measure_flatness(
    work: Path, counts: dict[str, int], repeat: int, full_p50: float, log: Callable[[str], None]
) -> Row:
    """may_call p50 on a 1 % ledger, to show latency does not grow with the ledger."""
    small = {k: max(1, v // 100) for k, v in counts.items()}
    small["lookups"] = counts["lookups"]
    db = work / "small.db"
    log("building the 1 % ledger for the flatness check")
    build(db, work, small, lambda _: None)
    row = measure_may_call(db, small, repeat)
    p50_small = float(row.extra["p50 µs"])
    return Row(
        "may_call p50, full / 1 % ledger",
        "ratio",
        full_p50 / p50_small,
        extra={"p50 µs at 1 %": f"{p50_small:.1f}", "p50 µs at full": f"{full_p50:.1f}"},
    )


# -- PostgreSQL ----------------------------------------------------------------------------


def postgres_server(requested: str | None) -> str | None:
    """The server to measure: ``--postgres``, else ``$CALLGUARD_TEST_POSTGRES``, else a local one."""
    try:
        import psycopg
    except ImportError:
        return None
    dsn = (
        requested
        or os.environ.get("CALLGUARD_TEST_POSTGRES")
        or ("postgresql://postgres@127.0.0.1:5432/test")
    )
    try:
        psycopg.connect(dsn, connect_timeout=1).close()
    except psycopg.Error:
        return None
    return dsn


def with_schema(server: str, schema: str) -> str:
    import urllib.parse

    parts = urllib.parse.urlsplit(server)
    query = [*urllib.parse.parse_qsl(parts.query), ("options", f"-csearch_path={schema}")]
    return urllib.parse.urlunsplit(
        parts._replace(query=urllib.parse.urlencode(query, quote_via=urllib.parse.quote))
    )


def measure_postgres(
    server: str, work: Path, counts: dict[str, int], repeat: int, log: Callable[[str], None]
) -> list[Row]:
    """may_call and attempt() on a PostgreSQL ledger of 1 % scale, built through the public API."""
    import psycopg

    schema = f"callguard_bench_{os.getpid()}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.execute(f"CREATE SCHEMA {schema}")
    dsn = with_schema(server, schema)
    small = {k: max(10, v // 100) for k, v in counts.items()}
    try:
        log(f"building a PostgreSQL ledger at 1 % of this scale ({small['bloctel']:,} numbers)")
        rng = random.Random(42)
        submitted, listed, _ = write_bloctel_files(work, small["bloctel"])
        guard = Guard(dsn, professional="acme")
        guard.import_bloctel(listed, CHECKED, submitted=submitted)
        start = NOW - timedelta(days=120)
        with guard.batch():
            for _ in range(small["attempts"]):
                at = start + timedelta(minutes=rng.randrange(120 * 24 * 60))
                guard.record_call(national(rng.randrange(small["attempt_numbers"])), at)
            for i in range(small["consents"]):
                guard.record_consent(national(i), NOW - timedelta(days=30), proof=f"form-{i}")
        rng = random.Random(7)
        inputs: list[object] = [
            written(rng.randrange(small["bloctel"]), rng)
            for _ in range(min(5_000, counts["lookups"]))
        ]
        for item in inputs[:500]:
            guard.may_call(item, CALLER_ID, NOW)
        rate, p50, p99 = latencies(lambda n: guard.may_call(n, CALLER_ID, NOW), inputs, repeat)
        guard.close()
        rows = [
            Row(
                "may_call on PostgreSQL (1 % ledger)",
                "decisions/s",
                rate,
                None,
                {"p50 µs": f"{p50:.0f}", "p99 µs": f"{p99:.0f}"},
            )
        ]
        n = max(200, min(2_000, counts["lookups"] // 10))
        for procs in (1, 2):
            runs = []
            for r in range(repeat):
                first = 60_000_000 + (r * 4 + procs) * 100_000
                firsts = [first + p * n for p in range(procs)]
                runs.append(run_attempt_children(_ATTEMPT_CHILD, dsn, firsts, n))
            rows.append(
                Row(
                    f"attempt() on PostgreSQL × {procs} process{'es' if procs > 1 else ''}",
                    "records/s",
                    statistics.median(runs),
                    None,
                )
            )
        return rows
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


# -- report ----------------------------------------------------------------------------------


def render(rows: list[Row], scale: float, seconds: float) -> str:
    cpu = platform.processor() or platform.machine()
    out = [
        f"callguard benchmark — scale {scale:g}, {os.cpu_count()} CPUs ({cpu}), "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"{seconds / 60:.1f} min",
        "",
        "| measure | callguard | floor | callguard / floor | details |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        value = f"{r.value:,.0f} {r.unit}" if r.value >= 100 else f"{r.value:.2f} {r.unit}"
        floor = "" if r.floor is None else f"{r.floor:,.0f}"
        ratio = "" if r.ratio is None else f"{r.ratio:.2f}"
        details = ", ".join(f"{k} {v}" for k, v in r.extra.items())
        out.append(f"| {r.name} | {value} | {floor} | {ratio} | {details} |")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every count (1 = full)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per timing (median)")
    parser.add_argument("--workdir", type=Path, default=None, help="where to build (default tmp)")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows as JSON")
    parser.add_argument("--skip-flatness", action="store_true", help="skip the 1 %% ledger")
    parser.add_argument(
        "--postgres",
        default=None,
        metavar="DSN",
        help="PostgreSQL server for the PostgreSQL column (default: "
        "$CALLGUARD_TEST_POSTGRES, else a local server if one answers)",
    )
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL column")
    args = parser.parse_args(argv)
    if not 0 < args.scale <= 1:
        parser.error(f"--scale must be in (0, 1], not {args.scale}")
    counts = {k: max(10, int(v * args.scale)) for k, v in FULL.items()}
    counts["lookups"] = max(500, min(FULL["lookups"], counts["bloctel"]))
    work = args.workdir or Path(tempfile.mkdtemp(prefix="callguard-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    db = work / "ledger.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    began = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - began:7.1f}s] {message}", file=sys.stderr, flush=True)

    def done(new: list[Row]) -> list[Row]:
        for row in new:  # as soon as measured: a long run that fails later keeps its figures
            log(f"  {render([row], args.scale, 0).splitlines()[-1]}")
        return new

    rows = done(build(db, work, counts, log))
    log("may_call")
    rows[0:0] = done([measure_may_call(db, counts, args.repeat)])
    log("attempt()")
    rows[1:1] = done(measure_attempts(db, counts, args.repeat))
    log("scrub")
    rows += done([measure_scrub(db, work, counts, args.repeat)])
    log("audit")
    rows += done([measure_audit(db, work, counts, args.repeat)])
    if not args.skip_flatness and args.scale >= 0.5:
        rows += done(
            [measure_flatness(work, counts, args.repeat, float(rows[0].extra["p50 µs"]), log)]
        )
    server = None if args.no_postgres else postgres_server(args.postgres)
    if server is not None:
        log("PostgreSQL")
        rows += done(measure_postgres(server, work, counts, args.repeat, log))
    else:
        log("no PostgreSQL server answers: no PostgreSQL column")
    table = render(rows, args.scale, time.perf_counter() - began)
    print(table)
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ | {"ratio": r.ratio} for r in rows], indent=2))
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
