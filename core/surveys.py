"""The semiannual satisfaction survey of all departments (000 §4: 30 % of the quarterly score).

Twice a year (1 June for the first half, 1 December for the second) a round opens at
every site and each active staff member of the site is asked one 1-5 question (1 very
dissatisfied ... 5 very satisfied); the round closes 14 days after the 1st. One answer
per person and round: a second press is told the first answer stands, a press after
the close is told the round is over.

Rounds are per site because `survey_round` is unique on (period, site): a round for
"every site" would have a NULL site, which PostgreSQL does not hold unique, so two
instances could both open it. Staff without a site are not asked.

A quarter's survey figure is the share of answers 3-5 over all answers of the closed
rounds of the half-year the quarter belongs to (Q1, Q2 → H1; Q3, Q4 → H2), every site
or one. A half-year with no closed round, or no answers, has no figure (None), and the
scorecard says so instead of inventing one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core import outbox
from core.clock import DEFAULT_TIMEZONE
from core.enums import Role
from core.errors import InvalidInput
from core.messages import SurveyQuestion
from core.models import Person, Site, SurveyResponse, SurveyRound
from core.unit_of_work import Core

OPENING_MONTHS: Final = {6: 1, 12: 2}  # month the round opens → half-year it covers
OPEN_FOR: Final = timedelta(days=14)
ANSWERED_EVENT: Final = "survey.answered"
OPENED_EVENT: Final = "survey.opened"
SCORES: Final = range(1, 6)
HALF_LABEL = re.compile(r"^(\d{4})-H([12])$")


class Outcome(StrEnum):
    """What became of a survey answer."""

    RECORDED = "recorded"
    ALREADY_ANSWERED = "already_answered"  # the first answer stands
    CLOSED = "closed"  # the round is over (or not open yet)
    NOT_INVITED = "not_invited"  # the person is not staff of the round's site
    UNKNOWN_ROUND = "unknown_round"


@dataclass(frozen=True)
class AnswerResult:
    """The outcome of one press, with the answer that counts and when the round closes."""

    outcome: Outcome
    score: int | None = None  # the recorded score (the earlier one when already answered)
    period: str = ""
    closes_at: datetime | None = None


@dataclass(frozen=True)
class OpenResult:
    """What opening a half-year's rounds did."""

    period: str | None
    rounds_opened: int = 0
    questions: int = 0


@dataclass(frozen=True)
class SurveyResult:
    """A half-year's closed rounds: answers 3-5 out of all answers."""

    period: str
    rounds: int
    positive: int
    answered: int


def half_label(year: int, half: int) -> str:
    """'2026-H2'."""
    return f"{year:04d}-H{half}"


def round_window(moment: datetime, tz: str = DEFAULT_TIMEZONE) -> tuple[str, datetime] | None:
    """The half-year whose round is open at `moment` and when it closes, or None.

    A round is open from 00:00 on the 1st of June (H1) or December (H2) for 14 days.
    """
    local = moment.astimezone(ZoneInfo(tz))
    half = OPENING_MONTHS.get(local.month)
    if half is None:
        return None
    opens = datetime(local.year, local.month, 1, tzinfo=ZoneInfo(tz))
    closes = opens + OPEN_FOR
    if not opens <= local < closes:
        return None
    return half_label(local.year, half), closes


