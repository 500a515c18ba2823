"""What the person said on a Pearl call: collectedInfo, its rule table, dates and times.

Pure, no I/O. Pearl reports the variables its agent collected under the names the campaign's
Pearl was configured with. `CollectedInfoRules` says which variable means what (the defaults
are the names real campaigns of the original system used); a campaign with other names
overrides them with the `collected_info_rules` JSON in scheduler_config.

`read_collected` turns one call into `CollectedFacts`: decline (with a reason code), an
appointment (date, time), a callback (date and/or time), voicemail, a time-of-day preference.
Problem strings never contain collected text: only variable names and expected formats.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date, time
from typing import Any, Final

MAX_VALUE_CHARS: Final = 200
"""A collected value longer than this is not a date, time, code or flag: it is ignored."""
MAX_LABEL_CHARS: Final = 100  # leads.status_level_1 / status_level_2 are VARCHAR(100)
MAX_RULES_JSON_CHARS: Final = 2000  # scheduler_config.config_value is VARCHAR(2000)

MORNING: Final = "morning"
AFTERNOON: Final = "afternoon"

TRUE_WORDS: Final = frozenset({"true", "si", "sí", "1", "yes", "y", "verdadero"})
_PREFERENCES: Final = {
    "morning": MORNING,
    "manana": MORNING,
    "mañana": MORNING,
    "am": MORNING,
    "afternoon": AFTERNOON,
    "tarde": AFTERNOON,
    "pm": AFTERNOON,
}


@dataclass(frozen=True)
class CollectedInfoRules:
    """Which collectedInfo variables mean what. Each `*_vars` field lists variable names (the
    first one present wins); the maps translate reason codes into `status_level_2` labels."""

    decline_vars: tuple[str, ...] = ("noInteresado",)
    decline_reason_vars: tuple[str, ...] = ("codigoNoInteres",)
    decline_reasons: Mapping[str, str] = field(
        default_factory=lambda: {
            "paciente_con_tratamiento": "Paciente con tratamiento",
            "paciente_tratamiento": "Paciente con tratamiento",
            "paciente_con_tratamiento_particular": "Paciente con tratamiento particular",
            "paciente_tratamiento_particular": "Paciente con tratamiento particular",
            "llamara_cuando_este_interesado": "Llamará cuando esté interesado",
            "solicitan_baja_poliza": "Solicita baja póliza",
            "solicita_baja_poliza": "Solicita baja póliza",
            "solicita_baja": "Solicita baja póliza",
            "no_desea_informar_motivo": "No desea informar motivo / no colabora",
            "no_quiere_ser_molestado": "No quiere ser molestado / no colabora",
            "no_colabora": "No quiere ser molestado / no colabora",
            "no disponibilidad": "no disponibilidad cliente",
            "descontento": "Descontento con Adeslas",
            "bajaProxima": "Próxima baja",
            "otros": "No da motivos",
        }
    )
    # Reason codes meaning "do not call me again": the number goes on the do-not-call list.
    do_not_call_reasons: tuple[str, ...] = ("no_quiere_ser_molestado",)
    callback_vars: tuple[str, ...] = ("volverALlamar",)
    callback_time_vars: tuple[str, ...] = ("horaRellamada",)
    callback_reason_vars: tuple[str, ...] = ("codigoVolverLlamar",)
    callback_reasons: Mapping[str, str] = field(
        default_factory=lambda: {
            "buzon": "buzón",
            "interrupcion": "no disponible cliente",
            "proble tecnico": "Interesado. Problema técnico",
            "proble_tecnico": "Interesado. Problema técnico",
        }
    )
    voicemail_vars: tuple[str, ...] = ("buzon",)
    appointment_vars: tuple[str, ...] = ("nuevaCita",)  # date and time in one value
    appointment_date_vars: tuple[str, ...] = ("fechaDeseada",)
    appointment_time_vars: tuple[str, ...] = ("horaDeseada",)
    pack_vars: tuple[str, ...] = ("conPack",)
    preference_vars: tuple[str, ...] = ("preferenciaMT",)
    preferred_date_vars: tuple[str, ...] = ("preferenciaFecha",)


DEFAULT_RULES: Final = CollectedInfoRules()

# JSON override keys: the field names without the `_vars` suffix, plus the maps and lists.
_JSON_KEYS: Final = {
    (f.name[: -len("_vars")] if f.name.endswith("_vars") else f.name): f.name
    for f in fields(CollectedInfoRules)
}
_MAP_FIELDS: Final = frozenset({"decline_reasons", "callback_reasons"})
_VAR_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_.\- ]{0,63}")
_MAX_LIST: Final = 20
_MAX_MAP: Final = 200


def parse_collected_info_rules(text: str) -> CollectedInfoRules:
    """The rules for a `collected_info_rules` JSON value: the defaults with the given entries
    replaced. Shape: an object whose keys are among ``decline``, ``decline_reason``,
    ``decline_reasons``, ``do_not_call_reasons``, ``callback``, ``callback_time``,
    ``callback_reason``, ``callback_reasons``, ``voicemail``, ``appointment``,
    ``appointment_date``, ``appointment_time``, ``pack``, ``preference``, ``preferred_date``;
    variable entries are a name or a list of names, ``*_reasons`` maps are
    ``{"code": "label"}`` (``do_not_call_reasons`` a list of codes).
    Raises ValueError with a one-line reason for anything else."""
    if not isinstance(text, str):
        raise ValueError("collected_info_rules must be text")
    if len(text) > MAX_RULES_JSON_CHARS:
        raise ValueError(f"collected_info_rules is longer than {MAX_RULES_JSON_CHARS} characters")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"collected_info_rules is not valid JSON ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise ValueError("collected_info_rules must be a JSON object")
    changes: dict[str, Any] = {}
    for key, value in data.items():
        name = _JSON_KEYS.get(key)
        if name is None:
            raise ValueError(
                f"collected_info_rules: unknown key {_shown(key)}; known keys are "
                + ", ".join(sorted(_JSON_KEYS))
            )
        if name in _MAP_FIELDS:
            changes[name] = _parse_map(key, value)
        else:
            changes[name] = _parse_names(key, value, codes=name == "do_not_call_reasons")
    return replace(DEFAULT_RULES, **changes)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _parse_names(key: str, value: Any, *, codes: bool) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not 0 < len(items) <= _MAX_LIST:
        raise ValueError(
            f"collected_info_rules.{key} must be a name or a list of 1-{_MAX_LIST} names"
        )
    names = []
    for item in items:
        if not isinstance(item, str) or not (
            _CODE.fullmatch(item) if codes else _VAR_NAME.fullmatch(item)
        ):
            raise ValueError(
                f"collected_info_rules.{key} has an invalid name {_shown(item)}"
                " (letters, digits, _ . - or space, up to 64 characters)"
            )
        names.append(item)
    return tuple(names)


_CODE: Final = re.compile(r"[^\x00-\x1f]{1,64}")


def _parse_map(key: str, value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or len(value) > _MAX_MAP:
        raise ValueError(f"collected_info_rules.{key} must be an object of code: label")
    for code, label in value.items():
        if not _CODE.fullmatch(code):
            raise ValueError(f"collected_info_rules.{key} has an invalid code {_shown(code)}")
        if not isinstance(label, str) or not label.strip() or len(label) > MAX_LABEL_CHARS:
            raise ValueError(
                f"collected_info_rules.{key}[{_shown(code)}] must be a label of "
                f"1-{MAX_LABEL_CHARS} characters"
            )
    return {code: label.strip() for code, label in value.items()}


def rules_as_json(rules: CollectedInfoRules) -> str:
    """The JSON form of `rules` (every key), as `parse_collected_info_rules` reads it."""
    out: dict[str, Any] = {}
    for key, name in sorted(_JSON_KEYS.items()):
        value = getattr(rules, name)
        out[key] = dict(value) if name in _MAP_FIELDS else list(value)
    return json.dumps(out, ensure_ascii=False, sort_keys=True)


# --------------------------------------------------------------------------- normalising


def _text_key(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _get_any(mapping: Mapping[str, Any], *names: str) -> Any:
    """The first of `names` present in `mapping` (exact spelling, then any case)."""
    for name in names:
        if name in mapping:
            return mapping[name]
    lowered = {n.lower() for n in names}
    for key, value in mapping.items():
        if isinstance(key, str) and key.lower() in lowered:
            return value
    return None


def normalize_collected_info(pearl_response: Mapping[str, Any] | None) -> dict[str, Any]:
    """Pearl's collectedInfo as a flat ``{variable: value}`` dict.

    Accepts ``collectedInfo`` (also ``CollectedInfo`` or ``collectedData``) as a list of
    ``{id, name, value}`` items (camelCase or PascalCase keys; indexed by id, or by name when
    the id is blank; the first item for a variable wins) or as an already flat mapping.
    Junk (non-mapping items, non-string keys, anything else) is skipped. Raises TypeError when
    `pearl_response` is neither None nor a Mapping.
    """
    if pearl_response is None:
        return {}
    if not isinstance(pearl_response, Mapping):
        raise TypeError(
            f"pearl_response must be None or a Mapping, got {type(pearl_response).__name__}"
        )
    raw = _get_any(pearl_response, "collectedInfo", "CollectedInfo", "collectedData")
    result: dict[str, Any] = {}
    if isinstance(raw, Mapping):
        for k, v in raw.items():
            key = _text_key(k)
            if key is not None:
                result.setdefault(key, v)
    elif isinstance(raw, list | tuple):
        for item in raw:
            if not isinstance(item, Mapping):
                continue
            key = _text_key(_get_any(item, "id", "Id")) or _text_key(_get_any(item, "name", "Name"))
            if key is not None:
                result.setdefault(key, _get_any(item, "value", "Value"))
    return result


def _lookup(info: Mapping[str, Any], folded: Mapping[str, str], names: tuple[str, ...]) -> Any:
    """The value of the first of `names` that is present and not blank (exact, then any case)."""
    for name in names:
        value = info.get(name)
        if value is None:
            key = folded.get(name.casefold())
            value = info.get(key) if key is not None else None
        if not is_blank(value):
            return value
    return None


def is_blank(value: Any) -> bool:
    """None, an empty/whitespace string, or an empty list."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, list | tuple) and not value


