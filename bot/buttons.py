"""Every button's callback data: built here, and parsed back here into typed values.

Each kind of button is a frozen dataclass; its `data` is the string Telegram carries (at most 64
bytes, checked in `_join`), and `parse` turns a pressed string back into that dataclass. Only a
string this module could have built parses: anything forged, stale in its form, too long or
malformed gives None, and the handlers answer that one case with the stale notice. Whether a
well-formed value still applies (is the row the presser's, is the step still open) is for the
handler to say.

The strings are the same as those of every earlier release: buttons in people's chats keep working.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, get_args

MAX_BYTES = 64  # Telegram's limit for callback data

ZONE_BUTTONS = ("Europe/Amsterdam", "Europe/Brussels", "Europe/London", "Europe/Vilnius")
HOUR_BUTTONS = (7, 8, 9, 12, 17, 20)
LANGUAGES = ("nl", "en")

PromptAction = Literal["later", "skip"]
ShareChoice = Literal["private", "shared", "takeaway", "cancel"]
JournalAction = Literal["u", "o", "c", "d", "y", "n", "x"]  # make private, open, correct, delete?, yes, no, stop
Setting = Literal["language", "timezone", "hour", "days", "activity", "cancel"]
Audience = Literal["p", "s", "f"]  # a programme, a set, a programme's facilitators
BroadcastAction = Literal["send", "when", "cancel"]
PulseCapacity = Literal["c", "r", "i", "x"]  # cognitive, relational, intervention, cross-boundary
FacilitatorAction = Literal["ask", "whole", "line", "undo", "cancel"]  # for the facilitators only
QuestionAction = Literal["rw", "sh", "pv", "ok", "x"]  # rewrite, share, keep private, keep as it is, stop rewriting
ResearchAction = Literal["give", "withdraw"]  # research consent for the trend study
CheckinChoice = Literal["p14", "p30", "e2", "e7", "here"]  # pause 2 weeks / a month, every other day, weekly, still here
RHYTHMS = (1, 2, 7)  # prompt every day, every other day, once a week


def _join(*parts: object) -> str:
    """Gives callback data from its parts; data over Telegram's 64 bytes is a bug here, not a press."""
    data = ":".join(str(p) for p in parts)
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"callback data over {MAX_BYTES} bytes: {data[:20]}…")
    return data


@dataclass(frozen=True)
class PromptButton:
    """*Later* or *skip* under a prompt or follow-up: `pr:<later|skip>:<outbox id>`."""

    action: PromptAction
    outbox_id: int

    @property
    def data(self) -> str:
        return _join("pr", self.action, self.outbox_id)


@dataclass(frozen=True)
class CaseRoundButton:
    """*Yes* / *no* to bringing a case to the meeting: `cs:<yes|no>:<outbox id>`."""

    bring: bool
    outbox_id: int

    @property
    def data(self) -> str:
        return _join("cs", "yes" if self.bring else "no", self.outbox_id)


@dataclass(frozen=True)
class CaseStopButton:
    """Stop writing a case for a digest: `cs:stop:<digest id>`."""

    digest_id: int

    @property
    def data(self) -> str:
        return _join("cs", "stop", self.digest_id)


@dataclass(frozen=True)
class ShareButton:
    """A share choice for a reflection: `sh:<reflection id>:<private|shared|takeaway|cancel>`."""

    reflection_id: int
    choice: ShareChoice

    @property
    def data(self) -> str:
        return _join("sh", self.reflection_id, self.choice)


@dataclass(frozen=True)
class ConfirmButton:
    """Share the quoted takeaway or case, or keep it private: `cf:<draft id>:<yes|no>`."""

    draft_id: int
    share: bool

    @property
    def data(self) -> str:
        return _join("cf", self.draft_id, "yes" if self.share else "no")


@dataclass(frozen=True)
class JournalPageButton:
    """Turn to a page of the journal: `jr:<page>`."""

    page: int

    @property
    def data(self) -> str:
        return _join("jr", self.page)


@dataclass(frozen=True)
class JournalEntryButton:
    """Act on one journal entry, seen from a page: `jr:<page>:<action>:<reflection id>`."""

    page: int
    action: JournalAction
    reflection_id: int

    @property
    def data(self) -> str:
        return _join("jr", self.page, self.action, self.reflection_id)


@dataclass(frozen=True)
class ForgetButton:
    """Erase everything, or keep it: `fg:<yes|no>`."""

    erase: bool

    @property
    def data(self) -> str:
        return _join("fg", "yes" if self.erase else "no")


@dataclass(frozen=True)
class LanguageButton:
    """The language step: `ob:lang:<nl|en>`."""

    language: str

    @property
    def data(self) -> str:
        return _join("ob", "lang", self.language)


@dataclass(frozen=True)
class ZoneButton:
    """The time zone step, one of ZONE_BUTTONS: `ob:tz:<zone>`."""

    zone: str

    @property
    def data(self) -> str:
        return _join("ob", "tz", self.zone)


