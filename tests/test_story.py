"""My story's pieces without the bot: the story template in both languages, its markup (what a person
wrote is never read as markup), the PDF's Unicode text, the chart's PNG, and the pulse's buttons."""

from __future__ import annotations

import io

import pypdf
import pytest
from PIL import Image

from bot import buttons
from bot.buttons import PulseButton
from bot.render import LANGUAGES, Renderer
from bot.story import CHART_HEIGHT, CHART_WIDTH, Block, blocks, literal, printable, pulse_chart, story_pdf

RENDER = Renderer()

VALUES: dict[str, object] = {
    "name": "Anna de Vries", "programme": "Leergang Publieke Werken", "at": "module", "module_title": "Publieke waarden",
    "made_on": "2 apr 2027",
    "questions": [{"date": "24 mrt 2027", "text": "Hoe geef ik ruimte?"},
                  {"date": "26 mrt 2027", "text": "# Hoe zwijg ik\n- lang genoeg?"}],
    "modules": [{"title": "Publieke waarden", "dates": "29 mrt 2027 – 2 apr 2027", "reflections": [
        {"date": "30 mrt 2027", "capacity": "Samenwerken", "text": "Ik besliste te snel — café, 5 €.", "intention": True,
         "prompt": "# Anna, wat ga je deze week anders doen?", "module_end": "",
         "deeper": [{"phase": "essential", "answer": "Dat zij zich gehoord voelen."}]},
        {"date": "2 apr 2027", "capacity": "", "text": "Ik zweeg vaker.", "intention": False, "prompt": "",
         "module_end": "Publieke waarden", "deeper": []}]},
        {"title": "", "dates": "", "reflections": [
            {"date": "1 mrt 2027", "capacity": "", "text": "[chart]", "intention": False, "prompt": "", "module_end": "",
             "deeper": []}]}],
    "intentions": [{"date": "30 mrt 2027", "text": "Eerst vragen.", "outcomes": [{"date": "1 apr 2027", "text": "Het werkte."}]},
                   {"date": "31 mrt 2027", "text": "Zwijgen.", "outcomes": []}],
    "cases": [{"date": "31 mrt 2027", "text": "Een reorganisatie", "set_name": "Leergroep 1", "meeting": "6 apr 2027"}],
    "pulse": {"moments": 2, "trend": [{"name": "Doorgronden", "first": 2, "last": 4, "count": 2},
                                      {"name": "Samenwerken", "first": 3, "last": 3, "count": 2},
                                      {"name": "Ingrijpen", "first": 3, "last": 3, "count": 1},
                                      {"name": "Over grenzen heen", "first": None, "last": None, "count": 0}]},
}


def markup(language: str, **overrides: object) -> str:
    return RENDER.env.get_template(f"{language}/story.txt").render(lit=literal, **{**VALUES, **overrides})


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_story_template_renders_in_both_languages_full_and_empty(language: str) -> None:
    read = blocks(markup(language))
    kinds = [b.kind for b in read]
    assert kinds[0] == "title" and "chart" in kinds and "quote" in kinds
    own = [b.text for b in read if b.kind == "own"]
    assert "# Hoe zwijg ik\n- lang genoeg?" in own  # a person's text stays text, lines and all
    assert "[chart]" in own  # … even when it looks like the chart's mark
    asked = [b.text for b in read if b.kind == "asked"]  # the prompt each answers, read as text too
    assert asked[0] == "# Anna, wat ga je deze week anders doen?" and "Publieke waarden" in asked[1] and len(asked) == 2
    assert sum(1 for b in read if b.kind == "chart") == 1
    sections = [b.text for b in read if b.kind == "section"]
    assert len(sections) == 5  # question, pulse, reflections, intentions, cases
    empty = blocks(markup(language, questions=[], intentions=[], cases=[], pulse={"moments": 0, "trend": []}, at="asked"))
    assert [b.kind for b in empty].count("section") == 2 and not [b for b in empty if b.kind == "chart"]


