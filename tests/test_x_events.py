"""Parsing X deliveries (handlers/x/events.py) and deciding what to do (handlers/x/commands.py):
pure functions, no fixtures."""

from __future__ import annotations

from typing import Any

import pytest

from handlers.x.commands import (
    AMBIGUOUS_NAMES,
    ANSWER,
    DELETE,
    FORGET,
    HINT,
    IGNORE,
    JOB,
    choose_filter,
    decide,
)
from handlers.x.events import (
    DM,
    POST,
    Incoming,
    clean_text,
    parse_mentions_page,
    parse_webhook,
    photo_of_post,
    webhook_owner,
)
from inference.filter_names import FILTER_NAMES, UnknownFilterError

BOT = "1000"
PHOTO = "https://pbs.twimg.com/media/Abc.jpg"


def v1_post(**fields: Any) -> dict[str, Any]:
    post = {
        "id_str": "50",
        "text": "@colorbot lofi",
        "user": {"id_str": "7", "screen_name": "alice"},
        "entities": {"user_mentions": [{"id_str": BOT, "indices": [0, 9]}]},
        "extended_entities": {"media": [{"type": "photo", "media_url_https": PHOTO}]},
    }
    post.update(fields)
    return post


def test_account_activity_post_with_photo() -> None:
    [item] = parse_webhook({"for_user_id": BOT, "tweet_create_events": [v1_post()]}, BOT)
    assert item == Incoming(
        kind=POST,
        event_id="50",
        author_id="7",
        author_handle="alice",
        text="lofi",
        photo_url=PHOTO,
        photo_owner_id="7",
        explicit_mention=True,
    )


def test_truncated_post_takes_text_and_photo_from_extended_tweet() -> None:
    post = v1_post(
        truncated=True,
        text="@colorbot my grandmother in 1931, a very long caption that…",
        entities={"user_mentions": []},
        extended_entities=None,
        extended_tweet={
            "full_text": "@colorbot my grandmother in 1931 please #lofi",
            "display_text_range": [0, 45],
            "entities": {"user_mentions": [{"id_str": BOT, "indices": [0, 9]}]},
            "extended_entities": {"media": [{"type": "photo", "media_url_https": PHOTO}]},
        },
    )
    [item] = parse_webhook({"for_user_id": BOT, "tweet_create_events": [post]}, BOT)
    assert (item.photo_url, item.text, item.explicit_mention) == (
        PHOTO,
        "my grandmother in 1931 please #lofi",
        True,
    )


def test_reply_prefix_mention_is_not_an_explicit_mention() -> None:
    post = v1_post(
        text="@colorbot delete",
        in_reply_to_status_id_str="40",
        in_reply_to_user_id_str=BOT,
        display_text_range=[10, 16],
        extended_entities={},
    )
    [item] = parse_webhook({"for_user_id": BOT, "tweet_create_events": [post]}, BOT)
    assert not item.explicit_mention and item.replies_to_bot
    assert (item.text, item.lookup_post_id, item.in_reply_to_post_id) == ("delete", "40", "40")
    assert decide(item, BOT).action == DELETE


def test_video_is_not_a_photo_and_other_accounts_are_ignored() -> None:
    video = v1_post(extended_entities={"media": [{"type": "video", "media_url_https": PHOTO}]})
    [item] = parse_webhook({"for_user_id": BOT, "tweet_create_events": [video]}, BOT)
    assert item.photo_url is None and decide(item, BOT).action == HINT
    assert parse_webhook({"for_user_id": "999", "tweet_create_events": [v1_post()]}, BOT) == []
    assert parse_webhook({"unknown": True}, BOT) == []


def dm(sender: str, text: str, photo: str | None) -> dict[str, Any]:
    data: dict[str, Any] = {"text": text}
    if photo:
        data["attachment"] = {
            "type": "media",
            "media": {"type": "photo", "media_url_https": photo, "url": "https://t.co/x"},
        }
    return {
        "type": "message_create",
        "id": "90",
        "message_create": {
            "sender_id": sender,
            "target": {"recipient_id": BOT},
            "message_data": data,
        },
    }


def test_dms_in_both_shapes() -> None:
    ton = "https://ton.twitter.com/1.1/ton/data/dm/90/91/a.jpg"
    event = dm("7", "lofi https://t.co/x", ton)
    account_activity = {
        "for_user_id": BOT,
        "direct_message_events": [event],
        "users": {"7": {"screen_name": "alice"}},
    }
    activity = {
        "data": {
            "filter": {"user_id": BOT},
            "event_type": "dm.received",
            "payload": {
                "direct_message_events": [event],
                "users": {"7": {"data": {"username": "alice"}}},
            },
        }
    }
    for payload in (account_activity, activity):
        [item] = parse_webhook(payload, None)
        assert (item.kind, item.event_id, item.author_handle, item.text, item.photo_url) == (
            DM,
            "90",
            "alice",
            "lofi",
            ton,
        )
        assert webhook_owner(payload) == BOT
    [echo] = parse_webhook({"for_user_id": BOT, "direct_message_events": [dm(BOT, "hi", ton)]}, BOT)
    assert decide(echo, BOT).action == IGNORE


