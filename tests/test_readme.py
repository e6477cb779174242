"""Every command the README and docs/ show is exercised: their SQL runs against a migrated database,
their `valr-monitor` lines parse against the real CLI, the postgresql.conf lines are the ones migrate
prints, every link and path they name exists, and the README's headline figures are the recorded
bench run's (docs/bench/*.json). The README's deploy section runs as a script in test_deploy.py."""

from __future__ import annotations

import json
import re
import shlex
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import click
import pytest

from worker.cli import main
from worker.db.migrate import PG_CRON_HOWTO, migrate, unschedule_jobs

REPO = Path(__file__).resolve().parents[1]
DOCUMENTS = {path.relative_to(REPO).as_posix(): path.read_text()
             for path in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]}
README = DOCUMENTS["README.md"]
CRON_MARK = "-- in the pg_cron database"


def blocks(language: str, text: str | None = None) -> list[str]:
    """Fenced blocks of one document, or of all of them (README first)."""
    texts = [text] if text is not None else list(DOCUMENTS.values())
    return [m.group(1) for t in texts for m in re.finditer(rf"```{language}\n(.*?)```", t, re.S)]


def documents_with_sql() -> list[str]:
    return [name for name, text in DOCUMENTS.items() if blocks("sql", text)]


def test_readme_stays_a_readme():
    assert len(README.splitlines()) <= 200  # depth goes to docs/
    for page in ("docs/design.md", "docs/operations.md", "docs/performance.md", "docs/reliability.md"):
        assert f"({page})" in README


def test_readme_names_the_two_setup_commands_and_ci_calls_the_test_one():
    bash = "\n".join(blocks("bash"))
    assert "./dev demo" in bash and "./dev test" in bash
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert "./dev test" in ci


def test_the_operations_guide_holds_the_sql_a_reader_runs():
    assert documents_with_sql() == ["docs/operations.md"]
    assert len(blocks("sql", DOCUMENTS["docs/operations.md"])) >= 5


@pytest.mark.parametrize("document", documents_with_sql())
def test_document_sql_runs_against_a_migrated_database(document, postgresql, db_url, embedded_pg):
    for block in blocks("sql", DOCUMENTS[document]):
        if block.startswith(CRON_MARK):
            continue
        postgresql.execute(block)
        postgresql.commit()
    # The effects a reader expects: limit and market orders exist (one limit with a fallback), cancel and
    # poll ran, a threshold changed.
    assert postgresql.execute("SELECT array_agg(DISTINCT order_type ORDER BY order_type) FROM lth_pvr.exchange_orders"
                              ).fetchone()[0] == ["limit", "market"]
    if document == "docs/operations.md":
        assert postgresql.execute("""SELECT fallback_after, fallback_price_move FROM lth_pvr.exchange_orders
                                      WHERE fallback_after IS NOT NULL""").fetchall() == [
            (timedelta(minutes=5), Decimal("0.0025"))]
    assert postgresql.execute(
        "SELECT value FROM lth_pvr.settings WHERE name = 'polls_per_day_max'").fetchone()[0] == 300


def test_docs_cron_check_runs_in_the_cron_database(db_url, postgresql, embedded_pg):
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


def test_readme_postgresql_conf_lines_are_the_ones_migrate_prints():
    (conf,) = blocks("conf")
    settings = dict(line.strip().split(" = ", 1) for line in conf.strip().splitlines())
    assert set(settings) == {"shared_preload_libraries", "cron.database_name", "cron.use_background_workers",
                             "max_worker_processes"}
    howto = PG_CRON_HOWTO.format(dbname=settings["cron.database_name"].strip("'"))
    for name in ("shared_preload_libraries", "cron.database_name", "cron.use_background_workers"):
        assert f"{name} = {settings[name]}" in howto
    # PostgreSQL's default 8 plus pg_cron's launcher and its running jobs (test_deploy applies it).
    assert int(settings["max_worker_processes"]) > 8


def documented_cli_lines() -> list[str]:
    lines = []
    for block in blocks("bash"):
        for line in block.splitlines():
            line = line.split("#")[0].strip()
            if line.startswith("valr-monitor"):
                lines.append(line)
    return lines


@pytest.mark.parametrize("line", documented_cli_lines())
def test_documented_cli_line_parses(line):
    args = [a.replace("$DATABASE_URL", "postgresql://u@h/d") for a in shlex.split(line)[1:]]
    ctx = main.make_context("valr-monitor", list(args), resilient_parsing=True)
    verb = args[0]
    command = main.get_command(ctx, verb)
    assert command is not None, f"README shows unknown verb {verb!r}"
    try:
        command.make_context(verb, args[1:])
    except click.UsageError as exc:
        pytest.fail(f"documented line {line!r} does not parse: {exc}")


# -- links, paths and the recorded figures ----------------------------------------------------------

def test_every_relative_link_and_named_path_exists():
    missing = []
    for name, text in DOCUMENTS.items():
        base = (REPO / name).parent
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):
            if not (base / target).exists():
                missing.append(f"{name}: link {target}")
        for path in re.findall(r"`((?:worker|db|contrib|tests|docs)/[\w./-]*)`", text):
            if not (REPO / path.rstrip("/")).exists():
                missing.append(f"{name}: path {path}")
    assert missing == []


