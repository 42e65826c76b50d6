"""The original (unredacted) text of comments: not kept at all by default, or kept encrypted.

When the operator turns on ``VOICES_KEEP_ORIGINAL_TEXT``, each comment's original is
encrypted with Fernet (AES-128-CBC with HMAC-SHA256, from the ``cryptography`` package)
under a key derived from the app's secret key with HKDF-SHA256 and a purpose label, so the
key is never stored and differs from the keys that sign cookies. Only the analysis columns
(redacted text) are read by anything else; the original is decrypted only for an account
with the patient-experience permission, and every reading is written to the audit log.
Originals never appear in logs or error messages.

Changing the secret key makes kept originals unreadable (the redacted text is unaffected).

References
----------
Krawczyk H, Eronen P. *HMAC-based Extract-and-Expand Key Derivation Function (HKDF)*.
    RFC 5869, 2010.
Fernet specification, github.com/fernet/spec (the token format ``cryptography`` implements).
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PURPOSE = b"voices.listen.original-text.v1"


class OriginalText:
    """Encrypts and decrypts comment originals with a key derived from ``secret``."""

    def __init__(self, secret: str) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=PURPOSE).derive(secret.encode("utf-8"))
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def __repr__(self) -> str:  # never show the key
        return "OriginalText(<key hidden>)"

    def encrypt(self, text: str) -> bytes:
        return self._fernet.encrypt(text.encode("utf-8"))

    def decrypt(self, token: bytes) -> str | None:
        """The original text, or None if it was encrypted under another key."""
        try:
            return self._fernet.decrypt(bytes(token)).decode("utf-8")
        except InvalidToken:
            return None