def test_markup_lines_join_into_blocks_and_gaps_collapse() -> None:
    assert blocks("# T\n\n\n| a\n|  b\n>| q\n?| p\n?| - q\nplain\ntext\n- x\n~ small") == [
        Block("title", "T"), Block("gap"), Block("own", "a\n b"), Block("quote", "q"), Block("asked", "p\n- q"),
        Block("text", "plain text"), Block("bullet", "x"), Block("small", "small"),
    ]
    assert literal("one\r\ntwo") == "| one\n| two" and literal(None) == "| "
    assert literal("## Anna?", asked=True) == "?| ## Anna?"


def test_the_pdf_is_a5_in_dejavu_and_its_text_reads_back_with_dutch_letters_dashes_and_euros() -> None:
    chart = pulse_chart("Mijn peiling", ["Publieke waarden · begin", "Publieke waarden · einde"],
                        {"Doorgronden": [2, 4], "Samenwerken": [None, 3]}, "1 = helemaal niet · 5 = heel zeker")
    pdf = story_pdf(markup("nl"), chart, "Mijn verhaal", "Anna", "nl")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    for words in ("Mijn verhaal", "Mijn leervraag", "Ik besliste te snel — café, 5 €.", "van 2 naar 4",
                  "Dat zij zich gehoord voelen.", "Het werkte.", "Een reorganisatie",
                  "# Anna, wat ga je deze week anders doen? Ik besliste te snel",
                  "Wat heeft Publieke waarden opgeleverd voor mijn leervraag? Ik zweeg vaker."):
        assert words in text, words
    page = reader.pages[0]
    assert (round(float(page.mediabox.width) / 72 * 25.4), round(float(page.mediabox.height) / 72 * 25.4)) == (148, 210)
    fonts = {str(f["/BaseFont"]) for p in reader.pages for f in p["/Resources"]["/Font"].values()}
    assert all("DejaVu" in f for f in fonts)
    assert [image for p in reader.pages for image in p.images]


def test_the_chart_is_a_png_of_the_promised_size_even_without_answers() -> None:
    for series in ({"Making sense": [2, None, 4]}, {}):
        picture = Image.open(io.BytesIO(pulse_chart("My pulse", ["a", "b", "c"], series, "1–5")))
        assert picture.format == "PNG" and picture.size == (CHART_WIDTH, CHART_HEIGHT)


def test_a_character_the_font_lacks_is_left_out_and_letters_keep_their_base() -> None:
    assert printable("Joëlle — 5 € ✓") == "Joëlle — 5 € ✓"
    assert "\U0001fae0" not in printable("melting \U0001fae0 face")


def test_pulse_buttons_write_short_data_and_nothing_else_parses() -> None:
    for pressed, data in ((PulseButton(12, "c", 4), "pu:12:c:4"), (PulseButton(7, "x", None), "pu:7:x:s")):
        assert pressed.data == data and buttons.parse(data) == pressed
    for forged in ("pu:12:c:6", "pu:12:c:0", "pu:12:q:3", "pu:-1:c:3", "pu:12:c:", "pu:12:c:3:x", "pu:012:c:3"):
        assert buttons.parse(forged) is None, forged


def test_lines_are_broken_at_spaces_and_a_word_longer_than_a_line_is_cut() -> None:
    from bot.story import wrap

    assert wrap("aaa bbb ccc dddd", len, 8) == ["aaa bbb", "ccc dddd"]
    assert wrap("x " + "y" * 20 + " z", len, 8) == ["x", "yyyyyyyy", "yyyyyyyy", "yyyy z"]
    assert wrap("one\n\ntwo", len, 8) == ["one", "", "two"]
    text = "Vandaag liet ik het team zelf beslissen — dat was lastig. " * 30
    assert all(len(line) <= 30 for line in wrap(text, len, 30))
    assert " ".join(" ".join(wrap(text, len, 30)).split()) == " ".join(text.split())
