"""`valr-monitor demo`: the embedded default. For now: start a throwaway PostgreSQL with pg_cron,
migrate it, and print its state. (The full demo with the simulator and worker replaces this.)"""

from __future__ import annotations

import click


@click.command()
def demo() -> None:
    """Start the embedded PostgreSQL (pg_cron preloaded), migrate it, print its state, clean up."""
    from worker.db.embedded import EmbeddedPostgres
    from worker.db.migrate import migrate

    with EmbeddedPostgres() as pg:
        click.echo(f"embedded PostgreSQL at {pg.url()} (data in {pg.base_dir})")
        report = migrate(pg.url(), progress=lambda m: click.echo(f"  {m}"))
        with pg.connect() as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
            tables = conn.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'lth_pvr'"
            ).fetchone()[0]
            jobs = conn.execute(
                "SELECT jobname, schedule, command FROM cron.job ORDER BY jobname"
            ).fetchall()
        click.echo(f"PostgreSQL {version}; schema lth_pvr: {tables} tables and views; "
                   f"{len(report.applied)} migrations applied")
        for name, schedule, command in jobs:
            click.echo(f"  cron job {name}: {schedule}  {command}")
    click.echo("embedded PostgreSQL stopped and removed")
