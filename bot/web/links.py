"""Where Telegram may open the console as a Mini App: only at an https address.

Telegram refuses a `web_app` button (menu or inline) whose URL is not https, and allows
inline `web_app` buttons only in private chats. In local long-polling mode the console
is served over plain http, so there are no Mini App buttons at all (`/web` login links
still work in a browser).
"""

from __future__ import annotations

from urllib.parse import urlsplit


def mini_app_base(web_url: str) -> str | None:
    """The console's address when Telegram may open it as a Mini App (https), else None."""
    if not web_url:
        return None
    parts = urlsplit(web_url)
    if parts.scheme != "https" or not parts.netloc:
        return None
    return web_url if web_url.endswith("/") else web_url + "/"


def ticket_page(base: str, ticket_id: int) -> str:
    """The console's page of one ticket (its `?ticket=` route)."""
    return f"{base}?ticket={ticket_id}"


def card_console(web_url: str, chat_id: int | None) -> str | None:
    """The Mini App base for a card sent to `chat_id`: None outside private chats.

    Private chats have the person's (positive) user id; groups and channels negative ids.
    """
    if chat_id is None or chat_id <= 0:
        return None
    return mini_app_base(web_url)
