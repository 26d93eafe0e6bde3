"""Guard.scrub: set-based, and exactly the decisions may_call gives one number at a time."""

from __future__ import annotations

import codecs
import csv
import io
import random
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from callguard import ConfigurationError, Guard, LedgerError, Outcome, Policy, Purpose, ReasonCode
from callguard._bulk import OUTPUT_COLUMNS, scrub_file
from callguard._files import sniff_encoding
from conftest import NPV, clean_on_bloctel, consented, paris

DATA = Path(__file__).parent / "data"

ALLOWED = "06 12 00 00 01"
CAPPED = "06 12 00 00 02"
COOLING = "06 12 00 00 03"
OPTED_OUT = "06 12 00 00 04"
OPTED_OUT_UNTIL = "06 12 00 00 05"
LISTED = "06 12 00 00 06"
STALE = "06 12 00 00 07"
UNCHECKED = "06 12 00 00 08"
WITHDRAWN = "06 12 00 00 09"
EXPIRED = "06 12 00 00 10"
CONTRACT = "06 12 00 00 11"
OVERSEAS = "0690123456"
ALSACE = "0388123456"

VARIED: list[object] = [
    ALLOWED, CAPPED, COOLING, OPTED_OUT, OPTED_OUT_UNTIL, LISTED, STALE, UNCHECKED, WITHDRAWN,
    EXPIRED, CONTRACT, OVERSEAS, ALSACE,
    "abc", "", "06 12 34", None, 12.5, 612000001,  # invalid, or odd types
    "+32 470 12 34 56", "0899123456", "3010",  # foreign, premium, short code
    ALLOWED, "+33612000001", "0033 6 12 00 00 02",  # the same numbers written otherwise
]  # fmt: skip

MOMENTS = [
    paris(2025, 11, 24, 11),  # bloctel-hours, Monday, open
    paris(2025, 11, 24, 21),  # evening: next_allowed_at is searched
    paris(2025, 11, 29, 11),  # Saturday
    paris(2026, 11, 23, 11),  # consent regime
    paris(2022, 6, 1, 11),  # bloctel regime (no hours, no cap)
]


@pytest.fixture
def facts(guard: Guard) -> Guard:
    """A ledger where each number of VARIED has its story."""
    for moment in (paris(2022, 5, 20), paris(2025, 11, 1), paris(2026, 11, 10)):
        guard.import_bloctel(
            [LISTED], moment,
            submitted=[ALLOWED, CAPPED, COOLING, OPTED_OUT, OPTED_OUT_UNTIL, LISTED, WITHDRAWN,
                       EXPIRED, CONTRACT, OVERSEAS, ALSACE],
        )  # fmt: skip
    guard.import_bloctel([], paris(2025, 9, 1), submitted=[STALE])
    for day in (17, 18, 19, 20):
        guard.record_call(CAPPED, paris(2025, 11, day, 11))
        guard.record_call(CAPPED, paris(2026, 11, day - 1, 11))
    guard.record_call(COOLING, paris(2025, 11, 14, 11), outcome=Outcome.REFUSED)
    guard.record_refusal(COOLING, paris(2026, 11, 2, 11))
    guard.add_optout(OPTED_OUT, paris(2020, 1, 1))
    guard.add_optout(OPTED_OUT_UNTIL, paris(2020, 1, 1), expires_at=paris(2026, 12, 31))
    for n in (ALLOWED, CAPPED, COOLING, OPTED_OUT, LISTED, CONTRACT, OVERSEAS, ALSACE):
        consented(guard, n, paris(2026, 9, 1))
    consented(guard, WITHDRAWN, paris(2026, 9, 1))
    guard.withdraw_consent(WITHDRAWN, paris(2026, 10, 1))
    consented(guard, EXPIRED, paris(2025, 9, 1))
    guard.record_contract(CONTRACT, paris(2021, 1, 1))
    guard.record_slot_consent(ALLOWED, paris(2026, 11, 23, 21), paris(2026, 11, 23, 22),
                              proof="slot")  # fmt: skip
    return guard