async def open_rounds(
    core: Core, now: datetime, *, tz: str = DEFAULT_TIMEZONE, closes_at: datetime | None = None
) -> OpenResult:
    """Open this half-year's round at every site and ask its staff (the job; idempotent).

    Outside the opening window nothing happens, unless `closes_at` is given (opening a
    round by hand, e.g. in tests or a demo): then the round is the half-year of `now`.
    """
    if closes_at is None:
        window = round_window(now, tz)
        if window is None:
            return OpenResult(None)
        period, closes = window
    else:
        local = now.astimezone(ZoneInfo(tz))
        period, closes = half_label(local.year, 1 if local.month <= 6 else 2), closes_at
    opened = questions = 0
    async with core.transaction() as tx:
        insert = pg_insert if tx.dialect == "postgresql" else sqlite_insert
        site_ids = (await tx.session.scalars(select(Site.id).order_by(Site.id))).all()
        for site_id in site_ids:
            round_id = (
                await tx.session.execute(
                    insert(SurveyRound)
                    .values(period=period, site_id=site_id, opened_at=tx.now, closes_at=closes)
                    .on_conflict_do_nothing(index_elements=["period", "site_id"])
                    .returning(SurveyRound.id)
                )
            ).scalar_one_or_none()
            if round_id is None:
                continue  # opened before (another run, another instance)
            opened += 1
            staff = (
                await tx.session.scalars(
                    select(Person)
                    .where(
                        Person.role == Role.STAFF,
                        Person.active.is_(True),
                        Person.site_id == site_id,
                    )
                    .order_by(Person.id)
                )
            ).all()
            question = SurveyQuestion(round_id=round_id, period=period, closes_at=closes)
            for person in staff:
                added = await outbox.enqueue(
                    tx,
                    question,
                    key=f"survey:{round_id}:{person.id}",
                    recipient_id=person.id,
                )
                questions += int(added)
            await tx.audit(
                "survey_round",
                round_id,
                OPENED_EVENT,
                period=period,
                site_id=site_id,
                closes_at=closes.isoformat(),
                asked=len(staff),
            )
    return OpenResult(period, opened, questions)


async def answer(core: Core, *, round_id: int, person_id: int, score: int) -> AnswerResult:
    """Record one person's answer once; later presses get the outcome, not a second row."""
    if score not in SCORES:
        raise InvalidInput("rating.out_of_range", score=score)
    async with core.transaction(person_id) as tx:
        survey = await tx.session.get(SurveyRound, round_id)
        if survey is None:
            return AnswerResult(Outcome.UNKNOWN_ROUND)
        previous = await tx.session.scalar(
            select(SurveyResponse.score).where(
                SurveyResponse.round_id == round_id, SurveyResponse.person_id == person_id
            )
        )
        if previous is not None:
            return AnswerResult(Outcome.ALREADY_ANSWERED, previous, survey.period, survey.closes_at)
        if not survey.opened_at <= tx.now < survey.closes_at:
            return AnswerResult(Outcome.CLOSED, None, survey.period, survey.closes_at)
        person = await tx.session.get(Person, person_id)
        if (
            person is None
            or not person.active
            or person.role is not Role.STAFF
            or (survey.site_id is not None and person.site_id != survey.site_id)
        ):
            return AnswerResult(Outcome.NOT_INVITED, None, survey.period, survey.closes_at)
        insert = pg_insert if tx.dialect == "postgresql" else sqlite_insert
        created = (
            await tx.session.execute(
                insert(SurveyResponse)
                .values(
                    round_id=round_id,
                    person_id=person_id,
                    department_id=person.department_id,
                    score=score,
                    answered_at=tx.now,
                )
                .on_conflict_do_nothing(index_elements=["round_id", "person_id"])
                .returning(SurveyResponse.id)
            )
        ).scalar_one_or_none()
        if created is None:  # a concurrent press of the same person won
            first = await tx.session.scalar(
                select(SurveyResponse.score).where(
                    SurveyResponse.round_id == round_id, SurveyResponse.person_id == person_id
                )
            )
            return AnswerResult(Outcome.ALREADY_ANSWERED, first, survey.period, survey.closes_at)
        await tx.audit("survey_round", round_id, ANSWERED_EVENT, person_id=person_id, score=score)
        return AnswerResult(Outcome.RECORDED, score, survey.period, survey.closes_at)


async def survey_result(
    core: Core, period: str, *, site_id: int | None = None, as_of: datetime
) -> SurveyResult:
    """Answers 3-5 and all answers of half-year `period`'s rounds closed by `as_of`."""
    if HALF_LABEL.match(period) is None:
        raise InvalidInput("report.bad_period", text=period[:20])
    async with core.reading() as session:
        closed = select(SurveyRound.id).where(
            SurveyRound.period == period, SurveyRound.closes_at <= as_of
        )
        if site_id is not None:
            closed = closed.where(SurveyRound.site_id == site_id)
        round_ids = list((await session.scalars(closed)).all())
        if not round_ids:
            return SurveyResult(period, 0, 0, 0)
        row = (
            await session.execute(
                select(
                    func.count(SurveyResponse.id),
                    func.coalesce(func.sum(case((SurveyResponse.score >= 3, 1), else_=0)), 0),
                ).where(SurveyResponse.round_id.in_(round_ids))
            )
        ).one()
    return SurveyResult(period, len(round_ids), int(row[1]), int(row[0]))
