"""Webhook deliveries as X sends them, built from the fake X API's posts: Account Activity
(v1.1 post objects, DM events) and X Activity API envelopes; and signing them."""

from __future__ import annotations

import json
from typing import Any

from handlers.x.signatures import SIGNATURE_HEADER, sign
from tests.fake_x import FakeX


def v1_post(fake: FakeX, post_id: str, *, truncated: bool = False) -> dict[str, Any]:
    """The fake's v2 post as a v1.1 post object (photos in extended_entities.media, or in
    extended_tweet when `truncated`)."""
    post = fake.posts[post_id]
    author = fake.users[post["author_id"]]
    mentions = [
        {
            "id_str": m.get("id", "0"),
            "screen_name": m["username"],
            "indices": [m["start"], m["end"]],
        }
        for m in post.get("entities", {}).get("mentions", [])
    ]
    media = [v1_media(fake.media[key]) for key in post.get("attachments", {}).get("media_keys", [])]
    body: dict[str, Any] = {"entities": {"user_mentions": mentions, "hashtags": [], "urls": []}}
    if media:
        body["extended_entities"] = {"media": media}
    parent = next(
        (r["id"] for r in post.get("referenced_tweets", []) if r["type"] == "replied_to"), None
    )
    display_start = 0
    if parent is not None:
        display_start = len(post["text"]) - len(post["text"].lstrip("@").split(" ", 1)[-1])
    v1: dict[str, Any] = {
        "created_at": "Wed Oct 10 20:19:24 +0000 2018",
        "id": int(post_id),
        "id_str": post_id,
        "user": {
            "id": int(author["id"]),
            "id_str": author["id"],
            "screen_name": author["username"],
        },
        "in_reply_to_status_id_str": parent,
        "in_reply_to_user_id_str": post.get("in_reply_to_user_id"),
    }
    if truncated:
        v1.update(
            text=post["text"][:20] + "… https://t.co/more",
            truncated=True,
            entities={"user_mentions": [], "hashtags": [], "urls": []},
            extended_tweet={
                "full_text": post["text"],
                "display_text_range": [display_start, len(post["text"])],
                **body,
            },
        )
    else:
        v1.update(
            text=post["text"],
            truncated=False,
            display_text_range=[display_start, len(post["text"])],
            **body,
        )
    if any(r["type"] == "retweeted" for r in post.get("referenced_tweets", [])):
        v1["retweeted_status"] = {"id_str": post["referenced_tweets"][0]["id"]}
    return v1


def v1_media(media: dict[str, Any]) -> dict[str, Any]:
    """A v2 media object of the fake as v1.1 `extended_entities.media` has it: a video's
    `media_url_https` is its still, its MP4s are in `video_info.variants` (with `bitrate`)."""
    item: dict[str, Any] = {
        "id_str": media["media_key"].split("_", 1)[1],
        "type": media["type"],
        "url": "https://t.co/abc",
    }
    if media["type"] == "photo":
        item["media_url_https"] = media["url"]
        return item
    item["media_url_https"] = media["preview_image_url"]
    item["video_info"] = {
        "aspect_ratio": [media["width"], media["height"]],
        "duration_millis": media["duration_ms"],
        "variants": [
            {k.replace("bit_rate", "bitrate"): v for k, v in variant.items()}
            for variant in media["variants"]
        ],
    }
    if media["type"] == "animated_gif":
        del item["video_info"]["duration_millis"]  # X leaves it out for GIFs
    return item


def account_activity_posts(fake: FakeX, *post_ids: str, truncated: bool = False) -> dict[str, Any]:
    return {
        "for_user_id": fake.bot_id,
        "tweet_create_events": [v1_post(fake, i, truncated=truncated) for i in post_ids],
    }


def dm_event(
    fake: FakeX,
    sender: str,
    recipient: str,
    text: str,
    photo_url: str | None,
    *,
    video: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A DM event; `video` (a media object from `FakeX.add_video`) attaches a video or GIF."""
    data: dict[str, Any] = {"text": text, "entities": {"hashtags": [], "urls": []}}
    if video is not None:
        data["text"] = f"{text} https://t.co/video".strip()
        data["attachment"] = {"type": "media", "media": v1_media(video)}
    elif photo_url is not None:
        data["text"] = f"{text} https://t.co/photo".strip()
        data["attachment"] = {
            "type": "media",
            "media": {"type": "photo", "media_url_https": photo_url, "url": "https://t.co/photo"},
        }
    return {
        "type": "message_create",
        "id": fake.next_id(),
        "created_timestamp": "1542039186292",
        "message_create": {
            "target": {"recipient_id": recipient},
            "sender_id": sender,
            "message_data": data,
        },
    }


def account_activity_dm(fake: FakeX, event: dict[str, Any]) -> dict[str, Any]:
    sender = event["message_create"]["sender_id"]
    recipient = event["message_create"]["target"]["recipient_id"]
    users = {
        uid: {"id": uid, "screen_name": fake.users[uid]["username"]}
        for uid in (sender, recipient)
        if uid in fake.users
    }
    return {"for_user_id": fake.bot_id, "direct_message_events": [event], "users": users}


def activity_mention(fake: FakeX, post_id: str) -> dict[str, Any]:
    """X Activity API `post.mention.create`: the v2 post, media not expanded."""
    post = fake.posts[post_id]
    return {
        "data": {
            "event_uuid": fake.next_id(),
            "filter": {"user_id": fake.bot_id},
            "event_type": "post.mention.create",
            "tag": "mentions",
            "payload": post,
            "includes": {"users": [fake.users[post["author_id"]], fake.users[fake.bot_id]]},
        }
    }


def activity_dm(fake: FakeX, event: dict[str, Any]) -> dict[str, Any]:
    sender = event["message_create"]["sender_id"]
    return {
        "data": {
            "event_uuid": fake.next_id(),
            "filter": {"user_id": fake.bot_id},
            "event_type": "dm.received",
            "tag": "dm-inbound",
            "payload": {
                "direct_message_events": [event],
                "users": {sender: {"data": fake.users[sender]}},
            },
        }
    }


def signed(payload: dict[str, Any], secret: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    return body, {SIGNATURE_HEADER: sign(secret, body), "Content-Type": "application/json"}
