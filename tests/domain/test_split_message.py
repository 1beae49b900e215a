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


# ----------------------------------------------------------------------------------------------------
# The split as it was written first, character by character: the faster one must cut every text the same.


def _reference_split(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    import re

    token_re = re.compile(r"<[^>]*>|&(?:lt|gt|amp|quot|#[0-9]+|#[xX][0-9a-fA-F]+);|.", re.DOTALL)

    def size(token: str) -> int:
        return max(len(token), utf16(token))

    def cost(text: str) -> int:
        return sum(size(m.group(0)) for m in token_re.finditer(text))

    def tag_name(tag: str) -> str:
        return re.split(r"[\s>/]", tag[1:].lstrip("/"), maxsplit=1)[0].lower()

    def closing_of(opened: list[str]) -> str:
        return "".join(f"</{tag_name(tag)}>" for tag in reversed(opened))

    def cut_of(text: str) -> tuple[int, list[str]]:
        open_tags: list[str] = []
        closing = 0
        best: dict[str, tuple[int, list[str]]] = {}
        length = visible = 0
        for m in token_re.finditer(text):
            token = m.group(0)
            if visible and length + closing <= limit:
                cut = (m.start(), list(open_tags))
                best["any"] = cut
                if token == " ":
                    best["space"] = cut
                elif token == "\n":
                    best["line"] = cut
                    if text[m.start() - 1] == "\n":
                        best["paragraph"] = (m.start() - 1, cut[1])
            if length + size(token) + closing > limit and "any" in best:
                break
            length += size(token)
            if token.startswith("<") and len(token) > 1:
                if token.startswith("</"):
                    name = tag_name(token)
                    for i in range(len(open_tags) - 1, -1, -1):
                        if tag_name(open_tags[i]) == name:
                            del open_tags[i]
                            break
                elif not token.endswith("/>"):
                    open_tags.append(token)
                closing = cost(closing_of(open_tags))
            else:
                visible += 1
        for at_least in (limit // 2, 1):
            for kind in ("paragraph", "line", "space"):
                found = best.get(kind)
                if found is not None and cost(text[: found[0]]) >= at_least:
                    return found
        return best.get("any", (len(text), []))

    text = text.strip()
    pieces: list[str] = []
    while text:
        if cost(text) <= limit:
            pieces.append(text)
            break
        cut, still_open = cut_of(text)
        head, rest = text[:cut].rstrip(), text[cut:].lstrip()
        pieces.append(head + closing_of(still_open))
        text = "".join(still_open) + rest
    return pieces


def test_every_text_is_cut_where_the_character_by_character_split_cut_it() -> None:
    import random

    rng = random.Random(15)
    bits = ["word", "long-word-without-spaces", " ", "  ", "\n", "\n\n", "\n\n\n", "<b>", "</b>", "<i>", "</i>",
            '<a href="https://example.org/a?b=1&amp;c=2">', "</a>", "<br/>", "&amp;", "&lt;", "&#128077;", "&",
            "<", ">", "👍", "é", "Ŋ", "—", "x" * 40, "<b>Name</b>\n"]
    for _ in range(1500):
        text = "".join(rng.choice(bits) for _ in range(rng.randint(0, 120)))
        limit = rng.choice((8, 12, 20, 33, 50, 80, 200))
        assert split_message(text, limit) == _reference_split(text, limit), (text, limit)
    digest_like = "\n\n".join(f"<b>Member {i}</b>\n" + "<i>" + "word " * rng.randint(10, 900) + "</i>" for i in range(30))
    assert split_message(digest_like) == _reference_split(digest_like)


def test_a_text_of_one_unit_characters_is_cut_where_the_walk_token_by_token_cuts_it() -> None:
    import random

    from bot.domain.digest import _cut_one_unit_each, _cut_walking

    rng = random.Random(16)
    bits = ["word", "long-word-without-spaces", " ", "  ", "\n", "\n\n", "\n\n\n", "<b>", "</b>", "<i>", "</i>",
            '<a href="https://example.org/a?b=1&amp;c=2">', "</a>", "<br/>", "&amp;", "&lt;", "&#128077;", "&",
            "<", ">", "x" * 40, "<b>Name</b>\n", "< b", "<<i>", "&amp", "\n<i>", "</i>\n\n", "é", "Ŋ", "—", "\u00a0"]
    for _ in range(4000):
        text = "".join(rng.choice(bits) for _ in range(rng.randint(1, 150)))
        limit = rng.choice((4, 8, 12, 20, 33, 50, 80, 200))
        assert _cut_one_unit_each(text, limit) == _cut_walking(text, limit), (text, limit)
        assert split_message(text, limit) == _reference_split(text, limit), (text, limit)
