"""Classify a Pearl AI call result: its outcome, whether it is final, and what was agreed.

Pure logic: no database, no I/O. Inputs come straight from webhooks, so every function here
tolerates junk (wrong types, None, nested structures, huge strings, any unicode) and only raises
``TypeError`` when the top-level arguments are not mappings.

Inputs:

* ``call_result``: the caller's own summary, a Mapping such as
  ``{"callResult": "no_answer", "status": "failed", "outcome": "no_answer"}``; it may also carry
  ``success``, ``error_message``, ``duration``, ``call_id``, an ``event`` name, and collected
  variables at top level (``fechaDeseada``, ...) as the original system's own API accepted them.
* ``pearl_response``: None or Pearl's call object / webhook payload (``status``,
  ``conversationStatus``, ``collectedInfo``, ...; camelCase or PascalCase keys). ``summary`` and
  ``transcript`` are LLM free text and are never read.

The table, first match wins (`classify`):

1. Not final: Pearl status 3 (InProgress), conversationStatus 1/20/40 (New, InCallQueue,
   OnCall) without a final status, or a call-started event -> ``in_progress`` (final=False).
2. Pearl facts before any conversation: conversationStatus 220 -> blacklisted; status 8
   (Canceled) -> not_placed (the call never reached the person).
3. collectedInfo (see collected_info.CollectedInfoRules): a refusal and an appointment both
   collected -> review; refusal -> not_interested (reason code -> status_level_2); appointment
   with a readable date -> appointment (Con Pack / Sin Pack), without one -> review
   ("Cita Manual"); callback -> callback (with the requested date/time when readable);
   ``buzon`` -> voicemail.
4. Pearl no-contact codes: status 6 -> failed (invalid_phone when the lead's previous outcome
   was failed too); conv 150 -> unreachable; conv 30 (WrongCountryCode) -> invalid_phone;
   conv 70 -> voicemail; status 5 -> busy; status 7 -> no_answer; conv 300 -> no_answer;
   conv 10 -> hang_up.
5. Declined wording in the caller's fields or collected values -> not_interested.
6. conv 100/130 -> success; conv 110 -> not_successful; conv 500 -> error.
7. Pearl status 4 (Completed) with an unknown or missing conversationStatus -> unknown
   (Pearl's object beats the caller's own summary, which is derived from it).
8. The caller's keywords (outcome, callResult, collected callResult, status).
9. The caller's ``success`` flag -> success.
10. Text phrases in the caller's fields (last resort).
11. Otherwise -> error.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, time
from typing import Any, Final

from collected_info import (
    DEFAULT_RULES,
    CollectedFacts,
    CollectedInfoRules,
    is_blank,
    normalize_collected_info,
    read_collected,
)
from outcome_tables import (
    _CONV,
    _EVENT_KEYS,
    _STATUS,
    CALLER_KEYWORDS,
    CONFIRMED_PHRASE,
    DECLINED_PHRASES,
    FINAL_STATUSES,
    LABEL_APPOINTMENT,
    LABEL_CONTRADICTION,
    LABEL_FAILED_TWICE,
    LABEL_MANUAL_APPOINTMENT,
    LABEL_NO_DATE,
    LABEL_WITH_PACK,
    LABEL_WITHOUT_PACK,
    MAX_FIELD_CHARS,
    NOT_FINAL_CONVERSATION,
    PEARL_BEFORE_CONVERSATION,
    PEARL_COMPLETED_UNKNOWN,
    PEARL_CONVERSATION_CODES,
    PEARL_NO_CONTACT_CODES,
    START_EVENT_WORDS,
    STATUS_IN_PROGRESS,
    TEXT_PHRASES,
    Outcome,
    _CodeRule,
)
from outcome_tables import OUTCOMES as OUTCOMES  # re-exported: callers import it from here

logger = logging.getLogger(__name__)


_DASHES: Final = str.maketrans(dict.fromkeys("_-\u2010\u2011\u2012\u2013\u2014\u2015", " "))
_INT_RE: Final = re.compile(r"[0-9]{1,9}")
_DIGIT_RUN: Final = re.compile(r"[0-9](?:[\s.\-()/]*[0-9]){5,}")


def mask_digits(text: str) -> str:
    """`text` with every run of 6 or more digits (spaces, dots, dashes allowed between them)
    replaced by '[digits]': a problem line never shows a phone number."""
    return _DIGIT_RUN.sub("[digits]", text)


def normalize_text(s: str) -> str:
    """Return ``s`` casefolded, without accents (NFKD minus combining marks), with '_' and
    dashes turned into spaces and whitespace collapsed/stripped. Raises TypeError for non-str."""
    if not isinstance(s, str):
        raise TypeError(f"normalize_text expects str, got {type(s).__name__}")
    if s.isascii():  # NFKD and accents cannot change ASCII; casefold is lower
        return " ".join(s.lower().translate(_DASHES).split())
    folded = s
    for _ in range(3):  # casefold and NFKD can feed each other ('𝓐' -> 'A' -> 'a'); converge
        previous = folded
        decomposed = unicodedata.normalize("NFKD", folded).casefold()
        folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
        if folded == previous:
            break
    return " ".join(folded.translate(_DASHES).split())


def _phrase_pattern(phrases: Iterable[str]) -> re.Pattern[str]:
    """Regex matching any of ``phrases`` (normalised) as whole words in normalised text."""
    alternatives = sorted({normalize_text(p) for p in phrases}, key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, alternatives)) + r")(?!\w)")


_DECLINED_RE: Final = _phrase_pattern(DECLINED_PHRASES)
_TEXT_RES: Final = tuple((outcome, _phrase_pattern(p)) for outcome, p in TEXT_PHRASES)
_CONFIRMED_RE: Final = _phrase_pattern([CONFIRMED_PHRASE])
_CALLER_KEYWORDS_NORM: Final = {normalize_text(k): v for k, v in CALLER_KEYWORDS.items()}


# --------------------------------------------------------------------------- input helpers


def _check_inputs(call_result: object, pearl_response: object) -> None:
    if not isinstance(call_result, Mapping):
        raise TypeError(f"call_result must be a Mapping, got {type(call_result).__name__}")
    if pearl_response is not None and not isinstance(pearl_response, Mapping):
        raise TypeError(
            f"pearl_response must be None or a Mapping, got {type(pearl_response).__name__}"
        )


def _as_int(value: object) -> int | None:
    """An int, or a string of ASCII digits (surrounding whitespace allowed); else None.
    Bools, floats and '100.0' are not codes."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        candidate = value.strip()
        if _INT_RE.fullmatch(candidate):
            return int(candidate)
    return None


