"""Where callguard's time goes: profile each benchmarked operation on a benchmark ledger.

    python benchmarks/profile.py --scale 0.01                  # builds the ledger in a tmp dir
    python benchmarks/profile.py --scale 0.01 --workdir DIR    # reuses DIR/ledger.db if there
    python benchmarks/profile.py --only may_call,scrub --tree  # also print pyinstrument's tree

Each operation runs under pyinstrument (a sampling profiler, so Python-heavy code is not
distorted the way a tracing profiler distorts it) on fresh inputs, as in ``run.py``; for each, the
functions with the most *own* time are listed with their share of the operation's time, then
callguard's functions with the most time *including* what they call.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import run as bench
from callguard import Guard, audit


def summarise(session: object, top: int) -> str:
    """Own and inclusive time by function, as % of the whole profile."""
    root = session.root_frame()  # type: ignore[attr-defined]
    if root is None:
        return "  (no samples)"
    total = root.time or 1e-9
    own: dict[str, float] = defaultdict(float)
    inclusive: dict[str, float] = defaultdict(float)

    def walk(frame: object, seen: frozenset[str]) -> None:
        name = f"{frame.function} ({frame.file_path_short}:{frame.line_no})"  # type: ignore[attr-defined]
        children = [c for c in frame.children if not c.is_synthetic]  # type: ignore[attr-defined]
        own[name] += frame.time - sum(c.time for c in children)  # type: ignore[attr-defined]
        if name not in seen:  # recursion counts once
            inclusive[name] += frame.time  # type: ignore[attr-defined]
        for child in children:
            walk(child, seen | {name})

    walk(root, frozenset())
    lines = [f"  total {total:.2f} s sampled; own time:"]
    for name, t in sorted(own.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"    {100 * t / total:5.1f} %  {name}")
    lines.append("  including callees (callguard only):")
    mine = [(n, t) for n, t in inclusive.items() if "callguard" in n]
    for name, t in sorted(mine, key=lambda kv: -kv[1])[:top]:
        lines.append(f"    {100 * t / total:5.1f} %  {name}")
    return "\n".join(lines)


def profile(label: str, fn: Callable[[], object], top: int, tree: bool) -> None:
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0002)
    profiler.start()
    fn()
    profiler.stop()
    print(f"\n## {label}")
    print(summarise(profiler.last_session, top))
    if tree:
        print(profiler.output_text(unicode=True, show_all=False))


def _may_call(guard: Guard, fresh: bench.Fresh, rng: random.Random, args: Any) -> None:
    for name, day, _ in bench.REGIMES:
        for label, h, m in bench.HOURS:
            t = bench.moment(day, h, m)
            inputs = [bench.written(i, rng) for i in fresh.take(args.calls)]
            for i in fresh.beyond(50):  # one-time loads (holiday tables...) stay out
                guard.may_call(bench.national(i), bench.CALLER_ID, t)

            def calls(inputs: list[str] = inputs, t: object = t) -> None:
                for x in inputs:
                    guard.may_call(x, bench.CALLER_ID, t)  # type: ignore[arg-type]

            profile(f"may_call, {name}, {label} ({args.calls:,} calls)", calls, args.top, args.tree)


def _attempt(guard: Guard, fresh: bench.Fresh, args: Any) -> None:
    t = bench.moment(bench.REGIMES[2][1], 10, 30)
    numbers = [bench.national(i) for i in fresh.beyond(args.calls)]
    with guard.batch():
        for n in numbers:
            guard.record_consent("+33" + n[1:], t - timedelta(days=3), proof="profile")

    for i in fresh.beyond(20):
        guard.may_call(bench.national(i), bench.CALLER_ID, t)

    def attempts() -> None:
        for k, n in enumerate(numbers):
            guard.attempt(n, bench.CALLER_ID, t + timedelta(seconds=k % 3600), purpose="PRESS")

    profile(f"attempt, consent, in hours ({args.calls:,} calls)", attempts, args.top, args.tree)


def _scrub(
    guard: Guard, fresh: bench.Fresh, rng: random.Random, counts: dict[str, int], args: Any
) -> None:
    for name, day, _ in bench.REGIMES:
        t = bench.moment(day, 10, 30)
        n = max(counts["scrub"], 20_000)
        picks = fresh.take(n // 2) + fresh.beyond(n - n // 2)
        rng.shuffle(picks)
        numbers = [bench.written(i, rng) for i in picks]
        profile(
            f"scrub, {name} ({n:,} numbers)",
            lambda numbers=numbers, t=t: guard.scrub(numbers, bench.CALLER_ID, t),
            args.top,
            args.tree,
        )


def _audit(
    guard: Guard, db: Path, work: Path, fresh: bench.Fresh, rng: random.Random,
    counts: dict[str, int], args: Any,
) -> None:  # fmt: skip
    path = work / "profile-calls.csv"
    n = max(counts["audit"], 30_000)
    bench.write_call_log(path, n, fresh.take(n // 3), rng)
    profile(f"audit ({n:,} calls)", lambda: audit(path, db=guard), args.top, args.tree)
    path.unlink()


def _import_bloctel(work: Path, counts: dict[str, int], args: Any) -> None:
    scratch = work / "profile-import.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(scratch) + suffix).unlink(missing_ok=True)
    submitted, listed, _ = bench.write_bloctel_files(work, counts["bloctel"], "profile")
    g = Guard(scratch, professional=bench.PROFESSIONAL)
    checked = bench.REGIMES[1][2]
    profile(
        f"import_bloctel ({counts['bloctel']:,} numbers, 30 % listed)",
        lambda: g.import_bloctel(listed, checked, submitted=submitted),  # type: ignore[arg-type]
        args.top,
        args.tree,
    )
    g.close()
    for p in (submitted, listed, *(Path(str(scratch) + s) for s in ("", "-wal", "-shm"))):
        p.unlink(missing_ok=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.01)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--calls", type=int, default=5_000, help="may_call/attempt calls each")
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--tree", action="store_true", help="print pyinstrument's call trees")
    parser.add_argument("--only", default="may_call,attempt,scrub,audit,import_bloctel")
    args = parser.parse_args()
    only = set(args.only.split(","))
    counts = bench.scaled(args.scale)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="callguard-profile-"))
    work.mkdir(parents=True, exist_ok=True)
    db = work / "ledger.db"
    if not db.exists():
        print(f"building the scale {args.scale:g} ledger in {work}", file=sys.stderr)
        bench.build(db, work, counts, lambda m: print(m, file=sys.stderr))
    # Fresh inputs: start past anything run.py hands out at this scale.
    fresh = bench.Fresh(counts["bloctel"], 99)
    fresh.outside = 5_000_000
    rng = random.Random(3)
    guard = Guard(db, professional=bench.PROFESSIONAL)
    print(f"# profiles at scale {args.scale:g}; " + bench.machine())
    if "may_call" in only:
        _may_call(guard, fresh, rng, args)
    if "attempt" in only:
        _attempt(guard, fresh, args)
    if "scrub" in only:
        _scrub(guard, fresh, rng, counts, args)
    if "audit" in only:
        _audit(guard, db, work, fresh, rng, counts, args)
    guard.close()
    if "import_bloctel" in only:
        _import_bloctel(work, counts, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
