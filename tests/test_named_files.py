"""Every file a comment, docstring or page names exists: a comment pointing a reader at a file that was
renamed or never committed is worse than none. A cheap scan of db/, worker/ and docs/ (the README's
links are test_readme's): Python comments and strings, SQL `--` comments, Markdown text."""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCANNED = ("db", "worker", "docs")
# A file name: optional directories, a stem, one of the extensions this tree's files have.
NAME = re.compile(r"(?<![\w/.$@-])((?:[\w-]+/)*[\w][\w-]*\.(?:py|sql|md|json|service|toml|txt|sh))(?![\w/]|\.\w)")
# Files of the machine, not of this repository.
EXTERNAL = {"postgresql.conf", "pg_hba.conf", "postgresql.service"}


def prose(path: Path) -> str:
    """The part of a file written for a reader: comments and strings of Python, comments of SQL."""
    text = path.read_text()
    if path.suffix == ".md":
        return text
    if path.suffix == ".sql":
        return "\n".join(re.findall(r"--(.*)$", text, re.M))
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    return "\n".join(t.string for t in tokens if t.type in (tokenize.COMMENT, tokenize.STRING))


def exists(name: str, where: Path, root: Path, basenames: set[str]) -> bool:
    if "/" not in name:
        return name in basenames
    # From the repository, the naming file's folder, db/ (worker/sql/ in the wheel) or db/functions/.
    bases = [root, where, root / "db", root / "db" / "functions"]
    return any((base / name).exists() for base in bases) or \
        (root / "db" / name.removeprefix("worker/sql/")).exists()


def named_files_missing(root: Path = REPO) -> list[str]:
    files = [p for folder in SCANNED for p in sorted((root / folder).rglob("*"))
             if p.suffix in (".py", ".sql", ".md") and "__pycache__" not in p.parts]
    basenames = {p.name for top in root.iterdir() if top.name not in (".git", ".venv")
                 for p in ([top] if top.is_file() else top.rglob("*"))}
    missing = []
    for path in files:
        for name in sorted(set(NAME.findall(prose(path)))):
            external = name in EXTERNAL or name.endswith("-main.service")  # postgresql@15-main.service
            if not external and not exists(name, path.parent, root, basenames):
                missing.append(f"{path.relative_to(root)}: {name}")
    return missing


def test_every_file_a_comment_names_exists():
    assert named_files_missing() == []


def test_the_scan_sees_a_comment_naming_a_missing_file(tmp_path):
    (tmp_path / "worker").mkdir()
    (tmp_path / "worker" / "here.py").write_text('"""See worker/here.py and gone.py."""\nx = 1  # and db/nowhere.sql\n')
    assert named_files_missing(tmp_path) == ["worker/here.py: db/nowhere.sql", "worker/here.py: gone.py"]


def test_pages_cite_nothing_a_reader_cannot_open():
    """Issue numbers and the original specification's file live outside the repository: a page says
    what they meant instead (the spec's SQL is tests/spec_queries.py)."""
    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), *sorted((REPO / "worker").rglob("README.md")),
             REPO / "db" / "functions" / "README.md"]
    cited = [f"{page.relative_to(REPO)}: {m.group(0)}" for page in pages
             for m in re.finditer(r"\b[Ii]ssues? \d+|\b000_[0-9a-f]{16}\b", page.read_text())]
    assert cited == []
