"""Every command, given bad input, answers in a sentence of the person's language.

Each command of `faultdesk` is run with something wrong: an unknown code, a bad period,
zone, number or file, a missing, empty, un-migrated or foreign database, a typo in the
command itself. Every answer must be exit status 2, one translated sentence, no
traceback and no internal code. The whole matrix runs in zh_CN, en and ru in this
process; a selection runs as real child processes, where a traceback would show.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from command_line import TRACEBACK_MARKS, faultdesk
from typer.testing import CliRunner

from bot.cli import app
from bot.cli.assets import ROW_SENTENCES
from bot.cli.speech import DOMAIN_SENTENCES
from bot.errors import MESSAGES
from core.migrate import script_directory, upgrade

# Every internal code a sentence stands for, and the repr of a parameter dict.
RAW = re.compile(
    "|".join(re.escape(code) for code in sorted({*DOMAIN_SENTENCES, *MESSAGES, *ROW_SENTENCES}))
    + r"|\{'"
)
SCRIPT = {
    "zh_CN": re.compile(r"[\u4e00-\u9fff]"),
    "ru": re.compile(r"[А-Яа-я]"),
    "en": re.compile(r"[A-Za-z]"),
}
BUG = "failed unexpectedly"


@dataclass
class Place:
    """A scratch folder with databases in every state and files of every kind."""

    root: Path
    ready: str  # migrated, with HQ, Finance and PC-0001
    missing: str  # no file
    empty: str  # an empty file (left by an old version)
    behind: str  # migrated to revision 0002 only
    foreign: str  # a file that is no database


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Place:
    root = tmp_path_factory.mktemp("speaks")
    ready = root / "ready.sqlite3"
    shutil.copy(sqlite_template, ready)
    url = f"sqlite:///{ready}"
    runner = CliRunner()
    for step in (
        ["site", "add", "HQ", "Head office", "--region", "city"],
        ["department", "add", "HQ", "Finance"],
    ):
        assert runner.invoke(app, [*step, "-d", url]).exit_code == 0
    (root / "one.csv").write_text("tag,kind,site\nPC-0001,pc,HQ\n", encoding="utf-8")
    assert runner.invoke(app, ["asset", "import", str(root / "one.csv"), "-d", url]).exit_code == 0
    behind = root / "behind.sqlite3"
    upgrade(f"sqlite:///{behind}", "0002")
    (root / "empty.sqlite3").write_bytes(b"")
    (root / "foreign.sqlite3").write_text("this is not a database\n" * 10, encoding="utf-8")
    (root / "binary.csv").write_bytes(bytes(range(256)) * 8)
    (root / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    (root / "bad-rows.csv").write_text(
        "资产编号,设备类型,营业所,保修状况\nPC-0009,咖啡机,HQ,明年\nPC-0010,pc,月球,\n",
        encoding="utf-8",
    )
    (root / "no-site.csv").write_text("资产编号,设备类型\nPC-0002,投影仪\n", encoding="utf-8")
    (root / "broken.toml").write_text("[regions]\ncity = 5\n", encoding="utf-8")
    (root / "folder").mkdir()
    return Place(
        root,
        url,
        f"sqlite:///{root / 'missing.sqlite3'}",
        f"sqlite:///{root / 'empty.sqlite3'}",
        f"sqlite:///{behind}",
        f"sqlite:///{root / 'foreign.sqlite3'}",
    )


BOT = ("--bot-username", "deskbot")
# (what is wrong, the command, which database, extra environment)
CASES: list[tuple[str, tuple[str, ...], str, dict[str, str]]] = [
    ("unknown region", ("site", "add", "X", "Y", "--region", "moon"), "ready", {}),
    (
        "bad zone",
        ("site", "add", "X", "Y", "--region", "city", "--timezone", "Mars/Base"),
        "ready",
        {},
    ),
    ("bad hours", ("site", "add", "X", "Y", "--region", "city", "--hours", "9x9"), "ready", {}),
    ("bad site code", ("site", "add", "A B", "Y", "--region", "city"), "ready", {}),
    ("unknown site to edit", ("site", "edit", "NOPE", "--name", "x"), "ready", {}),
    ("nothing to edit", ("site", "edit", "HQ"), "ready", {}),
    ("command typo", ("site", "ad", "X"), "ready", {}),
    ("option typo", ("site", "add", "X", "Y", "--regoin", "city"), "ready", {}),
    ("missing option", ("site", "add", "X", "Y"), "ready", {}),
    ("unknown site", ("department", "add", "NOPE", "Finance"), "ready", {}),
    ("unknown department", ("department", "rename", "HQ", "Nope", "New"), "ready", {}),
    ("unknown role", ("invite", "create", "--role", "boss", "--site", "HQ", *BOT), "ready", {}),
    (
        "invite at no site",
        ("invite", "create", "--role", "staff", "--site", "NOPE", *BOT),
        "ready",
        {},
    ),
    (
        "unknown department",
        ("invite", "create", "--role", "staff", "--site", "HQ", "--department", "Nope", *BOT),
        "ready",
        {},
    ),
    (
        "bad username",
        ("invite", "create", "--role", "staff", "--site", "HQ", "--bot-username", "a b"),
        "ready",
        {},
    ),
    ("no username", ("invite", "create", "--role", "staff", "--site", "HQ"), "ready", {}),
    (
        "not a number",
        ("invite", "create", "--role", "staff", "--site", "HQ", "--uses", "many", *BOT),
        "ready",
        {},
    ),
    (
        "out of range",
        ("invite", "create", "--role", "staff", "--site", "HQ", "--uses", "0", *BOT),
        "ready",
        {},
    ),
    ("bad cadence", ("plan", "add", "P", "N", "--cadence", "weekly", "--site", "HQ"), "ready", {}),
    (
        "unknown kind",
        (
            "plan",
            "add",
            "P",
            "N",
            "--cadence",
            "monthly",
            "--site",
            "HQ",
            "--kinds",
            "投影仪,咖啡机",
        ),
        "ready",
        {},
    ),
    (
        "bad due day",
        ("plan", "add", "P", "N", "--cadence", "monthly", "--site", "HQ", "--due-day", "31"),
        "ready",
        {},
    ),
    (
        "unknown engineer",
        ("plan", "add", "P", "N", "--cadence", "monthly", "--site", "HQ", "--engineer", "424242"),
        "ready",
        {},
    ),
    ("unknown person", ("person", "backup", "999"), "ready", {}),
    ("unknown role", ("person", "role", "1", "boss"), "ready", {}),
    ("not an id", ("person", "deactivate", "abc"), "ready", {}),
    ("no such file", ("asset", "import", "{root}/missing.csv"), "ready", {}),
    ("a folder", ("asset", "import", "{root}/folder"), "ready", {}),
    ("no text", ("asset", "import", "{root}/binary.csv"), "ready", {}),
    ("a broken workbook", ("asset", "import", "{root}/old.xls"), "ready", {}),
    ("bad rows", ("asset", "import", "{root}/bad-rows.csv"), "ready", {}),
    (
        "unknown site for rows",
        ("asset", "import", "{root}/no-site.csv", "--site", "NOPE"),
        "ready",
        {},
    ),
    ("unknown tag", ("asset", "edit", "NOPE", "--location", "x"), "ready", {}),
    ("nothing to change", ("asset", "edit", "PC-0001"), "ready", {}),
    ("unknown kind", ("asset", "edit", "PC-0001", "--kind", "咖啡机"), "ready", {}),
    ("bad date", ("asset", "edit", "PC-0001", "--warranty", "2027-02-30"), "ready", {}),
    ("unknown tag", ("asset", "show", "NOPE"), "ready", {}),
    ("unknown tag", ("asset", "retire", "NOPE"), "ready", {}),
    ("unknown site", ("asset", "list", "--site", "NOPE"), "ready", {}),
    ("bad file type", ("asset", "export", "--out", "{root}/x.pdf"), "ready", {}),
    ("unwritable file", ("asset", "export", "--out", "{root}/no/such/folder/x.csv"), "ready", {}),
    ("bad headers", ("asset", "export", "--out", "{root}/x.csv", "--headers", "fr"), "ready", {}),
    (
        "bad layout",
        ("asset", "labels", "--out", "{root}/l.pdf", "--layout", "9x9x9", *BOT),
        "ready",
        {},
    ),
    (
        "unknown tag",
        ("asset", "labels", "--out", "{root}/l.pdf", "--tags", "NOPE", *BOT),
        "ready",
        {},
    ),
    (
        "no font",
        ("asset", "labels", "--out", "{root}/l.pdf", "--font", "{root}/none.ttf", *BOT),
        "ready",
        {},
    ),
    (
        "not a font",
        ("asset", "labels", "--out", "{root}/l.pdf", "--font", "{root}/one.csv", *BOT),
        "ready",
        {},
    ),
    ("bad month", ("report", "monthly", "--period", "2026-13"), "ready", {}),
    ("bad quarter", ("report", "quarterly", "--period", "2026-Q5"), "ready", {}),
    ("bad kind", ("report", "weekly", "--period", "2026-11"), "ready", {}),
    ("bad format", ("report", "monthly", "--period", "2026-11", "--format", "pdf"), "ready", {}),
    ("unknown site", ("report", "monthly", "--period", "2026-11", "--site", "NOPE"), "ready", {}),
    ("bad anchor", ("audit", "verify", "--anchor", "12-abc"), "ready", {}),
    ("bad revision", ("db", "upgrade", "--revision", "9999"), "ready", {}),
    ("bad runtime", ("demo", "--runtime", "telepathy"), "ready", {}),
    ("bad language", ("--lang", "xx", "site", "list"), "ready", {}),
    ("no such command", ("sitee", "list"), "ready", {}),
    ("missing database", ("site", "list"), "missing", {}),
    ("missing database", ("report", "monthly", "--period", "2026-11"), "missing", {}),
    ("missing database", ("audit", "verify"), "missing", {}),
    ("missing database", ("site", "add", "HQ", "Head office", "--region", "city"), "missing", {}),
    ("empty database", ("audit", "verify"), "empty", {}),
    ("empty database", ("asset", "import", "{root}/one.csv"), "empty", {}),
    ("database behind", ("asset", "list"), "behind", {}),
    ("database behind", ("report", "quarterly", "--period", "2026-Q4"), "behind", {}),
    ("not a database", ("site", "list"), "foreign", {}),
    ("unsupported database", ("site", "list"), "mysql://u@localhost/x", {}),
    ("unreachable database", ("site", "list"), "postgresql://nobody@127.0.0.1:9/x", {}),
    (
        "broken policy",
        ("site", "add", "X", "Y", "--region", "city"),
        "ready",
        {"FAULTDESK_POLICY_FILE": "{root}/broken.toml"},
    ),
    ("bad setting", ("site", "list"), "ready", {"FAULTDESK_OUTBOX_LEASE": "several"}),
]
# Where a lost or created file would show: these must leave no database behind.
LEAVES_NOTHING = {"missing database"}


def _resolve(place: Place, case: tuple[str, tuple[str, ...], str, dict[str, str]]):
    what, args, database, env = case
    url = getattr(place, database, database)
    args = tuple(arg.replace("{root}", str(place.root)) for arg in args)
    env = {key: value.replace("{root}", str(place.root)) for key, value in env.items()}
    if args[0] != "--lang" and args[0] != "sitee":
        args = (*args, "--database-url", url)
    return what, args, env


def _check(what: str, lang: str, code: int, output: str) -> None:
    assert code == 2, f"{what}: exit {code}\n{output}"
    assert output.strip(), what
    assert not any(mark in output for mark in TRACEBACK_MARKS), f"{what}: traceback\n{output}"
    raw = RAW.search(output)
    assert raw is None, f"{what}: internal code {raw.group(0)!r} shown\n{output}"
    assert BUG not in output, f"{what}: not worded\n{output}"
    assert SCRIPT[lang].search(output), f"{what}: not in {lang}\n{output}"


@pytest.mark.parametrize("lang", ["zh_CN", "en", "ru"])
def test_every_command_words_bad_input_in_the_installations_language(place, lang):
    runner = CliRunner()
    for case in CASES:
        what, args, env = _resolve(place, case)
        result = runner.invoke(app, list(args), env={"FAULTDESK_DEFAULT_LANGUAGE": lang, **env})
        _check(what, lang, result.exit_code, result.output)
    assert not (place.root / "missing.sqlite3").exists()


@pytest.mark.parametrize(
    ("index", "lang"),
    [
        (CASES.index(case), lang)
        for case, lang in zip(
            [
                c
                for c in CASES
                if c[0]
                in {
                    "unknown region",
                    "command typo",
                    "not a number",
                    "no text",
                    "bad rows",
                    "bad month",
                    "missing database",
                    "database behind",
                    "broken policy",
                    "bad setting",
                    "unreachable database",
                }
            ],
            ["zh_CN", "en", "ru"] * 10,
            strict=False,
        )
    ],
)
def test_a_child_process_shows_no_traceback_either(place, index, lang):
    what, args, env = _resolve(place, CASES[index])
    ran = faultdesk(*args, env=env, lang=lang)
    _check(what, lang, ran.code, ran.output)
    if what in LEAVES_NOTHING:
        assert not (place.root / "missing.sqlite3").exists()


def test_the_language_can_be_chosen_before_or_after_the_command(place):
    runner = CliRunner()
    before = runner.invoke(
        app, ["--lang", "ru", "site", "add", "X", "Y", "--region", "moon", "-d", place.ready]
    )
    after = runner.invoke(
        app, ["site", "add", "X", "Y", "--region", "moon", "-d", place.ready, "--lang", "zh_CN"]
    )
    assert before.exit_code == after.exit_code == 2
    assert SCRIPT["ru"].search(before.output) and SCRIPT["zh_CN"].search(after.output)
    # The next command line starts again in the installation's language.
    plain = runner.invoke(
        app,
        ["site", "add", "X", "Y", "--region", "moon", "-d", place.ready],
        env={"FAULTDESK_DEFAULT_LANGUAGE": "en"},
    )
    assert "moon is not a region of the SLA policy" in plain.output


def test_a_database_behind_the_code_is_told_to_upgrade_and_db_upgrade_does(place, tmp_path):
    behind = tmp_path / "behind.sqlite3"
    upgrade(f"sqlite:///{behind}", "0002")
    url = f"sqlite:///{behind}"
    head = ", ".join(sorted(script_directory().get_heads()))
    told = faultdesk("asset", "list", "-d", url)
    assert told.code == 2
    assert (
        f"is behind this faultdesk (revision 0002, the code is at {head});"
        " run `faultdesk db upgrade` first." in told.stderr
    )
    upgraded = faultdesk("db", "upgrade", "-d", url)
    assert upgraded.code == 0 and f"from revision 0002 to {head}" in upgraded.stdout
    assert faultdesk("asset", "list", "-d", url).code == 0
    again = faultdesk("db", "upgrade", "-d", url)
    assert f"is up to date (revision {head})" in again.stdout
