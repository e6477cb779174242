"""Static checks of our SQL files with pglast (PostgreSQL's own parser), run by the tests
(tests/test_sql_files.py) on every file under db/.

Not run by `migrate`: the server that applies the SQL is the authority (each migration in its own
transaction, all functions in one: a bad file is rolled back and named), pglast parses with a newer grammar
than the server may run, and a check that ran only when an optional package happened to be installed
would make migrate's outcome depend on the machine. Production installs therefore need no pglast (it
is in the `lab` extra); the files the wheel ships are the files this check passed in the tests.
"""

from __future__ import annotations

from pathlib import Path

import pglast
from pglast import ast

LIBPG_QUERY_STUB = "LookupExplicitNamespace only supports pg_catalog and public"


def statements(path: Path) -> list[ast.RawStmt]:
    """Parse a file; raises pglast.parser.ParseError (with its position) on bad SQL."""
    return list(pglast.parse_sql(path.read_text()))


def problems(path: Path, *, is_function_file: bool) -> list[str]:
    """What is wrong with one file: a parse error, or (in db/functions) a non-idempotent CREATE."""
    try:
        stmts = statements(path)
    except pglast.parser.ParseError as exc:
        return [f"{path}: parse error: {exc}"]
    found: list[str] = []
    for raw in stmts:
        stmt = raw.stmt
        if isinstance(stmt, ast.CreateFunctionStmt):
            if is_function_file and not stmt.replace:
                name = ".".join(n.sval for n in stmt.funcname)
                found.append(f"{path}: CREATE FUNCTION {name} without OR REPLACE (migrate re-applies it)")
            if stmt.options and _language(stmt) == "plpgsql":
                found.extend(_plpgsql_problems(path, raw))
        elif is_function_file and isinstance(stmt, ast.ViewStmt) and not stmt.replace:
            found.append(f"{path}: CREATE VIEW without OR REPLACE (migrate re-applies it)")
        elif is_function_file and isinstance(stmt, ast.CreateTrigStmt) and not stmt.replace:
            found.append(f"{path}: CREATE TRIGGER without OR REPLACE (migrate re-applies it)")
    return found


def _language(stmt: ast.CreateFunctionStmt) -> str:
    for opt in stmt.options or ():
        if opt.defname == "language":
            return opt.arg.sval.lower()
    return ""


def _plpgsql_problems(path: Path, raw: ast.RawStmt) -> list[str]:
    sql = path.read_text()
    text = sql[raw.stmt_location: raw.stmt_location + raw.stmt_len] if raw.stmt_len else sql[raw.stmt_location:]
    try:
        pglast.parse_plpgsql(text)
    except pglast.parser.ParseError as exc:
        if LIBPG_QUERY_STUB in str(exc):
            # libpg_query's PL/pgSQL parser cannot resolve a schema-qualified composite type (a table's
            # row type as an argument, result or array variable): a limit of the checker, not of the
            # SQL. The statement itself parsed above; the server compiles the body at its first call.
            return []
        return [f"{path}: plpgsql parse error: {exc}"]
    return []

