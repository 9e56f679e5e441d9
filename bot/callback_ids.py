"""Every callback action of the bot's buttons, in one place so that no two collide.

A button's callback data is `action:arg:arg~signature` (`bot.callbacks`); the router
finds the handler by the action. Actions are short because the whole data must fit in
Telegram's 64 bytes. The dialog engine's own action (`d`) lives with the engine.
"""

from __future__ import annotations

from typing import Final

# Tickets: cards, queues and pages (engineers, dispatchers, managers).
CARD_ACTION: Final = "ec"  # ec:<ticket>:<op>:<fingerprint>
OPEN_ACTION: Final = "qo"  # qo:<ticket>[:<fingerprint>]: send a ticket's card as a new message
PAGE_ACK_ACTION: Final = "ep"  # ep:<page>[:<fingerprint>]: acknowledge an escalation page
QUEUE_ACTION: Final = "qp"  # qp:<page>:<fingerprint>
PAGE_TOOL_ACTION: Final = "pt"  # pt:<ticket>:<op>[:<fingerprint>]: a page's tool (reassign, level)

# The reporter: /my, the fix verdict, the rating, data-backup consent.
MY_ACTION: Final = "smy"  # smy:<page>
VERDICT_ACTION: Final = "sfx"  # sfx:<ticket>:<cycle>:<1 fixed | 0 not fixed>
SCORE_ACTION: Final = "srt"  # srt:<ticket>:<cycle>:<score>
COMMENT_ACTION: Final = "scm"  # scm:<ticket>:<cycle>: open the comment dialog
FOLLOW_UP_ACTION: Final = "sfu"  # sfu:<ticket>:<score>:<dimension index>:<value, 0 skips>
CONSENT_ACTION: Final = "scn"  # scn:<consent>:<ticket>:<1 | 0>

# A ticket's thread, its withdrawal, and a ticket shown with its timeline (anyone party to it).
THREAD_ACTION: Final = "tm"  # tm:<ticket>: write in the ticket's thread
WITHDRAW_ACTION: Final = "tw"  # tw:<ticket>: withdraw (reporter) or cancel (dispatcher)
TICKET_ACTION: Final = "tv"  # tv:<ticket>: show the ticket with its timeline
CLOSED_ACTION: Final = "smc"  # smc:<page>: the reporter's tickets closed in the last 30 days

# Complaints (managers).
COMPLAINT_CONFIRM_ACTION: Final = "cpc"  # cpc:<complaint>: confirm receipt
COMPLAINT_ANSWER_ACTION: Final = "cpa"  # cpa:<complaint>: open the answer dialog

# Inspections and spare devices.
INSPECTION_START_ACTION: Final = "ins"  # ins:<inspection>
LOAN_RETURNED_ACTION: Final = "lnr"  # lnr:<loan>

# Engineer replacement requests (managers) and service sheets (reporters, managers).
REPLACEMENT_DONE_ACTION: Final = "rpd"  # rpd:<request>: record the replacement
REPLACEMENT_WITHDRAW_ACTION: Final = "rpw"  # rpw:<request>: withdraw before the deadline
SHEET_ACTION: Final = "ssh"  # ssh:<ticket>: send the ticket's service sheet (PDF)

# The semiannual survey.
SURVEY_ACTION: Final = "svy"  # svy:<round>:<score>

# Everyone: the language; admins: making invitations.
LANG_ACTION: Final = "lang"  # lang:<code>
ROLE_ACTION: Final = "ai"  # ai:<role>
SITE_ACTION: Final = "as"  # as:<role>:<site>
DEPARTMENT_ACTION: Final = "ad"  # ad:<role>:<site>:<department>
USES_ACTION: Final = "au"  # au:<role>:<site>:<department>:<uses>
DAYS_ACTION: Final = "ae"  # ae:<role>:<site>:<department>:<uses>:<days>

# Arguments of a card button (`ec:<ticket>:<op>`) beyond the plain operations.
CONSENT_PREFIX: Final = "c_"  # c_<operation index>: ask the reporter about that operation
LEVEL_PREFIX: Final = "l"  # l1..l4: set the level
ASSIGN_PREFIX: Final = "a"  # a<engineer id>: assign to that engineer
