"""What to do with one Telegram update, decided without any I/O.

`plan_update` looks at a PTB `Update` and returns a `Plan`: submit a photo or clip job (a
video, an animation, a video note, a video or GIF sent as a file: `clips`), answer with a text
(help, a hint, a refusal, a picker), forget the user, report stats, handle a button press, or
ignore it. Executing the plan (database, Bot API) is `intake`'s job.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from telegram import InlineKeyboardMarkup, Message, Update

from core.errors import UserError
from handlers.commands import Command, caption_filter, parse_command, resolve_available
from handlers.telegram import texts
from handlers.telegram.clips import TELEGRAM_DOWNLOAD_LIMIT, ClipRef, clip_of, clip_refusal
from handlers.telegram.keyboards import ButtonPress, decode, filter_picker
from inference.filter_names import FILTER_NAMES, UnknownFilterError
from inference.pipeline import COLORIZE, FILTER, ColorizeUnavailableError
from inference.video import VideoLimits

# A GIF is a clip (`clips`), even sent as a file; the runner treats a one-frame GIF as a photo.
IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".webp", ".bmp", ".tif", ".tiff", ".heic", ".heif"}
)
DEFAULT_VIDEO_LIMITS = VideoLimits()


@dataclass(frozen=True)
class PhotoRef:
    """A photo on Telegram's servers: a compressed photo's largest size, or an image file."""

    file_id: str
    file_unique_id: str
    file_size: int | None
    message_id: int  # the message that carries it

    def as_source(self) -> dict[str, Any]:
        """What a job stores to fetch it later (`Job.source`)."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
        }


Media = PhotoRef | ClipRef  # what a job works on


@dataclass(frozen=True)
class PlanContext:
    bot_username: str | None
    can_colorize: bool
    admin_ids: frozenset[int]
    max_file_bytes: int
    filters: tuple[str, ...] = FILTER_NAMES  # the filters this service has
    video_limits: VideoLimits = DEFAULT_VIDEO_LIMITS  # MAX_VIDEO_SECONDS, MAX_VIDEO_BYTES, ...

    @property
    def max_clip_bytes(self) -> int:
        """The largest clip a job can fetch: Telegram's 20 MB, or MAX_VIDEO_BYTES if lower."""
        return min(TELEGRAM_DOWNLOAD_LIMIT, self.video_limits.max_bytes)


@dataclass(frozen=True)
class Ignore:
    reason: str


@dataclass(frozen=True)
class Answer:
    text: str
    reply_to: int | None
    keyboard: InlineKeyboardMarkup | None = None
    notice: bool = False  # unsolicited (a hint, a refusal): at most one per user per while


@dataclass(frozen=True)
class Submit:
    operation: str
    filter_name: str | None
    media: Media
    album_id: str | None = None
    # An uncaptioned album photo takes the filter the album's captioned photo asked for.
    inherit_album_filter: bool = False


@dataclass(frozen=True)
class Forget:
    reply_to: int


@dataclass(frozen=True)
class Stats:
    reply_to: int


@dataclass(frozen=True)
class Press:
    query_id: str
    press: ButtonPress | None  # None: data we never made (an old or forged button)
    message_id: int | None  # the message the button is under (None if too old to see)
    media: Media | None  # the photo or clip that message replies to, if any


Action = Ignore | Answer | Submit | Forget | Stats | Press


@dataclass(frozen=True)
class Plan:
    action: Action
    chat_id: int | None = None
    user_id: int | None = None


def plan_update(update: Update, context: PlanContext) -> Plan:
    if update.callback_query is not None:
        query = update.callback_query
        pressed = query.message if isinstance(query.message, Message) else None
        media = None
        if pressed is not None and pressed.reply_to_message is not None:
            media = media_of(pressed.reply_to_message)
        press = Press(
            query.id,
            decode(query.data),
            pressed.message_id if pressed is not None else None,
            media,
        )
        chat_id = pressed.chat.id if pressed is not None else None
        return Plan(press, chat_id, query.from_user.id)
    message = update.message
    if message is None:
        return Plan(Ignore("not a new message or a button press"))
    sender = message.from_user
    if sender is None or sender.is_bot:
        return Plan(Ignore("not from a person"))
    action = plan_message(message, context)
    return Plan(action, message.chat.id, sender.id)


