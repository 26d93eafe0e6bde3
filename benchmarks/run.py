"""callguard benchmarks: build a ledger at scale through the public API, then measure it.

    python benchmarks/run.py                 # full scale (15+ minutes on 2 cores)
    python benchmarks/run.py --scale 0.01    # 1 %: 100 000 Bloctel numbers, 50 000 attempts...
    python benchmarks/run.py --scale 0.0005 --repeat 1     # the CI smoke run (well under a minute)

Full scale is 10 million Bloctel-checked numbers (30 % listed), 5 million attempts over 2 million
numbers, 1 million consents, 100 000 refusals and 100 000 opt-outs; ``--scale`` multiplies every
count. The ledger's facts are spread over the three legal regimes, and every decision measure is
taken in each regime (``bloctel`` on 2022-05-10, ``bloctel-hours`` on 2025-05-13, ``consent`` on
2026-11-24, all Tuesdays), in hours (10:30) and out of hours (21:30, Paris).

Each figure is printed beside a *floor* measured in the same run, on the same ledger and the same
connection type: the same questions asked with the fewest prepared statements on pre-normalised
integer keys (for ``may_call``: one combined statement, and four plain selects; and, printed
beside them and never instead of them, the four selects given the number *as written* with the
fewest plain steps to its key — ``plain_key``: separators dropped, 00/+/0 turned into 33, no
validation — since callguard receives written numbers and the integer-key floors skip that
parse), a set-based
statement with the key table as the outer loop (``scrub``), or reading and parsing a file without
judging it (``audit``, Bloctel import). Rules of the game:

* every timed call gets an input never seen before in the run (callguard caches parsed numbers;
  only a row that says "repeated" measures repeats);
* callguard and its floors alternate within each repeat, each on its own fresh inputs, and the
  order rotates between repeats;
* rates are per second of *CPU time* (``time.process_time``) of the measuring process, the median
  over ``--repeat`` runs; wall-clock rates and per-call wall latencies (p50/p99) are printed
  beside them. The ratio column is callguard's CPU time per item over the floor's.
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import math
import os
import platform
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import callguard
from callguard import Guard, Outcome, audit
from callguard._bulk import scrub_file

PARIS = ZoneInfo("Europe/Paris")
CALLER_ID = "09 48 12 34 56"
PROFESSIONAL = "acme"

# (regime, the Tuesday decisions are taken on, the Bloctel return valid on that day or None)
REGIMES: tuple[tuple[str, date, datetime | None], ...] = (
    ("bloctel", date(2022, 5, 10), datetime(2022, 4, 30, 9, 0, tzinfo=PARIS)),
    ("bloctel-hours", date(2025, 5, 13), datetime(2025, 5, 3, 9, 0, tzinfo=PARIS)),
    ("consent", date(2026, 11, 24), None),
)
HOURS = (("in hours", 10, 30), ("out of hours", 21, 30))
PACE = timedelta(milliseconds=100)
"""The time between two questions of the may_call rows (20 000 questions span 33 minutes, in
or out of hours as the row says)."""


def moment(day: date, hour: int, minute: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)


FULL = {
    "bloctel": 10_000_000,
    "attempts": 5_000_000,
    "attempt_numbers": 2_000_000,
    "consents": 1_000_000,
    "refusals": 100_000,
    "optouts": 100_000,
    "scrub": 100_000,
    "audit": 1_000_000,
    "lookups": 20_000,
    "attempt_calls": 1_000,
}
MINIMUM = {"scrub": 2_000, "audit": 3_000, "lookups": 200, "attempt_calls": 200}


def scaled(scale: float, divide: int = 1) -> dict[str, int]:
    counts = {k: max(MINIMUM.get(k, 10), int(v * scale / divide)) for k, v in FULL.items()}
    # Per-call measures do not grow with the ledger: as many calls as the population can give
    # fresh numbers to (may_call caps each batch by it), fewer for the smoke run.
    counts["lookups"] = FULL["lookups"]
    counts["attempt_calls"] = FULL["attempt_calls"] if scale >= 0.001 else MINIMUM["attempt_calls"]
    return counts


# -- the population: distinct, valid numbers without storing them -----------------------------

SPACE = 70_000_000


def national(i: int) -> str:
    """The i-th number (i < 7·10^7): a 073–079 mobile, distinct for distinct i.

    The 07 3–9 block holds no overseas prefix, and 7919 is prime to its 7·10^7 numbers, so
    ``i -> i * 7919 mod 7·10^7`` is a permutation of it.
    """
    return f"0{730_000_000 + (i * 7919 + 1234567) % SPACE}"


def key_of(i: int) -> int:
    """The ledger key of ``national(i)``: its E.164 digits as an integer."""
    return 33_000_000_000 + 730_000_000 + (i * 7919 + 1234567) % SPACE


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


class Fresh:
    """Hands out population indices never handed out before, in a scattered order.

    The population is the ``size`` Bloctel-checked numbers; once they are all used, indices come
    from beyond it (never checked), and ``overflow`` counts them so a row can say so.
    """

    def __init__(self, size: int, seed: int, *, half: bool = False) -> None:
        self.size = size
        rng = random.Random(seed)
        step = rng.randrange(size // 3 + 1, size) if size > 3 else 1
        while math.gcd(step, size) != 1:
            step += 1
        self.step, self.offset, self.used, self.overflow = step, rng.randrange(size), 0, 0
        self.outside = 0
        if half:  # a second run on the same ledger: the other half of the population
            self.used, self.outside = size // 2, size

    @property
    def left(self) -> int:
        """How many population indices are still to be handed out (half of them on ``--reuse``)."""
        return self.size - self.used

    def take(self, n: int) -> list[int]:
        out = []
        for _ in range(n):
            if self.used < self.size:
                out.append((self.offset + self.used * self.step) % self.size)
                self.used += 1
            else:
                out.append(self.beyond(1)[0])
                self.overflow += 1
        return out

    def beyond(self, n: int) -> list[int]:
        """Indices outside the population (numbers the ledger has never seen)."""
        first = self.size + self.outside
        self.outside += n
        return list(range(first, first + n))


# -- measuring ------------------------------------------------------------------------------


@dataclass
class Row:
    name: str
    unit: str
    value: float
    floor: float | None = None
    extra: dict[str, str] = field(default_factory=dict)
    four: float | None = None
    """may_call rows: the four-select floor's rate."""
    parsed: float | None = None
    """may_call rows: the rate of the four selects on the number as written (``plain_key``)."""

    @property
    def ratio(self) -> float | None:
        """callguard's cost over the floor's: how many times slower than the floor."""
        if not self.floor or not self.value:
            return None
        return self.floor / self.value


