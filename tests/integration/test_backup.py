"""Backups of a database being written to, on every backend, through the command line.

The writer here is the helpdesk itself, adding sites (each an audit event) as fast as it
can while `faultdesk backup` runs in its own process; the copy is then checked by
`faultdesk audit verify`, as an operator would check it.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import uuid
from pathlib import Path

from bot_process import run_cli
from sqlalchemy import text
from sqlalchemy.engine import make_url

from core.db import Database
from core.migrate import head_revision

PG_URL = os.environ.get("FAULTDESK_TEST_PG_URL")


class Writer:
    """Adds sites one after another until stopped; counts them."""

    def __init__(self, helpdesk) -> None:
        self.helpdesk = helpdesk
        self.written = 0
        self.stop = asyncio.Event()
        self.first = asyncio.Event()

    async def run(self) -> None:
        while not self.stop.is_set():
            self.written += 1
            await self.helpdesk.people.create_site(
                code=f"S{self.written}", name=f"Site {self.written}", region="city"
            )
            self.first.set()


async def _admin(sql: str) -> None:
    assert PG_URL is not None
    admin = Database(PG_URL)
    async with admin.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.exec_driver_sql(sql)
    await admin.dispose()


def events_checked(output: str) -> int:
    found = re.search(r"events checked: (\d+)", output)
    assert found, output
    return int(found.group(1))


async def test_a_backup_taken_while_writing_is_consistent_and_verifies(
    helpdesk, database_url, backend, tmp_path
):
    writer = Writer(helpdesk)
    writing = asyncio.create_task(writer.run())
    await writer.first.wait()
    out = tmp_path / ("copy.sqlite3" if backend == "sqlite" else "copy.dump")
    before = writer.written
    taken = await run_cli("backup", "--out", str(out), "-d", database_url)
    during = writer.written - before
    writer.stop.set()
    await writing
    assert taken.code == 0, taken.output
    assert f"backup written: {out}" in taken.stdout
    assert during > 0, "nothing was written while the backup ran"
    assert not (tmp_path / (out.name + ".partial")).exists()

    if backend == "sqlite":
        copy_url = f"sqlite:///{out}"
        assert not await asyncio.to_thread(Path(f"{out}-wal").exists)  # one self-contained file
    else:
        name = f"faultdesk_restored_{uuid.uuid4().hex[:8]}"
        await _admin(f'CREATE DATABASE "{name}"')
        copy_url = make_url(database_url).set(database=name).render_as_string(hide_password=False)
        target = make_url(copy_url).set(drivername="postgresql").render_as_string(False)
        restored = await asyncio.create_subprocess_exec(
            shutil.which("pg_restore") or "pg_restore",
            "--no-owner",
            "--dbname",
            target,
            str(out),
        )
        assert await restored.wait() == 0
    try:
        verified = await run_cli("audit", "verify", "-d", copy_url)
        assert verified.code == 0, verified.output
        assert "audit log intact" in verified.stdout
        # A snapshot from while the writer ran: some of its sites, each one whole.
        assert 1 <= events_checked(verified.stdout) <= writer.written
        current = await run_cli("db", "current", "-d", copy_url)
        assert current.code == 0 and "up to date" in current.stdout
        copy = Database(copy_url)
        async with copy.engine.connect() as conn:
            sites = await conn.scalar(text("SELECT count(*) FROM site"))
            events = await conn.scalar(text("SELECT count(*) FROM audit_event"))
            instances = await conn.scalar(text("SELECT count(*) FROM instance"))
        await copy.dispose()
        assert sites == events and instances == 0
    finally:
        if backend == "postgresql":
            await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_the_version_and_the_schema_revision_are_told(database_url, backend):
    version = await run_cli("--version")
    assert version.code == 0 and version.stdout.strip() == "faultdesk 0.1.0"

    current = await run_cli("db", "current", "-d", database_url)
    assert current.code == 0, current.output
    assert f"database revision: {head_revision()}" in current.stdout
    assert "up to date" in current.stdout

    try:
        await _stamp(database_url, "0002")
        behind = await run_cli("db", "current", "-d", database_url)
        assert behind.code == 1
        assert "database revision: 0002" in behind.stdout
        assert (
            "BEHIND: run `faultdesk backup --out FILE`, then `faultdesk db upgrade`"
            in behind.stdout
        )

        await _stamp(database_url, "9999_future")
        ahead = await run_cli("db", "current", "-d", database_url)
        assert ahead.code == 2 and "AHEAD" in ahead.stdout
    finally:
        # PostgreSQL's test database is shared by the session: the next test needs head.
        await _stamp(database_url, head_revision())


async def _stamp(database_url: str, revision: str) -> None:
    """Write `revision` as the database's migration revision (the schema stays as it is)."""
    database = Database(database_url)
    async with database.engine.begin() as conn:
        await conn.execute(
            text("UPDATE alembic_version SET version_num = :revision"), {"revision": revision}
        )
    await database.dispose()


