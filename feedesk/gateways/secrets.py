"""Gateway secrets: encrypted at rest, masked on screen, redacted from logs.

The encryption key is derived from settings (FEEDESK_SECRETS_KEY, else SECRET_KEY) with HKDF, so
a database dump alone does not reveal merchant keys. Rotating the settings key means re-entering
the secrets.
"""

import base64
import logging
import re
import threading
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import models
from django.utils.translation import gettext as _

_PREFIX = "fernet:"
_PEM_PRIVATE = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|$)", re.S)
_known: set[str] = set()
_known_lock = threading.Lock()


def _key_material() -> bytes:
    return (getattr(settings, "FEEDESK_SECRETS_KEY", "") or settings.SECRET_KEY).encode()


@lru_cache(maxsize=4)
def _fernet(material: bytes) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"feedesk-gateways", info=b"secrets-v1").derive(
        material
    )
    return Fernet(base64.urlsafe_b64encode(key))


def remember_secret(value: str) -> None:
    """Register a plaintext secret so the logging filter redacts it wherever it appears."""
    if len(value) >= 8:
        with _known_lock:
            _known.add(value)


def encrypt(value: str) -> str:
    if not value:
        return ""
    remember_secret(value)
    return _PREFIX + _fernet(_key_material()).encrypt(value.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored:
        return ""
    if not stored.startswith(_PREFIX):
        raise ValueError("secret is not encrypted")
    return _decrypted(_key_material(), stored[len(_PREFIX) :])


# Checkouts, return pages and notifications read a school's secrets every time. The adapters built
# from them already keep the plaintext in memory, so keeping it by its token reveals nothing new;
# the settings key is part of the cache key, so a changed key decrypts (or fails) afresh.
@lru_cache(maxsize=512)
def _decrypted(material: bytes, token: str) -> str:
    try:
        value = _fernet(material).decrypt(token.encode()).decode()
    except InvalidToken:
        raise ValueError("secret cannot be decrypted with the current settings key") from None
    remember_secret(value)
    return value


def redact(text: str) -> str:
    text = _PEM_PRIVATE.sub("[redacted private key]", text)
    with _known_lock:
        known = sorted(_known, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, "[redacted]")
    return text


def mask(value: str) -> str:
    """What a form or page may show of a saved secret: that it is set and how it ends."""
    if not value:
        return _("not set")
    tail = re.sub(r"-----[A-Z ]+-----|\s", "", value)[-4:]
    return _("saved ●●●● (ends with …%(tail)s)") % {"tail": tail}


class SecretRedactingFilter(logging.Filter):
    """Rewrites every log record so no merchant key or API secret reaches a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg = cleaned
            record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class EncryptedTextField(models.TextField):
    """Plaintext in Python, a Fernet token in the database."""

    def from_db_value(self, value: str | None, expression: object, connection: object) -> str:
        return decrypt(value or "")

    def get_prep_value(self, value: object) -> str:
        return encrypt(str(value or ""))
