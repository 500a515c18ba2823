"""What to do with a lead after a call: one disposition per outcome, overridable in config.

Pure, no I/O. Every outcome of `call_outcome` has a `Disposition`: an action, the closure
reason used when the lead is closed, the `status_level_1` / `status_level_2` labels the
dashboards show, and whether the number goes on the do-not-call list. The defaults are
`DEFAULT_DISPOSITIONS`; scheduler_config keys `<outcome>_action`, `<outcome>_closure_reason`,
`<outcome>_status_level_1`, `<outcome>_status_level_2` and `<outcome>_do_not_call` override one
field of one outcome. `DispositionConfig` also carries the parsed `collected_info_rules` and
`pearl_call_data` keys, so scheduler_config exposes everything of this family in one place.

Actions:
  retry        reschedule with the outcome's `<outcome>_delay_hours` / `_max_attempts`
  close        close the lead with `closure_reason`
  callback     call again at the time the person asked for (no usable time: retry with the
               `callback_*` keys)
  appointment  store the appointment and close with `closure_reason`
  review       a person must decide: manual_management on, the reason in the status labels
  not_placed   the call never reached the person: no attempt counted, back to pending
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

from call_data import DEFAULT_CALL_DATA_MAPPING, parse_call_data_mapping
from call_outcome import OUTCOMES, Outcome
from collected_info import (
    DEFAULT_RULES,
    MAX_LABEL_CHARS,
    CollectedInfoRules,
    parse_collected_info_rules,
    rules_as_json,
)

logger = logging.getLogger(__name__)


class Action:
    """The action strings of a Disposition."""

    RETRY: Final = "retry"
    CLOSE: Final = "close"
    CALLBACK: Final = "callback"
    APPOINTMENT: Final = "appointment"
    REVIEW: Final = "review"
    NOT_PLACED: Final = "not_placed"


ACTIONS: Final[frozenset[str]] = frozenset(
    {Action.RETRY, Action.CLOSE, Action.CALLBACK, Action.APPOINTMENT, Action.REVIEW,
     Action.NOT_PLACED}
)  # fmt: skip

# Which actions make sense for which outcome: an appointment needs its data, a callback its
# time, and a call that never reached the person can only be not_placed (or reviewed).
_GENERAL_ACTIONS: Final = frozenset({Action.RETRY, Action.CLOSE, Action.REVIEW})
ALLOWED_ACTIONS: Final[Mapping[str, frozenset[str]]] = {
    **{outcome: _GENERAL_ACTIONS for outcome in OUTCOMES},
    Outcome.APPOINTMENT: frozenset({Action.APPOINTMENT, Action.REVIEW}),
    Outcome.CALLBACK: frozenset({Action.CALLBACK, Action.RETRY, Action.REVIEW}),
    Outcome.NOT_PLACED: frozenset({Action.NOT_PLACED, Action.REVIEW}),
}

MAX_CLOSURE_REASON_CHARS: Final = 255  # leads.closure_reason is VARCHAR(255)


@dataclass(frozen=True, slots=True)
class Disposition:
    """What to do with the lead after a call with one outcome.

    action: one of ACTIONS; closure_reason: used when the action closes the lead (close,
    appointment); status_level_1 / status_level_2: labels for the lead (None: leave as is);
    add_to_do_not_call: put the lead's number on the do-not-call list."""

    action: str
    closure_reason: str | None = None
    status_level_1: str | None = None
    status_level_2: str | None = None
    add_to_do_not_call: bool = False


_RETRY_L1: Final = "Volver a llamar"
_REVIEW_L1: Final = "Revisar"

DEFAULT_DISPOSITIONS: Final[Mapping[str, Disposition]] = {
    Outcome.BUSY: Disposition(Action.RETRY, "Ocupado", _RETRY_L1, "Ocupado"),
    Outcome.NO_ANSWER: Disposition(Action.RETRY, "No contesta", _RETRY_L1, "No contesta"),
    Outcome.HANG_UP: Disposition(Action.RETRY, "Colgó", _RETRY_L1, "cortado"),
    Outcome.VOICEMAIL: Disposition(Action.RETRY, "Buzón", _RETRY_L1, "buzón"),
    Outcome.FAILED: Disposition(Action.RETRY, "Fallo de llamada", _RETRY_L1, "Fallo centralita"),
    Outcome.UNREACHABLE: Disposition(Action.RETRY, "Ilocalizable", _RETRY_L1, "Ilocalizable"),
    Outcome.ERROR: Disposition(Action.RETRY, "Error técnico", _RETRY_L1, "Error técnico"),
    Outcome.INVALID_PHONE: Disposition(Action.CLOSE, "Teléfono erróneo", "Teléfono erróneo"),
    Outcome.BLACKLISTED: Disposition(Action.CLOSE, "Lista negra", "Lista negra"),
    Outcome.NOT_INTERESTED: Disposition(Action.CLOSE, "No interesado", "No Interesado"),
    Outcome.APPOINTMENT: Disposition(Action.APPOINTMENT, "Cita agendada", "Cita Agendada"),
    Outcome.CALLBACK: Disposition(
        Action.CALLBACK, "Volver a llamar", _RETRY_L1, "no disponible cliente"
    ),
    Outcome.NOT_SUCCESSFUL: Disposition(
        Action.REVIEW, "No exitosa", _REVIEW_L1, "Llamada no exitosa"
    ),
    Outcome.SUCCESS: Disposition(Action.REVIEW, "Éxito", _REVIEW_L1, "Éxito sin cita"),
    Outcome.UNKNOWN: Disposition(
        Action.REVIEW, "Resultado desconocido", _REVIEW_L1, "Resultado desconocido"
    ),
    Outcome.REVIEW: Disposition(Action.REVIEW, "Revisado", _REVIEW_L1, None),
    Outcome.NOT_PLACED: Disposition(Action.NOT_PLACED),
}

