"""OAuth 1.0a signing (handlers/x/oauth1.py) against published vectors, and the X webhook
signatures (handlers/x/signatures.py) against X's CRC example."""

from __future__ import annotations

import re
from urllib.parse import unquote

from oauthlib.oauth1.rfc5849 import signature as reference

from handlers.x.oauth1 import (
    OAuth1Credentials,
    authorization_header,
    base_string_uri,
    hmac_sha1_signature,
    normalize_parameters,
    percent_encode,
    signature_base_string,
)
from handlers.x.signatures import crc_response, is_valid_signature, sign

# X's documentation, "Creating a signature".
X_DOCS = {
    "consumer_key": "xvz1evFS4wEEPTGEFPHBog",
    "consumer_secret": "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
    "token": "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
    "token_secret": "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
    "nonce": "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg",
    "timestamp": 1318622958,
}
X_DOCS_BASE = (
    "POST&https%3A%2F%2Fapi.twitter.com%2F1.1%2Fstatuses%2Fupdate.json&include_entities%3Dtrue"
    "%26oauth_consumer_key%3Dxvz1evFS4wEEPTGEFPHBog%26oauth_nonce%3DkYjzVBB8Y0ZFabxSWbWovY3uYSQ2"
    "pTgmZeNu2VS4cg%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1318622958%26oauth_"
    "token%3D370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb%26oauth_version%3D1.0%26status%3D"
    "Hello%2520Ladies%2520%252B%2520Gentlemen%252C%2520a%2520signed%2520OAuth%2520request%2521"
)


def header_fields(header: str) -> dict[str, str]:
    assert header.startswith("OAuth ")
    return {k: unquote(v) for k, v in re.findall(r'(\w+)="([^"]*)"', header)}


def test_x_docs_example_base_string_and_signature() -> None:
    credentials = OAuth1Credentials(
        X_DOCS["consumer_key"], X_DOCS["consumer_secret"], X_DOCS["token"], X_DOCS["token_secret"]
    )
    header = authorization_header(
        credentials,
        "post",
        "https://api.twitter.com/1.1/statuses/update.json?include_entities=true",
        form=[("status", "Hello Ladies + Gentlemen, a signed OAuth request!")],
        nonce=str(X_DOCS["nonce"]),
        timestamp=int(X_DOCS["timestamp"]),
    )
    fields = header_fields(header)
    assert fields["oauth_signature"] == "hCtSmYh+iHYCEqBWrE7C7hYmtUk="
    assert fields["oauth_token"] == X_DOCS["token"]
    assert "oauth_token_secret" not in header and X_DOCS["consumer_secret"] not in header
    params = [
        ("include_entities", "true"),
        ("status", "Hello Ladies + Gentlemen, a signed OAuth request!"),
        *[(k, v) for k, v in fields.items() if k != "oauth_signature"],
    ]
    url = "https://api.twitter.com/1.1/statuses/update.json"
    assert signature_base_string("POST", url, params) == X_DOCS_BASE


def test_oauth_core_photos_example() -> None:
    params = [
        ("file", "vacation.jpg"),
        ("size", "original"),
        ("oauth_consumer_key", "dpf43f3p2l4k3l03"),
        ("oauth_token", "nnch734d00sl2jdk"),
        ("oauth_signature_method", "HMAC-SHA1"),
        ("oauth_timestamp", "1191242096"),
        ("oauth_nonce", "kllo9940pd9333jh"),
        ("oauth_version", "1.0"),
    ]
    base = signature_base_string("GET", "http://photos.example.net/photos", params)
    assert hmac_sha1_signature(base, "kd94hf93k423kf44", "pfkkdhi9sl3r4s00") == (
        "tR3+Ty81lMeYAr/Fid0kMTYa/WM="
    )


def test_rfc5849_base_string_example() -> None:
    """RFC 5849 section 3.4.1.1: repeated names, encoded values, empty values, sort order."""
    params = [
        ("b5", "=%3D"),
        ("a3", "a"),
        ("c@", ""),
        ("a2", "r b"),
        ("oauth_consumer_key", "9djdj82h48djs9d2"),
        ("oauth_token", "kkk9d7dh3k39sjv7"),
        ("oauth_signature_method", "HMAC-SHA1"),
        ("oauth_timestamp", "137131201"),
        ("oauth_nonce", "7d8f3e4a"),
        ("c2", ""),
        ("a3", "2 q"),
    ]
    assert signature_base_string("POST", "http://example.com/request", params) == (
        "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D"
        "%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3"
        "e4a%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkk"
        "k9d7dh3k39sjv7"
    )


def test_base_string_uri_normalisation() -> None:
    assert base_string_uri("HTTP://Example.COM:80/r%20v/X?id=123") == "http://example.com/r%20v/X"
    assert base_string_uri("https://www.example.net:8080/?q=1") == "https://www.example.net:8080/"
    assert base_string_uri("https://api.x.com:443/2/tweets") == "https://api.x.com/2/tweets"


def test_percent_encoding_matches_the_reference_for_awkward_text() -> None:
    for text in ["~-._", "a b+c", "é ☃ 🙂", "!*'();:@&=+$,/?#[]", "100%"]:
        assert percent_encode(text) == reference.utils.escape(text)
    params = [("a", "1"), ("A", "2"), ("a", "0"), ("b c", "é")]
    assert normalize_parameters(params) == reference.normalize_parameters(params)


def test_a_query_is_signed_as_the_reference_implementation_signs_it() -> None:
    credentials = OAuth1Credentials("ck", "cs", "tk", "ts")
    url = "https://api.x.com/2/users/1/mentions?since_id=5&expansions=a.b,c&tweet.fields=x:y"
    fields = header_fields(authorization_header(credentials, "GET", url))
    params = reference.collect_parameters(
        uri_query=url.split("?", 1)[1], headers=None, exclude_oauth_signature=True
    ) + [(k, v) for k, v in fields.items() if k != "oauth_signature"]
    base = reference.signature_base_string(
        "GET", reference.base_string_uri(url), reference.normalize_parameters(params)
    )
    assert fields["oauth_signature"] == hmac_sha1_signature(base, "cs", "ts")


def test_credentials_never_show_in_repr() -> None:
    credentials = OAuth1Credentials("key-1", "secret-2", "token-3", "token-secret-4")
    assert not {"key-1", "secret-2", "token-3", "token-secret-4"} & set(
        re.findall(r"[\w-]+", repr(credentials))
    )


def test_crc_and_payload_signatures() -> None:
    assert crc_response("apiSecret", "test token") == {
        "response_token": "sha256=O5hJl2njQRIa4vsumZ+3oom9ECR5m3aQLRZkPoYelp0="
    }
    body = b'{"for_user_id": "1"}'
    good = sign("apiSecret", body)
    assert is_valid_signature("apiSecret", body, good)
    assert not is_valid_signature("apiSecret", body + b" ", good)
    assert not is_valid_signature("other", body, good)
    assert not is_valid_signature("apiSecret", body, None)
    assert not is_valid_signature("apiSecret", body, good.removeprefix("sha256="))
    assert not is_valid_signature("apiSecret", body, "sha256=é")