def is_true(value: Any) -> bool:
    """True for True, 1, and the strings true/sí/si/1/yes (any case, accents optional)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value == 1
    if isinstance(value, str) and len(value) <= 20:
        return value.strip().casefold() in TRUE_WORDS or _fold(value) in TRUE_WORDS
    return False


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip()).casefold()
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


# Values an agent writes for "nothing": not a reason code.
_NULL_WORDS: Final = frozenset({"null", "none", "n/a", "na", "-", "ninguno", "no aplica"})


def _code(value: Any) -> str | None:
    """A reason code: a short string (or the first item of a list, as the original accepted)."""
    if isinstance(value, list | tuple) and value:
        value = value[0]
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str) or len(value) > 64:
        return None
    code = value.strip()
    if code.casefold() in _NULL_WORDS:
        return None
    return code if _CODE.fullmatch(code) else None


def parse_preference(value: Any) -> str | None:
    """'morning' / 'afternoon' for morning/afternoon/mañana/tarde in any case, else None."""
    if not isinstance(value, str) or len(value) > 20:
        return None
    return _PREFERENCES.get(value.strip().casefold()) or _PREFERENCES.get(_fold(value))


# --------------------------------------------------------------------------- dates and times

_D: Final = r"(?P<d>[0-9]{1,2})"
_M: Final = r"(?P<m>[0-9]{1,2})"
_Y: Final = r"(?P<y>[0-9]{4})"
_DATE_PATTERNS: Final = (
    rf"{_D}-{_M}-{_Y}",
    rf"{_D}/{_M}/{_Y}",
    rf"{_Y}-{_M}-{_D}",
)
_T: Final = r"(?P<h>[0-9]{1,2}):(?P<mi>[0-9]{2})(?::(?P<s>[0-9]{2})(?:\.[0-9]{1,6})?)?"
_T_END: Final = r"(?:\s*[-–—]\s*(?P<h2>[0-9]{1,2}):(?P<mi2>[0-9]{2})(?::(?P<s2>[0-9]{2}))?)?"
_TIME_RE: Final = re.compile(_T + _T_END)
_DATE_TIME_RES: Final = tuple(
    re.compile(rf"{pattern}(?:(?:\s+|T){_T}{_T_END})?") for pattern in _DATE_PATTERNS
)
DATE_FORMATS: Final = "DD-MM-YYYY, DD/MM/YYYY or YYYY-MM-DD"
TIME_FORMATS: Final = "HH:MM, HH:MM:SS or HH:MM-HH:MM"


def _make_time(h: str | None, m: str | None, s: str | None) -> time | None:
    if h is None or m is None:
        return None
    try:
        return time(int(h), int(m), int(s or 0))
    except ValueError:
        return None


def parse_time(value: Any) -> tuple[time | None, str | None]:
    """A time from 'HH:MM', 'HH:MM:SS' or a range 'HH:MM-HH:MM' (the start of the range).
    Returns (time, None) or (None, why) where `why` names the expected format."""
    text = value.strip() if isinstance(value, str) and len(value) <= MAX_VALUE_CHARS else ""
    match = _TIME_RE.fullmatch(text)
    if not match:
        return None, f"is not {TIME_FORMATS}"
    start = _make_time(match["h"], match["mi"], match["s"])
    if start is None:
        return None, "is not a valid 24 h time"
    if match["h2"] is not None and _make_time(match["h2"], match["mi2"], match["s2"]) is None:
        return None, "has a range end that is not a valid 24 h time"
    return start, None


def parse_date_time(value: Any) -> tuple[date | None, time | None, str | None]:
    """A date with an optional time, e.g. '14-10-2025', '14/10/2025 09:50',
    '2025-10-14 09:50-10:10' (a range: its start is the time), '2025-10-14T09:50:00'.
    Returns (date, time or None, None) or (None, None, why)."""
    text = value.strip() if isinstance(value, str) and len(value) <= MAX_VALUE_CHARS else ""
    for pattern in _DATE_TIME_RES:
        match = pattern.fullmatch(text)
        if not match:
            continue
        try:
            day = date(int(match["y"]), int(match["m"]), int(match["d"]))
        except ValueError:
            return None, None, "is not a real date"
        if match["h"] is None:
            return day, None, None
        start = _make_time(match["h"], match["mi"], match["s"])
        if start is None or (
            match["h2"] is not None and _make_time(match["h2"], match["mi2"], match["s2"]) is None
        ):
            return None, None, "has a time that is not a valid 24 h time"
        return day, start, None
    return None, None, f"is not {DATE_FORMATS} with an optional {TIME_FORMATS}"


def parse_callback_time(value: Any) -> tuple[date | None, time | None, str | None]:
    """A requested callback: a time ('17:30'), a date, or both ('2025-10-14 17:30').
    Returns (date or None, time or None, why or None); both None with a reason when
    unreadable."""
    moment, _ = parse_time(value)
    if moment is not None:
        return None, moment, None
    day, moment, _ = parse_date_time(value)
    if day is not None:
        return day, moment, None
    return None, None, f"is not a time ({TIME_FORMATS}) or a date ({DATE_FORMATS})"


# --------------------------------------------------------------------------- facts


@dataclass(frozen=True, slots=True)
class CollectedFacts:
    """What the collected variables say. Everything is None/False when not collected.

    appointment_requested: an appointment variable (date, date+time, or a pack flag) was set;
    appointment_date / appointment_time: what could be read of it; callback_requested with
    callback_date / callback_time; problems: safe to log (variable names and formats only).
    """

    declined: bool = False
    decline_reason: str | None = None  # the reason code as collected (a short code)
    decline_label: str | None = None  # its status_level_2 label
    do_not_call: bool = False
    appointment_requested: bool = False
    appointment_date: date | None = None
    appointment_time: time | None = None
    with_pack: bool | None = None  # None: no pack variable collected
    callback_requested: bool = False
    callback_date: date | None = None
    callback_time: time | None = None
    callback_label: str | None = None
    voicemail: bool = False
    preference: str | None = None
    preferred_date: date | None = None
    problems: tuple[str, ...] = ()


def read_collected(
    info: Mapping[str, Any], rules: CollectedInfoRules = DEFAULT_RULES
) -> CollectedFacts:
    """Read a flat ``{variable: value}`` dict (see `normalize_collected_info`) with `rules`.
    Never raises on junk values."""
    folded = {k.casefold(): k for k in info if isinstance(k, str)}
    problems: list[str] = []

    def get(names: tuple[str, ...]) -> Any:
        return _lookup(info, folded, names)

    def first_name(names: tuple[str, ...]) -> str:
        for name in names:
            if not is_blank(info.get(name)) or name.casefold() in folded:
                return name
        return names[0] if names else "?"

    # Decline.
    reason = _code(get(rules.decline_reason_vars))
    declined = is_true(get(rules.decline_vars)) or reason is not None
    label = None
    if reason is not None:
        label = rules.decline_reasons.get(reason) or rules.decline_reasons.get(reason.casefold())
        if label is None:
            label = reason[:MAX_LABEL_CHARS]
    do_not_call = reason is not None and reason in rules.do_not_call_reasons

    # Appointment.
    appt_date: date | None = None
    appt_time: time | None = None
    requested = False
    one_value = get(rules.appointment_vars)
    date_value = get(rules.appointment_date_vars)
    if one_value is not None:
        requested = True
        appt_date, appt_time, why = parse_date_time(one_value)
        if why:
            problems.append(f"{first_name(rules.appointment_vars)} {why}")
    if appt_date is None and date_value is not None:
        requested = True
        appt_date, appt_time, why = parse_date_time(date_value)
        if why:
            problems.append(f"{first_name(rules.appointment_date_vars)} {why}")
    if requested and appt_time is None:
        time_value = get(rules.appointment_time_vars)
        if time_value is not None:
            appt_time, why = parse_time(time_value)
            if why:
                problems.append(f"{first_name(rules.appointment_time_vars)} {why}")
    pack_value = get(rules.pack_vars)
    with_pack = None if pack_value is None else is_true(pack_value)
    if with_pack:
        requested = True  # the original counted a pack sold as an appointment

    # Callback.
    callback_value = get(rules.callback_time_vars)
    cb_date: date | None = None
    cb_time: time | None = None
    if callback_value is not None:
        cb_date, cb_time, why = parse_callback_time(callback_value)
        if why:
            problems.append(f"{first_name(rules.callback_time_vars)} {why}")
    callback_code = _code(get(rules.callback_reason_vars))
    callback_requested = (
        is_true(get(rules.callback_vars))
        or cb_date is not None
        or cb_time is not None
        or callback_code is not None
    )
    callback_label = None
    if callback_code is not None:
        callback_label = (
            rules.callback_reasons.get(callback_code) or callback_code[:MAX_LABEL_CHARS]
        )

    # Preference.
    preference = None
    pref_value = get(rules.preference_vars)
    if pref_value is not None:
        preference = parse_preference(pref_value)
        if preference is None:
            problems.append(
                f"{first_name(rules.preference_vars)} is not morning/afternoon/mañana/tarde"
            )
    preferred_date = None
    pref_date_value = get(rules.preferred_date_vars)
    if pref_date_value is not None:
        preferred_date, _, why = parse_date_time(pref_date_value)
        if why:
            problems.append(f"{first_name(rules.preferred_date_vars)} {why}")

    return CollectedFacts(
        declined=declined,
        decline_reason=reason,
        decline_label=label,
        do_not_call=do_not_call,
        appointment_requested=requested,
        appointment_date=appt_date,
        appointment_time=appt_time,
        with_pack=with_pack,
        callback_requested=callback_requested,
        callback_date=cb_date,
        callback_time=cb_time,
        callback_label=callback_label,
        voicemail=is_true(get(rules.voicemail_vars)),
        preference=preference,
        preferred_date=preferred_date,
        problems=tuple(problems),
    )
