"""The control pack as one self-contained HTML page (a DGCCRF or CNIL controller reads and prints it).

A control asks the professional for the facts and decisions of a period, the consent evidence,
an audit of each call against the law of its own day, and proof that the records were not
altered. :func:`render_report` turns those, already gathered, into a single HTML string:

* **Pure.** Data in, HTML out: no ledger, no clock, no network. The caller gathers the facts
  (see :class:`ReportData`); this module only presents them, so it can be tested and reviewed on
  its own and a colleague can wire it to any ledger.
* **Self-contained.** The page is read on a controller's machine, often offline, and archived
  with the pack: CSS is inline, the charts are inline SVG, there is no script, font or image to
  fetch. A Content-Security-Policy forbids the page any request or script, as a second guard.
* **Escaped.** Numbers, proofs, wordings and sources come from users' files; every value from the
  data goes through :func:`html.escape`, so a ``<script>`` in a consent wording shows as text.
* **Local times.** D223-9 counts hours and days in the consumer's zone; a call at 09:30 UTC to
  La Réunion was made at 13:30 there. Every time is shown in its zone, with the zone's name and
  offset, never as bare UTC. The generation time is shown in Europe/Paris (the controller's).
* **Deterministic.** The same data gives the same bytes (fixed SVG hash salt, no date in the
  SVG metadata, stable sort orders), so two renderings of a pack can be compared by digest.

matplotlib draws the charts. It is an optional dependency (``pip install "callguard-fr[report]"``)
imported only when a report is rendered, so the decision path never pays for it.
"""

from __future__ import annotations

import html
import io
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache, partial
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from ._exceptions import ConfigurationError
from ._i18n import LANGS, N_, _, text
from ._types import ReasonCode

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

__all__ = [
    "CallRow",
    "ConsentRow",
    "Lang",
    "RefusalRow",
    "ReportData",
    "Verification",
    "render_report",
]

Lang = Literal["fr", "en"]

PARIS = "Europe/Paris"
CAP_CALLS = 4
"""D223-9: at most four attempts in any thirty consecutive days (marked on the histogram)."""
CAP_DAYS = 30
WINDOWS = ((10, 13), (14, 20))
"""D223-9's windows, local hours, half-open (shaded on the hour chart)."""
TIMELINE_MAX = 50
"""Above this many refusals the timeline becomes a count per week: 50 bars is what stays legible."""


# -- the data -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallRow:
    """One call of the period, as the audit judged it by the rules of its own local day."""

    number: str
    """E.164 (as written in the log when the number is invalid)."""
    at: datetime
    """When the call started; aware (any offset: it is shown in ``zone``)."""
    zone: str
    """IANA zone of the consumer (``Indian/Reunion``): the hours and days are hers."""
    outcome: str
    """What came of the call (``ANSWERED``, ``REFUSED``…)."""
    regime: str
    """The regime in force on the call's local day (the law it was judged by)."""
    violations: tuple[str, ...] = ()
    """Reason codes (``FREQUENCY_CAP``…); empty when the call was lawful."""
    messages: tuple[str, ...] = ()
    """The sentences explaining each violation, with their legal basis."""


@dataclass(frozen=True)
class RefusalRow:
    """A consumer refused the canvassing: no call before ``cooldown_until`` (D223-9, 60 days)."""

    number: str
    at: datetime
    """When the refusal was recorded; aware."""
    cooldown_until: datetime
    """First instant a call is lawful again; aware."""
    lifted: bool = False
    """The cooldown was lifted (the consumer later consented or signed a contract)."""
    zone: str = PARIS
    """IANA zone of the consumer, in which the times are shown (the cooldown counts her dates)."""


@dataclass(frozen=True)
class ConsentRow:
    """A prior consent and its evidence (L223-1 as amended by loi n° 2025-594: the burden of
    proof is the professional's, so the proof, its channel, source and wording are shown)."""

    number: str
    given_at: datetime
    """Aware."""
    proof: str
    """The reference of the proof (form id, recording, signed document)."""
    expires_at: datetime | None = None
    withdrawn_at: datetime | None = None
    channel: str = ""
    """How the consent was collected (web form, phone, paper…)."""
    source: str = ""
    """Who collected it (the site, the partner, the campaign)."""
    wording: str = ""
    """The text the consumer agreed to."""
    proof_sha256: str = ""
    """Digest of the proof document, so the controller can check the copy handed over."""
    off_hours: bool = False
    """The consent expressly covers calls outside the legal days and hours."""
    zone: str = PARIS
    """IANA zone of the consumer, in which the times are shown."""
    flags: tuple[str, ...] = ()
    """Thin evidence (``NO_WORDING``, ``NO_PROOF_DIGEST``, ``VENDOR_WITHOUT_PROFESSIONAL``):
    a warning shown with the consent, not a refusal."""


@dataclass(frozen=True)
class Verification:
    """The journal's integrity check: were the recorded facts altered since they were written?"""

    ok: bool
    entries: int
    """Entries checked."""
    detail: str = ""
    """What the check found, e.g. ``first altered fact: attempts #12``."""
    checkpoint_at: datetime | None = None
    """When the newest signed checkpoint that holds was taken (aware); ``None`` when no
    checkpoint was given: the chain alone cannot show a cut tail, a recomputed chain or an
    older copy put back, so the page never calls such a journal intact."""
    checkpoints: int = 0
    """Checkpoints given and checked."""
    entries_after: int = 0
    """Entries written after the newest checkpoint (vouched for by the chain alone)."""
    problems: tuple[str, ...] = ()
    """Every problem found (the page lists them all, not the first only)."""
    affected_calls: int | None = None
    """Calls of the period the problems touch (``None``: not counted)."""


