"""Splitting a long HTML text the way Telegram measures it: UTF-16 code units of the parsed text, never a
cut inside an escaped character or a tag, and tags open at a cut closed and opened again."""

from __future__ import annotations

from bot.domain.digest import TELEGRAM_LIMIT, split_message, telegram_length
from bot.sandbox.fakeapi import parse_html


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def test_length_is_counted_as_telegram_counts_it() -> None:
    assert telegram_length("<b>A</b> &amp; 👍") == utf16("A & 👍") == 6


def test_emoji_that_python_counts_as_short_are_split_for_telegram() -> None:
    text = "<b>Set A</b> — digest\n\n" + "👍" * 2040 + "\n\n3 of 3 members reflected."
    assert len(text) < TELEGRAM_LIMIT < telegram_length(text)
    pieces = split_message(text)
    assert len(pieces) > 1
    assert all(utf16(parse_html(p)[0]) <= TELEGRAM_LIMIT for p in pieces)
    assert sum(parse_html(p)[0].count("👍") for p in pieces) == 2040


def test_a_cut_never_falls_inside_an_escaped_character() -> None:
    text = "&amp;" * 5000
    pieces = split_message(text)
    assert len(pieces) > 1
    plain = "".join(parse_html(p)[0] for p in pieces)
    assert plain == "&" * 5000
    assert all(p.startswith("&amp;") and p.endswith("&amp;") for p in pieces)


def test_a_tag_open_at_a_cut_is_closed_and_opened_again() -> None:
    text = "<b>Name</b>\n<i>" + "word " * 1500 + "</i>"
    assert split_message(text * 2)[2].startswith("<i>")  # reopened in a third piece too
    pieces = split_message(text)
    assert len(pieces) == 2
    assert all(len(p) <= TELEGRAM_LIMIT for p in pieces)  # as written, too
    for piece in pieces:
        plain, entities = parse_html(piece)  # raises like Telegram on an unbalanced tag
        assert utf16(plain) <= TELEGRAM_LIMIT
        assert any(e["type"] == "italic" for e in entities)


def test_paragraphs_are_kept_whole_when_they_fit() -> None:
    paragraphs = [f"<b>P{i}</b>\n" + "x" * 1000 for i in range(10)]
    pieces = split_message("\n\n".join(paragraphs))
    assert all(not p.startswith("x") for p in pieces)
    assert "\n\n".join(pieces) == "\n\n".join(paragraphs)
    assert split_message("  short  ") == ["short"] and split_message("") == []
