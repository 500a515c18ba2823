"""The HTTP server: Pearl's call webhook in, the original system's result API, health.

An ASGI application (FastAPI) served by uvicorn:

    POST /webhooks/pearl/call        Pearl's call webhook (token); see webhook_pearl.py
    POST /api/actualizar_resultado   the original system's result API (token); api_original.py
    GET  /api/status                 the original's liveness answer (no token)
    GET  /health                     200 when the database answers, else 503 (no token)
    GET  /docs, /openapi.json        the OpenAPI document
    GET  /, /leads, /review, /settings   the supervisor's dashboard (panel.py; its own login)

Authentication: the shared secret WEBHOOK_TOKEN (required: the server refuses to start
without a usable one), sent as ``?token=`` (Pearl sends no custom headers) or as an
``X-Webhook-Token`` header, compared in constant time. During a rotation WEBHOOK_TOKEN_PREVIOUS
is accepted too. Settings (DB_*, WEBHOOK_TOKEN*) come from the environment or `.env`.

Status codes: 200 for every webhook the server has dealt with, including start events,
duplicates and calls it cannot place ({"status": "ignored", "reason": ...}: a 4xx would make
Pearl retry for ever); 401 missing/wrong token; 413 body over 1 MiB (enforced while reading);
422 body that is not JSON or not a call object (one-line reason, nothing written); 503
database unavailable (the sender retries; a retried result is counted once).

Logs: one line per request (method, path with the token removed, status, duration in ms);
the token never appears (uvicorn's access log is filtered as well), phone numbers are masked.

    python servidor.py [--host 127.0.0.1] [--port 8080] [--workers 1]

Exit codes: 0 stopped; 2 configuration error (no or unusable WEBHOOK_TOKEN).
Production: ``uvicorn servidor:app --workers N --proxy-headers --no-access-log`` behind a
reverse proxy that terminates TLS (README, "The HTTP server").
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import json
import logging
import os
import re
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import asynccontextmanager, suppress
from typing import Any, Literal

import pymysql
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

import db
import panel
import queries
from api_original import actualizar_resultado
from clock import utc_now
from webhook_pearl import WebhookPayloadError, handle_call_event

logger = logging.getLogger("servidor")

MAX_BODY_BYTES = 1024 * 1024
DEFAULT_DB_THREADS = 8
TOKEN_HEADER = "X-Webhook-Token"  # noqa: S105 (a header name, not a secret)
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9._~-]{16,256}")
_PLACEHOLDERS = frozenset({"change-me", "your-webhook-token", "changeme"})
_TOKEN_IN_QUERY = re.compile(r"(?i)((?:^|[?&])token=)[^&\s\"]*")
# Errors that mean "the database cannot do this now": the sender should retry.
DB_UNAVAILABLE = (db.DatabaseError, pymysql.err.OperationalError, pymysql.err.InterfaceError)


class ConfigurationError(Exception):
    """The server cannot start with these settings (one line, no secret in it)."""


# --- settings -------------------------------------------------------------------------------


def load_tokens(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The accepted tokens: WEBHOOK_TOKEN, then WEBHOOK_TOKEN_PREVIOUS when set.

    Each must be 16-256 URL-safe characters (letters, digits, ``._~-``) and not a
    placeholder. Raises ConfigurationError naming the variable (never its value).
    """
    if environ is None:
        db.load_env_file()
        environ = os.environ
    tokens = []
    for name, required in (("WEBHOOK_TOKEN", True), ("WEBHOOK_TOKEN_PREVIOUS", False)):
        value = environ.get(name, "").strip()
        if not value:
            if required:
                raise ConfigurationError(
                    f"{name} is not set: the server refuses to start without a webhook token "
                    "(make one with: python -c 'import secrets; print(secrets.token_urlsafe(32))')"
                )
            continue
        if not _TOKEN_SHAPE.fullmatch(value) or value.lower() in _PLACEHOLDERS:
            raise ConfigurationError(
                f"{name} must be 16-256 URL-safe characters (letters, digits, '._~-'), "
                "not a placeholder"
            )
        tokens.append(value)
    return tuple(tokens)


def load_db_threads(environ: Mapping[str, str] | None = None) -> int:
    """SERVER_DB_THREADS: how many threads (each with its own database connection) run the
    webhook and result-API work in one worker process; 1-64, default DEFAULT_DB_THREADS.
    Raises ConfigurationError."""
    environ = os.environ if environ is None else environ
    text = environ.get("SERVER_DB_THREADS", "").strip()
    if not text:
        return DEFAULT_DB_THREADS
    if not text.isdigit() or not 1 <= int(text) <= 64:
        raise ConfigurationError("SERVER_DB_THREADS must be a whole number from 1 to 64")
    return int(text)


