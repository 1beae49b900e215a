"""The Telegram edge keeps its place in the layering: nothing below it imports it, it imports no bot module
inside a function, and it holds no SQL (the store does)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

BOT = Path(__file__).resolve().parents[2] / "bot"
EDGE = sorted((BOT / "tg").glob("*.py"))
BELOW_THE_EDGE = [
    *sorted((BOT / "jobs").glob("*.py")), *sorted((BOT / "store").glob("*.py")), *sorted((BOT / "domain").glob("*.py")),
    BOT / "services.py", BOT / "buttons.py", BOT / "render.py",
]
DATABASE_CALLS = {"fetchone", "fetchall", "scalar", "execute", "executemany", "executescript", "transaction"}
SQL = re.compile(r"\bSELECT\b.*\bFROM\b|\bINSERT INTO\b|\bUPDATE \w+ SET\b|\bDELETE FROM\b", re.DOTALL)


def imported(tree: ast.AST) -> list[tuple[str, ast.AST]]:
    """Gives every module an import names, with the import's node."""
    found: list[tuple[str, ast.AST]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [(node.module, node)] + [(f"{node.module}.{alias.name}", node) for alias in node.names]
    return found


def inside_functions(tree: ast.AST) -> set[ast.AST]:
    """Gives the import statements that sit inside a function body."""
    return {
        inner
        for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        for inner in ast.walk(node) if isinstance(inner, (ast.Import, ast.ImportFrom))
    }


def test_nothing_below_the_edge_imports_it() -> None:
    upward = [
        f"{path.relative_to(BOT.parent)}:{node.lineno} imports {name}"
        for path in BELOW_THE_EDGE
        for name, node in imported(ast.parse(path.read_text()))
        if name == "bot.tg" or name.startswith("bot.tg.")
    ]
    assert upward == []


def test_the_edge_imports_no_bot_module_inside_a_function() -> None:
    hidden = []
    for path in EDGE:
        tree = ast.parse(path.read_text())
        nested = inside_functions(tree)
        hidden += [
            f"{path.relative_to(BOT.parent)}:{node.lineno} imports {name}"
            for name, node in imported(tree) if node in nested and (name == "bot" or name.startswith("bot."))
        ]
    assert hidden == []


def test_the_edge_holds_no_sql_and_no_private_row_mapper() -> None:
    found = []
    for path in EDGE:
        for node in ast.walk(ast.parse(path.read_text())):
            where = f"{path.relative_to(BOT.parent)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in DATABASE_CALLS:
                found.append(f"{where} calls .{node.func.attr}()")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value):
                found.append(f"{where} holds SQL")
            elif isinstance(node, ast.Attribute) and node.attr == "_person":
                found.append(f"{where} uses people._person")
    assert found == []
