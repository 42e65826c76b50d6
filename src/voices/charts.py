"""Charts that need no JavaScript: Altair specifications rendered to SVG (or PNG) on the
server with vl-convert, each with a plain-English summary and the numbers behind it.

In a page, a chart is an ``<img>`` with a data URI (so the strict Content Security Policy
holds), its summary as the alternative text and caption, and a table of its data.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

import altair as alt
import vl_convert as vlc

NHS_BLUE = "#005eb8"
NHS_COLOURS = ["#005eb8", "#ed8b00", "#009639", "#7c2855", "#00a9ce", "#425563", "#ffb81c",
               "#330072", "#da291c", "#768692"]


def theme(chart: alt.Chart) -> alt.Chart:
    """NHS colours and readable sizes."""
    # A font list: Arial where installed, the system sans-serif otherwise (PNG text needs one)
    return chart.configure(font="Arial, sans-serif").configure_axis(
        labelFontSize=13, titleFontSize=14, labelColor="#212b32", titleColor="#212b32"
    ).configure_legend(labelFontSize=13, titleFontSize=14).configure_range(
        category=NHS_COLOURS).configure_view(strokeWidth=0)


def to_svg(chart: alt.Chart | dict) -> str:
    spec = chart if isinstance(chart, dict) else theme(chart).to_dict()
    return vlc.vegalite_to_svg(spec)


def to_png(chart: alt.Chart | dict, scale: float = 2.0) -> bytes:
    spec = chart if isinstance(chart, dict) else theme(chart).to_dict()
    return vlc.vegalite_to_png(spec, scale=scale)


@dataclass(frozen=True)
class Figure:
    """A chart ready for a page: the image, what it shows in words, and its data."""

    title: str
    summary: str
    svg: str
    columns: Sequence[str]
    rows: Sequence[Sequence[object]]

    @property
    def data_uri(self) -> str:
        return "data:image/svg+xml;base64," + base64.b64encode(self.svg.encode()).decode()


def figure(chart: alt.Chart, *, title: str, summary: str, columns: Sequence[str],
           rows: Sequence[Sequence[object]]) -> Figure:
    return Figure(title, summary, to_svg(chart), list(columns), [list(r) for r in rows])
