"""What the Telegram bot says, in one place."""

from __future__ import annotations

from db.stats import JobCounts

EXAMPLE = "For example, send a photo with the caption /filter Lo-Fi"

_HELP = (
    "Hi! I colourise black-and-white photos and apply 40 Instagram-like filters.\n"
    "\n"
    "• Send me a photo: I colourise it.\n"
    "• Send a photo with the caption /filter Lo-Fi (or reply to a photo with /filter Lo-Fi): "
    "a colour photo gets the filter; a black-and-white one is colourised first.\n"
    "• /filters (or /filter on its own) shows all 40 filters to pick from.\n"
    "• Reply to a photo with /colorize (or /colourise) to colourise it.\n"
    "• Photos sent as files work too, up to 20 MB; albums too.\n"
    "• Videos, GIFs and round video notes too (up to 20 MB and {seconds} s): I colourise "
    "every frame without flicker, keep the sound, and show how far along I am. "
    "/filter Lo-Fi in the caption filters every frame.\n"
    "• /forget deletes everything I stored about you.\n"
    "\n"
    "Under each result: Share to gallery (nothing appears in the public gallery without it), "
    "Before / after, and Try another filter. Colours are AI-generated, so they are a guess."
)

HINT = (
    "Send me a photo or a video and I'll colourise it, or add a filter. "
    f"{EXAMPLE}. /help shows more."
)
HINT_NOT_A_PHOTO = (
    "That file isn't a photo or a video. Send me a photo (JPEG, PNG, WebP...) or a video "
    f"(MP4, MOV, WebM, GIF). {EXAMPLE}."
)
HINT_GROUP_PHOTO = "Reply to a photo with /filter Lo-Fi or /colorize and I'll get to work."
UNKNOWN_COMMAND = "I don't know the command /{word}. " + HINT
NO_PHOTO_FOR_FILTER = (
    "Which photo? Send /filter {name} as the caption of a photo, or reply to a photo with it."
)
NO_PHOTO_FOR_COLORIZE = "Reply to a photo with /colorize, or just send me the photo."
PICK_FILTER = "Pick a filter:"
PICK_FILTER_FOR_NOTHING = "Pick a filter, then send me the photo with that caption:"
PICKED_WITHOUT_PHOTO = "Now send me a photo with the caption /filter {name}"
NOT_ADMIN = "Sorry, /stats is only for the bot's admins."
FORGOT = "Done: I deleted everything I had stored about you ({files} files)."
FORGOT_NOTHING = "I had nothing stored about you, so there was nothing to delete."
IN_LINE = "You're #{position} in line. I'll send your {what} as soon as it's ready."
IN_LINE_DONE = "Done, here it is."
IN_LINE_FAILED = "Finished; see my reply below."
PHOTO_GONE = "I no longer have that photo; please send it again."
CLIP_UNAVAILABLE = "I couldn't get that video from Telegram; please send it again."
STALE_BUTTON = "This button has expired; please send the photo again."
NOT_YOURS = "Only the person who sent the photo can share it."
SHARED = "Shared to the gallery. Thank you!"
ALREADY_SHARED = "It's already in the gallery."
RESULT_NOT_READY = "One moment, it's still being saved; try again in a second."
WORKING_ON_IT = "{name}: coming up!"
COMPARING = "Making a before / after picture..."
NO_COMPARE_FOR_CLIPS = (
    "Before / after is for photos; play your video and the original side by side."
)
IN_GALLERY = "In the gallery ✓"


def help_text(max_video_seconds: float) -> str:
    return _HELP.format(seconds=f"{max_video_seconds:g}")


def too_large(size: int, limit: int) -> str:
    return (
        f"That file is {size / 1e6:.1f} MB; I can take files up to {limit / 1e6:.0f} MB "
        "(Telegram's limit for bots). Send it as a photo instead, or make it smaller."
    )


def album_summary(done: int, total: int, filter_name: str | None) -> str:
    what = f" ({filter_name})" if filter_name else ""
    if done == total:
        return f"Album done: all {total} photos{what}."
    failed = total - done
    return (
        f"Album finished: {done} of {total} photos done{what}; {failed} couldn't be done "
        "(see my replies under them)."
    )


def stats_report(today: JobCounts, week: JobCounts) -> str:
    def line(title: str, counts: JobCounts) -> str:
        statuses = ", ".join(f"{k} {v}" for k, v in sorted(counts.by_status.items())) or "none"
        operations = ", ".join(f"{k} {v}" for k, v in sorted(counts.by_operation.items()))
        return f"{title}: {counts.total} jobs ({statuses})" + (
            f"; {operations}" if operations else ""
        )

    return "\n".join([line("Today (UTC)", today), line("Last 7 days", week)])
