"""Postcodes on feedback: keep only the district, and find deprivation when a lookup is set.

People may give the first part of their postcode ("LS1") or all of it ("LS1 4AP"). Voices
keeps only the first part (the *outward code*, or postcode district). When an operator has
configured a postcode → LSOA lookup file (``VOICES_POSTCODE_LSOA_PATH``, for example an
extract of the ONS Postcode Directory or the National Statistics Postcode Lookup) and an
IMD file (``VOICES_IMD_PATH``), a full postcode is looked up to its LSOA and that LSOA to its
IMD decile; the full postcode itself is never stored. Without a lookup, or with only the first
part, deprivation is stored as not known.

References
----------
Office for National Statistics. *ONS Postcode Directory (ONSPD) user guide*: postcode
    format (outward code: area and district; inward code: sector and unit) and the ``pcds``,
    ``lsoa11``/``lsoa21`` fields.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from voices.errors import ValidationError

_OUTWARD = r"(?:[A-Z]{1,2}[0-9][A-Z0-9]?|GIR)"
_INWARD = r"[0-9][A-Z]{2}"
_FULL = re.compile(rf"^({_OUTWARD}) ?({_INWARD})$")
_DISTRICT = re.compile(rf"^{_OUTWARD}$")


@dataclass(frozen=True)
class Postcode:
    """A checked postcode: its district, and the whole postcode if it was given."""

    district: str
    full: str | None = None


def parse_postcode(text: object, *, row: int | None = None, column: str | None = "postcode",
                   file: str | None = None) -> Postcode | None:
    """Check a UK postcode or postcode district; blank gives None.

    Returns
    -------
    Postcode or None
        ``Postcode("LS1", "LS1 4AP")`` for a full postcode, ``Postcode("LS1")`` for the first
        part only.

    Raises
    ------
    ValidationError
        If it is neither.
    """
    if text is None:
        return None
    cleaned = " ".join(str(text).upper().split())
    if not cleaned:
        return None
    match = _FULL.match(cleaned) or _FULL.match(cleaned.replace(" ", ""))
    if match:
        return Postcode(match.group(1), f"{match.group(1)} {match.group(2)}")
    if _DISTRICT.match(cleaned):
        return Postcode(cleaned)
    raise ValidationError("Enter a postcode in the right format, like LS1 or LS1 4AP", row=row,
                          column=column, file=file, expected="a UK postcode or its first part",
                          code="invalid_postcode")


class PostcodeLookup:
    """Postcode → LSOA code, from a CSV with a postcode column and an LSOA column.

    Column names understood (any case): postcode ``pcds``, ``pcd``, ``pcd2``, ``postcode``;
    LSOA ``lsoa21cd``, ``lsoa21``, ``lsoa11cd``, ``lsoa11``, ``lsoa_code``.
    """

    POSTCODE_COLUMNS = ("pcds", "pcd", "pcd2", "postcode")
    LSOA_COLUMNS = ("lsoa21cd", "lsoa21", "lsoa11cd", "lsoa11", "lsoa_code", "lsoa")

    def __init__(self, lsoa_by_postcode: dict[str, str], *, lsoa_vintage: int | None = None):
        self._lsoa = lsoa_by_postcode
        self.lsoa_vintage = lsoa_vintage

    def __len__(self) -> int:
        return len(self._lsoa)

    def lsoa(self, postcode: Postcode | None) -> str | None:
        if postcode is None or postcode.full is None:
            return None
        return self._lsoa.get(postcode.full.replace(" ", ""))

    @classmethod
    def from_csv(cls, path: str | Path) -> PostcodeLookup:
        """Read a lookup file; rows without an LSOA (terminated or non-English postcodes
        often have none) are left out."""
        path = Path(path)
        if not path.is_file():
            raise ValidationError("The postcode lookup file was not found", file=str(path),
                                  code="file_not_found")
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = [h.strip().lower() for h in next(reader, [])]
            pc = next((header.index(c) for c in cls.POSTCODE_COLUMNS if c in header), None)
            ls = next((header.index(c) for c in cls.LSOA_COLUMNS if c in header), None)
            if pc is None or ls is None:
                raise ValidationError("No postcode or LSOA column", file=path.name, row=1,
                                      expected="columns such as 'pcds' and 'lsoa21cd'",
                                      code="missing_column")
            vintage = 2011 if "11" in header[ls] else 2021 if "21" in header[ls] else None
            mapping: dict[str, str] = {}
            for row in reader:
                if len(row) <= max(pc, ls):
                    continue
                code = row[ls].strip().upper()
                if code:
                    mapping[row[pc].replace(" ", "").upper()] = code
        return cls(mapping, lsoa_vintage=vintage)
