"""Registration, languages, help, unknown input: what everyone meets first."""

from __future__ import annotations

from core.enums import Role


async def test_an_unregistered_user_is_told_how_to_register_and_nothing_else(chat):
    stranger = chat.person(9999, "Stranger")
    await stranger.send("/start")
    await stranger.send("/report")
    await stranger.send("hello")
    assert all("not registered" in text for text in stranger.texts())
    assert len(stranger.texts()) == 3


async def test_an_invite_link_registers_the_user_with_its_role_and_site(chat, helpdesk, world):
    invite = await helpdesk.people.create_invite(
        role=Role.STAFF, site_id=world.site_id, department_id=world.department_id
    )
    newcomer = chat.person(5555, "Zhou", language_code="en")
    await newcomer.send(f"/start inv_{invite.code}")
    assert "Welcome, Zhou! You are registered as staff." in newcomer.last().text
    profile = await helpdesk.people.profile_by_telegram(5555)
    assert profile is not None and profile.role is Role.STAFF and profile.site_id == world.site_id
    other = chat.person(5556, "Late")
    await other.send(f"/start inv_{invite.code}")
    assert "already been used" in other.last().text


async def test_a_bad_invite_gets_a_clear_answer(chat):
    person = chat.person(5557)
    await person.send("/start inv_nonsense")
    assert "not valid" in person.last().text


async def test_language_comes_from_telegram_until_the_user_chooses(chat, helpdesk, world):
    zhou = await helpdesk.people.create_person(
        name="Zhou", role=Role.STAFF, site_id=world.site_id, telegram_user_id=7001
    )
    person = chat.person(7001, "Zhou", language_code="zh-hans")
    await person.send("/help")
    assert "/report" in person.last().text and "报" in person.last().text
    # Remembered at first contact, so later notifications come in the same language.
    assert (await helpdesk.people.get(zhou.id)).language == "zh_CN"
    await person.send("/lang")
    await person.press("English")
    assert person.last().text == "Language set: English."
    await person.send("/help")
    assert person.last().text.startswith("/report: report a broken device")


async def test_unknown_commands_and_stray_text_get_a_translated_hint(chat, world):
    li = chat.person(1001, "Li")
    await li.send("/frobnicate")
    assert li.last().text == "Unknown command /frobnicate. Send /help to see what I can do."
    # Stray text from an engineer gets the hint; staff are offered a report (issue 11, 4).
    wang = chat.person(2001, "Wang")
    await wang.send("what now?")
    assert "/help" in wang.last().text
    await li.send("what now?")
    assert "Report this as a fault?" in li.last().text


async def test_forged_callback_data_is_refused(chat, world):
    li = chat.person(1001, "Li")
    await li.send("/lang")
    await li.press_data("lang:en~AAAAAAAA")
    assert chat.transport.answers[-1].text == "This button is not valid."
    assert chat.transport.answers[-1].alert


async def test_a_redelivered_update_is_handled_once(chat, world):
    from bot.chat import ChatUser, Incoming, Kind

    incoming = Incoming(
        update_id=777,
        user=ChatUser(1001, "Li", language_code="en"),
        chat_id=1001,
        kind=Kind.COMMAND,
        text="/help",
        command="help",
    )
    assert await chat.feed(incoming) is not None
    assert await chat.feed(incoming) is None
    assert len(chat.transport.messages[1001]) == 1


async def test_the_commands_menu_exists_in_every_language(chat):
    menus = chat.router.menus(chat.app.i18n)
    assert {m.language_code for m in menus} == {None, "zh", "en", "ru"}
    assert all(m.commands for m in menus)


async def test_an_account_named_by_the_operator_becomes_the_first_admin(chat, helpdesk):
    from dataclasses import replace

    chat.app = replace(chat.app, admin_telegram_ids=frozenset({8080}))
    operator = chat.person(8080, "Ops")
    await operator.send("/start")
    assert operator.last().text.startswith("Welcome, Ops! You are registered as administrator.")
    profile = await helpdesk.people.profile_by_telegram(8080)
    assert profile is not None and profile.role is Role.ADMIN
    stranger = chat.person(8081, "Other")
    await stranger.send("/start")
    assert "not registered" in stranger.last().text


async def test_a_throttled_reply_is_sent_after_the_wait_not_lost(chat, world):
    from bot.chat import RetryAfter, SendMessage
    from bot.ratelimit import RateLimits, SendLimiter

    real = chat.transport.perform
    refusals = []

    async def once_flooded(action):
        if isinstance(action, SendMessage) and not refusals:
            refusals.append(action)
            raise RetryAfter(0.05)
        return await real(action)

    chat.transport.perform = once_flooded
    chat.app.limiter = SendLimiter(RateLimits.unlimited())
    li = chat.person(1001, "Li")
    await li.send("/help")
    assert len(refusals) == 1
    assert li.last().text.startswith("/report: report a broken device")
