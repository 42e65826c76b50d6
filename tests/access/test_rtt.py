"""The RTT full CSV extract, checked against the figures in ../shared/data/rtt/README.md."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from access_support import older_rtt_extract
from voices.access.rtt import histogram_percentile, read_rtt_extract, waiting_list_summary
from voices.errors import ValidationError

FILE = "rtt_full_extract_sample_RBD_2024-11.csv"


@pytest.fixture(scope="module")
def extract(shared_data):
    return read_rtt_extract(shared_data / "rtt" / FILE)


def test_waiting_list_total_matches_the_readme_check_figures(extract):
    # ../shared/data/rtt/README.md: "Check: Part_2, C_999, all commissioners: 21,702
    # pathways, 57.8% within 18 weeks, 647 over 52 weeks."
    (row,) = waiting_list_summary(extract, part="Part_2", level="total").iter_rows(named=True)
    assert row["provider_code"] == "RBD"
    assert row["pathways"] == 21_702
    assert round(row["pct_within_18"], 1) == 57.8
    assert row["over_52"] == 647


def test_a_file_name_with_square_brackets_is_read_as_that_file(shared_data, tmp_path):
    copy = tmp_path / "rtt [Nov].csv"
    copy.write_bytes((shared_data / "rtt" / FILE).read_bytes())
    (row,) = waiting_list_summary(read_rtt_extract(copy)).iter_rows(named=True)
    assert row["pathways"] == 21_702


def test_specialty_rows_add_up_to_the_total_and_are_never_double_counted(extract):
    total = waiting_list_summary(extract, level="total")
    detail = waiting_list_summary(extract, level="specialty")
    assert "C_999" not in detail["treatment_function_code"].to_list()
    assert detail["pathways"].sum() == total["pathways"].item() == 21_702
    assert detail["over_52"].sum() == total["over_52"].item()
    assert detail["within_18"].sum() == total["within_18"].item()


def test_histogram_percentile_interpolates_within_the_band():
    # 10 pathways in 0-1 weeks, 10 in 1-2 weeks: the median is the end of the first
    # band; the 75th percentile is half-way through the second.
    counts = np.array([[10, 10, 0]])
    assert histogram_percentile(counts, 0.5)[0] == pytest.approx(1.0)
    assert histogram_percentile(counts, 0.75)[0] == pytest.approx(1.5)
    assert np.isnan(histogram_percentile(np.zeros((1, 3)), 0.5)[0])


def test_summary_rejects_unknown_parts_and_levels(extract):
    with pytest.raises(ValidationError, match="not an RTT part"):
        waiting_list_summary(extract, part="Part_9")
    with pytest.raises(ValidationError, match="not a level"):
        waiting_list_summary(extract, level="trust")


def _write_variant(shared_data, tmp_path, change):
    raw = pl.read_csv(shared_data / "rtt" / FILE, infer_schema=False)
    path = tmp_path / "rtt.csv"
    change(raw).write_csv(path)
    return path


def test_bands_that_do_not_add_up_are_refused_with_their_row(shared_data, tmp_path):
    def corrupt(raw):
        return raw.with_columns(pl.when(pl.int_range(pl.len()) == 3).then(pl.lit("999"))
                                .otherwise(pl.col("Gt 05 To 06 Weeks SUM 1"))
                                .alias("Gt 05 To 06 Weeks SUM 1"))

    with pytest.raises(ValidationError) as excinfo:
        read_rtt_extract(_write_variant(shared_data, tmp_path, corrupt))
    assert excinfo.value.row == 5 and excinfo.value.file == "rtt.csv"
    assert "do not add up" in excinfo.value.message


def test_text_in_a_count_and_missing_columns_are_refused(shared_data, tmp_path):
    def text(raw):
        return raw.with_columns(pl.lit("lots").alias("Total All"))

    with pytest.raises(ValidationError) as excinfo:
        read_rtt_extract(_write_variant(shared_data, tmp_path, text))
    assert excinfo.value.column == "Total All" and excinfo.value.row == 2

    with pytest.raises(ValidationError, match="Treatment Function Code"):
        read_rtt_extract(_write_variant(shared_data, tmp_path,
                                        lambda raw: raw.drop("Treatment Function Code")))


def test_an_older_extract_that_stops_at_52_weeks_leaves_longer_waits_not_known(
        shared_data, tmp_path):
    # Extracts before April 2021 end with an open band "Gt 52 Weeks SUM 1": how many
    # waited over 65 weeks cannot be known from them, so it is not reported as 0.
    extract = read_rtt_extract(_write_variant(shared_data, tmp_path, older_rtt_extract))
    assert extract.open_band == 52
    (row,) = waiting_list_summary(extract, level="total").iter_rows(named=True)
    assert row["pathways"] == 21_702 and row["over_52"] == 647
    assert row["over_65"] is None and row["over_78"] is None and row["over_104"] is None
    detail = waiting_list_summary(extract, level="specialty")
    assert detail["over_52"].sum() == 647 and detail["over_65"].null_count() == detail.height


_rtt_header = ("Period,Provider Org Code,Commissioner Org Code,RTT Part Type,"
               "Treatment Function Code,Gt 00 To 01 Weeks SUM 1,Gt 01 To 02 Weeks SUM 1,"
               "Gt 02 Weeks SUM 1,Total,Patients with unknown clock start date,Total All\n")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=300),
                 st.lists(st.lists(st.one_of(st.text(max_size=6), st.integers(-3, 50)
                                             .map(str)), min_size=11, max_size=11),
                          max_size=5).map(lambda rows: (_rtt_header + "".join(
                              ",".join(r).replace("\n", " ") + "\n" for r in rows)).encode())))
def test_the_reader_raises_nothing_but_validation_errors(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("rtt") / "rtt.csv"
    path.write_bytes(data)
    try:
        extract = read_rtt_extract(path)
        waiting_list_summary(extract, level="specialty")
    except ValidationError:
        pass
