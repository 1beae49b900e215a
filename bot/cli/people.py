"""Who may join: `pitstop invite` and `grant` for one person, `import` for many from a CSV file (one personal
invite per row, and a file of links)."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sqlite3
import sys
import tempfile
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

from bot.cli.common import Failure, SubCommands, add_command, bot_username, database, settings_for
from bot.domain import enrolment
from bot.domain.enrolment import MAX_BYTES, NEW, Invited, Reading
from bot.store import audit, imports, people, programmes

INVITE_DAYS = 30
DEFAULT_DAYS = 60
PROGRESS_FROM = 200  # rows; smaller files are done before a bar would be seen
USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{4,31}$")

EPILOG = """\
The file has a header row. Columns (any case; Dutch names work too):
  name (naam)                     required
  set (groep, leergroep)          a learning set's key or name; may be empty for facilitators
  language (taal)                 en/English/Engels or nl/Nederlands; default: the programme's
  role (rol)                      participant/deelnemer (default) or facilitator/begeleider
  email (e-mail)                  optional; copied to the links file for a mail merge
Comma or semicolon separated, UTF-8 (with or without BOM) or Windows-1252. Other columns are ignored.
Every row is checked first: if any row is wrong, all problems are listed and nothing is imported.
Importing the same file again creates no second invites: a person is recognised by e-mail address,
else by set and name, and keeps the invite and link they already have.
"""


def add_invite(sub: SubCommands) -> None:
    """Adds `invite`."""
    invite = add_command(
        sub, "invite", "create an invite link for a programme (and a learning set)",
        "The link works through the last day given with --expires, as the programme's calendar counts days.",
    )
    invite.add_argument("--programme", required=True, metavar="KEY", help="the programme's key")
    invite.add_argument("--set", dest="learning_set", metavar="KEY", help="the learning set's key")
    invite.add_argument("--role", choices=("participant", "facilitator"), default="participant",
                        help="what the person becomes (default: participant)")
    invite.add_argument("--uses", type=int, default=1, help="how many people may use it (default 1)")
    invite.add_argument("--expires", metavar="YYYY-MM-DD", help=f"last day it works (default: in {INVITE_DAYS} days)")
    invite.add_argument("--bot-username", metavar="NAME", help="the bot's @username, when Telegram cannot be asked")
    invite.set_defaults(func=cmd_invite)


def add_grant(sub: SubCommands) -> None:
    """Adds `grant`."""
    grant = add_command(sub, "grant", "make a Telegram user a facilitator of a programme")
    grant.add_argument("--programme", required=True, metavar="KEY", help="the programme's key")
    grant.add_argument("--telegram-id", required=True, type=int, metavar="ID", help="the user's numeric Telegram id")
    grant.add_argument("--name", default="", help="their name, until they start the bot")
    grant.set_defaults(func=cmd_grant)


def add_import(sub: SubCommands) -> None:
    """Adds `import`."""
    imp = sub.add_parser(
        "import",
        help="invite many people at once from a CSV file (one personal link each)",
        description="Creates one personal invite per row of a CSV file and writes a CSV file with everyone's link.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    imp.add_argument("file", type=Path, metavar="FILE.csv", help="the CSV file with a header row")
    imp.add_argument("--programme", required=True, metavar="KEY", help="the programme's key")
    imp.add_argument(
        "--out",
        type=Path,
        metavar="LINKS.csv",
        help="where to write the links (default: FILE-links.csv beside FILE)",
    )
    imp.add_argument(
        "--expires",
        metavar="YYYY-MM-DD",
        help=f"last day the new links work, YYYY-MM-DD (default: in {DEFAULT_DAYS} days)",
    )
    imp.add_argument(
        "--bot-username", metavar="NAME", help="the bot's @username, when Telegram cannot be asked"
    )
    imp.set_defaults(func=cmd_import)


# --------------------------------------------------------------------------- one person


def cmd_invite(args: argparse.Namespace) -> int:
    """Creates an invite and prints its deep link and code."""
    settings = settings_for(require_token=False)
    if not 1 <= args.uses <= 10_000:
        raise Failure("--uses must be a whole number from 1 to 10000.")
    now = datetime.now(UTC)
    typed = _last_day(args.expires)

    async def go() -> tuple[str, str, date]:
        async with database(settings) as db:
            stored = await programmes.get_programme(db, args.programme)
            if stored is None:
                raise Failure(f"There is no programme {args.programme!r}; load it with `pitstop programme load FILE`.")
            # As `import` does: through the last day, as the programme's calendar counts days.
            zone = stored.programme.zone
            last_day = typed or now.astimezone(zone).date() + timedelta(days=INVITE_DAYS)
            expires = _expiry(last_day, zone, now)
            set_id = None
            if args.learning_set:
                found = await programmes.get_set(db, stored.id, args.learning_set)
                if found is None or not found.active:
                    keys = ", ".join(s.key for s in await programmes.list_sets(db, stored.id)) or "none"
                    raise Failure(f"The programme {args.programme} has no learning set {args.learning_set!r} (sets: {keys}).")
                set_id = found.id
            invite = await people.create_invite(db, stored.id, set_id, args.role, args.uses, expires, now)
            await audit.record(db, now, "cli", "invite.create", stored.id, f"role={args.role} set={args.learning_set or '-'} uses={args.uses}")
        username = args.bot_username or await bot_username(settings)
        return invite.code, username, last_day

    code, username, last_day = asyncio.run(go())
    if username:
        print(f"https://t.me/{username.lstrip('@')}?start={code}")
    else:
        print("(no bot token configured: the participant sends this to the bot instead)")
        print(f"/start {code}")
    print(f"code: {code}  works through {last_day.isoformat()}  uses: {args.uses}  role: {args.role}")
    return 0


def cmd_grant(args: argparse.Namespace) -> int:
    """Gives a Telegram user the facilitator role in a programme and records it in the audit log."""
    settings = settings_for(require_token=False)
    if args.telegram_id <= 0:
        raise Failure("--telegram-id must be a user's numeric Telegram id (a positive number).")

    async def go() -> bool:
        async with database(settings) as db:
            stored = await programmes.get_programme(db, args.programme)
            if stored is None:
                raise Failure(f"There is no programme {args.programme!r}; load it with `pitstop programme load FILE`.")
            now = datetime.now(UTC)
            _, changed = await people.grant(
                db, args.telegram_id, stored.id, "facilitator", args.name, settings.language, settings.timezone, now
            )
            if changed:
                await audit.record(db, now, "cli", "grant", stored.id, f"telegram_id={args.telegram_id} role=facilitator")
            return changed

    changed = asyncio.run(go())
    print(f"{args.telegram_id} {'is now' if changed else 'was already'} a facilitator of {args.programme}."
          " They get the facilitator menu when the bot next starts, or at once with /broadcast or /stats.")
    return 0


# --------------------------------------------------------------------------- many people from a file


def cmd_import(args: argparse.Namespace) -> int:
    """Checks every row, then invites everyone in one transaction and writes the links file."""
    settings = settings_for(require_token=False)
    raw = _read(args.file)
    out = _output_path(args.file, args.out)
    last_day = _last_day(args.expires)
    username = (args.bot_username or "").lstrip("@")
    if username and not USERNAME.match(username):
        raise Failure(
            f"--bot-username {args.bot_username!r} is not a Telegram username (letters, digits, _; 5-32 long)."
        )

    async def go() -> int:
        async with database(settings) as db:
            stored = await programmes.get_programme(db, args.programme)
            if stored is None:
                raise Failure(
                    f"There is no programme {args.programme!r}; load it with `pitstop programme load FILE`."
                )
            programme = stored.programme
            sets = {s.key: s.name for s in await programmes.list_sets(db, stored.id)}
            try:
                reading = enrolment.read_enrolees(raw, sets, programme.language)
            except enrolment.FileProblem as exc:
                raise Failure(f"{args.file} {exc}") from None
            if reading.problems:
                print_row_problems(str(args.file), reading, sys.stdout)
                return 1
            now = datetime.now(UTC)
            expires_at = _expiry(last_day, programme.zone, now)
            name = username or await bot_username(settings)
            total = len(reading.enrolees)
            bar = ProgressBar(total, sys.stderr) if total > PROGRESS_FROM else None
            try:
                invited = await imports.invite_all(
                    db,
                    stored.id,
                    programme.key,
                    reading.enrolees,
                    expires_at,
                    now,
                    bar.update if bar else None,
                )
            except sqlite3.OperationalError as exc:
                # Most likely the running bot held the database longer than the busy timeout.
                raise Failure(
                    f"Nothing was imported: the database could not be written ({exc}); try again."
                ) from None
            finally:
                if bar is not None:
                    bar.close()
            new = sum(1 for i in invited if i.status == NEW)
            await audit.record(db, now, "cli", "import", stored.id, f"rows={total} new={new}")

        def shown(moment: datetime) -> str:
            # The last day a link works, as the programme's calendar writes days.
            return (
                (moment.astimezone(programme.zone) - timedelta(microseconds=1)).date().isoformat()
            )

        text = enrolment.links_csv(invited, name, shown, reading.delimiter)
        _write(out, text, "utf-8-sig" if reading.with_bom else "utf-8", new)
        print_summary(reading, invited, out, bool(name), now, sys.stdout)
        return 0

    return asyncio.run(go())


# --------------------------------------------------------------------------- files


def _read(path: Path) -> bytes:
    """Gives an import file's bytes, or fails with a sentence."""
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise Failure(f"{path} is a folder, not a CSV file.")
        if size > MAX_BYTES:
            raise Failure(
                f"{path} is {size:,} bytes; an import file is at most {MAX_BYTES // (1024 * 1024)} MB."
            )
        return path.read_bytes()
    except FileNotFoundError:
        raise Failure(f"{path} does not exist.") from None
    except PermissionError:
        raise Failure(f"{path} cannot be read (permission denied).") from None
    except OSError as exc:
        raise Failure(f"{path} cannot be read ({exc.strerror}).") from None


