"""What a value of each kind of column may be written as: the coercions the loader makes, and
the ones it refuses (docs/loading.md, "Types").

The same rules hold for every format: a native JSON line, a CSV cell (always text), a record
mapped from OTLP or Langfuse, an SDK record. A value is converted only when the conversion
cannot surprise: "18" is the integer 18 and "2150.5" the number 2150.5 (CSV has nothing but
text), but `true` is not the number 1, "yes" is not a boolean and 1767225600 is not a time, so
nobody finds a timestamp in 1970 that they did not write. Every schema here is pydantic-core's
own (no Python call per value): native JSON Lines are validated on the loader's hot path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field
from pydantic_core import core_schema

INT32_MAX = 2**31 - 1
# A timestamp is text that starts with a date (YYYY-MM-DD...), or a datetime object: never a
# number, nor text of digits only, which pydantic would take for seconds since 1970.
ISO_DATE_PREFIX = r"^\s*\d{4}-\d{2}-\d{2}"
# Instants Python can hold in UTC (PostgreSQL holds more, but identities compare instants in
# UTC): 0001-01-01T00:00:00+05:00 is a day before year 1 in UTC, and is refused.
EARLIEST = datetime(1, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
INTEGER_TEXT = r"^\s*[+-]?\d+\s*$"
BOOLEAN_TEXT = r"(?i)^\s*(true|false|t|f)\s*$"

TIMESTAMP_EXPECTED = "an ISO 8601 time with a UTC offset, such as 2026-01-05T10:00:00Z"
TIMESTAMP_RANGE = "a time between 0001-01-01 and 9999-12-31 in UTC"
INTEGER_EXPECTED = "an integer"
BOOLEAN_EXPECTED = "true or false"


@dataclass(frozen=True)
class Default:
    """Annotated metadata: the column's default in the database (SQL), which a record may
    leave to it (tables.py applies it; a test holds it to the catalogue)."""

    sql: str


@dataclass(frozen=True)
class Precision:
    """Annotated metadata: a numeric column's precision and scale (numeric(precision, scale)),
    for the writers that need them (the lake's Parquet decimals; asp_telemetry.lake)."""

    precision: int
    scale: int


class _Schema:
    """Annotated metadata that replaces a type's core schema with `schema`."""

    def __init__(self, schema: core_schema.CoreSchema):
        self.schema = schema

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> core_schema.CoreSchema:
        return self.schema


def _expected(schema: core_schema.CoreSchema, error_type: str, what: str) -> core_schema.CoreSchema:
    return core_schema.custom_error_schema(
        schema, custom_error_type=error_type, custom_error_message=f"input should be {what}"
    )


def timestamp_schema() -> core_schema.CoreSchema:
    """ISO 8601 text with a date, a time and an offset (or an aware datetime), within the
    range. From JSON the gate is a string pattern only: no union on the hot path."""
    parse = core_schema.datetime_schema(tz_constraint="aware", ge=EARLIEST, le=LATEST)
    text = core_schema.str_schema(pattern=ISO_DATE_PREFIX)
    either = core_schema.union_schema([core_schema.is_instance_schema(datetime), text], mode="left_to_right")
    return core_schema.json_or_python_schema(
        json_schema=core_schema.chain_schema([_expected(text, "timestamp_type", TIMESTAMP_EXPECTED), parse]),
        python_schema=core_schema.chain_schema([_expected(either, "timestamp_type", TIMESTAMP_EXPECTED), parse]),
    )


def integer_schema(minimum: int, maximum: int = INT32_MAX) -> core_schema.CoreSchema:
    """An integer, an integral number (18.0) or text of digits ("18"); never a boolean."""
    shape = _expected(
        core_schema.union_schema(
            [
                core_schema.int_schema(strict=True),
                core_schema.chain_schema([core_schema.float_schema(strict=True), core_schema.int_schema()]),
                core_schema.chain_schema([core_schema.str_schema(pattern=INTEGER_TEXT), core_schema.int_schema()]),
            ],
            mode="left_to_right",
        ),
        "integer_type", INTEGER_EXPECTED,
    )
    return core_schema.chain_schema([shape, core_schema.int_schema(ge=minimum, le=maximum)])


def boolean_schema() -> core_schema.CoreSchema:
    """true or false, or the text true/false/t/f in any case (CSV, PostgreSQL's output)."""
    return _expected(
        core_schema.union_schema(
            [
                core_schema.bool_schema(strict=True),
                core_schema.chain_schema([core_schema.str_schema(pattern=BOOLEAN_TEXT), core_schema.bool_schema()]),
            ],
            mode="left_to_right",
        ),
        "boolean_type", BOOLEAN_EXPECTED,
    )


Timestamp = Annotated[datetime, _Schema(timestamp_schema())]
Boolean = Annotated[bool, _Schema(boolean_schema())]


def integer(minimum: int = 0, maximum: int = INT32_MAX) -> Any:
    return Annotated[int, _Schema(integer_schema(minimum, maximum))]


def numeric(precision: int, scale: int, minimum: Decimal | None = None) -> Any:
    """numeric(precision, scale): |value| < 10^(precision - scale). A number or text of one
    ("2150.5"); never a boolean (pydantic's decimal refuses them), NaN or infinity."""
    bound = Decimal(10) ** (precision - scale)
    return Annotated[
        Decimal,
        Field(gt=-bound if minimum is None else None, ge=minimum, lt=bound, allow_inf_nan=False),
        Precision(precision, scale),
    ]
