"""Every SQL file under db/ parses with pglast; db/functions only uses CREATE OR REPLACE."""

from __future__ import annotations

from pathlib import Path

import pytest

from worker.lab import sqlcheck
from worker.db.migrate import db_dir

ROOT = db_dir()
FILES = sorted(ROOT.rglob("*.sql"))


def test_there_are_sql_files():
    assert any(p.parent.name == "migrations" for p in FILES)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_file_parses_and_is_idempotent_where_required(path: Path):
    is_function_file = (ROOT / "functions") in path.parents
    assert sqlcheck.problems(path, is_function_file=is_function_file) == []


def test_checker_catches_a_parse_error(tmp_path):
    bad = tmp_path / "bad.sql"
    bad.write_text("SELEC 1;")
    assert "parse error" in sqlcheck.problems(bad, is_function_file=False)[0]


def test_checker_catches_create_function_without_or_replace(tmp_path):
    bad = tmp_path / "f.sql"
    bad.write_text("CREATE FUNCTION lth_pvr.f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;")
    assert "without OR REPLACE" in sqlcheck.problems(bad, is_function_file=True)[0]
    assert sqlcheck.problems(bad, is_function_file=False) == []


def test_checker_catches_a_plpgsql_body_error(tmp_path):
    bad = tmp_path / "g.sql"
    bad.write_text(
        "CREATE OR REPLACE FUNCTION lth_pvr.g() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1 END $$;"
    )
    assert "plpgsql parse error" in sqlcheck.problems(bad, is_function_file=True)[0]