@dataclass(frozen=True)
class ReportData:
    """Everything the page shows. Times are aware; sequences may be in any order (the page
    sorts them by time, then number, so the same facts always give the same page)."""

    professional: str
    period_from: date
    period_to: date
    """Inclusive."""
    generated_at: datetime
    """Aware; shown in Europe/Paris."""
    verification: Verification
    calls: Sequence[CallRow] = ()
    refusals: Sequence[RefusalRow] = ()
    consents: Sequence[ConsentRow] = ()
    summary: Mapping[str, int] | None = None
    """Calls in violation per reason code (a call with two codes counts in both), as the audit
    counted them; ``None`` counts them from ``calls``."""
    numbers: tuple[str, ...] | None = None
    """The numbers the pack was restricted to; ``None`` when it covers every number."""
    lang: Lang = "fr"


# -- the words ------------------------------------------------------------------------------------

# The page's labels: message ids of the catalog, shown in the pack's language (_words).
_TEXT: dict[str, str] = {
    "title": N_("Control pack"),
    "professional": N_("Professional"),
    "period": N_("Period"),
    "period_fmt": N_("from {a} to {b} inclusive"),
    "generated": N_("Generated on"),
    "restricted": N_("Restricted to numbers"),
    "all_numbers": N_("All numbers"),
    "scope": N_("Scope"),
    "intact": N_("Journal intact as of the checkpoint of {at}"),
    "unanchored": N_("Journal consistent, without a checkpoint"),
    "altered": N_("Journal ALTERED"),
    "intact_detail": N_(
        "{n} entries verified: the recorded facts were not modified. {k} signed "
        "checkpoint(s), kept outside the ledger, fix the facts up to {at}; the {after} "
        "entries written since are vouched for by the ledger's own chain only."
    ),
    "unanchored_detail": N_(
        "{n} entries verified and consistent with each other. No checkpoint was given: "
        "whoever keeps the ledger could have removed its last entries, recomputed the chain "
        "or put back an older copy without it showing here. Ask for the signed checkpoints "
        "(callguard checkpoint) and their public key."
    ),
    "altered_detail": N_("{n} entries verified: the recorded facts were modified."),
    "problems": N_("Problems found ({n})"),
    "affected": N_("Calls of the period affected: {n}"),
    "summary": N_("Summary"),
    "calls": N_("Calls in the period"),
    "compliant": N_("Compliant calls"),
    "in_violation": N_("Calls in violation"),
    "code": N_("Code"),
    "meaning": N_("Meaning"),
    "count": N_("Calls"),
    "no_violation": N_("No violation found."),
    "charts": N_("Charts"),
    "violations": N_("Calls in violation"),
    "local_time": N_("Consumer's local time"),
    "number": N_("Number"),
    "outcome": N_("Outcome"),
    "regime": N_("Regime of the day"),
    "codes": N_("Codes"),
    "explanation": N_("Explanation"),
    "consents": N_("Consent evidence"),
    "no_consent": N_("No consent on record."),
    "given": N_("Given on"),
    "expires": N_("Expires on"),
    "withdrawn": N_("Withdrawn on"),
    "proof": N_("Proof"),
    "channel": N_("Channel"),
    "source": N_("Source"),
    "wording": N_("Wording agreed to"),
    "flag_NO_WORDING": N_("Thin evidence: the wording agreed to is not kept"),
    "flag_NO_PROOF_DIGEST": N_("Thin evidence: no digest of the proof"),
    "flag_VENDOR_WITHOUT_PROFESSIONAL": N_(
        "Thin evidence: collected by a third party whose wording does not name the professional"
    ),
    "thin": N_("{n} consent(s) with thin evidence (a warning, not a refusal)."),
    "sha": N_("SHA-256 of the proof"),
    "off_hours": N_("Outside legal hours"),
    "status": N_("Status"),
    "active": N_("active"),
    "expired": N_("expired"),
    "withdrawn_s": N_("withdrawn"),
    "refusals": N_("Refusals and cooldowns"),
    "no_refusal": N_("No refusal on record."),
    "refused_at": N_("Refused on"),
    "cooldown_until": N_("No call before"),
    "lifted": N_("Lifted"),
    "running": N_("running"),
    "over": N_("over"),
    "lifted_s": N_("lifted"),
    "yes": N_("yes"),
    "no": N_("no"),
    "times_note": N_(
        "Times are in the consumer's zone (art. D223-9), with the zone's name and offset; the"
        " generation time is Paris time."
    ),
    "footer": N_("Generated by callguard. The facts come from the professional's journal."),
    "c_hours": N_("Calls per hour of the consumer's local day"),
    "c_hours_x": N_("local hour"),
    "c_windows": N_("legal windows (10:00–13:00, 14:00–20:00)"),
    "c_week": N_("Calls per weekday (local date)"),
    "c_days": N_("Mon,Tue,Wed,Thu,Fri,Sat,Sun"),
    "c_weekend": N_("Saturday and Sunday"),
    "c_attempts": N_("Attempts per number in 30 sliding days"),
    "c_attempts_x": N_("most calls in any 30-day window"),
    "c_attempts_y": N_("numbers"),
    "c_cap": N_("cap: 4"),
    "c_refusals": N_("Refusals and cooldowns"),
    "c_refusals_week": N_("Refusals per week"),
    "c_week_x": N_("week of"),
    "c_calls_y": N_("calls"),
    "c_refusals_y": N_("refusals"),
    "c_ok": N_("compliant"),
    "c_bad": N_("in violation"),
    "c_cooldown": N_("cooldown"),
    "c_lifted": N_("lifted"),
    "c_no_calls": N_("No calls in the period"),
    "c_no_refusals": N_("No refusals in the period"),
    "unknown_code": N_("unknown code"),
}

