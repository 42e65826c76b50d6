"""Validation of NHS organisation (ODS) codes and treatment-function codes.

Pure functions: each returns the normalised code or raises a located
:class:`~voices.errors.ValidationError`.
"""

from __future__ import annotations

import re

from voices.errors import ValidationError

# Families of Organisation Data Service codes Voices expects to see. Source: NHS England
# Organisation Data Service, "ODS code formats" (organisation types and their code shapes).
ODS_PATTERNS: dict[str, re.Pattern[str]] = {
    "NHS trust": re.compile(r"R[A-Z0-9]{2}"),
    "NHS trust site": re.compile(r"R[A-Z0-9]{4}"),
    "integrated care board or commissioning region": re.compile(r"Q[A-Z0-9]{2}"),
    "NHS England region": re.compile(r"Y[0-9]{2}"),
    "sub-ICB location": re.compile(r"[0-9]{2}[A-Z]"),
    "GP practice": re.compile(r"[A-HJ-NP-Y][0-9]{5}"),
    "independent sector provider": re.compile(r"N[A-Z0-9]{2}(?:[A-Z0-9]{2})?"),
    "non-NHS organisation (charity, hospice, Healthwatch)": re.compile(r"[0-9][A-Z0-9]{4}"),
    "local authority": re.compile(r"[0-9]{3}"),
}

ODS_EXPECTED = "an ODS code of 3 to 6 letters and numbers, such as RBD, QSL or A81001"


def validate_ods_code(value: object, *, column: str = "ods_code", row: int | None = None,
                      file: str | None = None) -> str:
    """Return the ODS code in upper case, or raise if it is not a recognised ODS code shape."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("Enter an ODS code", column=column, row=row, file=file,
                              expected=ODS_EXPECTED, code="invalid_ods_code")
    code = value.strip().upper()
    for pattern in ODS_PATTERNS.values():
        if pattern.fullmatch(code):
            return code
    raise ValidationError(f"'{_show(value)}' is not an ODS code", column=column, row=row,
                          file=file, expected=ODS_EXPECTED, code="invalid_ods_code")


def ods_code_kind(code: str) -> str | None:
    """Which family an (already valid) ODS code belongs to, for display."""
    for kind, pattern in ODS_PATTERNS.items():
        if pattern.fullmatch(code):
            return kind
    return None


# Treatment functions used in NHS England's RTT returns (main specialty groups), with the
# "Other" groups. Source: NHS England, RTT waiting times guidance, treatment function codes.
TREATMENT_FUNCTIONS: dict[str, str] = {
    "100": "General Surgery", "101": "Urology", "104": "Colorectal Surgery",
    "105": "Hepatobiliary and Pancreatic Surgery", "106": "Upper Gastrointestinal Surgery",
    "107": "Vascular Surgery", "108": "Spinal Surgery", "110": "Trauma and Orthopaedics",
    "120": "Ear, Nose and Throat", "130": "Ophthalmology", "140": "Oral Surgery",
    "150": "Neurosurgery", "160": "Plastic Surgery", "170": "Cardiothoracic Surgery",
    "300": "General Internal Medicine", "301": "Gastroenterology", "320": "Cardiology",
    "330": "Dermatology", "340": "Respiratory Medicine", "400": "Neurology",
    "410": "Rheumatology", "420": "Paediatrics", "430": "Elderly Medicine",
    "501": "Obstetrics", "502": "Gynaecology", "710": "Adult Mental Illness",
    "X02": "Other – Medical Services", "X03": "Other – Mental Health Services",
    "X04": "Other – Paediatric Services", "X05": "Other – Surgical Services",
    "X06": "Other – Other Services",
}

TFC_EXPECTED = "a 3-digit treatment function code such as 110, or X02–X06"


def validate_treatment_function(value: object, *, column: str = "treatment_function_code",
                                row: int | None = None, file: str | None = None) -> str | None:
    """Return the treatment-function code ('110', 'X02'), accepting RTT's 'C_110' form.

    Empty values mean the service has no treatment function and return ``None``.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip().upper()
    if text.startswith("C_"):
        text = text[2:]
    if re.fullmatch(r"[1-9][0-9]{2}", text) or re.fullmatch(r"X0[1-6]", text):
        return text
    raise ValidationError(f"'{_show(value)}' is not a treatment function code", column=column,
                          row=row, file=file, expected=TFC_EXPECTED,
                          code="invalid_treatment_function")


def _show(value: object, limit: int = 40) -> str:
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "…"
