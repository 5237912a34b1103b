"""Enforcing a processor's contract inside its write transaction, before commit.

The rows a node wrote to its table (the transaction's *staged* rows of the batch) are checked
set-based: one counting query for every rule at once — all a clean batch costs — and, only
where something broke, one query that names the offending rows (rule, date, key, value and
the row itself as JSON). Then, by the contract's ``on_violation``:

* ``fail`` — :class:`ContractViolation` is raised: the transaction rolls back, nothing of the
  batch is written, the node fails with the keys and values named, and the named rows are
  kept in ``bfplan.quarantine`` (action ``rejected``) once the rollback is done;
* ``quarantine`` — the offending rows move from the batch to ``bfplan.quarantine`` (action
  ``quarantined``) in the same transaction, and the rest commits. Of exact copies of one row,
  one is kept; rows that share a key but differ are all set aside (which one is right cannot
  be known). A ``rows_match`` violation always fails.

The SQL is BigQuery Standard SQL, like every processor's; plan values (bounds, accepted values)
are bound parameters, column names are validated identifiers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bfplan.contracts import ColumnRules, Contract, RowsMatch
from bfplan.errors import WarehouseError
from bfplan.ledger.clock import monotonic_ns
from bfplan.ledger.tables import QUARANTINE, QUARANTINE_COLUMNS
from bfplan.processors import Processor
from bfplan.warehouse.base import Transaction, check_identifier

#: offending rows named in a failure message, per rule
NAMED = 5
#: offending rows kept in the quarantine table when a contract fails the node
KEPT_ON_FAILURE = 100
_HELPERS = ("__row", "__n", "__lo", "__hi", "__rn", "__rule", "__detail")


@dataclass(frozen=True)
class Rule:
    """One row rule: its name (``range(points)``), the SQL predicate that is TRUE for a row
    breaking it, what it says of a row and the parameters the predicate binds."""

    name: str
    predicate: str
    says: str
    value_sql: str
    params: dict[str, Any] = field(default_factory=dict)


class ContractViolation(Exception):
    """A contract failed the node; ``records`` are quarantine-table rows of what was caught."""

    def __init__(self, message: str, records: list[tuple]) -> None:
        super().__init__(message)
        self.records = records


@dataclass
class Enforced:
    """What enforcing a contract did to a batch."""

    quarantined: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)
    #: rows per date after the quarantine (None: unchanged)
    rows: dict[date, int] | None = None


def in_batch(column: str) -> str:
    """SQL: ``column`` is one of the batch's dates. The range first: engines prune on it (a
    DuckDB table's zone maps), and the list test then runs on the batch's rows only."""
    return f"({column} BETWEEN @__lo AND @__hi AND {column} IN UNNEST(@__dates))"


def batch_params(dates: Sequence[date]) -> dict[str, Any]:
    return {"__dates": list(dates), "__lo": min(dates), "__hi": max(dates)}


def _q(name: str) -> str:
    return f"`{check_identifier(name, 'column')}`"


def key_sql(columns: Sequence[str], alias: str) -> str:
    """A text key of ``columns`` (``a|b``; NULL spelled out)."""
    if not columns:
        return "CAST(NULL AS STRING)"
    parts = [f"IFNULL(CAST({alias}.{_q(c)} AS STRING), 'NULL')" for c in columns]
    return parts[0] if len(parts) == 1 else "CONCAT(" + ", '|', ".join(parts) + ")"


def _bound(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def row_rules(contract: Contract) -> list[Rule]:
    """The contract's per-row rules, in report order."""
    rules: list[Rule] = []
    for i, (col, spec) in enumerate(sorted(contract.columns.items())):
        rules.extend(_column_rules(i, col, spec))
    return rules


