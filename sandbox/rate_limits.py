"""Telegram's broadcast limits and the arithmetic of sends within a time window."""

from __future__ import annotations

from typing import Final

# Telegram's broadcast limits (https://core.telegram.org/bots/faq#my-bot-is-hitting-limits):
# (max messages, window seconds).
PRIVATE_CHAT_LIMIT: Final = (1, 1.0)
GROUP_CHAT_LIMIT: Final = (20, 60.0)
GLOBAL_LIMIT: Final = (30, 1.0)


def window_excess(times: list[float], limit: int, window: float) -> list[tuple[int, float]]:
    """(count, span) for each burst where more than `limit` sends fall within `window` seconds."""
    times = sorted(times)
    found: list[tuple[int, float]] = []
    i = 0
    while i + limit < len(times):
        if times[i + limit] - times[i] < window:
            end = i + limit
            while end + 1 < len(times) and times[end + 1] - times[i] < window:
                end += 1
            found.append((end - i + 1, times[end] - times[i]))
            i = end + 1
        else:
            i += 1
    return found


def window_wait(times: list[float], limit: int, window: float, now: float) -> float:
    """Seconds until one more event at `now` would keep <= limit events in any window."""
    recent = sorted(t for t in times if now - t < window)
    if len(recent) < limit:
        return 0.0
    return window - (now - recent[-limit])
