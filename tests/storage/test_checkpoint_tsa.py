"""RFC 3161 timestamp tokens of checkpoints, against a local timestamp authority: a loopback
HTTP server answering each request with ``openssl ts -reply``."""

from __future__ import annotations

import datetime as dt
import http.server
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import callguard
from callguard import Guard
from callguard._checkpoint import TSR, create_signing_key
from callguard.cli import cli
from conftest import NPV, paris

pytest.importorskip(
    "rfc3161_client", reason='tokens need rfc3161-client: pip install ".[evidence]"'
)
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
pytestmark = pytest.mark.skipif(not Path(OPENSSL).exists(), reason="no openssl to run a local TSA")

AT = paris(2026, 11, 24, 10, 30)


def _certificates(folder: Path) -> None:
    """A root CA and a TSA certificate it signed (critical EKU timeStamping, RFC 3161 §2.3)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.timezone.utc)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder().subject_name(name("callguard test root"))
        .issuer_name(name("callguard test root")).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                       critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    tsa_key = ec.generate_private_key(ec.SECP256R1())
    tsa = (
        x509.CertificateBuilder().subject_name(name("callguard test TSA"))
        .issuer_name(ca.subject).public_key(tsa_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False),
                       critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    pem = serialization.Encoding.PEM
    (folder / "ca.pem").write_bytes(ca.public_bytes(pem))
    (folder / "tsa.pem").write_bytes(tsa.public_bytes(pem))
    (folder / "tsa.key").write_bytes(tsa_key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ))  # fmt: skip
    (folder / "serial").write_text("01\n")
    (folder / "tsa.cnf").write_text(
        "[ tsa ]\ndefault_tsa = local\n[ local ]\n"
        f"serial = {folder / 'serial'}\ncrypto_device = builtin\n"
        f"signer_cert = {folder / 'tsa.pem'}\nsigner_key = {folder / 'tsa.key'}\n"
        "signer_digest = sha256\ndefault_policy = 1.2.3.4.1\ndigests = sha256, sha384, sha512\n"
        "accuracy = secs:1\nordering = no\ntsa_name = yes\ness_cert_id_chain = no\n"
        "ess_cert_id_alg = sha256\n"
    )


@pytest.fixture
def tsa(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """(URL of a local TSA, its root certificate)."""
    folder = tmp_path / "tsa"
    folder.mkdir()
    _certificates(folder)
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            query = self.rfile.read(int(self.headers["Content-Length"]))
            with lock:
                (folder / "q.tsq").write_bytes(query)
                done = subprocess.run(
                    [OPENSSL, "ts", "-reply", "-config", str(folder / "tsa.cnf"),
                     "-queryfile", str(folder / "q.tsq"), "-out", str(folder / "r.tsr")],
                    capture_output=True, check=False, timeout=30,
                )  # fmt: skip
                body = (folder / "r.tsr").read_bytes() if done.returncode == 0 else b""
            self.send_response(200 if body else 500)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/tsa", folder / "ca.pem"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture
def ledger(tmp_path: Path) -> tuple[str, Path]:
    db = str(tmp_path / "ledger.db")
    with Guard(db, professional="acme") as g:
        g.record_call("06 12 34 56 78", AT, caller_id=NPV)
    key = tmp_path / "k.pem"
    create_signing_key(key)
    return db, key


def test_a_token_is_written_beside_the_checkpoint_and_verifies(
    tsa: tuple[str, Path], ledger: tuple[str, Path], tmp_path: Path
) -> None:
    url, root = tsa
    db, key = ledger
    result = CliRunner().invoke(cli, ["checkpoint", "--db", db, "--signing-key", str(key),
                                      "--out", str(tmp_path / "cps"), "--tsa", url])  # fmt: skip
    assert result.exit_code == 0, result.output
    path = Path(result.output.strip())
    assert path.with_name(path.name + TSR).stat().st_size > 500
    report = callguard.verify(db, checkpoints=tmp_path / "cps", public_key=f"{key}.pub",
                              tsa_roots=root)  # fmt: skip
    assert report.ok, report.problems
    stamped = report.checkpoints[0].timestamp
    assert stamped is not None
    # The TSA's clock, not the keeper's: within a minute of now, whatever the checkpoint says.
    now = dt.datetime.now(dt.timezone.utc)
    assert abs(dt.datetime.fromisoformat(stamped) - now) < dt.timedelta(minutes=1)
    # Without the TSA's root, the token is checked against the certificate it carries: not
    # edited, though who signed it is not established.
    alone = callguard.verify(db, checkpoints=tmp_path / "cps", public_key=f"{key}.pub")
    assert alone.ok, alone.problems
    assert alone.checkpoints[0].timestamp == stamped
    assert not alone.checkpoints[0].timestamp_verified
    assert report.checkpoints[0].timestamp_verified
    ok = CliRunner().invoke(cli, ["verify", "--db", db, "--checkpoints", str(tmp_path / "cps"),
                                  "--public-key", f"{key}.pub", "--tsa-root", str(root)])  # fmt: skip
    assert ok.exit_code == 0, ok.output


def test_a_token_of_something_else_or_of_another_authority_fails(
    tsa: tuple[str, Path], ledger: tuple[str, Path], tmp_path: Path
) -> None:
    url, root = tsa
    db, key = ledger
    with Guard(db, professional="acme") as g:
        first = g.checkpoint(key, tmp_path / "cps", tsa=url, now=AT)
        second = g.checkpoint(key, tmp_path / "cps", tsa=url, now=AT + dt.timedelta(hours=1))
    token = first.with_name(first.name + TSR)
    # The token of the second checkpoint put beside the first.
    token.write_bytes(second.with_name(second.name + TSR).read_bytes())
    report = callguard.verify(db, checkpoints=tmp_path / "cps", public_key=f"{key}.pub",
                              tsa_roots=root)  # fmt: skip
    assert not report.ok
    assert first.name in str(report.first) and "timestamp token" in str(report.first)
    report = callguard.verify(db, checkpoints=tmp_path / "cps", public_key=f"{key}.pub")
    assert not report.ok and "stamps another file" in str(report.first)
    # A root the TSA does not chain to.
    token.unlink()
    other = tmp_path / "other"
    other.mkdir()
    _certificates(other)
    report = callguard.verify(db, checkpoints=tmp_path / "cps", public_key=f"{key}.pub",
                              tsa_roots=other / "ca.pem")  # fmt: skip
    assert not report.ok and second.name in str(report.first)


def test_an_unreachable_authority_is_an_error_and_the_checkpoint_stands(
    ledger: tuple[str, Path], tmp_path: Path
) -> None:
    db, key = ledger
    result = CliRunner().invoke(cli, ["checkpoint", "--db", db, "--signing-key", str(key),
                                      "--out", str(tmp_path / "cps"),
                                      "--tsa", "http://127.0.0.1:9/tsa"])  # fmt: skip
    assert result.exit_code == 2 and "127.0.0.1:9" in result.output
    assert len(list((tmp_path / "cps").glob("checkpoint-*.json"))) == 1
    assert callguard.verify(db, checkpoints=tmp_path / "cps", public_key=f"{key}.pub").ok
