"""`pitstop research export|chart`: the trend study's data, of consenting participants only, never any text.

The export is a CSV file with a row per consenting participant and module, under a pseudonym (see
bot.domain.research), without a set or set × module cell of fewer than five people; the chart is a PNG
of the consenting participants' pulse per capacity across modules, averages of five answers or more.
Both write through a file beside the target that is renamed into place at the end: a refusal or a
failure leaves nothing behind.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import html
import io
import os
import tempfile
from pathlib import Path

from bot.cli.common import Failure, SubCommands, add_command, database, settings_for
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.domain.programme import CAPACITIES
from bot.domain.pulse import MOMENTS
from bot.domain.research import (
    HEADER,
    MIN_GROUP,
    ModuleAnswer,
    csv_values,
    pulse_trend,
    secret_problem,
    study_rows,
    suppress,
)
from bot.render import Renderer
from bot.store import audit, programmes, research
from bot.store.db import Database
from bot.store.programmes import StoredProgramme
from bot.story import trend_chart

EXPORT_DETAILS = f"""\
Only participants who gave their research consent in /settings are in it, each under a pseudonym:
HMAC-SHA256 of the programme's key and their id, keyed with PITSTOP_RESEARCH_SECRET (at least 16
characters; keep it with the operator). The same secret gives the same pseudonym in every export of a
programme, and another one in another programme. A row per person and module that has begun: set,
module, dates, pulse answers and participation counts — never any text. A learning set, or set × module
cell, of fewer than {MIN_GROUP} consenting people is left out, and the command says which."""
CHART_DETAILS = f"""\
One line per capacity across the modules' start and end, in the programme's language: the averages of
the consenting participants' answers, each with its number of answers, only where at least {MIN_GROUP} answered."""


def add_research(sub: SubCommands) -> None:
    """Adds `research` and its actions."""
    command = add_command(sub, "research", "write the trend study's export or chart (consenting participants only, never text)")
    rsub = command.add_subparsers(dest="action", required=True, metavar="{export,chart}")
    export = add_command(rsub, "export", "write a CSV file of a programme's consenting participants under pseudonyms",
                         EXPORT_DETAILS)
    _common_arguments(export, "FILE.csv")
    export.set_defaults(func=cmd_research_export)
    chart = add_command(rsub, "chart", "draw a programme's pulse per capacity across modules as a PNG", CHART_DETAILS)
    _common_arguments(chart, "FILE.png")
    chart.set_defaults(func=cmd_research_chart)


def _common_arguments(parser: argparse.ArgumentParser, file: str) -> None:
    parser.add_argument("--programme", required=True, metavar="KEY", help="the programme's key")
    parser.add_argument("--out", required=True, type=Path, metavar=file, help="where to write it; its folder must exist")
    parser.add_argument("--force", action="store_true", help=f"replace {file} when it exists already")


# --------------------------------------------------------------------------- export


def cmd_research_export(args: argparse.Namespace, clock: Clock | None = None) -> int:
    """Writes the research export of a programme, or says why it writes nothing."""
    settings = settings_for(require_token=False)
    problem = secret_problem(settings.research_secret)
    if problem is not None:
        raise Failure(problem)
    secret = settings.research_secret or ""
    database_exists(settings)
    out = checked_target(args.out, args.force)
    now = (clock or SystemClock()).now()

    async def go() -> int:
        async with database(settings) as db:
            stored = await known_programme(db, args.programme)
            programme = stored.programme
            rows = study_rows(programme, await research.study_data(db, stored.id), now.astimezone(programme.zone).date())
            result = suppress(rows)
            for line in left_out_lines(result.sets_left_out, result.cells_left_out):
                print(line)
            if not result.kept:
                why = "no participant has given research consent" if not rows else f"no group has {MIN_GROUP} or more consenting people"
                print(f"Nothing was written: {why}.")
                return 1
            text = io.StringIO()
            writer = csv.writer(text, lineterminator="\n")
            writer.writerow(HEADER)
            writer.writerows(csv_values(row, secret, programme.key) for row in result.kept)
            write_atomically(out, text.getvalue().encode("utf-8"))
            await audit.record(db, now, "cli", "research.export", stored.id,
                               f"rows={len(result.kept)} people={result.people} sets_left_out={len(result.sets_left_out)}"
                               f" cells_left_out={len(result.cells_left_out)}")
            modules = len({r.module_key for r in result.kept})
            print(f"{out}: {len(result.kept)} rows, {result.people} consenting participants, {modules} module"
                  f"{'s' if modules != 1 else ''} of {programme.key}; no text.")
            return 0

    return asyncio.run(go())