@dataclass
class Sample:
    """One timed batch: items, CPU and wall seconds, sorted per-item wall latencies (s)."""

    items: int
    cpu: float
    wall: float
    lat: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.items / self.cpu if self.cpu > 0 else float("inf")

    @property
    def wall_rate(self) -> float:
        return self.items / self.wall if self.wall > 0 else float("inf")

    def pct(self, q: float) -> float:
        return self.lat[min(len(self.lat) - 1, int(len(self.lat) * q))] * 1e6


def per_call(fn: Callable[[object], object], items: Sequence[object]) -> tuple[Sample, list]:
    """Call ``fn`` on each item: CPU and wall time of the batch, and each call's wall latency."""
    gc.collect()
    clock, cpu = time.perf_counter, time.process_time
    lat, out = [], []
    c0, w0 = cpu(), clock()
    for item in items:
        t0 = clock()
        out.append(fn(item))
        lat.append(clock() - t0)
    w1, c1 = clock(), cpu()
    lat.sort()
    return Sample(len(items), c1 - c0, w1 - w0, lat), out


def whole(fn: Callable[[], int]) -> Sample:
    """One call of ``fn`` (which returns how many items it handled), timed."""
    gc.collect()
    c0, w0 = time.process_time(), time.perf_counter()
    n = fn()
    return Sample(n, time.process_time() - c0, time.perf_counter() - w0)


def med(values: Sequence[float]) -> float:
    return statistics.median(values)


def rotate(items: list, r: int) -> list:
    """The order callguard and its floors run in, repeat ``r``: rotated so none always leads."""
    k = r % len(items)
    return items[k:] + items[:k]