def _column_rules(i: int, col: str, spec: ColumnRules) -> list[Rule]:
    c = f"t.{_q(col)}"
    value = f"IFNULL(CAST({c} AS STRING), 'NULL')"
    as_float = f"CAST({c} AS FLOAT64)"
    out = []
    if spec.not_null:
        out.append(Rule(f"not_null({col})", f"{c} IS NULL", f"{col} is NULL", value))
    if spec.range is not None:
        lo, hi = spec.range
        tests, params = [f"IS_NAN({as_float})"], {}
        if lo is not None:
            tests.append(f"{c} < @__lo{i}")
            params[f"__lo{i}"] = lo
        if hi is not None:
            tests.append(f"{c} > @__hi{i}")
            params[f"__hi{i}"] = hi
        out.append(Rule(f"range({col})", "(" + " OR ".join(tests) + ")",
                        f"{col} outside [{_bound(lo)}, {_bound(hi)}]", value, params))
    if spec.accepted is not None:
        shown = ", ".join(repr(v) for v in spec.accepted[:5]) + (", ..." if len(spec.accepted) > 5 else "")
        out.append(Rule(f"accepted({col})", f"{c} NOT IN UNNEST(@__acc{i})", f"{col} not one of {shown}", value,
                        {f"__acc{i}": list(spec.accepted)}))
    if spec.finite:
        out.append(Rule(f"finite({col})", f"(IS_NAN({as_float}) OR IS_INF({as_float}))",
                        f"{col} is not a finite number", value))
    return out


def enforce(tx: Transaction, proc: Processor, contract: Contract, dates: Sequence[date], *, plan_name: str,
            run_id: str) -> Enforced:
    """Check ``contract`` on what ``tx`` wrote to ``proc.table`` for ``dates``; quarantine or raise."""
    try:
        return _enforce(tx, proc, contract, dates, plan_name=plan_name, run_id=run_id)
    except WarehouseError as exc:  # a column it names is not there, an input is missing...
        raise WarehouseError(f"checking the contract of {proc.table} ({proc.name}): {exc}",
                             transient=exc.transient, environment=exc.environment) from exc


def _enforce(tx: Transaction, proc: Processor, contract: Contract, dates: Sequence[date], *, plan_name: str,
             run_id: str) -> Enforced:
    staged = tx.staged(proc.table)
    if staged is None:  # nothing written for the batch: nothing to break a rule
        return Enforced()
    pcol = _q(proc.partition_column)
    rules = row_rules(contract)
    params = batch_params(dates)
    for rule in rules:
        params.update(rule.params)
    counts = _count(tx, staged, pcol, contract, rules, params)
    broken = {name: n for name, n in counts.items() if n}
    mismatches = _rows_match(tx, staged, proc, contract.rows_match, dates) if contract.rows_match else []
    if not broken and not mismatches:
        return Enforced()
    where = f"{proc.table} ({proc.name})"
    if mismatches or not contract.quarantines:
        named = _named(tx, staged, pcol, proc, contract, rules, params) if broken else []
        lines = [_rule_line(name, n, [r for r in named if r["__rule"] == name]) for name, n in broken.items()]
        lines += mismatches
        records = [_record(plan_name, run_id, proc, r, "rejected") for r in named[:KEPT_ON_FAILURE]]
        raise ContractViolation(f"contract of {where} violated: " + "; ".join(lines), records)
    return _quarantine(tx, staged, pcol, proc, contract, rules, params, plan_name=plan_name, run_id=run_id)


def _count(tx: Transaction, staged: str, pcol: str, contract: Contract, rules: list[Rule],
           params: dict[str, Any]) -> dict[str, int]:
    """Rows breaking each row rule, and keys shared by more than one row: one query."""
    if not rules and not contract.unique_key:
        return {}
    # COUNT(*) makes it an aggregate: one row even for a batch without rows
    exprs = ["COUNT(*) AS n", *(f"COUNTIF(IFNULL({r.predicate}, FALSE)) AS v{i}" for i, r in enumerate(rules))]
    if contract.unique_key:
        keys = ", ".join(_q(k) for k in contract.unique_key)
        exprs.append(f"(SELECT COUNT(*) FROM (SELECT 1 AS x FROM {staged} WHERE {in_batch(pcol)} "
                     f"GROUP BY {keys} HAVING COUNT(*) > 1) AS __d) AS dup")
    row = tx.query(f"SELECT {', '.join(exprs)} FROM {staged} AS t WHERE {in_batch('t.' + pcol)}", params)[0]
    out = {r.name: int(row[f"v{i}"] or 0) for i, r in enumerate(rules)}
    if contract.unique_key:
        out["unique_key"] = int(row["dup"] or 0)
    return out


