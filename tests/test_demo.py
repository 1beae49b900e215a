"""`pitstop demo` tells the whole story: people join, get prompts, answer, share or keep private,
a broadcast goes out, the digest reaches the group — and nothing private is in it; then, at the
first module's end, the learning journey: the module's question, the pulse, the story, the trend."""

from __future__ import annotations

import io
import re

from bot.sandbox.demo import DEEPER, FACILITATOR_LINES, SANNE_CASE, SANNE_MODULE_END, SANNE_QUESTION, YOUSSEF, run_demo


async def test_the_demo_runs_two_weeks_and_its_transcript_tells_the_whole_story() -> None:
    out = io.StringIO()
    summary = await run_demo(out)
    transcript = out.getvalue()

    # Joined and onboarded, one in Dutch and one in English.
    assert "bot → Sanne: Alles staat klaar, Sanne!" in transcript
    assert "bot → Tom: All set, Tom!" in transcript
    assert "bot → Sanne: Bewaard als je leervraag:" in transcript  # she writes her learning question at the end
    # Prompted at their hours, answered, skipped, snoozed.
    # Sanne's prompt with its buttons, in the 08:00 block (other people's messages of that minute may come first).
    assert re.search(r"── Wed 25 Nov 2026 08:00 ─+\n(?:(?!── ).*\n)*?  bot → Sanne: .+\n      \[Later\]  \[Overslaan\]",
                     transcript)
    assert "Sanne → taps [Overslaan]" in transcript and "Tom → taps [Later]" in transcript
    assert "bot → Tom: Added to the same reflection." in transcript
    # Shared, a takeaway, a case, a broadcast and the digest in the group.
    assert "taps [Delen met mijn groep]" in transcript and "Gedeeld met je leergroep als inzicht" in transcript
    assert "bot → Femke (begeleider): Bericht verstuurd: afgeleverd bij alle 3 ontvangers" in transcript
    digest = transcript.split("bot → group Leergroep 1: Leergroep 1 — overzicht", 1)[1].split("──", 1)[0]
    assert SANNE_CASE in digest and "hebben alle 3 leden gereflecteerd" in digest
    # Nothing kept private is in the digest.
    for private in ("Donderdag neem ik een half uur", "I keep saying yes to meetings", "nee te zeggen tegen de wethouder"):
        assert private in transcript and private not in digest
    # Youssef goes deeper once: the questions, and what he will try kept as an intention; none of it is shared.
    assert "Youssef → taps [🔎 Dieper]" in transcript and "Dieper · vraag 3 van 3" in transcript
    assert "Over een paar dagen vraag ik hoe het ging" in transcript
    assert all(answer in transcript and answer not in digest for answer in DEEPER[YOUSSEF.id])
    assert summary.digests_delivered == 1 and not summary.private_text_in_digest
    assert summary.prompts_sent >= 25 and summary.reflections >= 10 and summary.shared >= 5
    # The day before the meeting Femke gets her brief, with the line Youssef shared for her only.
    brief = transcript.split("── Mon 07 Dec 2026 08:00", 1)[1].split("bot → Femke (begeleider): Ter voorbereiding: Leergroep 1", 1)[1]
    brief = brief.split("──", 1)[0]
    assert FACILITATOR_LINES[YOUSSEF.id] in brief and SANNE_CASE in brief
    assert FACILITATOR_LINES[YOUSSEF.id] not in digest and "nee te zeggen tegen de wethouder" not in brief
    assert "── Summary" in transcript
    assert "Sanne → /story" in transcript and "bot → Sanne: [file mijn-pitstop-verhaal-2026-12-09.pdf" in transcript
    # Sanne joins the trend study from /settings; nothing she writes goes with it.
    assert "Sanne → taps [🔬 Trendonderzoek]" in transcript and "Sanne → taps [Ja, ik doe mee]" in transcript
    assert "bot → Sanne: Dank je: je doet vanaf vandaag mee aan het trendonderzoek." in transcript
    # Sanne shares her learning question: the set's digest (and /digest before it) opens with it.
    assert "Onze leervragen\n      • Sanne: " + SANNE_QUESTION in digest
    assert "Our learning questions\n      • Sanne: " + SANNE_QUESTION in transcript
    # At the first module's end: what it did for her question, the end pulse in place, the story that evening.
    later = transcript.split("══ Seven weeks later", 1)[1]
    assert "wat heeft deze module je opgeleverd voor je leervraag?" in later and "Sanne → " + SANNE_MODULE_END in later
    assert "Peiling · einde van Verbinden in de netwerkorganisatie: dank je wel." in later
    assert "Pulse · end of Verbinden in de netwerkorganisatie: thank you." in later
    assert "bot → Sanne: [file mijn-pitstop-verhaal-2027-01-31.pdf" in later and "is afgelopen: hier is je verhaal" in later
    assert "Peiling · begin van Slagkracht en verantwoordelijkheid · 1 van 4" in later
    # Seven silent weeks: Youssef gets one friendly check-in and chooses a weekly prompt; Sanne, whose
    # module-end question came that day, gets no check-in beside it.
    assert "bot → Youssef: Hoi Youssef, het is een tijdje stil" in later
    assert "Youssef → taps [Eén keer per week]" in later and "vanaf nu één vraag per week" in later
    assert "bot → Sanne: Hoi Sanne, het is een tijdje stil" not in later
    assert "Doorgronden: van 3 naar 4" in later and "bot → Sanne: [picture" in later
    assert summary.pulse_answers == 12 and summary.stories_sent == 3