@dataclass(frozen=True)
class HourButton:
    """The hour step, one of HOUR_BUTTONS: `ob:hour:<hour>`."""

    hour: int

    @property
    def data(self) -> str:
        return _join("ob", "hour", self.hour)


@dataclass(frozen=True)
class DayButton:
    """Turn one weekday on or off (0 is Monday): `ob:day:<0-6>`."""

    day: int

    @property
    def data(self) -> str:
        return _join("ob", "day", self.day)


@dataclass(frozen=True)
class DaysDoneButton:
    """The days are chosen: `ob:days:ok`."""

    @property
    def data(self) -> str:
        return _join("ob", "days", "ok")


@dataclass(frozen=True)
class PrivacyButton:
    """The privacy note is understood: `ob:ok`."""

    @property
    def data(self) -> str:
        return _join("ob", "ok")


@dataclass(frozen=True)
class SettingButton:
    """Change one setting, flip the show-activity choice, or leave: `st:<setting>`."""

    setting: Setting

    @property
    def data(self) -> str:
        return _join("st", self.setting)


@dataclass(frozen=True)
class AudienceButton:
    """The audience of a new broadcast: `bc:aud:<p|s|f>:<programme or set id>`."""

    audience: Audience
    target_id: int

    @property
    def data(self) -> str:
        return _join("bc", "aud", self.audience, self.target_id)


@dataclass(frozen=True)
class DraftButton:
    """Send, schedule or cancel a broadcast draft: `bc:<send|when|cancel>:<broadcast id>`."""

    action: BroadcastAction
    broadcast_id: int

    @property
    def data(self) -> str:
        return _join("bc", self.action, self.broadcast_id)


@dataclass(frozen=True)
class RemindersButton:
    """Mute or unmute a programme's calendar reminders: `rm:<mute|unmute>:<programme id>`."""

    mute: bool
    programme_id: int

    @property
    def data(self) -> str:
        return _join("rm", "mute" if self.mute else "unmute", self.programme_id)


@dataclass(frozen=True)
class PulseButton:
    """A score (1–5) or *skip* for one capacity of a sent pulse: `pu:<outbox id>:<c|r|i|x>:<1-5|s>`."""

    outbox_id: int
    capacity: PulseCapacity
    score: int | None  # None: skipped

    @property
    def data(self) -> str:
        return _join("pu", self.outbox_id, self.capacity, "s" if self.score is None else self.score)


@dataclass(frozen=True)
class FacilitatorButton:
    """Share a reflection (or a line of it) with the set's facilitators only, or undo that:
    `fc:<reflection id>:<ask|whole|line|undo|cancel>`."""

    reflection_id: int
    action: FacilitatorAction

    @property
    def data(self) -> str:
        return _join("fc", self.reflection_id, self.action)


@dataclass(frozen=True)
class DeeperButton:
    """Go deeper into a reflection (Korthagen's steps, bot.domain.deepening): `dp:<reflection id>`."""

    reflection_id: int

    @property
    def data(self) -> str:
        return _join("dp", self.reflection_id)


@dataclass(frozen=True)
class DeeperStopButton:
    """Stop going deeper at an open step: `dp:stop:<deepening id>`."""

    step_id: int

    @property
    def data(self) -> str:
        return _join("dp", "stop", self.step_id)


@dataclass(frozen=True)
class QuestionButton:
    """Act on one's learning question, named by its current version (0: none yet): `lq:<action>:<version id>`."""

    action: QuestionAction
    version_id: int

    @property
    def data(self) -> str:
        return _join("lq", self.action, self.version_id)


@dataclass(frozen=True)
class QuestionSkipButton:
    """Skip writing a learning question at the end of onboarding: `lq:skip`."""

    @property
    def data(self) -> str:
        return _join("lq", "skip")


@dataclass(frozen=True)
class ResearchInfoButton:
    """Read about the trend study and give or withdraw consent (from /settings): `rs:info`."""

    @property
    def data(self) -> str:
        return _join("rs", "info")


@dataclass(frozen=True)
class ResearchButton:
    """Give or withdraw one's research consent, naming whose it is: `rs:<give|withdraw>:<person id>`."""

    action: ResearchAction
    person_id: int

    @property
    def data(self) -> str:
        return _join("rs", self.action, self.person_id)


@dataclass(frozen=True)
class CheckinButton:
    """A choice under the one check-in for someone who fell quiet: `ci:<outbox id>:<p14|p30|e2|e7|here>`."""

    outbox_id: int
    choice: CheckinChoice

    @property
    def data(self) -> str:
        return _join("ci", self.outbox_id, self.choice)


@dataclass(frozen=True)
class RhythmButton:
    """How often prompts come, chosen in /settings (days between them, one of RHYTHMS): `rh:<1|2|7>`."""

    every: int

    @property
    def data(self) -> str:
        return _join("rh", self.every)