@pytest.mark.parametrize("at", MOMENTS, ids=lambda m: m.isoformat()[:16])
@pytest.mark.parametrize("purpose", [Purpose.PROSPECTION, Purpose.CONTRACT, Purpose.B2B])
def test_scrub_equals_may_call(facts: Guard, at: object, purpose: Purpose) -> None:
    expected = [facts.may_call(n, NPV, at, purpose=purpose) for n in VARIED]  # type: ignore[arg-type]
    got = facts.scrub(VARIED, NPV, at, purpose=purpose)  # type: ignore[arg-type]
    assert got == expected
    codes = {c for d in got for c in d.codes}
    assert ReasonCode.INVALID_NUMBER in codes and ReasonCode.UNSUPPORTED_DESTINATION in codes


def test_the_varied_set_covers_the_rules(facts: Guard) -> None:
    at = MOMENTS[0]
    by_number = dict(zip(VARIED, facts.scrub(VARIED, NPV, at), strict=True))
    assert by_number[ALLOWED].allowed
    assert by_number[CAPPED].codes == {ReasonCode.FREQUENCY_CAP}
    assert by_number[COOLING].codes == {ReasonCode.REFUSAL_COOLDOWN}
    assert by_number[OPTED_OUT].codes == {ReasonCode.OPTED_OUT}
    assert by_number[LISTED].codes == {ReasonCode.BLOCTEL_LISTED}
    assert by_number[STALE].codes == {ReasonCode.BLOCTEL_UNCHECKED}
    assert by_number[UNCHECKED].codes == {ReasonCode.BLOCTEL_UNCHECKED}
    assert by_number["abc"].codes == {ReasonCode.INVALID_NUMBER}
    assert by_number["+32 470 12 34 56"].codes == {ReasonCode.UNSUPPORTED_DESTINATION}
    assert by_number[CAPPED].next_allowed_at is not None
    consent = dict(zip(VARIED, facts.scrub(VARIED, NPV, MOMENTS[3]), strict=True))
    assert consent[WITHDRAWN].codes == {ReasonCode.CONSENT_WITHDRAWN}
    assert consent[EXPIRED].codes == {ReasonCode.CONSENT_EXPIRED}


def test_scrub_equals_may_call_with_a_bad_caller_id_and_a_policy(
    make_guard: Callable[..., Guard],
) -> None:
    g = make_guard("other", Policy(own_caller_ids=["09 48 00 00 00"]))
    clean_on_bloctel(g, ALLOWED, paris(2025, 11, 20))
    for caller in (NPV, "09 48 00 00 00", "06 12 34 56 78", "", "anonymous", "xyz"):
        numbers = [ALLOWED, UNCHECKED, "abc"]
        at = MOMENTS[0]
        assert g.scrub(numbers, caller, at) == [g.may_call(n, caller, at) for n in numbers]


