"""HubSpot request signatures v1, v2 and v3 (pure), and a v3 check with a two-sided time window."""
from __future__ import annotations

import base64
import hashlib
import hmac
import re

DEFAULT_WINDOW_MS = 300_000

# HubSpot decodes exactly these escapes before signing v3 (and no others: %20 stays as is).
_V3_DECODED = {"3A": ":", "2F": "/", "3F": "?", "40": "@", "21": "!", "24": "$",
               "27": "'", "28": "(", "29": ")", "2A": "*", "2C": ",", "3B": ";"}
_V3_ESCAPE = re.compile("%(" + "|".join(_V3_DECODED) + ")", re.IGNORECASE)
# Epoch milliseconds; anything longer than 20 digits is not a time (and int() of a huge string is slow).
_TIMESTAMP = re.compile(r"[0-9]{1,20}", re.ASCII)


def _utf8(text: str) -> bytes:
    # surrogatepass: a hostile header or URL must make the signature wrong, never raise.
    return text.encode("utf-8", "surrogatepass")


def decode_uri_for_v3(uri: str) -> str:
    """The URI as HubSpot signs it for v3: only its listed percent-escapes decoded, case-insensitively."""
    return _V3_ESCAPE.sub(lambda match: _V3_DECODED[match.group(1).upper()], uri)


def sign_v1(secret: str, body: bytes) -> str:
    """v1: hex SHA-256 of client secret + raw body (still sent beside v3 on webhook deliveries)."""
    return hashlib.sha256(_utf8(secret) + body).hexdigest()


def sign_v2(secret: str, method: str, uri: str, body: bytes) -> str:
    """v2: hex SHA-256 of client secret + method + exact URI + raw body (workflow webhooks, CRM cards)."""
    return hashlib.sha256(_utf8(secret + method + uri) + body).hexdigest()


def sign_v3(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """v3: base64 HMAC-SHA256, keyed by the client secret, of method + decoded URI + body + timestamp."""
    message = _utf8(method + decode_uri_for_v3(uri)) + body + _utf8(timestamp)
    digest = hmac.new(_utf8(secret), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def check_timestamp(timestamp: str, now_ms: int, window_ms: int = DEFAULT_WINDOW_MS) -> str | None:
    """None when the epoch-ms timestamp is within window_ms of now in either direction, else why not."""
    if not _TIMESTAMP.fullmatch(timestamp):
        return "malformed timestamp"
    sent_ms = int(timestamp)
    if now_ms - sent_ms > window_ms:
        return "stale timestamp"
    if sent_ms - now_ms > window_ms:
        # The SDK accepts any future time; a far-future stamp would make a captured request replayable.
        return "future timestamp"
    return None


def verify_v3(*, secret: str, method: str, uri: str, body: bytes, timestamp: str | None,
              signature: str | None, now_ms: int, window_ms: int = DEFAULT_WINDOW_MS) -> str | None:
    """None when X-HubSpot-Signature-v3 is valid and fresh, else a short reason for the log."""
    if not signature:
        return "missing signature"
    if not timestamp:
        return "missing timestamp"
    problem = check_timestamp(timestamp, now_ms, window_ms)
    if problem:
        return problem
    expected = sign_v3(secret, method, uri, body, timestamp)
    if not hmac.compare_digest(_utf8(expected), _utf8(signature)):
        return "bad signature"
    return None


def verify_v2(*, secret: str, method: str, uri: str, body: bytes, signature: str | None) -> str | None:
    """Workflow "Send a webhook" requests are signed v2 (no timestamp): None when valid, else why not."""
    if not signature:
        return "missing signature"
    expected = sign_v2(secret, method, uri, body)
    return None if hmac.compare_digest(expected.encode(), signature.strip().lower().encode()) else "bad signature"
