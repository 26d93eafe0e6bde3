"""The HTML control pack: what a controller reads, in both languages, escaped, deterministic, and
rendered by a real browser with no network."""

from __future__ import annotations

import builtins
import functools
import re
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("matplotlib", reason='the report needs matplotlib: pip install ".[report]"')

from callguard._html_report import (
    CallRow,
    ConsentRow,
    RefusalRow,
    ReportData,
    Verification,
    _max_in_window,
    render_report,
)

UTC = timezone.utc
XSS = "<script>alert('x')</script>"
CHROMIUM = "/usr/bin/chromium"
REUNION = "+262692123456"
PARIS_MOBILE = "+33612345678"


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def sample(**changes: Any) -> ReportData:
    """A small pack: lawful calls, a Réunion call outside hours, a cap breach, consents and a
    refusal, with hostile text in every free field."""
    calls = [
        CallRow(PARIS_MOBILE, at(2026, 11, 16, 10, 0), "Europe/Paris", "NO_ANSWER", "CONSENT"),
        CallRow(PARIS_MOBILE, at(2026, 11, 17, 10, 0), "Europe/Paris", "NO_ANSWER", "CONSENT"),
        CallRow(PARIS_MOBILE, at(2026, 11, 18, 10, 0), "Europe/Paris", "VOICEMAIL", "CONSENT"),
        CallRow(PARIS_MOBILE, at(2026, 11, 19, 10, 0), "Europe/Paris", "BUSY", "CONSENT"),
        CallRow(
            PARIS_MOBILE,
            at(2026, 11, 20, 10, 0),
            "Europe/Paris",
            "ANSWERED",
            "CONSENT",
            ("FREQUENCY_CAP",),
            ("4 attempts already fall within 30 days; the cap is 4. [D223-9]",),
        ),
        CallRow(
            REUNION,
            at(2026, 11, 23, 9, 30),  # 13:30 in La Réunion (UTC+4): between the windows
            "Indian/Reunion",
            "ANSWERED",
            "CONSENT",
            ("OUTSIDE_HOURS", "NO_CONSENT"),
            (f"13:30 is outside 10:00–13:00 and 14:00–20:00 {XSS}", "No consent on record."),
        ),
    ]
    consents = [
        ConsentRow(
            PARIS_MOBILE,
            at(2026, 9, 1, 8, 0),
            proof=f"form-12 {XSS}",
            expires_at=at(2027, 9, 1, 8, 0),
            channel="web",
            source=f"partner {XSS}",
            wording=f"I agree to be called by ACME {XSS}",
            proof_sha256="a" * 64,
            off_hours=True,
        ),
        ConsentRow(
            REUNION,
            at(2026, 8, 20, 6, 0),
            proof="call recording 7",
            withdrawn_at=at(2026, 10, 1, 6, 0),
            zone="Indian/Reunion",
        ),
    ]
    refusals = [
        RefusalRow(REUNION, at(2026, 9, 10, 8, 0), at(2026, 11, 9, 20, 0), zone="Indian/Reunion"),
        RefusalRow(PARIS_MOBILE, at(2026, 10, 1, 9, 0), at(2026, 11, 30, 23, 0), lifted=True),
    ]
    data = ReportData(
        professional=f"ACME Énergie {XSS}",
        period_from=date(2026, 9, 1),
        period_to=date(2026, 11, 30),
        generated_at=at(2026, 11, 26, 11, 0),
        verification=Verification(
            ok=True,
            entries=1234,
            detail="",
            checkpoint_at=at(2026, 11, 26, 10, 0),
            checkpoints=2,
            entries_after=17,
        ),
        calls=tuple(calls),
        refusals=tuple(refusals),
        consents=tuple(consents),
    )
    return replace(data, **changes)


@functools.cache
def page_of(lang: str = "fr") -> str:
    """The sample pack rendered once per language (drawing four charts takes a while)."""
    return render_report(sample(lang=lang))


def empty(**changes: Any) -> ReportData:
    return sample(calls=(), refusals=(), consents=(), **changes)


def section(page: str, name: str) -> str:
    match = re.search(rf'<section id="{name}">(.*?)</section>', page, re.S)
    assert match, f"no {name} section"
    return match.group(1)


