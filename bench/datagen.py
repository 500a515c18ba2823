"""Generated rows and Pearl payloads for the benchmarks; seeded, so every run fills the same.

Rows are tuples in the column order of bench_sql.LEAD_FILE_COLUMNS and
SCHEDULE_FILE_COLUMNS, with times as Unix epoch seconds.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from benchlib import LeadRow, ScheduleRow

from despachar_llamadas import DEFAULT_SIMULATION_MIX

MINUTE, HOUR, DAY = 60, 3600, 86400
FIRST_NAMES = ("María", "José", "Lucía", "Javier", "Carmen", "Antonio", "Núria", "Íñigo")
LAST_NAMES = ("García López", "Martínez Ruiz", "Fernández", "Sánchez Peña", "Muñoz Gil")
RETRY_OUTCOMES = ("no_answer", "busy", "hang_up")
# The shares of Pearl call kinds: the dispatcher's own default simulation mix.
CALL_KINDS = DEFAULT_SIMULATION_MIX


def phone(rng: random.Random) -> str:
    """A valid Spanish mobile number in E.164."""
    return f"+346{rng.randrange(10**8):08d}"


def leads(
    first_id: int,
    count: int,
    rng: random.Random,
    now: int,
    *,
    closed: bool = False,
    max_attempts_so_far: int = 0,
    invalid_phone_share: float = 0.0,
) -> Iterator[LeadRow]:
    """`count` leads with consecutive ids, open (or closed 'No interesado'), each with
    0..max_attempts_so_far attempts; a share of them with a number that is not a phone."""
    for lead_id in range(first_id, first_id + count):
        number = "12345" if rng.random() < invalid_phone_share else phone(rng)
        created = now - rng.randrange(DAY, 90 * DAY)
        yield (
            lead_id, rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES), number,
            "closed" if closed else "open", "No interesado" if closed else None,
            "completed" if closed else "no_selected", rng.randint(0, max_attempts_so_far), 0,
            now - rng.randrange(HOUR, 30 * DAY) if closed else None, created,
        )  # fmt: skip


def pending(
    lead_ids: Iterable[int], rng: random.Random, now: int, *, due: bool
) -> Iterator[ScheduleRow]:
    """One pending call per lead: due (1 minute to 7 days ago) or later (1 hour to 14 days)."""
    for lead_id in lead_ids:
        offset = -rng.randrange(MINUTE, 7 * DAY) if due else rng.randrange(HOUR, 14 * DAY)
        when = now + offset
        created = min(when, now) - rng.randrange(0, 2 * DAY)
        yield (lead_id, when, rng.randint(1, 3), "pending", rng.choice(RETRY_OUTCOMES), None,
               created)  # fmt: skip


def history(
    count: int,
    lead_range: tuple[int, int],
    rng: random.Random,
    now: int,
    *,
    status: str | None = None,
    age_days: tuple[int, int] = (1, 365),
) -> Iterator[ScheduleRow]:
    """Finished calls (completed, or cancelled) of random leads in lead_range (inclusive),
    created age_days ago; status None mixes 3 completed to 1 cancelled."""
    low, high = lead_range
    for _ in range(count):
        state = status or ("completed" if rng.random() < 0.75 else "cancelled")
        created = now - rng.randrange(age_days[0] * DAY, age_days[1] * DAY)
        reason = "Call result processed: busy" if state == "cancelled" else None
        when = min(created + rng.randrange(0, 2 * DAY), now)
        yield (rng.randint(low, high), when, rng.randint(1, 3), state,
               rng.choice(RETRY_OUTCOMES), reason, created)  # fmt: skip


# --- Pearl payloads --------------------------------------------------------------------------

_STATUS = {  # kind -> (Pearl status, conversationStatus, the caller's own outcome word)
    "busy": (5, None, "busy"),
    "no_answer": (7, None, "no_answer"),
    "voicemail": (4, 70, "no_answer"),
    "appointment": (4, 100, "success"),
    "not_interested": (4, 110, "not_interested"),
    "invalid_phone": (6, 150, "invalid_phone"),
}
_TRANSCRIPT = {
    "voicemail": ("Hola, soy Pearl de la clínica, le llamaba por su solicitud de información.",),
    "appointment": (
        "Hola, soy Pearl de la clínica. ¿Hablo con la persona que pidió información?",
        "Sí, soy yo. Quería saber los horarios para una primera visita.",
        "Claro. Tenemos huecos esta semana por la mañana y por la tarde. ¿Qué prefiere?",
        "Mejor por la tarde, a partir de las cinco.",
        "Perfecto, le reservo la cita. Le llegará una confirmación por SMS.",
        "Muchas gracias, hasta luego.",
    ),
    "not_interested": (
        "Hola, soy Pearl de la clínica, le llamo por la información que solicitó.",
        "Ya no me interesa, gracias. Por favor no me llamen más.",
        "Entendido, disculpe las molestias. Que tenga un buen día.",
    ),
}


def _transcript(kind: str, rng: random.Random) -> list[dict[str, Any]]:
    turns, clock = [], 0.5
    for index, text in enumerate(_TRANSCRIPT.get(kind, ())):
        length = round(rng.uniform(2.0, 7.0), 1)
        role = "Pearl" if index % 2 == 0 else "Client"
        turns.append({"role": role, "content": text, "startTime": clock, "endTime": clock + length})
        clock = round(clock + length + rng.uniform(0.2, 1.0), 1)
    return turns


def _collected_info(kind: str, rng: random.Random, now: datetime) -> list[dict[str, Any]]:
    if kind != "appointment":
        return []
    day = (now + timedelta(days=rng.randint(1, 10))).strftime("%d-%m-%Y")
    hour = f"{rng.randint(10, 18):02d}:{rng.choice(('00', '30'))}"
    return [
        {"id": "fechaDeseada", "name": "Fecha deseada", "value": day},
        {"id": "horaDeseada", "name": "Hora deseada", "value": hour},
        {"id": "callResult", "name": "Resultado", "value": "Cita reservada"},
    ]


def pearl_call(
    kind: str, call_id: str, to: str, rng: random.Random
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(call_result, pearl_response) as a webhook hands them over for a finished call of
    that kind: the caller's summary and Pearl's full call object."""
    status, conversation, word = _STATUS[kind]
    now = datetime.now(UTC)
    transcript = _transcript(kind, rng)
    duration = int(transcript[-1]["endTime"]) + 2 if transcript else 0
    started = now - timedelta(seconds=duration + rng.randint(5, 60))
    response: dict[str, Any] = {
        "id": call_id, "relatedId": "bench-outbound", "startTime": started.isoformat(),
        "status": status, "from": "+34910000000", "to": to, "name": rng.choice(FIRST_NAMES),
        "duration": duration, "transcript": transcript, "tags": [],
        "recording": f"https://recordings.example/{call_id}.mp3" if transcript else None,
        "summary": f"Simulated {kind.replace('_', ' ')} call" if transcript else "",
        "collectedInfo": _collected_info(kind, rng, now),
    }  # fmt: skip
    if conversation is not None:
        response["conversationStatus"] = conversation
    result = {"callResult": word, "status": "completed" if status == 4 else "failed",
              "outcome": word, "duration": duration, "call_id": call_id}  # fmt: skip
    return result, response


def call_kinds(count: int, rng: random.Random) -> list[str]:
    """`count` call kinds drawn with the default simulation shares."""
    return rng.choices(list(CALL_KINDS), list(CALL_KINDS.values()), k=count)
