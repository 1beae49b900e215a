"""`pitstop demo`: the whole bot at work for two simulated weeks, on a local fake Telegram.

The real Application, handlers, templates, outbox, dispatcher and SQLite file; only Telegram is
the project's own fake Bot API on loopback, and time is a ManualClock that jumps from one due
moment to the next. A small cast plays the users; the transcript shows what each person sees.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import shutil
import signal
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO
from urllib.parse import quote
from zoneinfo import ZoneInfo

from bot.clock import ManualClock
from bot.config import Settings
from bot.domain.programme import parse_programme
from bot.loop import run_loop
from bot.runtime import halt, launch
from bot.sandbox.fakeapi import FakeChat, FakeTelegram, FakeUser, SentMessage
from bot.store import journal, outbox, people, programmes, pulse
from bot.store.db import Database, open_database
from bot.tg.context import PitstopApplication
from bot.webapp.initdata import signed_for
from bot.webapp.server import ConsoleServer

PROGRAMME_FILE = Path(__file__).resolve().parents[2] / "programmes" / "pitstop-den-haag.toml"
ZONE = ZoneInfo("Europe/Amsterdam")
START = datetime(2026, 11, 25, 7, 0, tzinfo=ZONE)
END = datetime(2026, 12, 9, 12, 0, tzinfo=ZONE)
# Then the demo skips to the end of the first module: its last prompt days, the end pulse, the story
# that evening, and the next module's start pulse.
LATER = datetime(2027, 1, 28, 7, 0, tzinfo=ZONE)
LATER_END = datetime(2027, 2, 1, 12, 0, tzinfo=ZONE)
TOKEN = "123456:DEMO-demo-demo-demo-demo-demo-demo"

FEMKE = FakeUser(id=801, first_name="Femke", language_code="nl")  # facilitator
SANNE = FakeUser(id=811, first_name="Sanne", language_code="nl")
TOM = FakeUser(id=812, first_name="Tom", language_code="en")
YOUSSEF = FakeUser(id=813, first_name="Youssef", language_code="nl")
GROUP = FakeChat(id=-8100, type="group", title="Leergroep 1")
NAMES = {FEMKE.id: "Femke (begeleider)", SANNE.id: "Sanne", TOM.id: "Tom", YOUSSEF.id: "Youssef", GROUP.id: "group Leergroep 1"}

# What each participant does with their n-th prompt: (action, texts, share choice).
ANSWERS: dict[int, list[tuple[str, list[str], str]]] = {
    SANNE.id: [
        ("answer", ["Ik merk dat ik in het MT vaak als eerste het woord neem. Deze week probeer ik eerst te vragen."], "shared"),
        ("answer", ["Donderdag neem ik een half uur met mijn teamleider planning, om te vragen wat hem klem zet."], "private"),
        ("skip", [], ""),
        ("answer", ["Eerst vragen werkte: de teamleider kwam zelf met een oplossing voor de roosters."], "takeaway"),
        ("answer", ["Ik wil de verbinding met de wijkteams sterker maken; volgende week loop ik een ochtend mee."], "shared"),
        ("answer", ["Rustige week. Wel gemerkt hoeveel ruimte er ontstaat als ik minder vergader."], "private"),
    ],
    TOM.id: [
        ("answer", ["The last pitstop made me see how much of my week is reacting.", "This week I will block one hour for thinking ahead."], "shared"),
        ("later", [], ""),
        ("answer", ["A colleague from another department asked for help; I said yes before checking my own priorities."], "private"),
        ("answer", ["Asked my team what slows them down. Three answers, all about approvals."], "shared"),
        ("skip", [], ""),
        ("answer", ["Dropped one approval step. Nobody missed it."], "takeaway"),
    ],
    YOUSSEF.id: [
        ("ignore", [], ""),
        ("answer", ["Ik merk dat ik moeite heb om nee te zeggen tegen de wethouder."], "deeper+facilitator"),
        ("ignore", [], ""),
        ("answer", ["Met mijn collega van Financiën een gezamenlijke aanpak voor de begroting gemaakt."], "shared"),
    ],
}
# Going deeper (the Dieper button): the answers to the questions that follow, the last what he will try.
DEEPER = {YOUSSEF.id: [
    "Voor mij: dat ze op me kan rekenen. Voor haar: grip houden op een lastig raadsdebat.",
    "Nee zeggen kan ook zorg zijn voor de kwaliteit. Of ik kies samen met haar wat voorgaat.",
    "Bij het volgende verzoek vraag ik eerst wat ze precies nodig heeft, en voor wanneer echt.",
]}
TAKEAWAYS = {SANNE.id: "Eerst vragen, dan pas invullen.", TOM.id: "Fewer approval steps, more trust."}
# A line for the facilitator only (it reaches Femke's brief the day before the meeting, never the group).
FACILITATOR_LINES = {YOUSSEF.id: "Ik wil graag even met je sparren over hoe ik nee zeg tegen de wethouder."}
SANNE_QUESTION = "Hoe blijf ik verbinden tussen mijn team en de wijk als de druk van bovenaf toeneemt?"
# What the module did for her learning question (asked near the module's end), and the pulses' taps.
SANNE_MODULE_END = "Ik vraag nu eerst wat de wijk nodig heeft voordat ik iets beloof; de druk van bovenaf blijft lastig."
PULSE_TAPS: dict[int, list[list[int | None]]] = {
    SANNE.id: [[3, 4, 3, 4], [4, 4, 3, 4]],  # the module's end, then the next module's start
    TOM.id: [[2, 3, 4, None]],
}
SANNE_CASE = "Twee afdelingen moeten samen één loket voor ondernemers bouwen, maar niemand wil de regie loslaten."
BROADCAST = "Neem voor Pitstop 2 op 8 december één concrete casus mee uit je eigen werk. Tot dan!"
# Telegram's own light theme, as a Telegram app passes it to a Mini App (tgWebAppThemeParams).
THEME = {"bg_color": "#ffffff", "text_color": "#000000", "hint_color": "#707579", "link_color": "#3390ec",
         "button_color": "#3390ec", "button_text_color": "#ffffff", "secondary_bg_color": "#f4f4f5"}

Action = Callable[[], Awaitable[None]]


@dataclass
class Summary:
    """What the demo did, counted from the database at the end."""

    people: int = 0
    prompts_sent: int = 0
    reflections: int = 0
    shared: int = 0
    private: int = 0
    digests_delivered: int = 0
    broadcasts_delivered: int = 0
    reminders_sent: int = 0
    pulse_answers: int = 0
    stories_sent: int = 0
    private_text_in_digest: bool = False


@dataclass
class Demo:
    """The fake world the cast acts in, and the transcript it prints."""

    out: IO[str]
    fake: FakeTelegram
    clock: ManualClock
    app: PitstopApplication | None = None
    printed: int = 0
    edits_printed: dict[int, int] = field(default_factory=dict)
    agenda: list[tuple[datetime, int, Action]] = field(default_factory=list)
    prompt_count: dict[int, int] = field(default_factory=dict)
    handled: set[int] = field(default_factory=set)
    pulses_answered: dict[int, int] = field(default_factory=dict)
    last_stamp: str = ""
    order: int = 0

    # -- printing

    def stamp(self) -> None:
        """Prints a time line when the simulated time moved since the last one."""
        when = self.clock.now().astimezone(ZONE)
        text = f"{when:%a %d %b %Y %H:%M}"
        if text != self.last_stamp:
            self.last_stamp = text
            print(f"\n── {text} " + "─" * max(0, 50 - len(text)), file=self.out)

    def user_line(self, user: FakeUser, text: str, chat: FakeChat | None = None) -> None:
        """Prints what a user does."""
        self.stamp()
        where = f" (in {NAMES[chat.id]})" if chat is not None and chat.id != user.id else ""
        print(f"  {NAMES[user.id]}{where} → {text}", file=self.out)

    def flush(self) -> None:
        """Prints every bot message (and edit) not printed yet."""
        sent = self.fake.sent()
        for message in sent[self.printed :]:
            self.stamp()
            self._print_bot(message, edited=False)
            self.edits_printed[message.message_id + 10_000_000 * message.chat_id] = len(message.edits)
        self.printed = len(sent)
        for message in sent:
            seen = self.edits_printed.get(message.message_id + 10_000_000 * message.chat_id, 0)
            if len(message.edits) > seen:
                self.stamp()
                self._print_bot(message, edited=True)
                self.edits_printed[message.message_id + 10_000_000 * message.chat_id] = len(message.edits)

    def _print_bot(self, message: SentMessage, edited: bool) -> None:
        who = NAMES.get(message.chat_id, str(message.chat_id))
        if message.document is not None:
            body = f"[file {message.document[0]}, {len(message.document[1])} bytes] {plain(message)}".rstrip()
        elif message.photo is not None:
            body = f"[picture, {len(message.photo)} bytes] {plain(message)}"
        else:
            body = message.edits[-1] if edited else plain(message)
            body = _strip_html(body) if edited else body
        lines = body.strip().split("\n")
        arrow = "bot edits its message for" if edited else "bot →"
        print(f"  {arrow} {who}: {lines[0]}", file=self.out)
        for line in lines[1:]:
            print(f"      {line}" if line else "", file=self.out)
        buttons = message.buttons()
        if buttons and not edited:
            print("      " + "  ".join(f"[{label}]" for label, _ in buttons), file=self.out)

    # -- acting

    async def settle(self) -> None:
        """Waits until the bot has answered everything and sent everything due, then prints it."""
        assert self.app is not None
        db = self.app.services.db
        quiet = 0
        last = -1
        for _ in range(1000):
            await self.fake.wait_idle(timeout=5.0, settle=0.02)
            # Every update fetched is handled to the end: a handler may write for a while between its
            # API calls, longer than the fake's quiet moment on a busy machine.
            await asyncio.wait_for(self.app.update_queue.join(), timeout=10.0)
            due = await outbox.due_count(db, self.clock.now())
            calls = sum(self.fake.requests.values()) - self.fake.requests["getUpdates"]
            quiet = quiet + 1 if (not due and calls == last) else 0
            last = calls
            if quiet >= 2:
                break
            await asyncio.sleep(0.02)
        self.flush()

    async def say(self, user: FakeUser, text: str, chat: FakeChat | None = None, replies: int = 1) -> None:
        """A user types a message (and waits for the bot's replies to it)."""
        self.user_line(user, text, chat)
        target = (chat or FakeChat(user.id)).id
        before = len(self.fake.sent(target))
        await self.fake.send_text(user, text, chat=chat)
        await self.fake.wait_for(target, count=before + replies, timeout=10.0)  # every message gets an answer
        await self.settle()

    async def tap(self, user: FakeUser, message: SentMessage, data: str) -> None:
        """A user taps a button."""
        label = next((label for label, d in message.buttons() if d == data), data)
        self.user_line(user, f"taps [{label}]")
        query_id = await self.fake.press(user, message, data)
        for _ in range(500):
            if any(a["callback_query_id"] == query_id for a in self.fake.callback_answers):
                break
            await asyncio.sleep(0.01)
        await self.settle()

    async def weeks_go_by(self, end: datetime) -> None:
        """Runs the bot until `end`: the clock jumps to whatever is due next, and the cast acts."""
        assert self.app is not None
        db = self.app.services.db
        while self.clock.now() < end:
            await self.app.services.dispatcher.plan()
            next_due = await outbox.next_due(db)
            moments = [end.astimezone(UTC)]
            if next_due is not None:
                moments.append(next_due)
            if self.agenda:
                moments.append(self.agenda[0][0])
            target = max(min(moments), self.clock.now())
            self.clock.set(target)
            await self.settle()
            self.react()
            while self.agenda and self.agenda[0][0] <= self.clock.now():
                _, _, action = self.agenda.pop(0)
                await action()
                self.react()
            if target == self.clock.now() and target >= end.astimezone(UTC):
                break

    async def skip_to(self, when: datetime, title: str) -> None:
        """Leaves out a stretch of time, as if the bot had been stopped: what fell due in it is late and dropped."""
        assert self.app is not None
        print(f"\n══ {title} " + "═" * max(0, 48 - len(title)), file=self.out)
        self.clock.set(when)
        await self.app.services.dispatcher.plan()
        await self.settle()

    def last_with(self, chat_id: int, prefix: str) -> SentMessage:
        """Gives the latest bot message to a chat with a button whose data starts with prefix."""
        return next(m for m in reversed(self.fake.sent(chat_id)) if any(d.startswith(prefix) for _, d in m.buttons()))

    def at(self, when: datetime, action: Action) -> None:
        """Puts an action on the agenda."""
        self.order += 1
        self.agenda.append((when.astimezone(UTC), self.order, action))
        self.agenda.sort(key=lambda item: (item[0], item[1]))

    async def onboard(self, user: FakeUser, code: str, language: str, hour: int, question: str | None = None) -> None:
        """A person opens their invite link and taps through onboarding; a participant writes their learning
        question when one is given, else skips it."""
        await self.say(user, f"/start {code}")
        await self.tap(user, self.last_with(user.id, "ob:lang:"), f"ob:lang:{language}")
        await self.tap(user, self.last_with(user.id, "ob:tz:"), "ob:tz:Europe/Amsterdam")
        if any(d.startswith("ob:hour:") for _, d in self.fake.sent(user.id)[-1].buttons()):
            await self.tap(user, self.last_with(user.id, "ob:hour:"), f"ob:hour:{hour}")
            await self.tap(user, self.last_with(user.id, "ob:days:"), "ob:days:ok")
        await self.tap(user, self.last_with(user.id, "ob:ok"), "ob:ok")  # a facilitator is not asked for an hour
        if any(d == "lq:skip" for _, d in self.fake.sent(user.id)[-1].buttons()):  # participants only
            if question is None:
                await self.tap(user, self.last_with(user.id, "lq:skip"), "lq:skip")
            else:
                await self.say(user, question)

    def react(self) -> None:
        """Plans the cast's answers to prompts and case rounds that just arrived."""
        for message in self.fake.sent():
            key = message.chat_id * 10_000_000 + message.message_id
            if key in self.handled:
                continue
            data = [d for _, d in message.buttons()]
            if any(d.startswith("pr:later:") for d in data) and message.chat_id in ANSWERS:
                self.handled.add(key)
                n = self.prompt_count.get(message.chat_id, 0)
                self.prompt_count[message.chat_id] = n + 1
                plan = ANSWERS[message.chat_id]
                if n < len(plan):
                    self.at(self.clock.now() + timedelta(minutes=25), self._answer(message, *plan[n]))
            elif any(d.startswith("cs:yes:") for d in data):
                self.handled.add(key)
                self.at(self.clock.now() + timedelta(minutes=40), self._case(message))
            elif any(d.startswith("pu:") for d in data) and message.chat_id in PULSE_TAPS:
                self.handled.add(key)
                n = self.pulses_answered.get(message.chat_id, 0)
                self.pulses_answered[message.chat_id] = n + 1
                if n < len(PULSE_TAPS[message.chat_id]):
                    self.at(self.clock.now() + timedelta(minutes=10), self._pulse(message, PULSE_TAPS[message.chat_id][n]))
            elif message.chat_id == SANNE.id and SANNE_QUESTION in plain(message) and any(d.startswith("pr:skip:") for d in data):
                self.handled.add(key)  # near the module's end: what did it do for her learning question?
                self.at(self.clock.now() + timedelta(minutes=30), self._answer(message, "answer", [SANNE_MODULE_END], "private"))

    def _answer(self, prompt: SentMessage, action: str, texts: list[str], share: str) -> Action:
        user = {u.id: u for u in (SANNE, TOM, YOUSSEF)}[prompt.chat_id]

        async def act() -> None:
            if action == "skip":
                await self.tap(user, prompt, next(d for _, d in prompt.buttons() if d.startswith("pr:skip:")))
            elif action == "later":
                await self.tap(user, prompt, next(d for _, d in prompt.buttons() if d.startswith("pr:later:")))
                ANSWERS[user.id].insert(self.prompt_count[user.id], (
                    "answer", ["Came back to it in the afternoon: I keep saying yes to meetings I don't need to be in."], "private",
                ))
            elif action == "answer":
                for text in texts:
                    await self.say(user, text)
                ack = self.last_with(user.id, "sh:")
                if share == "shared":
                    await self.tap(user, ack, next(d for _, d in ack.buttons() if d.endswith(":shared")))
                if share.startswith("deeper"):  # private, and a few questions further along Korthagen's cycle
                    await self.tap(user, ack, next(d for _, d in ack.buttons() if d.startswith("dp:")))
                    for answer in DEEPER[user.id]:
                        await self.say(user, answer)
                elif share == "takeaway":
                    await self.tap(user, ack, next(d for _, d in ack.buttons() if d.endswith(":takeaway")))
                    await self.say(user, TAKEAWAYS[user.id])
                    confirm = self.last_with(user.id, "cf:")
                    await self.tap(user, confirm, next(d for _, d in confirm.buttons() if d.endswith(":yes")))
                if share.endswith("facilitator"):
                    await self.tap(user, ack, next(d for _, d in ack.buttons() if d.endswith(":ask")))
                    offer = self.last_with(user.id, "fc:")
                    await self.tap(user, offer, next(d for _, d in offer.buttons() if d.endswith(":line")))
                    await self.say(user, FACILITATOR_LINES[user.id])
                    confirm = self.last_with(user.id, "cf:")
                    await self.tap(user, confirm, next(d for _, d in confirm.buttons() if d.endswith(":yes")))

        return act

    def _pulse(self, pulse: SentMessage, taps: list[int | None]) -> Action:
        user = {u.id: u for u in (SANNE, TOM, YOUSSEF)}[pulse.chat_id]

        async def act() -> None:  # one message that moves to its next question in place, tap by tap
            for score in taps:
                wanted = str(score) if score is not None else None
                await self.tap(user, pulse, next(d for label, d in pulse.buttons()
                                                 if label == wanted or (wanted is None and d.endswith(":s"))))

        return act

    def _case(self, question: SentMessage) -> Action:
        async def act() -> None:
            if question.chat_id == SANNE.id:
                await self.tap(SANNE, question, next(d for _, d in question.buttons() if d.startswith("cs:yes:")))
                await self.say(SANNE, SANNE_CASE)
                confirm = self.last_with(SANNE.id, "cf:")
                await self.tap(SANNE, confirm, next(d for _, d in confirm.buttons() if d.endswith(":yes")))
            elif question.chat_id == TOM.id:
                await self.tap(TOM, question, next(d for _, d in question.buttons() if d.startswith("cs:no:")))

        return act


def plain(message: SentMessage) -> str:
    """Gives a message as its reader sees it."""
    return str(message.message.get("text") or message.message.get("caption") or "")


def _strip_html(text: str) -> str:
    return re.sub(r"<[^>]+>", "", text).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").replace("&#39;", "'")


async def run_demo(
    out: IO[str] = sys.stdout, keep: Path | None = None, console_port: int | None = None,
    until: asyncio.Event | None = None,
) -> Summary:
    """Runs the two simulated weeks and prints the transcript; gives the summary. With a console port, then serves
    the console over the demo's database on localhost and prints links signed for Femke and Sanne, until `until`
    is set (or Ctrl-C)."""
    folder = Path(tempfile.mkdtemp(prefix="pitstop-demo-"))
    db_path = keep if keep is not None else folder / "demo.db"
    clock = ManualClock(START)
    fake = FakeTelegram(token=TOKEN, bot_username="pitstop_demo_bot", clock=clock.now)
    await fake.start()
    db = await open_database(db_path)
    demo = Demo(out=out, fake=fake, clock=clock)
    try:
        source = PROGRAMME_FILE.read_text(encoding="utf-8")
        programme = parse_programme(source)
        loaded = await programmes.save_programme(db, programme, source, clock.now())
        group = await programmes.get_set(db, loaded.programme_id, "leergroep-1")
        assert group is not None
        expires = clock.now() + timedelta(days=30)

        async def invite(role: str, set_id: int | None) -> str:
            made = await people.create_invite(db, loaded.programme_id, set_id, role, 1, expires, clock.now())
            return made.code

        settings = Settings(
            token=TOKEN, base_url=fake.base_url, db_path=db_path, timezone="Europe/Amsterdam", language="nl",
            rate_per_second=0.0, dispatch_interval=0.05, plan_interval=3600.0,
        )
        print(f"Pitstop demo — {programme.title}", file=out)
        print(f"Two simulated weeks, {START:%d %b} – {END:%d %b %Y}: the real bot on a local fake Telegram "
              f"({fake.base_url}), database {db_path}", file=out)
        demo.app = await launch(settings, clock, db, poll_timeout=1)
        await demo.settle()

        # Wednesday morning: the facilitator and three participants of Leergroep 1 join.
        await demo.onboard(FEMKE, await invite("facilitator", None), "nl", 9)
        demo.user_line(FEMKE, "adds the bot to the Telegram group of Leergroep 1")
        await fake.add_bot_to_group(FEMKE, GROUP)
        await demo.say(FEMKE, "/link leergroep-1", chat=GROUP)
        clock.advance(timedelta(minutes=20))
        await demo.onboard(SANNE, await invite("participant", group.id), "nl", 8, question=SANNE_QUESTION)
        await demo.onboard(TOM, await invite("participant", group.id), "en", 9)
        await demo.onboard(YOUSSEF, await invite("participant", group.id), "nl", 8)

        # Tuesday 1 December: the facilitator reminds the group to bring a case.
        async def broadcast() -> None:
            await demo.say(FEMKE, "/broadcast")
            await demo.tap(FEMKE, demo.last_with(FEMKE.id, "bc:aud:"), f"bc:aud:s:{group.id}")
            await demo.say(FEMKE, BROADCAST)
            await demo.tap(FEMKE, demo.last_with(FEMKE.id, "bc:send:"), demo.last_with(FEMKE.id, "bc:send:").buttons()[0][1])

        demo.at(datetime(2026, 12, 1, 10, 0, tzinfo=ZONE), broadcast)

        async def look_at_digest() -> None:
            await demo.say(TOM, "/digest")

        demo.at(datetime(2026, 12, 4, 17, 0, tzinfo=ZONE), look_at_digest)

        async def story() -> None:  # her journey so far, as a PDF only she receives
            await demo.say(SANNE, "/story")

        demo.at(datetime(2026, 12, 9, 10, 30, tzinfo=ZONE), story)

        async def stats() -> None:
            await demo.say(FEMKE, "/stats")

        demo.at(datetime(2026, 12, 9, 11, 0, tzinfo=ZONE), stats)

        async def consent() -> None:  # Sanne joins the trend study from /settings (off by default)
            await demo.say(SANNE, "/settings")
            await demo.tap(SANNE, demo.last_with(SANNE.id, "rs:info"), "rs:info")
            await demo.tap(SANNE, demo.last_with(SANNE.id, "rs:give:"), demo.last_with(SANNE.id, "rs:give:").buttons()[0][1])

        demo.at(datetime(2026, 11, 26, 12, 30, tzinfo=ZONE), consent)

        # Monday 30 November: Sanne shares her learning question; the set's digest will open with it.
        async def share_question() -> None:
            await demo.say(SANNE, "/question")
            await demo.tap(SANNE, demo.last_with(SANNE.id, "lq:sh:"), demo.last_with(SANNE.id, "lq:sh:").buttons()[-1][1])

        demo.at(datetime(2026, 11, 30, 12, 0, tzinfo=ZONE), share_question)

        # The weeks go by: the clock jumps to whatever is due next.
        await demo.weeks_go_by(END)

        # Seven weeks on, the first module ends: the question about her learning question, the end
        # pulse, the story that evening; then the next module's start pulse, and Sanne's trend.
        await demo.skip_to(LATER, "Seven weeks later: the module Verbinden in de netwerkorganisatie ends on Sunday 31 January")

        async def fewer() -> None:  # Youssef went quiet: one friendly check-in, and he picks a weekly prompt
            checkin = demo.last_with(YOUSSEF.id, "ci:")
            await demo.tap(YOUSSEF, checkin, next(d for _, d in checkin.buttons() if d.endswith(":e7")))

        demo.at(datetime(2027, 1, 28, 12, 0, tzinfo=ZONE), fewer)

        async def trend() -> None:
            await demo.say(SANNE, "/pulse", replies=2)  # in words, then the chart

        demo.at(datetime(2027, 2, 1, 11, 0, tzinfo=ZONE), trend)
        await demo.weeks_go_by(LATER_END)
        summary = await summarise(db, fake)
        print_summary(out, summary)
        if console_port is not None:
            await serve_console(out, demo.app, console_port, until)
        return summary
    finally:
        if demo.app is not None:
            await halt(demo.app)
        await db.close()
        await fake.stop()
        shutil.rmtree(folder, ignore_errors=True)


def console_link(address: str, page: str, user: FakeUser, token: str, clock: ManualClock) -> str:
    """Gives a link that opens the console as a Telegram app would: initData signed for the user, and a theme."""
    init = signed_for(user.id, user.first_name, user.language_code or "en", token, clock.now())
    return f"{address}/{page}#tgWebAppData={quote(init)}&tgWebAppThemeParams={quote(json.dumps(THEME))}"


async def serve_console(out: IO[str], app: PitstopApplication, port: int, until: asyncio.Event | None) -> None:
    """Serves the console on localhost beside the demo's bot and prints the links to open it, until told to stop.

    The simulated clock stands still at the demo's end, so the signed links stay fresh while it runs."""
    server = ConsoleServer(app.services, app.bot, "127.0.0.1", port)
    try:
        await server.start()
    except OSError as exc:
        await server.stop()
        print(f"pitstop: the console cannot listen on 127.0.0.1:{port} ({exc.strerror}); choose another --port.",
              file=sys.stderr)
        return
    stop = until or asyncio.Event()
    loop = asyncio.get_running_loop()
    if until is None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
    clock = app.services.clock
    assert isinstance(clock, ManualClock)
    token = app.services.settings.token
    print("\n── The console (Mini App) " + "─" * 24, file=out)
    print(f"  served on {server.address} over the demo's database; open a link in a browser:", file=out)
    print(f"  Femke, facilitator (calendar): {console_link(server.address, 'calendar', FEMKE, token, clock)}", file=out)
    print(f"  Sanne, participant (journal):  {console_link(server.address, 'journal', SANNE, token, clock)}", file=out)
    print("  Ctrl-C stops the demo.", file=out, flush=True)
    try:
        await stop.wait()
    finally:
        if until is None:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
        await server.stop()


async def summarise(db: Database, fake: FakeTelegram) -> Summary:
    """Counts what happened, and checks the digest against every private reflection."""
    written = await journal.totals(db)
    summary = Summary(
        people=await people.count(db),
        prompts_sent=await outbox.delivered(db, "prompt"),
        reflections=written.reflections,
        shared=written.shared,
        private=written.private,
        digests_delivered=await outbox.delivered(db, "digest"),
        broadcasts_delivered=await outbox.delivered(db, "broadcast"),
        reminders_sent=await outbox.delivered(db, "reminder"),  # alone, or carried by the day's prompt
        pulse_answers=await pulse.answer_count(db),
        stories_sent=await outbox.delivered(db, "story"),
    )
    private_texts = await journal.texts_not_shared_whole(db)
    digests = [plain(m) for m in fake.sent(GROUP.id)]
    summary.private_text_in_digest = any(text in d for text in private_texts for d in digests)
    return summary


def print_summary(out: IO[str], s: Summary) -> None:
    """Prints the closing summary."""
    print("\n── Summary " + "─" * 40, file=out)
    print(f"  people: {s.people} (1 facilitator, 3 participants)", file=out)
    print(f"  prompts sent: {s.prompts_sent}", file=out)
    print(f"  reflections: {s.reflections} ({s.shared} shared with the set, {s.private} kept private)", file=out)
    print(f"  broadcast copies delivered: {s.broadcasts_delivered}; calendar reminders: {s.reminders_sent}", file=out)
    print(f"  digests delivered: {s.digests_delivered}", file=out)
    print(f"  pulse answers: {s.pulse_answers}; stories sent: {s.stories_sent}", file=out)
    print(f"  private text in any digest: {'YES — a bug' if s.private_text_in_digest else 'none'}", file=out)


def main(keep: Path | None = None, console_port: int | None = None) -> int:
    """Runs the demo from the command line (then serves the console, given a port)."""
    for name in ("", "bot"):  # the transcript is the output; logs only for trouble
        logging.getLogger(name).setLevel(logging.WARNING)
    if keep is not None and keep.exists():
        print(f"pitstop: {keep} exists already; choose a new file for --keep.", file=sys.stderr)
        return 2
    summary = run_loop(run_demo(sys.stdout, keep, console_port))
    if keep is not None:
        print(f"\nThe demo database is kept at {keep}.")
    return 0 if summary.digests_delivered and not summary.private_text_in_digest else 1
