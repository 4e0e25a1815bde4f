"""Field encryption with the Chinese commercial algorithms (国密, SEC-5).

* `encrypt` / `decrypt`: SM4 in GCM mode (authenticated) with a random 96-bit nonce per value.
  Stored form: ``sm4gcm:1:<base64(nonce | ciphertext | tag)>`` so the scheme can change later.
* `keyed_hash`: HMAC-SM3 of a normalised value, for exact-match lookups of encrypted fields
  (find a customer by ID number without decrypting every row).

Keys come from settings (FIELD_ENCRYPTION_KEY, FIELD_HASH_KEY: 32 hex characters = 128 bits).
"""
from __future__ import annotations

import base64
import os
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PREFIX = "sm4gcm:1:"


class DecryptionError(ValueError):
    """A stored value could not be decrypted (wrong key or tampered data)."""


@lru_cache(maxsize=4)
def _key(hex_key: str, name: str) -> bytes:
    try:
        key = bytes.fromhex(hex_key)
    except (TypeError, ValueError):
        raise ImproperlyConfigured(f"{name} must be 32 hexadecimal characters") from None
    if len(key) != 16:
        raise ImproperlyConfigured(f"{name} must be 32 hexadecimal characters (128 bits)")
    return key


def encrypt(plaintext: str) -> str:
    """SM4-GCM encryption of a text value; empty stays empty."""
    if not plaintext:
        return ""
    key = _key(settings.FIELD_ENCRYPTION_KEY, "FIELD_ENCRYPTION_KEY")
    nonce = os.urandom(12)
    encryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    body = encryptor.update(plaintext.encode("utf-8")) + encryptor.finalize()
    return PREFIX + base64.b64encode(nonce + body + encryptor.tag).decode("ascii")


def decrypt(stored: str) -> str:
    """Inverse of `encrypt`."""
    if not stored:
        return ""
    if not stored.startswith(PREFIX):
        raise DecryptionError("unknown encryption scheme")
    raw = base64.b64decode(stored[len(PREFIX):])
    nonce, body, tag = raw[:12], raw[12:-16], raw[-16:]
    key = _key(settings.FIELD_ENCRYPTION_KEY, "FIELD_ENCRYPTION_KEY")
    decryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    try:
        return (decryptor.update(body) + decryptor.finalize()).decode("utf-8")
    except InvalidTag:
        raise DecryptionError("value does not decrypt with the configured key") from None


def keyed_hash(value: str) -> str:
    """HMAC-SM3 (hex) of the value with spaces removed and letters upper-cased; "" for empty."""
    normalised = "".join((value or "").split()).upper()
    if not normalised:
        return ""
    mac = hmac.HMAC(_key(settings.FIELD_HASH_KEY, "FIELD_HASH_KEY"), hashes.SM3())
    mac.update(normalised.encode("utf-8"))
    return mac.finalize().hex()