def _ruled_sql(staged: str, pcol: str, proc: Processor, contract: Contract, rules: list[Rule]) -> str:
    """Every row of the batch with the first rule it breaks (``__rule``, NULL: none) and what
    that rule says of it (``__detail``); helper columns start with ``__``."""
    keys = ", ".join(_q(k) for k in contract.unique_key) or "CAST(NULL AS STRING)"
    whens = [(f"IFNULL({r.predicate}, FALSE)", f"'{r.name}'", f"CONCAT(@__says{i}, ' (', {r.value_sql}, ')')")
             for i, r in enumerate(rules)]
    kept = ": one kept" if contract.on_violation == "quarantine" else ""
    if contract.unique_key:
        whens.append(("t.__n > 1 AND (t.__lo != t.__hi OR t.__rn > 1)", "'unique_key'",
                      "CONCAT('key (', @__keys, ') shared by ', CAST(t.__n AS STRING), ' rows', "
                      f"IF(t.__lo = t.__hi, ' (exact copies{kept})', ' that differ'))"))
    rule = "CASE " + " ".join(f"WHEN {w} THEN {name}" for w, name, _ in whens) + " END"
    detail = "CASE " + " ".join(f"WHEN {w} THEN {says}" for w, _, says in whens) + " END"
    return (f"SELECT t.*, {rule} AS __rule, {detail} AS __detail FROM ("
            f"SELECT b.*, COUNT(*) OVER (PARTITION BY {keys}) AS __n, MIN(b.__row) OVER (PARTITION BY {keys}) AS __lo, "
            f"MAX(b.__row) OVER (PARTITION BY {keys}) AS __hi, "
            f"ROW_NUMBER() OVER (PARTITION BY {keys} ORDER BY b.__row) AS __rn FROM ("
            f"SELECT s.*, TO_JSON_STRING(s) AS __row FROM {staged} AS s WHERE {in_batch('s.' + pcol)}"
            f") AS b) AS t")


def _ruled_params(contract: Contract, rules: list[Rule], params: dict[str, Any]) -> dict[str, Any]:
    out = dict(params)
    for i, r in enumerate(rules):
        out[f"__says{i}"] = r.says
    out["__keys"] = ", ".join(contract.unique_key)
    return out


def _named(tx: Transaction, staged: str, pcol: str, proc: Processor, contract: Contract, rules: list[Rule],
           params: dict[str, Any]) -> list[dict[str, Any]]:
    """The first offending rows of each rule: date, key, detail and the row as JSON."""
    ruled = _ruled_sql(staged, pcol, proc, contract, rules)
    key = key_sql(contract.unique_key or proc.entity_key, "r")
    sql = (f"SELECT r.__rule, r.__detail, CAST(r.{pcol} AS DATE) AS __date, {key} AS __key, r.__row FROM ("
           f"SELECT x.*, ROW_NUMBER() OVER (PARTITION BY x.__rule ORDER BY x.{pcol}, x.__row) AS __k "
           f"FROM ({ruled}) AS x WHERE x.__rule IS NOT NULL) AS r WHERE r.__k <= @__cap "
           f"ORDER BY r.__rule, r.{pcol}, r.__row")
    return tx.query(sql, {**_ruled_params(contract, rules, params), "__cap": KEPT_ON_FAILURE})


def _rule_line(name: str, n: int, rows: list[dict[str, Any]]) -> str:
    what = "key(s) shared by more than one row" if name == "unique_key" else "row(s)"
    shown = [f"{r['__date']} {r['__key']}: {r['__detail']}" if r["__key"] != "NULL" else
             f"{r['__date']}: {r['__detail']}" for r in rows[:NAMED]]
    more = f" and {len(rows) - NAMED} more" if len(rows) > NAMED else ""
    return f"{name}: {n} {what}" + (f", e.g. {'; '.join(shown)}{more}" if shown else "")


def _record(plan_name: str, run_id: str, proc: Processor, r: dict[str, Any], action: str) -> tuple:
    return (plan_name, run_id, proc.name, proc.table, r["__date"], r["__rule"], r["__detail"], r["__key"],
            r["__row"], None, action, monotonic_ns())


