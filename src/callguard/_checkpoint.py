"""Signed checkpoints: the journal's heads fixed outside the ledger.

The journal (``storage.journal``) chains every fact written, but a chain kept only inside the
ledger proves nothing against the ledger's keeper — the professional a DGCCRF or CNIL control
inspects: a cut tail, a recomputed chain or last week's copy put back all verify. A checkpoint is
a small JSON file, signed with an Ed25519 key, that names the ledger's id, the head
(``seq``, ``hash``) of every chain and the row counts. Once it has left the host (mail, object
storage, the accountant), the keeper can no longer rewrite what came before it: ``verify`` with
the checkpoints checks that each head is still in its chain.

A checkpoint holds no personal data: chain names (``p<id>``, ``shared``), numbers of entries and
rows, hashes. Taking one is itself journaled (``checkpoint`` entry of the shared chain, with the
file's SHA-256). An RFC 3161 timestamp token (``--tsa URL``) proves when it was signed, on a
clock the keeper does not hold.

What it cannot do: prove facts written after the newest checkpoint (only the ledger's own
chain covers them), nor make a keeper take checkpoints.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ._exceptions import ConfigurationError, LedgerError
from ._i18n import Message, _
from ._safefiles import write_new
from .storage.base import Ledger
from .storage.verdict import CheckpointCheck, Problem, VerifyReport

__all__ = [
    "FORMAT",
    "check_against",
    "create_signing_key",
    "fingerprint",
    "load_public_key",
    "load_signing_key",
    "take_checkpoint",
    "verify_checkpoints",
]

FORMAT = "callguard-checkpoint/1"
"""The ``format`` field of a checkpoint file."""

_NAME = re.compile(r"checkpoint-.*\.json\Z")
TSR = ".tsr"


def _ed25519() -> Any:
    try:
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError as exc:  # pragma: no cover - cryptography comes with the evidence extra
        raise ConfigurationError(
            _(
                'signed checkpoints need cryptography: pip install "callguard-fr[evidence]" '
                "({problem})",
                problem=str(exc),
            )
        ) from exc
    return ed25519


def canonical(value: object) -> bytes:
    """The one byte string a signature covers: JSON, sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def fingerprint(public_key: Any) -> str:
    """``SHA256:`` and the hex SHA-256 of the public key's DER SubjectPublicKeyInfo."""
    from cryptography.hazmat.primitives import serialization

    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "SHA256:" + hashlib.sha256(der).hexdigest()


def create_signing_key(out: str | os.PathLike[str]) -> str:
    """Write a new Ed25519 private key to ``out`` (PEM, mode 0600) and its public key to
    ``out.pub``; returns the public key's fingerprint. Never overwrites either file (nor writes
    through a symbolic link)."""
    from cryptography.hazmat.primitives import serialization

    ed = _ed25519()
    path = Path(out)
    pub = path.with_name(path.name + ".pub")
    for p in (path, pub):
        if os.path.lexists(p):
            raise ConfigurationError(
                _("{path} already exists: a signing key is never overwritten", path=repr(str(p))),
                field="out",
                value=out,
            )
    key = ed.Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key()
    write_new(path, pem, mode=0o600)
    try:
        write_new(
            pub,
            public.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
            mode=0o644,
        )
    except BaseException:
        path.unlink()
        raise
    return fingerprint(public)


def _unreadable(exc: BaseException) -> Message:
    """Why a key file could not be read, in the reader's language."""
    if isinstance(exc, FileNotFoundError):
        return _("no such file")
    if isinstance(exc, PermissionError):
        return _("permission denied")
    if isinstance(exc, IsADirectoryError):
        return _("it is a directory")
    if isinstance(exc, OSError):
        return _("the file cannot be read")
    return _("it is not a PEM key")


def load_signing_key(path: str | os.PathLike[str]) -> Any:
    """The Ed25519 private key in the PEM file ``path``; a ConfigurationError names the file."""
    return _load_key(path, private=True)


def load_public_key(path: str | os.PathLike[str]) -> Any:
    """The Ed25519 public key in the PEM file ``path``; a ConfigurationError names the file."""
    return _load_key(path, private=False)


