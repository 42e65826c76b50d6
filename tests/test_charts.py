from __future__ import annotations

import base64

import altair as alt
import polars as pl

from voices.charts import figure
from voices.web.templating import make_environment


def test_a_figure_is_an_svg_with_words_and_numbers():
    data = pl.DataFrame({"decile": ["1", "10"], "positive": [71.5, 88.0]})
    chart = alt.Chart(data).mark_bar().encode(x="decile:N", y="positive:Q")
    fig = figure(chart, title="Positive by decile", summary="Lowest in decile 1 (71.5%).",
                 columns=["Decile", "% positive"], rows=data.rows())
    assert fig.svg.startswith("<svg") and "</svg>" in fig.svg
    assert base64.b64decode(fig.data_uri.split(",", 1)[1]).decode() == fig.svg
    env = make_environment()
    html = env.from_string('{% import "macros.html" as v %}{{ v.figure(fig, "f1") }}').render(
        fig=fig)
    assert 'alt="Lowest in decile 1 (71.5%)."' in html
    assert "<th scope=\"col\" class=\"nhsuk-table__header\">% positive</th>" in html
    assert "<td class=\"nhsuk-table__cell\">88.0</td>" in html


def test_png_charts_have_their_words():
    from voices.charts import to_png

    data = pl.DataFrame({"x": ["a", "b"], "y": [1, 2]})
    bare = alt.Chart(data).mark_bar().encode(x="x:N", y="y:Q")
    titled = bare.properties(title="A long title that must be drawn as text")
    # text makes the image bigger: a chart whose font is missing draws no letters at all
    assert len(to_png(titled)) > len(to_png(bare)) + 500
