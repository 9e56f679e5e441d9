"""The offline demo (`faultdesk demo`, and `scripts/run.sh` without a token) plays its day.

It runs in-process, as `faultdesk demo` does, on both runtimes; the assertions look for
the day's key moments in the printed transcripts, in each person's language.
"""

from __future__ import annotations

import io
import re

import pytest

from bot.dialogs.rate import score_label
from bot.i18n import I18n
from bot.labels import SEVERITY, label
from bot.runtimes import RUNTIMES
from demo import day, seed

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
        return day.pattern(translator, msgid, **known).search(text) is not None

    # (a) Li Na's ticket number and promised arrival, in Chinese.
    assert said(zh, "✅ <b>Ticket #{ticket} is open.</b>", ticket=1)
    assert said(zh, "👷 {engineer} is dispatched. Promised arrival: <b>{promised}</b>.")
    # (b) Wang Wei's dispatch card.
    assert said(zh, "📣 <b>New dispatch for you</b>")
    # (c) the reminder, the page with the level raised, the manager's alert in English.
    assert said(zh, "⏰ <b>Ticket #{ticket}</b>: {clock} due {due}, {left}.", ticket=2)
    assert said(
        zh, "🚨 <b>Ticket #{ticket}</b>: the {clock} deadline ({due}) was {missed}.", ticket=2
    )
    assert said(zh, "Level raised to {level}.", level=label(zh, SEVERITY, 1))
    assert said(en, "🚨 <b>Escalation: ticket #{ticket}</b>", ticket=2)
    assert said(en, "✅ Acknowledged at {at}.")
    # (d) the service sheet and the rating.
    assert said(
        zh,
        "✅ Ticket #{ticket} resolved. The reporter is asked to confirm the fix and rate it.",
        ticket=1,
    )
    assert said(
        zh,
        "⭐ <b>Ticket #{ticket}</b>: you rated the service <b>{score}</b>.",
        ticket=1,
        score=score_label(zh, 5),
    )
    # (e) the manager's statistics.
    assert said(en, "📊 <b>{place}</b> · {now}", place="Head office")
    summary = text[text.index("━━ Summary ━━") :]
    assert re.search(r"tickets: 2 — #1 closed \(level 2\), #2 on_site \(level 1\)", summary)
    assert "pages sent: 4 (manager alerts 1), acknowledged 4" in summary
    assert "emulator violations: 0" in summary and "unanswered button presses: 0" in summary
    assert "errors logged: 0" in summary and "hash chain intact" in summary
    assert summary.rstrip().endswith("demo OK")