@pytest.mark.parametrize("seed", range(8))
def test_scrub_equals_may_call_on_random_ledgers(guard: Guard, seed: int) -> None:
    rng = random.Random(seed)
    numbers = [f"06 12 01 {i // 100:02d} {i % 100:02d}" for i in range(40)]
    base = paris(2025, 10, 1, 9)
    for n in numbers:
        for _ in range(rng.randrange(6)):
            when = base + timedelta(hours=rng.randrange(24 * 120))
            guard.record_call(n, when, outcome=rng.choice(list(Outcome)))
        if rng.random() < 0.5:
            listed = rng.random() < 0.2
            when = base + timedelta(days=rng.randrange(120))
            guard.import_bloctel([n] if listed else [], when, submitted=[n])
        if rng.random() < 0.3:
            consented(guard, n, base + timedelta(days=rng.randrange(400)))
        if rng.random() < 0.1:
            guard.add_optout(n, base + timedelta(days=rng.randrange(120)),
                             expires_at=base + timedelta(days=130 + rng.randrange(400)))  # fmt: skip
        # Express off-hours consents, withdrawals, refusals and lifted refusals.
        if rng.random() < 0.3:
            guard.record_consent(n, base + timedelta(days=rng.randrange(400)), proof="oh",
                                 off_hours=True)  # fmt: skip
        if rng.random() < 0.1:
            guard.withdraw_consent(n, base + timedelta(days=rng.randrange(400)))
        if rng.random() < 0.3:
            refused = base + timedelta(hours=rng.randrange(24 * 400))
            guard.record_refusal(n, refused)
            if rng.random() < 0.5:
                guard.lift_refusal(n, refused + timedelta(minutes=5), reason="misclick")
    for _ in range(4):
        at = base + timedelta(minutes=rng.randrange(60 * 24 * 500))
        picked = [rng.choice(numbers) for _ in range(25)]
        assert guard.scrub(picked, NPV, at) == [guard.may_call(n, NPV, at) for n in picked]
        kw = {"department": rng.choice([None, "57", "974", "75"]), "recorded_message": True}
        assert guard.scrub(picked, NPV, at, **kw) == [
            guard.may_call(n, NPV, at, **kw)
            for n in picked  # type: ignore[arg-type]
        ]


def test_scrub_is_set_based() -> None:
    """One statement per fact table for a whole batch, not one query per number."""
    with Guard(":memory:") as g:
        numbers = [f"06 13 00 {i // 100:02d} {i % 100:02d}" for i in range(1000)]
        g.import_bloctel([], paris(2025, 11, 20), submitted=numbers[:500])
        statements: list[str] = []
        g.engine.ledger.conn.set_trace_callback(statements.append)  # type: ignore[attr-defined]
        decisions = g.scrub(numbers, NPV, paris(2025, 11, 24, 11))
        g.engine.ledger.conn.set_trace_callback(None)  # type: ignore[attr-defined]
    assert sum(d.allowed for d in decisions) == 500
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    # One per fact table a canvassing call without a banned sector reads (seven: not the
    # contracts), each joined on the key table.
    assert len(selects) == 7
    assert all("temp.callguard_keys" in s for s in selects)
    writes = [s for s in statements if s.lstrip().upper().startswith(("INSERT", "DELETE"))]
    assert all("temp.callguard_keys" in s for s in writes)  # only the temporary table


def test_scrub_keeps_order_length_and_duplicates(guard: Guard) -> None:
    clean_on_bloctel(guard, ALLOWED, paris(2025, 11, 20))
    numbers = [UNCHECKED, ALLOWED, "abc", ALLOWED, UNCHECKED]
    got = guard.scrub(iter(numbers), NPV, MOMENTS[0])
    assert [d.allowed for d in got] == [False, True, False, True, False]
    assert got[1] == got[3]
    assert guard.scrub([], NPV, MOMENTS[0]) == []


def test_scrub_is_read_only(guard: Guard) -> None:
    clean_on_bloctel(guard, ALLOWED, paris(2025, 11, 20))
    for _ in range(6):
        assert all(guard.scrub([ALLOWED] * 3, NPV, MOMENTS[0]))


def test_scrub_raises_like_may_call(guard: Guard) -> None:
    naive = MOMENTS[0].replace(tzinfo=None)
    with pytest.raises(ValueError, match="naive"):
        guard.scrub([ALLOWED], NPV, naive)
    with pytest.raises(ValueError, match="invalid Purpose"):
        guard.scrub([], NPV, MOMENTS[0], purpose="SPAM")
    with pytest.raises(ValueError, match="not one string"):
        guard.scrub("0612345678", NPV, MOMENTS[0])


