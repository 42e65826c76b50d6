"""Results pages, the downloadable results report and the proposal document.

Everything here is published: it is built from :func:`voices.codesign.results.
published_results` (counts rounded to 5, counts from 1 to 7 hidden, percentages and
intervals from the rounded counts). A report is one document model rendered two ways: a
self-contained HTML file with a print stylesheet, and a PDF drawn with fpdf2 (pure Python)
with the opinion map as a PNG.
"""

from __future__ import annotations

import html
import io
from dataclasses import dataclass, field

import altair as alt
import polars as pl
from sqlalchemy.orm import Session

from voices.charts import NHS_COLOURS, Figure, figure, to_png
from voices.codesign import ideas as idea_service
from voices.codesign import service
from voices.codesign.models import Conversation, Idea, Stage
from voices.codesign.results import PublishedResults, group_name, published_results
from voices.core import audit
from voices.core.models import Account
from voices.errors import ValidationError

FORMATS = ("html", "pdf")


# ----------------------------------------------------------------- the map chart


def map_figure(results: PublishedResults, *, png: bool = False) -> tuple[Figure | None,
                                                                        bytes | None]:
    """The opinion map as a chart: one dot per small cluster of people who voted alike,
    coloured by opinion group. No axes: the map has no units."""
    points = results.map_points
    if not points or not results.groups:
        return None, None
    frame = pl.DataFrame({"x": [p["x"] for p in points], "y": [p["y"] for p in points],
                          "Opinion group": [group_name(p["group"]) for p in points]})
    names = [g.name for g in results.groups]
    chart = alt.Chart(frame).mark_circle(
        size=120, opacity=0.85, stroke="#212b32", strokeWidth=0.5).encode(
        x=alt.X("x:Q", axis=None), y=alt.Y("y:Q", axis=None),
        color=alt.Color("Opinion group:N", scale=alt.Scale(domain=names,
                                                           range=NHS_COLOURS[:len(names)])),
        shape=alt.Shape("Opinion group:N", scale=alt.Scale(domain=names)),
    ).properties(width=520, height=360)
    rows = [[group_name(p["group"]), f"{p['x']:.2f}", f"{p['y']:.2f}"] for p in points]
    fig = figure(chart, title="Opinion map", summary=results.description,
                 columns=["Opinion group", "Across", "Up"], rows=rows)
    return fig, (to_png(chart) if png else None)


def results_context(db: Session, conversation: Conversation) -> dict:
    """What the results page shows (all published figures)."""
    record = service.opinion_map(db, conversation)
    texts, numbers = service.statement_texts(db, conversation)
    results = None
    chart = None
    if record is not None and record.summary:
        results = published_results(record.summary, texts=texts, numbers=numbers,
                                    profile=service.participation_profile(db, conversation),
                                    population=conversation.population)
        chart, _ = map_figure(results)
    return {"conversation": conversation, "map": record, "results": results, "chart": chart,
            "statement_ids": {number: sid for sid, number in numbers.items()}}


# -------------------------------------------------------------- document model


@dataclass
class Block:
    kind: str                       # "h2", "p", "table", "figure"
    text: str = ""
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    svg: str = ""
    png: bytes = b""


@dataclass
class Document:
    title: str
    subtitle: str
    blocks: list[Block] = field(default_factory=list)

    def h2(self, text: str) -> None:
        self.blocks.append(Block("h2", text))

    def p(self, text: str) -> None:
        self.blocks.append(Block("p", text))

    def table(self, caption: str, columns: list[str], rows: list[list[object]]) -> None:
        self.blocks.append(Block("table", caption, columns, [[str(c) for c in r] for r in rows]))


_CSS = """
body { font-family: Arial, sans-serif; color: #212b32; max-width: 960px; margin: 2rem auto;
       padding: 0 1rem; line-height: 1.45; }
h1 { font-size: 2rem; margin-bottom: .25rem; } h2 { color: #005eb8; margin-top: 2rem; }
.subtitle { color: #4c6272; font-size: 1.15rem; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0 1.5rem; font-size: .95rem; }
caption { text-align: left; font-weight: bold; padding-bottom: .4rem; }
th, td { text-align: left; border-bottom: 1px solid #d8dde0; padding: .35rem .5rem; }
figure { margin: 1rem 0; } figure img { max-width: 100%; }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; }
  table, figure { break-inside: avoid; } }
"""


