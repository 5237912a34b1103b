"""Error mapping: which google.api_core errors are worth a retry, and their one-line messages."""

from __future__ import annotations

import pytest
import requests
from google.api_core import exceptions as gexc

import bfplan.warehouse.bigquery.adapter as bq
from bfplan.errors import WarehouseError
from bfplan.warehouse.bigquery import BigQueryWarehouse
from bfplan.warehouse.bigquery.errors import excerpt, is_transient_error, one_line
from bfplan.warehouse.bigquery.errors import wrap as _wrap

CONCURRENT = ("Transaction is aborted due to concurrent update against table my-proj:nba.games. "
              "Transaction ID: 6411a2fd-0000-2e1c-9b6b-089e08267f6c")

TRANSIENT = [
    gexc.TooManyRequests("slow down"),
    gexc.InternalServerError("oops"),
    gexc.BadGateway("bad gateway"),
    gexc.ServiceUnavailable("unavailable"),
    gexc.GatewayTimeout("gateway timeout"),
    # BigQuery answers rate limits with 403 and backend trouble with 400 or 500: the reason decides
    gexc.Forbidden("Exceeded rate limits: too many table update operations",
                   errors=[{"reason": "rateLimitExceeded", "message": "Exceeded rate limits"}]),
    gexc.BadRequest("job failed", errors=[{"reason": "backendError", "message": "Backend error"}]),
    gexc.BadRequest("job failed", errors=[{"reason": "internalError", "message": "Internal error"}]),
    gexc.Forbidden("quota", errors=[{"reason": "jobRateLimitExceeded", "message": "Exceeded rate limits"}]),
    gexc.BadRequest(CONCURRENT, errors=[{"reason": "invalidQuery", "message": CONCURRENT}]),
    gexc.BadRequest("Could not serialize access to table my-proj:nba.games due to concurrent update"),
    gexc.RetryError("Deadline of 600.0s exceeded", cause=gexc.ServiceUnavailable("x")),
    requests.ConnectionError("connection reset by peer"),
    requests.Timeout("read timed out"),
    ConnectionRefusedError("refused"),
    WarehouseError("rate limit exceeded (simulated)", transient=True),
]

PERMANENT = [
    gexc.BadRequest("Syntax error: Unexpected identifier", errors=[{"reason": "invalidQuery", "message": "Syntax"}]),
    gexc.NotFound("Not found: Table my-proj:nba.nothing", errors=[{"reason": "notFound", "message": "Not found"}]),
    gexc.Forbidden("Access Denied", errors=[{"reason": "accessDenied", "message": "Access Denied"}]),
    gexc.Forbidden("Quota exceeded", errors=[{"reason": "quotaExceeded", "message": "Your project exceeded quota"}]),
    gexc.Conflict("Already Exists: Table", errors=[{"reason": "duplicate", "message": "Already Exists"}]),
    gexc.Unauthorized("Request had invalid authentication credentials"),
    ValueError("bad value"),
    WarehouseError("bad plan value"),
]


@pytest.mark.parametrize("exc", TRANSIENT, ids=lambda e: type(e).__name__)
def test_transient_errors(exc):
    assert is_transient_error(exc)
    assert _wrap(exc, "query failed").transient


@pytest.mark.parametrize("exc", PERMANENT, ids=lambda e: type(e).__name__)
def test_permanent_errors(exc):
    assert not is_transient_error(exc)
    assert not _wrap(exc, "query failed").transient


def test_the_warehouse_delegates(monkeypatch):
    monkeypatch.setenv(bq.EMULATOR_ENV, "http://127.0.0.1:9")
    wh = BigQueryWarehouse.from_config(project="p")
    assert wh.is_transient(gexc.TooManyRequests("x"))
    assert not wh.is_transient(gexc.NotFound("x"))
    assert wh.is_transient(WarehouseError("conflict", transient=True))


def test_messages_are_one_short_line():
    exc = gexc.NotFound(
        "POST https://bigquery.example/bigquery/v2/projects/p/jobs?prettyPrint=false: Not found: Table p:nba.t "
        "was not found in location US\n\nLocation: US\nJob ID: 6c1f-…",
        errors=[{"reason": "notFound", "message": "Not found: Table p:nba.t was not found in location US",
                 "domain": "global"}])
    assert one_line(exc) == "404 notFound: Not found: Table p:nba.t was not found in location US"
    wrapped = _wrap(exc, "query failed")
    assert str(wrapped) == "query failed: 404 notFound: Not found: Table p:nba.t was not found in location US"
    assert _wrap(wrapped, "again") is wrapped
    bare = gexc.BadRequest("GET https://x/y: Invalid\nmore text")
    assert one_line(bare) == "400 Invalid"
    huge = gexc.BadRequest("x" * 5000)
    assert len(one_line(huge)) <= 400
    assert one_line(ValueError("a\nb")) == "ValueError: a"
    assert excerpt("SELECT a,\n   b FROM nba.games WHERE x = 1", width=20) == "SELECT a, b FROM ..."


def test_a_failed_job_raises_a_wrapped_error(monkeypatch):
    monkeypatch.setenv(bq.EMULATOR_ENV, "http://127.0.0.1:9")
    wh = BigQueryWarehouse.from_config(project="p")

    class Job:
        job_id = "j1"

        def result(self, timeout, retry, job_retry):
            # bfplan's retries are the only retries of a job; single API calls give up in 30 s
            assert job_retry is None and retry is bq.API_RETRY and retry.deadline == 30.0
            raise gexc.Forbidden("Exceeded rate limits", errors=[{"reason": "rateLimitExceeded", "message": "slow"}])

    class Client:
        def query(self, sql, job_config, location, retry, job_retry):
            assert location == "US" and job_config.labels["tool"] == "bfplan"
            assert job_retry is None and retry is bq.API_RETRY
            return Job()

    monkeypatch.setattr(wh, "_client", lambda: Client())
    with pytest.raises(WarehouseError, match=r"^query failed \[SELECT 1 AS x\]: 403 rateLimitExceeded: slow$") as err:
        wh.query("SELECT 1 AS x")
    assert err.value.transient


def test_a_query_past_its_timeout_is_cancelled(monkeypatch):
    import concurrent.futures

    monkeypatch.setenv(bq.EMULATOR_ENV, "http://127.0.0.1:9")
    wh = BigQueryWarehouse.from_config(project="p", query_timeout_s=0.5)
    cancelled = []

    class Job:
        job_id = "j2"

        def result(self, timeout, retry, job_retry):
            assert timeout == 0.5
            raise concurrent.futures.TimeoutError

    class Client:
        def query(self, sql, job_config, location, retry, job_retry):
            return Job()

        def cancel_job(self, job_id, location):
            cancelled.append(job_id)

    monkeypatch.setattr(wh, "_client", lambda: Client())
    with pytest.raises(WarehouseError, match=r"no result after query_timeout_s=0\.5s") as err:
        wh.execute("DELETE FROM nba.t WHERE TRUE")
    assert cancelled == ["j2"] and not err.value.transient
