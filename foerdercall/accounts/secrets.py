"""Encryption at rest of the TOTP secrets (``users.totp_secret``, issue 5).

A copy of the database (a backup, a dump for a test system) must not be enough to produce valid second-factor
codes. The secret is therefore stored encrypted with AES-256-GCM:

- **Key.** ``TOTP_ENCRYPTION_KEY`` when it is set: 32 random bytes in URL-safe base64, e.g.
  ``python -c "import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())"`` (any other
  text is stretched with HKDF-SHA256 like the fallback). Unset: derived from ``SECRET_KEY`` with HKDF-SHA256
  (``info=b"foerdercall totp"``, a derivation of its own, so the session signing key itself never encrypts
  anything). A key of its own can be kept out of the database host's backups separately; changing
  ``SECRET_KEY`` without it makes the stored secrets unreadable (the login then says so, see
  :func:`foerdercall.accounts.operations.second_factor`, and an admin resets the person's two-factor login).
- **Stored form.** ``"v1:" + urlsafe_base64(nonce (12 bytes) + ciphertext + tag)``; the associated data binds
  the value to its user (a secret copied onto another account does not decrypt). The version prefix names the
  key and scheme, so a later rotation can add ``v2`` and still read ``v1``.
- **Legacy values** (plain base32 from before the encryption, no prefix) are read as they are; the next
  successful login stores them encrypted, and the migration ``1c2d3e4f5a6b`` encrypts them when it can read
  the app's configuration.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

PREFIX = "v1:"
HKDF_INFO = b"foerdercall totp"
_NONCE = 12


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted: the key changed (TOTP_ENCRYPTION_KEY, or SECRET_KEY without it), the
    value was damaged or belongs to another account."""


def _hkdf(material: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(material)


def key_from_config(config: Mapping) -> bytes:
    """The 32-byte AES key: TOTP_ENCRYPTION_KEY (base64 of 32 bytes as is, other text through HKDF), else HKDF
    of SECRET_KEY. Raises SecretUnreadable when neither is set."""
    configured = (config.get("TOTP_ENCRYPTION_KEY") or "").strip()
    if configured:
        try:
            raw = base64.urlsafe_b64decode(configured.encode())
        except (binascii.Error, ValueError):
            raw = b""
        return raw if len(raw) == 32 else _hkdf(configured.encode())
    secret_key = config.get("SECRET_KEY") or ""
    if not secret_key:
        raise SecretUnreadable("neither TOTP_ENCRYPTION_KEY nor SECRET_KEY is set")
    return _hkdf(secret_key.encode() if isinstance(secret_key, str) else bytes(secret_key))


def _config(config: Mapping | None) -> Mapping:
    return config if config is not None else current_app.config


def _aad(user_id: int) -> bytes:
    return f"users.totp_secret:{int(user_id)}".encode()


def is_encrypted(stored: str | None) -> bool:
    return stored is not None and stored.startswith(PREFIX)


def encrypt(plain: str, user_id: int, config: Mapping | None = None) -> str:
    """The stored form of a TOTP secret of the user with this id."""
    nonce = os.urandom(_NONCE)
    sealed = AESGCM(key_from_config(_config(config))).encrypt(nonce, plain.encode(), _aad(user_id))
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()


def decrypt(stored: str, user_id: int, config: Mapping | None = None) -> str:
    """The TOTP secret of a stored value (a legacy plain value as it is). Raises SecretUnreadable."""
    if not is_encrypted(stored):
        return stored
    try:
        blob = base64.urlsafe_b64decode(stored[len(PREFIX) :].encode())
    except (binascii.Error, ValueError):
        raise SecretUnreadable("not base64") from None
    if len(blob) <= _NONCE + 16:
        raise SecretUnreadable("too short")
    try:
        plain = AESGCM(key_from_config(_config(config))).decrypt(blob[:_NONCE], blob[_NONCE:], _aad(user_id))
    except InvalidTag:
        raise SecretUnreadable("wrong key, damaged value or another account's value") from None
    return plain.decode()
