"""Issue #13: the house keeps its shape. No module in ``src/`` is over 450 lines (generated
migrations excepted): a module that grows past it is split by concept, not squeezed. Every module
says in its docstring what it owns."""

from __future__ import annotations

import ast
from pathlib import Path

import nuage

MAX_LINES = 450
PACKAGE = Path(nuage.__file__).resolve().parent
GENERATED = Path("storage", "sql", "migrations", "versions")  # Alembic's revisions, inside the package


def oversized(package: Path) -> list[str]:
    """The modules of ``package`` over ``MAX_LINES`` lines (its generated migrations excepted)."""
    return [
        f"{path.relative_to(package.parent)} ({lines} lines)"
        for path in sorted(package.rglob("*.py"))
        if not path.is_relative_to(package / GENERATED)
        and (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    ]


def silent(package: Path) -> list[str]:
    """The modules of ``package`` with no docstring saying what they own."""
    return [
        str(path.relative_to(package.parent))
        for path in sorted(package.rglob("*.py"))
        if not ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    ]


def test_no_module_in_src_is_over_450_lines() -> None:
    assert len(list(PACKAGE.rglob("*.py"))) > 400  # the whole package is walked
    too_long = oversized(PACKAGE)
    assert too_long == [], f"over {MAX_LINES} lines, split them by concept: {', '.join(too_long)}"


def test_every_module_in_src_says_what_it_owns() -> None:
    missing = silent(PACKAGE)
    assert missing == [], f"modules with no docstring saying what they own: {', '.join(missing)}"


def test_the_checks_name_each_offending_module_and_spare_generated_migrations(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / GENERATED).mkdir(parents=True)
    (package / "__init__.py").write_text('"""The package."""\n')
    (package / "small.py").write_text('"""Small."""\n' + "x = 1\n" * (MAX_LINES - 1))
    (package / "big.py").write_text('"""Big."""\n' + "x = 1\n" * MAX_LINES)
    (package / GENERATED / "0001_big.py").write_text('"""A revision."""\n' + "x = 1\n" * 900)
    (package / "quiet.py").write_text("x = 1\n")
    assert oversized(package) == [f"{Path('pkg', 'big.py')} ({MAX_LINES + 1} lines)"]
    assert silent(package) == [str(Path("pkg", "quiet.py"))]
