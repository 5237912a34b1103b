"""The gate tests' pipeline: a clean run built once, copied into each test's tmp_path.

Faults are injected into the copy with plain DuckDB SQL, then the gates run through
:func:`bfplan.checks.run_checks` (as ``bfplan check`` does) or one gate through
:meth:`Pipeline.gate` with ad-hoc options.
"""

from __future__ import annotations

import json
import shutil
import textwrap
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bfplan.check import CheckReport, run_checks
from bfplan.cli import cli
from bfplan.gates.base import GateContext, GateResult
from bfplan.processors import Processor
from bfplan.session import open_session

GATE_PLUGIN = Path(__file__).parent / "gate_plugin"
DAYS = [date(2021, 11, 1) + timedelta(days=n) for n in range(6)]
TEAMS = {"A": ["p01", "p02", "p03"], "B": ["p04", "p05", "p06"]}
#: p06 joins on the third day: an INSUFFICIENT_DATA failure there (a failure-only entity)
LATE = {"p06": DAYS[2]}

PLAN = """
name: gates
dates: {start: 2021-11-01, end: 2021-11-06}
warehouse: {type: duckdb, path: w.duckdb}
plugins: ["@PLUGIN@"]
params: {bucket: "@BUCKET@", min_games: 2, error_entity: "@ERROR_ENTITY@", error_date: "@ERROR_DATE@"}
defaults: {batch_days: 3, jobs: 2, retries: 0}
phases:
  - name: load
    processors: [box]
    gates:
      before: [preflight]
  - name: compute
    processors: [form, team]
    gates:
      before: [{preflight: {threshold: 100}}, freshness]
      after:
        - {coverage: {reconcile: true}}
        - {contamination: {strict: true}}
        - {failure_rate: {@FAILURE_RATE@}}
        - {sql: {query: "SELECT day AS date, team AS entity, points_total FROM gt.team WHERE day IN UNNEST(@dates) AND points_total > 1000", message: "a team scored over 1000"}}
  - name: publish
    processors: [report]
    gates:
      before: [{preflight: {threshold: 100, ignore_bootstrap_days: 1}}]
"""


def write_bucket(bucket: Path, days: list[date] = DAYS) -> None:
    """One JSON file per day: every player who has joined by then scores 10 + day number."""
    for n, day in enumerate(days):
        rows = [{"player_id": p, "team": team, "points": 10 + n + int(p[1:])}
                for team, players in TEAMS.items() for p in players if LATE.get(p, day) <= day]
        folder = bucket / day.isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "box.json").write_text(json.dumps({"rows": rows}), encoding="utf-8")


def write_plan(folder: Path, *, error_entity: str = "", error_date: str = "1900-01-01",
               failure_rate: str = "", severity: str | None = None) -> Path:
    """The test plan in ``folder`` (bucket ``folder/bucket``); options vary the fault and gates."""
    text = (PLAN.replace("@PLUGIN@", str(GATE_PLUGIN)).replace("@BUCKET@", str(folder / "bucket"))
            .replace("@ERROR_ENTITY@", error_entity).replace("@ERROR_DATE@", error_date)
            .replace("@FAILURE_RATE@", failure_rate))
    if severity:  # the gates that a PROCESSING_ERROR fails
        for gate in ("coverage", "failure_rate"):
            text = text.replace("{" + gate + ": {", "{" + gate + ": {severity: " + severity + ", ")
    path = folder / "plan.yaml"
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def bfplan(*args: Any) -> Any:
    """The CLI in-process (click's Result)."""
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def track_report(pipeline: Pipeline) -> Processor:
    """Make the ``report`` processor tracked (one league row a day, its date-level failures in
    ``gt.failures``); returns the processor as it was, for the test to put back."""
    import dataclasses

    reg = pipeline.session.registry
    report = reg.processors["report"]
    reg.processors["report"] = dataclasses.replace(
        report, failures_table="gt.failures",
        expected_entities_sql="SELECT DISTINCT day AS partition_date, '*' AS entity_id FROM gt.box "
                              "WHERE day IN UNNEST(@dates)")
    return report


class Pipeline:
    """A copy of the clean pipeline's warehouse and bucket in one test's tmp_path.

    One session (plugins, plan, warehouse) serves the whole test; faults go in through the
    same DuckDB connection, and :meth:`close` lets the CLI open the file.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._session: Any = None

    @property
    def plan(self) -> Path:
        return self.folder / "plan.yaml"

    @property
    def session(self) -> Any:
        if self._session is None:
            self._session = open_session(self.plan)
        return self._session

    def close(self) -> None:
        """Close the warehouse (before the CLI opens it, or after dropping a table)."""
        if self._session is not None:
            self._session.close()
            self._session = None

    def sql(self, statement: str) -> list[tuple]:
        """Run DuckDB SQL on the warehouse (inject a fault, read a table)."""
        return self.session.warehouse.native(statement)

    def run(self, *args: Any) -> Any:
        """``bfplan ARGS`` through the CLI, on this pipeline's warehouse."""
        self.close()
        return bfplan(*args)

    def check(self, **kwargs: Any) -> CheckReport:
        """``run_checks`` over the plan, as ``bfplan check`` runs it."""
        s = self.session
        return run_checks(s.plan, s.registry, s.warehouse, **kwargs)

    def gate(self, name: str, options: dict[str, Any] | None = None, *, phase: str = "compute",
             stage: str = "after", mode: str = "backfill", processors: list[str] | None = None) -> GateResult:
        """One gate with ad-hoc options at a stage of the plan, outside any run."""
        plan, reg = self.session.plan, self.session.registry
        k = next(i for i, ph in enumerate(plan.phases) if ph.name == phase)
        names = processors or [r.name for r in plan.phases[k].processors]
        ctx = GateContext(
            gate=name, stage=f"{stage} phase {phase}", options=options or {},
            processors=[reg.processors[n] for n in names],
            upstream=[reg.processors[r.name] for ph in plan.phases[:k] for r in ph.processors],
            dates=DAYS, mode=mode, warehouse=self.session.warehouse, plan=plan, registry=reg, run_id="t")
        return reg.gates[name].check(ctx)


@pytest.fixture(scope="session")
def clean_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pipeline run once, cleanly."""
    folder = tmp_path_factory.mktemp("clean")
    write_bucket(folder / "bucket")
    plan = write_plan(folder)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BFPLAN_DISABLE_PLUGIN_AUTOLOAD", "1")
        result = bfplan("run", plan, "--json")
    assert result.exit_code == 0, result.output
    return folder


@pytest.fixture
def pipeline(clean_template: Path, tmp_path: Path) -> Iterator[Pipeline]:
    """A private copy of the clean pipeline."""
    shutil.copytree(clean_template / "bucket", tmp_path / "bucket")
    for f in clean_template.glob("w.duckdb*"):
        shutil.copy(f, tmp_path / f.name)
    write_plan(tmp_path)
    pipe = Pipeline(tmp_path)
    yield pipe
    pipe.close()


def failing(result: GateResult | dict[str, Any]) -> list[dict[str, Any]]:
    """The failing findings of a gate result (or of one gate of a check report)."""
    findings = result["findings"] if isinstance(result, dict) else [f.as_dict() for f in result.findings]
    return [f for f in findings if f["status"] == "fail"]