# scheduler_config keys of this module.
SUFFIXES: Final = ("_action", "_closure_reason", "_status_level_1", "_status_level_2",
                   "_do_not_call")  # fmt: skip
COLLECTED_INFO_RULES_KEY: Final = "collected_info_rules"
CALL_DATA_KEY: Final = "pearl_call_data"
_FIELD_BY_SUFFIX: Final = {
    "_action": "action",
    "_closure_reason": "closure_reason",
    "_status_level_1": "status_level_1",
    "_status_level_2": "status_level_2",
    "_do_not_call": "add_to_do_not_call",
}
_BOOLS: Final = {"true": True, "1": True, "yes": True, "sí": True, "si": True,
                 "false": False, "0": False, "no": False}  # fmt: skip


def _split_key(key: str) -> tuple[str, str] | None:
    """(outcome, suffix) for a `<outcome>_<suffix>` key of this module, else None. The longest
    suffix wins, so `x_status_level_1` is never read as a `_1` of something else."""
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if key.endswith(suffix) and len(key) > len(suffix):
            return key[: -len(suffix)], suffix
    return None


def owns_key(key: str) -> bool:
    """Whether `key` is a scheduler_config key of this module."""
    return key in (COLLECTED_INFO_RULES_KEY, CALL_DATA_KEY) or _split_key(key) is not None


def _parse_field(outcome: str, suffix: str, value: str) -> Any:
    """The parsed value of one `<outcome><suffix>` key; raises ValueError with the reason."""
    text = value.strip()
    if suffix == "_action":
        allowed = ALLOWED_ACTIONS[outcome]
        if text not in allowed:
            raise ValueError(f"must be one of {', '.join(sorted(allowed))}, got {_short(text)}")
        return text
    if suffix == "_do_not_call":
        flag = _BOOLS.get(text.casefold())
        if flag is None:
            raise ValueError(f"must be true or false, got {_short(text)}")
        return flag
    limit = MAX_CLOSURE_REASON_CHARS if suffix == "_closure_reason" else MAX_LABEL_CHARS
    if not text or len(text) > limit or any(ord(ch) < 32 for ch in text):
        raise ValueError(f"must be text of 1-{limit} characters without control characters")
    return text