class DatabaseThreads:
    """A fixed set of threads for the database work of requests, each keeping its own
    connection for the life of the process.

    Starlette's default thread pool stops a thread after 10 idle seconds, and db.py keeps
    one connection per thread: every lull then cost new connections (TLS set-up, session
    settings) in the middle of the next burst, the p99 latency's main cause. These threads
    never stop, and there are at most `size` of them per worker process, so the database
    sees a bounded number of connections (`size` x workers)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._pool = ThreadPoolExecutor(size, thread_name_prefix="db")

    async def run(self, work: Callable[..., Any], *args: Any) -> Any:
        """`work(*args)` in one of the threads; its result or its exception."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, work, *args)

    def close(self) -> None:
        """Close every thread's connection (one task per thread: each waits for the others,
        so no thread takes two), then stop the threads."""
        barrier = threading.Barrier(self.size)

        def close_one() -> None:
            with suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=5)
            db.close_connection()

        wait([self._pool.submit(close_one) for _ in range(self.size)], timeout=10)
        self._pool.shutdown(wait=False, cancel_futures=True)


def token_matches(given: str | None, tokens: Sequence[str]) -> bool:
    """Whether ``given`` equals one of ``tokens``, compared in constant time (every token is
    compared, so the time does not tell which one matched)."""
    if not given or len(given) > 512:
        return False
    candidate = given.encode()
    found = False
    for token in tokens:
        found |= hmac.compare_digest(candidate, token.encode())
    return found


def redact_token(text: str) -> str:
    """``text`` with the value of every ``token=`` query parameter replaced by ``***``."""
    return _TOKEN_IN_QUERY.sub(r"\1***", text)


class _RedactTokenFilter(logging.Filter):
    """Removes tokens from uvicorn's access-log records (the path is one of their args)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_token(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        elif isinstance(record.msg, str):
            record.msg = redact_token(record.msg)
        return True


logging.getLogger("uvicorn.access").addFilter(_RedactTokenFilter())


# --- request log ----------------------------------------------------------------------------


class RequestLogMiddleware:
    """Pure ASGI middleware: one log line per HTTP request, written when it ends."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def send_logged(message: dict) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_logged)
        finally:
            query = scope.get("query_string", b"").decode("latin-1")
            path = scope.get("path", "") + (f"?{redact_token(query)}" if query else "")
            logger.info(
                "%s %s %s %.1fms",
                scope.get("method", "?"),
                path[:300],
                status["code"],
                (time.perf_counter() - started) * 1000,
            )


# --- request helpers ------------------------------------------------------------------------


class BodyTooLargeError(Exception):
    """The request body exceeds MAX_BODY_BYTES."""


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body, refused (BodyTooLargeError) as soon as it passes ``limit`` bytes:
    a declared Content-Length over the limit is refused before reading anything."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLargeError
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError
        chunks.append(chunk)
    return b"".join(chunks)


def decode_json(body: bytes) -> Any:
    """The JSON value of ``body``; WebhookPayloadError with a one-line reason otherwise."""
    if not body.strip():
        raise WebhookPayloadError("the body is empty: a JSON object is expected")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise WebhookPayloadError("the body is not UTF-8 text") from None
    try:
        return json.loads(text)
    except RecursionError:
        raise WebhookPayloadError("the JSON nests too deeply") from None
    except ValueError as exc:
        reason = str(exc).splitlines()[0][:120]
        raise WebhookPayloadError(f"the body is not valid JSON ({reason})") from None


def _authorised(request: Request) -> bool:
    given = request.headers.get(TOKEN_HEADER) or request.query_params.get("token")
    return token_matches(given, request.app.state.tokens)


def _error(status_code: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status_code, headers=headers or None)


UNAUTHORISED = "missing or wrong token (?token= or X-Webhook-Token)"
TOO_LARGE = f"the body is larger than {MAX_BODY_BYTES} bytes"
UNAVAILABLE = "database unavailable; retry later"


# --- OpenAPI models (documentation and fuzzing; the handlers validate by hand so that
# --- PascalCase keys and over-sized bodies get the answers described above) ------------------


class PearlCallEvent(BaseModel):
    """Pearl's call object as its call webhook sends it (camelCase shown; PascalCase keys of
    webhook version 1 are accepted too). Unknown fields are kept."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    id: str | None = Field(None, max_length=64, description="Pearl's call id")
    status: Literal[3, 4, 5, 6, 7, 8] | None = Field(
        None,
        description="3 InProgress (ignored); 4 Completed 5 Busy 6 Failed 7 NoAnswer 8 Canceled",
    )
    conversationStatus: int | None = None
    startTime: str | None = None
    from_: str | None = Field(None, alias="from")
    to: str | None = Field(None, description="the called number")
    name: str | None = None
    duration: int | None = None
    summary: str | None = None
    collectedInfo: list[dict[str, Any]] | None = None
    callData: dict[str, Any] | None = Field(
        None, description="our variables: callRef (pearl_calls id), lead_id"
    )


class ActualizarResultado(BaseModel):
    """The original system's result fields (telefono is required: 400 without it)."""

    model_config = ConfigDict(extra="allow")

    telefono: str = Field(description="the lead's number; matched by its last 9 digits")
    buzon: bool | None = None
    volverALlamar: bool | None = None
    horaRellamada: str | None = None
    codigoNoInteres: str | None = None
    noInteresado: bool | None = None
    nuevaCita: str | None = None
    fechaDeseada: str | None = None
    horaDeseada: str | None = None
    preferenciaMT: str | None = None
    preferenciaFecha: str | None = None
    conPack: bool | None = None
    callResult: str | None = None
    callId: str | None = None


