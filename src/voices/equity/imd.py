"""LSOA → Index of Multiple Deprivation lookup, from MHCLG's English Indices of Deprivation
"File 7" (all ranks, scores, deciles and population denominators).

IoD 2019 is published on 2011 LSOA codes and IoD 2025 on 2021 codes; the two are never
joined. Decile 1 is the most deprived 10% of LSOAs in England.

Source: Ministry of Housing, Communities and Local Government, English Indices of
Deprivation 2019 and 2025, File 7 (Open Government Licence v3.0).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from voices.equity.dimensions import imd_quintile
from voices.errors import ValidationError

_LSOA = re.compile(r"E0[01][0-9]{6}")

# GOV.UK pages that publish the files; the fetch command asks the GOV.UK content API for
# the attachment whose title starts with "File 7".
PUBLICATION_PAGES = {
    2019: "government/statistics/english-indices-of-deprivation-2019",
    2025: "government/statistics/english-indices-of-deprivation-2025",
}


@dataclass(frozen=True)
class LookupResult:
    """Deciles for the codes asked about, in the same order, with the codes not found."""

    deciles: list[int | None]
    unknown: list[str]

    @property
    def quintiles(self) -> list[int | None]:
        return [imd_quintile(d) for d in self.deciles]


class ImdLookup:
    """An IMD lookup loaded from a File 7 CSV (publisher's headers or simplified ones)."""

    def __init__(self, deciles: dict[str, int], *, year: int, lsoa_vintage: int,
                 source: str = "") -> None:
        self._deciles = deciles
        self.year = year
        self.lsoa_vintage = lsoa_vintage
        self.source = source

    def __len__(self) -> int:
        return len(self._deciles)

    def decile(self, lsoa: str) -> int | None:
        return self._deciles.get(lsoa.strip().upper()) if lsoa else None

    def lookup(self, codes: Iterable[str | None]) -> LookupResult:
        """Deciles for LSOA codes; codes not in this edition of the index are reported."""
        deciles: list[int | None] = []
        unknown: list[str] = []
        for code in codes:
            value = self.decile(code) if code else None
            deciles.append(value)
            if code and value is None:
                unknown.append(code)
        return LookupResult(deciles, unknown)

    @classmethod
    def from_csv(cls, path: str | Path) -> ImdLookup:
        path = Path(path)
        name = path.name
        if not path.is_file():
            raise ValidationError("The IMD file was not found", file=str(path),
                                  code="file_not_found")
        try:
            header = pl.read_csv(path, n_rows=0, infer_schema=False, glob=False).columns
        except Exception as exc:  # polars raises several types for unreadable files
            raise ValidationError(f"The IMD file could not be read as CSV ({type(exc).__name__})",
                                  file=name, code="unreadable_file") from None
        code_col, vintage = _find_code_column(header, name)
        decile_col = _find_column(header, name, ("imd_decile",),
                                  ("index of multiple deprivation", "decile"),
                                  "an IMD decile column such as 'IMD_decile'")
        frame = pl.read_csv(path, columns=[code_col, decile_col], infer_schema=False, glob=False)
        frame = frame.with_row_index("row", offset=2)
        bad = frame.filter(~pl.col(code_col).str.contains(r"^E0[01][0-9]{6}$")
                           | pl.col(code_col).is_null())
        if bad.height:
            first = bad.row(0, named=True)
            raise ValidationError(f"'{first[code_col]}' is not an English LSOA code", file=name,
                                  row=first["row"], column=code_col,
                                  expected="a code like E01000001", code="invalid_lsoa")
        decile = pl.col(decile_col).cast(pl.Int64, strict=False)
        bad = frame.filter(decile.is_null() | ~decile.is_between(1, 10))
        if bad.height:
            first = bad.row(0, named=True)
            raise ValidationError(f"'{first[decile_col]}' is not a decile", file=name,
                                  row=first["row"], column=decile_col,
                                  expected="a whole number from 1 to 10", code="invalid_decile")
        if frame[code_col].n_unique() != frame.height:
            dup = frame.filter(pl.col(code_col).is_duplicated()).row(0, named=True)
            raise ValidationError(f"LSOA {dup[code_col]} appears more than once", file=name,
                                  row=dup["row"], column=code_col, code="duplicate_lsoa")
        mapping = dict(zip(frame[code_col].to_list(), frame[decile_col].cast(pl.Int64).to_list(),
                           strict=True))
        year = 2019 if vintage == 2011 else 2025
        return cls(mapping, year=year, lsoa_vintage=vintage, source=str(path))


def _find_code_column(header: list[str], name: str) -> tuple[str, int]:
    for col in header:
        low = col.lower().strip()
        if low in ("lsoa11_code", "lsoa11cd") or ("lsoa code" in low and "2011" in low):
            return col, 2011
        if low in ("lsoa21_code", "lsoa21cd") or ("lsoa code" in low and "2021" in low):
            return col, 2021
    raise ValidationError("No LSOA code column found", file=name, row=1,
                          expected="a column 'lsoa11_code', 'lsoa21_code', 'LSOA code (2011)' "
                                   "or 'LSOA code (2021)'", code="missing_column")


def _find_column(header: list[str], name: str, exact: tuple[str, ...], words: tuple[str, ...],
                 expected: str) -> str:
    for col in header:
        if col.lower().strip() in exact:
            return col
    for col in header:
        low = col.lower()
        if all(w in low for w in words):
            return col
    raise ValidationError("A required column is missing", file=name, row=1, expected=expected,
                          code="missing_column")


def find_file7_url(content_api_json: str) -> str:
    """From a GOV.UK content-API response for a publication, the File 7 CSV's address."""
    data = json.loads(content_api_json)
    for doc in data.get("details", {}).get("attachments", []) or []:
        title = (doc.get("title") or "").lower()
        url = doc.get("url") or ""
        if title.startswith("file 7") and url.lower().endswith(".csv"):
            return url
    raise ValidationError("The publication page lists no File 7 CSV", code="file7_not_found")