def _quarantine(tx: Transaction, staged: str, pcol: str, proc: Processor, contract: Contract, rules: list[Rule],
                params: dict[str, Any], *, plan_name: str, run_id: str) -> Enforced:
    """Move the offending rows of the batch to the quarantine table; return the rows left per date."""
    judged = f"__bfplan_judged_{proc.name}"
    bound = _ruled_params(contract, rules, params)
    tx.execute(f"CREATE OR REPLACE TEMP TABLE {judged} AS {_ruled_sql(staged, pcol, proc, contract, rules)}", bound)
    by_rule = {r["__rule"]: int(r["n"]) for r in tx.query(
        f"SELECT __rule, COUNT(*) AS n FROM {judged} WHERE __rule IS NOT NULL GROUP BY __rule")}
    key = key_sql(contract.unique_key or proc.entity_key, "j")
    names = ", ".join(QUARANTINE_COLUMNS)
    tx.execute(
        f"INSERT INTO {QUARANTINE} ({names}) SELECT @__plan, @__run, @__proc, @__table, CAST(j.{pcol} AS DATE), "
        f"j.__rule, j.__detail, {key}, j.__row, CAST(NULL AS STRING), 'quarantined', @__ns "
        f"FROM {judged} AS j WHERE j.__rule IS NOT NULL",
        {"__plan": plan_name, "__run": run_id, "__proc": proc.name, "__table": proc.table, "__ns": monotonic_ns()})
    dates = batch_params(params["__dates"])
    tx.execute(f"DELETE FROM {staged} WHERE {in_batch(pcol)}", dates)
    tx.execute(f"INSERT INTO {staged} SELECT * EXCEPT ({', '.join(_HELPERS)}) FROM {judged} WHERE __rule IS NULL")
    left = {r["d"]: int(r["n"]) for r in tx.query(
        f"SELECT CAST({pcol} AS DATE) AS d, COUNT(*) AS n FROM {staged} WHERE {in_batch(pcol)} GROUP BY 1", dates)}
    tx.execute(f"DROP TABLE IF EXISTS {judged}")
    return Enforced(quarantined=sum(by_rule.values()), by_rule=by_rule, rows=left)


def _rows_match(tx: Transaction, staged: str, proc: Processor, match: RowsMatch, dates: Sequence[date]) -> list[str]:
    """Dates where the batch's rows and the input's distinct keys differ by more than the
    tolerance, each naming keys found on one side only."""
    pcol = _q(proc.partition_column)
    dcol = _q(match.date_column or proc.partition_column)
    where = f" AND ({match.where})" if match.where else ""
    sql = f"""
        WITH out_keys AS (
          SELECT CAST(t.{pcol} AS DATE) AS d, {key_sql(match.key, 't')} AS k FROM {staged} AS t
          WHERE {in_batch('t.' + pcol)}
        ),
        in_keys AS (
          SELECT DISTINCT CAST(i.{dcol} AS DATE) AS d, {key_sql(match.key, 'i')} AS k FROM {match.input} AS i
          WHERE {in_batch('i.' + dcol)}{where}
        ),
        counts AS (
          SELECT d, SUM(o) AS out_rows, SUM(n) AS in_keys FROM (
            SELECT d, 1 AS o, 0 AS n FROM out_keys UNION ALL SELECT d, 0 AS o, 1 AS n FROM in_keys
          ) AS u GROUP BY d
        ),
        diff AS (
          SELECT COALESCE(o.d, i.d) AS d, o.k IS NULL AS missing, COALESCE(o.k, i.k) AS k
          FROM (SELECT DISTINCT d, k FROM out_keys) AS o FULL OUTER JOIN in_keys AS i ON o.d = i.d AND o.k = i.k
          WHERE o.k IS NULL OR i.k IS NULL
        ),
        named AS (
          SELECT d, STRING_AGG(IF(missing, k, NULL), '\\x1f') AS missing_keys,
                 STRING_AGG(IF(missing, NULL, k), '\\x1f') AS extra_keys
          FROM diff GROUP BY d
        )
        SELECT c.d, c.out_rows, c.in_keys, n.missing_keys, n.extra_keys
        FROM counts AS c LEFT JOIN named AS n ON n.d = c.d ORDER BY c.d
    """
    lines = []
    for r in tx.query(sql, batch_params(dates)):
        out_rows, in_keys = int(r["out_rows"]), int(r["in_keys"])
        if abs(out_rows - in_keys) <= match.tolerance * in_keys:
            continue
        sides = []
        for label, text in (("missing", r["missing_keys"]), ("not in the input", r["extra_keys"])):
            keys = sorted(set(filter(None, (text or "").split("\x1f"))))
            if keys:
                more = f" and {len(keys) - NAMED} more" if len(keys) > NAMED else ""
                sides.append(f"{label}: {', '.join(keys[:NAMED])}{more}")
        lines.append(f"rows_match {r['d']}: {out_rows} rows for {in_keys} {match.input} keys "
                     f"({', '.join(match.key)}; tolerance {match.tolerance:.1%})"
                     + (f"; {'; '.join(sides)}" if sides else ""))
    return lines
