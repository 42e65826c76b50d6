from __future__ import annotations

import polars as pl
import pytest

from voices.equity.imd import ImdLookup, find_file7_url
from voices.errors import ValidationError


def test_loads_2019_on_2011_lsoas(shared_data):
    lookup = ImdLookup.from_csv(shared_data / "imd" / "imd2019_england_lsoa11.csv")
    assert lookup.year == 2019 and lookup.lsoa_vintage == 2011
    assert len(lookup) == 32_844  # the README's count of LSOAs
    assert lookup.decile("E01000001") == 9
    result = lookup.lookup(["E01000002", "E01999999", None])
    assert result.deciles == [10, None, None]
    assert result.unknown == ["E01999999"]
    assert result.quintiles == [5, None, None]


def test_loads_2025_on_2021_lsoas_and_matches_the_file(shared_data):
    path = shared_data / "imd" / "imd2025_england_lsoa21.csv"
    lookup = ImdLookup.from_csv(path)
    assert lookup.year == 2025 and len(lookup) == 33_755
    sample = pl.read_csv(path, n_rows=500)
    for code, decile in zip(sample["lsoa21_code"], sample["IMD_decile"], strict=True):
        assert lookup.decile(code) == decile
    counts = pl.read_csv(path)["IMD_decile"].value_counts()
    assert counts.height == 10  # every decile present


def test_accepts_the_publishers_long_headers(tmp_path):
    path = tmp_path / "File_7 [2025].csv"  # a name with pattern characters is read as it is
    path.write_text(
        "LSOA code (2021),LSOA name (2021),Index of Multiple Deprivation (IMD) Rank (where 1 is "
        "most deprived),Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived "
        "10% of LSOAs)\nE01000001,City of London 001A,26525,8\nE01000002,City of London 001B,"
        "31203,10\n")
    lookup = ImdLookup.from_csv(path)
    assert lookup.year == 2025 and lookup.decile("e01000001") == 8


def test_bad_rows_are_located(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("lsoa11_code,IMD_decile\nE01000001,3\nE01000002,11\n")
    with pytest.raises(ValidationError) as err:
        ImdLookup.from_csv(path)
    assert err.value.row == 3 and err.value.column == "IMD_decile"
    path.write_text("postcode,IMD_decile\nAB1,3\n")
    with pytest.raises(ValidationError, match="LSOA"):
        ImdLookup.from_csv(path)


def test_file7_is_found_in_a_govuk_content_response():
    body = ('{"details": {"attachments": [{"title": "File 1: index", "url": "https://a/1.xlsx"},'
            '{"title": "File 7: all ranks, scores, deciles", "url": "https://a/File_7.csv"}]}}')
    assert find_file7_url(body) == "https://a/File_7.csv"
    with pytest.raises(ValidationError):
        find_file7_url('{"details": {"attachments": []}}')
