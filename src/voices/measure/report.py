"""The board report: `voices measure report --org ODS --period 2026-10 --format html|pdf`.

Experience first, then inequality, then the organisation's measures of success, then
activity. A report leaves the analyst role, so **every** figure in it is published ones:
counts go through disclosure control (:mod:`voices.measure.published`) and percentages,
intervals, gaps, slope index and funnel flags are worked out from the rounded counts only.
In its tables every whole number is a count of people and none is from 1 to 7.

HTML is one self-contained file (charts as SVG inside it). PDF is drawn with fpdf2, a small
pure-Python library (no browser, no system libraries), with charts as PNG.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from voices.charts import Figure
from voices.core import audit
from voices.core.models import Account
from voices.errors import ValidationError
from voices.measure import figures, service
from voices.measure.published import percent, shown

FORMATS = ("html", "pdf")


@dataclass
class Table:
    caption: str
    columns: list[str]
    rows: list[list[str]]
    numeric: list[bool] = field(default_factory=list)   # right-align these columns


@dataclass
class Section:
    title: str
    paragraphs: list[str] = field(default_factory=list)
    blocks: list[Table | Figure] = field(default_factory=list)


@dataclass
class Report:
    title: str
    subtitle: str
    notes: list[str]
    sections: list[Section]

    def tables(self) -> list[Table]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, Table)]


def _fft_table(caption: str, rows: Sequence[dict], first: str) -> Table:
    return Table(caption, [first, "People who answered", "Good", "Poor",
                           "Neither or don't know", "% good (95% interval)"],
                 [[r["label"], shown(r["responses"]), shown(r["positive"]),
                   shown(r["negative"]), shown(r["other"]),
                   percent(r["pct_positive"]) + (
                       f" ({figures.interval(r['pct_positive_lower'], r['pct_positive_upper'])})"
                       if r["pct_positive"] is not None else "")] for r in rows],
                 [False, True, True, True, True, True])


def _value(row: dict, key: str = "value") -> str:
    value = row.get(key)
    if value is None:
        return "No data"
    return f"{value:.1f}%" if row["unit"] == "%" else f"{value:.1f} {row['unit']}".strip()


def build_report(session: Session, organisation: str, period: str | None = None, *,
                 png: bool = False) -> Report:
    """Assemble the board report for an organisation (ODS code) and month, from the
    database. ``png`` adds PNG images of the charts (for PDF)."""
    scope = service.resolve_scope(session, None, organisation=organisation, period=period)
    if scope.period is None:
        raise ValidationError(f"there are no feedback figures for {scope.label} yet",
                              column="--org", expected="an organisation with imported figures")
    data = service.published_measures(session, scope)
    month = data["period_name"]
    label = scope.label
    counts = (lambda r: shown(r["responses"]))
    notes = [
        ("Figures come from the Friends and Family Test. Good experience means the answer was "
         "Very good or Good; poor means Poor or Very poor; every answer counts, Don't know "
         "included."),
        ("To protect people's privacy every number of people is rounded to the nearest 5 and "
         "any number from 1 to 7 is hidden (*), with other cells hidden where they would let "
         "a hidden one be worked out. Every percentage, interval, gap and comparison is "
         "worked out from the rounded numbers."),
    ]
    sections = []

    # --- experience
    total = next((r for r in data["services"] if r["is_total"]), None)
    experience = Section("Experience")
    if total is not None:
        experience.paragraphs.append(
            f"In {month}, {percent(total['pct_positive'])} of the people who answered said their "
            f"experience of {label} was good, and {percent(total['pct_negative'])} said it "
            "was poor.")
    trend_rows = [{**r, "period": r["code"], "period_name": r["label"]}
                  for r in data["trend"] if not r["is_total"]]
    trend = figures.trend_figure(trend_rows, title=f"Good experience, {label}, by month",
                                 counts=counts, png=png)
    if trend is not None:
        experience.blocks.append(trend)
    experience.blocks.append(_fft_table(f"Good experience by month, {label}", data["trend"],
                                        "Month"))
    experience.blocks.append(_fft_table(f"Each service in {month}", data["services"],
                                        "Service"))
    shown_services = [r for r in data["services"]
                      if not r["is_total"] and r["pct_positive"] is not None]
    if len(shown_services) >= 2:
        funnel = service.funnel_points([("", r["label"], None) for r in shown_services],
                                       [r["positive"] for r in shown_services],
                                       [r["responses"] for r in shown_services])
        outside = [p for p in funnel["points"] if p["flag"] != "within limits"]
        experience.paragraphs.append(
            "Compared with each other on a funnel plot (95% and 99.8% limits around the "
            f"overall {percent(funnel['target_pct'])}, allowing for the extra spread real "
            "services show): " + ("; ".join(f"{p['service']} is {p['flag']}" for p in outside)
                                  if outside else "every service is within the limits") + ".")
        chart = figures.funnel_figure(funnel, title=f"Funnel plot, {label}, {month}", png=png)
        if chart is not None:
            experience.blocks.append(chart)
    sections.append(experience)

    # --- inequality
    inequality = Section("Inequality")
    if data["dimensions"]:
        inequality.paragraphs.append(
            f"These figures put together the 12 months from {data['from_period_name']} to "
            f"{month}, so each group has enough people. Differences are in percentage points "
            "from the comparison group.")
    slope = data.get("sii")
    if slope and slope.get("sii_pct_points") is not None:
        inequality.paragraphs.append(
            "People from the least deprived areas were "
            f"{abs(slope['sii_pct_points']):.1f} percentage points "
            f"{'more' if slope['sii_pct_points'] > 0 else 'less'} likely to report a good "
            "experience than people from the most deprived areas (slope index of inequality, "
            f"95% interval {slope['sii_lower']:.1f} to {slope['sii_upper']:.1f}; relative index "
            f"{slope['rii']:.3f}).")
    elif slope:
        inequality.paragraphs.append(f"The slope index of inequality was not worked out: "
                                     f"{slope['reason']}.")
    for dim in data["dimensions"]:
        table = _fft_table(f"Good experience by {dim['label'].lower()}, compared with "
                           f"{dim['reference']}", dim["rows"], "Group")
        table.columns.append("Difference")
        table.numeric.append(True)
        for row, source in zip(table.rows, dim["rows"], strict=True):
            row.append(figures.points(source["gap"]) if source["gap"] is not None else "–")
            if source["is_reference"]:
                row[0] += " (comparison)"
        inequality.blocks.append(table)
    if not inequality.paragraphs and not inequality.blocks:
        inequality.paragraphs.append("No breakdown by equity group has been imported yet.")
    sections.append(inequality)

    # --- measures of success (scorecard), from rounded counts
    card = service.scorecard(session, scope, rounded=True)
    success = Section("Measures of success")
    success.paragraphs.append(f"{card['title']}. {card['in_force']}")
    if card["place"]:
        success.blocks.append(Table(
            f"{label}: each measure in {month} against its target",
            ["Measure", "This month", "Target", "Status", "Trend"],
            [[r["title"], _value(r), _value(r, "target") + {
                "higher": " or more", "lower": " or less",
                "closer_to_zero": " either way"}[r["direction"]], r["status"], r["trend"]]
             for r in card["place"]], [False, True, True, False, False]))
        chart = figures.scorecard_figure(card["place"], title=f"Measures of success, {label}",
                                         png=png)
        if chart is not None:
            success.blocks.append(chart)
    sections.append(success)

    # --- activity
    activity = Section("Activity")
    kpis = service.activity_frame(session, scope.organisation_ids, [scope.period])
    if kpis.height:
        rows = kpis.sort("measure", "service").iter_rows(named=True)
        activity.blocks.append(Table(
            f"Activity figures, {month}", ["Measure", "Service", "Value"],
            [[r["measure"].replace("_", " "), r["service"] or f"{label} (whole organisation)",
              f"{r['value']:.1f}" + ("%" if r["measure"].endswith("_pct") else "")]
             for r in rows], [False, False, True]))
    else:
        activity.paragraphs.append("No activity figures have been imported for this month.")
    sections.append(activity)
    return Report(title=f"{label}: experience and inequality",
                  subtitle=f"{month}. Produced by Voices on {dt.date.today():%d %B %Y}.",
                  notes=notes, sections=sections)


# ----------------------------------------------------------------------------- HTML

_CSS = """
body { font-family: Arial, Helvetica, sans-serif; color: #212b32; max-width: 60rem;
       margin: 2rem auto; padding: 0 1rem; line-height: 1.45; }
