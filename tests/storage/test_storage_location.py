"""One reading of a ledger location: which backend it names, wherever it is asked."""

from __future__ import annotations

from pathlib import Path

import pytest

from callguard.storage import is_server_url, kind_of
from callguard.storage.open import kind_of as open_kind_of


@pytest.mark.parametrize(
    ("location", "kind"),
    [
        ("postgresql://postgres@127.0.0.1:5432/test", "postgresql"),
        ("postgres://u:p%40ss@db/callguard", "postgresql"),
        ("postgresql://h1:5439,h2:5432/db?target_session_attrs=read-write", "postgresql"),
        ("host=db.internal dbname=callguard user=dialer", "postgresql"),
        ("dbname=callguard", "postgresql"),
        ("  host=localhost port=5433 password='a b'", "postgresql"),
        ("service=callguard", "postgresql"),
        ("callguard.db", "sqlite"),
        (":memory:", "sqlite"),
        ("/var/lib/callguard/ledger.db", "sqlite"),
        ("reports=2026.db", "sqlite"),
        ("postgresql.db", "sqlite"),
        ("./postgres://not-a-url.db", "sqlite"),
    ],
)
def test_kind_of(location: str, kind: str) -> None:
    assert kind_of(location) == kind
    assert open_kind_of(location) == kind
    assert is_server_url(location) == (kind == "postgresql")


def test_kind_of_a_path(tmp_path: Path) -> None:
    assert kind_of(tmp_path / "host=x.db") == "sqlite"
