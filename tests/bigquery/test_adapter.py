"""The BigQuery adapter against the emulator, over HTTP, with the real google-cloud-bigquery client."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import pytest
from google.cloud import bigquery

import bfplan.warehouse.bigquery.adapter as bq
import bfplan.warehouse.bigquery.params as bq_params
from bfplan.errors import WarehouseError
from bfplan.ledger import Ledger
from bfplan.processors import ProcessorContext, SqlProcessor
from bfplan.status import PartitionStatus
from bfplan.warehouse.bigquery import BigQueryWarehouse
from tests.conftest import PROJECT, as_json

pytestmark = pytest.mark.bigquery

D1, D2, D3 = date(2021, 11, 1), date(2021, 11, 2), date(2021, 11, 3)
GAMES = """
SELECT d AS game_date, CONCAT('g', CAST(n AS STRING)) AS game_id, n * @scale AS pts
FROM UNNEST(@dates) AS d CROSS JOIN UNNEST(GENERATE_ARRAY(1, EXTRACT(DAY FROM d) + 1)) AS n
"""


def _games(wh: BigQueryWarehouse) -> list[tuple]:
    rows = wh.query("SELECT game_date, game_id, pts FROM nba.games ORDER BY game_date, game_id")
    return [(r["game_date"], r["game_id"], r["pts"]) for r in rows]


def _write_games(wh: BigQueryWarehouse, dates, scale: int = 1, query_dates=None) -> dict[date, int]:
    with wh.transaction() as tx:
        return tx.replace_partitions("nba.games", "game_date", dates, GAMES,
                                     {"dates": query_dates or dates, "scale": scale, "unused": "x"},
                                     clustering=("game_id",))


def _scratch_tables(wh: BigQueryWarehouse) -> list[str]:
    return [t.table_id for t in wh._client().list_tables(wh.dataset_id(bq.SCRATCH_DATASET))]


def test_replace_partitions_writes_only_the_batch_and_returns_counts(wh):
    # the query yields three dates; the batch is two: the third must not be written
    counts = _write_games(wh, [D1, D2], query_dates=[D1, D2, D3])
    assert counts == {D1: 2, D2: 3}
    assert sorted({r[0] for r in _games(wh)}) == [D1, D2]
    assert len(_games(wh)) == 5
    assert _scratch_tables(wh) == []  # scratch tables go when the transaction ends


def test_replace_partitions_twice_gives_the_same_table(wh):
    _write_games(wh, [D1, D2])
    first = _games(wh)
    _write_games(wh, [D1, D2])
    assert _games(wh) == first
    _write_games(wh, [D2], scale=10)  # rewriting one partition leaves the other alone
    assert [r for r in _games(wh) if r[0] == D1] == [r for r in first if r[0] == D1]
    assert {r[2] for r in _games(wh) if r[0] == D2} == {10, 20, 30}


def test_a_statement_failing_at_commit_rolls_back_everything(wh):
    _write_games(wh, [D1, D2])
    before = _games(wh)
    marks = {"processor": "STRING", "partition_date": "DATE"}
    with pytest.raises(WarehouseError, match="boom") as err, wh.transaction() as tx:
        tx.replace_partitions("nba.games", "game_date", [D1], "SELECT DATE '2021-11-01' AS game_date, "
                              "'zz' AS game_id, 99 AS pts")
        tx.append_rows("bfplan.marks", marks, [("games", D1)])
        tx.execute("INSERT INTO nba.games (game_date, game_id, pts) "
                   "SELECT DATE '2021-11-01', 'x', CAST(ERROR('boom') AS INT64)")
    assert not err.value.transient
    assert "\n" not in str(err.value)
    assert _games(wh) == before
    assert wh.query("SELECT COUNT(*) AS n FROM bfplan.marks") == [{"n": 0}]
    assert _scratch_tables(wh) == []


def test_an_exception_inside_the_block_writes_nothing(wh):
    _write_games(wh, [D1])
    before = _games(wh)
    with pytest.raises(RuntimeError), wh.transaction() as tx:
        tx.replace_partitions("nba.games", "game_date", [D1], "SELECT @d AS game_date, 'zz' AS game_id, 1 AS pts",
                              {"d": D1})
        raise RuntimeError("processor crashed after its write")
    assert _games(wh) == before


def test_scope_limits_the_rewrite_to_one_processors_rows(wh):
    sql = "SELECT @name AS processor_name, d AS analysis_date, @reason AS reason FROM UNNEST(@dates) AS d"
    for name in ("a", "b"):
        with wh.transaction() as tx:
            tx.replace_partitions("nba.failures", "analysis_date", [D1, D2], sql,
                                  {"name": name, "reason": "first", "dates": [D1, D2]},
                                  scope={"processor_name": name})
    with wh.transaction() as tx:
        counts = tx.replace_partitions(
            "nba.failures", "analysis_date", [D1], sql + " UNION ALL SELECT 'b', @d1, 'not in scope'",
            {"name": "a", "reason": "second", "dates": [D1], "d1": D1}, scope={"processor_name": "a"})
    assert counts == {D1: 1}
    rows = wh.query("SELECT processor_name AS p, analysis_date AS d, reason FROM nba.failures ORDER BY p, d")
    assert [(r["p"], r["d"], r["reason"]) for r in rows] == [
        ("a", D1, "second"), ("a", D2, "first"), ("b", D1, "first"), ("b", D2, "first")]


def test_replace_partitions_rows(wh):
    cols = {"processor_name": "STRING", "day": "DATE", "n": "INT64", "doc": "JSON"}
    rows = [("a", D1, 1, {"k": 1}), ("a", D2, 2, None), ("b", D1, 3, None), ("a", D3, 4, None)]
    with wh.transaction() as tx:
        counts = tx.replace_partitions_rows("nba.rows", "day", [D1, D2], cols, rows, scope={"processor_name": "a"})
    assert counts == {D1: 1, D2: 1}
    got = wh.query("SELECT processor_name, day, n, doc FROM nba.rows ORDER BY day")
    assert got == [{"processor_name": "a", "day": D1, "n": 1, "doc": '{"k": 1}'},
                   {"processor_name": "a", "day": D2, "n": 2, "doc": None}]


def test_append_rows_sends_5000_rows_in_one_job(wh, monkeypatch):
    cols = {"run_id": "STRING", "day": "DATE", "n": "INT64", "x": "FLOAT64", "ok": "BOOL",
            "at": "TIMESTAMP", "doc": "JSON"}
    at = datetime(2021, 11, 1, 12, 30)
    rows = [("r", D1, i, i / 2, i % 2 == 0, at, None if i % 3 else {"i": i}) for i in range(5000)]
    wh.ensure_table("bfplan.big", cols)
    jobs = []
    run = wh._run
    monkeypatch.setattr(wh, "_run", lambda sql, params, what: jobs.append(sql) or run(sql, params, what))
    wh.append_rows("bfplan.big", cols, rows)
    assert len(jobs) == 1
    got = wh.query("SELECT COUNT(*) AS n, SUM(n) AS total, COUNTIF(ok) AS even, COUNTIF(doc IS NULL) AS no_doc, "
                   "MIN(`at`) AS first_at FROM bfplan.big")
    assert got == [{"n": 5000, "total": sum(range(5000)), "even": 2500, "no_doc": 5000 - 1667, "first_at": at}]


def test_append_rows_splits_big_batches_by_size(wh, monkeypatch):
    monkeypatch.setattr(bq_params, "MAX_ROWS_PARAM_BYTES", 2000)
    cols = {"k": "STRING", "n": "INT64"}
    jobs = []
    run = wh._run
    monkeypatch.setattr(wh, "_run", lambda sql, params, what: jobs.append(sql) or run(sql, params, what))
    wh.append_rows("bfplan.chunks", cols, [(f"key-{i}", i) for i in range(300)])
    assert len(jobs) > 1
    assert wh.query("SELECT COUNT(DISTINCT n) AS n FROM bfplan.chunks") == [{"n": 300}]


def test_tables_are_day_partitioned_and_clustered(wh):
    wh.ensure_table("nba.declared", {"game_date": "DATE", "team": "STRING", "n": "INT64"},
                    partition_column="game_date", clustering=("team",))
    declared = wh._client().get_table(wh.table_id("nba.declared"))
    assert declared.time_partitioning.type_ == bigquery.TimePartitioningType.DAY
    assert declared.time_partitioning.field == "game_date"
    assert declared.clustering_fields == ["team"]
    _write_games(wh, [D1])  # created from the query's shape
    shaped = wh._client().get_table(wh.table_id("nba.games"))
    assert (shaped.time_partitioning.field, shaped.clustering_fields) == ("game_date", ["game_id"])
    assert [(f.name, f.field_type) for f in shaped.schema] == [
        ("game_date", "DATE"), ("game_id", "STRING"), ("pts", "INTEGER")]
    assert wh.table_columns("nba.games") == ["game_date", "game_id", "pts"]
    assert wh.table_columns("nba.nothing") == []
    assert wh.table_exists("nba.games") and not wh.table_exists("nba.nothing")


def test_dataset_prefix_maps_logical_names(wh):
    _write_games(wh, [D1])
    datasets = {d.dataset_id for d in wh._client().list_datasets()}
    assert f"{wh.dataset_prefix}nba" in datasets
    assert wh.table_id("nba.games") == f"{PROJECT}.{wh.dataset_prefix}nba.games"
    other = BigQueryWarehouse.from_config(project=PROJECT, dataset_prefix=wh.dataset_prefix + "other_")
    try:
        assert not other.table_exists("nba.games")
        with pytest.raises(WarehouseError, match="404 notFound") as err:
            other.query("SELECT COUNT(*) AS n FROM nba.games")
        assert not err.value.transient
    finally:
        other.close()
    joined = wh.query("SELECT COUNT(*) AS n FROM nba.games AS g JOIN `nba.games` AS h USING (game_id, game_date)")
    assert joined == [{"n": 2}]


def test_sql_processor_stages_in_a_temp_table_and_splits_failures(wh):
    sql = """
    SELECT d AS game_date, p AS player, IF(p = 'p3', NULL, p_pts) AS pts,
      IF(p = 'p3', 'INCOMPLETE_DATA', NULL) AS failure_category,
      IF(p = 'p3', 'missing box score', NULL) AS failure_reason,
      IF(p = 'p3', TRUE, NULL) AS can_retry, IF(p = 'p3', 'PLAYER_DNP', NULL) AS failure_type,
      CAST(NULL AS BOOL) AS is_correctable, 3 AS expected_game_count, 2 AS actual_game_count,
      3 AS expected_count, 2 AS actual_count,
      CAST(NULL AS STRING) AS missing_dates, CAST(NULL AS BOOL) AS raw_data_checked
    FROM UNNEST(@dates) AS d CROSS JOIN UNNEST(['p1', 'p2', 'p3']) AS p
    CROSS JOIN UNNEST([10]) AS p_pts
    """
    proc = SqlProcessor(name="pts", table="nba.player_pts", partition_column="game_date", entity_key=("player",),
                        failures_table="nba.failures", sql=sql, clustering=("player",),
                        failure_columns={"expected_game_count": "INT64", "actual_game_count": "INT64"},
                        permanent_failure_types=("PLAYER_DNP",))
    for _ in range(2):  # idempotent, failures included
        with wh.transaction() as tx:
            ctx = ProcessorContext(processor=proc, dates=[D1, D2], params={}, run_id="run-1", mode="backfill",
                                   warehouse=wh, transaction=tx)
            result = proc.run(ctx)
    assert result.rows == {D1: 2, D2: 2}
    assert result.failures == {"INCOMPLETE_DATA": 2}
    assert wh.table_columns("nba.player_pts") == ["game_date", "player", "pts", "expected_game_count",
                                                   "actual_game_count"]
    assert wh.query("SELECT COUNT(*) AS n FROM nba.player_pts") == [{"n": 4}]
    failures = wh.query("SELECT * FROM nba.failures ORDER BY analysis_date")
    assert [f["entity_id"] for f in failures] == ["p3", "p3"]
    assert {f["resolution_status"] for f in failures} == {"PERMANENT"}
    assert set(failures[0]) == set(proc.failure_table_columns())
    assert _scratch_tables(wh) == []


def test_temp_tables_are_private_and_changed_at_once(wh):
    with wh.transaction() as tx:
        tx.execute("CREATE TEMP TABLE stage AS SELECT d AS game_date, 'g1' AS game_id, 1 AS pts "
                   "FROM UNNEST(@dates) AS d", {"dates": [D1, D2]})
        tx.execute("UPDATE stage SET pts = pts + @bonus WHERE game_date = @d", {"bonus": 10, "d": D2})
        assert tx.query("SELECT SUM(pts) AS total FROM stage") == [{"total": 12}]
        counts = tx.replace_partitions("nba.games", "game_date", [D1, D2], "SELECT * FROM stage")
        tx.execute("DROP TABLE IF EXISTS stage")
        assert counts == {D1: 1, D2: 1}
    assert tx.wrote
    assert [r[2] for r in _games(wh)] == [1, 11]
    assert _scratch_tables(wh) == []


def test_reading_a_table_the_transaction_rewrites_is_refused(wh):
    _write_games(wh, [D1])
    with pytest.raises(WarehouseError, match="inside the transaction that rewrites it"), wh.transaction() as tx:
        tx.replace_partitions("nba.games", "game_date", [D1], "SELECT @d AS game_date, 'x' AS game_id, 1 AS pts",
                              {"d": D1})
        tx.query("SELECT COUNT(*) AS n FROM nba.games")


def test_temp_tables_need_a_transaction(wh):
    with pytest.raises(WarehouseError, match="needs a transaction"):
        wh.execute("CREATE TEMP TABLE t AS SELECT 1 AS x")


def test_ledger_marks_commit_with_the_data(wh):
    ledger = Ledger(wh, "p")
    run_id = ledger.start_run("plan.yaml", "backfill", "bfplan run plan.yaml")
    started = datetime(2021, 11, 1, 12)
    with wh.transaction() as tx:
        rows = tx.replace_partitions("nba.games", "game_date", [D1, D2], GAMES, {"dates": [D1, D2], "scale": 1})
        ledger.mark_in(tx, ledger.partition_records(run_id, "games", "nba.games", [D1, D2], PartitionStatus.DONE, attempt=1,
                                                    rows=rows, started_at=started))
    with pytest.raises(RuntimeError), wh.transaction() as tx:
        tx.replace_partitions("nba.games", "game_date", [D3], GAMES, {"dates": [D3], "scale": 1})
        ledger.mark_in(tx, ledger.partition_records(run_id, "games", "nba.games", [D3], PartitionStatus.DONE, attempt=1,
                                                    rows={D3: 4}, started_at=started))
        raise RuntimeError("killed before commit")
    state = ledger.current()
    assert sorted(state) == [("games", D1), ("games", D2)]
    assert [(s.status, s.rows, s.run_id) for s in state.values()] == [(PartitionStatus.DONE, 2, run_id), (PartitionStatus.DONE, 3, run_id)]
    assert ledger.current(processors=["games"], start=D2, end=D2).keys() == {("games", D2)}
    ledger.finish_run(run_id, "plan.yaml", "backfill", "succeeded", {"done": 2})
    statuses = wh.query("SELECT status FROM bfplan.runs WHERE run_id = @r ORDER BY recorded_ns", {"r": run_id})
    assert [s["status"] for s in statuses] == ["running", "succeeded"]


def test_estimate_bytes_on_the_emulator_is_unknown(wh):
    _write_games(wh, [D1])
    assert wh.estimate_bytes("SELECT * FROM nba.games WHERE game_date IN UNNEST(@dates)", {"dates": [D1]}) is None
    with pytest.raises(WarehouseError, match="notFound"):
        wh.estimate_bytes("SELECT * FROM nba.nothing")


def test_a_plan_runs_end_to_end_and_resumes(write_plan, bfplan, emulator_env):
    prefix = f"r{uuid.uuid4().hex[:8]}_"
    plan = write_plan(f"""
        name: toy
        dates: {{start: 2021-11-01, end: 2021-11-10}}
        warehouse: {{type: bigquery, project: {PROJECT}, dataset_prefix: {prefix}}}
        plugins: ["{{toy}}"]
        defaults: {{batch_days: 3, jobs: 2, retries: 1, retry_backoff_s: 0.01}}
        phases:
          - name: first
            processors: [src, dbl, side]
          - name: second
            processors: [cum]
        """)
    first = bfplan("run", plan, "--json")
    assert first.exit_code == 0, first.output
    assert as_json(first)["partitions"]["done"] == 40
    again = as_json(bfplan("run", plan, "--json"))
    assert (again["partitions"]["done"], again["partitions"]["skipped"]) == (0, 40)
    wh = BigQueryWarehouse.from_config(project=PROJECT, dataset_prefix=prefix)
    try:
        running = wh.query("SELECT running FROM toy.cum WHERE day = @d", {"d": D2})
        assert running == [{"running": 2 * ((10 + 1) + (20 + 1) + (30 + 1) + (10 + 2) + (20 + 2) + (30 + 2))}]
        assert wh.query("SELECT COUNT(*) AS n FROM toy.src") == [{"n": 30}]
    finally:
        wh.close()
    status = bfplan("status", plan, "--json")
    assert status.exit_code == 0, status.output
    assert {p["status"] for p in as_json(status)["partitions"]} == {"done"}