# The buttons one handler takes together.
OnboardingButton = LanguageButton | ZoneButton | HourButton | DayButton | DaysDoneButton | PrivacyButton
JournalButton = JournalPageButton | JournalEntryButton
CaseButton = CaseRoundButton | CaseStopButton
BroadcastButton = AudienceButton | DraftButton
DeepeningButton = DeeperButton | DeeperStopButton
ResearchConsentButton = ResearchInfoButton | ResearchButton

Button = (
    PromptButton | CaseButton | ShareButton | ConfirmButton | JournalButton | ForgetButton | OnboardingButton
    | SettingButton | BroadcastButton | RemindersButton | PulseButton | FacilitatorButton
    | DeepeningButton
    | QuestionButton | QuestionSkipButton
    | ResearchConsentButton
    | CheckinButton | RhythmButton
)


def _choice(values: tuple[object, ...]) -> str:
    return "(" + "|".join(re.escape(str(v)) for v in values) + ")"


# A row id as this module writes it: ASCII digits, no sign, no leading zero, at most 11 digits
# (`str.isdigit` would also take "²"; int() takes "+1", " 1" and "1_0").
ID = r"(0|[1-9][0-9]{0,10})"
PAGE = r"(0|[1-9][0-9]{0,5})"

_FORMS: tuple[tuple[str, Callable[..., Button]], ...] = (
    (rf"pr:{_choice(get_args(PromptAction))}:{ID}", lambda a, i: PromptButton(a, int(i))),
    (rf"cs:(yes|no):{ID}", lambda c, i: CaseRoundButton(c == "yes", int(i))),
    (rf"cs:stop:{ID}", lambda i: CaseStopButton(int(i))),
    (rf"sh:{ID}:{_choice(get_args(ShareChoice))}", lambda i, c: ShareButton(int(i), c)),
    (rf"cf:{ID}:(yes|no)", lambda i, c: ConfirmButton(int(i), c == "yes")),
    (rf"jr:{PAGE}", lambda p: JournalPageButton(int(p))),
    (rf"jr:{PAGE}:{_choice(get_args(JournalAction))}:{ID}", lambda p, a, i: JournalEntryButton(int(p), a, int(i))),
    (r"fg:(yes|no)", lambda c: ForgetButton(c == "yes")),
    (rf"ob:lang:{_choice(LANGUAGES)}", LanguageButton),
    (rf"ob:tz:{_choice(ZONE_BUTTONS)}", ZoneButton),
    (rf"ob:hour:{_choice(HOUR_BUTTONS)}", lambda h: HourButton(int(h))),
    (r"ob:day:([0-6])", lambda d: DayButton(int(d))),
    (r"ob:days:ok", DaysDoneButton),
    (r"ob:ok", PrivacyButton),
    (rf"st:{_choice(get_args(Setting))}", SettingButton),
    (rf"bc:aud:{_choice(get_args(Audience))}:{ID}", lambda a, i: AudienceButton(a, int(i))),
    (rf"bc:{_choice(get_args(BroadcastAction))}:{ID}", lambda a, i: DraftButton(a, int(i))),
    (rf"rm:(mute|unmute):{ID}", lambda a, i: RemindersButton(a == "mute", int(i))),
    (rf"pu:{ID}:{_choice(get_args(PulseCapacity))}:([1-5]|s)",
     lambda i, c, v: PulseButton(int(i), c, None if v == "s" else int(v))),
    (rf"fc:{ID}:{_choice(get_args(FacilitatorAction))}", lambda i, a: FacilitatorButton(int(i), a)),
    (rf"dp:{ID}", lambda i: DeeperButton(int(i))),
    (rf"dp:stop:{ID}", lambda i: DeeperStopButton(int(i))),
    (rf"lq:{_choice(get_args(QuestionAction))}:{ID}", lambda a, i: QuestionButton(a, int(i))),
    (r"lq:skip", QuestionSkipButton),
    (r"rs:info", ResearchInfoButton),
    (rf"rs:{_choice(get_args(ResearchAction))}:{ID}", lambda a, i: ResearchButton(a, int(i))),
    (rf"ci:{ID}:{_choice(get_args(CheckinChoice))}", lambda i, c: CheckinButton(int(i), c)),
    (rf"rh:{_choice(RHYTHMS)}", lambda e: RhythmButton(int(e))),
)
_PATTERNS = tuple((re.compile(form, re.ASCII), make) for form, make in _FORMS)


def parse(data: str | None) -> Button | None:
    """Gives the button a pressed callback data names, or None for anything this module did not build."""
    if data is None or len(data.encode(errors="replace")) > MAX_BYTES:
        return None
    for pattern, make in _PATTERNS:
        found = pattern.fullmatch(data)
        if found is not None:
            return make(*found.groups())
    return None
