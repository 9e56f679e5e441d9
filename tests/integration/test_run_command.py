"""Run means run: `faultdesk run` needs a token; `scripts/run.sh` says whether it runs the bot or the demo.

The script is run as the README says, from a copy of the repository's layout whose
`scripts/setup.sh` does nothing (the real one installs packages) and whose
`.venv/bin/faultdesk` only records what it was asked to start; `.venv/bin/python` is
this interpreter with this checkout's code, so the token is looked up exactly as the bot
reads its settings (environment, then `.env`).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from command_line import ROOT, environment, faultdesk


def test_run_without_a_token_stops_with_a_sentence_and_creates_nothing(tmp_path):
    ran = faultdesk("run", cwd=tmp_path)
    assert ran.code == 2
    assert "FAULTDESK_BOT_TOKEN is not set, so there is no bot to run." in ran.stderr
    assert "run `faultdesk demo`" in ran.stderr
    assert list(tmp_path.iterdir()) == []  # no database, no demo played
    chinese = faultdesk("run", cwd=tmp_path, lang="zh_CN")
    assert chinese.code == 2 and "没有设置 FAULTDESK_BOT_TOKEN" in chinese.stderr


@pytest.fixture
def layout(tmp_path: Path) -> Path:
    """A copy of the repository's layout around the real scripts/run.sh."""
    root = tmp_path / "faultdesk"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "run.sh", root / "scripts" / "run.sh")
    setup = root / "scripts" / "setup.sh"
    setup.write_text("#!/usr/bin/env bash\nexit 0\n", encoding="utf-8")
    bin_dir = root / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    python = bin_dir / "python"
    python.write_text(
        f'#!/usr/bin/env bash\nPYTHONPATH="{ROOT}" exec "{sys.executable}" "$@"\n', encoding="utf-8"
    )
    started = bin_dir / "faultdesk"
    started.write_text(
        '#!/usr/bin/env bash\necho "started: faultdesk $*" > "$(dirname "$0")/../../started"\n',
        encoding="utf-8",
    )
    for script in (setup, python, started, root / "scripts" / "run.sh"):
        script.chmod(0o755)
    return root


def run_script(
    root: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(root / "scripts" / "run.sh"), *args],
        capture_output=True,
        text=True,
        env=environment(env, lang=None),
        timeout=120,
        check=False,
    )


def test_run_sh_without_a_token_plays_the_offline_demo_and_says_so(layout):
    done = run_script(layout, "--runtime", "ptb")
    assert done.returncode == 0, done.stderr
    assert "no FAULTDESK_BOT_TOKEN: playing the offline demo (faultdesk demo)" in done.stderr
    assert (layout / "started").read_text().strip() == "started: faultdesk demo --runtime ptb"


def test_run_sh_with_a_token_runs_the_bot_and_says_so(layout):
    done = run_script(layout, env={"FAULTDESK_BOT_TOKEN": "123:abc"})
    assert done.returncode == 0, done.stderr
    assert "FAULTDESK_BOT_TOKEN is set: running the bot (faultdesk run)" in done.stderr
    assert (layout / "started").read_text().strip() == "started: faultdesk run"


def test_run_sh_finds_the_token_in_dot_env_as_the_bot_does(layout):
    (layout / ".env").write_text("FAULTDESK_BOT_TOKEN=123:abc\n", encoding="utf-8")
    done = run_script(layout)
    assert done.returncode == 0, done.stderr
    assert (layout / "started").read_text().strip() == "started: faultdesk run"


def test_the_collector_tuned_once_serving_leaves_start_up_objects_alone():
    """What start-up built is frozen out of the cyclic collector; young collections are rarer."""
    script = (
        "import gc, json\n"
        "from bot.cli.run import GC_THRESHOLDS, tune_collector\n"
        "import bot.app, core.models\n"  # a serving process's heap, roughly
        "before = gc.get_freeze_count()\n"
        "tune_collector()\n"
        "print(json.dumps([before, gc.get_freeze_count(), gc.get_threshold(), GC_THRESHOLDS]))\n"
    )
    child = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env=environment(),
    )
    before, frozen, thresholds, wanted = json.loads(child.stdout)
    assert before == 0 and frozen > 50_000  # modules, types, mappers
    assert thresholds == wanted and wanted[0] > 700  # CPython's default young threshold