def recorded_run() -> tuple[str, dict]:
    """The bench run the README quotes: the docs/bench/*.json file its headline links to."""
    (link,) = set(re.findall(r"\((docs/bench/[\w-]+\.json)\)", README))
    return link, json.loads((REPO / link).read_text())


def test_readme_headline_figures_are_the_recorded_bench_run():
    link, run = recorded_run()
    e2c, tput, ins, rest, scale = (run[k] for k in ("event_to_commit", "throughput", "insert_to_monitor",
                                                     "rest_calls", "scale"))
    healthy = rest["scenarios"]["healthy"]
    rows = [
        ("fill event → committed, p50 / p99", f"{e2c['p50_ms']:.2f} / {e2c['p99_ms']:.2f} ms",
         f"floor (one-row INSERT + NOTIFY) {e2c['floor_p50_ms']:.2f} / {e2c['floor_p99_ms']:.2f} ms"),
        ("events recorded per second, one worker", f"{tput['events_per_s']:,.0f}",
         f"target {tput['target_events_per_s']:,}"),
        ("INSERT → order watched at VALR, p99", f"{ins['p99_ms']:.1f} ms", f"target {ins['target_p99_ms']:.1f} ms"),
        ("REST calls per order over a day",
         f"{healthy['calls_per_order']:.2f} ({rest['hybrid_status_polls_per_order']:.2f} status lookups)",
         f"{rest['polling_baseline_calls_per_order']:.1f} for 1-minute polling"),
        ("REST calls per idle safety-net tick", f"{rest['idle_tick_calls']}",
         f"{rest['spec_idle_tick_calls']} for the original design"),
        (f"{scale['subaccounts']:,} subaccount sockets on one worker", f"{scale['rss_mb']:.0f} MB", ""),
    ]
    fb = run["fallback"]
    poll = fb["polling"]
    rows += [
        ("limit → market fallback: price frame → cancel sent, p50 / p99",
         f"{fb['price_to_cancel_p50_ms']:.1f} / {fb['price_to_cancel_p99_ms']:.1f} ms",
         f"floor (bare client + one-row INSERT) {fb['floor_price_to_cancel_p50_ms']:.1f} / "
         f"{fb['floor_price_to_cancel_p99_ms']:.1f} ms"),
        ("fallback trigger → market order sent, mean", f"{fb['mean_trigger_to_market_ms']:.1f} ms",
         f"{poll['mean_trigger_to_market_ms']:,.0f} ms for a {poll['poll_s']:g}-second poll"),
        ("REST calls per fallback", f"{fb['calls_per_fallback']:g} ({fb['price_rest_calls']} for prices)",
         f"{poll['calls_per_order']:.2f} per order for a {poll['poll_s']:g}-second poll"),
    ]
    if "deposit_to_notify" in run:  # the account ledger's figures (recorded runs since 2026-12-06)
        dep, ledger_rest = run["deposit_to_notify"], run["ledger_rest"]
        rows += [
            ("deposit → NOTIFY lth_pvr_deposit, p50 / p99", f"{dep['p50_ms']:.2f} / {dep['p99_ms']:.2f} ms",
             f"floor (one-row INSERT + NOTIFY) {dep['floor_p50_ms']:.2f} / {dep['floor_p99_ms']:.2f} ms"),
            ("ledger REST calls an hour, 1,000 idle subaccounts", f"{ledger_rest['across_calls_per_hour']:g}",
             f"{ledger_rest['per_account_calls_per_hour']:,.0f} reading each subaccount"),
        ]
    headline = README[README.index("## Headline figures"):README.index("## Two commands")]
    table = [" ".join(line.split()) for line in headline.splitlines() if line.startswith("| ")][1:]
    assert table == [" ".join(("| " + " | ".join(row) + " |").split()) for row in rows]
    m = run["machine"]
    assert (f"({run['date']}, {m['cpus']} cores, {m['memory_gb']} GB, PostgreSQL "
            f"{run['postgres']['server_version'].split('.')[0]} with fsync and synchronous_commit "
            f"{run['postgres']['fsync']}") in " ".join(headline.split())
    assert run["postgres"]["fsync"] == run["postgres"]["synchronous_commit"] == "on"


def test_performance_page_shows_the_recorded_run_table_row_for_row():
    link, run = recorded_run()
    page = DOCUMENTS["docs/performance.md"]
    assert f"({link.removeprefix('docs/')})" in page
    section = page[page.index(f"## The recorded run: {run['date']}"):page.index("## What limits each figure")]
    table = [line for line in section.splitlines() if line.startswith("| ")][1:]  # without the header
    assert table == ["| " + " | ".join(row) + " |" for row in run["table"]]


def test_alerts_help_points_to_a_section_that_exists():
    """`alerts --help` sends the operator to a page of the source (the wheel has no docs): that page
    and its section exist."""
    help_text = " ".join(main.get_command(main.make_context("valr-monitor", ["alerts"]), "alerts").help.split())
    (section, page) = re.search(r'section "([^"]+)" of (docs/[\w.]+)', help_text).groups()
    assert f"\n## {section}\n" in DOCUMENTS[page]
