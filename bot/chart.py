"""The participation chart a facilitator gets with /stats: reflections per ISO week, one line per set.

Pure: values in, PNG bytes out, the same bytes for the same values. Drawn with Pillow at twice the
size and scaled down, which smooths the lines without an anti-aliasing library. Texts (title, week
labels, set names) come from the caller; this module writes none of its own.
"""

from __future__ import annotations

import io
import math
import unicodedata
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 1000, 640
SCALE = 2  # drawn at twice the size, then scaled down

# Tableau 10: distinct for most forms of colour blindness; after ten sets the markers change shape.
PALETTE = (
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
)
MARKERS = ("circle", "square", "triangle", "diamond")
INK = (40, 40, 40)
GRID = (225, 225, 225)
BACKGROUND = (255, 255, 255)

MARGIN = 24
TITLE_SIZE = 32
LABEL_SIZE = 22
LEGEND_WIDTH = 320
LEGEND_ROW = 34
MIN_LEGEND_ROW = 16

# Pillow's built-in font covers ASCII and a few signs; other letters are drawn by their base letter.
_EXTRA_GLYPHS = set("©«°±´·»‘’“”…")
_SPELLED = {
    "ß": "ss",
    "æ": "ae",
    "Æ": "AE",
    "ø": "o",
    "Ø": "O",
    "ł": "l",
    "Ł": "L",
    "œ": "oe",
    "Œ": "OE",
    "đ": "d",
    "Đ": "D",
    "ı": "i",
    "–": "-",
    "—": "-",
    "−": "-",
    "€": "EUR",
    "•": "·",
    "\u00a0": " ",
}