# -- structure and safety -------------------------------------------------------------------------


def test_the_page_has_every_section_and_four_inline_charts() -> None:
    page = page_of()
    assert page.startswith("<!DOCTYPE html>")
    assert '<html lang="fr">' in page
    for name in ("summary", "charts", "violations", "consents", "refusals"):
        section(page, name)
    assert page.count("<svg") == 4
    assert page.count("</svg>") == 4
    assert [f'id="chart{n}"' in page for n in range(1, 5)] == [True] * 4


def test_the_page_fetches_nothing_and_runs_nothing() -> None:
    """Read offline and archived: no script, no external resource, and a CSP that forbids both."""
    page = page_of()
    assert "<script" not in page.lower()
    assert "default-src 'none'" in page
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', page)
    assert "@import" not in page and "url(http" not in page
    assert "<img" not in page and "<link" not in page


def test_every_value_from_the_data_is_escaped() -> None:
    bad = sample(
        verification=Verification(ok=False, entries=9, detail=f"first altered fact {XSS}"),
        numbers=(f"+33 {XSS}",),
    )
    page = render_report(bad)
    assert "<script" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    # the professional, the proof, the source, the wording, a message, the detail, the scope
    assert page.count("&lt;script&gt;") >= 7


def test_the_journal_verdict_is_prominent_green_or_red() -> None:
    page = page_of()
    assert 'class="verdict ok"' in page
    assert "Journal intact depuis le point de contrôle du 26/11/2026 11:00:00" in page
    assert "1\u202f234 entrées vérifiées" in page
    assert "les 17 entrées écrites depuis" in page
    altered = render_report(
        sample(verification=Verification(False, 1234, "first altered fact: attempts #12"))
    )
    assert 'class="verdict bad"' in altered
    assert "Journal ALTÉRÉ" in altered
    assert "first altered fact: attempts #12" in altered
    assert "verdict ok" not in altered


def test_without_a_checkpoint_the_journal_is_never_called_intact() -> None:
    # A chain kept only inside the ledger cannot show a cut tail, a recomputed chain or an
    # older copy put back: the page says so instead of « intact ».
    for lang in ("fr", "en"):
        page = render_report(sample(lang=lang, verification=Verification(ok=True, entries=10)))
        assert 'class="verdict warn"' in page and "verdict ok" not in page
        assert "intact" not in section_free(page).lower()
    fr = render_report(sample(verification=Verification(ok=True, entries=10)))
    assert "Aucun point de contrôle n&#x27;a été fourni" in fr


def section_free(page: str) -> str:
    """The page's text outside the style sheet."""
    return re.sub(r"<style>.*?</style>", "", page, flags=re.S)


def test_an_altered_journal_lists_every_problem_and_the_calls_affected() -> None:
    problems = (
        "attempts row 3: removed",
        "checkpoint checkpoint-x.json: entry 9 of chain p1 is no longer in the ledger",
        f"refusals row 1: changed {XSS}",
    )
    page = render_report(sample(verification=Verification(
        False, 50, problems[0], problems=problems, affected_calls=4,
    )))  # fmt: skip
    verdict = re.search(r'<div class="verdict bad".*?</ul></div></div>', page, re.S)
    assert verdict is not None
    for p in problems[:2]:
        assert p in verdict.group(0)
    assert "&lt;script&gt;" in verdict.group(0)
    assert "Problèmes constatés (3)" in page
    assert "Appels de la période concernés : 4" in page


def test_the_header_names_the_professional_period_scope_and_paris_generation_time() -> None:
    page = render_report(sample(numbers=(PARIS_MOBILE, REUNION)))
    header = page[page.index("<header>") : page.index("</header>")]
    assert "ACME Énergie" in header
    assert "du 01/09/2026 au 30/11/2026 inclus" in header
    assert f"Restreint aux numéros : {PARIS_MOBILE}, {REUNION}" in header
    # 11:00 UTC on 26 November is 12:00 in Paris (winter time)
    assert "26/11/2026 12:00:00 (Europe/Paris, UTC+01:00)" in header
    assert "Tous les numéros" in page_of()