_REASONS: dict[str, str] = {
    "INVALID_NUMBER": N_("invalid number"),
    "UNSUPPORTED_DESTINATION": N_("not a French consumer line"),
    "CALLER_ID_INVALID": N_("caller ID missing, hidden or invalid"),
    "CALLER_ID_MOBILE": N_("caller ID is a 06/07 mobile"),
    "CALLER_ID_NOT_NPV": N_("automated dialer without a verified (NPV) caller ID"),
    "CALLER_ID_NOT_OWNED": N_("caller ID not among the professional's"),
    "WEEKEND": N_("Saturday or Sunday in the consumer's zone"),
    "HOLIDAY": N_("public holiday in the consumer's zone"),
    "OUTSIDE_HOURS": N_("outside 10:00–13:00 and 14:00–20:00 in the consumer's zone"),
    "FREQUENCY_CAP": N_("more than 4 attempts in 30 days"),
    "REFUSAL_COOLDOWN": N_("less than 60 full days after a refusal"),
    "BLOCTEL_LISTED": N_("listed on Bloctel"),
    "BLOCTEL_UNCHECKED": N_("no Bloctel check less than 30 days old"),
    "NO_CONSENT": N_("no prior consent"),
    "CONSENT_EXPIRED": N_("consent expired"),
    "CONSENT_WITHDRAWN": N_("consent withdrawn"),
    "OPTED_OUT": N_("opted out (internal do-not-call list)"),
    "SECTOR_BANNED": N_("sector banned from phone canvassing"),
    "NO_CONTRACT": N_("contract call without a running contract"),
    "LEDGER_UNAVAILABLE": N_("ledger unreadable: refused to fail safe"),
}


@cache
def _words(lang: Lang) -> dict[str, str]:
    """The page's labels in ``lang``, from the message catalog."""
    words = {key: text(msgid, lang) for key, msgid in _TEXT.items()}
    words["none"] = "\u2014"  # an em dash: no date
    return words


@cache
def _reason_labels(lang: Lang) -> dict[str, str]:
    return {code: text(msgid, lang) for code, msgid in _REASONS.items()}


# -- the page -------------------------------------------------------------------------------------

_CSS = """
@page { size: A4; margin: 14mm 12mm; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, Helvetica, sans-serif;
  color: #1d2433; background: #fff; margin: 0 auto; max-width: 1200px; padding: 28px 32px;
  font-size: 13px; line-height: 1.45; }
h1 { font-size: 24px; margin: 0 0 2px; letter-spacing: .2px; }
h1 small { display: block; font-size: 15px; font-weight: normal; color: #4a5468; }
h2 { font-size: 17px; margin: 30px 0 10px; padding-bottom: 4px; border-bottom: 2px solid #1f3a68;
  color: #1f3a68; break-after: avoid; }
header { border-bottom: 1px solid #c9d0dc; padding-bottom: 16px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 18px; margin: 14px 0; }
dl.facts dt { color: #4a5468; }
dl.facts dd { margin: 0; font-weight: bold; }
.verdict { border-radius: 6px; padding: 12px 16px; margin-top: 8px; border: 2px solid;
  -webkit-print-color-adjust: exact; print-color-adjust: exact; }
.verdict strong { font-size: 20px; display: block; }
.verdict.ok { background: #e7f6ec; border-color: #1e7e3e; color: #145a2c; }
.verdict.bad { background: #fdecea; border-color: #b3261e; color: #8c1d17; }
.verdict.warn { background: #fff4e0; border-color: #b26a00; color: #6b4000; }
.verdict ul { margin: 6px 0 0; padding-left: 20px; }
.verdict .detail { font-family: "DejaVu Sans Mono", monospace; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 10px; font-size: 12px; }
th, td { border: 1px solid #c9d0dc; padding: 5px 7px; text-align: left; vertical-align: top; }
th { background: #eef1f6; font-weight: bold; -webkit-print-color-adjust: exact;
  print-color-adjust: exact; }
tbody tr:nth-child(even) td { background: #f8f9fb; }
tr { break-inside: avoid; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.t { white-space: nowrap; font-variant-numeric: tabular-nums; }
.zone { display: block; color: #4a5468; font-size: 11px; }
.mono { font-family: "DejaVu Sans Mono", monospace; font-size: 11px; }
.hash { font-family: "DejaVu Sans Mono", monospace; font-size: 10px; word-break: break-all; }
.code { display: inline-block; font-family: "DejaVu Sans Mono", monospace; font-size: 11px;
  background: #fdecea; color: #8c1d17; border: 1px solid #e6b3ae; border-radius: 3px;
  padding: 0 4px; margin: 1px 2px 1px 0; white-space: nowrap; }
ul.msgs { margin: 0; padding-left: 16px; }
.wording { white-space: pre-wrap; font-size: 11px; max-width: 360px; }
.flag { color: #8a4b00; font-size: 11px; font-weight: bold; }
table.summary { width: auto; min-width: 60%; }
table.summary tr.total td { font-weight: bold; }
.bad-n { color: #8c1d17; font-weight: bold; }
.ok-n { color: #145a2c; font-weight: bold; }
.empty { color: #4a5468; font-style: italic; }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 14px; align-items: start; }
figure { margin: 0; border: 1px solid #c9d0dc; border-radius: 4px; padding: 6px;
  break-inside: avoid; }
figure svg { display: block; width: 100%; height: auto; }
.note { color: #4a5468; font-size: 11px; }
footer { margin-top: 30px; border-top: 1px solid #c9d0dc; padding-top: 8px; color: #4a5468;
  font-size: 11px; }
@media print { body { padding: 0; max-width: none; font-size: 10.5px; }
  table { font-size: 10px; } h2 { margin-top: 18px; }
  .charts { grid-template-columns: 1fr; justify-items: center; }
  figure { width: 150mm; border: none; padding: 0; } }
"""

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _e(value: object) -> str:
    """Every value from the data goes through here (quotes too: some land in attributes)."""
    return html.escape(str(value), quote=True)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError) as exc:  # ZoneInfoNotFoundError is a KeyError
        raise ConfigurationError(
            _("unknown time zone {value}: expected an IANA name", value=repr(name)),
            field="zone",
            value=name,
        ) from exc