def plan_message(message: Message, context: PlanContext) -> Action:
    private = message.chat.type == "private"
    text = message.text if message.text is not None else message.caption
    command = parse_command(text, context.bot_username)
    media = media_of(message)
    if command is not None:
        return plan_command(command, message, media, context, private=private)
    if media is not None:
        if not private:
            return Ignore("a photo or clip in a group without a command")
        refusal = refuse_size(media, context)
        if refusal is not None:
            return refusal
        album = message.media_group_id if isinstance(media, PhotoRef) else None
        named = caption_filter(message.caption)
        if named is not None and named in context.filters:
            return Submit(FILTER, named, media, album)
        return submit_colorize(media, album, context, album_inherits=True)
    if not private:
        return Ignore("a message in a group without a command")
    return Answer(hint_for(message), message.message_id, notice=True)


def plan_command(
    command: Command,
    message: Message,
    media: Media | None,
    context: PlanContext,
    *,
    private: bool,
) -> Action:
    reply_to = message.message_id
    replied = message.reply_to_message
    target = media or (media_of(replied) if replied is not None else None)
    if not command.known:
        if not private:
            return Ignore(f"unknown command /{command.word} in a group")
        return Answer(texts.UNKNOWN_COMMAND.format(word=command.word), reply_to)
    if command.name in ("start", "help"):
        return Answer(texts.help_text(context.video_limits.max_seconds), reply_to)
    if command.name == "forget":
        return Forget(reply_to)
    if command.name == "stats":
        if message.from_user is None or message.from_user.id not in context.admin_ids:
            return Answer(texts.NOT_ADMIN, reply_to)
        return Stats(reply_to)
    if command.name == "filters" or (command.name == "filter" and not command.argument):
        picker = filter_picker(names=context.filters)
        if target is None:
            return Answer(texts.PICK_FILTER_FOR_NOTHING, reply_to, picker)
        return Answer(texts.PICK_FILTER, target.message_id, picker)
    album = message.media_group_id if isinstance(media, PhotoRef) else None
    if command.name == "filter":
        try:
            name = resolve_available(command.argument, context.filters)
        except UserError as exc:  # an unknown filter (with suggestions), or one we lack
            keyboard = None
            suggestions = exc.suggestions if isinstance(exc, UnknownFilterError) else []
            if target is not None and suggestions:
                keyboard = filter_picker(names=tuple(suggestions))
            return Answer(exc.user_message, target.message_id if target else reply_to, keyboard)
        if target is None:
            return Answer(texts.NO_PHOTO_FOR_FILTER.format(name=name), reply_to)
        return refuse_size(target, context) or Submit(FILTER, name, target, album)
    # colorize
    if target is None:
        return Answer(texts.NO_PHOTO_FOR_COLORIZE, reply_to)
    return refuse_size(target, context) or submit_colorize(target, album, context)


def submit_colorize(
    media: Media, album_id: str | None, context: PlanContext, *, album_inherits: bool = False
) -> Action:
    if not context.can_colorize and not (album_inherits and album_id):
        message = f"{ColorizeUnavailableError().user_message}\n{texts.PICK_FILTER}"
        picker = filter_picker(names=context.filters)
        return Answer(message, media.message_id, picker, notice=True)
    return Submit(COLORIZE, None, media, album_id, inherit_album_filter=album_inherits)


def refuse_size(media: Media, context: PlanContext) -> Answer | None:
    """A photo or clip that Telegram's metadata already shows we can't take (too big to
    download, a clip too long): its one friendly answer."""
    if isinstance(media, ClipRef):
        text = clip_refusal(media, context.max_clip_bytes, context.video_limits)
        return Answer(text, media.message_id, notice=True) if text else None
    if media.file_size is not None and media.file_size > context.max_file_bytes:
        text = texts.too_large(media.file_size, context.max_file_bytes)
        return Answer(text, media.message_id, notice=True)
    return None


def media_of(message: Message) -> Media | None:
    """What a message carries to work on: a photo, or a clip."""
    return photo_of(message) or clip_of(message)


def photo_of(message: Message) -> PhotoRef | None:
    """The photo a message carries: the largest size of a compressed photo, or a document
    that is an image other than a GIF (by its MIME type or, failing that, its file name)."""
    if message.photo:
        largest = max(message.photo, key=lambda size: size.width * size.height)
        return PhotoRef(
            largest.file_id, largest.file_unique_id, largest.file_size, message.message_id
        )
    document = message.document
    if document is None or message.animation is not None:
        return None
    mime = (document.mime_type or "").lower()
    suffix = PurePosixPath(document.file_name or "").suffix.lower()
    if (mime.startswith("image/") and mime != "image/gif") or (
        mime in ("", "application/octet-stream") and suffix in IMAGE_EXTENSIONS
    ):
        return PhotoRef(
            document.file_id, document.file_unique_id, document.file_size, message.message_id
        )
    return None


def hint_for(message: Message) -> str:
    """The friendly "send me a photo or a video" for a message we can't work on."""
    if message.document is not None:
        return texts.HINT_NOT_A_PHOTO
    return texts.HINT
