"""TLS for the simulator's api-ssl: with a certificate (tests bring one), or none at all.

RouterOS' api-ssl without a certificate (the default) speaks TLS 1.2 with anonymous Diffie-Hellman
suites only (OpenSSL ``ADH-…``, allowed at ``@SECLEVEL=0``): no certificate, no identity. A client
with a normal TLS context fails the handshake against it — which is what pantau users met.
"""

from __future__ import annotations

import ssl
import tempfile
from pathlib import Path

# Public 1024-bit finite-field DH group generated for the simulator (parameters, not a secret). Small
# on purpose: RouterOS' anonymous api-ssl is only accepted at OpenSSL security level 0 anyway.
_DH_PARAMS = """-----BEGIN DH PARAMETERS-----
MIGHAoGBAKwS3u7//3wmrXaCujkZEVtPsZfxKPikmsqGZWhdIXyTPb/ucipp8yaq
JbOnlPIF2M0OQdKTnuknesj9OYpNkYPbKQf0ltR7YdkDUrmu6xGN7yGkPnWNcYuY
G17+Ju85CFKOjhabfFDSTO1Hc4hc8T0ysnWmr+CicVZtJqfYXbKXAgEC
-----END DH PARAMETERS-----
"""


def anonymous_server_context() -> ssl.SSLContext:
    """An api-ssl server context without a certificate, like a factory-default RouterOS."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers("ADH:@SECLEVEL=0")
    with tempfile.TemporaryDirectory(prefix="pantau-sim-dh-") as tmp:
        path = Path(tmp) / "dh.pem"
        path.write_text(_DH_PARAMS, encoding="ascii")
        ctx.load_dh_params(str(path))
    return ctx
