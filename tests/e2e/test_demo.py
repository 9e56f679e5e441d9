"""The offline demo (`faultdesk demo`, and `scripts/run.sh` without a token) plays its day.

It runs in-process, as `faultdesk demo` does, on both runtimes; the assertions look for
the day's key moments in the printed transcripts, in each person's language.
"""

from __future__ import annotations

import io
import re

import pytest

from bot.cards import LOCATION_VERIFIED, PHOTOS_CAPTION
from bot.dialogs.arrival import ARRIVAL_RECORDED
from bot.dialogs.rate import RATED, score_label
from bot.dialogs.report import DISPATCHED, TICKET_OPENED
from bot.dialogs.resolve import SHEET_FILED
from bot.handlers.manager import STATS_TITLE
from bot.i18n import I18n
from bot.labels import SEVERITY, label
from bot.notifications.engineer import NEW_DISPATCH
from bot.notifications.escalation import (
    ACKNOWLEDGED,
    DEADLINE_MISSED,
    LEVEL_RAISED,
    MANAGER_ALERT,
    REMINDER,
)
from bot.notifications.reporter import ARRIVAL_LATE, DEADLINE_MISSED_SORRY, NEW_TIME_TO_COME
from bot.notifications.thread import NOTE_FROM
from bot.runtimes import RUNTIMES
from demo import day, seed
from demo.matching import pattern

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:.*`retry_after`.*:telegram.warnings.PTBDeprecationWarning"),
]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_the_demo_plays_the_whole_day_and_prints_every_chat(runtime: str):
    out = io.StringIO()

    code = day.main(runtime=runtime, out=out)

    text = out.getvalue()
    assert code == 0, text
    zh, en = I18n().get("zh_CN"), I18n().get("en")
    for persona in (seed.ADMIN, *seed.PEOPLE):
        assert f"━━ {persona.name} {persona.native_name} · {persona.role.value}" in text

    def said(translator, msgid: str, **known: object) -> bool:
        return pattern(translator, msgid, **known).search(text) is not None

    # (a) Li Na's ticket number and promised arrival, in Chinese.
    assert said(zh, TICKET_OPENED, ticket=1)
    assert said(zh, DISPATCHED)
    # (b) Wang Wei's dispatch card.
    assert said(zh, NEW_DISPATCH)
    # (c) the reminder, the page with the level raised, the manager's alert in English.
    assert said(zh, REMINDER, ticket=2)
    assert said(zh, DEADLINE_MISSED, ticket=2)
    assert said(zh, LEVEL_RAISED, level=label(zh, SEVERITY, 1))
    assert said(en, MANAGER_ALERT, ticket=2)
    assert said(en, ACKNOWLEDGED)
    # (c') Li Na is told of the late arrival, with an apology, then the engineer's new time.
    assert said(zh, DEADLINE_MISSED_SORRY, ticket=2)
    assert said(zh, NEW_TIME_TO_COME)
    assert said(zh, ARRIVAL_LATE, ticket=2, time="3月2日 13:00")
    # (d) the service sheet and the rating.
    assert said(zh, SHEET_FILED, ticket=1)
    assert said(zh, RATED, ticket=1, score=score_label(zh, 5))
    # (e) the manager's statistics.
    assert said(en, STATS_TITLE, place="Head office")
    summary = text[text.index("━━ Summary ━━") :]
    # The demo ends with the dispatcher's board as Telegram would open it (issue 15),
    # just before its verdict.
    board = summary.rstrip().splitlines()[-2]
    assert board.startswith("http://127.0.0.1:") and "/web/#tgWebAppData=" in board
    # (f) photos reach the engineer (one with the card, three as an album), the ticket's
    # thread both ways, and an arrival verified by the engineer's location (issue 11).
    assert said(zh, PHOTOS_CAPTION, ticket=1) and said(zh, PHOTOS_CAPTION, ticket=3)
    assert "[album] [photo]" in text
    assert said(zh, NOTE_FROM, ticket=1, author=seed.LI_NA.name)
    assert said(zh, NOTE_FROM, ticket=1, author=seed.WANG_WEI.name)
    assert said(zh, ARRIVAL_RECORDED, ticket=3) and said(zh, LOCATION_VERIFIED)
    assert re.search(
        r"tickets: 3 — #1 closed \(level 2\), #2 on_site \(level 1\), #3 on_site \(level 3\)",
        summary,
    )
    assert "pages sent: 4 (manager alerts 1), acknowledged 4" in summary
    assert "emulator violations: 0" in summary and "unanswered button presses: 0" in summary
    assert "errors logged: 0" in summary and "hash chain intact" in summary
    assert summary.rstrip().endswith("demo OK")
