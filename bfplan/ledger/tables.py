"""Every ledger table of the schema ``bfplan``, and its columns (BigQuery types), in one place.

All tables are append-only: a row's latest record (by ``recorded_ns``) is its state.
"""

from __future__ import annotations

SCHEMA = "bfplan"

#: one row per run state change: running, then succeeded / failed / interrupted
RUNS = f"{SCHEMA}.runs"
RUN_COLUMNS = {
    "run_id": "STRING", "plan": "STRING", "plan_name": "STRING", "mode": "STRING",
    "status": "STRING", "event_at": "TIMESTAMP", "host": "STRING", "pid": "INT64", "user_name": "STRING",
    "command": "STRING", "summary": "JSON", "recorded_ns": "INT64",
}

#: one row per (processor, date) outcome; ``done`` rows commit with the data they describe
PARTITIONS = f"{SCHEMA}.partition_log"
PARTITION_COLUMNS = {
    "run_id": "STRING", "plan_name": "STRING", "processor": "STRING", "table_name": "STRING",
    "partition_date": "DATE", "status": "STRING", "attempt": "INT64", "row_count": "INT64",
    "started_at": "TIMESTAMP", "finished_at": "TIMESTAMP", "duration_s": "FLOAT64",
    "error": "STRING", "recorded_ns": "INT64",
    # of a done partition: an order-independent hash of its rows (with row_count, its content)
    "content_hash": "INT64",
    # of a done partition of a file source: its files, name -> hash of the bytes, as JSON
    "source_state": "STRING",
    # of a failed partition: the exception's full traceback (the error is its one line)
    "traceback": "STRING",
}
#: partition_log columns added after the first release
PARTITION_COLUMNS_ADDED = {"content_hash": "INT64", "source_state": "STRING", "traceback": "STRING"}

#: one row per gate evaluation start and one per verdict
GATES = f"{SCHEMA}.gate_results"
GATE_COLUMNS = {
    "run_id": "STRING", "plan_name": "STRING", "gate": "STRING", "stage": "STRING",
    "status": "STRING", "severity": "STRING", "summary": "STRING", "findings": "JSON",
    "started_at": "TIMESTAMP", "duration_s": "FLOAT64", "recorded_ns": "INT64",
    # which gate of the plan (stage, name, occurrence) and what it judged (options, dates, the
    # versions of its inputs): a gate is evaluated again when its last verdict was a failure,
    # never came (the process died), or was about other inputs than the ones there are now
    "gate_key": "STRING", "fingerprint": "STRING",
    # of a gate whose code raised: the full traceback (the summary is its one line)
    "traceback": "STRING",
}
#: gate_results columns added after the first release: added to older ledgers on first write
GATE_COLUMNS_ADDED = {"gate_key": "STRING", "fingerprint": "STRING", "traceback": "STRING"}

#: which upstream partitions (at which versions) each written partition read
LINEAGE = f"{SCHEMA}.lineage"
LINEAGE_COLUMNS = {
    "plan_name": "STRING", "run_id": "STRING", "processor": "STRING", "partition_date": "DATE",
    "version": "INT64", "input_processor": "STRING", "window_start": "DATE", "window_end": "DATE",
    "max_input_version": "INT64", "input_partitions": "INT64", "recorded_ns": "INT64",
    # what the window held: its rows and the XOR of its partitions' content hashes
    "input_rows": "INT64", "input_hash": "INT64",
}
#: lineage columns added after the first release
LINEAGE_COLUMNS_ADDED = {"input_rows": "INT64", "input_hash": "INT64"}

#: rows that broke a processor's contract or could not be loaded, with the rule or reason: set
#: aside (``quarantined``: the rest of the batch committed) or caught failing a node (``rejected``)
QUARANTINE = f"{SCHEMA}.quarantine"
QUARANTINE_COLUMNS = {
    "plan_name": "STRING", "run_id": "STRING", "processor": "STRING", "table_name": "STRING",
    "partition_date": "DATE", "rule": "STRING", "detail": "STRING", "row_key": "STRING", "record": "STRING",
    "source": "STRING", "action": "STRING", "recorded_ns": "INT64",
}

#: the run lock: acquire, heartbeat, release, steal
LOCKS = f"{SCHEMA}.run_locks"
LOCK_COLUMNS = {
    "plan_name": "STRING", "run_id": "STRING", "host": "STRING", "pid": "INT64", "event": "STRING",
    "event_at": "TIMESTAMP", "expires_at": "TIMESTAMP", "recorded_ns": "INT64",
}

#: processor circuit breakers: tripped, reset
BREAKERS = f"{SCHEMA}.circuit_breakers"
BREAKER_COLUMNS = {
    "plan_name": "STRING", "processor": "STRING", "event": "STRING", "failures": "INT64", "reason": "STRING",
    "event_at": "TIMESTAMP", "until_at": "TIMESTAMP", "run_id": "STRING", "recorded_ns": "INT64",
}

#: the processor's code fingerprint when its breaker tripped: a later change closes the breaker
BREAKER_CODE = f"{SCHEMA}.circuit_breaker_code"
BREAKER_CODE_COLUMNS = {
    "plan_name": "STRING", "processor": "STRING", "fingerprint": "STRING", "run_id": "STRING", "recorded_ns": "INT64",
}

#: entity reprocess attempts (daily mode's entity breaker)
ATTEMPTS = f"{SCHEMA}.reprocess_attempts"
ATTEMPT_COLUMNS = {
    "plan_name": "STRING", "processor_name": "STRING", "entity_id": "STRING", "analysis_date": "DATE",
    "attempt_number": "INT64", "attempted_at": "TIMESTAMP", "skip_reason": "STRING",
    "circuit_breaker_tripped": "BOOL", "circuit_breaker_until": "TIMESTAMP", "run_id": "STRING",
    "recorded_ns": "INT64",
}

#: every ledger table, for the commands that create or verify them all
ALL_TABLES = {RUNS: RUN_COLUMNS, PARTITIONS: PARTITION_COLUMNS, GATES: GATE_COLUMNS, LINEAGE: LINEAGE_COLUMNS,
              QUARANTINE: QUARANTINE_COLUMNS,
              LOCKS: LOCK_COLUMNS, BREAKERS: BREAKER_COLUMNS, BREAKER_CODE: BREAKER_CODE_COLUMNS,
              ATTEMPTS: ATTEMPT_COLUMNS}