def left_out_lines(sets: tuple[tuple[str, int], ...], cells: tuple[tuple[str, str, int], ...]) -> list[str]:
    """Gives one sentence per group small-cell suppression left out."""
    lines = [f"Left out: {_set_name(key)}, {people} consenting {'person' if people == 1 else 'people'}"
             f" (fewer than {MIN_GROUP})." for key, people in sets]
    lines += [f"Left out: {_set_name(key)} in module {module}, {people} consenting {'person' if people == 1 else 'people'}"
              f" (fewer than {MIN_GROUP})." for key, module, people in cells]
    return lines


def _set_name(key: str) -> str:
    return f"learning set {key}" if key else "the participants without a learning set"


# --------------------------------------------------------------------------- chart


def cmd_research_chart(args: argparse.Namespace) -> int:
    """Draws the consenting participants' pulse per capacity across a programme's modules."""
    settings = settings_for(require_token=False)
    database_exists(settings)
    out = checked_target(args.out, args.force)
    now = SystemClock().now()

    async def go() -> int:
        async with database(settings) as db:
            stored = await known_programme(db, args.programme)
            answers = await research.pulse_answers(db, stored.id, consenting=True)
            png = chart_png(Renderer(), stored, answers)
            if png is None:
                print(f"Nothing was written: no module's pulse has {MIN_GROUP} or more answers from consenting participants.")
                return 1
            write_atomically(out, png)
            await audit.record(db, now, "cli", "research.chart", stored.id, f"answers={len(answers)}")
        print(f"{out}: the pulse of {stored.programme.key} per capacity across modules (consenting participants only).")
        return 0

    return asyncio.run(go())


def chart_png(render: Renderer, stored: StoredProgramme, answers: list[ModuleAnswer]) -> bytes | None:
    """Gives the chart in the programme's language, or None when no average may be shown."""
    programme = stored.programme
    language = programme.language
    cells = pulse_trend(answers, [m.key for m in programme.modules], by_set=False)
    moments = [(m, t) for m in programme.modules for t in MOMENTS
               if any(c.shown and c.module_key == m.key and c.moment == t for c in cells)]
    if not moments:
        return None
    found = {(c.module_key, c.moment, c.capacity): c for c in cells}
    series = {}
    for capacity in CAPACITIES:
        points: list[tuple[float, int] | None] = []
        for module, moment in moments:
            cell = found.get((module.key, moment, capacity))
            points.append((cell.average, cell.answers) if cell is not None and cell.average is not None else None)
        series[html.unescape(render.button(language, "capacity_name", capacity=capacity))] = points
    labels = [html.unescape(render.button(language, "pulse_moment", module=module.title, moment=moment))
              for module, moment in moments]
    title = html.unescape(render.button(language, "research_chart_title", title=programme.title))
    axis = html.unescape(render.button(language, "research_chart_axis"))
    return trend_chart(title, labels, series, axis)


# --------------------------------------------------------------------------- what both need


async def known_programme(db: Database, key: str) -> StoredProgramme:
    """Gives a loaded programme, or fails with a sentence naming the ones there are."""
    stored = await programmes.get_programme(db, key)
    if stored is None:
        keys = ", ".join(p.programme.key for p in await programmes.list_programmes(db)) or "none loaded"
        raise Failure(f"There is no programme {key!r} (programmes: {keys}); nothing was written.")
    return stored


def checked_target(path: Path, force: bool) -> Path:
    """Gives the file to write, or fails with a sentence when its folder is missing or it exists without --force."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise Failure(f"The folder {folder} does not exist; create it first. Nothing was written.")
    if path.is_dir():
        raise Failure(f"{path} is a folder; give a file name. Nothing was written.")
    if path.exists() and not force:
        raise Failure(f"{path} exists already; choose another name or add --force to replace it. Nothing was written.")
    return path


def write_atomically(path: Path, content: bytes) -> None:
    """Writes a file through a temporary one beside it, renamed into place: never half a file. The file is
    readable by its owner only (mkstemp's 0600): pseudonymous, but about people."""
    handle, temporary = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def database_exists(settings: Settings) -> None:
    """Fails with a sentence when the database is missing (opening it would create an empty one)."""
    if settings.db_url is None and not settings.db_path.is_file():
        raise Failure(f"The database {settings.db_path} does not exist; check PITSTOP_DB. Nothing was written.")
