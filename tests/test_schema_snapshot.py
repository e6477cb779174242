"""The schema the migrations build equals the one described in db/schema.sql (regenerate it with
`python -m worker.lab.schema_snapshot --write` after adding a migration)."""

from __future__ import annotations

import difflib

from worker.lab.schema_snapshot import describe, snapshot_path


def diff(expected: str, actual: str) -> str:
    return "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True),
                                        "db/schema.sql", "migrated database"))


def test_the_migrations_build_the_schema_in_db_schema_sql(postgresql):
    expected = snapshot_path().read_text()
    actual = describe(postgresql)
    assert actual == expected, (
        "db/migrations and db/schema.sql disagree; run `python -m worker.lab.schema_snapshot --write`\n"
        + diff(expected, actual))


def test_a_change_no_migration_made_is_seen(postgresql):
    postgresql.execute("ALTER TABLE lth_pvr.exchange_orders ADD COLUMN stray int")
    postgresql.execute("CREATE INDEX stray_idx ON lth_pvr.order_fills (fee)")
    changed = diff(snapshot_path().read_text(), describe(postgresql))
    assert "+    stray integer" in changed
    assert "+CREATE INDEX stray_idx ON lth_pvr.order_fills USING btree (fee);" in changed


def test_db_functions_readme_names_every_function_file():
    # db/functions/README.md is the table of contents of db/functions/: every file is in it.
    root = snapshot_path().parent / "functions"
    readme = (root / "README.md").read_text()
    unlisted = [str(p.relative_to(root)) for p in sorted(root.rglob("*.sql")) if f"`{p.stem}" not in readme]
    assert unlisted == []