def test_unreadable_ledger_refuses_valid_numbers_only() -> None:
    g = Guard(":memory:")
    g.engine.ledger.conn.close()  # type: ignore[attr-defined]
    numbers = [ALLOWED, "abc"]
    got = g.scrub(numbers, NPV, MOMENTS[0])
    assert got[0].codes == {ReasonCode.LEDGER_UNAVAILABLE}
    assert got[1].codes == {ReasonCode.INVALID_NUMBER}
    assert got == [g.may_call(n, NPV, MOMENTS[0]) for n in numbers]


def test_facts_many_equals_facts(facts: Guard) -> None:
    from callguard._numbers import parse_number
    from callguard._time import to_us

    keys = [parse_number(n).key for n in VARIED[:13]]
    now, since = to_us(MOMENTS[0]), to_us(MOMENTS[0] - timedelta(days=62))
    many = facts.engine.ledger.facts_many(facts.engine.pid, keys + keys[:3], now, since)
    assert set(many) == set(keys)
    for key in keys:
        assert many[key] == facts.engine.ledger.facts(facts.engine.pid, key, now, since), key


# -- scrub_file ------------------------------------------------------------------------------------


def scrub_to(guard: Guard, name: str, tmp_path: Path, **kw: object) -> tuple[Path, object]:
    out = tmp_path / ("out-" + name)
    summary = scrub_file(guard, DATA / name, out, NPV, MOMENTS[0], **kw)  # type: ignore[arg-type]
    return out, summary


def read_back(path: Path, delimiter: str) -> list[list[str]]:
    encoding = sniff_encoding(path)
    with open(path, encoding=encoding, newline="") as f:
        return list(csv.reader(f, delimiter=delimiter))


def test_scrub_file_excel_export(guard: Guard, tmp_path: Path) -> None:
    clean_on_bloctel(guard, "06 12 34 56 78", paris(2025, 11, 20))
    out, summary = scrub_to(guard, "contacts_excel_cp1252.csv", tmp_path)
    raw = out.read_bytes()
    assert raw.startswith(b"sep=;\r\n") and b"\r\n" in raw
    text = raw.decode("cp1252")  # same encoding as the input
    assert "Civilité;Nom;Prénom;Téléphone;Adresse;Ville;" + ";".join(OUTPUT_COLUMNS) in text
    table = read_back(out, ";")[1:]  # after the sep= line
    assert table[0][-4:] == list(OUTPUT_COLUMNS)
    body = table[1:]
    assert [r[1] for r in body] == ["Dupré", "Lefèvre", "Nguy?n", "Bad", "Sans"]
    assert body[0][6:] == ["+33612345678", "true", "", ""]
    assert body[1][4] == "Bât. B; 3e étage\r\n5 avenue Foch"  # the multi-line cell survives
    assert body[1][6:9] == ["+33698765432", "false", "BLOCTEL_UNCHECKED"]
    assert body[2][2] == '\'=HYPERLINK("http://x")'  # neutralised
    assert body[3][6:9] == ["", "false", "INVALID_NUMBER"]
    assert body[4][6] == "+33612000001"  # the 0 Excel dropped
    assert summary.rows == 5 and summary.allowed == 1  # type: ignore[attr-defined]
    assert summary.by_code == {"BLOCTEL_UNCHECKED": 3, "INVALID_NUMBER": 1}  # type: ignore[attr-defined]
    assert [r.line for r in summary.bad_lines] == [8]  # type: ignore[attr-defined]
    assert summary.blank_lines == [6]  # type: ignore[attr-defined]


def test_scrub_file_crm_utf8_bom_comma(guard: Guard, tmp_path: Path) -> None:
    out, summary = scrub_to(guard, "contacts_utf8_bom_comma.csv", tmp_path)
    raw = out.read_bytes()
    assert raw.startswith(codecs.BOM_UTF8) and b"\r\n" not in raw
    table = read_back(out, ",")
    assert table[0] == ["id", "first_name", "last_name", "Mobile Phone", "email", *OUTPUT_COLUMNS]
    assert [r[5] for r in table[1:]] == ["+33781234567", "+32470123456", "", "+33612000002"]
    assert table[2][7] == "UNSUPPORTED_DESTINATION"
    assert table[4][2] == "Petit, Jr"
    assert [r.line for r in summary.bad_lines] == [4]  # type: ignore[attr-defined]


