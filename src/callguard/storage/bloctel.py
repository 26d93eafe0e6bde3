"""A Bloctel return's keys, merged in key order for one ordered write.

An import reads millions of keys in file order. Writing them one by one into a B-tree keyed by
number is random-order I/O; here they are sorted once, duplicates collapse (a number both listed
and clean stays listed), and the result is a single array in key order: each entry is
``key * 2 + listed``, so the order of the entries is the order of the keys and one integer
carries both. The SQLite ledger writes it in that order and digests it for the journal without
reading it back.

The sort runs on numpy when it is installed (``pip install "callguard-fr[fast-import]"``), and
in pure Python otherwise; tests/test_import_pipeline.py holds both equal to a plain
``sorted(set(...))`` reference.
"""

from __future__ import annotations

import bisect
import hashlib
from array import array
from collections.abc import Iterable, Iterator
from itertools import chain, filterfalse, repeat
from operator import add, and_, lshift, rshift
from typing import Any

__all__ = ["checks_digest", "json_chunks", "merge_checks"]

_CHUNK = 1 << 20
_DIGEST_CHUNK = 1 << 16
# Keys are grouped by value into buckets this wide (about a million numbers of the national plan)
# so that only one bucket at a time is a list of Python ints.
_BUCKET_BITS = 20
_SUFFIX = (",0\n", ",1\n")


def _drain(keys: array[int]) -> Iterator[array[int]]:
    """Chunks of ``keys`` from its end, each removed as it is handed out, so that the memory of
    a large array is given back while its copy elsewhere grows."""
    while keys:
        chunk = keys[-_CHUNK:]
        del keys[-_CHUNK:]
        yield chunk


def _as_array(keys: Iterable[int]) -> array[int]:
    return keys if isinstance(keys, array) and keys.typecode == "q" else array("q", keys)


def merge_checks(listed: Iterable[int], submitted: Iterable[int]) -> tuple[Any, int, int]:
    """(``key * 2 + listed`` in key order, one per distinct key; distinct listed; distinct
    clean). A key both listed and submitted is listed. ``array('q')`` inputs are emptied as
    they are read (their memory goes back as the sorted copy grows).

    The first item is an ``array('q')``, or a numpy ``int64`` array when numpy is installed:
    a sequence of ints either way.
    """
    listed_keys, submitted_keys = _as_array(listed), _as_array(submitted)
    try:
        import numpy
    except ImportError:
        return _merge_python(listed_keys, submitted_keys)
    return _merge_numpy(numpy, listed_keys, submitted_keys)


def _merge_numpy(np: Any, listed: array[int], submitted: array[int]) -> tuple[Any, int, int]:
    total = len(listed) + len(submitted)
    enc = np.empty(total, dtype=np.int64)
    end = total
    for flag, keys in ((0, submitted), (1, listed)):
        for chunk in _drain(keys):
            part = enc[end - len(chunk) : end]
            part[:] = np.frombuffer(chunk, dtype=np.int64)
            part <<= 1
            part |= flag
            end -= len(chunk)
    enc.sort()
    # The last entry of each key is its listed one when there is one (2k + 1 > 2k). They are
    # moved to the front of the same array a chunk at a time (the write position never passes
    # the read one), so no second array of the whole size is ever allocated.
    kept = n_listed = 0
    for start in range(0, total, _CHUNK):
        stop = min(start + _CHUNK, total)
        nxt = enc[start + 1 : stop + 1] >> 1
        last = np.ones(stop - start, dtype=bool)
        np.not_equal(nxt, enc[start : start + len(nxt)] >> 1, out=last[: len(nxt)])
        chosen = enc[start:stop][last]
        enc[kept : kept + len(chosen)] = chosen
        kept += len(chosen)
        n_listed += int(np.count_nonzero(chosen & 1))
    return enc[:kept], n_listed, kept - n_listed


