"""Compact duration strings as used in policy files: "90m", "2h", "1h30m", "7d", "45s"."""

from __future__ import annotations

import re
from datetime import timedelta

# Units must come in descending order and each at most once, so every duration has
# exactly one spelling per value and a typo such as "30m1h" is rejected, not guessed at.
_DURATION = re.compile(
    r"""
    \s*(?:(?P<d>[0-9]+)\s*d)?
    \s*(?:(?P<h>[0-9]+)\s*h)?
    \s*(?:(?P<m>[0-9]+)\s*m)?
    \s*(?:(?P<s>[0-9]+)\s*s)?
    \s*""",
    re.VERBOSE | re.IGNORECASE,
)

_HINT = "use e.g. 90m, 2h, 7d"


def parse_duration(text: str) -> timedelta:
    """Parse a positive duration such as "1h30m" or "7d"; raise ValueError otherwise."""
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not a duration ({_HINT})")
    match = _DURATION.fullmatch(text)
    if match is None or not any(match.group(unit) for unit in "dhms"):
        raise ValueError(f"{text!r} is not a duration ({_HINT})")
    days, hours, minutes, seconds = (int(match.group(unit) or 0) for unit in "dhms")
    result = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    # A zero deadline or interval is always a mistake in a policy (it would fire at once
    # or loop forever), so "0m" is refused just like "0".
    if result <= timedelta(0):
        raise ValueError(f"{text!r} is not a positive duration ({_HINT})")
    return result


def format_duration(value: timedelta) -> str:
    """Canonical spelling of a non-negative duration ("1h30m", "7d"); sub-seconds are dropped."""
    if value < timedelta(0):
        raise ValueError(f"cannot format a negative duration: {value}")
    total = value.days * 86_400 + value.seconds  # microseconds deliberately truncated
    if total == 0:
        return "0s"
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    parts = ((days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s"))
    return "".join(f"{amount}{unit}" for amount, unit in parts if amount)
