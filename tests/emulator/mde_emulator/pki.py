# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only PKI: a CA, the server certificate and generated client certificates."""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

_ONE_DAY = datetime.timedelta(days=1)


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def sha1_thumbprint(cert: x509.Certificate) -> str:
    return hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def sha256_thumbprint(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def _builder(subject: str, issuer: x509.Name | None, public_key, days: int) -> x509.CertificateBuilder:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(issuer or name)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _ONE_DAY)
            .not_valid_after(now + datetime.timedelta(days=days)))


def _write(path: str, data: bytes) -> None:
    tmp = path + ".tmp"
    with open(tmp, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


class Pki:
    """The CA and server certificate, written into the state directory."""

    def __init__(self, state_dir: str, host: str) -> None:
        self.ca_key = new_key()
        ca_builder = _builder("MDE emulator test CA", None, self.ca_key.public_key(), 30)
        ca_builder = ca_builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        ca_builder = ca_builder.add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                                            data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                                            crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        ca_builder = ca_builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(self.ca_key.public_key()), critical=False)
        self.ca_cert = ca_builder.sign(self.ca_key, hashes.SHA256())

        server_key = new_key()
        sans: list[x509.GeneralName] = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        try:
            extra = ipaddress.ip_address(host)
            if str(extra) != "127.0.0.1":
                sans.append(x509.IPAddress(extra))
        except ValueError:
            if host != "localhost":
                sans.append(x509.DNSName(host))
        server_builder = _builder("localhost", self.ca_cert.subject, server_key.public_key(), 30)
        server_builder = server_builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        server_builder = server_builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        server_builder = server_builder.add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        server_builder = server_builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca_key.public_key()), critical=False)
        server_cert = server_builder.sign(self.ca_key, hashes.SHA256())

        self.ca_path = os.path.join(state_dir, "ca.pem")
        self.server_path = os.path.join(state_dir, "server.pem")
        _write(self.ca_path, cert_pem(self.ca_cert))
        _write(self.server_path, cert_pem(server_cert) + key_pem(server_key))


def generate_client_certificate(path: str, client_id: str) -> x509.Certificate:
    """A self-signed client certificate (as ``New-SelfSignedCertificate`` would make), PEM cert + key at ``path``."""
    key = new_key()
    cert = _builder("mde-emulator-client-%s" % client_id, None, key.public_key(), 365).sign(key, hashes.SHA256())
    _write(path, cert_pem(cert) + key_pem(key))
    return cert


def load_certificate(pem: str | bytes) -> x509.Certificate:
    data = pem.encode() if isinstance(pem, str) else pem
    return x509.load_pem_x509_certificate(data)