def _merge_python(listed: array[int], submitted: array[int]) -> tuple[array[int], int, int]:
    """Each chunk is sorted (C) and cut into key-range buckets (bisect); each bucket, a few
    sorted runs, is then sorted again (timsort merges runs), deduplicated and merged."""
    buckets: dict[int, tuple[array[int], array[int]]] = {}
    for flag, keys in ((1, listed), (0, submitted)):
        for chunk in _drain(keys):
            ordered = sorted(chunk)
            start = 0
            while start < len(ordered):
                bucket = ordered[start] >> _BUCKET_BITS
                stop = bisect.bisect_left(ordered, (bucket + 1) << _BUCKET_BITS, start)
                if bucket not in buckets:
                    buckets[bucket] = (array("q"), array("q"))
                buckets[bucket][flag].extend(ordered[start:stop])
                start = stop
    merged: array[int] = array("q")
    n_listed = n_clean = 0
    for bucket in sorted(buckets):
        clean_keys, listed_keys = buckets.pop(bucket)
        on_list = list(dict.fromkeys(sorted(listed_keys)))
        listed_set = set(on_list)
        clean = list(filterfalse(listed_set.__contains__, dict.fromkeys(sorted(clean_keys))))
        n_listed += len(on_list)
        n_clean += len(clean)
        merged.extend(
            sorted(
                chain(
                    map(add, map(lshift, on_list, repeat(1)), repeat(1)),
                    map(lshift, clean, repeat(1)),
                )
            )
        )
    return merged, n_listed, n_clean


def _tolist(chunk: Any) -> list[int]:
    return chunk.tolist() if hasattr(chunk, "tolist") else list(chunk)


def _is_numpy(merged: Any) -> bool:
    return hasattr(merged, "dtype")


def _decimal_rows(numbers: Any, suffix: list[Any]) -> bytes:
    """Ascending non-negative int64s written in decimal, each followed by ``suffix`` (bytes as
    uint8 scalars or per-row arrays), as one buffer: numpy's way to do what ``str`` does row by
    row. Sorted numbers come in runs of equal width; each run is one fixed-width matrix."""
    import numpy as np

    parts: list[bytes] = []
    start, total = 0, len(numbers)
    while start < total:
        width = len(str(int(numbers[start])))
        stop = int(np.searchsorted(numbers, 10**width, side="left")) if width < 19 else total
        rows = numbers[start:stop]
        matrix = np.empty((stop - start, width + len(suffix)), dtype=np.uint8)
        rest = rows.copy()
        for column in range(width - 1, -1, -1):
            matrix[:, column] = rest % 10 + 48
            rest //= 10
        for i, extra in enumerate(suffix):
            matrix[:, width + i] = extra if np.isscalar(extra) else extra[start:stop]
        parts.append(matrix.tobytes())
        start = stop
    return b"".join(parts)


def json_chunks(merged: Any, size: int = 1 << 16) -> Iterator[str]:
    """The merged entries as JSON arrays of ``size`` integers, for ``json_each``."""
    for start in range(0, len(merged), size):
        chunk = merged[start : start + size]
        if _is_numpy(merged):
            yield "[" + _decimal_rows(chunk, [44]).decode("ascii")[:-1] + "]"  # 44: ","
        else:
            yield "[" + ",".join(map(str, chunk)) + "]"


def checks_digest(merged: Any) -> tuple[int, str]:
    """``journal.bloctel_digest`` of the rows ``merged`` writes: the same count and SHA-256,
    built a chunk at a time instead of a row at a time."""
    h = hashlib.sha256()
    for start in range(0, len(merged), _DIGEST_CHUNK):
        chunk = merged[start : start + _DIGEST_CHUNK]
        if _is_numpy(merged):
            h.update(_decimal_rows(chunk >> 1, [44, (chunk & 1) + 48, 10]))  # "k,f\n"
            continue
        keys = map(str, map(rshift, chunk, repeat(1)))
        flags = map(_SUFFIX.__getitem__, map(and_, chunk, repeat(1)))
        h.update("".join(map(add, keys, flags)).encode())
    return len(merged), h.hexdigest()
