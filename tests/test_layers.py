"""Imports point one way: every module under bot/ imports only from its own layer or the layers below it.

The layers, from the top (the one that may import everything) to the bottom (the one that imports
nothing of bot/):

    cli → sandbox → runtime → tg → jobs → (services, buttons, render) → store → domain

`LAYERS` below is the one table that places every module: a module belongs to the layer of the
longest entry it starts with. The bottom layer holds, besides bot/domain/, the four small modules
that import nothing of bot/ and are used from every layer: `config` (the settings), `clock` (the one
`Clock`), `logs` (redaction of what must never be logged) and `loop` (the event loop the bot runs on). `chart` draws the /stats picture and sits
beside `render`, as does `story` (the pulse chart and the story's PDF). `webapp` (the console, a Telegram
Mini App served over HTTP) is an edge like `tg` and shares its layer: it may use the jobs and the store, and
`runtime` starts it beside the Application. `sandbox` holds the fake Bot API and
the demo: not the product, above it all but the CLI.

Read with `ast`, never imported, three rules hold for every `import` of a bot/ module:
(a) it does not climb to a layer above its own;
(b) it stands at the top of its module, not inside a function (an import kept inside a function to
    dodge a cycle means the code is in the wrong room);
(c) it is part of no import cycle between modules.
An import under `if TYPE_CHECKING:` counts like any other: a type that climbs is still a dependency.

Every rule held once the last known violations were removed (issue 12): none is allowed back.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parents[1] / "bot"

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("cli", ("bot.cli", "bot.__main__")),
    ("sandbox", ("bot.sandbox",)),
    ("runtime", ("bot.runtime",)),
    ("tg", ("bot.tg", "bot.webapp")),
    ("jobs", ("bot.jobs",)),
    ("services, buttons, render", ("bot.services", "bot.buttons", "bot.render", "bot.chart", "bot.story")),
    ("store", ("bot.store",)),
    ("domain", ("bot.domain", "bot.config", "bot.clock", "bot.logs", "bot.loop")),
)

@dataclass(frozen=True)
class Import:
    """One import of a bot/ module: who imports what, on which line, and whether inside a function."""

    importer: str
    imported: str
    line: int
    in_function: bool

    def __str__(self) -> str:
        return f"{self.importer} (line {self.line}) imports {self.imported}"


def module_name(path: Path) -> str:
    """Gives the dotted name of a file under bot/ (a package's __init__ is the package)."""
    parts = path.relative_to(BOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES: dict[str, Path] = {module_name(p): p for p in sorted(BOT.rglob("*.py"))}


def resolved(name: str) -> str | None:
    """Gives the module of bot/ a dotted name lies in (`bot.store.db.open_database` → `bot.store.db`)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name if name and name != "bot" else None


def imports_of(module: str) -> Iterator[Import]:
    """Gives every import of a bot/ module that `module` makes, read from its source."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]

    def visit(node: ast.AST, in_function: bool) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            targets: list[str] = []
            if isinstance(child, ast.Import):
                targets = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - (child.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [f"{base}.{alias.name}" for alias in child.names]
            for target in targets:
                found = resolved(target) if target == "bot" or target.startswith("bot.") else None
                if found is not None and found != module:
                    yield Import(module, found, child.lineno, inside)
            yield from visit(child, inside)

    yield from visit(ast.parse(path.read_text(encoding="utf-8"), str(path)), False)


ALL: list[Import] = list(dict.fromkeys(i for m in MODULES if m != "bot" for i in imports_of(m)))


def layer_of(module: str) -> int | None:
    """Gives the position of a module's layer in LAYERS (0 is the top), by the longest entry it starts with."""
    best: tuple[int, int] | None = None
    for position, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), position)
    return None if best is None else best[1]


def climbing() -> list[Import]:
    return [i for i in ALL if (layer_of(i.imported) or 0) < (layer_of(i.importer) or 0)]


def inside_functions() -> list[Import]:
    return [i for i in ALL if i.in_function]


def in_cycles() -> list[Import]:
    """Gives every import whose imported module imports, directly or not, its importer back."""
    graph: dict[str, set[str]] = {}
    for i in ALL:
        graph.setdefault(i.importer, set()).add(i.imported)

    def reaches(start: str, goal: str) -> bool:
        seen, todo = {start}, [start]
        while todo:
            for nxt in graph.get(todo.pop(), ()):
                if nxt == goal:
                    return True
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return False

    return [i for i in ALL if reaches(i.imported, i.importer)]


RULES = {"climbs": climbing, "inside a function": inside_functions, "in a cycle": in_cycles}


def test_every_module_under_bot_has_a_layer() -> None:
    unplaced = sorted(m for m in MODULES if m != "bot" and layer_of(m) is None)
    assert not unplaced, f"place these modules in LAYERS (tests/test_layers.py): {unplaced}"


def test_the_imports_are_read() -> None:
    """A reader that found nothing would pass every rule: it sees the CLI's own imports."""
    seen = {(i.importer, i.imported) for i in ALL}
    assert ("bot.cli.operate", "bot.runtime") in seen and ("bot.store.imports", "bot.domain.enrolment") in seen


@pytest.mark.parametrize("rule", list(RULES))
def test_no_import_breaks_the_layering(rule: str) -> None:
    found = [str(i) for i in RULES[rule]()]
    assert not found, f"imports that break the rule {rule!r}:\n  " + "\n  ".join(found)