async def test_bad_backup_and_restore_requests_get_a_clear_answer(database_url, backend, tmp_path):
    nowhere = await run_cli("db", "current", "-d", f"sqlite:///{tmp_path}/missing.sqlite3")
    assert nowhere.code == 2 and "there is no database at" in nowhere.stderr
    assert not (tmp_path / "missing.sqlite3").exists()  # and none was made

    folder = await run_cli("backup", "--out", str(tmp_path), "-d", database_url)
    assert folder.code == 1 and "is a folder; give the backup file's name" in folder.stderr
    await asyncio.to_thread((tmp_path / "a-file").write_text, "not a folder")
    blocked = await run_cli(
        "backup", "--out", str(tmp_path / "a-file" / "backups" / "b.db"), "-d", database_url
    )
    assert blocked.code == 1 and "cannot write" in blocked.stderr
    for result in (folder, blocked):
        assert "Traceback" not in result.output

    missing = await run_cli("restore", "--from", str(tmp_path / "none.sqlite3"), "-d", database_url)
    assert missing.code == 1
    if backend == "postgresql":
        assert "faultdesk restore works on SQLite; for PostgreSQL use pg_restore" in missing.stderr
        return
    assert "there is no backup file at" in missing.stderr
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"this is not a database" * 100)
    refused = await run_cli("restore", "--from", str(junk), "-d", database_url)
    assert refused.code == 1 and "is not a SQLite database" in refused.stderr
    self_copy = await run_cli(
        "backup", "--out", database_url.removeprefix("sqlite:///"), "-d", database_url
    )
    assert self_copy.code == 1 and "would overwrite the database itself" in self_copy.stderr
    folder = await run_cli("backup", "--out", str(tmp_path), "-d", database_url)
    assert folder.code == 1 and "is a folder; give the backup file's name" in folder.stderr
    (tmp_path / "locked").mkdir(mode=0o500)
    locked = await run_cli(
        "backup", "--out", str(tmp_path / "locked" / "x" / "b.db"), "-d", database_url
    )
    if os.geteuid() != 0:  # root writes anywhere
        assert locked.code == 1 and "cannot write" in locked.stderr
    for result in (missing, refused, self_copy, folder, locked):
        assert "Traceback" not in result.output


async def test_a_database_url_that_cannot_be_read_is_named_without_a_traceback(tmp_path):
    for command in (
        ["db", "current"],
        ["backup", "--out", str(tmp_path / "b.db")],
        ["restore", "--from", str(tmp_path / "b.db")],
    ):
        for url in ("garbage", "postgresql://ops:S3cretPw@db:notaport/faultdesk"):
            result = await run_cli(*command, "-d", url)
            assert result.code == 2, result.output
            assert "not a database URL: use sqlite:///path or postgresql://" in result.stderr
            assert "Traceback" not in result.output and "S3cretPw" not in result.output
    assert list(tmp_path.iterdir()) == []  # nothing was written
