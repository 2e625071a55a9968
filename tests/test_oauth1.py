"""OAuth 1.0a signing (handlers/x/oauth1.py, with oauthlib) against published vectors and
oauthlib's server-side signature check, and the X webhook signatures (handlers/x/signatures.py)
against X's CRC example."""

from __future__ import annotations

import base64
import hmac
import logging
import re
from urllib.parse import quote, unquote

import pytest
from oauthlib.oauth1.rfc5849 import signature as reference

from handlers.x.oauth1 import OAuth1Credentials, authorization_header
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


def hmac_sha1(base_string: str, consumer_secret: str, token_secret: str) -> str:
    """RFC 5849 section 3.4.2, written out here: the check does not lean on oauthlib's signer."""
    key = f"{quote(consumer_secret, safe='-._~')}&{quote(token_secret, safe='-._~')}"
    return base64.b64encode(hmac.new(key.encode(), base_string.encode(), "sha1").digest()).decode()


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
    base = reference.signature_base_string(
        "POST", reference.base_string_uri(url), reference.normalize_parameters(params)
    )
    assert base == X_DOCS_BASE


def test_oauth_core_photos_example() -> None:
    """The OAuth 1.0 "photos" example: a GET whose query is part of the signature."""
    credentials = OAuth1Credentials(
        "dpf43f3p2l4k3l03", "kd94hf93k423kf44", "nnch734d00sl2jdk", "pfkkdhi9sl3r4s00"
    )
    header = authorization_header(
        credentials,
        "GET",
        "http://photos.example.net/photos?file=vacation.jpg&size=original",
        nonce="kllo9940pd9333jh",
        timestamp=1191242096,
    )
    assert header_fields(header)["oauth_signature"] == "tR3+Ty81lMeYAr/Fid0kMTYa/WM="


def test_a_form_body_is_signed_and_awkward_text_survives() -> None:
    credentials = OAuth1Credentials("ck", "cs", "tk", "ts")
    url = "https://api.x.com:443/1.1/direct_messages/new.json"
    form = [("text", "é ☃ 🙂 !*'();:@&=+$,/?#[] 100%"), ("a", "1"), ("a", "0")]
    fields = header_fields(authorization_header(credentials, "post", url, form=form))
    params = [*form, *[(k, v) for k, v in fields.items() if k != "oauth_signature"]]
    base = reference.signature_base_string(
        "POST", reference.base_string_uri(url), reference.normalize_parameters(params)
    )
    assert base.startswith("POST&https%3A%2F%2Fapi.x.com%2F1.1%2Fdirect_messages%2Fnew.json&")
    assert fields["oauth_signature"] == hmac_sha1(base, "cs", "ts")
    changed = [("text", "something else"), ("a", "1"), ("a", "0")]
    params[0] = changed[0]
    other = reference.signature_base_string(
        "POST", reference.base_string_uri(url), reference.normalize_parameters(params)
    )
    assert fields["oauth_signature"] != hmac_sha1(other, "cs", "ts")


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
    assert fields["oauth_signature"] == hmac_sha1(base, "cs", "ts")


def test_signing_logs_no_credentials_even_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    credentials = OAuth1Credentials("key-1", "secret-2", "token-3", "token-secret-4")
    authorization_header(credentials, "POST", "https://api.x.com/2/tweets", form=[("a", "b")])
    assert not {"key-1", "secret-2", "token-3", "token-secret-4"} & set(
        re.findall(r"[\w-]+", caplog.text)
    )


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