def render_html(document: Document) -> bytes:
    parts = [(f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>'
             f"{html.escape(document.title)}</title><style>{_CSS}</style></head><body>"),
             f"<h1>{html.escape(document.title)}</h1>",
             f'<p class="subtitle">{html.escape(document.subtitle)}</p>']
    for block in document.blocks:
        if block.kind == "h2":
            parts.append(f"<h2>{html.escape(block.text)}</h2>")
        elif block.kind == "p":
            parts.append("".join(f"<p>{html.escape(line)}</p>"
                                 for line in block.text.split("\n\n") if line.strip()))
        elif block.kind == "figure":
            fig = Figure("", block.text, block.svg, [], [])
            parts.append(f'<figure><img src="{fig.data_uri}" alt="{html.escape(block.text)}">'
                         f"<figcaption>{html.escape(block.text)}</figcaption></figure>")
        else:
            head = "".join(f'<th scope="col">{html.escape(c)}</th>' for c in block.columns)
            body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row)
                           + "</tr>" for row in block.rows)
            parts.append(f"<table><caption>{html.escape(block.text)}</caption><thead><tr>"
                         f"{head}</tr></thead><tbody>{body}</tbody></table>")
    parts.append("</body></html>")
    return "\n".join(parts).encode("utf-8")


_PLAIN = str.maketrans({"\u2013": "-", "\u2014": "-", "\u2018": "'", "\u2019": "'",
                        "\u201c": '"', "\u201d": '"', "\u2026": "...", "\u2192": "->"})


def _latin(text: str) -> str:
    """What the PDF's built-in Helvetica can draw."""
    return str(text).translate(_PLAIN).encode("latin-1", "replace").decode("latin-1")


def render_pdf(document: Document) -> bytes:
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    pdf = FPDF(format="A4")
    pdf.set_title(_latin(document.title))
    pdf.set_creator("Voices")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def write(text: str, size: float, style: str = "", height: float = 5.5) -> None:
        pdf.set_font("Helvetica", style, size)
        pdf.multi_cell(width, height, _latin(text), new_x="LMARGIN", new_y="NEXT")

    write(document.title, 18, "B", 8)
    write(document.subtitle, 11, "", 6)
    for block in document.blocks:
        if block.kind == "h2":
            pdf.ln(3)
            pdf.set_text_color(0, 94, 184)
            write(block.text, 14, "B", 7)
            pdf.set_text_color(33, 43, 50)
        elif block.kind == "p":
            for line in block.text.split("\n\n"):
                write(line, 10)
                pdf.ln(1)
        elif block.kind == "figure":
            if block.png:
                pdf.image(io.BytesIO(block.png), w=min(width, 150))
            write(block.text, 8, "", 4)
            pdf.ln(2)
        else:
            write(block.text, 10, "B")
            pdf.set_font("Helvetica", "", 8)
            widths = [3.0] + [1.2] * (len(block.columns) - 1)
            with pdf.table(col_widths=widths, line_height=4.5, padding=1,
                           headings_style=FontFace(emphasis="BOLD",
                                                   fill_color=(232, 237, 238)),
                           borders_layout="HORIZONTAL_LINES") as table:
                header = table.row()
                for column in block.columns:
                    header.cell(_latin(column))
                for values in block.rows:
                    row = table.row()
                    for value in values:
                        row.cell(_latin(value))
            pdf.ln(3)
    return bytes(pdf.output())


def _render(document: Document, fmt: str) -> bytes:
    if fmt not in FORMATS:
        raise ValidationError(f"unknown format '{str(fmt)[:10]}'", column="format",
                              expected="html or pdf")
    return render_html(document) if fmt == "html" else render_pdf(document)


# ------------------------------------------------------------------ the results


PRIVACY_NOTE = ("To protect people's privacy, every number of people is rounded to the nearest "
                "5 and numbers from 1 to 7 are hidden (shown as *). Percentages and their "
                "95% intervals are worked out from the rounded numbers.")


