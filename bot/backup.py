"""Backups and restores of the database, safe while the bot runs.

- SQLite: the file runs in WAL mode, so copying it (or only it) while the bot writes can
  give a torn or stale copy. `backup_sqlite` uses SQLite's online backup API (Python's
  `sqlite3.Connection.backup`) in a single step, which copies one consistent snapshot
  while writers carry on; the copy is then made a self-contained file (rollback
  journal, no -wal beside it), checked with `PRAGMA integrity_check`, cleared of the
  running process's heartbeat, and moved into place atomically.
- PostgreSQL: `backup_postgres` runs `pg_dump --format=custom` with the configured URL
  (the password goes through PGPASSWORD, never the command line); `pg_restore` reads it.
- `restore_sqlite` refuses a database that a running bot holds (a fresh heartbeat in
  its `instance` table, see `core.instances`), refuses a backup this version cannot run,
  keeps the file it replaces beside it, and copies with the same backup API.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from core.db import Database
from core.instances import live_instances
from core.migrate import schema_state
from core.models import Instance
from core.sqlite_driver import BUSY_TIMEOUT


class BackupError(Exception):
    """A backup or restore that cannot be done, with the reason for the operator."""


@dataclass(frozen=True)
class BackupResult:
    """What a backup wrote."""

    path: Path
    size: int
    detail: str


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL; None for another backend."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up")
    return Path(parsed.database).expanduser()


def _partial(out: Path) -> Path:
    return out.with_name(out.name + ".partial")


def _open_sqlite(path: Path) -> sqlite3.Connection:
    # As long as the bot waits for the lock: a checkpoint in progress is waited out.
    return sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None)


def _has_table(connection: sqlite3.Connection, name: str) -> bool:
    found = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
    ).fetchone()
    return found is not None


def _copy_sqlite(source: Path, target: Path) -> str:
    """Online-backup `source` into `target` (a new file); the copy's integrity verdict."""
    src = _open_sqlite(source)
    dst = _open_sqlite(target)
    try:
        src.backup(dst)  # pages=-1: the whole database in one step, one snapshot
        if _has_table(dst, Instance.__tablename__):
            dst.execute(f"DELETE FROM {Instance.__tablename__}")  # the copy runs no bot
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        verdict = str(dst.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        dst.close()
        src.close()
    return verdict


def backup_sqlite(source: Path, out: Path) -> BackupResult:
    """A consistent copy of a (possibly running) SQLite database at `out`."""
    if not source.is_file():
        raise BackupError(f"there is no database at {source}")
    if out.resolve() == source.resolve():
        raise BackupError("the backup would overwrite the database itself; choose another file")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = _partial(out)
    partial.unlink(missing_ok=True)
    try:
        verdict = _copy_sqlite(source, partial)
    except sqlite3.DatabaseError as error:
        partial.unlink(missing_ok=True)
        raise BackupError(f"{source} cannot be backed up: {error}") from error
    if verdict != "ok":
        partial.unlink(missing_ok=True)
        raise BackupError(f"the copy of {source} fails its integrity check: {verdict}")
    os.replace(partial, out)
    return BackupResult(out, out.stat().st_size, "SQLite online backup, integrity ok")


def libpq_target(url: str) -> tuple[str, dict[str, str]]:
    """The URL for pg_dump/pg_restore without its password, and the environment carrying it."""
    parsed = make_url(url)
    query = dict(parsed.query)
    ssl = query.pop("ssl", None)  # asyncpg's name for libpq's sslmode
    if ssl is not None and "sslmode" not in query:
        query["sslmode"] = str(ssl)
    plain = parsed.set(drivername="postgresql", password=None, query=query)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    return plain.render_as_string(hide_password=False), env


def backup_postgres(url: str, out: Path) -> BackupResult:
    """`pg_dump --format=custom` of the configured database into `out`."""
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise BackupError(
            "pg_dump is not installed: install the PostgreSQL client tools"
            " (Debian: apt-get install postgresql-client-15)"
        )
    target, env = libpq_target(url)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = _partial(out)
    partial.unlink(missing_ok=True)
    done = subprocess.run(
        [pg_dump, "--format=custom", "--no-owner", "--file", str(partial), "--dbname", target],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        raise BackupError(f"pg_dump failed: {done.stderr.strip() or done.returncode}")
    os.replace(partial, out)
    return BackupResult(out, out.stat().st_size, "pg_dump custom format (restore with pg_restore)")


def backup(url: str, out: Path) -> BackupResult:
    """Back up the database at `url` into `out`, whichever backend it is."""
    if out.is_dir():
        raise BackupError(f"{out} is a folder; give the backup file's name")
    try:
        path = sqlite_path(url)
        if path is not None:
            return backup_sqlite(path, out)
        return backup_postgres(url, out)
    except OSError as error:  # no space, no permission, a read-only volume
        raise BackupError(f"cannot write {out}: {error.strerror or error}") from error


@dataclass(frozen=True)
class RestoreResult:
    """What a restore did."""

    target: Path
    revision: str | None
    kept: Path | None  # the database it replaced, kept beside it


async def _schema_of(path: Path) -> tuple[str | None, bool]:
    database = Database(f"sqlite:///{path}")
    try:
        state = await schema_state(database.engine)
    finally:
        await database.dispose()
    return state.current, state.known


async def _running_here(path: Path) -> list[Instance]:
    database = Database(f"sqlite:///{path}")
    try:
        async with database.engine.connect() as connection:
            tables = await connection.run_sync(lambda sync: sync.dialect.get_table_names(sync))
        if Instance.__tablename__ not in tables:
            return []
        async with database.reading() as session:
            # Liveness is wall time, whatever clock the bot's domain runs on.
            return await live_instances(session, datetime.now(UTC))
    finally:
        await database.dispose()


async def restore_sqlite(backup_file: Path, url: str) -> RestoreResult:
    """Replace the SQLite database at `url` with `backup_file`; BackupError if unsafe."""
    target = sqlite_path(url)
    if target is None:
        raise BackupError(
            "faultdesk restore works on SQLite; for PostgreSQL use pg_restore"
            " (see docs/deploy.md, 'Backups')"
        )
    await asyncio.to_thread(_check_backup_file, backup_file)
    revision, known = await _schema_of(backup_file)
    if not known:
        raise BackupError(
            f"{backup_file} was written by a newer faultdesk (revision {revision}); restore"
            " it with that version"
        )
    kept = None
    if await asyncio.to_thread(target.exists):
        running = await _running_here(target)
        if running:
            who = ", ".join(
                f"{row.host} pid {row.pid} (heartbeat {row.beat_at:%Y-%m-%d %H:%M:%S} UTC)"
                for row in running
            )
            raise BackupError(
                f"a running faultdesk holds {target}: {who}. Stop it first"
                " (systemctl stop faultdesk), then restore."
            )
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        kept = target.with_name(f"{target.name}.before-restore-{stamp}")
        await asyncio.to_thread(backup_sqlite, target, kept)
    await asyncio.to_thread(_restore_into, backup_file, target)
    return RestoreResult(target, revision, kept)


def _check_backup_file(backup_file: Path) -> None:
    """BackupError unless the file is a sound SQLite database with faultdesk's schema."""
    if not backup_file.is_file():
        raise BackupError(f"there is no backup file at {backup_file}")
    try:
        probe = _open_sqlite(backup_file)
        try:
            verdict = str(probe.execute("PRAGMA integrity_check").fetchone()[0])
            ours = _has_table(probe, "alembic_version")
        finally:
            probe.close()
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{backup_file} is not a SQLite database: {error}") from error
    if verdict != "ok":
        raise BackupError(f"{backup_file} fails its integrity check: {verdict}")
    if not ours:
        raise BackupError(f"{backup_file} is not a faultdesk database")


def _restore_into(backup_file: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    src = _open_sqlite(backup_file)
    dst = _open_sqlite(target)
    try:
        src.backup(dst)
        if _has_table(dst, Instance.__tablename__):
            dst.execute(f"DELETE FROM {Instance.__tablename__}")
    finally:
        dst.close()
        src.close()
