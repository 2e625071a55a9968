"""What X delivers, turned into `Incoming` requests (pure: no I/O, tested without fixtures).

Three shapes arrive:
  - Account Activity webhooks: `{"for_user_id", "tweet_create_events": [v1.1 posts],
    "direct_message_events": [...], "users": {...}}`; a post's photos are in
    `extended_entities.media`, or in `extended_tweet.extended_entities.media` when truncated;
  - X Activity API webhooks: `{"data": {"event_type": "post.mention.create" | "dm.received",
    "payload": ..., "includes": ...}}`; a mention's media is fetched by post id afterwards;
  - v2 responses (`GET /2/users/:id/mentions`, `GET /2/tweets/:id`) with `includes`.

A post's own photo (or video, or animated GIF: `video`, see `handlers.x.media`) wins; a post
without one that replies to another post asks for that post's (by URL when the payload carries
it, else by id: `lookup_post_id`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from handlers.x.media import VideoRef, video_of_media

POST = "post"
DM = "dm"
_LEADING_MENTIONS = re.compile(r"^(?:\s*@\w+)+\s*")
_URL = re.compile(r"https?://\S+")
_MENTION = re.compile(r"(?<![\w@])@\w+")

Json = Mapping[str, Any]


@dataclass(frozen=True)
class Incoming:
    kind: str  # POST or DM
    event_id: str  # the post id, or the DM event id
    author_id: str
    author_handle: str | None
    text: str  # what the person wrote to the bot: no reply prefix, @mentions or links
    photo_url: str | None = None
    video: VideoRef | None = None  # a video or animated GIF (instead of a photo)
    lookup_post_id: str | None = None  # a post whose media must be looked up by id
    photo_owner_id: str | None = None  # who posted the photo (the author, or the replied-to)
    in_reply_to_post_id: str | None = None
    explicit_mention: bool = False  # the bot is @mentioned in the body (DMs: sent to the bot)
    replies_to_bot: bool = False
    is_repost: bool = False

    @property
    def has_media(self) -> bool:
        return bool(self.photo_url or self.video or self.lookup_post_id)


def parse_webhook(payload: Json, bot_user_id: str | None) -> list[Incoming]:
    """Both webhook shapes; anything else (or another account's events) gives []."""
    if "for_user_id" in payload:
        owner = str(payload["for_user_id"])
        if bot_user_id is not None and owner != bot_user_id:
            return []
        users = _dict(payload.get("users"))
        found: list[Incoming | None] = [
            parse_v1_post(post, owner) for post in _list(payload.get("tweet_create_events"))
        ]
        found += [parse_v1_dm(e, users) for e in _list(payload.get("direct_message_events"))]
        return [item for item in found if item is not None]
    data = _dict(payload.get("data"))
    owner = str(_dict(data.get("filter")).get("user_id") or bot_user_id or "")
    if bot_user_id is not None and owner != bot_user_id:
        return []
    event_type = data.get("event_type")
    body = _dict(data.get("payload"))
    if event_type == "post.mention.create":
        post = parse_v2_post(body, _dict(data.get("includes")), owner)
        return [post] if post is not None else []
    if event_type == "dm.received":
        users = _dict(body.get("users"))
        dms = [parse_v1_dm(e, users) for e in _list(body.get("direct_message_events"))]
        return [dm for dm in dms if dm is not None]
    return []


def webhook_owner(payload: Json) -> str | None:
    """The account a webhook delivery is for (Account Activity `for_user_id`, X Activity API
    `data.filter.user_id`)."""
    owner = payload.get("for_user_id") or _dict(_dict(payload.get("data")).get("filter")).get(
        "user_id"
    )
    return str(owner) if owner else None


def parse_mentions_page(page: Json, bot_user_id: str) -> list[Incoming]:
    """One page of `GET /2/users/:id/mentions` (with its `includes`), oldest first."""
    includes = _dict(page.get("includes"))
    posts = [parse_v2_post(post, includes, bot_user_id) for post in _list(page.get("data"))]
    found = [post for post in posts if post is not None]
    return sorted(found, key=lambda item: int(item.event_id) if item.event_id.isdigit() else 0)


def photo_of_post(response: Json) -> str | None:
    """The first photo's URL in a `GET /2/tweets/:id?expansions=attachments.media_keys` answer."""
    post = _dict(response.get("data"))
    return _v2_photo(post, _media_by_key(_dict(response.get("includes"))))


def video_of_post(response: Json) -> VideoRef | None:
    """The first video or animated GIF in a `GET /2/tweets/:id` answer (with the media
    expanded and `media.fields=variants,duration_ms`), when the post has no photo."""
    post = _dict(response.get("data"))
    return _v2_video(post, _media_by_key(_dict(response.get("includes"))))


def parse_v1_post(post: Json, bot_user_id: str) -> Incoming | None:
    post_id = str(post.get("id_str") or post.get("id") or "")
    user = _dict(post.get("user"))
    author = str(user.get("id_str") or user.get("id") or "")
    if not post_id or not author:
        return None
    extended = _dict(post.get("extended_tweet"))
    body = extended if (post.get("truncated") and extended) else post
    text = str(body.get("full_text") or post.get("full_text") or post.get("text") or "")
    parent = _str_or_none(
        post.get("in_reply_to_status_id_str") or post.get("in_reply_to_status_id")
    )
    replies_to_bot = str(post.get("in_reply_to_user_id_str") or "") == bot_user_id
    start = _body_start(text, body.get("display_text_range"), replies_to_bot=replies_to_bot)
    mentions = [
        (str(m.get("id_str") or m.get("id") or ""), _first_index(m.get("indices")))
        for m in _list(_dict(body.get("entities")).get("user_mentions"))
    ]
    media = _list(_dict(body.get("extended_entities")).get("media"))
    photo = next(
        (str(m["media_url_https"]) for m in media if m.get("type") == "photo"),
        None,
    )
    video = None if photo else _first_video(media)
    photo_or_video = photo is not None or video is not None
    return Incoming(
        kind=POST,
        event_id=post_id,
        author_id=author,
        author_handle=_str_or_none(user.get("screen_name")),
        text=clean_text(text[start:]),
        photo_url=photo,
        video=video,
        lookup_post_id=None if photo_or_video else parent,
        photo_owner_id=(
            author if photo_or_video else _str_or_none(post.get("in_reply_to_user_id_str"))
        ),
        in_reply_to_post_id=parent,
        explicit_mention=any(uid == bot_user_id and at >= start for uid, at in mentions),
        replies_to_bot=replies_to_bot,
        is_repost="retweeted_status" in post,
    )


def parse_v1_dm(event: Json, users: Json) -> Incoming | None:
    """A `direct_message_events` item (Account Activity, and X Activity API `dm.received`)."""
    if event.get("type") != "message_create":
        return None
    create = _dict(event.get("message_create"))
    sender = str(create.get("sender_id") or "")
    event_id = str(event.get("id") or "")
    if not sender or not event_id:
        return None
    data = _dict(create.get("message_data"))
    text = str(data.get("text") or "")
    attachment = _dict(data.get("attachment"))
    media = _dict(attachment.get("media")) if attachment.get("type") == "media" else {}
    photo = _str_or_none(media.get("media_url_https")) if media.get("type") == "photo" else None
    video = video_of_media(media) if media else None
    user = _dict(users.get(sender))
    user = _dict(user.get("data")) or user  # X Activity API wraps each user in "data"
    handle = user.get("screen_name") or user.get("username")
    return Incoming(
        kind=DM,
        event_id=event_id,
        author_id=sender,
        author_handle=_str_or_none(handle),
        text=clean_text(text),
        photo_url=photo,
        video=video,
        explicit_mention=True,
    )


def parse_v2_post(post: Json, includes: Json, bot_user_id: str) -> Incoming | None:
    post_id = str(post.get("id") or "")
    author = str(post.get("author_id") or "")
    if not post_id or not author:
        return None
    text = str(post.get("text") or "")
    media = _media_by_key(includes)
    users = {str(u.get("id")): u for u in _list(includes.get("users"))}
    tweets = {str(t.get("id")): t for t in _list(includes.get("tweets"))}
    references = {
        str(r.get("type")): str(r.get("id")) for r in _list(post.get("referenced_tweets"))
    }
    parent = references.get("replied_to")
    own_keys = _list(_dict(post.get("attachments")).get("media_keys"))
    photo = _v2_photo(post, media)
    video = None if photo else _v2_video(post, media)
    lookup = None
    owner: str | None = author
    if photo is None and video is None and own_keys:
        if not any(_expanded(media.get(str(k))) for k in own_keys):
            lookup = post_id  # media not expanded in this delivery: look the post up
    elif photo is None and video is None and parent is not None:
        replied = _dict(tweets.get(parent))
        photo = _v2_photo(replied, media)
        video = None if photo else _v2_video(replied, media)
        lookup = parent if photo is None and video is None else None
        owner = _str_or_none(post.get("in_reply_to_user_id") or replied.get("author_id"))
    replies_to_bot = str(post.get("in_reply_to_user_id") or "") == bot_user_id
    start = _body_start(text, post.get("display_text_range"), replies_to_bot=replies_to_bot)
    mentions = [
        (str(m.get("id") or ""), int(m.get("start") or 0))
        for m in _list(_dict(post.get("entities")).get("mentions"))
    ]
    return Incoming(
        kind=POST,
        event_id=post_id,
        author_id=author,
        author_handle=_str_or_none(_dict(users.get(author)).get("username")),
        text=clean_text(text[start:]),
        photo_url=photo,
        video=video,
        lookup_post_id=lookup,
        photo_owner_id=owner,
        in_reply_to_post_id=parent,
        explicit_mention=any(uid == bot_user_id and at >= start for uid, at in mentions),
        replies_to_bot=replies_to_bot,
        is_repost="retweeted" in references,
    )


def clean_text(text: str) -> str:
    """The words without links and @mentions, whitespace collapsed."""
    return " ".join(_MENTION.sub(" ", _URL.sub(" ", text)).split())


def _body_start(text: str, display_range: object, *, replies_to_bot: bool) -> int:
    """Where the body starts: after the @handles a reply is prefixed with. Without X's
    `display_text_range`, leading @handles count as that prefix only in a reply to the bot
    (elsewhere "@bob @colorbot lofi" under Bob's photo is how people ask)."""
    if isinstance(display_range, list | tuple) and display_range:
        return int(display_range[0])
    if replies_to_bot:
        match = _LEADING_MENTIONS.match(text)
        return match.end() if match else 0
    return 0


def _v2_photo(post: Json, media: Mapping[str, Json]) -> str | None:
    for key in _list(_dict(post.get("attachments")).get("media_keys")):
        item = media.get(str(key))
        if item is not None and item.get("type") == "photo" and item.get("url"):
            return str(item["url"])
    return None


def _v2_video(post: Json, media: Mapping[str, Json]) -> VideoRef | None:
    for key in _list(_dict(post.get("attachments")).get("media_keys")):
        item = media.get(str(key))
        video = video_of_media(item) if item is not None else None
        if video is not None:
            return video
    return None


def _first_video(media: list[Any]) -> VideoRef | None:
    for item in media:
        video = video_of_media(_dict(item))
        if video is not None:
            return video
    return None


def _expanded(item: Json | None) -> bool:
    """The media object carries what we need: a photo's URL, a video's variants."""
    if item is None:
        return False
    if item.get("type") == "photo":
        return bool(item.get("url"))
    return video_of_media(item) is not None


def _media_by_key(includes: Json) -> dict[str, Json]:
    return {str(m.get("media_key")): m for m in _list(includes.get("media"))}


def _first_index(indices: object) -> int:
    if isinstance(indices, list | tuple) and indices:
        return int(indices[0])
    return 0


def _dict(value: object) -> Json:
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _str_or_none(value: object) -> str | None:
    return str(value) if value not in (None, "") else None