def test_the_summary_counts_calls_and_labels_each_code() -> None:
    summary = section(page_of(), "summary")
    cells = re.findall(r'<td class="n[^"]*">([^<]*)</td>', summary)
    assert cells[:3] == ["6", "4", "2"]  # calls, compliant, in violation
    assert "FREQUENCY_CAP" in summary and "plus de 4 tentatives en 30 jours" in summary
    # in the order of the rules: hours before cap before consent
    assert summary.index("OUTSIDE_HOURS") < summary.index("FREQUENCY_CAP")
    assert summary.index("FREQUENCY_CAP") < summary.index("NO_CONSENT")


def test_the_audits_own_counts_are_shown_when_given() -> None:
    summary = section(render_report(sample(summary={"WEEKEND": 7, "SOMETHING_NEW": 2})), "summary")
    assert "WEEKEND" in summary and ">7</td>" in summary
    assert "SOMETHING_NEW" in summary and "code inconnu" in summary
    assert "FREQUENCY_CAP" not in summary


def test_both_languages() -> None:
    fr = page_of()
    en = page_of("en")
    assert "Dossier de contrôle" in fr and "Preuves de consentement" in fr
    assert '<html lang="en">' in en
    assert "Control pack" in en and "Consent evidence" in en and "Journal intact" in en
    assert "from 2026-09-01 to 2026-11-30 inclusive" in en
    assert "more than 4 attempts in 30 days" in en
    assert "Dossier" not in en
    with pytest.raises(ValueError, match="lang"):
        render_report(sample(lang="de"))


# -- times ----------------------------------------------------------------------------------------


def test_times_are_the_consumers_local_time_with_her_zone() -> None:
    """A call at 09:30 UTC to La Réunion was made at 13:30 there: between the two windows."""
    violations = section(page_of(), "violations")
    row = next(r for r in violations.split("<tr>") if REUNION in r)
    assert "23/11/2026 13:30:00" in row
    assert "Indian/Reunion · UTC+04:00" in row
    assert "09:30" not in row
    paris = next(r for r in violations.split("<tr>") if PARIS_MOBILE in r)
    assert "20/11/2026 11:00:00" in paris and "Europe/Paris · UTC+01:00" in paris


def test_consents_and_refusals_show_their_evidence_and_status() -> None:
    page = page_of()
    consents = section(page, "consents")
    assert "a" * 64 in consents
    assert "web / partner" in consents
    assert "retiré" in consents and "en cours" in consents
    assert "01/10/2026 10:00:00" in consents  # the withdrawal, in La Réunion
    refusals = section(page, "refusals")
    assert "10/09/2026 12:00:00" in refusals  # 08:00 UTC in La Réunion
    assert "levé" in refusals and "terminé" in refusals


def test_naive_datetimes_and_unknown_zones_are_refused() -> None:
    naive = CallRow(PARIS_MOBILE, datetime(2026, 11, 20, 10), "Europe/Paris", "ANSWERED", "X")
    with pytest.raises(ValueError, match="naive"):
        render_report(sample(calls=(naive,)))
    lost = CallRow(PARIS_MOBILE, at(2026, 11, 20, 10), "Mars/Olympus", "ANSWERED", "X")
    with pytest.raises(ValueError, match="unknown time zone"):
        render_report(sample(calls=(lost,)))
    with pytest.raises(ValueError, match="naive"):
        render_report(sample(generated_at=datetime(2026, 11, 26, 12)))


# -- charts ---------------------------------------------------------------------------------------


def test_an_empty_period_still_renders_and_says_so() -> None:
    page = render_report(empty())
    assert page.count("<svg") == 4
    # in each chart's title element and label (the chart's own text is drawn as outlines)
    assert page.count('aria-label="Appels par heure locale du consommateur — Aucun appel') == 1
    assert page.count("— Aucun appel sur la période</title>") == 3
    assert "Refus et délais de carence — Aucun refus sur la période</title>" in page
    assert "Aucune infraction relevée." in page
    assert "Aucun consentement enregistré." in page
    assert "Aucun refus enregistré." in page
    assert "No calls in the period" in render_report(empty(lang="en"))


def test_chart_ids_are_unique_in_the_page() -> None:
    """Four SVGs in one document: a shared clip-path id would clip one chart by another's box."""
    ids = re.findall(r'\bid="([^"]+)"', page_of())
    assert len(ids) == len(set(ids))
    assert len(ids) > 10