def _short(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


def validate_setting(key: str, value: str) -> str | None:
    """Why `value` is not acceptable for this module's `key`, or None when it is.
    (Call only for keys where `owns_key` is true.)"""
    if key == COLLECTED_INFO_RULES_KEY:
        try:
            parse_collected_info_rules(value)
        except ValueError as exc:
            return str(exc)
        return None
    if key == CALL_DATA_KEY:
        try:
            parse_call_data_mapping(value)
        except ValueError as exc:
            return str(exc)
        return None
    split = _split_key(key)
    if split is None:
        return f"unknown key {_short(key)}"
    outcome, suffix = split
    if outcome not in OUTCOMES:
        return f"{_short(key)}: {_short(outcome)} is not an outcome; outcomes are " + ", ".join(
            sorted(OUTCOMES)
        )
    try:
        _parse_field(outcome, suffix, value)
    except ValueError as exc:
        return f"{key} {exc}"
    return None


@dataclass(frozen=True)
class DispositionConfig:
    """Parsed dispositions, collectedInfo rules and the agent's call-data mapping.

    table: the effective Disposition of every outcome; collected_info_rules: the rule table
    for collectedInfo; call_data_mapping: Pearl variable -> lead column or call_data key;
    problems: one line per invalid key (the default was used for it)."""

    table: Mapping[str, Disposition] = field(default_factory=lambda: dict(DEFAULT_DISPOSITIONS))
    collected_info_rules: CollectedInfoRules = DEFAULT_RULES
    call_data_mapping: Mapping[str, str] = field(
        default_factory=lambda: dict(DEFAULT_CALL_DATA_MAPPING)
    )
    problems: tuple[str, ...] = ()

    def for_outcome(self, outcome: str) -> Disposition:
        """The Disposition of `outcome`; raises ValueError for a string that is not an
        outcome (e.g. 'in_progress', which is not a result)."""
        try:
            return self.table[outcome]
        except (KeyError, TypeError):
            raise ValueError(f"no disposition for {outcome!r}: not a final outcome") from None


DEFAULT_DISPOSITION_CONFIG: Final = DispositionConfig()


def parse_disposition_config(
    raw: Mapping[str, str | None], *, log: bool = True
) -> DispositionConfig:
    """Parse this module's keys out of all scheduler_config rows. Never raises for bad values:
    each is listed in `problems` (and logged unless `log` is false) and its default used."""
    problems: list[str] = []

    def bad(key: str, why: str) -> None:
        line = f"{key} is invalid ({why}); using the default"
        problems.append(line)
        if log:
            logger.warning("scheduler_config %s", line)

    changes: dict[str, dict[str, Any]] = {}
    for key, value in raw.items():
        if not isinstance(key, str) or key in (COLLECTED_INFO_RULES_KEY, CALL_DATA_KEY):
            continue
        split = _split_key(key)
        if split is None or value is None or not str(value).strip():
            continue
        outcome, suffix = split
        if outcome not in OUTCOMES:
            bad(key, "not an outcome")
            continue
        try:
            parsed = _parse_field(outcome, suffix, str(value))
        except ValueError as exc:
            bad(key, str(exc))
            continue
        changes.setdefault(outcome, {})[_FIELD_BY_SUFFIX[suffix]] = parsed
    table = {
        outcome: replace(disposition, **changes.get(outcome, {}))
        for outcome, disposition in DEFAULT_DISPOSITIONS.items()
    }

    rules = DEFAULT_RULES
    rules_text = raw.get(COLLECTED_INFO_RULES_KEY)
    if rules_text is not None and str(rules_text).strip():
        try:
            rules = parse_collected_info_rules(str(rules_text))
        except ValueError as exc:
            bad(COLLECTED_INFO_RULES_KEY, str(exc))

    mapping: Mapping[str, str] = DEFAULT_CALL_DATA_MAPPING
    mapping_text = raw.get(CALL_DATA_KEY)
    if mapping_text is not None and str(mapping_text).strip():
        try:
            mapping = parse_call_data_mapping(str(mapping_text))
        except ValueError as exc:
            bad(CALL_DATA_KEY, str(exc))

    return DispositionConfig(
        table=table,
        collected_info_rules=rules,
        call_data_mapping=dict(mapping),
        problems=tuple(problems),
    )


def disposition_for(outcome: str, config: DispositionConfig | Any = None) -> Disposition:
    """The Disposition of `outcome` under `config`: a DispositionConfig, a SchedulerConfig
    (its `.dispositions`), or None for the defaults. Raises ValueError for a non-outcome."""
    if config is None:
        config = DEFAULT_DISPOSITION_CONFIG
    elif not isinstance(config, DispositionConfig):
        config = getattr(config, "dispositions", DEFAULT_DISPOSITION_CONFIG)
    return config.for_outcome(outcome)


def effective_values(config: DispositionConfig, raw: Mapping[str, Any]) -> dict[str, str]:
    """The value really used for each of this module's keys present in `raw`, as text."""
    values: dict[str, str] = {}
    for key in raw:
        if not isinstance(key, str):
            continue
        split = _split_key(key)
        if split is None or split[0] not in OUTCOMES:
            continue
        outcome, suffix = split
        used = getattr(config.table[outcome], _FIELD_BY_SUFFIX[suffix])
        values[key] = ("true" if used else "false") if isinstance(used, bool) else (used or "")
    if COLLECTED_INFO_RULES_KEY in raw:
        values[COLLECTED_INFO_RULES_KEY] = rules_as_json(config.collected_info_rules)
    if CALL_DATA_KEY in raw:
        values[CALL_DATA_KEY] = json.dumps(
            dict(config.call_data_mapping), ensure_ascii=False, sort_keys=True
        )
    return values


def decide(classification: Any, config: DispositionConfig | Any = None) -> Disposition:
    """The Disposition for one `call_outcome.Classification` under `config` (as for
    `disposition_for`): the outcome's disposition with the classification's own labels
    (e.g. the refusal's reason, Con Pack / Sin Pack, Cita Manual) taking precedence over the
    configured ones, and the do-not-call flag set when either asks for it. Raises ValueError
    for a classification that is not final."""
    if not getattr(classification, "final", False):
        raise ValueError("a call that is not final has no disposition: acknowledge and ignore it")
    base = disposition_for(classification.outcome, config)
    return replace(
        base,
        status_level_1=classification.status_level_1 or base.status_level_1,
        status_level_2=classification.status_level_2 or base.status_level_2,
        add_to_do_not_call=base.add_to_do_not_call or bool(classification.do_not_call),
    )