def _aware(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what}={value.isoformat()} is naive: the report needs aware datetimes")
    return value


def _local(value: datetime, zone: str, what: str) -> datetime:
    return _aware(value, what).astimezone(_zone(zone))


def _fmt_date(day: date, lang: Lang) -> str:
    return day.strftime("%d/%m/%Y") if lang == "fr" else day.isoformat()


def _fmt_int(n: int, lang: Lang) -> str:
    """French groups thousands with a narrow no-break space (1 234), English with a comma."""
    return f"{n:,}".replace(",", "\u202f") if lang == "fr" else f"{n:,}"


def _offset(moment: datetime) -> str:
    off = moment.utcoffset() or timedelta(0)
    sign = "-" if off < timedelta(0) else "+"
    minutes = abs(int(off.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _time_cell(value: datetime | None, zone: str, lang: Lang, what: str) -> str:
    """Local date and time with seconds (12:59:59 is in the window, 13:00:00 is not), then the
    zone's name and offset, so nobody has to guess which clock a time is on."""
    if value is None:
        return f'<td class="t">{_e(_words(lang)["none"])}</td>'
    local = _local(value, zone, what)
    stamp = f"{_fmt_date(local.date(), lang)} {local:%H:%M:%S}"
    return (
        f'<td class="t">{_e(stamp)}<span class="zone">{_e(zone)} · {_e(_offset(local))}</span></td>'
    )


def _reason_label(code: str, lang: Lang) -> str:
    return _reason_labels(lang).get(code, _words(lang)["unknown_code"])


def _summary(data: ReportData) -> dict[str, int]:
    """Counts by code in the enum's order (the order of the rules), unknown codes after it."""
    if data.summary is not None:
        counts: Mapping[str, int] = data.summary
    else:
        counts = Counter(code for c in data.calls for code in dict.fromkeys(c.violations))
    known = [c.value for c in ReasonCode if counts.get(c.value)]
    rest = sorted(k for k in counts if k not in known and counts[k])
    return {k: int(counts[k]) for k in (*known, *rest)}


def _header(data: ReportData) -> str:
    t = _words(data.lang)
    lang = data.lang
    generated = _aware(data.generated_at, "generated_at").astimezone(_zone(PARIS))
    gen = (
        f"{_fmt_date(generated.date(), lang)} {generated:%H:%M:%S} ({PARIS}, {_offset(generated)})"
    )
    period = t["period_fmt"].format(
        a=_fmt_date(data.period_from, lang), b=_fmt_date(data.period_to, lang)
    )
    scope = t["all_numbers"]
    if data.numbers is not None:
        colon = " :" if lang == "fr" else ":"  # French puts a space before the colon
        scope = f"{t['restricted']}{colon} {', '.join(data.numbers)}"
    verdict = _verdict(data)
    return (
        "<header>"
        f"<h1>{_e(t['title'])}</h1>"
        '<dl class="facts">'
        f"<dt>{_e(t['professional'])}</dt><dd>{_e(data.professional)}</dd>"
        f"<dt>{_e(t['period'])}</dt><dd>{_e(period)}</dd>"
        f"<dt>{_e(t['scope'])}</dt><dd>{_e(scope)}</dd>"
        f"<dt>{_e(t['generated'])}</dt><dd>{_e(gen)}</dd>"
        "</dl>"
        f"{verdict}"
        f'<p class="note">{_e(t["times_note"])}</p>'
        "</header>"
    )


def _verdict(data: ReportData) -> str:
    """The journal's verdict: intact only as of a signed checkpoint that holds; a chain that
    is merely consistent says what it cannot show; an altered one lists every problem."""
    t, lang, v = _words(data.lang), data.lang, data.verification
    entries = _fmt_int(v.entries, lang)
    if v.ok and v.checkpoint_at is not None:
        when = _aware(v.checkpoint_at, "checkpoint_at").astimezone(_zone(PARIS))
        stamp = f"{_fmt_date(when.date(), lang)} {when:%H:%M:%S} ({PARIS}, {_offset(when)})"
        detail = t["intact_detail"].format(
            n=entries, k=v.checkpoints, at=stamp, after=_fmt_int(v.entries_after, lang)
        )
        out = (
            f'<div class="verdict ok" id="verdict" data-ok="true"><strong>✔ '
            f"{_e(t['intact'].format(at=stamp))}</strong>{_e(detail)}"
        )
    elif v.ok:
        out = (
            f'<div class="verdict warn" id="verdict" data-ok="true" data-anchored="false">'
            f"<strong>⚠ {_e(t['unanchored'])}</strong>"
            f"{_e(t['unanchored_detail'].format(n=entries))}"
        )
    else:
        out = (
            f'<div class="verdict bad" id="verdict" data-ok="false"><strong>✖ {_e(t["altered"])}'
            f"</strong>{_e(t['altered_detail'].format(n=entries))}"
        )
        if v.affected_calls is not None:
            out += f"<div>{_e(t['affected'].format(n=_fmt_int(v.affected_calls, lang)))}</div>"
    if v.detail:
        out += f'<div class="detail">{_e(v.detail)}</div>'
    if v.problems:
        items = "".join(f"<li>{_e(p)}</li>" for p in v.problems)
        out += (
            f'<div class="detail">{_e(t["problems"].format(n=len(v.problems)))}'
            f'<ul id="problems">{items}</ul></div>'
        )
    return out + "</div>"


def _summary_section(data: ReportData, counts: Mapping[str, int]) -> str:
    t, lang = _words(data.lang), data.lang
    total = len(data.calls)
    bad = sum(1 for c in data.calls if c.violations)
    rows = [
        f'<tr><td>{_e(t["calls"])}</td><td class="n">{_e(_fmt_int(total, lang))}</td></tr>',
        f"<tr><td>{_e(t['compliant'])}</td>"
        f'<td class="n ok-n">{_e(_fmt_int(total - bad, lang))}</td></tr>',
        f"<tr><td>{_e(t['in_violation'])}</td>"
        f'<td class="n{" bad-n" if bad else ""}">{_e(_fmt_int(bad, lang))}</td></tr>',
    ]
    out = [
        f'<section id="summary"><h2>{_e(t["summary"])}</h2>',
        f'<table class="summary"><tbody>{"".join(rows)}</tbody></table>',
    ]
    if counts:
        out.append(
            f'<table class="summary codes"><thead><tr><th>{_e(t["code"])}</th>'
            f'<th>{_e(t["meaning"])}</th><th class="n">{_e(t["count"])}</th></tr></thead><tbody>'
        )
        for code, n in counts.items():
            out.append(
                f'<tr><td><span class="code">{_e(code)}</span></td>'
                f"<td>{_e(_reason_label(code, lang))}</td>"
                f'<td class="n">{_e(_fmt_int(n, lang))}</td></tr>'
            )
        out.append("</tbody></table>")
    else:
        out.append(f'<p class="empty">{_e(t["no_violation"])}</p>')
    out.append("</section>")
    return "".join(out)


def _by_time(rows: Iterable[CallRow]) -> list[CallRow]:
    return sorted(rows, key=lambda c: (_aware(c.at, "at"), c.number))


def _violations_section(data: ReportData, calls: Sequence[CallRow]) -> str:
    t, lang = _words(data.lang), data.lang
    bad = [c for c in calls if c.violations]
    out = [f'<section id="violations"><h2>{_e(t["violations"])}</h2>']
    if not bad:
        out.append(f'<p class="empty">{_e(t["no_violation"])}</p></section>')
        return "".join(out)
    out.append(
        f"<table><thead><tr><th>{_e(t['local_time'])}</th><th>{_e(t['number'])}</th>"
        f"<th>{_e(t['outcome'])}</th><th>{_e(t['regime'])}</th><th>{_e(t['codes'])}</th>"
        f"<th>{_e(t['explanation'])}</th></tr></thead><tbody>"
    )
    for c in bad:
        codes = "".join(
            f'<span class="code" title="{_e(_reason_label(code, lang))}">{_e(code)}</span>'
            for code in c.violations
        )
        msgs = "".join(f"<li>{_e(m)}</li>" for m in c.messages)
        out.append(
            f'<tr>{_time_cell(c.at, c.zone, lang, "at")}<td class="mono">{_e(c.number)}</td>'
            f"<td>{_e(c.outcome)}</td><td>{_e(c.regime)}</td><td>{codes}</td>"
            f'<td><ul class="msgs">{msgs}</ul></td></tr>'
        )
    out.append("</tbody></table></section>")
    return "".join(out)


def _consent_status(c: ConsentRow, at: datetime, t: Mapping[str, str]) -> str:
    if c.withdrawn_at is not None and _aware(c.withdrawn_at, "withdrawn_at") <= at:
        return t["withdrawn_s"]
    if c.expires_at is not None and _aware(c.expires_at, "expires_at") <= at:
        return t["expired"]
    return t["active"]


def _consents_section(data: ReportData) -> str:
    t, lang = _words(data.lang), data.lang
    out = [f'<section id="consents"><h2>{_e(t["consents"])}</h2>']
    if not data.consents:
        out.append(f'<p class="empty">{_e(t["no_consent"])}</p></section>')
        return "".join(out)
    out.append(
        f"<table><thead><tr><th>{_e(t['number'])}</th><th>{_e(t['given'])}</th>"
        f"<th>{_e(t['expires'])}</th><th>{_e(t['withdrawn'])}</th><th>{_e(t['status'])}</th>"
        f"<th>{_e(t['proof'])}</th><th>{_e(t['channel'])} / {_e(t['source'])}</th>"
        f"<th>{_e(t['off_hours'])}</th><th>{_e(t['wording'])}</th></tr></thead><tbody>"
    )
    rows = sorted(data.consents, key=lambda c: (_aware(c.given_at, "given_at"), c.number))
    dash = t["none"]
    thin = sum(1 for c in rows if c.flags)
    if thin:
        out.insert(1, f'<p class="flag" id="thin-consents">{_e(t["thin"].format(n=thin))}</p>')
    for c in rows:
        sha = f'<div class="hash">SHA-256 {_e(c.proof_sha256)}</div>' if c.proof_sha256 else ""
        sha += "".join(
            f'<div class="flag" data-flag="{_e(f)}">{_e(t.get("flag_" + f, f))}</div>'
            for f in c.flags
        )
        origin = " / ".join(x for x in (c.channel, c.source) if x) or dash
        out.append(
            f'<tr><td class="mono">{_e(c.number)}</td>'
            f"{_time_cell(c.given_at, c.zone, lang, 'given_at')}"
            f"{_time_cell(c.expires_at, c.zone, lang, 'expires_at')}"
            f"{_time_cell(c.withdrawn_at, c.zone, lang, 'withdrawn_at')}"
            f"<td>{_e(_consent_status(c, data.generated_at, t))}</td>"
            f"<td>{_e(c.proof)}{sha}</td><td>{_e(origin)}</td>"
            f"<td>{_e(t['yes'] if c.off_hours else t['no'])}</td>"
            f'<td><div class="wording">{_e(c.wording or dash)}</div></td></tr>'
        )
    out.append("</tbody></table></section>")
    return "".join(out)


def _refusals_section(data: ReportData) -> str:
    t, lang = _words(data.lang), data.lang
    out = [f'<section id="refusals"><h2>{_e(t["refusals"])}</h2>']
    if not data.refusals:
        out.append(f'<p class="empty">{_e(t["no_refusal"])}</p></section>')
        return "".join(out)
    out.append(
        f"<table><thead><tr><th>{_e(t['number'])}</th><th>{_e(t['refused_at'])}</th>"
        f"<th>{_e(t['cooldown_until'])}</th><th>{_e(t['status'])}</th></tr></thead><tbody>"
    )
    for r in sorted(data.refusals, key=lambda r: (_aware(r.at, "at"), r.number)):
        if r.lifted:
            status = t["lifted_s"]
        elif _aware(r.cooldown_until, "cooldown_until") > data.generated_at:
            status = t["running"]
        else:
            status = t["over"]
        out.append(
            f'<tr><td class="mono">{_e(r.number)}</td>'
            f"{_time_cell(r.at, r.zone, lang, 'at')}"
            f"{_time_cell(r.cooldown_until, r.zone, lang, 'cooldown_until')}"
            f"<td>{_e(status)}</td></tr>"
        )
    out.append("</tbody></table></section>")
    return "".join(out)


# -- the charts -----------------------------------------------------------------------------------

_BLUE = "#3b6fb6"
_RED = "#c0392b"
_GREEN = "#2e8b57"
_GREY = "#9aa3b2"
_SHADE = "#d9f0df"
_WEEKEND = "#f4d9d6"


def _max_in_window(days: list[date]) -> int:
    """Most calls on any 30 consecutive local dates (D223-9's window slides over calendar dates).

    Two pointers over the sorted dates: the window starting at each call's date holds the calls
    up to 29 days later; the largest such window is the number's worst moment.
    """
    days.sort()
    best = 0
    j = 0
    for i, first in enumerate(days):
        j = max(j, i)
        while j < len(days) and (days[j] - first).days < CAP_DAYS:
            j += 1
        best = max(best, j - i)
    return best


def _new_figure(height: float = 3.1) -> tuple[Figure, Axes]:
    """A Figure on its own Agg canvas: no pyplot, so the host application's backend and open
    figures are untouched, and nothing needs a display."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=8)
    return fig, ax


def _empty(ax: Axes, text: str) -> None:
    ax.text(
        0.5,
        0.5,
        text,
        ha="center",
        va="center",
        transform=ax.transAxes,
        fontsize=11,
        color="#4a5468",
        style="italic",
    )
    ax.set_yticks([])


def _integer_y(ax: Axes) -> None:
    """Counts are whole: no 2.5 calls on the axis."""
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))


def _legend(fig: Figure, handles: list[Patch] | None = None) -> None:
    """Below the plot, never over the bars it explains."""
    kwargs: dict[str, object] = {"handles": handles} if handles is not None else {}
    fig.legend(loc="outside lower center", ncols=3, fontsize=7, frameon=False, **kwargs)


_ID = re.compile(r'\bid="([^"]+)"')


def _svg(fig: Figure, prefix: str, label: str) -> str:
    """The figure as an inline ``<svg>`` element.

    The XML prolog, doctype, metadata and text comments go (an inline SVG needs none of them),
    the fixed size gives way to the viewBox so the chart follows the page width, and every id is
    prefixed: four charts in one document must not share ids (clip paths, glyphs).
    """
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    text = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r"<svg\1", text, count=1)
    ids = set(_ID.findall(text))
    if ids:
        alternation = "|".join(re.escape(i) for i in sorted(ids, key=len, reverse=True))
        text = re.sub(
            rf'(id="|href="#|url\(#)({alternation})(?=["\)])',
            lambda m: f"{m.group(1)}{prefix}-{m.group(2)}",
            text,
        )
    text = re.sub(r"\n\s*", "\n", text)
    # The text of the chart is drawn as glyph outlines (no font needed to print it), so its
    # title, and "no calls in the period" when it is empty, are also given as text.
    opening = text.index(">", text.index("<svg")) + 1
    return (
        text[:opening].replace(
            "<svg", f'<svg role="img" class="chart" id="{prefix}" aria-label="{_e(label)}"', 1
        )
        + f"<title>{_e(label)}</title>"
        + text[opening:]
    )


def _local_calls(calls: Sequence[CallRow]) -> list[tuple[datetime, CallRow]]:
    return [(_local(c.at, c.zone, "at"), c) for c in calls]


def _chart_hours(local: list[tuple[datetime, CallRow]], t: Mapping[str, str]) -> Figure:
    fig, ax = _new_figure()
    ax.set_title(t["c_hours"], fontsize=10, loc="left")
    for a, b in WINDOWS:
        ax.axvspan(a, b, color=_SHADE, zorder=0, label=t["c_windows"] if a == 10 else None)
    ok = [0] * 24
    bad = [0] * 24
    for moment, c in local:
        (bad if c.violations else ok)[moment.hour] += 1
    xs = [h + 0.5 for h in range(24)]
    ax.set_xlim(0, 24)
    ax.set_xticks(range(0, 25, 2))
    ax.set_xlabel(t["c_hours_x"], fontsize=8)
    if not local:
        _empty(ax, t["c_no_calls"])
    else:
        ax.bar(xs, ok, width=0.8, color=_BLUE, label=t["c_ok"], zorder=2)
        ax.bar(xs, bad, width=0.8, bottom=ok, color=_RED, label=t["c_bad"], zorder=2)
        ax.set_ylabel(t["c_calls_y"], fontsize=8)
        _integer_y(ax)
    _legend(fig)
    return fig


def _chart_weekdays(local: list[tuple[datetime, CallRow]], t: Mapping[str, str]) -> Figure:
    fig, ax = _new_figure()
    ax.set_title(t["c_week"], fontsize=10, loc="left")
    ax.axvspan(4.5, 6.5, color=_WEEKEND, zorder=0, label=t["c_weekend"])
    ok = [0] * 7
    bad = [0] * 7
    for moment, c in local:
        (bad if c.violations else ok)[moment.weekday()] += 1
    ax.set_xlim(-0.5, 6.5)
    ax.set_xticks(range(7), t["c_days"].split(","))
    if not local:
        _empty(ax, t["c_no_calls"])
    else:
        ax.bar(range(7), ok, width=0.7, color=_BLUE, label=t["c_ok"], zorder=2)
        ax.bar(range(7), bad, width=0.7, bottom=ok, color=_RED, label=t["c_bad"], zorder=2)
        ax.set_ylabel(t["c_calls_y"], fontsize=8)
        _integer_y(ax)
    _legend(fig)
    return fig


def _chart_attempts(local: list[tuple[datetime, CallRow]], t: Mapping[str, str]) -> Figure:
    fig, ax = _new_figure()
    ax.set_title(t["c_attempts"], fontsize=10, loc="left")
    per_number: dict[str, list[date]] = defaultdict(list)
    for moment, c in local:
        per_number[c.number].append(moment.date())
    worst = Counter(_max_in_window(days) for days in per_number.values())
    top = max([CAP_CALLS + 2, *worst])
    ax.set_xlim(0.4, top + 0.6)
    ax.set_xticks(range(1, top + 1))
    ax.set_xlabel(t["c_attempts_x"], fontsize=8)
    ax.axvline(CAP_CALLS + 0.5, color=_RED, linestyle="--", linewidth=1.2, label=t["c_cap"])
    if not local:
        _empty(ax, t["c_no_calls"])
    else:
        xs = sorted(worst)
        colors = [_RED if x > CAP_CALLS else _BLUE for x in xs]
        ax.bar(xs, [worst[x] for x in xs], width=0.7, color=colors, zorder=2)
        ax.set_ylabel(t["c_attempts_y"], fontsize=8)
        _integer_y(ax)
    _legend(fig)
    return fig


def _day(value: datetime, zone: str, what: str) -> float:
    """The consumer's wall-clock time as days (proleptic ordinal): the cooldown counts her
    dates, so the bars follow them."""
    local = _local(value, zone, what)
    seconds = local.hour * 3600 + local.minute * 60 + local.second
    return local.toordinal() + seconds / 86400


def _date_ticks(ax: Axes, first: float, last: float, lang: Lang) -> None:
    """About six date ticks on whole days, Mondays or first days of months, by the span.

    Drawn by hand rather than with ``matplotlib.dates`` so the ticks do not depend on the
    host's date epoch or locale.
    """
    lo, hi = date.fromordinal(int(first)), date.fromordinal(int(last) + 1)
    span = (hi - lo).days
    if span <= 21:
        step = max(1, -(-span // 6))
        days = [lo + timedelta(days=i) for i in range(0, span + 1, step)]
    elif span <= 120:
        monday = lo + timedelta(days=(7 - lo.weekday()) % 7)
        step = 7 * max(1, -(-span // 42))
        days = [monday + timedelta(days=i) for i in range(0, (hi - monday).days + 1, step)]
    else:
        months = (hi.year - lo.year) * 12 + hi.month - lo.month
        every = max(1, -(-months // 6))
        days = []
        y, m = (lo.year, lo.month + 1) if lo.day > 1 else (lo.year, lo.month)
        while True:
            y, m = y + (m - 1) // 12, (m - 1) % 12 + 1
            d = date(y, m, 1)
            if d > hi:
                break
            days.append(d)
            m += every
    fmt = "%d/%m/%y" if lang == "fr" else "%Y-%m-%d"
    ax.set_xticks([float(d.toordinal()) for d in days], [d.strftime(fmt) for d in days])
    ax.set_xlim(first - 0.02 * max(span, 1), last + 0.02 * max(span, 1))


def _chart_refusals(data: ReportData, t: Mapping[str, str]) -> Figure:
    from matplotlib.patches import Patch

    refusals = sorted(data.refusals, key=lambda r: (_aware(r.at, "at"), r.number))
    lang = data.lang
    if not refusals:
        fig, ax = _new_figure()
        ax.set_title(t["c_refusals"], fontsize=10, loc="left")
        _empty(ax, t["c_no_refusals"])
        ax.set_xticks([])
        return fig
    if len(refusals) > TIMELINE_MAX:
        fig, ax = _new_figure()
        ax.set_title(t["c_refusals_week"], fontsize=10, loc="left")
        weeks: Counter[int] = Counter()
        for r in refusals:
            day = int(_day(r.at, r.zone, "at"))
            weeks[day - date.fromordinal(day).weekday()] += 1
        xs = sorted(weeks)
        ax.bar([x + 3.5 for x in xs], [weeks[x] for x in xs], width=6, color=_BLUE, zorder=2)
        ax.set_ylabel(t["c_refusals_y"], fontsize=8)
        ax.set_xlabel(t["c_week_x"], fontsize=8)
        _integer_y(ax)
        _date_ticks(ax, xs[0], xs[-1] + 7, lang)
        return fig
    fig, ax = _new_figure(height=max(3.1, 1.2 + 0.22 * len(refusals)))
    ax.set_title(t["c_refusals"], fontsize=10, loc="left")
    first, last = float("inf"), float("-inf")
    for i, r in enumerate(refusals):
        start = _day(r.at, r.zone, "at")
        end = _day(r.cooldown_until, r.zone, "cooldown_until")
        first, last = min(first, start, end), max(last, start, end)
        color = _GREY if r.lifted else _BLUE
        ax.barh(i, end - start, left=start, height=0.6, color=color, zorder=2)
        ax.plot([start], [i], marker="|", color=_RED, markersize=9, zorder=3)
    ax.set_yticks(range(len(refusals)), [r.number for r in refusals], fontsize=7)
    # first refusal on top; at least eight rows of room, so two refusals are not two slabs
    ax.set_ylim(max(len(refusals), 8) - 0.5, -0.5)
    _date_ticks(ax, first, last, lang)
    ax.grid(axis="x", color="#e3e7ee", zorder=0)
    handles = [Patch(color=_BLUE, label=t["c_cooldown"])]
    if any(r.lifted for r in refusals):
        handles.append(Patch(color=_GREY, label=t["c_lifted"]))
    _legend(fig, handles)
    return fig


def _charts(data: ReportData, calls: Sequence[CallRow]) -> list[str]:
    """The four charts as inline SVG, drawn with a fixed style so the page never depends on the
    host's matplotlibrc, and a fixed hash salt so the ids, and the page, are reproducible."""
    try:
        import matplotlib
    except ImportError as exc:  # pragma: no cover - exercised without the extra
        raise ImportError(
            'the HTML report draws its charts with matplotlib: pip install "callguard-fr[report]"'
        ) from exc
    t = _words(data.lang)
    local = _local_calls(calls)
    # The host's matplotlibrc must not change the page; "backend" stays out because rc_context
    # does not restore it (the Agg canvas is attached to each figure instead, see _new_figure).
    style: dict[Any, Any] = {k: v for k, v in matplotlib.rcParamsDefault.items() if k != "backend"}
    style |= {
        "svg.hashsalt": "callguard-report",
        "svg.fonttype": "path",
        "font.family": "DejaVu Sans",
        "axes.titleweight": "bold",
        "axes.edgecolor": "#6b7587",
    }
    out: list[str] = []
    with matplotlib.rc_context(style):
        no_calls = f" — {t['c_no_calls']}" if not calls else ""
        no_refusals = f" — {t['c_no_refusals']}" if not data.refusals else ""
        refusals = t["c_refusals_week"] if len(data.refusals) > TIMELINE_MAX else t["c_refusals"]
        drawers: tuple[tuple[Callable[[], Figure], str], ...] = (
            (partial(_chart_hours, local, t), t["c_hours"] + no_calls),
            (partial(_chart_weekdays, local, t), t["c_week"] + no_calls),
            (partial(_chart_attempts, local, t), t["c_attempts"] + no_calls),
            (partial(_chart_refusals, data, t), refusals + no_refusals),
        )
        for n, (draw, label) in enumerate(drawers, 1):
            out.append(_svg(draw(), f"chart{n}", label))
    return out


# -- the whole ------------------------------------------------------------------------------------


def render_report(data: ReportData) -> str:
    """The control pack as one self-contained HTML page (UTF-8 text; write it as ``.html``).

    Raises ``ImportError`` when matplotlib is not installed, ``ValueError`` on a naive datetime,
    an unknown zone or an unknown language.
    """
    if data.lang not in LANGS:
        raise ConfigurationError(
            _("lang={value}: expected 'fr' or 'en'", value=repr(data.lang)),
            field="lang",
            value=data.lang,
        )
    t = _words(data.lang)
    calls = _by_time(data.calls)
    counts = _summary(data)
    charts = _charts(data, calls)
    figures = "".join(f"<figure>{svg}</figure>" for svg in charts)
    title = f"{t['title']} — {data.professional}"
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{data.lang}"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="generator" content="callguard">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        f"{_header(data)}"
        f"{_summary_section(data, counts)}"
        f'<section id="charts"><h2>{_e(t["charts"])}</h2><div class="charts">{figures}</div>'
        "</section>"
        f"{_violations_section(data, calls)}"
        f"{_consents_section(data)}"
        f"{_refusals_section(data)}"
        f"<footer>{_e(t['footer'])}</footer>"
        "</body></html>\n"
    )
