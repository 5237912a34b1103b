"""BigQuery errors in bfplan's terms: transient (worth retrying) or not, and one short line."""

from __future__ import annotations

import re

import requests
from google.api_core import exceptions as gexc

from bfplan.errors import WarehouseError

TRANSIENT_REASONS = frozenset({"rateLimitExceeded", "backendError", "internalError", "jobRateLimitExceeded",
                               "jobBackendError", "jobInternalError"})
TRANSIENT_TYPES = (gexc.TooManyRequests, gexc.InternalServerError, gexc.BadGateway, gexc.ServiceUnavailable,
                   gexc.GatewayTimeout, gexc.RetryError, ConnectionError, requests.ConnectionError,
                   requests.Timeout)
#: transaction conflicts: the loser of two concurrent writers to one table simply runs again
TRANSIENT_MESSAGES = ("concurrent update", "could not serialize access")


def is_transient_error(exc: BaseException) -> bool:
    """Rate limits, 5xx, backend errors and transaction conflicts are transient; the rest is not."""
    if isinstance(exc, WarehouseError):
        return exc.transient
    if isinstance(exc, TRANSIENT_TYPES):
        return True
    if isinstance(exc, gexc.GoogleAPICallError):
        reasons = {e.get("reason") for e in (exc.errors or ()) if isinstance(e, dict)}
        if reasons & TRANSIENT_REASONS:
            return True
    text = str(exc).lower()
    return any(m in text for m in TRANSIENT_MESSAGES)


def one_line(exc: BaseException) -> str:
    """A short message for an API error: no request URL, no job id footer, no JSON."""
    if isinstance(exc, gexc.GoogleAPICallError):
        first = next((e for e in (exc.errors or ()) if isinstance(e, dict) and e.get("message")), None)
        message = first["message"] if first else exc.message
        message = re.sub(r"^(GET|POST|PUT|PATCH|DELETE) \S+: ", "", str(message).strip())
        reason = first.get("reason") if first else None
        text = f"{exc.code} {reason}: {message}" if reason else f"{exc.code} {message}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    text = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return text if len(text) <= 400 else text[:397] + "..."


def excerpt(sql: str, width: int = 60) -> str:
    """The start of a statement on one line, to say which one failed."""
    text = " ".join(sql.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def wrap(exc: BaseException, what: str) -> WarehouseError:
    if isinstance(exc, WarehouseError):
        return exc
    return WarehouseError(f"{what}: {one_line(exc)}", transient=is_transient_error(exc))
