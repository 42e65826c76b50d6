"""Form errors in the NHS service manual pattern: a summary at the top linking to each
field, and the same message beside the field."""

from __future__ import annotations

from collections.abc import Mapping

from voices.errors import ValidationError, VoicesError


class FormErrors:
    """Field → message, in the order the fields appear on the page."""

    def __init__(self, field_map: Mapping[str, str] | None = None) -> None:
        self._errors: dict[str, str] = {}
        # maps a ValidationError's column to the form field id that shows it
        self._field_map = dict(field_map or {})

    def add(self, field: str, message: str) -> None:
        self._errors.setdefault(field, message)

    def add_error(self, error: VoicesError, default_field: str) -> None:
        if isinstance(error, ValidationError):
            for problem in error.problems:
                column = problem.column or default_field
                self.add(self._field_map.get(column, column), problem.message)
        else:
            self.add(self._field_map.get(default_field, default_field), error.message)

    def get(self, field: str) -> str | None:
        return self._errors.get(field)

    def message(self, field: str) -> dict | None:
        """The ``errorMessage`` parameter for an nhsuk form macro, or None."""
        text = self._errors.get(field)
        return {"text": text} if text else None

    def summary(self) -> list[dict]:
        return [{"text": text, "href": f"#{field}"} for field, text in self._errors.items()]

    def __bool__(self) -> bool:
        return bool(self._errors)

    def as_dict(self) -> dict[str, str]:
        return dict(self._errors)


def form_text(form: Mapping, name: str, max_length: int = 10_000) -> str:
    """A submitted text field as a string, never a file, trimmed and bounded."""
    value = form.get(name)
    if value is None or not isinstance(value, str):
        return ""
    return value.strip()[:max_length]