def test_many_refusals_become_a_count_per_week() -> None:
    refusals = tuple(
        RefusalRow(f"+336{i:08d}", at(2026, 9, 1, 9) + timedelta(hours=13 * i), at(2026, 12, 1))
        for i in range(80)
    )
    page = render_report(sample(refusals=refusals))
    assert 'aria-label="Refus par semaine"' in page
    assert page.count("<svg") == 4
    few = page_of()
    assert 'aria-label="Refus et délais de carence"' in few


def test_the_window_of_30_local_dates_slides() -> None:
    d = date(2026, 11, 2)
    assert _max_in_window([]) == 0
    assert _max_in_window([d] * 3) == 3
    # the 1st and the 30th are in one window; the 1st and the 31st are not
    assert _max_in_window([d, d + timedelta(days=29)]) == 2
    assert _max_in_window([d, d + timedelta(days=30)]) == 1
    days = [d + timedelta(days=k) for k in (0, 10, 20, 31, 35, 40, 45)]
    assert _max_in_window(days) == 5  # days 20, 31, 35, 40, 45 fit in 20..49


@pytest.mark.slow
def test_the_same_data_gives_the_same_bytes_in_any_order() -> None:
    import matplotlib

    first = page_of()
    assert render_report(sample()) == first
    shuffled = sample(
        calls=tuple(reversed(sample().calls)),
        refusals=tuple(reversed(sample().refusals)),
        consents=tuple(reversed(sample().consents)),
    )
    assert render_report(shuffled) == first
    # nor does the host's matplotlib configuration change the page, or the page change it
    backend = matplotlib.rcParams["backend"]
    with matplotlib.rc_context({"font.size": 30, "axes.facecolor": "black"}):
        assert render_report(sample()) == first
    assert matplotlib.rcParams["backend"] == backend
    assert matplotlib.rcParams["svg.hashsalt"] is None


def test_without_matplotlib_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_matplotlib(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(ImportError, match=re.escape('pip install "callguard-fr[report]"')):
        render_report(sample())


def test_importing_the_module_does_not_import_matplotlib() -> None:
    code = "import sys, callguard._html_report; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- in a real browser ----------------------------------------------------------------------------


def _browser(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium with no network: every host resolves to nothing and any proxy is dead,
    so a page that tried to fetch something would show it (and the CSP forbids it anyway)."""
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--proxy-server=127.0.0.1:9",
            f"--user-data-dir={tmp_path / 'profile'}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which(CHROMIUM) is None,
    reason=f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium): "
    "the page is not checked in a real browser",
)
def test_a_headless_browser_renders_the_page(tmp_path: Path) -> None:
    from PIL import Image

    page = tmp_path / "control-pack.html"
    page.write_text(render_report(sample()), encoding="utf-8")
    url = page.as_uri()
    started = time.monotonic()

    dom = _browser(tmp_path, "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "<title>Dossier de contrôle — ACME Énergie &lt;script&gt;" in dom.stdout
    assert dom.stdout.count("<svg") == 4
    assert 'class="verdict ok"' in dom.stdout
    assert "<script" not in dom.stdout  # the hostile text stayed text once parsed

    shot = tmp_path / "control-pack.png"
    done = _browser(tmp_path, f"--screenshot={shot}", "--window-size=1280,2400", url)
    assert done.returncode == 0, done.stderr[-2000:]
    elapsed = time.monotonic() - started
    assert shot.stat().st_size > 30_000
    with Image.open(shot) as image:
        rgb = image.convert("RGB")
        assert rgb.size == (1280, 2400)
        colours = rgb.getcolors(maxcolors=1 << 20)
    assert colours is not None
    assert len(colours) > 100  # text, tables and charts, not a blank page
    counts = {colour: n for n, colour in colours}
    white = counts.get((255, 255, 255), 0)
    assert white < 0.95 * 1280 * 2400
    assert counts.get((0xE7, 0xF6, 0xEC), 0) > 5_000  # the green "intact" verdict box
    assert counts.get((0x3B, 0x6F, 0xB6), 0) > 1_000  # the charts' blue bars
    assert elapsed < 60
