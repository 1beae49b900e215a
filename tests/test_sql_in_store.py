"""SQL lives in bot/store/ only, and no module reaches into another module's private names.

Read with `ast`, never imported: outside bot/store/ no string holds SQL and nothing calls a
connection's `execute`, `fetchone`, ... (a job may still hold a `transaction()` open around store
calls that take its connection); anywhere under bot/, a name with a leading underscore is used only
in the module that defines it (`people._person` from the journal, say, is a private row mapper
leaking out: the store gives `people.person_of` for joins).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

BOT = Path(__file__).resolve().parents[1] / "bot"
STORE = BOT / "store"
FILES = sorted(BOT.rglob("*.py"))
DATABASE_CALLS = {"fetchone", "fetchall", "scalar", "execute", "executemany", "executescript"}
SQL = re.compile(r"\bSELECT\b.*\bFROM\b|\bINSERT INTO\b|\bUPDATE \w+ SET\b|\bDELETE FROM\b", re.DOTALL)


def where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(BOT.parent)}:{getattr(node, 'lineno', 0)}"


def test_no_sql_outside_the_store() -> None:
    found = []
    for path in FILES:
        if STORE in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in DATABASE_CALLS:
                found.append(f"{where(path, node)} calls .{node.func.attr}()")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value):
                found.append(f"{where(path, node)} holds SQL")
    assert found == []


def test_no_module_uses_another_bot_modules_private_names() -> None:
    found = []
    for path in FILES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules = set()  # local names bound to bot modules: `from bot.store import people`, `import bot.x as y`
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bot"):
                for alias in node.names:
                    if alias.name.startswith("_"):
                        found.append(f"{where(path, node)} imports {node.module}.{alias.name}")
                    modules.add(alias.asname or alias.name)
            elif isinstance(node, ast.Import):
                modules |= {a.asname or a.name for a in node.names if a.name.startswith("bot")}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                    and isinstance(node.value, ast.Name) and node.value.id in modules):
                found.append(f"{where(path, node)} uses {node.value.id}.{node.attr}")
    assert found == []
