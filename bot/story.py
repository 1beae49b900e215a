"""My story's pictures and document: the pulse chart (a PNG) and the story (a PDF), from plain values.

Pure: values in, bytes out; the words come from the caller (templates), none are written here.
The chart is drawn with matplotlib and the document laid out with fpdf2; both are imported on first
use, so that start-up stays fast (matplotlib takes about a third of a second to import). The PDF
embeds DejaVu Sans, the font matplotlib ships, so that "ë", "—" and "€" render; a character the font
lacks (an emoji) is left out rather than drawn as an empty box.

The document is read from a small line markup that a story template writes (see `blocks`); a
person's own text always comes in through `literal`, so nothing they wrote is read as markup.
"""

from __future__ import annotations

import importlib.util
import io
import textwrap
import threading
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

CHART_WIDTH, CHART_HEIGHT = 1000, 600  # pixels: legible on a phone held upright or turned
CHART_DPI = 100
# Tableau 10's first four, and a marker each: the lines stay apart in grey print and for colour blindness.
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728")
MARKERS = ("o", "s", "^", "D")

PAGE = (148, 210)  # A5 in mm: narrow, like a phone; large type
MARGIN = 12  # mm
BODY, SMALL, TITLE, SECTION, SUB, PROMPT = 13, 10.5, 20, 16, 13.5, 11.5  # points
LINE = 1.45  # line height as a multiple of the type size
PT = 25.4 / 72  # mm per point
FONT = "DejaVu"
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf", "I": "DejaVuSans-Oblique.ttf"}  # the styles used


# --------------------------------------------------------------------------- the pulse chart


def pulse_chart(title: str, labels: Sequence[str], series: Mapping[str, Sequence[int | None]], axis: str) -> bytes:
    """Gives a PNG of CHART_WIDTH × CHART_HEIGHT: one line per capacity over the moments in `labels`
    (a module's start or end), scores 1–5 on the y axis (named `axis`); a line steps over a skipped moment."""
    with _DRAWING:  # matplotlib is not thread-safe, and charts are drawn off the event loop
        return _draw(title, labels, series, axis)


_DRAWING = threading.Lock()


def _draw(
    title: str, labels: Sequence[str], series: Mapping[str, Sequence[float | None]], axis: str,
    notes: Mapping[str, Sequence[str | None]] | None = None,
) -> bytes:
    from matplotlib.figure import Figure  # noqa: PLC0415 -- lazily: a third of a second at start-up otherwise

    figure = Figure(figsize=(CHART_WIDTH / CHART_DPI, CHART_HEIGHT / CHART_DPI), dpi=CHART_DPI)
    ax = figure.add_subplot()
    xs = list(range(len(labels)))
    for index, (name, values) in enumerate(series.items()):
        # A skipped moment is left out and the line joins the answers on either side of it.
        given = [(x, float(v)) for x, v in zip(xs, values) if v is not None]
        ax.plot([x for x, _ in given], [y for _, y in given], color=COLOURS[index % len(COLOURS)], marker=MARKERS[index % len(MARKERS)],
                linewidth=2.5, markersize=8, label=name)
        for x, note in zip(xs, (notes or {}).get(name, ())):  # a group's chart: how many answers each point holds
            value = values[x] if x < len(values) else None
            if note is not None and value is not None:
                ax.annotate(note, (x, float(value)), textcoords="offset points", xytext=(6, 6 + 12 * (index % 2)),
                            fontsize=9, color=COLOURS[index % len(COLOURS)])
    ax.set_ylim(0.5, 5.5)
    ax.set_yticks([1, 2, 3, 4, 5])
    ax.set_ylabel(axis, fontsize=13)
    ax.set_xlim(-0.5, max(len(xs) - 0.5, 0.5))
    ax.set_xticks(xs)
    ax.set_xticklabels([textwrap.fill(label, 16) for label in labels], fontsize=11)
    ax.tick_params(axis="y", labelsize=12)
    ax.grid(axis="y", color="#dddddd")
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title(title, fontsize=16, loc="left")
    if series:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2, fontsize=12, frameon=False)
    figure.subplots_adjust(left=0.08, right=0.98, top=0.9, bottom=0.27)
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=CHART_DPI, metadata={"Software": None})
    return out.getvalue()


