"""Seeded mutation fuzzing of ``bfplan validate``: every answer bounded, located, traceback-free.

Run by ``tests/test_fuzz_validate.py`` in a fresh process (so its peak memory is its own), or by
hand: ``python tests/fuzz_validate.py --seed 7 --count 1000``. Each case is a plan (the known
hostile shapes first, then random mutations of a realistic plan: values swapped for hostile ones,
keys dropped or added, types changed, the text cut, lines doubled, indentation broken) and maybe
``--var`` overrides. For each it runs ``bfplan validate`` in-process and classifies the answer:

- exit 0: valid;
- exit 2: every stderr line is ``PLAN:LINE:COL: message``, or ``error: --option ...`` for a bad
  command-line argument;
- exit 3: one line ``error: ...`` (the warehouse a plan names cannot be opened);
- anything else — another exit code, an exception, a line without a place — is a finding.

It prints one JSON document: cases, findings, the slowest case and the process's peak memory.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import re
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
TOY = ROOT / "tests" / "toy_plugin"

BASE = {
    "name": "fuzz",
    "description": "a plan to mutate",
    "dates": {"start": "2021-11-01", "end": "2021-11-10"},
    "mode": "backfill",
    "warehouse": {"type": "duckdb", "path": "w.duckdb"},
    "plugins": [str(TOY)],
    "vars": {"label": "x", "limit": 10, "day": "2021-11-02", "root": str(TOY.parent)},
    "defaults": {"retries": 1, "batch_days": 3, "jobs": 2, "retry_backoff_s": 0.1,
                 "circuit_breaker": {"max_failures": 3}},
    "params": {"fail_on": [], "sleep_s": 0},
    "notify": [{"webhook": {"url": "http://127.0.0.1:9/hook", "events": ["run_finished"]}}],
    "phases": [
        {"name": "one", "processors": ["src", {"name": "dbl", "depends_on": ["src"], "batch_days": 2}],
         "gates": {"after": [{"sql": {"query": "SELECT day AS date FROM toy.dbl WHERE day IN UNNEST(@dates) "
                                               "AND v > @limit", "message": "too big"}}]}},
        {"name": "two", "dates": {"start": "2021-11-03"},
         "processors": [{"name": "cum", "retries": 0, "max_concurrency": 1,
                         "gates": {"after": [{"sleepy": {"sleep_s": 0}}]}}]},
    ],
}

HOSTILE: list[Any] = [
    "", " ", "${", "${x", "${label", "${nope}", "$${label}", "${" * 2000, "${label}" * 500, "\x00", "a\x00b",
    "9999-12-31", "0001-01-01", "1899-12-31", "3000-01-01", "2021-02-30", "2021-13-01", "2021-11-05",
    float("nan"), float("inf"), -float("inf"), 10**20, -(10**20), -1, 0, 1, 2**63, 0.5, 1e308,
    True, False, None, [], {}, [None], {"a": None}, ["x", "x"], "../../../../etc/passwd", "/dev/null",
    "/", ".", "DELETE FROM toy.src WHERE TRUE", "SELECT 1; SELECT 2", "x' OR '1'='1", "é" * 100,
    "\U0001d518\U0001d52b\U0001d526", "x" * 100_000, "daily", "backfill", "duckdb", "bigquery", "src", "srcc", "sql",
    {"start": "2021-11-01"}, {"dates": ["2021-11-01", "2021-11-01"]}, {"calendar": "every_day"},
    {"start": "1900-01-01", "end": "2100-12-31"}, {"start": "0001-01-01", "end": "9999-12-31"},
]
KEYS = ["name", "dates", "start", "end", "calendar", "mode", "warehouse", "type", "path", "threads", "plugins",
        "vars", "defaults", "retries", "batch_days", "jobs", "retry_backoff_s", "max_nodes", "max_days",
        "circuit_breaker", "max_failures", "params", "notify", "webhook", "url", "events", "phases",
        "processors", "depends_on", "gates", "before", "after", "severity", "query", "sleep_s", "today",
        "project", "dataset_prefix", "x", "${label}"]


def known_shapes() -> list[tuple[dict[str, Any] | str, list[str]]]:
    """The shapes the attack found, each a plan (dict or raw text) and --var overrides."""
    def plan(**changes: Any) -> dict[str, Any]:
        doc = copy.deepcopy(BASE)
        for path, value in changes.items():
            _set(doc, path.split("__"), value)
        return doc

    chain = {f"v{i}": f"${{v{i + 1}}}" for i in range(400)} | {"v400": "end"}
    doubling = {f"d{i}": f"${{d{i + 1}}}${{d{i + 1}}}" for i in range(40)} | {"d40": "xxxxxxxx"}
    return [
        (plan(description="${" * 50_000), []),
        (plan(dates={"start": "1900-01-01", "end": "2100-12-31"}, defaults__batch_days=1), []),
        (plan(dates={"start": "1900-01-01", "end": "2100-12-31"}, defaults__batch_days=3, defaults__max_days=900000),
         []),
        (plan(dates={"start": "0001-01-01", "end": "9999-12-31"}), []),
        (plan(dates={"start": "9999-12-30", "end": "9999-12-31"}), []),
        (plan(mode="daily", vars={"today": "2021-11-20"}), ["today=0001-01-01"]),
        (plan(plugins=[str(TOY), "pl\x00ugin"]), []),
        (plan(vars=chain, description="${v0}"), []),
        (plan(vars=doubling, description="${d0}"), []),
        (plan(defaults__retry_backoff_s=float("nan")), []),
        (plan(warehouse={"type": "duckdb", "path": "w.duckdb", "threads": 10**20}), []),
        (plan(warehouse={"type": "duckdb", "path": "."}), []),
        (plan(plugins=["${pdir}"], vars={"pdir": "nowhere"}), [f"pdir={TOY}"]),
        (plan(phases__0__gates__after__0__sql__query="SELECT * FROM toy.src WHERE k = '${label}'"),
         ["label=x' UNION ALL SELECT content FROM read_text('/etc/passwd') WHERE '1'='1"]),
        (plan(phases__0__gates__after__0__sql__query="DELETE FROM toy.src WHERE TRUE"), []),
        (plan(dates={"start": "2021-11-10", "end": "2021-11-01"}, plugins=["nowhere"],
              notify=[{"webhook": {"url": "ftp://x"}}], phases__0__processors__1__depends_on=["cum"]), []),
        ("name: x\ndates: {start: 2021-11-01, end: 2021-11-02}\nphases: [{name: a, processors: [src]}]\n"
         + "params: &a [" + ",".join(["*a"] * 10) + "]\n", []),
    ]


def _set(doc: Any, path: list[str], value: Any) -> None:
    for part in path[:-1]:
        doc = doc[int(part)] if isinstance(doc, list) else doc.setdefault(part, {})
    last = path[-1]
    if isinstance(doc, list):
        doc[int(last)] = value
    else:
        doc[last] = value


def _containers(doc: Any, out: list[Any]) -> list[Any]:
    if isinstance(doc, dict | list):
        out.append(doc)
        for item in doc.values() if isinstance(doc, dict) else doc:
            _containers(item, out)
    return out


def mutate(rng: random.Random) -> tuple[dict[str, Any] | str, list[str]]:
    """One random case: a mutated copy of BASE (sometimes as broken text), maybe with --var."""
    doc = copy.deepcopy(BASE)
    for _ in range(rng.randint(1, 4)):
        target = rng.choice(_containers(doc, []))
        op = rng.random()
        if isinstance(target, dict) and target:
            key = rng.choice(list(target))
            if op < 0.45:
                target[key] = copy.deepcopy(rng.choice(HOSTILE))
            elif op < 0.6:
                del target[key]
            elif op < 0.8:
                target[rng.choice(KEYS)] = copy.deepcopy(rng.choice(HOSTILE))
            else:
                value = target[key]
                target[key] = list(value.values()) if isinstance(value, dict) else (
                    {"x": value} if not isinstance(value, list) else value * 2)
        elif isinstance(target, list) and target:
            i = rng.randrange(len(target))
            if op < 0.5:
                target[i] = copy.deepcopy(rng.choice(HOSTILE))
            elif op < 0.7:
                target.append(copy.deepcopy(target[i]))
            else:
                del target[i]
    overrides = []
    if rng.random() < 0.2:
        name = rng.choice(["label", "limit", "day", "root", "new", "bad-name", "today"])
        overrides.append(f"{name}={rng.choice(['', 'x', '5', '-1', 'nan', '1e999', '2021-11-01', '0001-01-01', '${x'])}")
    if rng.random() < 0.25:
        text = yaml.safe_dump(doc, allow_unicode=True, width=10_000)
        lines = text.splitlines(keepends=True)
        cut = rng.random()
        if cut < 0.3:
            text = text[: rng.randrange(len(text) + 1)]
        elif cut < 0.6 and lines:
            i = rng.randrange(len(lines))
            text = "".join([*lines[:i], lines[i], *lines[i:]])
        elif lines:
            i = rng.randrange(len(lines))
            text = "".join([*lines[:i], " " * rng.randint(1, 3) + lines[i], *lines[i + 1:]])
        return text, overrides
    return doc, overrides


LOCATED = re.compile(r"^.+:\d+:\d+: .+$")


def classify(plan: Path, exit_code: int | None, stderr: str, exception: BaseException | None) -> str | None:
    """None when the answer keeps the contract, else what is wrong with it."""
    if exception is not None and not isinstance(exception, SystemExit):
        return f"{type(exception).__name__}: {exception}"
    lines = stderr.splitlines()
    if exit_code == 0:
        return None
    if exit_code == 2:
        bad = [line for line in lines if not (line.startswith(f"{plan}:") and LOCATED.match(line))
               and not line.startswith("error: --")]
        return f"unlocated: {bad[0]!r}" if bad else (None if lines else "exit 2 without a message")
    if exit_code == 3:
        return None if len(lines) == 1 and lines[0].startswith("error: ") else f"exit 3 said {lines!r}"
    return f"exit {exit_code}: {lines[-3:]!r}"


def peak_rss_mb() -> float:
    """This process's own peak memory. ``ru_maxrss`` survives ``exec`` on Linux, so a child of a large
    parent (pytest) would report the parent's size; ``VmHWM`` belongs to the new address space."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--count", type=int, default=1000, help="cases in all (known shapes included)")
    args = parser.parse_args(argv)
    os.environ["BFPLAN_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    from bfplan.cli import cli

    rng = random.Random(args.seed)
    runner = CliRunner()
    cases = known_shapes()
    while len(cases) < args.count:
        cases.append(mutate(rng))
    findings: list[dict[str, Any]] = []
    warehouse_errors: list[str] = []
    slowest = (0.0, -1)
    outcomes: dict[int, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        plan = Path(tmp) / "plan.yaml"
        for n, (doc, overrides) in enumerate(cases):
            text = doc if isinstance(doc, str) else yaml.safe_dump(doc, allow_unicode=True, width=10_000)
            plan.write_text(text, encoding="utf-8")
            argv_ = ["validate", str(plan), *[a for o in overrides for a in ("--var", o)]]
            started = time.perf_counter()
            result = runner.invoke(cli, argv_, catch_exceptions=True)
            seconds = time.perf_counter() - started
            slowest = max(slowest, (seconds, n))
            outcomes[result.exit_code] = outcomes.get(result.exit_code, 0) + 1
            problem = classify(plan, result.exit_code, result.stderr, result.exception)
            if problem:
                findings.append({"case": n, "problem": problem[:500], "plan": text[:300], "vars": overrides})
            if result.exit_code == 3:
                warehouse_errors.append(result.stderr.strip()[:300])
    report = {"seed": args.seed, "cases": len(cases), "outcomes": outcomes, "findings": findings,
              "warehouse_errors": warehouse_errors, "slowest_s": round(slowest[0], 3), "slowest_case": slowest[1],
              "peak_rss_mb": peak_rss_mb()}
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    sys.exit(1 if main()["findings"] else 0)
