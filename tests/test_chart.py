"""The /stats chart: a PNG of a fixed size that Pillow opens, the same bytes for the same data, other
bytes for other data, and no failure on empty, short, long or oddly named data."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from bot.chart import HEIGHT, PALETTE, WIDTH, reflections_chart

WEEKS = [f"W{n}" for n in range(5, 13)]
SERIES = {
    "Action learning set A": [0, 1, 3, 2, 5, 4, 6, 2],
    "Action learning set B": [1, 1, 0, 0, 2, 3, 1, 0],
}


def opened(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


def test_the_chart_is_a_png_of_the_expected_size() -> None:
    png = reflections_chart(SERIES, WEEKS, "Reflections per week - Certified Public Manager")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = opened(png)
    assert image.format == "PNG" and image.size == (WIDTH, HEIGHT) == (1000, 640)
    colours = image.convert("RGB").getcolors(maxcolors=1_000_000) or []
    assert len(colours) > 10  # lines, legend and text were drawn, not a blank canvas


def test_the_same_data_gives_the_same_bytes() -> None:
    assert reflections_chart(SERIES, WEEKS, "T") == reflections_chart(
        dict(SERIES), list(WEEKS), "T"
    )


def test_other_data_gives_another_chart() -> None:
    base = reflections_chart(SERIES, WEEKS, "T")
    more = dict(SERIES, **{"Action learning set B": [1, 1, 0, 0, 2, 3, 1, 1]})
    assert reflections_chart(more, WEEKS, "T") != base
    assert reflections_chart(SERIES, WEEKS, "Another title") != base
    assert reflections_chart(SERIES, [f"wk {n}" for n in range(5, 13)], "T") != base
    renamed = {
        "Set C": SERIES["Action learning set A"],
        "Action learning set B": SERIES["Action learning set B"],
    }
    assert reflections_chart(renamed, WEEKS, "T") != base


@pytest.mark.parametrize(
    ("series", "weeks"),
    [
        ({}, WEEKS),  # no sets
        ({}, []),  # nothing at all
        (SERIES, []),  # zero weeks
        ({"Only set": [4]}, ["W12"]),  # one set, one week
        ({"Only set": [0] * 8}, WEEKS),  # all zero
        ({f"Set {i}": [(i * w) % 7 for w in range(8)] for i in range(10)}, WEEKS),  # ten sets
        (
            {f"Set {i}": [i] * 30 for i in range(60)},
            [f"W{n}" for n in range(30)],
        ),  # more than the legend holds
        (
            {"Short": [1, 2], "Long": list(range(20))},
            WEEKS,
        ),  # lists shorter and longer than the weeks
        (
            {"Leergroep Coëlo – Ærø ß ☃ 日本": [1] * 8, "x" * 300: [2] * 8},
            ["wk 1"] * 8,
        ),  # letters the font lacks
        ({"Big": [10_000, 0, 5, 99_999, 1, 2, 3, 4]}, WEEKS),
    ],
)
def test_odd_data_still_gives_a_chart(series: dict[str, list[int]], weeks: list[str]) -> None:
    image = opened(reflections_chart(series, weeks, "Reflections per week"))
    assert image.size == (WIDTH, HEIGHT)


def test_ten_sets_each_get_a_colour_of_their_own() -> None:
    series = {f"Set {i}": [0] * 7 + [i + 1] for i in range(10)}
    image = opened(reflections_chart(series, WEEKS, "Ten")).convert("RGB")
    present = {colour for _, colour in image.getcolors(maxcolors=1_000_000) or []}
    assert all(colour in present for colour in PALETTE)