def reflections_chart(series: dict[str, list[int]], weeks: list[str], title: str) -> bytes:
    """Gives a PNG of reflections per week, one line per learning set, with a legend and week labels.

    `series` maps a set's name to its counts, one per entry of `weeks` (shorter lists count as zero,
    longer ones are cut). Empty series or no weeks give the titled, empty axes.
    """
    s = SCALE
    image = Image.new("RGB", (WIDTH * s, HEIGHT * s), BACKGROUND)
    draw = ImageDraw.Draw(image)
    title_font, label_font = _font(TITLE_SIZE * s), _font(LABEL_SIZE * s)

    counts = {name: _fit(values, len(weeks)) for name, values in series.items()}
    top_value = max((v for values in counts.values() for v in values), default=0)
    step, top = _ticks(top_value)

    draw.text(
        (MARGIN * s, MARGIN * s),
        _clip(_drawable(title), title_font, (WIDTH - 2 * MARGIN) * s),
        font=title_font,
        fill=INK,
    )
    left, right = (MARGIN + 52) * s, (WIDTH - MARGIN - LEGEND_WIDTH) * s
    upper, lower = (MARGIN + TITLE_SIZE + 40) * s, (HEIGHT - MARGIN - LABEL_SIZE - 20) * s

    for tick in range(0, top + 1, step):
        y = lower - (lower - upper) * tick / top
        draw.line([(left, y), (right, y)], fill=GRID if tick else INK, width=s)
        label = str(tick)
        draw.text(
            (left - 10 * s - label_font.getlength(label), y - LABEL_SIZE * s * 0.6),
            label,
            font=label_font,
            fill=INK,
        )
    draw.line([(left, upper), (left, lower)], fill=INK, width=s)

    xs = [left + (right - left) * (i + 0.5) / len(weeks) for i in range(len(weeks))]
    labels = [_drawable(week) for week in weeks]
    slot = (right - left) / max(1, len(weeks))
    widest = max((label_font.getlength(label) for label in labels), default=0)
    every = max(1, math.ceil((widest + 12 * s) / slot))  # many weeks: label every n-th
    for i, (x, label) in enumerate(zip(xs, labels)):
        if i % every == 0:
            label = _clip(label, label_font, slot * every - 8 * s)
            draw.text(
                (x - label_font.getlength(label) / 2, lower + 8 * s),
                label,
                font=label_font,
                fill=INK,
            )

    for index, values in enumerate(counts.values()):
        colour, marker = (
            PALETTE[index % len(PALETTE)],
            MARKERS[(index // len(PALETTE)) % len(MARKERS)],
        )
        points = [(x, lower - (lower - upper) * v / top) for x, v in zip(xs, values)]
        if len(points) > 1:
            draw.line(points, fill=colour, width=3 * s, joint="curve")
        for point in points:
            _mark(draw, point, marker, colour, 5 * s)

    _legend(draw, list(counts), right + 24 * s, upper, lower, s)

    small = image.resize((WIDTH, HEIGHT), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    small.save(out, format="PNG")
    return out.getvalue()


def _legend(
    draw: ImageDraw.ImageDraw, names: list[str], x: float, upper: float, lower: float, s: int
) -> None:
    """Draws the legend: a coloured marker and the set's name per row; rows shrink to fit many sets."""
    if not names:
        return
    row = max(MIN_LEGEND_ROW * s, min(LEGEND_ROW * s, (lower - upper) / len(names)))
    rows = max(1, int((lower - upper) // row))
    size = int(min(LABEL_SIZE * s, row * 0.62))
    font = _font(size)
    width = (LEGEND_WIDTH - 24 - MARGIN) * s - 38 * s
    for index, name in enumerate(names[:rows]):
        y = upper + row * index + row / 2
        if index == rows - 1 and len(names) > rows:
            # More sets than rows: the last row says how many are not listed.
            draw.text(
                (x + 38 * s, y - size * 0.6), f"… (+{len(names) - index})", font=font, fill=INK
            )
            break
        colour, marker = (
            PALETTE[index % len(PALETTE)],
            MARKERS[(index // len(PALETTE)) % len(MARKERS)],
        )
        draw.line([(x, y), (x + 28 * s, y)], fill=colour, width=3 * s)
        _mark(draw, (x + 14 * s, y), marker, colour, 5 * s)
        draw.text(
            (x + 38 * s, y - size * 0.6),
            _clip(_drawable(name), font, width, middle=True),
            font=font,
            fill=INK,
        )


def _mark(
    draw: ImageDraw.ImageDraw,
    at: tuple[float, float],
    marker: str,
    colour: tuple[int, int, int],
    r: float,
) -> None:
    x, y = at
    if marker == "square":
        draw.rectangle([x - r, y - r, x + r, y + r], fill=colour)
    elif marker == "triangle":
        draw.polygon(
            [(x, y - r * 1.2), (x - r * 1.1, y + r * 0.8), (x + r * 1.1, y + r * 0.8)], fill=colour
        )
    elif marker == "diamond":
        draw.polygon(
            [(x, y - r * 1.3), (x + r * 1.3, y), (x, y + r * 1.3), (x - r * 1.3, y)], fill=colour
        )
    else:
        draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)


def _fit(values: list[int], length: int) -> list[int]:
    """Gives exactly `length` non-negative counts: padded with zeros or cut."""
    fitted = [max(0, int(v)) for v in values[:length]]
    return fitted + [0] * (length - len(fitted))


def _ticks(top_value: int) -> tuple[int, int]:
    """Gives (step, top) of the y axis: a 1-2-5 step with at most six ticks above zero."""
    top_value = max(top_value, 1)
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            step = factor * magnitude
            if math.ceil(top_value / step) <= 6:
                return step, step * math.ceil(top_value / step)
        magnitude *= 10


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=max(1, size))


def _drawable(text: str) -> str:
    """Gives text the built-in font can draw: accents dropped (ë → e), other unknown signs as '?'."""
    out = []
    for char in text:
        char = _SPELLED.get(char, char)
        if len(char) > 1 or char.isascii() or char in _EXTRA_GLYPHS:
            out.append(char if char.isprintable() else " ")
            continue
        base = "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        )
        out.append(base if base and base.isascii() and base.isprintable() else "?")
    return "".join(out)


def _clip(
    text: str,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    width: float,
    middle: bool = False,
) -> str:
    """Gives the text, shortened with an ellipsis to fit the width: at the end, or in the middle so
    that names differing only at the end ("… set A", "… set B") stay apart."""
    if font.getlength(text) <= width:
        return text
    if middle:
        head, tail = text[: (len(text) + 1) // 2], text[(len(text) + 1) // 2 :]
        while (head or tail) and font.getlength(head.rstrip() + "…" + tail.lstrip()) > width:
            if len(head) >= len(tail):
                head = head[:-1]
            else:
                tail = tail[1:]
        return head.rstrip() + "…" + tail.lstrip()
    while text and font.getlength(text + "…") > width:
        text = text[:-1]
    return text.rstrip() + "…" if text else ""
