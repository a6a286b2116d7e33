"""Small, explicit form handling: declared fields, conversion, translated field errors.

A view builds a :class:`Form` from fields, calls ``validate()`` on POST and either saves
``form.data`` or renders the form again; the ``field`` macro in ``core:templates/macros.pt``
shows each field with its error.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from pyramid.request import Request

from core.i18n import _

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Invalid(ValueError):
    """A field value is not acceptable; the argument is a translation string."""


@dataclass(frozen=True)
class Field:
    """A form field: how to show it and how to read it.

    ``type`` is one of text, email, password, textarea, select, checkbox, date, decimal,
    integer. ``validator`` receives the converted value and raises :class:`Invalid`.
    """

    name: str
    label: Any
    type: str = "text"
    required: bool = False
    options: tuple[tuple[str, Any], ...] = ()
    max_length: int | None = 200
    min_length: int | None = None
    help: Any = None
    validator: Callable[[Any], Any] | None = None
    autocomplete: str | None = None


@dataclass
class BoundField:
    """A field with its current raw value and translated error, for the template."""

    name: str
    label: str
    type: str
    value: str
    error: str | None
    required: bool
    options: list[tuple[str, str]]
    help: str | None
    autocomplete: str | None
    checked: bool = False


def _convert(f: Field, raw: str, present: bool) -> Any:
    if f.type == "checkbox":
        return present
    raw = raw.strip() if f.type != "password" else raw
    if raw == "":
        if f.required:
            raise Invalid(_("This field is required."))
        return None
    if f.max_length is not None and len(raw) > f.max_length and f.type != "textarea":
        raise Invalid(_("At most ${n} characters.", mapping={"n": f.max_length}))
    if f.min_length is not None and len(raw) < f.min_length:
        raise Invalid(_("At least ${n} characters.", mapping={"n": f.min_length}))
    if f.type == "email":
        if not EMAIL_RE.match(raw):
            raise Invalid(_("Enter a valid e-mail address."))
        return raw.lower()
    if f.type == "select":
        if raw not in {value for value, _label in f.options}:
            raise Invalid(_("Choose one of the options."))
        return raw
    if f.type == "date":
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            raise Invalid(_("Enter a date as YYYY-MM-DD.")) from None
    if f.type == "decimal":
        try:
            value = Decimal(raw.replace(" ", "").replace("\xa0", "").replace(",", "."))
        except InvalidOperation:
            raise Invalid(_("Enter a number.")) from None
        if not value.is_finite():
            raise Invalid(_("Enter a number."))
        return value
    if f.type == "integer":
        try:
            return int(raw)
        except ValueError:
            raise Invalid(_("Enter a whole number.")) from None
    return raw


class Form:
    """A set of fields bound to a request (and optionally to initial values)."""

    def __init__(
        self,
        request: Request,
        fields: Iterable[Field],
        initial: Mapping[str, Any] | None = None,
    ) -> None:
        self.request = request
        self.fields = list(fields)
        self.raw: dict[str, str] = {
            f.name: "" if (initial or {}).get(f.name) is None else str(initial[f.name])
            for f in self.fields
        }
        self.checked: dict[str, bool] = {
            f.name: bool((initial or {}).get(f.name)) for f in self.fields if f.type == "checkbox"
        }
        self.data: dict[str, Any] = {}
        self.errors: dict[str, str] = {}
        self.form_error: str | None = None

    def validate(self, params: Mapping[str, str] | None = None) -> bool:
        """Read and convert the POSTed values; True when every field is valid."""
        params = self.request.POST if params is None else params
        self.errors = {}
        self.data = {}
        for f in self.fields:
            present = f.name in params
            raw = params.get(f.name, "")
            raw = raw if isinstance(raw, str) else ""
            if f.type != "password":
                self.raw[f.name] = raw
            if f.type == "checkbox":
                self.checked[f.name] = present
            try:
                value = _convert(f, raw, present)
                if f.validator is not None and value is not None:
                    checked = f.validator(value)
                    if checked is not None:
                        value = checked
                self.data[f.name] = value
            except Invalid as exc:
                self.errors[f.name] = self.request.translate(exc.args[0])
        return not self.errors

    def add_error(self, name: str, message: Any) -> None:
        """Attach an error found after validation (e.g. a duplicate) to a field."""
        self.errors[name] = self.request.translate(message)

    def set_form_error(self, message: Any) -> None:
        """An error about the form as a whole, shown above the fields."""
        self.form_error = self.request.translate(message)

    def __getitem__(self, name: str) -> BoundField:
        """The bound field ``name`` for the template."""
        f = next(f for f in self.fields if f.name == name)
        translate = self.request.translate
        return BoundField(
            name=f.name,
            label=translate(f.label),
            type=f.type,
            value=self.raw.get(f.name, ""),
            error=self.errors.get(f.name),
            required=f.required,
            options=[(value, translate(label)) for value, label in f.options],
            help=translate(f.help) if f.help is not None else None,
            autocomplete=f.autocomplete,
            checked=self.checked.get(f.name, False),
        )

    @property
    def bound(self) -> list[BoundField]:
        """All fields, bound, in order."""
        return [self[f.name] for f in self.fields]


def choices(values: Iterable[tuple[str, Any]]) -> tuple[tuple[str, Any], ...]:
    """Options for a select field."""
    return tuple(values)


__all__ = ["BoundField", "Field", "Form", "Invalid", "choices"]
