"""One-line errors and documented exit codes for every script.

A script wraps its body with `run_script`: whatever the body raises becomes ONE line
on stderr saying what went wrong and what to do, and a documented exit code. The
traceback is printed only with --verbose. `EXIT_CODES_HELP` is the table every
script puts in its --help epilog (and the README repeats).

    def main(argv=None) -> int:
        args = parser.parse_args(argv)
        return script_errors.run_script(lambda: body(args), verbose=args.verbose)

Exit codes: 0 ok; 1 a check failed or an alert is raised; 2 configuration or usage
error (bad arguments, malformed settings); 3 database error (unreachable, login or
privilege refused, schema missing, lock timeouts).
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pymysql

import db

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_ALERT = 1
EXIT_CONFIG = 2
EXIT_DATABASE = 3

EXIT_CODES_HELP = """exit codes:
  0  done; everything checked is healthy
  1  a check failed or an alert is raised (the output says which)
  2  configuration or usage error (bad arguments, malformed setting or .env value)
  3  database error (unreachable, login or privilege refused, schema missing, lock timeout)"""

INIT_HINT = "run `python db.py init`"


class ConfigurationError(ValueError):
    """A setting (environment, .env or scheduler_config) makes the script unable to run."""


@dataclass(frozen=True)
class ScriptError:
    """What a script prints and returns for an exception."""

    exit_code: int
    message: str


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it was raised from or during (even `from None`)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _mysql_error(exc: BaseException) -> pymysql.err.MySQLError | None:
    for item in _chain(exc):
        if isinstance(item, pymysql.err.MySQLError):
            return item
    return None


_CODE_IN_TEXT = re.compile(r"\(?\berror (\d{4})\)?|MySQL error (\d{4})")


def _code_and_text(exc: BaseException) -> tuple[int | None, str]:
    found = _mysql_error(exc)
    if found is not None and found.args and isinstance(found.args[0], int):
        text = str(found.args[1]) if len(found.args) > 1 else ""
        return found.args[0], text
    match = _CODE_IN_TEXT.search(str(exc))
    if match:
        return int(match.group(1) or match.group(2)), ""
    return None, ""


def _settings_text() -> str:
    try:
        return db.DbSettings.from_env().describe()
    except ValueError:
        return "the configured database"


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def database_message(code: int | None, server_text: str, *, in_init: bool = False) -> str:
    """One line saying what a MySQL error code means here and what to do about it.

    `in_init` is true inside `python db.py init`, which must not suggest running itself.
    """
    where = _settings_text()
    detail = f" ({_short(server_text)})" if server_text else ""
    if code in (1146, 1054):
        what = "a table is missing" if code == 1146 else "a column is missing"
        if in_init:
            return f"{what} after applying the schema on {where}{detail}: check schema.sql"
        return f"{what} on {where}{detail}: the schema is not applied or is old; {INIT_HINT}"
    if code in (1045, 1698):  # 1698: MariaDB's refusal of a user that may not log in so
        return (
            f"login refused for {where} (error {code}): check DB_USER and DB_PASSWORD "
            "in the environment or .env"
        )
    if code == 1044:
        return (
            f"user may not use the database on {where} (error 1044){detail}: GRANT it access "
            "to that database, or check DB_DATABASE"
        )
    if code in (1142, 1143):
        privilege = _privilege(server_text) or "a"
        target = "column" if code == 1143 else "table"
        return (
            f"the database user lacks the {privilege} privilege on a {target} of {where} "
            f"(error {code}){detail}: GRANT {privilege} to it (see the README's "
            "'Database privileges') or use another DB_USER"
        )
    if code == 1049:
        if in_init:
            return f"database missing on {where} (error 1049) and could not be created"
        return f"database does not exist on {where} (error 1049): {INIT_HINT} to create it"
    if code == 2003 or code == 2005:
        return (
            f"cannot reach the database server for {where} (error {code}): is MySQL/MariaDB "
            "running, and are DB_HOST/DB_PORT right?"
        )
    if code in (2006, 2013, 2055, 1927):
        return (
            f"the database server went away during the work on {where} (error {code}); "
            "nothing was committed by the interrupted statement: check the server and run again"
        )
    if code in (1205, 1213):
        return (
            f"gave up waiting for a row lock on {where} (error {code}): another job holds it; "
            "run again later (DB_LOCK_WAIT_TIMEOUT sets the wait)"
        )
    if code == 1227:
        return f"the database user lacks a privilege on {where} (error {code}){detail}"
    shown = f"error {code}" if code is not None else "database error"
    return f"database problem on {where} ({shown}){detail}"


_PRIVILEGE = re.compile(r"^(\w+(?: \w+)?) command denied", re.IGNORECASE)


def _privilege(server_text: str) -> str | None:
    match = _PRIVILEGE.match(server_text.strip())
    return match.group(1).upper() if match else None


# Errors of other modules that mean "the configuration is unusable" (matched by name so
# this module does not import them): pearl_client.PearlConfigError, PearlAuthError (Pearl
# refused the key: 401/403), despachar_llamadas.DispatchConfigError.
_CONFIGURATION_ERROR_NAMES = frozenset({"PearlAuthError"})


def _is_configuration(exc: BaseException) -> bool:
    return any(
        kind.__name__.endswith("ConfigError") or kind.__name__ in _CONFIGURATION_ERROR_NAMES
        for kind in type(exc).__mro__
    )


def classify(exc: BaseException, *, in_init: bool = False) -> ScriptError:
    """The exit code and one-line message for an exception a script body raised."""
    if isinstance(exc, db.CommitUnknownError):
        return ScriptError(EXIT_DATABASE, f"{exc}")
    is_database = isinstance(exc, db.DatabaseError | pymysql.err.MySQLError)
    if is_database or _mysql_error(exc) is not None:
        code, text = _code_and_text(exc)
        if code is None and isinstance(exc, db.DatabaseError):
            return ScriptError(EXIT_DATABASE, _short(str(exc), 400))
        return ScriptError(EXIT_DATABASE, database_message(code, text, in_init=in_init))
    if isinstance(exc, ConfigurationError) or _is_configuration(exc):
        return ScriptError(EXIT_CONFIG, f"configuration error: {_short(str(exc), 400)}")
    if isinstance(exc, ValueError | LookupError):
        return ScriptError(EXIT_CONFIG, _short(str(exc), 400))
    if isinstance(exc, KeyboardInterrupt):
        return ScriptError(130, "interrupted")
    return ScriptError(
        EXIT_ALERT,
        f"unexpected {type(exc).__name__}: {_short(str(exc))} (run with --verbose for details)",
    )


def run_script(
    body: Callable[[], int], *, verbose: bool = False, in_init: bool = False, prefix: str = "error"
) -> int:
    """Run a script's body; return its exit code, or the code of the error it raised.

    The error is printed as one line `error: ...` on stderr; with `verbose` the
    traceback comes first. Nothing is swallowed silently: SystemExit passes through.
    """
    try:
        return body()
    except SystemExit:
        raise
    except BaseException as exc:  # every error becomes one line and an exit code
        problem = classify(exc, in_init=in_init)
        if verbose:
            traceback.print_exc(file=sys.stderr)
        print(f"{prefix}: {problem.message}", file=sys.stderr)
        return problem.exit_code


def add_verbose_flag(parser) -> None:
    """Add the common --verbose flag (tracebacks and step-by-step logs)."""
    parser.add_argument(
        "--verbose", "-v", action="store_true", help="log every step; print tracebacks on errors"
    )


def configure_logging(verbose: bool) -> None:
    """Script logging: ISO timestamps, WARNING by default, DEBUG with --verbose."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S%z",
    )