def test_scrub_file_utf16_tab(guard: Guard, tmp_path: Path) -> None:
    out, _ = scrub_to(guard, "contacts_utf16_tab.txt", tmp_path)
    assert out.read_bytes().startswith(codecs.BOM_UTF16_LE)
    table = read_back(out, "\t")
    assert [r[3] for r in table[1:]] == ["+590690123456", "+262262123456"]


def test_scrub_file_headerless_and_plain(guard: Guard, tmp_path: Path) -> None:
    out, _ = scrub_to(guard, "contacts_latin1_tab.tsv", tmp_path)
    table = read_back(out, "\t")
    assert table[0] == ["column_1", "column_2", *OUTPUT_COLUMNS]
    assert table[1][0] == "Müller\x81" and len(table) == 3
    out, summary = scrub_to(guard, "numbers_plain.txt", tmp_path)
    table = read_back(out, ";")
    assert table[0] == ["number", *OUTPUT_COLUMNS]
    assert [r[0] for r in table[1:]] == [
        "06 12 34 56 78", "+33698765432", "0033 7 81 23 45 67", "not a number", "06.12.00.00.01"
    ]  # fmt: skip
    assert [r.line for r in summary.bad_lines] == [5]  # type: ignore[attr-defined]
    assert summary.blank_lines == [2]  # type: ignore[attr-defined]


def test_scrub_file_empty_and_header_only(guard: Guard, tmp_path: Path) -> None:
    out, summary = scrub_to(guard, "empty.csv", tmp_path)
    # An empty file still gets the added columns' header.
    assert out.read_bytes() == (";".join(OUTPUT_COLUMNS) + "\r\n").encode()
    assert summary.rows == 0  # type: ignore[attr-defined]
    out, summary = scrub_to(guard, "header_only.csv", tmp_path)
    expected = "Nom;Téléphone;" + ";".join(OUTPUT_COLUMNS) + "\r\n"
    assert out.read_bytes() == expected.encode("cp1252")
    assert summary.rows == 0  # type: ignore[attr-defined]


def test_scrub_file_every_row_accounted_for(guard: Guard, tmp_path: Path) -> None:
    src = tmp_path / "many.csv"
    lines = ["Nom;Tel"] + [
        f"n{i};06 14 {i // 10_000:02d} {i // 100 % 100:02d} {i % 100:02d}" for i in range(12_000)
    ]
    lines[501] = "n500;xx"  # line 502
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    summary = scrub_file(guard, src, out, NPV, MOMENTS[0])
    table = read_back(out, ";")
    assert len(table) == 12_001 and [r[0] for r in table[1:]] == [f"n{i}" for i in range(12_000)]
    assert summary.rows == 12_000 and [r.line for r in summary.bad_lines] == [502]


def test_scrub_file_to_a_stream_and_progress(guard: Guard) -> None:
    buffer = io.BytesIO()
    seen: list[int] = []
    scrub_file(guard, DATA / "numbers_plain.txt", buffer, NPV, MOMENTS[0], progress=seen.append)
    assert buffer.getvalue().decode().startswith("number;callguard_number;")
    assert sum(seen) == (DATA / "numbers_plain.txt").stat().st_size


def test_scrub_file_refuses_to_overwrite_its_input(guard: Guard, tmp_path: Path) -> None:
    src = tmp_path / "c.csv"
    src.write_text("Tel\n0612345678\n")
    with pytest.raises(Exception, match="is an input file"):
        scrub_file(guard, src, src, NPV, MOMENTS[0])
    assert src.read_text() == "Tel\n0612345678\n"


