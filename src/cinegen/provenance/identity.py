"""The signing identity: a certificate chain and its private key.

On first use cinegen makes its own: a certificate authority (``ca.pem``) and a signing
certificate it issues (``signer.pem``, with the CA after it), both ECDSA P-256, in
``DATA_DIR/provenance/`` (keys readable by the owner only). Readers that take ``ca.pem`` as
a trust anchor see cinegen's files as ``Trusted``. An operator with a certificate from a
C2PA-trusted authority sets ``CINEGEN_C2PA_CERT`` (chain, PEM) and ``CINEGEN_C2PA_KEY``
(PKCS#8 PEM) instead, and ``CINEGEN_C2PA_TRUST_ANCHORS`` for the roots to verify against.
"""

from __future__ import annotations

import datetime
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from cinegen.config import Settings
from cinegen.errors import CinegenError

FOLDER = "provenance"
CA_YEARS, SIGNER_YEARS = 20, 5


@dataclass(frozen=True)
class SigningIdentity:
    chain: bytes  # PEM: the signing certificate, then its issuers
    key: bytes  # PEM, PKCS#8
    anchors: bytes  # PEM: the roots a reader should trust


def load_identity(settings: Settings) -> SigningIdentity:
    """The operator's identity if configured, else cinegen's own (made on first use)."""
    if settings.c2pa_cert is not None or settings.c2pa_key is not None:
        if settings.c2pa_cert is None or settings.c2pa_key is None:
            raise CinegenError(
                "set both CINEGEN_C2PA_CERT and CINEGEN_C2PA_KEY, or neither (cinegen then "
                "signs with its own certificate authority)"
            )
        chain = settings.c2pa_cert.read_bytes()
        anchors = (
            settings.c2pa_trust_anchors.read_bytes()
            if settings.c2pa_trust_anchors
            else _last_certificate(chain)
        )
        return SigningIdentity(chain, settings.c2pa_key.read_bytes(), anchors)
    folder = Path(settings.data_dir) / FOLDER
    if not (folder / "signer.pem").is_file():
        _create(folder)
    ca = (folder / "ca.pem").read_bytes()
    signer, key = (folder / "signer.pem").read_bytes(), (folder / "signer-key.pem").read_bytes()
    return SigningIdentity(signer + ca, key, ca)


def _create(folder: Path) -> None:
    """A new CA and signing certificate, written to a scratch folder and renamed into place
    whole, so that processes starting together end up with one identity."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".provenance-", dir=folder.parent))
    try:
        ca_key, signer_key = (
            ec.generate_private_key(ec.SECP256R1()),
            ec.generate_private_key(ec.SECP256R1()),
        )
        ca = _certificate("cinegen provenance CA", ca_key, None, ca_key, CA_YEARS)
        signer = _certificate("cinegen signer", signer_key, ca, ca_key, SIGNER_YEARS)
        for name, data in (
            ("ca.pem", _pem(ca)),
            ("ca-key.pem", _key_pem(ca_key)),
            ("signer.pem", _pem(signer)),
            ("signer-key.pem", _key_pem(signer_key)),
        ):
            path = scratch / name
            path.write_bytes(data)
            if name.endswith("key.pem"):
                os.chmod(path, 0o600)
        try:
            os.rename(scratch, folder)
        except OSError:  # another process made it first: use theirs
            if not (folder / "signer.pem").is_file():
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _name(common: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "cinegen"),
        ]
    )


def _certificate(
    common: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Certificate | None,
    issuer_key: ec.EllipticCurvePrivateKey,
    years: int,
) -> x509.Certificate:
    """A CA certificate (``issuer`` None: self-signed) or a signing certificate with the
    key usage C2PA asks of one (digital signature, email protection)."""
    now = datetime.datetime.now(datetime.UTC)
    is_ca = issuer is None
    usage = {
        name: False
        for name in (
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "encipher_only",
            "decipher_only",
        )
    }
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common))
        .issuer_name(_name(common) if issuer is None else issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365 * years))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=0 if is_ca else None), True)
        .add_extension(
            x509.KeyUsage(digital_signature=True, key_cert_sign=is_ca, crl_sign=is_ca, **usage),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    )
    if not is_ca:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        ).add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _last_certificate(chain: bytes) -> bytes:
    certificates = x509.load_pem_x509_certificates(chain)
    return _pem(certificates[-1])