def _norm(value: object) -> str | None:
    """Normalised text of a string value (first MAX_FIELD_CHARS chars); None for non-strings."""
    if isinstance(value, str):
        return normalize_text(value[:MAX_FIELD_CHARS])
    return None


def _field(mapping: Mapping[str, Any], name: str) -> Any:
    """``mapping[name]``, also under its PascalCase or any-case spelling (webhook v1)."""
    if name in mapping:
        return mapping[name]
    pascal = name[:1].upper() + name[1:]
    if pascal in mapping:
        return mapping[pascal]
    lowered = name.lower()
    for key, value in mapping.items():
        if isinstance(key, str) and key.lower() == lowered:
            return value
    return None


def collected_info(pearl_response: Mapping[str, Any] | None) -> dict[str, Any]:
    """Pearl's ``collectedInfo`` as ``{id: value}`` (see
    collected_info.normalize_collected_info). Raises TypeError for a non-Mapping."""
    return normalize_collected_info(pearl_response)


def _string_values(mapping: Mapping[Any, Any]) -> list[str]:
    """Normalised top-level string values of ``mapping`` (non-strings are skipped)."""
    return [t for t in map(_norm, mapping.values()) if t]


def _is_start_event(*sources: Mapping[str, Any]) -> bool:
    for source in sources:
        for key in _EVENT_KEYS:
            text = _norm(source.get(key))
            if text and any(word in text for word in START_EVENT_WORDS):
                return True
    return False


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class Appointment:
    """Appointment data collected on a call. ``fecha`` is None when the date could not be read
    (then the outcome is review, never a closed lead); ``problems`` says why, without the
    collected text. ``with_pack``: the conPack variable (None when not collected)."""

    fecha: date | None
    hora: time | None
    confirmed: bool
    problems: tuple[str, ...] = ()
    with_pack: bool | None = None