def _output_path(source: Path, chosen: Path | None) -> Path:
    """Gives where the links go, checked before anything is imported."""
    out = chosen or source.with_name(f"{source.stem}-links.csv")
    if out.exists() and source.exists() and out.resolve() == source.resolve():
        raise Failure(f"--out {out} is the file being imported; choose another name.")
    if out.is_dir():
        raise Failure(f"--out {out} is a folder; give a file name.")
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise Failure(f"The folder {folder} for the links file does not exist.")
    if not os.access(folder, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise Failure(f"The links file {out} cannot be written (permission denied).")
    return out


def _write(out: Path, text: str, encoding: str, new: int) -> None:
    """Writes the links file whole or not at all (a temporary file renamed into place)."""
    folder = out.parent if str(out.parent) else Path(".")
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{out.name}.", dir=folder)
        with os.fdopen(fd, "w", encoding=encoding, newline="") as handle:
            handle.write(text)
        os.replace(temporary, out)
    except OSError as exc:
        # The invites are stored; importing the same file again writes the same links.
        raise Failure(
            f"{new} invites were created, but {out} could not be written ({exc.strerror});"
            " import the same file again to get the links."
        ) from None


def _last_day(text: str | None) -> date | None:
    """Gives the --expires date, or None for the default; fails with a sentence on a bad date."""
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise Failure(f"--expires {text!r} is not a date like 2027-01-31.") from None


def _expiry(last: date | None, zone: ZoneInfo, now: datetime) -> datetime:
    """Gives when new invites stop working: the midnight after their last day, in the programme's zone."""
    if last is None:
        last = now.astimezone(zone).date() + timedelta(days=DEFAULT_DAYS)
    expires = datetime.combine(last + timedelta(days=1), time(0, 0), tzinfo=zone)
    if expires <= now:
        raise Failure("--expires lies in the past.")
    return expires


# --------------------------------------------------------------------------- printing


class ProgressBar:
    """A one-line bar on stderr, `[#####.....] 120/2000`, redrawn in place; stdout stays clean."""

    def __init__(self, total: int, stream: IO[str], width: int = 30) -> None:
        self.total, self.stream, self.width = total, stream, width
        self.drawn = -1

    def update(self, done: int, total: int | None = None) -> None:
        """Redraws the bar when it visibly moved."""
        filled = self.width * done // max(self.total, 1)
        if filled == self.drawn and done != self.total:
            return
        self.drawn = filled
        self.stream.write(f"\r{progress_line(done, self.total, self.width)}")
        self.stream.flush()

    def close(self) -> None:
        """Ends the bar's line."""
        if self.drawn >= 0:
            self.stream.write("\n")
            self.stream.flush()


def progress_line(done: int, total: int, width: int = 30) -> str:
    """Gives the bar's text: `[#####.....] 120/2000 invites`."""
    filled = width * done // max(total, 1)
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} invites"