def test_scrub_file_writes_nothing_when_the_ledger_fails(tmp_path: Path) -> None:
    g = Guard(":memory:")
    g.engine.ledger.conn.close()  # type: ignore[attr-defined]
    out = tmp_path / "out.csv"
    with pytest.raises(LedgerError):
        scrub_file(g, DATA / "numbers_plain.txt", out, NPV, MOMENTS[0])
    assert not out.exists() and list(tmp_path.iterdir()) == []


# -- every phone column ----------------------------------------------------------------------------

THREE = ["Tél. domicile", "Tél. portable", "Tél. bureau"]


def test_scrub_file_judges_every_phone_column(guard: Guard, tmp_path: Path) -> None:
    clean_on_bloctel(guard, "06 12 34 56 78", paris(2025, 11, 20))
    out, summary = scrub_to(guard, "contacts_three_phones.csv", tmp_path)
    table = read_back(out, ";")
    groups = [f"{c} ({name})" for name in THREE for c in OUTPUT_COLUMNS]
    assert table[0] == ["Nom", *THREE, *groups, "callguard_allowed_columns"]
    dupre, martin, vide, abime = (dict(zip(table[0], r, strict=True)) for r in table[1:])
    assert dupre["callguard_number (Tél. portable)"] == "+33612345678"
    assert dupre["callguard_allowed (Tél. portable)"] == "true"
    assert dupre["callguard_reasons (Tél. domicile)"] == "BLOCTEL_UNCHECKED"
    assert dupre["callguard_allowed_columns"] == "Tél. portable"
    # An empty cell beside a number is "no number", not an invalid one.
    assert [dupre[f"{c} (Tél. bureau)"] for c in OUTPUT_COLUMNS] == ["", "false", "", ""]
    assert martin["callguard_reasons (Tél. domicile)"] == ""
    assert martin["callguard_allowed_columns"] == ""
    # A row with no number at all is refused, on its first phone column, and listed.
    assert vide["callguard_reasons (Tél. domicile)"] == "INVALID_NUMBER"
    assert vide["callguard_reasons (Tél. portable)"] == ""
    assert abime["callguard_reasons (Tél. portable)"] == "INVALID_NUMBER"
    assert summary.columns == THREE  # type: ignore[attr-defined]
    assert summary.by_column == {"Tél. domicile": 3, "Tél. portable": 3, "Tél. bureau": 1}  # type: ignore[attr-defined]
    assert summary.rows == 4 and summary.allowed == 1  # type: ignore[attr-defined]
    bad = {r.line: r.reason for r in summary.bad_lines}  # type: ignore[attr-defined]
    assert sorted(bad) == [4, 5]
    assert bad[5].startswith("Tél. domicile: ")
    assert "Tél. portable: '3,36123E+10' is Excel's scientific notation" in bad[5]
    assert "cannot be recovered" in bad[5]
    rendered = summary.render()  # type: ignore[attr-defined]
    assert rendered.startswith(
        "phone columns: Tél. domicile (3 numbers), Tél. portable (3 numbers), "
        "Tél. bureau (1 number)"
    )


def test_scrub_file_named_columns(guard: Guard, tmp_path: Path) -> None:
    out, summary = scrub_to(
        guard, "contacts_three_phones.csv", tmp_path, column=["tel portable", "4"]
    )
    table = read_back(out, ";")
    assert table[0][4:8] == [f"{c} (Tél. portable)" for c in OUTPUT_COLUMNS]
    assert table[0][-1] == "callguard_allowed_columns" and len(table[0]) == 13
    assert summary.columns == ["Tél. portable", "Tél. bureau"]  # type: ignore[attr-defined]
    out, _ = scrub_to(guard, "contacts_three_phones.csv", tmp_path, column="Tél. portable")
    assert read_back(out, ";")[0] == ["Nom", *THREE, *OUTPUT_COLUMNS]  # one column: as before


