"""Every SQL call in worker/ passes its values as parameters: a small AST rule rejects SQL text built
with f-strings, `%`, `+` or str.format inside (or just before) an execute call. Identifiers that must
be spliced in go through psycopg.sql (sql.SQL(...).format(sql.Identifier(...))), which quotes them.
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WORKER = ROOT / "worker"
# Methods that send SQL text: psycopg's, and the project's thin wrappers around them.
SQL_CALLS = {"execute", "executemany", "copy", "_rows", "_one", "rows", "sql"}
# Allowed offenders per file: none. Identifiers (LISTEN channels, column lists) go through
# psycopg.sql.Identifier, values through parameters. Any string-built SQL text fails.
KNOWN_OFFENDERS: dict[str, int] = {}


def _is_psycopg_sql(node: ast.AST) -> bool:
    """sql.SQL("...") / psycopg.sql.SQL(...) / sql.Composed: quoting is psycopg's job, allowed."""
    if isinstance(node, ast.Call):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in ("SQL", "Composed", "Identifier", "Literal"):
            return True
        if name == "format" and isinstance(func, ast.Attribute):
            return _is_psycopg_sql(func.value)
        if name == "join" and isinstance(func, ast.Attribute):
            return _is_psycopg_sql(func.value)
    return False


def _built_string(node: ast.AST) -> str | None:
    """Why this expression is SQL text built from pieces, or None."""
    if isinstance(node, ast.JoinedStr) and any(isinstance(v, ast.FormattedValue) for v in node.values):
        return "f-string"
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mod, ast.Add)):
        if _is_psycopg_sql(node.left) or _is_psycopg_sql(node.right):
            return None
        return "% formatting" if isinstance(node.op, ast.Mod) else "string concatenation"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        if not _is_psycopg_sql(node.func.value):
            return "str.format"
    return None


def offenders_in(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str]] = []
    for scope in [tree, *(n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))]:
        built: dict[str, str] = {}   # variable name -> how its text was built, within this scope
        for node in ast.walk(scope):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                why = _built_string(node.value)
                if why:
                    built[node.targets[0].id] = why
        for node in ast.walk(scope):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in SQL_CALLS and node.args):
                continue
            first = node.args[0]
            why = _built_string(first) or (built.get(first.id) if isinstance(first, ast.Name) else None)
            if why:
                found.append((node.lineno, why))
    return sorted(set(found))


def all_offenders() -> dict[tuple[str, str], str]:
    out = {}
    for path in sorted(WORKER.rglob("*.py")):
        lines = path.read_text().splitlines()
        for lineno, why in offenders_in(path):
            out[(str(path.relative_to(ROOT)), lines[lineno - 1].strip())] = f"line {lineno}: {why}"
    return out


def test_no_string_built_sql_in_worker():
    found = all_offenders()
    per_file = Counter(path for path, _ in found)
    over = {path for path, n in per_file.items() if n > KNOWN_OFFENDERS.get(path, 0)}
    assert not over, "SQL built from strings (use parameters, or psycopg.sql for identifiers):\n" + "\n".join(
        f"  {path} {where}: {text}" for (path, text), where in found.items() if path in over)


@pytest.mark.parametrize("source, flagged", [
    ('conn.execute(f"SELECT * FROM t WHERE id = {x}")', True),
    ('conn.execute("SELECT * FROM t WHERE id = %s" % x)', True),
    ('conn.execute("SELECT * FROM t WHERE id = " + x)', True),
    ('conn.execute("SELECT * FROM t WHERE id = {}".format(x))', True),
    ('q = f"DELETE FROM {t}"\nconn.execute(q)', True),
    ('await self._rows(f"SELECT lth_pvr.{name}()", ())', True),
    ('conn.execute("SELECT * FROM t WHERE id = %s", (x,))', False),
    ('conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))', False),
    ('conn.execute(QUERY, params)', False),
    ('conn.execute("SELECT 1" "-- two literals")', False),
])
def test_the_rule_catches_string_built_sql_and_allows_parameters(tmp_path, source, flagged):
    path = tmp_path / "sample.py"
    path.write_text(f"async def f(conn, self, x, t, q, name, role, sql, QUERY, params):\n"
                    + "\n".join(f"    {line}" for line in source.splitlines()) + "\n")
    assert bool(offenders_in(path)) is flagged
