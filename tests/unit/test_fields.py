"""The input types every command and query share (API §2): what they refuse, and why."""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime

import pytest
from pydantic import BaseModel, ValidationError

from classledger.application.fields import (
    City,
    Day,
    Label,
    Line,
    Month,
    Paragraph,
    check_percent,
    unstorable_text,
)


class Sample(BaseModel):
    line: Line | None = None
    paragraph: Paragraph | None = None
    label: Label | None = None
    city: City | None = None
    day: Day | None = None
    month: Month | None = None


def error_type(**fields: object) -> str:
    with pytest.raises(ValidationError) as e:
        Sample.model_validate(fields)
    return str(e.value.errors()[0]["type"])


def test_no_text_anywhere_holds_a_control_character_or_a_lone_surrogate() -> None:
    # Every code point: refused exactly when Unicode calls it a control (Cc) or a
    # surrogate (Cs), except tab, LF and CR, which notes keep.
    for cp in range(0x110000):
        ch = chr(cp)
        refused = bool(unstorable_text({"x": ch}))
        assert refused == (unicodedata.category(ch) in ("Cc", "Cs") and ch not in "\t\n\r"), hex(cp)


def test_text_refusals() -> None:
    assert error_type(line="a\u0000b") == "control_character"
    assert error_type(line="a\nb") == "control_character"
    assert error_type(line="a\u2028b") == "control_character"
    assert Sample.model_validate({"paragraph": "a\nb\tc"}).paragraph == "a\nb\tc"
    assert error_type(paragraph="a\u0000") == "control_character"
    assert error_type(label="\u200b\ufeff") == "blank_text"
    assert error_type(label=" ") == "blank_text"
    assert error_type(city="-") == "city_without_key"
    assert Sample.model_validate({"city": "Nové Zámky", "label": "Ján"}).city == "Nové Zámky"


def test_the_net_names_every_field_and_key() -> None:
    errors = unstorable_text({"name": "a\u0000", "custom_fields": {"k\u0001": "ok", "list": ["fine", "\u0000"]}})
    assert [e["field"] for e in errors] == ["name", "custom_fields.k\u0001", "custom_fields.list.1"]
    assert {e["type"] for e in errors} == {"control_character"}


def test_days_are_written_one_way_within_the_calendar() -> None:
    assert Sample.model_validate({"day": "2026-01-31"}).day == date(2026, 1, 31)
    assert Sample.model_validate({"day": date(1900, 1, 1)}).day == date(1900, 1, 1)
    for bad in ("2026-01-01T00:00:00", " 2026-01-01", "20260101", 0, "2026-02-30", datetime(2026, 1, 1, tzinfo=UTC)):
        assert error_type(day=bad) == "date_format", bad
    for far in ("1899-12-31", "2200-01-01", "0001-01-01", "9999-12-31"):
        assert error_type(day=far) == "date_out_of_range", far
    assert Sample.model_validate({"day": "2026-01-31"}).model_dump(mode="json")["day"] == "2026-01-31"


def test_months() -> None:
    assert Sample.model_validate({"month": "2199-12"}).month == "2199-12"
    assert error_type(month="2026-13") == "month_format"
    assert error_type(month="0000-01") == "month_out_of_range"


@pytest.mark.parametrize(("text", "basis_points"), [("10", 1000), ("12.5", 1250), ("0.01", 1), ("100", 10_000),
                                                     ("100.00", 10_000)])
def test_percents(text: str, basis_points: int) -> None:
    assert check_percent(text) == basis_points
