"""Typed outbox messages: each has a renderer, survives its outbox row, and renders alone.

Instances are generated from the classes' own type hints, so a field added to a message
is covered without touching this file.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.callbacks import CallbackCodec
from bot.i18n import SUPPORTED, I18n
from bot.notifications import RENDERERS, RenderCtx, render
from core.messages import (
    KINDS,
    Message,
    MessageError,
    MonthlySummaryPosted,
    QuarterlyScorecardPosted,
    decode,
    encode,
)
from core.models import Person

ZONES = ("Asia/Shanghai", "UTC", "Europe/Moscow")
MOMENTS = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
# Reports carry their figures as the summary's own JSON; integration tests render real ones.
FIGURES_ARE_OPAQUE = frozenset({MonthlySummaryPosted, QuarterlyScorecardPosted})


def strategy_for(hint: Any, name: str = "") -> st.SearchStrategy[Any]:
    """Values of a field's type, as the domain produces them (aware UTC times, real zones)."""
    if name in ("tz", "timezone"):
        return st.sampled_from(ZONES)
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*(strategy_for(arg, name) for arg in typing.get_args(hint)))
    if origin is tuple:
        item = typing.get_args(hint)[0]
        return st.lists(strategy_for(item), max_size=3).map(tuple)
    if origin is dict:
        return st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=8), max_size=3)
    if hint is type(None):
        return st.none()
    if hint is datetime:
        return MOMENTS
    if hint is date:
        return st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1))
    if hint is bool:
        return st.booleans()
    if hint is int:
        return st.integers(min_value=-(2**40), max_value=2**40)
    if hint is float:
        return st.floats(min_value=0, max_value=100_000, allow_nan=False, width=32)
    if hint is str:
        return st.text(max_size=40)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return st.sampled_from(list(hint))
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return instances_of(hint)
    raise TypeError(f"no strategy for {hint!r}")


def instances_of(cls: type[Any]) -> st.SearchStrategy[Any]:
    """Instances of a dataclass, every field drawn from its type hint."""
    hints = typing.get_type_hints(cls)
    fields = {
        field.name: strategy_for(hints[field.name], field.name)
        for field in dataclasses.fields(cls)
        if field.init
    }
    return st.builds(cls, **fields)


# The product's messages (tests define messages of their own, registered alike).
PRODUCT_MESSAGES = sorted(
    (cls for cls in KINDS.values() if cls.__module__ == "core.messages"), key=lambda c: c.kind
)
ANY_MESSAGE = st.sampled_from(PRODUCT_MESSAGES).flatmap(instances_of)


def test_every_message_class_has_exactly_one_kind_and_a_renderer() -> None:
    concrete = {cls for cls in _subclasses(Message) if "kind" in vars(cls)}
    assert concrete == set(KINDS.values())
    production = set(PRODUCT_MESSAGES)
    assert len(production) >= 40
    assert production <= set(RENDERERS), sorted(c.__name__ for c in production - set(RENDERERS))


def _subclasses(cls: type[Any]) -> set[type[Any]]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_subclasses(sub)}
    return found


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(ANY_MESSAGE)
def test_every_message_round_trips_through_its_outbox_row(message: Message) -> None:
    stored = json.loads(json.dumps(encode(message)))  # what the JSON column gives back
    assert decode(message.kind, stored) == message


def test_a_row_that_does_not_fit_its_class_is_refused_with_a_reason() -> None:
    with pytest.raises(MessageError, match="unknown message kind"):
        decode("no.such.kind", {})
    with pytest.raises(MessageError, match=r"ticket\.assigned"):
        decode("ticket.assigned", {"ticket_id": "not a number"})


class NoLookups:
    """A renderer reads what the message carries; only the engineers may be read live."""

    async def engineers_for(self, ticket_id: int) -> list[Person]:
        return []


I18N = I18n()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ANY_MESSAGE.filter(lambda m: type(m) not in FIGURES_ARE_OPAQUE),
    st.sampled_from(SUPPORTED),
    st.sampled_from(ZONES),
)
async def test_every_message_renders_from_what_it_carries_in_every_language(
    message: Message, lang: str, zone: str
) -> None:
    context = RenderCtx(
        I18N.get(lang),
        None,
        zone,
        codec=CallbackCodec(b"k"),
        now=datetime(2026, 3, 2, 1, 0, tzinfo=UTC),
        lookups=NoLookups(),
        chat_id=1,
    )
    notice = await render(message, context)
    assert notice.text or notice.attachments