def test_activity_api_mention_asks_for_a_lookup_when_media_is_not_expanded() -> None:
    payload = {
        "data": {
            "filter": {"user_id": BOT},
            "event_type": "post.mention.create",
            "payload": {
                "id": "60",
                "author_id": "7",
                "text": "hey @colorbot",
                "entities": {"mentions": [{"start": 4, "end": 13, "id": BOT}]},
                "attachments": {"media_keys": ["3_1"]},
            },
            "includes": {"users": [{"id": "7", "username": "alice"}]},
        }
    }
    [item] = parse_webhook(payload, BOT)
    assert (item.photo_url, item.lookup_post_id, item.author_handle) == (None, "60", "alice")
    assert decide(item, BOT).operation == "colorize"
    other = {"data": {**payload["data"], "event_type": "post.create"}}
    assert parse_webhook(other, BOT) == []


def test_mentions_page_with_reply_parent_photo_and_repost() -> None:
    page = {
        "data": [
            {
                "id": "72",
                "author_id": "8",
                "text": "@bob @colorbot mayfair",
                "entities": {
                    "mentions": [
                        {"start": 0, "end": 4, "id": "9"},
                        {"start": 5, "end": 14, "id": BOT},
                    ]
                },
                "referenced_tweets": [{"type": "replied_to", "id": "70"}],
            },
            {
                "id": "71",
                "author_id": "8",
                "text": "RT @colorbot",
                "referenced_tweets": [{"type": "retweeted", "id": "69"}],
            },
        ],
        "includes": {
            "tweets": [{"id": "70", "author_id": "9", "attachments": {"media_keys": ["3_70"]}}],
            "media": [{"media_key": "3_70", "type": "photo", "url": PHOTO}],
            "users": [{"id": "8", "username": "carol"}],
        },
    }
    repost, reply = parse_mentions_page(page, BOT)  # oldest first
    assert repost.is_repost and decide(repost, BOT).action == IGNORE
    assert (reply.photo_url, reply.lookup_post_id, reply.explicit_mention) == (PHOTO, None, True)
    assert reply.photo_owner_id == "9"  # the replied-to post's author, from includes.tweets
    assert (reply.text, reply.author_handle) == ("mayfair", "carol")
    assert decide(reply, BOT).filter_name == "Mayfair"


def test_photo_of_a_looked_up_post() -> None:
    found = {
        "data": {"id": "5", "attachments": {"media_keys": ["3_a", "3_b"]}},
        "includes": {
            "media": [
                {"media_key": "3_a", "type": "video", "url": "https://pbs.twimg.com/v.jpg"},
                {"media_key": "3_b", "type": "photo", "url": PHOTO},
            ]
        },
    }
    assert photo_of_post(found) == PHOTO
    assert photo_of_post({"data": {"id": "5"}}) is None
    assert photo_of_post({"errors": [{"title": "Not Found Error"}]}) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("lofi", "Lo-Fi"),
        ("filter lo-fi", "Lo-Fi"),
        ("#lofi", "Lo-Fi"),
        ("please make it lo fi", "Lo-Fi"),
        ("/filter X-Pro II", "X-ProII"),
        ("with filter moon", "Moon"),
        ("#1977", "1977"),
        ("filter: rise", "Rise"),
        ("my grandparents in Brooklyn, 1977", None),
        ("the moon rising over the lake", None),
        ("I want a vintage filter on this", None),
        ("filters are fun", None),
        ("colourise please", None),
    ],
)
def test_filter_words(text: str, expected: str | None) -> None:
    assert choose_filter(text) == expected


def test_explicit_unknown_filter_raises_with_suggestions() -> None:
    with pytest.raises(UnknownFilterError) as raised:
        choose_filter("/filter lofy")
    assert raised.value.suggestions == ["Lo-Fi"]
    with pytest.raises(UnknownFilterError):
        choose_filter("filter: nope")
    assert set(FILTER_NAMES) >= AMBIGUOUS_NAMES


def incoming(**fields: Any) -> Incoming:
    base: dict[str, Any] = {
        "kind": POST,
        "event_id": "1",
        "author_id": "7",
        "author_handle": "alice",
        "text": "",
        "photo_url": PHOTO,
        "explicit_mention": True,
    }
    return Incoming(**{**base, **fields})


def test_decisions() -> None:
    assert decide(incoming(), BOT).action == JOB
    assert decide(incoming(author_id=BOT), BOT).action == IGNORE
    assert decide(incoming(is_repost=True), BOT).action == IGNORE
    assert decide(incoming(explicit_mention=False), BOT).action == IGNORE
    chatter = incoming(
        explicit_mention=False, replies_to_bot=True, photo_url=None, lookup_post_id="5"
    )
    assert decide(chatter, BOT).action == IGNORE  # "thanks!" under the bot's reply
    assert decide(incoming(photo_url=None), BOT).action == HINT
    assert decide(incoming(photo_url=None, lookup_post_id="5"), BOT).action == JOB
    unknown = decide(incoming(text="/filter nope"), BOT)
    assert unknown.action == ANSWER and unknown.message and "nope" in unknown.message
    assert decide(incoming(kind=DM, text="Forget me"), BOT).action == FORGET
    assert decide(incoming(kind=DM, text="don't forget the lofi"), BOT).filter_name == "Lo-Fi"
    assert decide(incoming(text="delete", replies_to_bot=True), BOT).action == DELETE
    assert decide(incoming(text="delete"), BOT).action == JOB  # not a reply to the bot


def test_clean_text() -> None:
    assert clean_text("@colorbot  lofi https://t.co/abc please\n@bob") == "lofi please"
    assert clean_text("mail me@example.com") == "mail me@example.com"
