"""What the parties of a ticket are told when one of them writes in its thread.

The reporter, the engineer and the dispatcher write to each other through the bot: each
sees the author's name and role, never their Telegram account. A photo comes after the
text, captioned with the ticket number.
"""

from __future__ import annotations

import html

from bot.callback_ids import THREAD_ACTION
from bot.cards import short
from bot.chat import InlineKeyboard, SendPhoto
from bot.i18n import N_
from bot.labels import ROLE, label
from bot.notifications.registry import Notice, RenderCtx, renders
from core.messages import TicketNotePosted

NOTE_FROM = N_("💬 <b>Ticket #{ticket}</b> · {author} ({role}):")
REPLY_BUTTON = N_("↩️ Reply")


@renders(TicketNotePosted)
async def note_posted(m: TicketNotePosted, r: RenderCtx) -> Notice:
    """'💬 Ticket #7 · Wang Wei (engineer): …', with ↩️ Reply; a photo follows the text."""
    head = r._(
        NOTE_FROM,
        ticket=m.ticket_id,
        author=m.author,
        role=label(r.t, ROLE, m.author_role.value),
    )
    body = m.text or r._("[photo]")
    hint = r._("Reply to this message to answer.")
    text = f"{head}\n{short_lines(body)}\n<i>{hint}</i>"
    keyboard = InlineKeyboard.of([r.button(r._(REPLY_BUTTON), THREAD_ACTION, m.ticket_id)])
    notice = Notice(text, keyboard)
    if m.photo_file_id:
        caption = r._("📷 Ticket #{ticket} · {author}", ticket=m.ticket_id, author=m.author)
        notice.attachments.append(SendPhoto(r.chat_id or 0, m.photo_file_id, caption=caption))
    return notice


def short_lines(text: str) -> str:
    """The message as written (escaped), kept within Telegram's limit with room to spare."""
    return html.escape(text if len(text) <= 3000 else short(text, 3000))
