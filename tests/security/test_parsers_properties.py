"""Property tests: no input makes a parser or validator fail with anything but
:class:`voices.errors.ValidationError` (a located message; nothing half done).

Each reader gets arbitrary text and bytes, and files that have the right header followed
by arbitrary cells (formulas, control characters, invalid UTF-8, huge and empty values),
which reach past the header checks into the row checks.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voices.errors import ValidationError

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])

HOSTILE_CELLS = ['=HYPERLINK("https://evil.example","x")', "+1", "-1", "@SUM(A1)", "\t",
                 "<script>alert(1)</script>", "'; DROP TABLE account; --", "\u202e", "\x00",
                 "", " ", "NaN", "inf", "-0", "1e309", "9" * 40, "2026-02-30", "31/12/1899",
                 "A" * 5000, "\ufeff", "\r\n", '"', ",,,", "é", "\U0001F600"]
cells = st.one_of(st.sampled_from(HOSTILE_CELLS), st.text(max_size=30),
                  st.from_regex(r"-?\d{1,4}(\.\d{1,3})?", fullmatch=True))


def _ok(call, *args, **kwargs):
    """Run ``call``: it may return or raise ValidationError, nothing else."""
    try:
        return call(*args, **kwargs)
    except ValidationError as error:
        assert error.problems and str(error)
        return None


def _csv(header: list[str], rows: list[list[str]]) -> str:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def files(header: list[str]):
    """Bytes of a file: the right header with arbitrary cells, or arbitrary bytes."""
    width = len(header)
    rows = st.lists(st.lists(cells, min_size=max(width - 1, 0), max_size=width + 1),
                    max_size=6)
    as_text = rows.map(lambda r: _csv(header, r))
    encoded = st.one_of(as_text.map(str.encode),
                        as_text.map(lambda t: t.encode("utf-8") + b"\xff\xfe\xc3("),
                        as_text.map(lambda t: t.encode("latin-1", "replace")))
    return st.one_of(encoded, st.binary(max_size=300))


def _path(content: bytes, suffix: str = ".csv") -> Path:
    folder = Path(tempfile.mkdtemp(prefix="voices-prop-"))
    path = folder / f"input{suffix}"
    path.write_bytes(content)
    return path


# ------------------------------------------------------------------ codes and small values

@SETTINGS
@given(st.one_of(st.text(max_size=20), st.sampled_from(HOSTILE_CELLS), st.integers(),
                 st.none(), st.floats()))
def test_ods_and_treatment_function_codes(value):
    from voices.core.codes import ods_code_kind, validate_ods_code, validate_treatment_function

    _ok(validate_ods_code, value)
    _ok(validate_treatment_function, value)
    if isinstance(value, str):
        _ok(ods_code_kind, value)


@SETTINGS
@given(st.one_of(st.text(max_size=20), st.sampled_from(HOSTILE_CELLS),
                 st.from_regex(r"[A-Z]{1,2}\d{1,2}[A-Z]? ?\d[A-Z]{2}", fullmatch=True),
                 st.integers(), st.none()))
def test_postcodes(value):
    from voices.listen.postcodes import parse_postcode

    _ok(parse_postcode, value)


@SETTINGS
@given(st.one_of(st.text(max_size=30), st.sampled_from(HOSTILE_CELLS), st.integers(),
                 st.floats(), st.datetimes(), st.dates(), st.none()),
       st.sampled_from([None, "%d/%m/%Y", "%Y-%m-%d %H:%M"]))
def test_feedback_dates(value, date_format):
    from voices.listen.importing import parse_date

    _ok(parse_date, value, date_format=date_format)


@SETTINGS
@given(st.one_of(st.text(max_size=30), st.sampled_from(HOSTILE_CELLS), st.dates(),
                 st.integers(), st.none()))
def test_snapshot_dates(value):
    from voices.access.snapshot import check_snapshot_date

    _ok(check_snapshot_date, value, today=dt.date(2026, 6, 1))


@SETTINGS
@given(st.one_of(st.text(max_size=30), st.sampled_from(HOSTILE_CELLS), st.integers(),
                 st.none()),
       st.sampled_from(["sex", "age_band", "ethnic_group", "disability", "carer"]))
def test_feedback_answers(value, field):
    from voices.listen.questions import equality_answer, fft_answer

    _ok(fft_answer, value)
    _ok(equality_answer, field, value)


@SETTINGS
@given(st.one_of(st.text(max_size=60), st.sampled_from(HOSTILE_CELLS)))
def test_partner_answers(value):
    from voices.involve.questions import normalise_phone, parse_area

    _ok(normalise_phone, value)
    _ok(parse_area, value)


@SETTINGS
@given(st.dictionaries(st.sampled_from(["name", "email", "phone", "area", "age_band", "sex",
                                        "csrf_token", "contact_method", "x"]),
                       st.one_of(st.sampled_from(HOSTILE_CELLS), st.text(max_size=40)),
                       max_size=5),
       st.sampled_from(["name", "email", "contact_method", "age_band", "area", "conditions",
                        "consent_contact", "adjustments", "sex"]))
def test_partner_questions(form, key):
    from starlette.datastructures import FormData

    from voices.involve.questions import get_question, parse_answer

    _ok(parse_answer, get_question(key), FormData(list(form.items())))


@SETTINGS
@given(st.lists(st.one_of(st.text(max_size=20), st.sampled_from(HOSTILE_CELLS),
                          st.from_regex(r"\w{1,8}=\w{0,8}", fullmatch=True)), max_size=4))
def test_import_column_mappings(pairs):
    from voices.listen.importing import mapping_from_pairs

    _ok(mapping_from_pairs, pairs)


# ------------------------------------------------------------------ text formats

@SETTINGS
@given(st.one_of(st.text(max_size=200), st.sampled_from(HOSTILE_CELLS),
                 st.recursive(st.one_of(st.none(), st.booleans(), st.integers(),
                                        st.text(max_size=10), st.floats()),
                              lambda inner: st.one_of(
                                  st.lists(inner, max_size=3),
                                  st.dictionaries(st.sampled_from(
                                      ["name", "rules", "weights", "measures", "target",
                                       "priority", "when", "points", "version", "x"]),
                                      inner, max_size=4)),
                              max_leaves=12).map(lambda v: __import__("yaml").safe_dump(v))))
def test_policy_and_scorecard_yaml(text):
    from voices.access.policy import parse_policy
    from voices.involve.community import parse_population_yaml
    from voices.measure.scorecard import parse_scorecard

    _ok(parse_policy, text)
    _ok(parse_scorecard, text)
    _ok(parse_population_yaml, text)


@SETTINGS
@given(files(["dimension", "group", "share"]), st.sampled_from(["p.csv", "p.yaml", "p.txt"]))
def test_community_population_files(content, name):
    from voices.involve.community import parse_population

    _ok(parse_population, content, name)


@SETTINGS
@given(files(["created_at", "service", "rating", "comment"]))
def test_listen_csv_decoding_and_reading(content):
    from voices.listen.importing import decode_csv, parse_csv

    decoded = _ok(decode_csv, content, file="feedback.csv")
    if decoded:
        _ok(parse_csv, decoded[0], file="feedback.csv")


@SETTINGS
@given(files(["id", "text", "theme"]))
def test_comments_files(content):
    from voices.listen.comments_file import read_comments

    _ok(read_comments, _path(content))


@SETTINGS
@given(files(["organisation", "service", "period", "response", "count"]))
def test_measure_count_files(content):
    from voices.measure.imports import read_table, validate_counts

    read = _ok(read_table, _path(content))
    if read is not None:
        _ok(validate_counts, read[0], source="counts.csv")


@SETTINGS
@given(files(["organisation", "service", "period", "measure", "value"]))
def test_measure_activity_files(content):
    from voices.measure.scorecard import read_activity, validate_activity

    frame = _ok(read_activity, _path(content))
    if frame is not None:
        _ok(validate_activity, frame, source="activity.csv")


@SETTINGS
@given(files(["pathway_id", "treatment_function_code", "clock_start_date",
              "clinical_priority", "imd_decile", "sex"]))
def test_waiting_list_snapshots(content):
    from voices.access.snapshot import read_snapshot

    _ok(read_snapshot, _path(content), snapshot_date=dt.date(2026, 3, 31))


@SETTINGS
@given(files(["Period", "Provider Org Code", "Commissioner Org Code", "RTT Part Type",
              "Treatment Function Code", "Gt 00 To 01 Weeks SUM 1", "Gt 104 Weeks SUM 1"]))
def test_rtt_extracts(content):
    from voices.access.rtt import read_rtt_extract

    _ok(read_rtt_extract, _path(content))


@SETTINGS
@given(files(["feature", "value", "min", "max"]), files(["id", "age", "sex"]))
def test_sortition_quotas_and_people(quotas_file, people_file):
    from voices.involve.sortition_csv import read_pool, read_quotas

    quotas = _ok(read_quotas, _path(quotas_file))
    if quotas is not None:
        _ok(read_pool, _path(people_file), quotas)


@SETTINGS
@given(files(["timestamp", "datetime", "comment-id", "author-id", "agrees", "disagrees",
              "moderated", "comment-body"]),
       files(["timestamp", "datetime", "comment-id", "voter-id", "vote"]))
def test_polis_files(comments, votes):
    from voices.codesign.polis_formats import read_comments, read_votes

    _ok(read_comments, _path(comments))
    _ok(read_votes, _path(votes))


@pytest.mark.parametrize("suffix", [".xlsx", ".parquet"])
@SETTINGS
@given(content=st.one_of(st.binary(max_size=200),
                         st.binary(max_size=200).map(lambda b: b"PK\x03\x04" + b),
                         st.binary(max_size=200).map(lambda b: b"PAR1" + b + b"PAR1")))
def test_spreadsheet_and_parquet_readers_refuse_broken_files(suffix, content):
    from voices.access.snapshot import read_table as read_snapshot_table
    from voices.measure.imports import read_table as read_measure_table

    path = _path(content, suffix)
    _ok(read_measure_table, path)
    _ok(read_snapshot_table, path)
    if suffix == ".xlsx":
        from voices.listen.comments_file import read_comments

        _ok(read_comments, path)


@SETTINGS
@given(st.dictionaries(st.sampled_from(["comment", "name", "csrf_token", "x"]),
                       st.one_of(st.sampled_from(HOSTILE_CELLS), st.text()), max_size=3),
       st.integers(min_value=0, max_value=50))
def test_form_text_is_always_bounded_text(form, limit):
    from voices.web.forms import form_text

    for name in ("comment", "missing"):
        value = form_text(form, name, limit)
        assert isinstance(value, str) and len(value) <= limit