@dataclass(frozen=True, slots=True)
class Callback:
    """When the person asked to be called back, in the lead's local time: a date, a time, or
    both (never both None)."""

    fecha: date | None
    hora: time | None


@dataclass(frozen=True, slots=True)
class Classification:
    """Everything `classify` decided about one call result.

    outcome: one of OUTCOMES, or ``in_progress`` when final is False; final: whether this is
    the call's result (False: acknowledge and ignore, nothing counted); rule: which rule
    decided (safe to log); appointment: for outcome appointment (a date) or review of an
    unreadable appointment (fecha None), else None; callback: the requested date/time for
    outcome callback, None when no usable time was given (retry with the callback_* keys);
    preference: 'morning' / 'afternoon' / None; preferred_date: the collected
    preferenciaFecha; status_level_1 / status_level_2: labels that override the outcome's
    disposition defaults (None: use the default); do_not_call: the person asked not to be
    called again; problems: safe to log (no collected text, digit runs masked)."""

    outcome: str
    final: bool = True
    rule: str = ""
    appointment: Appointment | None = None
    callback: Callback | None = None
    preference: str | None = None
    preferred_date: date | None = None
    status_level_1: str | None = None
    status_level_2: str | None = None
    do_not_call: bool = False
    problems: tuple[str, ...] = ()


# --------------------------------------------------------------------------- classification


@dataclass(slots=True)
class _Signals:
    """Everything the rules look at, extracted once from the inputs."""

    codes: Mapping[str, int | None]  # Pearl 'status' / 'conversationStatus'
    text_sources: tuple[Mapping[Any, Any], ...]  # caller fields, collectedInfo (for `texts`)
    keyword_fields: tuple[str, ...]  # normalised outcome, callResult(s), status, in that order
    success_flag: bool
    facts: CollectedFacts
    confirmed: bool
    previous_outcome: str | None
    _texts: tuple[str, ...] | None = None

    @property
    def texts(self) -> tuple[str, ...]:
        """Normalised string values of the caller's fields and collectedInfo; computed only
        when a text rule is reached (most results are decided by codes first)."""
        if self._texts is None:
            self._texts = tuple(t for source in self.text_sources for t in _string_values(source))
        return self._texts


def _signals(
    call_result: Mapping[str, Any],
    pearl_response: Mapping[str, Any] | None,
    rules: CollectedInfoRules,
    previous_outcome: str | None,
) -> _Signals:
    pearl = pearl_response or {}
    info = normalize_collected_info(pearl_response)
    # Variables sent at top level by the caller count too; Pearl's collectedInfo wins.
    variables = {k: v for k, v in call_result.items() if isinstance(k, str)}
    variables.update((k, v) for k, v in info.items() if not is_blank(v))
    fields = (
        call_result.get("outcome"),
        call_result.get("callResult"),
        info.get("callResult"),
        call_result.get("status"),
    )
    success = call_result.get("success")
    results = (_norm(call_result.get("callResult")), _norm(info.get("callResult")))
    return _Signals(
        codes={_STATUS: _as_int(_field(pearl, _STATUS)), _CONV: _as_int(_field(pearl, _CONV))},
        text_sources=(call_result, info),
        keyword_fields=tuple(t for t in map(_norm, fields) if t),
        success_flag=success is True or _norm(success) == "true",
        facts=read_collected(variables, rules),
        confirmed=any(t and _CONFIRMED_RE.search(t) for t in results),
        previous_outcome=previous_outcome,
    )


