"""After a raise, each person gets one alert per ticket, over HTTP on both runtimes.

A fault reported at 17:30 on a Monday at a 5x8 site, not accepted: its acknowledge
deadline passes at 09:30 on Tuesday and raises it to level 1, whose deadlines count
around the clock from the report. Arrival (19:30) and restore (22:30) are long past,
the full fix (Tuesday 17:30) is ahead: one page each, saying all of it.
"""

from __future__ import annotations

import pytest
from test_journeys import Office, office, open_ticket  # noqa: F401  (the fixture)

from demo import journeys

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.filterwarnings("ignore:.*`retry_after`.*:telegram.warnings.PTBDeprecationWarning"),
]


async def test_a_raise_overnight_pages_each_person_once_with_what_is_missed_and_next(
    office: Office,  # noqa: F811
):
    wang, zhao, chen, liu = office.wang, office.zhao, office.chen, office.liu
    await office.later(hours=8, minutes=30)  # Monday 17:30
    ticket_id = await open_ticket(office)
    await journeys.dispatch_card(wang, ticket_id)
    await office.later(hours=15, minutes=48)  # Tuesday 09:18: 80 %, the reminder
    await journeys.deadline_reminder(wang, ticket_id)
    await office.later(minutes=12)  # 09:30: the acknowledge deadline

    for person in (wang, zhao, chen):
        page = await journeys.deadline_page(person, ticket_id, raised_to=1)
        assert (
            f"Ticket #{ticket_id}: the acceptance deadline (Mar 3 09:30) was missed." in page.text
        )
        assert (
            "⚠️ At this level the arrival on site deadline (Mar 2 19:30) is missed by 14 h too."
            in page.text
        )
        assert (
            "⚠️ At this level the service restored deadline (Mar 2 22:30) is missed by 11 h too."
            in page.text
        )
        assert "⏭ Next: full fix due Mar 3 17:30." in page.text
    alert = await journeys.manager_alert(liu, ticket_id)
    assert "Level 1 (critical)" in alert.text
    assert "⏭ Next: full fix due Mar 3 17:30." in alert.text
    await office.later(seconds=1)  # everything queued at 09:30 is out

    # One alert each (a page or the manager's), not one per missed step.
    for person in (wang, zhao, chen, liu):
        alerts = [m.text for m in person.person.messages() if m.text.startswith("🚨")]
        assert len(alerts) == 1, (person.name, alerts)
