"""Turning a file's rows into leads (pure, no I/O): column mapping and row validation.

The schema's column names are recognised case- and accent-insensitively, `--map` options
name the others, and the remaining columns become the lead's `call_data`. A row becomes a
`LeadRow` (E.164 phone, time zone, JSON call_data) or a `Reject` (line, value, reason).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lead_files import normalise_header
from phone import InvalidPhoneError
from phone_fast import e164_and_zone

# Lead columns a file may fill, with their widths (None: no limit checked here).
FIELDS: dict[str, int | None] = {
    "nombre": 100,
    "apellidos": 150,
    "telefono": None,
    "timezone": 64,
    "preferencia_horario": 16,
}
PREFERENCES = {
    "morning": "morning",
    "manana": "morning",
    "afternoon": "afternoon",
    "tarde": "afternoon",
}


class ImportConfigError(ValueError):
    """Bad arguments or a file the import cannot use (exit code 2)."""


# --- pure: columns and rows -----------------------------------------------------------------


@dataclass(frozen=True)
class ColumnMap:
    """Where each lead field is in a row, and the other columns (for call_data)."""

    fields: dict[str, int]
    extras: dict[int, str]


def parse_map_options(options: Sequence[str]) -> dict[str, str]:
    """`["Teléfono móvil=telefono"]` -> {normalised header: field}; ImportConfigError if bad."""
    mapping = {}
    for option in options:
        source, sep, target = option.rpartition("=")
        target_field = normalise_header(target)
        if not sep or not normalise_header(source):
            raise ImportConfigError(f"--map {option!r}: expected 'Column name=field'")
        if target_field not in FIELDS:
            raise ImportConfigError(
                f"--map {option!r}: unknown field {target.strip()!r}; fields: {', '.join(FIELDS)}"
            )
        mapping[normalise_header(source)] = target_field
    return mapping


def build_column_map(header: Sequence[str], overrides: dict[str, str]) -> ColumnMap:
    """Map the header to lead fields: `--map` first, then the schema's own names.

    Raises ImportConfigError when no column gives the phone, when two columns give one
    field, or when a --map names a column the file does not have.
    """
    normalised = [normalise_header(h) for h in header]
    missing = [source for source in overrides if source not in normalised]
    if missing:
        raise ImportConfigError(f"--map names columns the file lacks: {', '.join(missing)}")
    fields: dict[str, int] = {}
    for index, name in enumerate(normalised):
        target = overrides.get(name) or (name if name in FIELDS else None)
        if target is None:
            continue
        if target in fields:
            raise ImportConfigError(
                f"two columns give {target!r}: {header[fields[target]]!r} and {header[index]!r}"
            )
        fields[target] = index
    if "telefono" not in fields:
        raise ImportConfigError(
            "no phone column: name one 'telefono' or use --map \"Your column=telefono\""
        )
    extras = {
        i: h.strip() or f"column_{i + 1}" for i, h in enumerate(header) if i not in fields.values()
    }
    return ColumnMap(fields=fields, extras=extras)


@dataclass(frozen=True)
class LeadRow:
    """A valid row, ready to insert. `timezone` is None when the business zone applies."""

    line: int
    telefono: str
    nombre: str | None
    apellidos: str | None
    timezone: str | None
    preferencia_horario: str | None
    call_data: str | None  # JSON text


@dataclass(frozen=True)
class Reject:
    """A row that is not imported: its line, the offending value and why."""

    line: int
    value: str
    reason: str


def _known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


# The fields with a width to check, in FIELDS' order; call_data's encoder (json.dumps'
# own settings, made once: a file has a call_data per row).
_WIDTHS = tuple((name, width) for name, width in FIELDS.items() if width is not None)
_CALL_DATA_JSON = json.JSONEncoder(ensure_ascii=False)


def parse_row(line: int, cells: Sequence[str], columns: ColumnMap, region: str) -> LeadRow | Reject:
    """Validate one data row (pure). Raises nothing: a bad row becomes a Reject."""
    count = len(cells)
    values = {
        name: (cells[index].strip() if index < count else "") or None
        for name, index in columns.fields.items()
    }
    raw_phone = values.get("telefono") or ""
    try:
        telefono, number_zone = e164_and_zone(raw_phone, region)
    except InvalidPhoneError as exc:
        return Reject(line, raw_phone, str(exc))
    for name, width in _WIDTHS:
        value = values.get(name)
        if value is not None and len(value) > width:
            return Reject(line, value, f"{name} is longer than {width} characters")
    zone = values.get("timezone")
    if zone is not None and not _known_zone(zone):
        return Reject(line, zone, "unknown time zone (expected an IANA name like Europe/Madrid)")
    zone = zone or number_zone
    given_preference = values.get("preferencia_horario")
    preference = None
    if given_preference is not None:
        preference = PREFERENCES.get(normalise_header(given_preference))
        if preference is None:
            return Reject(
                line, given_preference, "preferencia_horario must be morning or afternoon"
            )
    extras = {}
    for index, name in columns.extras.items():
        if index < count and (text := cells[index].strip()):
            extras[name] = text
    return LeadRow(
        line=line,
        telefono=telefono,
        nombre=values.get("nombre"),
        apellidos=values.get("apellidos"),
        timezone=zone,
        preferencia_horario=preference,
        call_data=_CALL_DATA_JSON.encode(extras) if extras else None,
    )


def parse_batch(
    rows: Sequence[tuple[int, Sequence[str]]], columns: ColumnMap, region: str
) -> list[LeadRow | Reject]:
    """parse_row over a batch of (line, cells), in order (what an import worker runs)."""
    return [parse_row(line, cells, columns, region) for line, cells in rows]