def trend_chart(
    title: str, labels: Sequence[str], series: Mapping[str, Sequence[tuple[float, int] | None]], axis: str,
) -> bytes:
    """Gives a PNG like `pulse_chart` of a group's averages: one line per capacity over the moments in
    `labels`, each point an (average, number of answers) written beside it as "n=…"; a point left out
    (None: too few answers) is stepped over."""
    with _DRAWING:
        averages = {name: [None if p is None else p[0] for p in points] for name, points in series.items()}
        notes = {name: [None if p is None else f"n={p[1]}" for p in points] for name, points in series.items()}
        return _draw(title, labels, averages, axis, notes)


# --------------------------------------------------------------------------- the story's markup


@dataclass(frozen=True)
class Block:
    """One piece of the document: a title, section, heading, paragraph, small line, bullet, the
    person's own text (plain or quoted), the prompt a reflection answers, the chart, or a gap."""

    kind: str
    text: str = ""


MARKS = (("# ", "title"), ("## ", "section"), ("### ", "heading"), ("- ", "bullet"), ("~ ", "small"),
         (">| ", "quote"), ("?| ", "asked"), ("| ", "own"))


def literal(text: str | None, quote: bool = False, asked: bool = False) -> str:
    """Gives a person's own text as markup lines that are read as text, never as markup (`| …`); quoted
    (`>| …`), or as the prompt a reflection answers (`?| …`, which may hold their name or question)."""
    mark = ">| " if quote else "?| " if asked else "| "
    lines = (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(mark + line for line in lines)


def blocks(markup: str) -> list[Block]:
    """Reads the story markup: `# ` title, `## ` section, `### ` heading, `- ` bullet, `~ ` small line,
    `| ` and `>| ` the person's own text (plain, quoted), `?| ` the prompt a reflection answers
    (consecutive lines of each are one block), `[chart]` the pulse chart, an empty line a gap; other
    lines are the template's paragraph text."""
    found: list[Block] = []
    for raw in markup.split("\n"):
        line = raw.rstrip()
        kind, text = "text", line.strip()
        if not line.strip():
            kind, text = "gap", ""
        elif line.strip() == "[chart]":
            kind, text = "chart", ""
        else:
            for mark, name in MARKS:
                if raw.startswith(mark) or raw == mark.rstrip():
                    kind, text = name, raw[len(mark):]
                    break
        last = found[-1] if found else None
        if last is not None and kind == last.kind and kind in ("own", "quote", "asked", "text"):
            found[-1] = Block(kind, f"{last.text}\n{text}" if kind != "text" else f"{last.text} {text}")
        elif kind == "gap" and (last is None or last.kind == "gap"):
            continue
        else:
            found.append(Block(kind, text))
    return found


# --------------------------------------------------------------------------- the PDF


def font_folder() -> Path:
    """Gives the folder of matplotlib's DejaVu fonts, found without importing matplotlib."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("matplotlib is not installed: it ships the font the story is set in")
    return Path(list(spec.submodule_search_locations)[0]) / "mpl-data" / "fonts" / "ttf"


@lru_cache(maxsize=1)
def _covered() -> frozenset[int]:
    from fontTools.ttLib import TTFont  # type: ignore[import-untyped]  # noqa: PLC0415 -- fpdf2's own dependency

    with TTFont(str(font_folder() / FONT_FILES[""]), lazy=True) as font:
        return frozenset(font.getBestCmap())


def printable(text: str) -> str:
    """Gives text the font can set: a letter it lacks by its base letter, anything else it lacks
    (emoji, joiners) left out."""
    covered = _covered()
    out = []
    for char in text:
        if ord(char) in covered or char in "\n\t":
            out.append(char)
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", char) if ord(c) in covered and not unicodedata.combining(c))
        if base and unicodedata.category(char).startswith("L"):
            out.append(base)
    return "".join(out)


def story_pdf(markup: str, chart: bytes | None, title: str, author: str, language: str) -> bytes:
    """Gives the story as a PDF on A5 pages in large type, from the markup (see `blocks`), with the chart
    where `[chart]` stands (left out when there is none)."""
    from fpdf import FPDF  # noqa: PLC0415 -- lazily, like matplotlib

    pdf = FPDF(format=PAGE, unit="mm")
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(True, MARGIN)
    folder = font_folder()
    for style, name in FONT_FILES.items():
        pdf.add_font(FONT, style, str(folder / name))
    pdf.set_title(printable(title))
    pdf.set_author(printable(author))
    pdf.set_creator("Pitstop")
    pdf.set_lang(language)
    pdf.add_page()
    width = pdf.w - 2 * MARGIN
    widths: dict[tuple[str, float], dict[str, float]] = {}  # each word's width per style and size, measured once
    for block in blocks(markup):
        _write(pdf, block, chart, width, widths)
    return bytes(pdf.output())


STYLES: dict[str, tuple[str, float, tuple[int, int, int], float]] = {
    # kind: font style, size, colour, space before (mm)
    "title": ("B", TITLE, (20, 20, 20), 0),
    "section": ("B", SECTION, (31, 90, 150), 6),
    "heading": ("B", SUB, (40, 40, 40), 3),
    "text": ("", BODY, (40, 40, 40), 1),
    "own": ("", BODY, (0, 0, 0), 1),
    "quote": ("I", BODY, (60, 60, 60), 1),
    "asked": ("I", PROMPT, (95, 95, 95), 1),
    "bullet": ("", BODY, (40, 40, 40), 0.5),
    "small": ("", SMALL, (110, 110, 110), 0.5),
}


def _write(
    pdf: Any, block: Block, chart: bytes | None, width: float, known: dict[tuple[str, float], dict[str, float]]
) -> None:
    if block.kind == "gap":
        pdf.ln(BODY * PT * 0.6)
        return
    if block.kind == "chart":
        if chart is not None:
            height = width * CHART_HEIGHT / CHART_WIDTH
            if pdf.get_y() + height > pdf.h - MARGIN:
                pdf.add_page()
            pdf.image(io.BytesIO(chart), x=pdf.l_margin, w=width, h=height)
            pdf.ln(2)
        return
    style, size, colour, before = STYLES[block.kind]
    pdf.set_font(FONT, style, size)
    pdf.set_text_color(*colour)
    if before and pdf.get_y() > MARGIN + 1:
        pdf.ln(before)
    text = printable(block.text)
    indent = 0.0
    if block.kind == "bullet":
        text = "• " + text
    if block.kind == "quote":
        indent = 5.0
    if block.kind in ("section", "title") and pdf.get_y() + size * PT * LINE * 3 > pdf.h - MARGIN:
        pdf.add_page()  # a heading never stands alone at the foot of a page
    height = size * PT * LINE
    widths = known.setdefault((style, size), {})

    def measure(chunk: str) -> float:
        if chunk not in widths:
            widths[chunk] = pdf.get_string_width(chunk)
        return float(widths[chunk])

    for line in wrap(text, measure, width - indent):
        pdf.set_x(pdf.l_margin + indent)
        pdf.cell(width - indent, height, line, new_x="LMARGIN", new_y="NEXT")


def wrap(text: str, measure: Callable[[str], float], width: float) -> list[str]:
    """Gives text broken into lines that fit `width`: at spaces, a word longer than a line cut in pieces,
    the text's own line breaks kept. Measures words, not characters (fpdf2's multi_cell measures the
    line again for every character it adds, which made a year's story take three times as long)."""
    lines: list[str] = []
    space = measure(" ")
    for paragraph in text.split("\n"):
        line, used = "", 0.0
        for word in paragraph.split(" "):
            size = measure(word)
            while size > width:  # a word wider than the page: on lines of its own, cut where it must
                if line:
                    lines.append(line)
                    line, used = "", 0.0
                cut = max((n for n in range(1, len(word) + 1) if measure(word[:n]) <= width), default=1)
                lines.append(word[:cut])
                word = word[cut:]
                size = measure(word)
            if line and used + space + size > width:
                lines.append(line)
                line, used = "", 0.0
            line, used = (f"{line} {word}", used + space + size) if line else (word, size)
        lines.append(line)
    return lines