def results_document(db: Session, conversation: Conversation, *, png: bool = False
                     ) -> Document:
    context = results_context(db, conversation)
    results: PublishedResults | None = context["results"]
    record = context["map"]
    document = Document(f"What people said: {conversation.question}",
                        f"{conversation.organisation.name}. Conversation opened "
                        f"{conversation.opens_at:%d %B %Y}"
                        + (f", closed {conversation.closes_at:%d %B %Y}"
                           if conversation.has_closed() else ", still open") + ".")
    if conversation.background:
        document.p(conversation.background)
    if results is None:
        document.p("Nobody has voted yet, so there are no results.")
        return document
    document.p(f"About {results.participants} people voted. The opinion map was last updated "
               f"on {record.updated_at:%d %B %Y at %H:%M} UTC. {PRIVACY_NOTE}")
    document.h2("The opinion map")
    chart, image = map_figure(results, png=png)
    if chart is not None:
        document.blocks.append(Block("figure", results.description, svg=chart.svg,
                                     png=image or b""))
    else:
        document.p(results.description)
    document.h2("Common ground: what every group supports")
    if results.common_ground:
        document.table("Statements most people in every opinion group agree with",
                       ["Statement", "Agree (95% interval)"]
                       + [g.name for g in results.groups],
                       [[s.text, s.agree.text] + [share.text for share in s.by_group]
                        for s in results.common_ground])
    else:
        document.p("No statement has the support of most people in every opinion group yet.")
    document.h2("What sets each group apart")
    for group in results.groups:
        document.table(f"{group.name} (about {group.members} people)",
                       ["Statement", "This group", "Everyone"],
                       [[s.text, f"{'Agree' if way == 'agree' else 'Disagree'}: {share.text}",
                         (s.agree if way == "agree" else s.disagree).text]
                        for s, way, share in group.distinctive])
    if results.participation:
        document.h2("Who took part")
        for item in results.participation:
            document.table(f"{item.label}: people who took part and the local population",
                           [item.label, "People", "Share of those who answered",
                            "Local population"],
                           [[label, people, "*" if pct is None else f"{pct:.0f}%",
                             "Not set" if ref is None else f"{ref:.0f}%"]
                            for label, people, pct, ref in item.rows]
                           + [["Did not say", item.not_answered, "", ""]])
    if results.equity:
        document.h2("Agreement by equity group")
        document.p("Agreement with each statement by the groups people told us about, with 95% "
                   "intervals. 'Differs' marks a statement where the groups' agreement "
                   "differs by more than chance would explain (chi-square test, corrected for "
                   "testing many statements).")
        for breakdown in results.equity:
            document.table(f"Agreement by {breakdown.label.lower()}",
                           ["Statement"] + breakdown.levels + ["Differs"],
                           [[s.text] + [share.text for share in shares]
                            + ["Yes" if differs else "No"]
                            for s, shares, differs in breakdown.statements])
    document.h2("Every statement")
    document.table("Agreement with every statement", ["Number", "Statement", "Agree",
                                                      "Disagree", "People who voted"],
                   [[s.number, s.text, s.agree.text, s.disagree.text, s.voted]
                    for s in results.statements])
    return document


def results_report(db: Session, conversation: Conversation, fmt: str, *,
                   actor: Account | None = None) -> bytes:
    content = _render(results_document(db, conversation, png=fmt == "pdf"), fmt)
    audit.record(db, "codesign.results.export", actor=actor,
                 record_type="codesign_conversation", record_id=conversation.id,
                 organisation_id=conversation.organisation_id,
                 summary=f"Downloaded the results report ({fmt.upper()})")
    return content


# -------------------------------------------------------------------- proposals


def proposal_context(db: Session, idea: Idea) -> dict:
    return {"idea": idea, "history": idea_service.history(db, idea),
            "ready": idea.stage in (Stage.propose, Stage.agreed) and bool(idea.proposal.strip())}


def proposal_document(db: Session, idea: Idea, fmt: str, *, actor: Account | None = None
                      ) -> bytes:
    """The proposal as a document: what is proposed, where it came from, who supports it,
    and how it got here (the history)."""
    document = Document(f"Proposal: {idea.title}",
                        f"{idea.organisation.name}. Stage: {idea.stage.label}. Last changed "
                        f"{idea.updated_at:%d %B %Y}.")
    if idea.summary:
        document.h2("Summary")
        document.p(idea.summary)
    document.h2("What we propose")
    document.p(idea.proposal or "The proposal has not been written yet.")
    if idea.conversation is not None and idea.statement is not None:
        document.h2("Where it came from")
        document.p(f"The statement \u201c{idea.statement.text}\u201d had support across the "
                   f"opinion groups in the conversation \u201c{idea.conversation.question}\u201d.")
    document.h2("Who supports it")
    document.table("Supporting organisations", ["Organisation", "What they bring"],
                   [[s.name, s.contribution] for s in idea.supporters] or [["None yet", ""]])
    document.table("Lived-experience partners", ["Partner", "Role"],
                   [[p.account.display_name, p.role] for p in idea.partners]
                   or [["None yet", ""]])
    document.h2("How the idea got here")
    document.table("What changed and why", ["When", "Stage", "What changed", "Why"],
                   [[f"{e.at:%d %b %Y}", Stage(e.stage).label, e.what, e.why]
                    for e in idea_service.history(db, idea)])
    audit.record(db, "codesign.proposal.export", actor=actor, record_type="codesign_idea",
                 record_id=idea.id, organisation_id=idea.organisation_id,
                 summary=f"Downloaded the proposal ({fmt.upper()})")
    return _render(document, fmt)