def _body_doc(model: type[BaseModel]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": model.model_json_schema(by_alias=True)}},
        }
    }


def _answers(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {
        200: "dealt with",
        400: "telefono missing or not a phone number",
        401: "missing or wrong token",
        404: "no open lead has that number",
        409: "several open leads have that number; nothing written",
        413: "body over 1 MiB",
        422: "not JSON or not a call object; nothing written",
        503: "database unavailable; retry",
    }
    return {code: {"description": text[code]} for code in codes}


# --- the application ------------------------------------------------------------------------


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Refuse to start without a usable token; log to stderr when nobody configured logging."""
    app.state.tokens = load_tokens()
    app.state.db_threads = DatabaseThreads(load_db_threads())
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
            datefmt="%Y-%m-%dT%H:%M:%S%z",
        )
    yield
    app.state.db_threads.close()
    db.close_connection()


app = FastAPI(
    title="Scheduled calls: webhooks and result API",
    version="1.0",
    lifespan=lifespan,
    description=__doc__.split("\n\n")[0],
)
app.add_middleware(RequestLogMiddleware)
panel.mount(app)  # the dashboard: session login, never the webhook token


@app.post(
    "/webhooks/pearl/call",
    openapi_extra=_body_doc(PearlCallEvent),
    responses=_answers(200, 401, 413, 422, 503),
)
async def pearl_call_webhook(request: Request) -> JSONResponse:
    """Pearl's call webhook (start and end of every call)."""
    answer = await _apply_json(request, handle_call_event, "webhook")
    return answer if isinstance(answer, JSONResponse) else JSONResponse(answer.body())


async def _apply_json(
    request: Request, work: Callable[[Any], Any], what: str
) -> JSONResponse | Any:
    """The shape every token-protected JSON endpoint shares: check the token, read the body
    (at most 1 MiB), decode it, run `work(payload)` in the database threads;
    an error answer (401/413/422/503) as a JSONResponse, else what `work` returned."""
    if not _authorised(request):
        return _error(401, UNAUTHORISED)
    try:
        payload = decode_json(await read_body(request))
        return await request.app.state.db_threads.run(work, payload)
    except BodyTooLargeError:
        return _error(413, TOO_LARGE)
    except WebhookPayloadError as exc:
        return _error(422, str(exc))
    except DB_UNAVAILABLE as exc:
        logger.error("%s not applied, database unavailable: %s", what, type(exc).__name__)
        return _error(503, UNAVAILABLE, **{"Retry-After": "5"})


@app.post(
    "/api/actualizar_resultado",
    openapi_extra=_body_doc(ActualizarResultado),
    responses=_answers(200, 400, 401, 404, 409, 413, 422, 503),
)
async def api_actualizar_resultado(request: Request) -> JSONResponse:
    """The original system's result API: the lead by telefono, the fields as collectedInfo."""
    answer = await _apply_json(request, actualizar_resultado, "result")
    if isinstance(answer, JSONResponse):
        return answer
    return JSONResponse(answer.body, status_code=answer.status_code)


@app.get("/api/status", responses=_answers(200))
async def api_status() -> dict[str, str]:
    """The original's liveness answer (no database access, no token)."""
    return {
        "status": "online",
        "timestamp": utc_now().strftime("%Y-%m-%d %H:%M:%S"),
        "service": "API Resultado Llamada",
    }


def _database_answers() -> bool:
    try:
        with db.transaction("health check") as cur:
            return db.fetch_one(cur, queries.SERVER_HEALTH_CHECK) is not None
    except DB_UNAVAILABLE:
        return False


@app.get("/health", responses=_answers(200, 503))
async def health() -> JSONResponse:
    """200 when the database answers, 503 otherwise; no secrets, no phone numbers."""
    started = time.perf_counter()
    ok = await run_in_threadpool(_database_answers)
    body = {
        "status": "ok" if ok else "unavailable",
        "database": "ok" if ok else "unavailable",
        "database_ms": round((time.perf_counter() - started) * 1000, 1),
        "time": utc_now().isoformat(timespec="seconds"),
    }
    return JSONResponse(body, status_code=200 if ok else 503)


# --- command line ---------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """``python servidor.py [--host] [--port] [--workers]``; returns the exit code."""
    parser = argparse.ArgumentParser(description="Pearl webhooks and the result API over HTTP.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on")
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S%z",
    )
    try:
        load_tokens()
        load_db_threads()
        db.DbSettings.from_env()
    except (ConfigurationError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    import uvicorn

    uvicorn.run(
        "servidor:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=False,  # our own request line replaces it, without the token
        proxy_headers=True,
        log_config=None,  # keep the logging configured above
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