h1 { font-size: 2rem; margin-bottom: 0.2rem; } h2 { border-top: 4px solid #005eb8;
padding-top: 0.5rem; margin-top: 2.5rem; }
.subtitle { color: #4c6272; font-size: 1.2rem; margin-top: 0; }
.notes { background: #f0f4f5; border-left: 6px solid #005eb8; padding: 0.6rem 1rem; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0 1.5rem; font-size: 0.95rem; }
caption { text-align: left; font-weight: bold; margin-bottom: 0.4rem; }
th, td { border-bottom: 1px solid #d8dde0; padding: 0.35rem 0.5rem; text-align: left;
         vertical-align: top; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1rem 0 1.5rem; } figure img { max-width: 100%; height: auto; }
figcaption { font-size: 0.95rem; }
"""


def _html_table(table: Table) -> str:
    def cls(j: int) -> str:
        return ' class="num"' if j < len(table.numeric) and table.numeric[j] else ""

    head = "".join(f'<th scope="col"{cls(j)}>{html.escape(c)}</th>'
                   for j, c in enumerate(table.columns))
    body = "".join("<tr>" + "".join(f"<td{cls(j)}>{html.escape(str(v))}</td>"
                                    for j, v in enumerate(row)) + "</tr>" for row in table.rows)
    return (f"<table><caption>{html.escape(table.caption)}</caption><thead><tr>{head}</tr>"
            f"</thead><tbody>{body}</tbody></table>")


def _html_figure(fig: Figure) -> str:
    return (f'<figure><img src="{fig.data_uri}" alt="{html.escape(fig.summary)}">'
            f"<figcaption><strong>{html.escape(fig.title)}.</strong> "
            f"{html.escape(fig.summary)}</figcaption></figure>")


def render_html(report: Report) -> str:
    parts = [(f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
              f"<title>{html.escape(report.title)}</title><style>{_CSS}</style></head><body>"),
             f"<h1>{html.escape(report.title)}</h1>",
             f'<p class="subtitle">{html.escape(report.subtitle)}</p>',
             '<div class="notes">' + "".join(f"<p>{html.escape(n)}</p>" for n in report.notes)
             + "</div>"]
    for section in report.sections:
        parts.append(f"<h2>{html.escape(section.title)}</h2>")
        parts += [f"<p>{html.escape(p)}</p>" for p in section.paragraphs]
        for block in section.blocks:
            parts.append(_html_table(block) if isinstance(block, Table) else _html_figure(block))
    parts.append("</body></html>")
    return "\n".join(parts)


# ------------------------------------------------------------------------------ PDF

_PLAIN = str.maketrans({"\u2013": "-", "\u2014": "-", "\u2018": "'", "\u2019": "'",
                        "\u201c": '"', "\u201d": '"', "\u2026": "...", "\u00b2": "2",
                        "\u2212": "-"})


def _latin(text: str) -> str:
    """Text the PDF's built-in font can draw (it has no en dash or curly quotes)."""
    return str(text).translate(_PLAIN).encode("latin-1", "replace").decode("latin-1")


def render_pdf(report: Report) -> bytes:
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_title(_latin(report.title))
    pdf.set_creator("Voices")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin
    pdf.set_font("Helvetica", "B", 20)
    pdf.multi_cell(width, 9, _latin(report.title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 12)
    pdf.multi_cell(width, 7, _latin(report.subtitle), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("Helvetica", "", 9)
    for note in report.notes:
        pdf.multi_cell(width, 4.5, _latin(note), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
    heading = FontFace(emphasis="BOLD", fill_color=(232, 237, 238))
    for section in report.sections:
        pdf.ln(4)
        pdf.set_font("Helvetica", "B", 15)
        pdf.set_text_color(0, 94, 184)
        pdf.multi_cell(width, 8, _latin(section.title), new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(33, 43, 50)
        pdf.set_font("Helvetica", "", 10)
        for paragraph in section.paragraphs:
            pdf.multi_cell(width, 5, _latin(paragraph), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1.5)
        for block in section.blocks:
            if isinstance(block, Table):
                pdf.set_font("Helvetica", "B", 10)
                pdf.multi_cell(width, 5, _latin(block.caption), new_x="LMARGIN", new_y="NEXT")
                pdf.set_font("Helvetica", "", 8)
                first = 2.2 if len(block.columns) > 3 else 1.6
                widths = [first] + [1.0] * (len(block.columns) - 1)
                with pdf.table(col_widths=widths, headings_style=heading, line_height=4.5,
                               text_align=["LEFT"] + ["RIGHT" if n else "LEFT" for n in
                                                      block.numeric[1:len(block.columns)]]
                               + ["LEFT"] * max(0, len(block.columns) - len(block.numeric)),
                               borders_layout="HORIZONTAL_LINES", padding=1) as table:
                    header = table.row()
                    for column in block.columns:
                        header.cell(_latin(column))
                    for values in block.rows:
                        row = table.row()
                        for value in values:
                            row.cell(_latin(value))
                pdf.ln(3)
            elif getattr(block, "png", b""):
                pdf.image(io.BytesIO(block.png), w=min(width, 170))
                pdf.set_font("Helvetica", "", 8)
                pdf.multi_cell(width, 4, _latin(f"{block.title}. {block.summary}"),
                               new_x="LMARGIN", new_y="NEXT")
                pdf.ln(3)
    return bytes(pdf.output())


def write_report(session: Session, organisation: str, period: str | None, fmt: str,
                 out: str | Path, *, actor: Account | None = None) -> Path:
    """Build the report and write it to ``out`` in one step (a temporary file renamed into
    place, so a half-written report never appears). The export is audited."""
    if fmt not in FORMATS:
        raise ValidationError(f"unknown format '{fmt[:20]}'", column="--format",
                              expected="html or pdf")
    out = Path(out)
    if out.is_dir():
        raise ValidationError("the output path is a folder", file=str(out),
                              expected="a file name such as report.html")
    report = build_report(session, organisation, period, png=fmt == "pdf")
    payload = render_html(report).encode("utf-8") if fmt == "html" else render_pdf(report)
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{out.name}-", dir=out.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(payload)
        os.chmod(temporary, 0o644)
        os.replace(temporary, out)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    scope_org = service.resolve_scope(session, None, organisation=organisation).organisation
    audit.record(session, "measure.report.export", actor=actor, record_type="organisation",
                 record_id=scope_org.id if scope_org else None,
                 organisation_id=scope_org.id if scope_org else None,
                 summary=f"Exported the {fmt.upper()} board report", detail={"format": fmt})
    return out
