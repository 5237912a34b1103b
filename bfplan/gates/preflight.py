"""preflight: before a phase, check that its inputs exist for every planned date.

The seed's ``preflight_check.py`` as a gate, and backfill mode's "quick existence check": a
date whose input is missing would be computed from nothing and contaminate everything
downstream of it. Two kinds of input are checked:

- files, for the stage's file sources (processors whose ``source_files`` is not None): a
  date counts when it has at least one file;
- tables that an upstream processor of the plan produces (``external: true`` adds inputs
  that only a registered processor outside the plan produces): a date counts when it has at
  least ``min_rows`` rows (daily mode) or ``backfill_min_rows`` (default 1: thresholds are
  relaxed in backfill mode).

Coverage per input = dates with data ÷ expected dates (the stage's dates, minus the first
``ignore_bootstrap_days`` of the season). OK at 99% or more; below ``threshold`` (default
80% for tables, 50% for files, the seed's fail levels) the input fails; in between it warns.
Each missing date of an input is one finding.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from bfplan.failures import STANDS
from bfplan.gates.base import Finding, Gate, GateContext, GateResult
from bfplan.gates.common import (
    BOOTSTRAP_SCHEMA,
    DATE_SCHEMA,
    PERCENT_SCHEMA,
    checked_dates,
    date_filter,
    fmt_pct,
    options_schema,
    query_params,
)
from bfplan.modes import policy_for
from bfplan.processors import Processor
from bfplan.run.params import processor_params
from bfplan.status import GateStatus

OK_PCT = 99.0
TABLE_FAIL_PCT = 80.0
FILE_FAIL_PCT = 50.0


class PreflightGate(Gate):
    """Inputs (files and upstream tables) exist for every planned date."""

    name = "preflight"
    description = "inputs (raw files, upstream tables) exist for every planned date"
    options_schema = options_schema(
        "Options of the preflight gate.",
        threshold={**PERCENT_SCHEMA, "description": "Fail an input whose date coverage (%) is below this "
                   "(default 80 for tables, 50 for files)."},
        min_rows={"description": "Daily mode: rows a date needs to count (default 1); a number, or "
                  "{table: number} per input table.",
                  "oneOf": [{"type": "integer", "minimum": 1},
                            {"type": "object", "additionalProperties": {"type": "integer", "minimum": 1}}]},
        backfill_min_rows={"description": "Backfill mode: rows a date needs to count (default 1).",
                           "type": "integer", "minimum": 1},
        ignore_bootstrap_days=BOOTSTRAP_SCHEMA,
        season_start={**DATE_SCHEMA, "description": "Day 1 of the season (default: the plan's season_start "
                      "var/param, else the stage's first date)."},
        tables={"description": "Check only these input tables.", "type": "array", "items": {"type": "string"}},
        external={"description": "Also check inputs produced by registered processors outside the plan.",
                  "type": "boolean"},
        files={"description": "Check the files of the stage's file sources (default true).", "type": "boolean"},
    )

    def check(self, ctx: GateContext) -> GateResult:
        """Coverage of each input over the expected dates; a finding per missing date."""
        expected = checked_dates(ctx)
        if not expected:
            return GateResult(GateStatus.PASS, [], "no dates to check")
        findings: list[Finding] = []
        lines: list[str] = []
        if ctx.options.get("files", True):
            for proc in ctx.processors:
                missing = self._missing_files(ctx, proc, expected)
                if missing is not None:
                    threshold = float(ctx.options.get("threshold", FILE_FAIL_PCT))
                    self._judge(f"{proc.name} files", proc.name, proc.table, "no source files", expected,
                                missing, threshold, findings, lines)
        for table, (producer, consumers) in self._input_tables(ctx).items():
            need = self._min_rows(ctx, table)
            rows = self._rows_per_date(ctx, producer, expected)
            # a date the producer ran and explained (failure records: DATE_LEVEL, or every entity
            # skipped, e.g. too little history early on) is not a missing input
            explained = self._explained_dates(ctx, producer, expected)
            missing = [d for d in expected if rows.get(d, 0) < need and d not in explained]
            what = "no rows" if need == 1 else f"fewer than {need} rows"
            threshold = float(ctx.options.get("threshold", TABLE_FAIL_PCT))
            self._judge(table, producer.name, table, f"{what} (input of {', '.join(consumers)})", expected,
                        missing, threshold, findings, lines)
        if not lines:
            return GateResult(GateStatus.PASS, [], "no inputs to check (no file sources, no upstream tables)")
        return GateResult.from_findings(findings, "; ".join(lines))

    # -- inputs --------------------------------------------------------------------------------
    @staticmethod
    def _missing_files(ctx: GateContext, proc: Processor, expected: list[date]) -> list[date] | None:
        params = processor_params(ctx.plan, proc.name, policy_for(ctx.mode)) if ctx.plan else {}
        source_files = getattr(proc, "source_files", None)
        if source_files is None or source_files(params, expected[0]) is None:
            return None
        return [d for d in expected if not source_files(params, d)]

    @staticmethod
    def _input_tables(ctx: GateContext) -> dict[str, tuple[Processor, list[str]]]:
        """Input table → (the processor producing it, the stage's processors reading it)."""
        producers = {p.table: p for p in ctx.upstream}
        if ctx.options.get("external") and ctx.registry is not None:
            own = {p.table for p in ctx.processors}
            for p in ctx.registry.processors.values():
                if p.table not in own:
                    producers.setdefault(p.table, p)
        only = ctx.options.get("tables")
        out: dict[str, tuple[Processor, list[str]]] = {}
        for proc in ctx.processors:
            for table in proc.inputs:
                if table in producers and (not only or table in only):
                    out.setdefault(table, (producers[table], []))[1].append(proc.name)
        return out

    @staticmethod
    def _min_rows(ctx: GateContext, table: str) -> int:
        if ctx.mode != "daily":
            return int(ctx.options.get("backfill_min_rows", 1))
        value = ctx.options.get("min_rows", 1)
        if isinstance(value, Mapping):
            return int(value.get(table, 1))
        return int(value)

    @staticmethod
    def _rows_per_date(ctx: GateContext, producer: Processor, expected: list[date]) -> dict[date, int]:
        if not ctx.warehouse.table_exists(producer.table):
            return {}
        col = producer.partition_column
        sql = (f"SELECT CAST({col} AS DATE) AS d, COUNT(*) AS n FROM {producer.table} "
               f"WHERE {date_filter(col)} GROUP BY 1")
        params = query_params(ctx, None, dates=expected, start_date=expected[0], end_date=expected[-1])
        return {r["d"]: r["n"] for r in ctx.warehouse.query(sql, params)}

    @staticmethod
    def _explained_dates(ctx: GateContext, producer: Processor, expected: list[date]) -> set[date]:
        table = producer.failures_table
        if not table or not ctx.warehouse.table_exists(table):
            return set()
        sql = (f"SELECT DISTINCT CAST(analysis_date AS DATE) AS d FROM {table} "
               f"WHERE processor_name = @producer AND {date_filter('analysis_date')} "
               f"AND {STANDS}")
        params = query_params(ctx, None, dates=expected, start_date=expected[0], end_date=expected[-1],
                              producer=producer.name)
        return {r["d"] for r in ctx.warehouse.query(sql, params)}

    # -- verdict -------------------------------------------------------------------------------
    @staticmethod
    def _judge(label: str, processor: str, table: str, what: str, expected: list[date], missing: list[date],
               threshold: float, findings: list[Finding], lines: list[str]) -> None:
        have = len(expected) - len(missing)
        coverage = 100.0 * have / len(expected)
        if coverage >= max(OK_PCT, threshold):
            status = GateStatus.PASS
        elif coverage < threshold:
            status = GateStatus.FAIL
        else:
            status = GateStatus.WARN
        lines.append(f"{label} {fmt_pct(coverage)} ({have}/{len(expected)} dates)")
        for d in missing:
            # a missing date under an OK coverage is still worth seeing: reported, not failed
            findings.append(Finding(
                f"{table}: {what} on {d.isoformat()}; date coverage {fmt_pct(coverage)} "
                f"({have}/{len(expected)} dates; fails below {fmt_pct(threshold)})",
                status, processor, table, d))
