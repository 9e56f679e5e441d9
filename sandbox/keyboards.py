"""Reading reply markups: the rows of an inline keyboard."""

from __future__ import annotations

from sandbox.json_types import JsonDict


def inline_keyboard_of(markup: object) -> list[list[JsonDict]]:
    """The inline keyboard rows of a reply_markup, or [] when it is not an inline keyboard."""
    if isinstance(markup, dict) and isinstance(markup.get("inline_keyboard"), list):
        return [row for row in markup["inline_keyboard"] if isinstance(row, list)]
    return []
