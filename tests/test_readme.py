"""Every command the README shows is exercised: its SQL runs against a migrated database, its
`valr-monitor` lines parse against the real CLI, its postgresql.conf lines are the ones we use."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest

from worker.cli import main
from worker.lab.embedded import EmbeddedPostgres
from worker.db.migrate import PG_CRON_HOWTO, migrate, unschedule_jobs

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
CRON_MARK = "-- in the pg_cron database"


def blocks(language: str) -> list[str]:
    return [m.group(1) for m in re.finditer(rf"```{language}\n(.*?)```", README, re.S)]


def test_readme_names_the_two_setup_commands_and_ci_calls_the_test_one():
    bash = "\n".join(blocks("bash"))
    assert "./dev demo" in bash and "./dev test" in bash
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert "./dev test" in ci


def test_readme_sql_runs_against_a_migrated_database(postgresql, db_url, embedded_pg):
    sql_blocks = blocks("sql")
    assert len(sql_blocks) >= 5
    try:
        for block in sql_blocks:
            if block.startswith(CRON_MARK):
                continue
            postgresql.execute(block)
            postgresql.commit()
        # The effects a reader expects: an order exists, cancel and poll ran, a threshold changed.
        assert postgresql.execute("SELECT count(*) FROM lth_pvr.exchange_orders").fetchone()[0] == 1
        assert postgresql.execute(
            "SELECT value FROM lth_pvr.settings WHERE name = 'polls_per_day_max'").fetchone()[0] == 300
    finally:
        with embedded_pg.connect(autocommit=True) as conn:
            conn.execute("DROP ROLE IF EXISTS valr_monitor_worker")
            conn.execute("DROP ROLE IF EXISTS valr_monitor_reader")


def test_readme_cron_check_runs_in_the_cron_database(db_url, postgresql, embedded_pg):
    cron_blocks = [b for b in blocks("sql") if b.startswith(CRON_MARK)]
    assert cron_blocks
    migrate(db_url)
    try:
        with embedded_pg.connect(autocommit=True) as conn:
            for block in cron_blocks:
                rows = conn.execute(block).fetchall()
                assert any(r[2] == "*/10 * * * *" and postgresql.info.dbname in r[1] for r in rows)
    finally:
        unschedule_jobs(db_url)


def test_readme_postgresql_conf_lines_are_the_ones_migrate_prints_and_the_embedded_cluster_uses():
    (conf,) = blocks("conf")
    lines = [line.strip() for line in conf.strip().splitlines()]
    howto = PG_CRON_HOWTO.format(dbname="valr_monitor")
    for line in lines:
        assert line in howto
    settings = {line.split(" = ")[0] for line in lines}
    pg = EmbeddedPostgres(dbname="valr_monitor")
    assert {"shared_preload_libraries", "cron.database_name", "cron.use_background_workers"} == settings
    assert pg.dbname == "valr_monitor"


def readme_cli_lines() -> list[str]:
    lines = []
    for block in blocks("bash"):
        for line in block.splitlines():
            line = line.split("#")[0].strip()
            if line.startswith("valr-monitor"):
                lines.append(line)
    return lines


@pytest.mark.parametrize("line", readme_cli_lines())
def test_readme_cli_line_parses(line):
    args = [a.replace("$DATABASE_URL", "postgresql://u@h/d") for a in shlex.split(line)[1:]]
    ctx = main.make_context("valr-monitor", list(args), resilient_parsing=True)
    verb = args[0]
    command = main.get_command(ctx, verb)
    assert command is not None, f"README shows unknown verb {verb!r}"
    try:
        command.make_context(verb, args[1:])
    except click.UsageError as exc:
        pytest.fail(f"README line {line!r} does not parse: {exc}")
