"""`pitstop programme check|load|list`: programme files, checked before anything is stored."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from bot.cli.common import Failure, SubCommands, add_command, database, settings_for
from bot.clock import Clock, SystemClock
from bot.domain.programme import ProgrammeError, parse_programme, summarise
from bot.jobs.calendar import store_programme
from bot.store import console, programmes


def add_programme(sub: SubCommands) -> None:
    """Adds `programme` and its actions."""
    programme = add_command(sub, "programme", "check, load, list or export programme files")
    psub = programme.add_subparsers(dest="action", required=True, metavar="{check,load,list,export}")
    check = add_command(psub, "check", "check a programme file and summarise it",
                        "Lists every problem with the key it concerns; stores nothing.")
    check.add_argument("file", type=Path, metavar="FILE.toml", help="the programme file")
    check.set_defaults(func=cmd_programme_check)
    load = add_command(psub, "load", "store a programme file, or update it when its key exists",
                       "The file is checked first; when it has a problem, nothing is stored.")
    load.add_argument("file", type=Path, metavar="FILE.toml", help="the programme file")
    load.set_defaults(func=cmd_programme_load)
    plist = add_command(psub, "list", "list loaded programmes")
    plist.set_defaults(func=cmd_programme_list)
    export = add_command(
        psub, "export", "write a loaded programme back as a programme file",
        "With the changes made in the console's calendar; `programme check` accepts the file and `programme load`"
        " takes it back. A file loaded and never changed since comes back as it was, comments and all.",
    )
    export.add_argument("key", metavar="KEY", help="the programme's key (see `programme list`)")
    export.add_argument("--output", "-o", type=Path, metavar="FILE.toml", help="write to this new file (default: print it)")
    export.set_defaults(func=cmd_programme_export)


def read_programme_file(path: Path) -> tuple[str, bytes]:
    """Gives a programme file's bytes, or fails with a sentence when it cannot be read."""
    try:
        if path.stat().st_size > 1_000_000:
            raise Failure(f"{path} is {path.stat().st_size} bytes; a programme file is at most 1 MB.")
        return str(path), path.read_bytes()
    except FileNotFoundError:
        raise Failure(f"{path} does not exist.") from None
    except IsADirectoryError:
        raise Failure(f"{path} is a folder, not a programme file.") from None
    except PermissionError:
        raise Failure(f"{path} cannot be read (permission denied).") from None


def print_problems(name: str, problems: Sequence[object], out: IO[str]) -> None:
    """Prints every problem of a programme file, one per line."""
    print(f"{name}: {len(problems)} problem{'s' if len(problems) != 1 else ''}", file=out)
    for problem in problems:
        print(f"  {problem}", file=out)


def cmd_programme_check(args: argparse.Namespace, clock: Clock | None = None) -> int:
    """Checks a programme file: every problem, or a short summary."""
    name, raw = read_programme_file(args.file)
    try:
        programme = parse_programme(raw)
    except ProgrammeError as exc:
        print_problems(name, exc.problems, sys.stdout)
        return 1
    now = (clock or SystemClock()).now()
    summary = summarise(programme, now)
    print(f"{name}: OK — {programme.title} ({programme.key}, {programme.language}, {programme.timezone})")
    print(f"  {summary.modules} modules, {summary.events} events, {summary.sets} learning sets, {summary.meetings} set meetings")
    for module in programme.modules:
        print(f"  {module.key}: {module.title} ({module.starts} to {module.ends}), {len(module.events)} events")
    if summary.next_event is not None:
        e = summary.next_event
        local = e.starts.astimezone(programme.zone)
        where = f" in {e.place}" if e.place else ""
        print(f"  next event: {e.kind}{' ' + repr(e.title) if e.title else ''} on {local:%Y-%m-%d %H:%M}{where}")
    else:
        print("  next event: none (the programme has ended)")
    return 0


def cmd_programme_load(args: argparse.Namespace) -> int:
    """Stores a programme file in one transaction, after checking it."""
    settings = settings_for(require_token=False)
    name, raw = read_programme_file(args.file)
    try:
        programme = parse_programme(raw)
    except ProgrammeError as exc:
        print_problems(name, exc.problems, sys.stdout)
        print("Nothing was loaded.")
        return 1

    async def go() -> None:
        async with database(settings) as db:
            result = await store_programme(db, programme, raw.decode("utf-8"), SystemClock().now(), "cli")
        verb = "loaded" if result.created else "updated"
        print(
            f"{programme.key} {verb}: {len(programme.modules)} modules, {len(programme.sets)} learning sets"
            f" ({result.sets_added} new, {result.sets_retired} retired)"
        )

    asyncio.run(go())
    return 0


def cmd_programme_list(args: argparse.Namespace) -> int:
    """Lists loaded programmes."""
    settings = settings_for(require_token=False)

    async def go() -> None:
        async with database(settings) as db:
            found = await programmes.list_programmes(db)
        if not found:
            print("No programmes loaded yet: use `pitstop programme load FILE`.")
        for p in found:
            print(f"{p.programme.key}\t{p.programme.title}\t{len(p.programme.modules)} modules\tloaded {p.loaded_at[:16].replace('T', ' ')} UTC")

    asyncio.run(go())
    return 0


def cmd_programme_export(args: argparse.Namespace) -> int:
    """Writes a loaded programme's file, with the console's changes, to a new file or the screen."""
    settings = settings_for(require_token=False)
    if args.output is not None and args.output.exists():
        raise Failure(f"{args.output} exists already; choose a new file for --output.")

    async def go() -> str | None:
        async with database(settings) as db:
            return await console.programme_source(db, args.key)

    source = asyncio.run(go())
    if source is None:
        raise Failure(f"No programme with the key {args.key!r} is loaded; `pitstop programme list` shows the keys.")
    if args.output is None:
        sys.stdout.write(source if source.endswith("\n") else source + "\n")
        return 0
    try:
        args.output.write_text(source, encoding="utf-8")
    except OSError as exc:
        raise Failure(f"{args.output} cannot be written ({exc.strerror}).") from None
    print(f"{args.key} written to {args.output}")
    return 0
