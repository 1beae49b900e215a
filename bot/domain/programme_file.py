"""Writing a programme back as the TOML file a facilitator writes (the format of bot.domain.programme).

Pure. `parse_programme(write_programme(p)) == p` for every programme that was read from a file: each
value is written the way the reader reads it back — a dated event as dates (it lasts whole days), a timed
one as local date-times with its end, a meeting as its `at` — in the order the README's example uses.
What a file says only in comments is not in a Programme, so it is not written.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from bot.domain.programme import DEFAULT_TIMED_HOURS, Event, Module, Programme

END_OF_DAY = time(23, 59, 59)
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def text(value: str) -> str:
    """Gives a TOML basic string: quoted, with backslashes, quotes and control characters escaped."""
    out = []
    for char in value:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def local(moment: datetime, programme: Programme) -> datetime:
    """Gives a moment as the programme's wall-clock time, without its zone (the file's dates are local)."""
    return moment.astimezone(programme.zone).replace(tzinfo=None)


def is_whole_days(event: Event, programme: Programme) -> bool:
    """Gives whether an event runs from the start of a day to the end of one (written as dates)."""
    return local(event.starts, programme).time() == time(0, 0) and local(event.ends, programme).time() == END_OF_DAY


def moment_value(moment: datetime, programme: Programme) -> str:
    """Gives a local date-time as TOML writes one: 2027-01-18T14:00:00."""
    return local(moment, programme).isoformat(timespec="seconds")


def day_value(moment: datetime | date, programme: Programme) -> str:
    """Gives a date as TOML writes one: 2027-01-18."""
    day = local(moment, programme).date() if isinstance(moment, datetime) else moment
    return day.isoformat()


def write_programme(programme: Programme) -> str:
    """Gives the text of a programme file that reads back as this programme."""
    lines = [
        "[programme]",
        f"key = {text(programme.key)}",
        f"title = {text(programme.title)}",
        f"language = {text(programme.language)}",
        f"timezone = {text(programme.timezone)}",
        f"daily_messages = {programme.daily_messages}",
        f"residential_prompt = {text(programme.residential_prompt)}",
    ]
    for module in programme.modules:
        lines += ["", *module_lines(module, programme)]
    for learning_set in programme.sets:
        lines += [
            "",
            "[[sets]]",
            f"key = {text(learning_set.key)}",
            f"name = {text(learning_set.name)}",
            f"digest_days_before = {learning_set.digest_days_before}",
            f"empty_digest = {text(learning_set.empty_digest)}",
        ]
        for meeting in learning_set.meetings:
            lines += ["", "[[sets.meetings]]", *meeting_lines(meeting, programme)]
    return "\n".join(lines) + "\n"


def module_lines(module: Module, programme: Programme) -> list[str]:
    """Gives the lines of one [[modules]] table and its events."""
    lines = [
        "[[modules]]",
        f"key = {text(module.key)}",
        f"title = {text(module.title)}",
    ]
    if module.theme:
        lines.append(f"theme = {text(module.theme)}")
    if module.short_themes:
        if len(module.short_themes) == 1 and module.short_themes[0][0] == "":
            lines.append(f"short_theme = {text(module.short_themes[0][1])}")
        else:
            phrases = ", ".join(f"{language} = {text(phrase)}" for language, phrase in module.short_themes)
            lines.append(f"short_theme = {{ {phrases} }}")
    lines.append("capacities = [" + ", ".join(text(c) for c in module.capacities) + "]")
    if module.focus_questions:
        questions = [
            f"{{ text = {text(q.text)}, capacity = {text(q.capacity)} }}" if q.capacity else text(q.text)
            for q in module.focus_questions
        ]
        lines.append("focus_questions = [" + ", ".join(questions) + "]")
    lines += [f"starts = {module.starts.isoformat()}", f"ends = {module.ends.isoformat()}"]
    for event in module.events:
        lines += ["", "[[modules.events]]", *event_lines(event, programme)]
    return lines


def event_lines(event: Event, programme: Programme) -> list[str]:
    """Gives the lines of one module event: its kind, title, when, and place."""
    lines = [f"kind = {text(event.kind)}"]
    if event.title:
        lines.append(f"title = {text(event.title)}")
    if is_whole_days(event, programme):
        lines += [f"starts = {day_value(event.starts, programme)}", f"ends = {day_value(event.ends, programme)}"]
    else:
        lines += [f"starts = {moment_value(event.starts, programme)}", f"ends = {moment_value(event.ends, programme)}"]
    if event.place:
        lines.append(f"place = {text(event.place)}")
    return lines


def meeting_lines(meeting: Event, programme: Programme) -> list[str]:
    """Gives the lines of one set meeting: when (a meeting lasts DEFAULT_TIMED_HOURS, or its day), title, place."""
    if is_whole_days(meeting, programme):
        lines = [f"at = {day_value(meeting.starts, programme)}"]
    else:
        lines = [f"at = {moment_value(meeting.starts, programme)}"]
    if meeting.title:
        lines.append(f"title = {text(meeting.title)}")
    if meeting.place:
        lines.append(f"place = {text(meeting.place)}")
    return lines


def meeting_ends(starts: datetime) -> datetime:
    """Gives when a meeting that starts at a moment ends, as the reader works it out."""
    return starts + timedelta(hours=DEFAULT_TIMED_HOURS)