def _plural(count: int, word: str, words: str | None = None) -> str:
    return f"{count} {word if count == 1 else (words or word + 's')}"


def print_row_problems(name: str, reading: Reading, out: IO[str]) -> None:
    """Prints every problem of every row, then that nothing was imported."""
    problems = reading.problems
    print(
        f"{name}: {_plural(len(problems), 'problem')} in {_plural(reading.bad_rows, 'row')}",
        file=out,
    )
    for problem in problems:
        print(f"  {problem}", file=out)
    print("Nothing was imported. Correct the rows and import the file again.", file=out)


def print_summary(
    reading: Reading,
    invited: list[Invited],
    out_path: Path,
    has_links: bool,
    now: datetime,
    out: IO[str],
) -> None:
    """Prints what the import did: counts, rows whose earlier invite differs, and where the links are."""
    if reading.ignored_columns:
        print(f"Columns not read: {', '.join(reading.ignored_columns)}", file=out)
    new = [i for i in invited if i.status == NEW]
    old = [i for i in invited if i.status != NEW]
    for i in old:
        if i.differences:
            print(
                f"  row {i.enrolee.row}: already invited with {'; '.join(i.differences)}; the earlier invite is kept",
                file=out,
            )
    expired = [i.enrolee.row for i in old if not i.used and i.expires_at <= now]
    if expired:
        rows = ", ".join(str(r) for r in expired[:20]) + (" …" if len(expired) > 20 else "")
        print(
            f"  {_plural(len(expired), 'earlier invite')} expired unused (rows {rows}): give those people a new one"
            " with `pitstop invite`",
            file=out,
        )
    joined = sum(1 for i in old if i.used)
    already = f"{len(old)} already invited" + (f" ({joined} of them joined)" if joined else "")
    print(f"{_plural(len(new), 'new invite')}, {already}; links written to {out_path}", file=out)
    if not has_links:
        print(
            "No bot username (no TELEGRAM_BOT_TOKEN, or Telegram did not answer): the link column holds"
            " `/start <code>` to send to the bot; pass --bot-username to write links.",
            file=out,
        )
