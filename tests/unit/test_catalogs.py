"""The translation catalogs: current with the code, Chinese and English complete, markup intact."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR, NC_, I18n
from bot.web.texts import TEXTS, texts_for

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"\{(\w+)\}")
TAG = re.compile(r"</?(b|i|u|s|code|pre|a)\b[^>]*>")


def catalog(lang: str):
    with (LOCALES_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=lang)


def key(message) -> tuple[str | None, str]:
    """A message's identity: its context (msgctxt, if any) and its id."""
    return message.context, message.id if isinstance(message.id, str) else message.id[0]


def template_ids() -> set[tuple[str | None, str]]:
    with (LOCALES_DIR / "messages.pot").open("rb") as handle:
        return {key(m) for m in read_po(handle) if m.id}


def test_the_template_lists_every_message_in_the_code(tmp_path):
    out = tmp_path / "fresh.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_",
            "-k",
            "N_",
            "-k",
            "t",
            "-k",
            "plural:1,2",
            "-k",
            "NC_:1c,2",
            "-k",
            "pgettext:1c,2",
            "-o",
            str(out),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with out.open("rb") as handle:
        fresh = {key(m) for m in read_po(handle) if m.id}
    missing = fresh - template_ids()
    stale = template_ids() - fresh
    assert not missing, (
        f"run scripts/i18n.sh extract && scripts/i18n.sh update; new: {sorted(missing)[:10]}"
    )
    assert not stale, f"run scripts/i18n.sh extract; gone: {sorted(stale)[:10]}"


@pytest.mark.parametrize("lang", ["zh_CN", "en", "ru"])
def test_chinese_english_and_russian_are_complete(lang):
    messages = {key(m): m for m in catalog(lang) if m.id}
    missing = sorted(template_ids() - set(messages))
    assert not missing, f"{lang}: {len(missing)} messages missing, e.g. {missing[:5]}"
    if lang in ("zh_CN", "ru"):
        untranslated = [
            i
            for i, m in messages.items()
            if not (m.string if isinstance(m.string, str) else all(m.string))
        ]
        fuzzy = [i for i, m in messages.items() if m.fuzzy]
        assert not untranslated, f"{len(untranslated)} untranslated, e.g. {untranslated[:5]}"
        assert not fuzzy, f"fuzzy entries: {fuzzy[:5]}"


def test_russian_welcomes_and_covers_the_basics():
    translated = {m.id for m in catalog("ru") if m.id and m.string and isinstance(m.id, str)}
    for essential in ("What I can do", "Change language", "Choose your language:"):
        assert essential in translated


@pytest.mark.parametrize("lang", ["zh_CN", "en", "ru"])
def test_translations_keep_placeholders_and_markup(lang):
    problems = []
    for message in catalog(lang):
        if not message.id or not message.string:
            continue
        pairs = (
            [(message.id, message.string)]
            if isinstance(message.id, str)
            else [(message.id[0], s) for s in message.string if s]
        )
        for source, text in pairs:
            if (
                Counter(PLACEHOLDER.findall(source)) != Counter(PLACEHOLDER.findall(text))
                and "{n}" not in source
            ):
                problems.append(f"placeholders differ: {source!r} -> {text!r}")
            if Counter(TAG.findall(source)) != Counter(TAG.findall(text)):
                problems.append(f"markup differs: {source!r} -> {text!r}")
    assert not problems, problems[:10]


def test_the_catalogs_load_and_translate():
    i18n = I18n()
    assert i18n.get("zh_CN")("Change language") != "Change language"
    assert i18n.get("en")("Change language") == "Change language"


def test_a_deadline_has_its_own_name_apart_from_the_status_of_the_same_words():
    zh = I18n().get("zh_CN")
    assert zh("service restored") == "已恢复服务"  # the status: done
    assert zh(NC_("deadline", "service restored")) == "恢复服务"  # the deadline: still to come
    assert template_ids() >= {("deadline", "service restored"), (None, "service restored")}


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("zh_CN", "2小时12分钟"), ("en", "2 h 12 min"), ("ru", "2 ч 12 мин")],
)
def test_durations_are_joined_as_the_language_writes_them(lang, expected):
    assert I18n().get(lang).duration(timedelta(hours=2, minutes=12)) == expected


def test_no_chinese_text_puts_a_space_inside_a_duration_or_numbers_a_level():
    """Chinese durations run together, and a level reads as its label (一级故障…), not 1级."""
    problems = []
    for message in catalog("zh_CN"):
        text = message.string if isinstance(message.string, str) else " ".join(message.string)
        if re.search(r"\{n\}\s+(小时|分钟|天)|\{level\}级|L\{level\}", text or ""):
            problems.append(text)
    assert not problems, problems


def test_every_console_word_is_a_message_of_the_catalogs():
    """The console's words are extracted like the chat's, so the checks above cover them."""
    assert {(message.context, message.message) for message in TEXTS.values()} <= template_ids()


@pytest.mark.parametrize("lang", ["zh_CN", "en", "ru"])
def test_the_console_speaks_every_language_from_the_catalogs(lang):
    words = texts_for(I18n().get(lang))
    english = texts_for(I18n().get("en"))
    assert set(words) == set(TEXTS)
    for key, text in words.items():
        assert text.strip(), key
        assert Counter(PLACEHOLDER.findall(text)) == Counter(PLACEHOLDER.findall(english[key]))


def test_the_console_keeps_its_words_apart_where_one_english_word_means_two_things():
    zh, ru = texts_for(I18n().get("zh_CN")), texts_for(I18n().get("ru"))
    assert (zh["title"], ru["title"]) == ("调度看板", "Доска диспетчера")
    assert (zh["ok"], zh["outcome_ok"]) == ("确定", "正常")  # a button; an inspection's result
    assert (zh["warranty"], zh["field_warranty_until"]) == ("保修至", "保修截止")
    assert ru["outcome_ok"] == "исправно"
