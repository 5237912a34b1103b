"""The failures contract: per-entity failures, in one place for processors, gates, gaps and runs.

A processor with a ``failures_table`` records, per date and entity it could not compute, one
row with the columns of :data:`COLUMNS` (domain-free: ``expected_count``/``actual_count`` of
whatever the processor counts, ``missing_dates``) plus its own columns
(``Processor.failure_columns``, e.g. a pipeline's own counts). A failure of a whole date has
the entity :data:`DATE_LEVEL`.

A category says why. Only :data:`PROCESSING_ERROR` means a bug; missing input data is never
one. :data:`EXPECTED_SKIPS` are the categories that are part of normal operation (too little
history yet, a breaker holding an entity back); a processor adds its own
(``Processor.expected_failure_categories``).

Resolution: a failure is ``UNRESOLVED`` until a later run computes the entity (then the row is
kept as history, ``RESOLVED``) — or ``PERMANENT`` when its ``failure_type`` is one the processor
calls permanent (``Processor.permanent_failure_types``: nothing will ever fix it). The SQL
predicates below are the rules every reader uses.
"""

from __future__ import annotations

from collections.abc import Iterable

#: the entity id of a failure that concerns a whole date (the processor wrote nothing for it)
DATE_LEVEL = "DATE_LEVEL"

# -- categories ---------------------------------------------------------------------------------
INSUFFICIENT_DATA = "INSUFFICIENT_DATA"
EXPECTED_INCOMPLETE = "EXPECTED_INCOMPLETE"
INCOMPLETE_DATA = "INCOMPLETE_DATA"
INCOMPLETE_UPSTREAM = "INCOMPLETE_UPSTREAM"
MISSING_DEPENDENCY = "MISSING_DEPENDENCY"
REGISTRY_LOOKUP_FAILED = "REGISTRY_LOOKUP_FAILED"
CIRCUIT_BREAKER_ACTIVE = "CIRCUIT_BREAKER_ACTIVE"
PROCESSING_ERROR = "PROCESSING_ERROR"

#: the categories every processor may report (a processor may add its own)
CATEGORIES = (INSUFFICIENT_DATA, EXPECTED_INCOMPLETE, INCOMPLETE_DATA, INCOMPLETE_UPSTREAM, MISSING_DEPENDENCY,
              REGISTRY_LOOKUP_FAILED, CIRCUIT_BREAKER_ACTIVE, PROCESSING_ERROR)

#: categories that are normal operation, not problems (the runbook's coverage script's list)
EXPECTED_SKIPS = (INSUFFICIENT_DATA, EXPECTED_INCOMPLETE, INCOMPLETE_DATA, "MISSING_UPSTREAM", "MISSING_DEPENDENCIES",
                  "MINIMUM_THRESHOLD_NOT_MET", CIRCUIT_BREAKER_ACTIVE)

# -- columns ------------------------------------------------------------------------------------
#: the failures table's columns every processor shares, in BigQuery types
COLUMNS: dict[str, str] = {
    "processor_name": "STRING",
    "run_id": "STRING",
    "analysis_date": "DATE",
    "entity_id": "STRING",
    "failure_category": "STRING",
    "failure_reason": "STRING",
    "can_retry": "BOOL",
    "failure_type": "STRING",
    "is_correctable": "BOOL",
    "expected_count": "INT64",
    "actual_count": "INT64",
    "missing_dates": "STRING",
    "raw_data_checked": "BOOL",
    "resolution_status": "STRING",
    "resolved_at": "TIMESTAMP",
    "created_at": "TIMESTAMP",
}

#: columns a SqlProcessor's query may return that only describe a failure: they go to the
#: failures table and are dropped from the output table (missing ones are NULL)
FAILURE_ONLY = ("failure_category", "failure_reason", "can_retry", "failure_type", "is_correctable", "expected_count",
                "actual_count", "missing_dates", "raw_data_checked")

#: columns the engine fills in itself
ENGINE_FILLED = ("processor_name", "run_id", "analysis_date", "entity_id", "resolution_status", "resolved_at",
                 "created_at")

# -- resolution ---------------------------------------------------------------------------------
UNRESOLVED, RESOLVED, PERMANENT = "UNRESOLVED", "RESOLVED", "PERMANENT"

#: SQL: the failure still stands (unresolved or permanent) — what gates and gaps count
STANDS = f"IFNULL(resolution_status, '{UNRESOLVED}') != '{RESOLVED}'"
#: SQL: the failure may still be fixed by computing again — what ``--rerun-failed`` takes
OPEN = f"IFNULL(resolution_status, '{UNRESOLVED}') = '{UNRESOLVED}'"
#: SQL: the failure concerns one entity, not a whole date
NOT_DATE_LEVEL = f"entity_id != '{DATE_LEVEL}'"


def columns(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The failures table's columns: the shared ones, then a processor's own."""
    return {**COLUMNS, **(extra or {})}


def resolution_sql(permanent_types: Iterable[str]) -> str:
    """SQL for a new failure row's ``resolution_status`` (``failure_type`` decides PERMANENT)."""
    kinds = [t for t in permanent_types]
    if not kinds:
        return f"'{UNRESOLVED}'"
    listed = ", ".join("'" + t.replace("'", "''") + "'" for t in kinds)
    return f"IF(failure_type IN ({listed}), '{PERMANENT}', '{UNRESOLVED}')"


def expected_skips(own: Iterable[str] = ()) -> tuple[str, ...]:
    """The expected-skip categories, with a processor's own."""
    return tuple(dict.fromkeys((*EXPECTED_SKIPS, *own)))