_Decision = tuple[str, dict[str, Any]] | None


def _match_codes(table: tuple[_CodeRule, ...]) -> Callable[[_Signals], _Decision]:
    def rule(sig: _Signals) -> _Decision:
        for (field, code), outcome in table:
            if sig.codes.get(field) == code:
                return outcome, {}
        return None

    return rule


def _rule_collected(sig: _Signals) -> _Decision:
    facts = sig.facts
    if facts.declined and facts.appointment_requested:
        return Outcome.REVIEW, {
            "status_level_2": LABEL_CONTRADICTION,
            "problems": ["both a refusal and an appointment were collected"],
        }
    if facts.declined:
        return Outcome.NOT_INTERESTED, {
            "status_level_2": facts.decline_label,
            "do_not_call": facts.do_not_call,
        }
    if facts.appointment_requested:
        appointment = Appointment(
            fecha=facts.appointment_date,
            hora=facts.appointment_time,
            confirmed=sig.confirmed,
            problems=tuple(mask_digits(p) for p in facts.problems),
            with_pack=facts.with_pack,
        )
        if facts.appointment_date is None:
            return Outcome.REVIEW, {
                "appointment": appointment,
                "status_level_1": LABEL_MANUAL_APPOINTMENT,
                "status_level_2": LABEL_NO_DATE,
                "problems": ["an appointment was collected without a readable date"],
            }
        return Outcome.APPOINTMENT, {
            "appointment": appointment,
            "status_level_1": LABEL_APPOINTMENT,
            "status_level_2": LABEL_WITH_PACK if facts.with_pack else LABEL_WITHOUT_PACK,
        }
    if facts.callback_requested:
        callback = None
        if facts.callback_date is not None or facts.callback_time is not None:
            callback = Callback(facts.callback_date, facts.callback_time)
        return Outcome.CALLBACK, {"callback": callback, "status_level_2": facts.callback_label}
    if facts.voicemail:
        return Outcome.VOICEMAIL, {}
    return None


def _rule_no_contact(sig: _Signals) -> _Decision:
    decision = _match_codes(PEARL_NO_CONTACT_CODES)(sig)
    if decision and decision[0] == Outcome.FAILED and sig.previous_outcome == Outcome.FAILED:
        # The original system's rule: one Failed is a carrier glitch, a repeat a wrong number.
        return Outcome.INVALID_PHONE, {"status_level_2": LABEL_FAILED_TWICE}
    return decision


def _rule_declined_wording(sig: _Signals) -> _Decision:
    if any(_DECLINED_RE.search(t) for t in sig.texts):
        return Outcome.NOT_INTERESTED, {}
    return None


def _rule_caller_keywords(sig: _Signals) -> _Decision:
    for field in sig.keyword_fields:
        if field in _CALLER_KEYWORDS_NORM:
            return _CALLER_KEYWORDS_NORM[field], {}
    return None


def _rule_success_flag(sig: _Signals) -> _Decision:
    return (Outcome.SUCCESS, {}) if sig.success_flag else None


def _rule_text_phrases(sig: _Signals) -> _Decision:
    for outcome, pattern in _TEXT_RES:
        if any(pattern.search(t) for t in sig.texts):
            return outcome, {}
    return None


# The precedence, first match wins; falling off the end means Outcome.ERROR.
_RULES: Final[tuple[tuple[str, Callable[[_Signals], _Decision]], ...]] = (
    ("pearl_before_conversation", _match_codes(PEARL_BEFORE_CONVERSATION)),
    ("collected_info", _rule_collected),
    ("pearl_no_contact", _rule_no_contact),
    ("declined_wording", _rule_declined_wording),
    ("pearl_conversation", _match_codes(PEARL_CONVERSATION_CODES)),
    ("pearl_completed_unknown", _match_codes(PEARL_COMPLETED_UNKNOWN)),
    ("caller_keyword", _rule_caller_keywords),
    ("success_flag", _rule_success_flag),
    ("text_phrase", _rule_text_phrases),
)


