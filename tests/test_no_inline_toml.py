"""Tests build their programme files with tests/factories.py: no other test file types a programme out.

Read with `ast`, never imported: a string in a test file that holds a table of a programme file (a line
that opens `[programme]`, `[[modules]]`, `[[modules.events]]`, `[[sets]]` or `[[sets.meetings]]`) is
inline programme TOML. The one exception is a test that feeds the parser a file broken on purpose:
`BROKEN_ON_PURPOSE` names those tests one by one, and each such string must indeed be refused. Changing a
line of a factory-built file (`GOOD.replace(...)`) needs no table, so it is no exception.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from bot.domain.programme import ProgrammeError, parse_programme

TESTS = Path(__file__).resolve().parent
FACTORY = TESTS / "factories.py"
SELF = Path(__file__).resolve()  # its last test holds a sample of what the check finds
# A line that opens a programme file's table, also one left unclosed on purpose ("[programme\nkey=").
TABLE = re.compile(r"^[ \t]*\[\[?[ \t]*(programme|modules|sets)\b", re.MULTILINE)

# (test file, test function) -> why it may hold programme TOML: each feeds the parser a broken file.
BROKEN_ON_PURPOSE = {
    ("domain/test_programme.py", "test_every_problem_is_listed_with_its_place"): "six problems at once",
    ("domain/test_programme.py", "test_broken_files_get_a_sentence"): "not TOML, wrong types",
}


def inline_programmes(path: Path) -> Iterator[tuple[str | None, int, str | bytes]]:
    """Gives (enclosing top-level function or None, line, value) for each string that holds programme TOML."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for top in tree.body:
        function = top.name if isinstance(top, ast.FunctionDef | ast.AsyncFunctionDef) else None
        for node in ast.walk(top):  # a function's decorators (its parametrize list) are its own
            if not isinstance(node, ast.Constant) or not isinstance(node.value, str | bytes):
                continue
            text = node.value.decode("latin-1") if isinstance(node.value, bytes) else node.value
            if TABLE.search(text):
                yield function, node.lineno, node.value


def found_in_tests() -> list[tuple[str, str | None, int, str | bytes]]:
    return [
        (path.relative_to(TESTS).as_posix(), function, line, value)
        for path in sorted(TESTS.rglob("*.py"))
        if path not in (FACTORY, SELF)
        for function, line, value in inline_programmes(path)
    ]


def test_no_test_file_but_the_factory_types_a_programme_out() -> None:
    typed = [f"tests/{name}:{line}" for name, function, line, _ in found_in_tests()
             if (name, function) not in BROKEN_ON_PURPOSE]
    assert typed == [], "build these programmes with tests/factories.py"


def test_a_programme_typed_out_on_purpose_is_broken_and_each_exception_is_still_needed() -> None:
    allowed = [(name, function, line, value) for name, function, line, value in found_in_tests()
               if (name, function) in BROKEN_ON_PURPOSE]
    accepted = []
    for name, _, line, value in allowed:
        try:
            parse_programme(value)
        except ProgrammeError:
            continue
        accepted.append(f"tests/{name}:{line}")
    assert accepted == [], "a file typed out on purpose must be one the parser refuses; else use the factory"
    assert {(name, function) for name, function, _, _ in allowed} == set(BROKEN_ON_PURPOSE)


def test_the_check_sees_a_programme_typed_out(tmp_path: Path) -> None:
    sample = tmp_path / "test_sample.py"
    sample.write_text(
        'GOOD = """\n[programme]\nkey = "k"\n"""\n\n\n'
        "def test_x():\n    assert f'\\n[[sets]]\\nkey = \"s{1}\"'\n\n\n"
        "BITS = 'starts = 2027-05-15\\nends = 2027-05-19'\n",
        encoding="utf-8",
    )
    assert [(function, line) for function, line, _ in inline_programmes(sample)] == [(None, 1), ("test_x", 8)]
