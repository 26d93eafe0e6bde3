"""Journal entries' salts: a forked child draws its own, never its parent's next ones."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

from callguard.storage import journal


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork() here")
def test_a_forked_child_never_reuses_its_parents_salts() -> None:
    """The entry's salt comes from a buffer the child must not share with its parent: two
    entries with the same salt would let an erased body be guessed from the other's."""
    salts: list[bytes] = []

    def run(sql: str, params: tuple[Any, ...]) -> None:
        salts.append(params[-1])

    write: Callable[[], object] = lambda: journal.append_after(  # noqa: E731
        run, None, "p1", 1, "attempts", "insert", 1, "[1]", journal.FORMAT, True
    )
    write()  # the parent's buffer is filled
    r, w = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child's side
        try:
            write()
            os.write(w, salts[-1])
        finally:
            os._exit(0)
    os.waitpid(child, 0)
    from_child = os.read(r, 16)
    os.close(r)
    os.close(w)
    write()
    assert len(from_child) == 16
    assert from_child != salts[-1]
