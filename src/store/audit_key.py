"""The audit key: the secret that keys the event log's hash chain (DOMAIN §9.3, §9.4).

Each link of the chain is an HMAC-SHA256 under this key (hashchain.py), so whoever can
write to the database but does not hold the key cannot recompute the chain after an
edit. The key therefore lives outside the database, in the deployment's configuration:

* ``CLASSLEDGER_AUDIT_KEY``: the key itself (at least 32 characters, e.g. the output of
  ``openssl rand -hex 32``), or
* ``CLASSLEDGER_AUDIT_KEY_FILE``: the path of a file that holds it (a secrets mount).

The entry points (``classledger``, ``serve``'s workers) read it with ``audit_key_from_env``
and pass it down explicitly; nothing below them reads the environment. Unset, the
development key is used: it is published in this file, so a chain under it proves
nothing to an auditor, and ``serve`` says so loudly (docs/operations.md, "Audit").
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

KEY_VAR = "CLASSLEDGER_AUDIT_KEY"
KEY_FILE_VAR = "CLASSLEDGER_AUDIT_KEY_FILE"
MIN_KEY_LENGTH = 32
DEVELOPMENT_SECRET = b"classledger development audit key: published, never for real data"


class AuditKeyError(ValueError):
    """The configured audit key cannot be used (an entry point refuses to start)."""


@dataclass(frozen=True)
class AuditKey:
    secret: bytes = field(repr=False)
    source: str  # where it came from: the variable's name, or "development"

    @property
    def development(self) -> bool:
        return self.secret == DEVELOPMENT_SECRET

    @property
    def fingerprint(self) -> str:
        """A short, one-way name of the key: an auditor notes it beside the head, and a
        verify under another key is recognised as such, not mistaken for tampering."""
        return hmac.digest(self.secret, b"classledger audit key fingerprint", hashlib.sha256).hex()[:16]

    def as_json(self) -> dict[str, object]:
        return {"fingerprint": self.fingerprint, "development": self.development}


DEVELOPMENT_KEY = AuditKey(DEVELOPMENT_SECRET, "development")


def audit_key_from_env(environ: Mapping[str, str]) -> AuditKey:
    """The deployment's audit key, or the development key when none is configured."""
    text, file = environ.get(KEY_VAR, ""), environ.get(KEY_FILE_VAR, "")
    if text and file:
        raise AuditKeyError(f"set {KEY_VAR} or {KEY_FILE_VAR}, not both")
    source = KEY_VAR
    if file:
        source = f"{KEY_FILE_VAR} ({file})"
        try:
            text = Path(file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise AuditKeyError(f"{KEY_FILE_VAR}: cannot read the audit key from {file}: {e}") from None
    secret = text.strip().encode()
    if not secret:
        if file or text:
            raise AuditKeyError(f"{source}: the audit key is blank")
        return DEVELOPMENT_KEY
    if len(secret) < MIN_KEY_LENGTH:
        raise AuditKeyError(
            f"{source}: the audit key has {len(secret)} characters; it needs at least {MIN_KEY_LENGTH} "
            "(e.g. the output of `openssl rand -hex 32`)"
        )
    if secret == DEVELOPMENT_SECRET:
        raise AuditKeyError(f"{source}: that is the published development key; choose a secret one")
    return AuditKey(secret, source)