def _not_final(
    sig: _Signals, call_result: Mapping[str, Any], pearl: Mapping[str, Any] | None
) -> bool:
    return _not_final_codes(sig.codes[_STATUS], sig.codes[_CONV], call_result, pearl)


def _not_final_codes(
    status: int | None, conv: int | None, call_result: Mapping[str, Any], pearl: Mapping | None
) -> bool:
    if status == STATUS_IN_PROGRESS:
        return True
    if status not in FINAL_STATUSES and conv in NOT_FINAL_CONVERSATION:
        return True
    return _is_start_event(call_result, pearl or {})


def classify(
    call_result: Mapping[str, Any],
    pearl_response: Mapping[str, Any] | None = None,
    *,
    rules: CollectedInfoRules = DEFAULT_RULES,
    previous_outcome: str | None = None,
) -> Classification:
    """Classify one call result (see the module docstring for the table).

    `rules`: the collectedInfo rule table (scheduler_config's
    ``config.dispositions.collected_info_rules``); `previous_outcome`: the outcome of the
    lead's previous call, if any (a second consecutive ``failed`` is ``invalid_phone``).
    Never raises on junk content; raises TypeError for non-Mapping arguments."""
    _check_inputs(call_result, pearl_response)
    sig = _signals(call_result, pearl_response, rules, previous_outcome)
    facts = sig.facts
    common: dict[str, Any] = {
        "preference": facts.preference,
        "preferred_date": facts.preferred_date,
    }
    if _not_final(sig, call_result, pearl_response):
        return Classification(Outcome.IN_PROGRESS, final=False, rule="not_final", **common)
    outcome, extra, name = Outcome.ERROR, {}, "no_rule"
    for rule_name, rule in _RULES:
        decision = rule(sig)
        if decision is not None:
            (outcome, extra), name = decision, rule_name
            break
    problems = [*extra.pop("problems", ()), *facts.problems]
    result = Classification(
        outcome,
        final=True,
        rule=name,
        problems=tuple(dict.fromkeys(mask_digits(p)[:200] for p in problems)),
        **common,
        **extra,
    )
    logger.debug("call outcome %s (rule %s)", outcome, name)
    return result


def is_final_call(
    call_result: Mapping[str, Any], pearl_response: Mapping[str, Any] | None = None
) -> bool:
    """Whether this is a call's result (False for status 3, a call still queued or on call,
    or a call-started event: acknowledge it, count nothing). Raises TypeError for
    non-Mappings."""
    _check_inputs(call_result, pearl_response)
    # Only the codes and the event label decide it: no collectedInfo reading (hot path).
    pearl = pearl_response or {}
    status, conv = _as_int(_field(pearl, _STATUS)), _as_int(_field(pearl, _CONV))
    return not _not_final_codes(status, conv, call_result, pearl_response)


def classify_call_result(
    call_result: Mapping[str, Any], pearl_response: Mapping[str, Any] | None = None
) -> str:
    """The outcome string of `classify` with the default rules (``in_progress`` for a call
    that is not finished). Kept for existing callers; raises TypeError for non-Mappings."""
    return classify(call_result, pearl_response).outcome


def extract_appointment(
    call_result: Mapping[str, Any], pearl_response: Mapping[str, Any] | None
) -> Appointment | None:
    """The appointment collected on the call under the default rules, or None when none was
    collected. ``fecha`` is None (with problems) when its date cannot be read. Reads
    ``nuevaCita`` (date and time in one value) or ``fechaDeseada`` + ``horaDeseada``, from
    collectedInfo first, then from ``call_result``. Raises TypeError for non-Mappings."""
    _check_inputs(call_result, pearl_response)
    sig = _signals(call_result, pearl_response, DEFAULT_RULES, None)
    facts = sig.facts
    if not facts.appointment_requested:
        return None
    return Appointment(
        fecha=facts.appointment_date,
        hora=facts.appointment_time,
        confirmed=sig.confirmed,
        problems=tuple(mask_digits(p) for p in facts.problems),
        with_pack=facts.with_pack,
    )