def test_rescrubbing_replaces_the_callguard_columns(guard: Guard, tmp_path: Path) -> None:
    first, _ = scrub_to(guard, "contacts_three_phones.csv", tmp_path)
    again = tmp_path / "again.csv"
    summary = scrub_file(guard, first, again, NPV, MOMENTS[0])
    assert read_back(again, ";") == read_back(first, ";")
    assert summary.columns == THREE
    single, _ = scrub_to(guard, "contacts_excel_cp1252.csv", tmp_path)
    again = tmp_path / "again-single.csv"
    scrub_file(guard, single, again, NPV, MOMENTS[0])
    assert again.read_bytes() == single.read_bytes()


def test_a_callguard_column_is_never_a_phone_column(guard: Guard, tmp_path: Path) -> None:
    src = tmp_path / "c.csv"
    src.write_text("Nom;callguard_number (Mobile);Mobile\nA;+33612345678;0698765432\n")
    out = tmp_path / "out.csv"
    summary = scrub_file(guard, src, out, NPV, MOMENTS[0])
    assert summary.columns == ["Mobile"]
    assert read_back(out, ";")[1] == ["A", "0698765432", "+33698765432", "false",
                                      "BLOCTEL_UNCHECKED", ""]  # fmt: skip


# -- outputs: atomic, never through a link, never over a device ------------------------------------


def test_scrub_file_refuses_a_symlink_or_a_device_as_output(guard: Guard, tmp_path: Path) -> None:
    victim = tmp_path / "victim.csv"
    victim.write_text("precious\n")
    link = tmp_path / "out.csv"
    link.symlink_to(victim)
    with pytest.raises(ConfigurationError, match="is a symbolic link"):
        scrub_file(guard, DATA / "numbers_plain.txt", link, NPV, MOMENTS[0])
    assert victim.read_text() == "precious\n" and link.is_symlink()
    with pytest.raises(ConfigurationError, match="not a regular file"):
        scrub_file(guard, DATA / "numbers_plain.txt", "/dev/null", NPV, MOMENTS[0])
    assert not any(p.name.startswith(".callguard-") for p in tmp_path.iterdir())


def test_scrub_file_keeps_the_mode_of_the_file_it_replaces(guard: Guard, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    out.write_text("old\n")
    out.chmod(0o640)
    scrub_file(guard, DATA / "numbers_plain.txt", out, NPV, MOMENTS[0])
    assert out.read_text().startswith("number;") and out.stat().st_mode & 0o777 == 0o640


def test_scrub_file_reads_an_xlsx_workbook(guard: Guard, tmp_path: Path) -> None:
    out, summary = scrub_to(guard, "contacts.xlsx", tmp_path)
    raw = out.read_bytes()
    assert raw.startswith(codecs.BOM_UTF8)  # a CSV Excel opens with its accents
    table = read_back(out, ";")
    assert table[0][:4] == ["Nom", "Téléphone", "Mobile", "Inscrit le"]
    assert table[1][4] == "+33612345678" and table[2][4] == "+33781234567"
    assert summary.columns == ["Téléphone", "Mobile"]  # type: ignore[attr-defined]


def test_two_phone_columns_under_one_header_are_told_apart(guard: Guard, tmp_path: Path) -> None:
    src = tmp_path / "c.csv"
    src.write_text("Nom;Tél;Tél\nA;0612345678;\n")
    summary = scrub_file(guard, src, tmp_path / "out.csv", NPV, MOMENTS[0])
    assert summary.columns == ["Tél (column 2)", "Tél (column 3)"]
    assert summary.by_column == {"Tél (column 2)": 1, "Tél (column 3)": 0}
    header = read_back(tmp_path / "out.csv", ";")[0]
    assert header[3] == "callguard_number (Tél (column 2))"