def _load_key(path: str | os.PathLike[str], *, private: bool) -> Any:
    """The Ed25519 key, private or public, in the PEM file ``path``."""
    from cryptography.hazmat.primitives import serialization

    ed = _ed25519()
    shown = repr(str(path))
    field = "signing_key_path" if private else "public_key"
    try:
        raw = Path(path).read_bytes()
        key = (
            serialization.load_pem_private_key(raw, password=None)
            if private
            else serialization.load_pem_public_key(raw)
        )
    except (OSError, ValueError, TypeError) as exc:
        problem = _unreadable(exc)
        unread = (
            _("cannot read signing key {path}: {problem}", path=shown, problem=problem)
            if private
            else _("cannot read public key {path}: {problem}", path=shown, problem=problem)
        )
        raise ConfigurationError(unread, field=field, value=path) from exc
    if not isinstance(key, ed.Ed25519PrivateKey if private else ed.Ed25519PublicKey):
        wrong = (
            _("signing key {path} is not an Ed25519 key", path=shown)
            if private
            else _("public key {path} is not an Ed25519 key", path=shown)
        )
        raise ConfigurationError(wrong, field=field, value=path)
    return key


def _utc(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError(f"now={moment!r} is naive: give a time zone")
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def take_checkpoint(
    ledger: Ledger,
    signing_key: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    now: datetime,
    tsa: str | None = None,
    tsa_timeout: float = 10.0,
) -> Path:
    """Sign the ledger's heads into a new file of ``out_dir`` (created if missing); journal it.

    The heads and counts are read, the file written and the ``checkpoint`` entry appended in
    one write transaction: a checkpoint the ledger does not record is never left behind by a
    failed write. With ``tsa``, the file's RFC 3161 token is asked for afterwards and written
    beside it (``.tsr``); a TSA that fails is an error, the checkpoint itself stands.
    """
    key = load_signing_key(signing_key)
    fp = fingerprint(key.public_key())
    folder = Path(out_dir)
    if os.path.islink(folder) or (folder.exists() and not folder.is_dir()):
        raise ConfigurationError(
            _("--out {path} is not a directory", path=repr(str(folder))),
            field="out_dir",
            value=out_dir,
        )
    folder.mkdir(parents=True, exist_ok=True)
    at = _utc(now)
    with ledger.write():
        ledger_id = ledger.ledger_id()
        if ledger_id is None:
            raise LedgerError("the ledger has no id: open it once with this version of callguard")
        heads = ledger.chain_heads()
        doc: dict[str, Any] = {
            "format": FORMAT,
            "ledger": ledger_id,
            "at": at,
            "heads": {c: {"seq": s, "hash": h} for c, (s, h) in sorted(heads.items())},
            "rows": ledger.row_counts(),
            "key": fp,
        }
        doc["signature"] = base64.b64encode(key.sign(canonical(doc))).decode()
        data = (json.dumps(doc, sort_keys=True, indent=2) + "\n").encode()
        stamp = now.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        path = folder / f"checkpoint-{ledger_id[:8]}-{stamp}.json"
        write_new(path, data, mode=0o644)
        try:
            ledger.journal(
                "shared", "checkpoints", "checkpoint", None,
                {"ledger": ledger_id, "at": at, "file": path.name, "key": fp,
                 "sha256": hashlib.sha256(data).hexdigest(),
                 "heads": {c: s for c, (s, _hash) in sorted(heads.items())}},
            )  # fmt: skip
        except BaseException:
            path.unlink()
            raise
    if tsa is not None:
        token = request_timestamp(tsa, data, timeout=tsa_timeout)
        write_new(path.with_name(path.name + TSR), token, mode=0o644)
    return path


# -- RFC 3161 -------------------------------------------------------------------------------------


def _rfc3161() -> Any:
    try:
        import rfc3161_client
    except ImportError as exc:
        raise ConfigurationError(
            _(
                'timestamp tokens need rfc3161-client: pip install "callguard-fr[evidence]" '
                "({problem})",
                problem=str(exc),
            )
        ) from exc
    return rfc3161_client


def request_timestamp(url: str, data: bytes, *, timeout: float = 10.0) -> bytes:
    """Ask the timestamp authority at ``url`` for a token over SHA-256(``data``); returns the
    DER response once its status, digest and nonce are checked."""
    tsp = _rfc3161()
    if not url.startswith(("http://", "https://")):
        raise ConfigurationError(
            _("--tsa {value}: expected an http:// or https:// URL", value=repr(url)),
            field="tsa",
            value=url,
        )
    request = (
        tsp.TimestampRequestBuilder()
        .data(data)
        .hash_algorithm(tsp.HashAlgorithm.SHA256)
        .nonce(nonce=True)
        .cert_request(cert_request=True)
    ).build()
    http = urllib.request.Request(
        url, data=request.as_bytes(), headers={"Content-Type": "application/timestamp-query"}
    )
    try:
        with urllib.request.urlopen(http, timeout=timeout) as answer:
            body: bytes = answer.read()
    except OSError as exc:
        raise LedgerError(f"timestamp authority {url!r} did not answer: {exc}") from exc
    try:
        response = tsp.decode_timestamp_response(body)
    except ValueError as exc:
        raise LedgerError(f"timestamp authority {url!r} answered no token: {exc}") from exc
    if response.status not in (0, 1):
        raise LedgerError(f"timestamp authority {url!r} refused: status {response.status}")
    info = response.tst_info
    if info.message_imprint.message != hashlib.sha256(data).digest():
        raise LedgerError(f"timestamp authority {url!r} stamped another digest")
    if request.nonce is not None and info.nonce != request.nonce:
        raise LedgerError(f"timestamp authority {url!r} answered another request (nonce)")
    return body


def _check_token(token: bytes, data: bytes, roots: list[Any] | None) -> tuple[str, str, bool]:
    """(time the token vouches for, problem or "", whether its signer was checked).

    With ``roots`` (the TSA's certificates) the token's signature and chain are checked against
    them. Without, only that the token stamps this very file: its time is then shown but not
    authenticated (anyone can make a token; give ``--tsa-root``)."""
    tsp = _rfc3161()
    try:
        response = tsp.decode_timestamp_response(token)
    except ValueError as exc:
        return "", f"its timestamp token cannot be read: {exc}", False
    when = response.tst_info.gen_time
    stamped = (when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when).isoformat()
    if not roots:
        imprint = response.tst_info.message_imprint
        digests = {hashlib.sha256(data).digest(), hashlib.sha512(data).digest()}
        if imprint.message not in digests:
            return stamped, "its timestamp token stamps another file", False
        return stamped, "", False
    builder = tsp.VerifierBuilder()
    for cert in roots:
        builder = builder.add_root_certificate(cert)
    try:
        builder.build().verify_message(response, data)
    except (tsp.VerificationError, ValueError) as exc:
        return stamped, f"its timestamp token does not verify: {exc}", False
    return stamped, "", True


def load_certificates(path: str | os.PathLike[str]) -> list[Any]:
    """Every certificate of a PEM file (the TSA's root, and intermediates)."""
    from cryptography import x509

    try:
        return list(x509.load_pem_x509_certificates(Path(path).read_bytes()))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(
            _("cannot read certificates {path}: {problem}", path=repr(str(path)),
              problem=str(exc)),
            field="tsa_roots", value=path,
        ) from exc  # fmt: skip


# -- verification ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Read:
    path: Path
    doc: dict[str, Any]
    data: bytes


def checkpoint_files(directory: str | os.PathLike[str]) -> list[Path]:
    """The checkpoint files of ``directory`` (``checkpoint-*.json``), by name."""
    folder = Path(directory)
    if not folder.is_dir():
        raise ConfigurationError(
            _("--checkpoints {path} is not a directory", path=repr(str(folder))),
            field="checkpoints",
            value=directory,
        )
    return sorted(p for p in folder.iterdir() if _NAME.match(p.name) and p.is_file())


def check_against(
    ledger: Ledger,
    report: VerifyReport,
    checkpoints: str | os.PathLike[str] | None,
    public_key: str | os.PathLike[str] | None,
    tsa_roots: str | os.PathLike[str] | None = None,
) -> None:
    """Add the checkpoints' verification to ``report`` (both folder and key are needed)."""
    if checkpoints is None or public_key is None:
        raise ConfigurationError(
            _(
                "checkpoints are verified with their public key: give both the checkpoints' "
                "folder and the public key (FILE.pub)"
            ),
            field="public_key" if public_key is None else "checkpoints",
        )
    verify_checkpoints(ledger, report, checkpoints, public_key, tsa_roots=tsa_roots)


def verify_checkpoints(
    ledger: Ledger,
    report: VerifyReport,
    directory: str | os.PathLike[str],
    public_key: str | os.PathLike[str],
    *,
    tsa_roots: str | os.PathLike[str] | None = None,
) -> None:
    """Check every checkpoint of ``directory`` against ``ledger``; add the results to
    ``report`` (``report.checkpoints``) and a ``checkpoint`` problem naming each that fails.

    A checkpoint fails when its signature is not the key's, it names another ledger, or any
    head it signed is no longer in its chain with that hash (a cut tail, a recomputed chain, an
    older copy put back). A folder with no checkpoint fails too: the controller expected some.
    """
    key = load_public_key(public_key)
    fp = fingerprint(key)
    roots = load_certificates(tsa_roots) if tsa_roots is not None else None
    files = checkpoint_files(directory)
    if not files:
        report.problems.append(Problem.of(
            "checkpoint", "journal", None,
            _("no checkpoint (checkpoint-*.json) in {folder}", folder=repr(str(directory))),
        ))  # fmt: skip
        return
    ledger_id = ledger.ledger_id()
    checks: list[CheckpointCheck] = []
    for path in files:
        check = _verify_one(ledger, ledger_id, path, key, fp, roots)
        checks.append(check)
        if not check.ok:
            report.problems.append(
                Problem.of(
                    "checkpoint",
                    "journal",
                    None,
                    _("checkpoint {name}: {detail}", name=path.name, detail=check.detail),
                )
            )
    report.checkpoints = sorted(checks, key=lambda c: (c.at or "", c.path))


def _verify_one(
    ledger: Ledger, ledger_id: str | None, path: Path, key: Any, fp: str, roots: list[Any] | None
) -> CheckpointCheck:
    from cryptography.exceptions import InvalidSignature

    shown = str(path)
    try:
        data = path.read_bytes()
        doc = json.loads(data)
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} file")
        signature = base64.b64decode(str(doc["signature"]), validate=True)
        signed = {k: v for k, v in doc.items() if k != "signature"}
        at = str(doc["at"])
        heads = doc["heads"]
        if not isinstance(heads, dict):
            raise ValueError("its heads are not a mapping")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return CheckpointCheck(shown, None, False, f"cannot be read: {exc}")
    try:
        key.verify(signature, canonical(signed))
    except InvalidSignature:
        return CheckpointCheck(
            shown, at, False,
            "its signature does not verify with the public key given (forged or edited)",
        )  # fmt: skip
    if doc.get("key") != fp:
        return CheckpointCheck(shown, at, False, f"it names key {doc.get('key')}, not {fp}")
    stamped: str | None = None
    token_path = path.with_name(path.name + TSR)
    checked = False
    if token_path.is_file():
        when, problem, checked = _check_token(token_path.read_bytes(), data, roots)
        stamped = when or None
        if problem:
            return CheckpointCheck(shown, at, False, problem, stamped)
    if doc.get("ledger") != ledger_id:
        return CheckpointCheck(
            shown, at, False,
            f"it is of ledger {doc.get('ledger')}, this ledger is {ledger_id or 'without an id'}",
            stamped,
        )  # fmt: skip
    after = 0
    for chain, head in sorted(heads.items()):
        try:
            seq, want = int(head["seq"]), str(head["hash"])
        except (KeyError, TypeError, ValueError):
            return CheckpointCheck(shown, at, False, f"its head of chain {chain} cannot be read")
        got = ledger.entry_hash(str(chain), seq)
        if got is None:
            return CheckpointCheck(
                shown, at, False,
                f"entry {seq} of chain {chain} is no longer in the ledger (its tail was cut, "
                "or an older copy of the ledger was put back)",
                stamped,
            )  # fmt: skip
        if got != want:
            return CheckpointCheck(
                shown, at, False,
                f"entry {seq} of chain {chain} is no longer the one signed (hash {got[:16]}…, "
                f"signed {want[:16]}…): the chain was rewritten",
                stamped,
            )  # fmt: skip
        after += ledger.entries_after(str(chain), seq)
    for chain, (seq, _hash) in ledger.chain_heads().items():
        if chain not in heads:
            after += seq
    return CheckpointCheck(shown, at, True, "", stamped, after, checked)