def us(t: datetime) -> int:
    return (t - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(microseconds=1)


_REPORT = (
    "import resource, sys; "
    "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, file=sys.stderr)"
)


def child(code: str, *args: str) -> tuple[list[str], float]:
    """Run ``code`` in a fresh interpreter: (its stdout words, its peak RSS in MB)."""
    proc = subprocess.run(
        [sys.executable, "-c", code + "\n" + _REPORT, *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark child failed:\n{proc.stderr}")
    return proc.stdout.split(), float(proc.stderr.strip().splitlines()[-1])


def connect(db: Path) -> sqlite3.Connection:
    """The floor's connection: the same settings callguard's SQLite ledger opens with."""
    conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA cache_size = -32768")
    return conn


def professional_id(conn: sqlite3.Connection, name: str = PROFESSIONAL) -> int:
    return int(conn.execute("SELECT id FROM professionals WHERE name = ?", (name,)).fetchone()[0])


# -- building the ledger through the public API ---------------------------------------------


def write_bloctel_files(work: Path, n: int, tag: str) -> tuple[Path, Path, int]:
    """The submission (every number) and the return file (30 % listed), Bloctel's format."""
    submitted = work / f"bloctel-submitted-{tag}.csv"
    listed = work / f"bloctel-listed-{tag}.csv"
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


_IMPORT_CHILD = """
import sys, time
from datetime import datetime
from callguard import Guard
g = Guard(sys.argv[1], professional="acme")
checked = datetime.fromisoformat(sys.argv[4])
c0, w0 = time.process_time(), time.perf_counter()
r = g.import_bloctel(sys.argv[2], checked, submitted=sys.argv[3])
print(r.listed, r.clean, len(r.rejected), time.process_time() - c0, time.perf_counter() - w0)
g.close()
"""

# The floor of an import: read the two files, parse each line to an integer key without judging
# it, merge them (a listed number stays listed), and store the rows in key order in one
# transaction on a connection set up as callguard's.
_IMPORT_FLOOR_CHILD = """
import sqlite3, sys, time
db, listed, submitted, checked = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
conn = sqlite3.connect(db, isolation_level=None)
conn.execute("PRAGMA journal_mode = WAL")
conn.execute("PRAGMA synchronous = NORMAL")
conn.execute("CREATE TABLE IF NOT EXISTS checks (number INTEGER NOT NULL, "
             "checked_at INTEGER NOT NULL, listed INTEGER NOT NULL, "
             "PRIMARY KEY (number, checked_at)) WITHOUT ROWID")
def keys(path):
    with open(path, encoding="utf-8") as f:
        next(f)
        return {33_000_000_000 + int(line[1:10]) for line in f}
c0, w0 = time.process_time(), time.perf_counter()
on = keys(listed)
rows = sorted(on | keys(submitted))
conn.execute("BEGIN IMMEDIATE")
conn.executemany("INSERT INTO checks VALUES (?, ?, ?) ON CONFLICT (number, checked_at) "
                 "DO UPDATE SET listed = max(listed, excluded.listed)",
                 ((n, checked, n in on) for n in rows))
conn.execute("COMMIT")
print(time.process_time() - c0, time.perf_counter() - w0)
"""


def import_runs(
    db: Path, work: Path, counts: dict[str, int], log: Callable[[str], None]
) -> list[Row]:
    """Both Bloctel returns of the ledger (2022 and 2025), each interleaved with its floor."""
    n = counts["bloctel"]
    submitted, listed, listed_count = write_bloctel_files(work, n, "run")
    lines = n + listed_count
    mine: list[Sample] = []
    floors: list[Sample] = []
    peaks, floor_peaks = [], []
    for r, (_, _, checked) in enumerate(reversed([x for x in REGIMES if x[2] is not None])):
        assert checked is not None
        log(f"importing the Bloctel return of {checked.date()} ({lines:,} lines, child process)")
        floor_db = work / "import-floor.db"
        for suffix in ("", "-wal", "-shm"):
            Path(str(floor_db) + suffix).unlink(missing_ok=True)

        def run_mine(checked: datetime = checked) -> None:
            out, peak = child(
                _IMPORT_CHILD, str(db), str(listed), str(submitted), checked.isoformat()
            )
            assert [int(x) for x in out[:3]] == [listed_count, n - listed_count, 0], out
            mine.append(Sample(lines, float(out[3]), float(out[4])))
            peaks.append(peak)

        def run_floor(checked: datetime = checked, floor_db: Path = floor_db) -> None:
            out, peak = child(
                _IMPORT_FLOOR_CHILD, str(floor_db), str(listed), str(submitted), str(us(checked))
            )
            floors.append(Sample(lines, float(out[0]), float(out[1])))
            floor_peaks.append(peak)

        for step in rotate([run_mine, run_floor], r):
            step()
    submitted.unlink()
    listed.unlink()
    for suffix in ("", "-wal", "-shm"):
        Path(str(work / "import-floor.db") + suffix).unlink(missing_ok=True)
    return [
        Row(
            "Bloctel import",
            "lines/s",
            med([s.rate for s in mine]),
            med([s.rate for s in floors]),
            {
                "lines": f"{lines:,}",
                "wall lines/s": f"{med([s.wall_rate for s in mine]):,.0f}",
                "floor wall": f"{med([s.wall_rate for s in floors]):,.0f}",
                "peak RSS MB": f"{max(peaks):.0f}",
                "floor peak RSS MB": f"{max(floor_peaks):.0f}",
                "runs": f"{len(mine)} (the 2022 and 2025 returns)",
            },
        )
    ]


def build(db: Path, work: Path, counts: dict[str, int], log: Callable[[str], None]) -> list[Row]:
    """The ledger, through the public API; returns the import and on-disk rows."""
    Guard(db, professional=PROFESSIONAL).close()  # create and migrate outside the timings
    rows = import_runs(db, work, counts, log)
    rng = random.Random(42)
    guard = Guard(db, professional=PROFESSIONAL)
    n_numbers = counts["attempt_numbers"]
    nows = [moment(day, 10, 30) for _, day, _ in REGIMES]
    log(f"recording {counts['attempts']:,} attempts over {n_numbers:,} numbers (batch)")
    with guard.batch():
        for j in range(counts["attempts"]):
            at = rng.choice(nows) - timedelta(minutes=rng.randrange(120 * 24 * 60))
            guard.record_call(
                national(rng.randrange(n_numbers)),
                at,
                caller_id=CALLER_ID,
                outcome=Outcome.NO_ANSWER,
            )
            if j % 1_000_000 == 999_999:
                log(f"  {j + 1:,}")
    log(
        f"recording {counts['consents']:,} consents, {counts['refusals']:,} refusals, "
        f"{counts['optouts']:,} opt-outs (batch)"
    )
    consent_now = nows[-1]
    with guard.batch():
        for i in range(counts["consents"]):
            guard.record_consent(
                national(i), consent_now - timedelta(days=rng.randrange(1, 300)), proof=f"f{i}"
            )
        for _ in range(counts["refusals"]):
            guard.record_refusal(
                national(rng.randrange(n_numbers)),
                rng.choice(nows) - timedelta(days=rng.randrange(1, 120)),
            )
        for _ in range(counts["optouts"]):
            guard.add_optout(
                national(rng.randrange(counts["bloctel"])),
                rng.choice(nows) - timedelta(days=rng.randrange(1, 400)),
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


# -- may_call -------------------------------------------------------------------------------

# The questions a decision needs, on integer keys: :n the number, :now, :p the professional,
# :s30 thirty days ago (the cap), :s60 sixty days ago (the refusal cooldown), :s365 a year ago.
_BLOCTEL_Q = (
    "SELECT listed FROM bloctel_checks WHERE number = :n AND checked_at <= :now "
    "ORDER BY checked_at DESC LIMIT 1"
)
_CONSENT_Q = (
    "SELECT count(*) FROM consents WHERE professional = :p AND number = :n AND at <= :now "
    "AND at > :s365 AND (expires_at IS NULL OR expires_at > :now)"
)
_ATTEMPTS_Q = "SELECT count(*) FROM attempts WHERE professional = :p AND number = :n AND at >= :s30"
_REFUSAL_Q = "SELECT count(*) FROM refusals WHERE professional = :p AND number = :n AND at >= :s60"
_OPTOUT_Q = (
    "SELECT count(*) FROM optouts WHERE professional = :p AND number = :n AND at <= :now "
    "AND (expires_at IS NULL OR expires_at > :now) AND (removed_at IS NULL OR removed_at > :now)"
)


def floor_questions(regime: str) -> tuple[str, ...]:
    """The four questions: Bloctel (consent, in the consent regime), attempts, refusal, opt-out."""
    first = _CONSENT_Q if regime == "consent" else _BLOCTEL_Q
    return (first, _ATTEMPTS_Q, _REFUSAL_Q, _OPTOUT_Q)


def positional(sql: str, values: dict[str, int]) -> tuple[str, tuple[int, ...], int]:
    """``sql`` with ``?`` placeholders; the constant parameters in order, with the number's
    place among them left as -1 (for the caller to fill in); the number of parameters."""
    names = re.findall(r":(\w+)", sql)
    return (
        re.sub(r":\w+", "?", sql),
        tuple(-1 if m == "n" else values[m] for m in names),
        len(names),
    )


def binder(template: tuple[int, ...]) -> Callable[[int], tuple[int, ...]]:
    """The cheapest way to put the number into its places of ``template``."""
    places = [i for i, v in enumerate(template) if v == -1]
    if places == [0]:
        rest = template[1:]
        return lambda key: (key, *rest)
    if len(places) == 1:
        head, tail = template[: places[0]], template[places[0] + 1 :]
        return lambda key: (*head, key, *tail)
    return lambda key: tuple(key if v == -1 else v for v in template)


def floor_combined(conn: sqlite3.Connection, regime: str, values: dict[str, int]) -> Callable:
    """One prepared statement asking the four questions."""
    sql, template, _ = positional(
        "SELECT " + ", ".join(f"({q})" for q in floor_questions(regime)), values
    )
    bind = binder(template)
    ex = conn.execute

    def ask(key: int) -> object:
        return ex(sql, bind(key)).fetchone()

    return ask


def floor_plain(conn: sqlite3.Connection, regime: str, values: dict[str, int]) -> Callable:
    """Four prepared statements, one per question."""
    (s0, t0, _), (s1, t1, _), (s2, t2, _), (s3, t3, _) = (
        positional(q, values) for q in floor_questions(regime)
    )
    b0, b1, b2, b3 = binder(t0), binder(t1), binder(t2), binder(t3)
    ex = conn.execute

    def ask(key: int) -> object:
        return (
            ex(s0, b0(key)).fetchone(),
            ex(s1, b1(key)).fetchone(),
            ex(s2, b2(key)).fetchone(),
            ex(s3, b3(key)).fetchone(),
        )

    return ask


_NOT_DIGITS = str.maketrans("", "", " .-()+")


def plain_key(written_form: str) -> int:
    """The fewest plain steps from a written number (the forms ``written`` gives) to its ledger
    key: separators dropped, the international prefix or the trunk 0 turned into 33, the
    « (0) » of « +33 (0)7… » dropped. No validation, no numbering plan: what a floor that
    receives numbers as people write them must at least do before its selects."""
    digits = written_form.translate(_NOT_DIGITS)
    if digits[:2] == "00":
        digits = digits[2:]
    elif digits[0] == "0":
        digits = "33" + digits[1:]
    if len(digits) == 12:
        digits = digits[:2] + digits[3:]
    return int(digits)


def floor_parsed(conn: sqlite3.Connection, regime: str, values: dict[str, int]) -> Callable:
    """The four selects on a number as written: :func:`plain_key`, then the four statements."""
    four = floor_plain(conn, regime, values)

    def ask(written_form: str) -> object:
        return four(plain_key(written_form))

    return ask


def floor_params(conn: sqlite3.Connection, t: datetime) -> dict[str, int]:
    return {
        "now": us(t),
        "p": professional_id(conn),
        "s30": us(t - timedelta(days=30)),
        "s60": us(t - timedelta(days=60)),
        "s365": us(t - timedelta(days=365)),
    }


@dataclass
class Cell:
    regime: str
    hours: str
    t: datetime
    runs: dict[str, list[Sample]] = field(default_factory=dict)
    allowed: list[float] = field(default_factory=list)


def measure_may_call(
    db: Path,
    counts: dict[str, int],
    repeat: int,
    fresh: Fresh,
    log: Callable[[str], None],
    only: str | None = None,
) -> tuple[list[Row], dict[str, float]]:
    """Every regime in and out of hours (or the ``only`` one, "regime hours"), against both
    floors: rows, and the p50s by cell (the one-statement floor's as "<cell> floor")."""
    cells = [
        Cell(name, label, moment(day, h, m))
        for name, day, _ in REGIMES
        for label, h, m in HOURS
        if only in (None, f"{name} {label}")
    ]
    sides = ("callguard", "one statement", "four selects", "four selects + parse")
    # Inputs per batch: never more than the population can give fresh to every batch.
    n = max(
        MINIMUM["lookups"], min(counts["lookups"], fresh.left // (len(cells) * repeat * len(sides)))
    )
    rng = random.Random(7)
    guard = Guard(db, professional=PROFESSIONAL)
    conn = connect(db)
    warm = fresh.beyond(500)
    for c in cells:  # warm every code path and statement once, on numbers nobody measures
        for i in warm[:50]:
            guard.may_call(written(i, rng), CALLER_ID, c.t)
        p = floor_params(conn, c.t)
        for i in warm[50:100]:
            floor_combined(conn, c.regime, p)(key_of(i))
            floor_plain(conn, c.regime, p)(key_of(i))
            floor_parsed(conn, c.regime, p)(written(i, rng))
    for r in range(repeat):
        for c in cells:
            params = floor_params(conn, c.t)

            def mine(c: Cell = c) -> tuple[Sample, list]:
                # A dialer's pace: ten questions a second, each at its own instant, so a batch
                # spans several minutes (verdicts are shared within a minute, not an instant).
                inputs = [(written(i, rng), c.t + k * PACE) for k, i in enumerate(fresh.take(n))]
                return per_call(lambda x: guard.may_call(x[0], CALLER_ID, x[1]), inputs)

            def one(c: Cell = c, params: dict = params) -> tuple[Sample, list]:
                return per_call(
                    floor_combined(conn, c.regime, params), [key_of(i) for i in fresh.take(n)]
                )

            def four(c: Cell = c, params: dict = params) -> tuple[Sample, list]:
                return per_call(
                    floor_plain(conn, c.regime, params), [key_of(i) for i in fresh.take(n)]
                )

            def parsed(c: Cell = c, params: dict = params) -> tuple[Sample, list]:
                return per_call(
                    floor_parsed(conn, c.regime, params),
                    [written(i, rng) for i in fresh.take(n)],
                )

            fns = (mine, one, four, parsed)
            for side, fn in rotate(list(zip(sides, fns, strict=True)), r):
                sample, out = fn()
                c.runs.setdefault(side, []).append(sample)
                if side == "callguard":
                    c.allowed.append(100 * sum(d.allowed for d in out) / len(out))
        log(f"  may_call repeat {r + 1}/{repeat} done")
    guard.close()
    conn.close()
    rows = []
    p50s: dict[str, float] = {}
    for c in cells:
        mine_s, one_s, four_s, parsed_s = (c.runs[s] for s in sides)
        rate = med([s.rate for s in mine_s])
        one_rate = med([s.rate for s in one_s])
        four_rate = med([s.rate for s in four_s])
        parsed_rate = med([s.rate for s in parsed_s])
        p50 = med([s.pct(0.5) for s in mine_s])
        p50s[f"{c.regime} {c.hours}"] = p50
        p50s[f"{c.regime} {c.hours} floor"] = med([s.pct(0.5) for s in one_s])
        rows.append(
            Row(
                f"may_call, {c.regime}, {c.hours}",
                "decisions/s",
                rate,
                one_rate,
                {
                    "p50/p99 µs": f"{p50:.0f}/{med([s.pct(0.99) for s in mine_s]):.0f}",
                    "floor p50/p99 µs": f"{med([s.pct(0.5) for s in one_s]):.0f}/"
                    f"{med([s.pct(0.99) for s in one_s]):.0f}",
                    "wall/s": f"{med([s.wall_rate for s in mine_s]):,.0f}",
                    "4-select floor/s": f"{four_rate:,.0f} (ratio {four_rate / rate:.2f})",
                    "4-select + parse floor/s": f"{parsed_rate:,.0f} "
                    f"(ratio {parsed_rate / rate:.2f})",
                    "allowed": f"{med(c.allowed):.0f} %",
                    "inputs": f"{n:,} × {repeat}",
                },
                four_rate,
                parsed_rate,
            )
        )
    if fresh.overflow:
        rows[-1].extra["beyond the population"] = f"{fresh.overflow:,} inputs"
    return rows, p50s


def measure_repeated(db: Path, repeat: int) -> Row:
    """may_call on the same 1 000 numbers again and again: what the parse cache is worth."""
    rng = random.Random(9)
    t = moment(REGIMES[2][1], 10, 30)
    inputs = [written(i, rng) for i in range(1000)]
    guard = Guard(db, professional=PROFESSIONAL)
    for x in inputs:
        guard.may_call(x, CALLER_ID, t)
    runs = [per_call(lambda x: guard.may_call(x, CALLER_ID, t), inputs)[0] for _ in range(repeat)]
    guard.close()
    return Row(
        "may_call, consent, in hours, repeated numbers",
        "decisions/s",
        med([s.rate for s in runs]),
        extra={
            "p50 µs": f"{med([s.pct(0.5) for s in runs]):.0f}",
            "note": "1 000 numbers asked again: parse cache hits, page cache warm",
        },
    )


# -- attempt() ------------------------------------------------------------------------------

_ATTEMPT_CHILD = """
import sys, time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo
from callguard import Guard
db, first, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
g = Guard(db, professional="bench", busy_timeout=60)
now = datetime(2026, 11, 24, 10, 30, tzinfo=ZoneInfo("Europe/Paris"))
numbers = [f"0{730_000_000 + (i * 7919 + 1234567) % 70_000_000}"
           for i in range(first, first + count)]
with g.batch():  # written +33...: attempt() below parses each national form for the first time
    for n in numbers:
        g.record_consent("+33" + n[1:], now - timedelta(days=3), proof="bench")
# One-time costs (imports, holiday tables, statement cache) stay out of the timing.
g.may_call("07 99 99 99 99", "09 48 12 34 56", now, purpose="PRESS")
c0, w0 = time.process_time(), time.perf_counter()
done = 0
for k, n in enumerate(numbers):
    d = g.attempt(n, "09 48 12 34 56", now + timedelta(seconds=k % 3600), purpose="PRESS")
    done += d.attempt_id is not None
print(done, time.process_time() - c0, time.perf_counter() - w0)
"""

# The floor of attempt(): in one write transaction, count the number's attempts of the last 30
# days, insert the new one and append the same journal entry callguard appends for it (its
# chain's head read, the body's salted digest, the entry's hash: journal.append, the one code
# that writes an entry, on raw sqlite3).
_ATTEMPT_FLOOR_CHILD = """
import sqlite3, sys, time
from callguard.storage.journal import FORMAT, append, encode_values
db, first, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
conn = sqlite3.connect(db, isolation_level=None, timeout=60)
conn.execute("PRAGMA synchronous = NORMAL")
conn.execute("PRAGMA cache_size = -32768")
keys = [33_730_000_000 + (i * 7919 + 1234567) % 70_000_000 for i in range(first, first + count)]
now = 1_795_512_600_000_000
ex = conn.execute
ex("SELECT count(*) FROM attempts WHERE professional = 99 AND number = 0 AND at >= 0").fetchone()
insert = ("INSERT INTO attempts (professional, number, at, caller_id, outcome, campaign, purpose, "
          "recorded_at, voided_at, void_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id")
c0, w0 = time.process_time(), time.perf_counter()
for k, key in enumerate(keys):
    ex("BEGIN IMMEDIATE")
    ex("SELECT count(*) FROM attempts WHERE professional = 99 AND number = ? AND at >= ?",
       (key, now - 2_592_000_000_000)).fetchone()
    row = (99, key, now + k, "+33948123456", None, None, "PRESS", now, None, None)
    row_id = ex(insert, row).fetchone()[0]
    append(ex, "p99", now, "attempts", "insert", row_id, encode_values(row), FORMAT, True)
    ex("COMMIT")
print(count, time.process_time() - c0, time.perf_counter() - w0)
"""


def run_attempt_children(code: str, location: str, firsts: list[int], n: int) -> Sample:
    """One process per entry of ``firsts``, each recording ``n`` attempts on its own numbers:
    records over the summed CPU time, and over the slowest process's wall time."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, location, str(first), str(n)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for first in firsts
    ]
    total, cpu, wall = 0, 0.0, 0.0
    for p in procs:
        out, _ = p.communicate()
        if p.returncode != 0:
            raise RuntimeError("attempt benchmark child failed")
        done, c, w = out.split()
        total, cpu, wall = total + int(done), cpu + float(c), max(wall, float(w))
    if total != n * len(firsts):
        raise RuntimeError(f"only {total} of {n * len(firsts)} attempts were recorded")
    return Sample(total, cpu, wall)


def measure_attempts(db: Path, counts: dict[str, int], repeat: int, fresh: Fresh) -> list[Row]:
    n = counts["attempt_calls"]
    rows = []
    for procs in (1, 2):
        mine: list[Sample] = []
        floors: list[Sample] = []
        for r in range(repeat):
            for code, into in rotate([(_ATTEMPT_CHILD, mine), (_ATTEMPT_FLOOR_CHILD, floors)], r):
                firsts = [fresh.beyond(n)[0] for _ in range(procs)]
                into.append(run_attempt_children(code, str(db), firsts, n))
        label = f"attempt() × {procs} process{'es' if procs > 1 else ''}"
        rows.append(
            Row(
                label,
                "records/CPU-s",
                med([s.rate for s in mine]),
                med([s.rate for s in floors]),
                {
                    "wall records/s": f"{med([s.wall_rate for s in mine]):,.0f}",
                    "floor wall": f"{med([s.wall_rate for s in floors]):,.0f}",
                    "per process": f"{n:,}",
                },
            )
        )
    return rows


# -- scrub ----------------------------------------------------------------------------------


# Set-based floor: the key table is the outer loop, each fact table an index probe per key.
def scrub_floor_sql(regime: str) -> str:
    questions = (re.sub(r":n\b", "k.n", q) for q in floor_questions(regime))
    columns = ", ".join(f"({q})" for q in questions)
    return f"SELECT k.n, {columns} FROM temp.floor_keys AS k"  # noqa: S608 - fixed text


def measure_scrub(db: Path, counts: dict[str, int], repeat: int, fresh: Fresh) -> list[Row]:
    n = counts["scrub"]
    rng = random.Random(11)
    guard = Guard(db, professional=PROFESSIONAL)
    conn = connect(db)

    def picks() -> list[int]:
        # A prospect list: half numbers the ledger knows (Bloctel-checked), half it never saw.
        mixed = fresh.take(n // 2) + fresh.beyond(n - n // 2)
        rng.shuffle(mixed)
        return mixed

    rows = []
    for name, day, _ in REGIMES:
        t = moment(day, 10, 30)
        sql = scrub_floor_sql(name)
        params = floor_params(conn, t)

        def mine(t: datetime = t) -> Sample:
            numbers = [written(i, rng) for i in picks()]
            return whole(lambda: len(guard.scrub(numbers, CALLER_ID, t)))

        def floor(sql: str = sql, params: dict = params) -> Sample:
            keys = [(key_of(i),) for i in picks()]

            def run() -> int:
                conn.execute("BEGIN")
                conn.execute("CREATE TEMP TABLE IF NOT EXISTS floor_keys (n INTEGER PRIMARY KEY)")
                conn.execute("DELETE FROM temp.floor_keys")
                conn.executemany("INSERT OR IGNORE INTO temp.floor_keys (n) VALUES (?)", keys)
                got = len(conn.execute(sql, params).fetchall())
                conn.execute("COMMIT")
                return got

            return whole(run)

        mine(), floor()  # warm both paths once
        runs: dict[str, list[Sample]] = {"mine": [], "floor": []}
        for r in range(repeat):
            for side, fn in rotate([("mine", mine), ("floor", floor)], r):
                runs[side].append(fn())
        rows.append(
            Row(
                f"Guard.scrub, {name}",
                "numbers/s",
                med([s.rate for s in runs["mine"]]),
                med([s.rate for s in runs["floor"]]),
                {
                    "list": f"{n:,} (half never checked)",
                    "wall/s": f"{med([s.wall_rate for s in runs['mine']]):,.0f}",
                },
            )
        )
    rows.append(measure_scrub_file(guard, conn, db.parent, n, repeat, picks))
    guard.close()
    conn.close()
    return rows


def measure_scrub_file(
    guard: Guard,
    conn: sqlite3.Connection,
    work: Path,
    n: int,
    repeat: int,
    picks: Callable[[], list[int]],
) -> Row:
    """``scrub_file`` end to end on a CSV of ``n`` contacts (name; phone; city), under the
    regime in force (consent). Floor: the same file read and written by the csv module with four
    constant cells a row, and the set-based floor query over its keys."""
    name, day, _ = REGIMES[-1]
    t = moment(day, 10, 30)
    sql, params = scrub_floor_sql(name), floor_params(conn, t)
    rng = random.Random(13)
    source, output = work / "scrub-list.csv", work / "scrub-out.csv"
    chosen = picks()
    with source.open("w", encoding="utf-8", newline="") as f:
        f.write("nom;telephone;ville\r\n")
        f.writelines(f"Client {j};{written(i, rng)};Paris\r\n" for j, i in enumerate(chosen))
    keys = [(key_of(i),) for i in chosen]

    def mine() -> Sample:
        return whole(lambda: scrub_file(guard, source, output, CALLER_ID, t).rows)

    def floor() -> Sample:
        def run() -> int:
            with (
                source.open(encoding="utf-8", newline="") as f,
                output.open("w", encoding="utf-8", newline="") as out,
            ):
                reader = csv.reader(f, delimiter=";")
                writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
                writer.writerow([*next(reader), "a", "b", "c", "d"])
                conn.execute("BEGIN")
                conn.execute("CREATE TEMP TABLE IF NOT EXISTS floor_keys (n INTEGER PRIMARY KEY)")
                conn.execute("DELETE FROM temp.floor_keys")
                conn.executemany("INSERT OR IGNORE INTO temp.floor_keys (n) VALUES (?)", keys)
                conn.execute(sql, params).fetchall()
                conn.execute("COMMIT")
                count = 0
                for row in reader:
                    writer.writerow([*row, row[1], "false", "CONSENT_MISSING", ""])
                    count += 1
            return count

        return whole(run)

    mine(), floor()  # warm both paths once
    runs: dict[str, list[Sample]] = {"mine": [], "floor": []}
    for r in range(repeat):
        for side, fn in rotate([("mine", mine), ("floor", floor)], r):
            runs[side].append(fn())
    source.unlink()
    output.unlink(missing_ok=True)
    return Row(
        f"scrub_file, {name}",
        "rows/s",
        med([s.rate for s in runs["mine"]]),
        med([s.rate for s in runs["floor"]]),
        {
            "file": f"{n:,} rows (half never checked)",
            "wall/s": f"{med([s.wall_rate for s in runs['mine']]):,.0f}",
        },
    )


# -- audit ----------------------------------------------------------------------------------


def write_call_log(path: Path, n: int, numbers: list[int], rng: random.Random) -> None:
    """A dialer's log over the three regimes: weekday business hours, a few calls outside them,
    about three calls per number, in time order."""
    calls = []
    for _ in range(n):
        _, day, _ = rng.choice(REGIMES)
        if rng.random() < 0.05:
            at = moment(day, 0, 0) - timedelta(seconds=rng.randrange(60 * 86400))
        else:
            d = moment(day, 0, 0) - timedelta(days=rng.randrange(60))
            while d.weekday() >= 5:
                d -= timedelta(days=1)
            at = d + timedelta(
                hours=rng.choice([10, 11, 12, 14, 15, 16, 17, 18, 19]),
                seconds=rng.randrange(3600),
            )
        outcome = "REFUSED" if rng.random() < 0.02 else "NO_ANSWER"
        calls.append((at, national(rng.choice(numbers)), outcome))
    calls.sort()
    with path.open("w") as f:
        f.write("number,caller_id,started_at,outcome\n")
        for at, number, outcome in calls:
            f.write(f"{number},{CALLER_ID},{at.isoformat()},{outcome}\n")


_AUDIT_FLOOR_READS = (
    # Every fact of the log's numbers the audit's replay can read, one set-based select a table
    # (the key table the outer loop, as callguard's own read).
    "SELECT k.n, a.at FROM temp.floor_keys AS k JOIN attempts AS a "
    "ON a.professional = :p AND a.number = k.n",
    "SELECT k.n, r.at FROM temp.floor_keys AS k JOIN refusals AS r "
    "ON r.professional = :p AND r.number = k.n",
    "SELECT k.n, o.at, o.expires_at, o.removed_at FROM temp.floor_keys AS k JOIN optouts AS o "
    "ON o.professional = :p AND o.number = k.n",
    "SELECT k.n, c.at, c.expires_at, c.off_hours FROM temp.floor_keys AS k JOIN consents AS c "
    "ON c.professional = :p AND c.number = k.n",
    "SELECT k.n, b.checked_at, b.listed FROM temp.floor_keys AS k JOIN bloctel_checks AS b "
    "ON b.number = k.n",
    "SELECT k.n, w.at FROM temp.floor_keys AS k JOIN consent_withdrawals AS w "
    "ON w.professional = :p AND w.number = k.n",
    "SELECT k.n, s.start, s.end FROM temp.floor_keys AS k JOIN slot_consents AS s "
    "ON s.professional = :p AND s.number = k.n",
    "SELECT k.n, c.start, c.end FROM temp.floor_keys AS k JOIN contracts AS c "
    "ON c.professional = :p AND c.number = k.n",
)


def audit_floor(path: Path, conn: sqlite3.Connection, pid: int) -> int:
    """Read and parse the log (number to key, time to µs), read the ledger's facts about its
    numbers (set-based), sort it by number and time, and count each call's earlier calls to the
    number within 30 days: no judging."""
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    one = timedelta(microseconds=1)
    rows = []
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        for number, _caller, started, outcome in reader:
            digits = "".join(ch for ch in number if ch.isdigit())
            key = 33_000_000_000 + int(digits[1:])
            rows.append((key, (datetime.fromisoformat(started) - epoch) // one, outcome))
    conn.execute("BEGIN")
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS floor_keys (n INTEGER PRIMARY KEY)")
    conn.execute("DELETE FROM temp.floor_keys")
    conn.executemany(
        "INSERT OR IGNORE INTO temp.floor_keys (n) VALUES (?)", [(r[0],) for r in rows]
    )
    facts = 0
    for sql in _AUDIT_FLOOR_READS:
        facts += len(conn.execute(sql, {"p": pid}).fetchall())
    conn.execute("COMMIT")
    rows.sort()
    window = 30 * 86_400_000_000
    lo = 0
    over = 0
    for hi, (key, at, _) in enumerate(rows):
        while rows[lo][0] != key or rows[lo][1] < at - window:
            lo += 1
        over += hi - lo >= 4
    return len(rows)


def measure_audit(db: Path, work: Path, counts: dict[str, int], repeat: int, fresh: Fresh) -> Row:
    n = counts["audit"]
    rng = random.Random(13)
    guard = Guard(db, professional=PROFESSIONAL)
    conn = connect(db)
    pid = professional_id(conn)
    mine: list[Sample] = []
    floors: list[Sample] = []
    warm = work / "calls-warm.csv"  # one-time costs (imports, CSV set-up) stay out of the timing
    write_call_log(warm, 30, fresh.beyond(10), rng)
    audit(warm, db=guard), audit_floor(warm, conn, pid)
    warm.unlink()
    for r in range(repeat):
        path = work / f"calls-{r}.csv"  # a new log each repeat: no number seen before
        write_call_log(path, n, fresh.take(max(1, n // 3)), rng)
        steps = [
            (lambda p=path: whole(lambda: audit(p, db=guard).calls), mine),
            (lambda p=path: whole(lambda: audit_floor(p, conn, pid)), floors),
        ]
        for fn, into in rotate(steps, r):
            into.append(fn())
        path.unlink()
    guard.close()
    conn.close()
    return Row(
        "audit",
        "calls/s",
        med([s.rate for s in mine]),
        med([s.rate for s in floors]),
        {
            "log": f"{n:,} calls, ~3 per number, all three regimes",
            "wall/s": f"{med([s.wall_rate for s in mine]):,.0f}",
        },
    )


# -- flatness -------------------------------------------------------------------------------


def measure_flatness(
    work: Path,
    counts: dict[str, int],
    repeat: int,
    p50s: dict[str, float],
    log: Callable[[str], None],
) -> Row:
    """may_call p50 on a ledger 100 times smaller, beside the floor's own growth."""
    small = {k: max(10, v // 100) for k, v in counts.items()}
    db = work / "small.db"
    log(f"building the 1 % ledger for the flatness check ({small['bloctel']:,} numbers)")
    build(db, work, small, lambda _: None)
    cell = "bloctel-hours in hours"
    _, small_p50 = measure_may_call(
        db, small, repeat, Fresh(small["bloctel"], 5), lambda _: None, only=cell
    )
    growth = p50s[cell] / small_p50[cell]
    floor_growth = p50s[cell + " floor"] / small_p50[cell + " floor"]
    return Row(
        "may_call p50 growth, 1 % → this ledger",
        "×",
        growth,
        extra={
            "callguard p50 µs": f"{small_p50[cell]:.0f} → {p50s[cell]:.0f}",
            "floor p50 µs": f"{small_p50[cell + ' floor']:.0f} → {p50s[cell + ' floor']:.0f}",
            "floor growth": f"{floor_growth:.2f} ×",
            "cell": cell,
        },
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
        or "postgresql://postgres@127.0.0.1:5432/test"
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
    """may_call and attempt() on a PostgreSQL ledger at 1 % of this scale, built through the
    public API. The server does much of the work in its own processes, so these rows are wall
    clock rates (no floor); the client's CPU rate is a detail."""
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
        submitted, listed, _ = write_bloctel_files(work, small["bloctel"], "postgres")
        guard = Guard(dsn, professional=PROFESSIONAL)
        _, day, checked = REGIMES[1]
        assert checked is not None
        guard.import_bloctel(listed, checked, submitted=submitted)
        submitted.unlink()
        listed.unlink()
        t = moment(day, 10, 30)
        with guard.batch():
            for _ in range(small["attempts"]):
                at = t - timedelta(minutes=rng.randrange(120 * 24 * 60))
                guard.record_call(national(rng.randrange(small["attempt_numbers"])), at)
        fresh = Fresh(small["bloctel"], 3)
        n = max(100, min(2_000, small["bloctel"] // (repeat + 1)))
        for i in fresh.beyond(50):
            guard.may_call(national(i), CALLER_ID, t)
        runs = []
        for _ in range(repeat):
            inputs = [written(i, rng) for i in fresh.take(n)]
            runs.append(per_call(lambda x: guard.may_call(x, CALLER_ID, t), inputs)[0])
        guard.close()
        rows = [
            Row(
                "may_call on PostgreSQL, bloctel-hours, in hours (1 % ledger)",
                "decisions/s wall",
                med([s.wall_rate for s in runs]),
                None,
                {
                    "p50/p99 µs": f"{med([s.pct(0.5) for s in runs]):.0f}/"
                    f"{med([s.pct(0.99) for s in runs]):.0f}",
                    "client CPU/s": f"{med([s.rate for s in runs]):,.0f}",
                    "inputs": f"{n:,} × {repeat}",
                },
            )
        ]
        calls = max(MINIMUM["attempt_calls"], min(1_000, counts["attempt_calls"]))
        for procs in (1, 2):
            samples = []
            for _ in range(repeat):
                firsts = [fresh.beyond(calls)[0] for _ in range(procs)]
                samples.append(run_attempt_children(_ATTEMPT_CHILD, dsn, firsts, calls))
            rows.append(
                Row(
                    f"attempt() on PostgreSQL × {procs} process{'es' if procs > 1 else ''}",
                    "records/s wall",
                    med([s.wall_rate for s in samples]),
                    None,
                    {"client CPU/s": f"{med([s.rate for s in samples]):,.0f}"},
                )
            )
        return rows
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


# -- report ---------------------------------------------------------------------------------


def machine() -> str:
    cpu = platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
            cwd=Path(__file__).parent,
        ).stdout.strip()
    except OSError:
        commit = ""
    return (
        f"callguard {callguard.__version__}{f' ({commit})' if commit else ''}, "
        f"{os.cpu_count()} CPUs ({cpu}), {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )


def fmt(value: float, unit: str) -> str:
    return f"{value:,.0f} {unit}" if value >= 100 else f"{value:.2f} {unit}"


TARGETS = (
    ("may_call, every regime, in and out of hours", "four selects", 1.0),
    ("attempt() × 1 process", "a write of the attempt and its journal entry", 1.5),
    ("audit", "reading the log and the ledger's facts", 2.0),
)
"""The three ratios the engine is held to: callguard's CPU time per item over the floor's."""


def targets(rows: list[Row]) -> list[str]:
    """The three ratios (the worst may_call row against its four-select floor), each against
    its target."""
    found: dict[str, tuple[float, str]] = {}
    worst = [(r.four / r.value, r.name) for r in rows if r.four and r.value]
    if worst:
        found[TARGETS[0][0]] = max(worst)
    for name, _floor, _target in TARGETS[1:]:
        for r in rows:
            if r.name == name and r.ratio is not None:
                found[name] = (r.ratio, r.name)
    out = ["| target | floor | ratio | at most | met |", "|---|---|---|---|---|"]
    for name, floor, target in TARGETS:
        if name in found:
            ratio, where = found[name]
            shown = f"{ratio:.2f}" + (f" (worst: {where})" if where != name else "")
            out.append(f"| {name} | {floor} | {shown} | {target:.1f} | "
                       f"{'yes' if ratio <= target else 'no'} |")  # fmt: skip
        if name == TARGETS[0][0]:
            out += _parsed_variant(rows, target)
    return out


def _parsed_variant(rows: list[Row], target: float) -> list[str]:
    """The may_call target's second variant, printed beside the first and never instead of
    it: the four selects given the number as written, parsed by ``plain_key``."""
    worst = [(r.parsed / r.value, r.name) for r in rows if r.parsed and r.value]
    if not worst:
        return []
    ratio, where = max(worst)
    return [
        f"| (the same, the floor given the number as written) | four selects + a plain parse "
        f"| {ratio:.2f} (worst: {where}) | {target:.1f} | {'yes' if ratio <= target else 'no'} |"
    ]


def render(rows: list[Row], scale: float, repeat: int, seconds: float, command: str = "") -> str:
    out = [
        f"callguard benchmark — scale {scale:g}, median of {repeat}, {seconds / 60:.1f} min; "
        + machine(),
        "",
        f"Command: `{command}`",
        "",
        *targets(rows),
        "",
        "Rates are per CPU-second of the measuring process; ratio = how many times the floor's "
        "rate callguard's is (callguard CPU time per item / floor's).",
        "",
        "| measure | callguard | floor | ratio | details |",
        "|---|---|---|---|---|",
    ]
    out += [line(r) for r in rows]
    return "\n".join(out)


def line(r: Row) -> str:
    floor = "" if r.floor is None else f"{r.floor:,.0f}"
    ratio = "" if r.ratio is None else f"{r.ratio:.1f}"
    details = ", ".join(f"{k} {v}" for k, v in r.extra.items())
    return f"| {r.name} | {fmt(r.value, r.unit)} | {floor} | {ratio} | {details} |"


def _measure(
    db: Path, work: Path, counts: dict[str, int], args: argparse.Namespace, fresh: Fresh,
    log: Callable[[str], None], done: Callable[[list[Row]], list[Row]],
) -> list[Row]:  # fmt: skip
    """The SQLite rows ``--only`` asks for, each logged as soon as measured."""
    only = set(args.only.split(","))
    rows: list[Row] = []
    p50s: dict[str, float] = {}
    if "may_call" in only:
        log("may_call, every regime, in and out of hours")
        found, p50s = measure_may_call(db, counts, args.repeat, fresh, log)
        rows += done(found)
        rows += done([measure_repeated(db, args.repeat)])
    if "attempt" in only:
        log("attempt()")
        rows += done(measure_attempts(db, counts, args.repeat, fresh))
    if "scrub" in only:
        log("scrub")
        rows += done(measure_scrub(db, counts, args.repeat, fresh))
    if "audit" in only:
        log("audit")
        rows += done([measure_audit(db, work, counts, args.repeat, fresh)])
    flat = args.flatness == "yes" or (args.flatness == "auto" and args.scale >= 0.05)
    if flat and p50s:
        rows += done([measure_flatness(work, counts, args.repeat, p50s, log)])
    return rows


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every count (1 = full)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per timing (median)")
    parser.add_argument("--workdir", type=Path, default=None, help="where to build (default tmp)")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows as JSON")
    parser.add_argument(
        "--flatness",
        choices=("auto", "yes", "no"),
        default="auto",
        help="build a 100 times smaller ledger to compare may_call p50 (auto: from scale 0.05)",
    )
    parser.add_argument(
        "--only",
        default="import,may_call,attempt,scrub,audit",
        help="comma-separated measures to run after the build (default: all)",
    )
    parser.add_argument(
        "--postgres",
        default=None,
        metavar="DSN",
        help="PostgreSQL server for the PostgreSQL rows (default: $CALLGUARD_TEST_POSTGRES, "
        "else a local server if one answers)",
    )
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL rows")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure on the ledger a previous run left in --workdir (no build, no import or "
        "on-disk rows; inputs from the other half of the population)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not 0 < args.scale <= 1:
        parser.error(f"--scale must be in (0, 1], not {args.scale}")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    only = set(args.only.split(","))
    counts = scaled(args.scale)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="callguard-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    db = work / "ledger.db"
    if args.reuse and not (args.workdir and db.exists()):
        parser.error("--reuse needs --workdir holding a ledger.db from an earlier run")
    if not args.reuse:
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
    began = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - began:7.1f}s] {message}", file=sys.stderr, flush=True)

    def done(new: list[Row]) -> list[Row]:
        for row in new:  # as soon as measured: a long run that fails later keeps its figures
            log(f"  {line(row)}")
        return new

    fresh = Fresh(counts["bloctel"], 1, half=args.reuse)
    rows = [] if args.reuse else done(build(db, work, counts, log))
    if "import" not in only:
        rows = rows[1:]
    rows += _measure(db, work, counts, args, fresh, log, done)
    server = None if args.no_postgres else postgres_server(args.postgres)
    if server is not None:
        log("PostgreSQL")
        rows += done(measure_postgres(server, work, counts, args.repeat, log))
    else:
        log("no PostgreSQL server answers: no PostgreSQL rows")
    command = " ".join(["python", "benchmarks/run.py", *(sys.argv[1:] if argv is None else argv)])
    table = render(rows, args.scale, args.repeat, time.perf_counter() - began, command)
    print(table)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "scale": args.scale,
                    "repeat": args.repeat,
                    "machine": machine(),
                    "rows": [r.__dict__ | {"ratio": r.ratio} for r in rows],
                },
                indent=2,
            )
        )
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
