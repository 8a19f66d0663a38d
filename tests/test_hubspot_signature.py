"""HubSpot signatures: published and derived vectors, URI decoding, and the v3 window in both directions."""
import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest

from integrations.hubspot.signature import (
    check_timestamp, decode_uri_for_v3, sign_v1, sign_v2, sign_v3, verify_v3)

VECTOR_FILE = Path("/work/shared/specs/hubspot-samples/signature-test-vectors.json")
VECTORS = json.loads(VECTOR_FILE.read_text()) if VECTOR_FILE.exists() else None

SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
DOC_BODY = (b'[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,'
            b'"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,'
            b'"changeSource":"CRM","changeFlag":"NEW","appId":54321}]')
PY_BODY = b"{'example_field':'example_value'}"
URI = "https://www.example.com/webhook_uri"
QUERY_URI = ("https://example.com/hubspot/webhook?redirect=https%3A%2F%2Fexample.com%2Fthanks"
             "&note=Hello%2C%20Brian")

# The vectors of shared/specs/hubspot-samples/signature-test-vectors.json, written out so the
# suite runs outside the build machine too (test_vectors_match_the_spec_file checks they agree).
V1 = [
    (DOC_BODY, "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de"),
    (PY_BODY, "69fc6631a867edd4f9e9e627fc5c1148e3fbdd8b21837b6d2b8901c1fa57f750"),
]
V2 = [
    ("GET", URI, b"", "eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e"),
    ("POST", URI, b'{"example_field":"example_value"}',
     "9569219f8ba981ffa6f6f16aa0f48637d35d728c7e4d93d0d52efaa512af7900"),
    ("POST", URI, PY_BODY, "4fe4e3a7d3cf09db53be39d0a58130e2aaba074ec123a9e355b876a689a1c383"),
]
V3 = [
    ("POST", URI, PY_BODY, "15000000", "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw="),
    ("POST", URI, DOC_BODY, "1564113600000", "DxmVAjFNa2xfF3YgQjdZP6TNcok9k1oaH7UXombPtvw="),
    ("POST", QUERY_URI, DOC_BODY, "1700000000000", "rpKBqgWVqCSN36uQjhmN1AHf+l5rqelPrnjRQPcyKN4="),
    # reliability.md §1.2: the one v3 vector with a realistic millisecond timestamp.
    ("POST", URI, PY_BODY, "1693657560000", "K36dawei4A+QBNolUOqo7s91KQDWQ5MXZ/QufNYuk/Y="),
]

NOW_MS = 1693657560000
GOOD = sign_v3(SECRET, "POST", URI, DOC_BODY, str(NOW_MS))


@pytest.mark.parametrize("body, expected", V1)
def test_sign_v1_matches_published_vectors(body, expected):
    assert sign_v1(SECRET, body) == expected


@pytest.mark.parametrize("method, uri, body, expected", V2)
def test_sign_v2_matches_published_vectors(method, uri, body, expected):
    assert sign_v2(SECRET, method, uri, body) == expected


@pytest.mark.parametrize("method, uri, body, timestamp, expected", V3)
def test_sign_v3_matches_vectors(method, uri, body, timestamp, expected):
    assert sign_v3(SECRET, method, uri, body, timestamp) == expected


@pytest.mark.skipif(VECTORS is None, reason="shared/specs is not on this machine")
def test_vectors_match_the_spec_file():
    written = {expected for *_, expected in V1 + V2 + V3}
    listed = {vector["expected"] for group in ("published", "derived") for vector in VECTORS[group]}
    assert listed <= written
    assert VECTORS["client_secret"] == SECRET


def test_signing_the_undecoded_uri_gives_the_answer_hubspot_would_reject():
    wrong = "3ko5li44xg+P8TTXYsfoQmSQar4s9FP4U3YKifPzwJo="
    message = b"POST" + QUERY_URI.encode() + DOC_BODY + b"1700000000000"
    undecoded = base64.b64encode(hmac.new(SECRET.encode(), message, hashlib.sha256).digest()).decode()
    assert undecoded == wrong
    assert sign_v3(SECRET, "POST", QUERY_URI, DOC_BODY, "1700000000000") != wrong


