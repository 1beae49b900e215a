"""The words of a prompt read back (for /export and my story) come from the same values the prompt was
sent with: every library prompt renders from them in both languages, a focus question reads as its
facilitator wrote it, and a key that is neither gives nothing."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.domain.programme import locate, parse_programme
from bot.jobs.wording import prompt_as_sent, prompt_values
from bot.render import LANGUAGES, Renderer
from tests.factories import event, module, programme

RENDER = Renderer()
AMS = ZoneInfo("Europe/Amsterdam")
PROGRAMME = parse_programme(programme(
    key="w", modules=[module("m1", "The Challenges", "2027-03-29", "2027-04-30", theme="Trust in government.",
                             short_theme={"en": "trust in government", "nl": "vertrouwen in de overheid"},
                             events=[event("residential", "2027-04-12", "2027-04-16", place="The Hague")])],
))


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_library_prompt_reads_back_as_plain_text_from_the_values_it_was_sent_with(language: str) -> None:
    position = locate(PROGRAMME, datetime(2027, 4, 13, 9, 0, tzinfo=AMS))
    values = prompt_values(RENDER, language, "Anna & Co", position.module, position.event, AMS, "How do I <listen>?")
    for spec in RENDER.library:  # a prompt that quotes the short theme once broke /export (StrictUndefined)
        text = prompt_as_sent(RENDER, language, spec.key, position.module, values)
        assert text and "<i>" not in text and "&amp;" not in text, spec.key
    quoted = [prompt_as_sent(RENDER, language, s.key, position.module, values) or "" for s in RENDER.library]
    assert any(("trust in government" if language == "en" else "vertrouwen in de overheid") in t for t in quoted)


def test_a_focus_question_reads_as_written_and_an_unknown_key_gives_nothing() -> None:
    source = programme(key="f", modules=[module("m1", "One", "2027-03-29", "2027-04-30")])
    own = parse_programme(source.replace('ends = 2027-04-30', 'ends = 2027-04-30\nfocus_questions = ["Wat zag je?"]'))
    first = own.modules[0]
    key = first.focus_questions[0].key
    values = prompt_values(RENDER, "en", "Anna", first, None, AMS, "")
    assert prompt_as_sent(RENDER, "en", key, first, values) == "Wat zag je?"
    assert prompt_as_sent(RENDER, "en", "no-such-prompt", first, values) is None
    assert prompt_as_sent(RENDER, "en", None, first, values) is None