@pytest.mark.parametrize("raw, decoded", [
    (QUERY_URI, "https://example.com/hubspot/webhook?redirect=https://example.com/thanks&note=Hello,%20Brian"),
    ("https://h/p?a=%3a%2f%3F%40%21%24%27%28%29%2a%2C%3b", "https://h/p?a=:/?@!$'()*,;"),
    ("https://h/p?a=%20%25%26%3D%2B%23", "https://h/p?a=%20%25%26%3D%2B%23"),
    ("https://h/p?a=%253A", "https://h/p?a=%253A"),
    ("https://h/p?a=%3", "https://h/p?a=%3"),
    ("https://h/webhook", "https://h/webhook"),
])
def test_decode_uri_for_v3_decodes_only_hubspots_list(raw, decoded):
    assert decode_uri_for_v3(raw) == decoded


def verify(**changes):
    request = dict(secret=SECRET, method="POST", uri=URI, body=DOC_BODY, timestamp=str(NOW_MS),
                   signature=GOOD, now_ms=NOW_MS)
    request.update(changes)
    return verify_v3(**request)


def signed_at(sent_ms: int) -> dict:
    stamp = str(sent_ms)
    return dict(timestamp=stamp, signature=sign_v3(SECRET, "POST", URI, DOC_BODY, stamp))


@pytest.mark.parametrize("changes, reason", [
    ({}, None),
    (signed_at(NOW_MS - 299_000), None),
    (signed_at(NOW_MS + 299_000), None),
    (signed_at(NOW_MS - 300_000), None),
    (signed_at(NOW_MS + 300_000), None),
    (signed_at(NOW_MS - 301_000), "stale timestamp"),
    (signed_at(NOW_MS + 301_000), "future timestamp"),
    (signed_at(NOW_MS // 1000), "stale timestamp"),          # seconds instead of milliseconds
    (signed_at(10 ** 19), "future timestamp"),
    (signed_at(0), "stale timestamp"),
    ({"timestamp": str(10 ** 30)}, "malformed timestamp"),
    ({"timestamp": "-1693657560000"}, "malformed timestamp"),
    ({"timestamp": "1693657560000.0"}, "malformed timestamp"),
    ({"timestamp": " 1693657560000"}, "malformed timestamp"),
    ({"timestamp": "soon"}, "malformed timestamp"),
    ({"timestamp": "١٦٩٣٦٥٧٥٦٠٠٠٠"}, "malformed timestamp"),  # Arabic-Indic digits: int() would accept them
    ({"timestamp": "9" * 5000}, "malformed timestamp"),
    ({"timestamp": None}, "missing timestamp"),
    ({"timestamp": ""}, "missing timestamp"),
    ({"signature": None}, "missing signature"),
    ({"signature": ""}, "missing signature"),
    ({"signature": GOOD[:-2]}, "bad signature"),
    ({"signature": GOOD + "="}, "bad signature"),
    ({"signature": "not base64 at all!"}, "bad signature"),
    ({"signature": "é" + GOOD[1:]}, "bad signature"),
    ({"signature": "\ud800" * 44}, "bad signature"),
    ({"signature": sign_v1(SECRET, DOC_BODY)}, "bad signature"),
    ({"body": DOC_BODY[:-1] + bytes([DOC_BODY[-1] ^ 1])}, "bad signature"),   # one bit
    ({"body": DOC_BODY + b" "}, "bad signature"),
    ({"method": "GET"}, "bad signature"),
    ({"uri": URI + "?x=1"}, "bad signature"),
    ({"uri": URI.replace("https", "http")}, "bad signature"),
    ({"uri": URI + "\udcff"}, "bad signature"),
    ({"secret": "another-secret"}, "bad signature"),
])
def test_verify_v3(changes, reason):
    assert verify(**changes) == reason


def test_verify_v3_accepts_the_raw_uri_when_hubspot_signed_the_decoded_one():
    stamp = "1700000000000"
    signature = "rpKBqgWVqCSN36uQjhmN1AHf+l5rqelPrnjRQPcyKN4="
    assert verify_v3(secret=SECRET, method="POST", uri=QUERY_URI, body=DOC_BODY, timestamp=stamp,
                     signature=signature, now_ms=1700000000000) is None


def test_verify_v3_honours_a_narrower_window():
    assert verify(window_ms=1_000, **signed_at(NOW_MS - 2_000)) == "stale timestamp"
    assert verify(window_ms=1_000, **signed_at(NOW_MS + 1_000)) is None


@pytest.mark.parametrize("timestamp, reason", [
    ("1693657560000", None), ("1693657260000", None), ("1693657259999", "stale timestamp"),
    ("1693657860001", "future timestamp"), ("", "malformed timestamp"), ("0x10", "malformed timestamp"),
])
def test_check_timestamp(timestamp, reason):
    assert check_timestamp(timestamp, NOW_MS) == reason
