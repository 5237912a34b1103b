"""Tests for the plan model and loader: every class of plan error, with its exact text and position."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bfplan.errors import PlanError, PlanIssue, PluginError
from bfplan.plan import (
    DateSpec,
    Defaults,
    GateRef,
    Mark,
    Plan,
    ProcessorRef,
    load_plan,
    plan_schema,
    read_plugin_paths,
)

NAME_RULE = "(use letters, digits and _, not starting with a digit)"
HEAD = "name: nov\ndates: {start: 2021-11-01, end: 2021-11-03}\n"

FULL_PLAN = """\
name: nba-2021-nov
description: Recompute phases 3-5
dates: {start: 2021-11-01, end: 2021-11-05, calendar: nba_game_days}
mode: daily
warehouse: {type: duckdb, path: "${data_dir}/nba.duckdb"}
plugins: [../plugins/nba]
vars: {data_dir: data, bucket: "${data_dir}/bucket", lookback: 3, strict: false}
defaults: {retries: 1, batch_days: 3, jobs: 4, retry_backoff_s: 0.25, circuit_breaker: {max_failures: 5}}
params: {season_start: 2021-10-19}
notify: [{webhook: {url: "http://127.0.0.1:8080/hook", events: [run_finished]}}]
phases:
  - name: precompute
    dates: {start: 2021-10-19}
    processors:
      - tdza
      - psza
      - name: pcf
        depends_on: [tdza, psza]
        params: {path: "${bucket}/pcf", lookback: "${lookback}", literal: "$${bucket}"}
        batch_days: 30
        retries: 0
        max_concurrency: 1
        gates: {after: [{coverage: {reconcile: true}}]}
    gates:
      before: [{preflight: {}}]
      after:
        - {coverage: {reconcile: true, severity: warn}}
        - failure_rate
        - {contamination: }
  - name: predictions
    dates: {dates: [2021-11-03, 2021-11-02, 2021-11-03]}
    processors: [mlfs]
"""


def write(directory: Path, text: str, name: str = "plan.yaml") -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Work in tmp_path, so that plans are named by short relative paths, as a user types them."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def errors_of(text: str, **kwargs: object) -> list[str]:
    """The error lines of loading ``text`` as ``plan.yaml`` in the current directory."""
    write(Path("."), text)
    with pytest.raises(PlanError) as caught:
        load_plan(Path("plan.yaml"), **kwargs)  # type: ignore[arg-type]
    return str(caught.value).splitlines()


REGISTRY = SimpleNamespace(
    processors={name: SimpleNamespace() for name in ("tdza", "psza", "pcf", "pdc", "mlfs")},
    gates={name: SimpleNamespace() for name in ("preflight", "coverage", "contamination", "failure_rate")},
    calendars={"nba_game_days": lambda start, end, vars=None: []},
    warehouses={"duckdb": object, "bigquery": object},
)


# --- a valid plan ------------------------------------------------------------------------------


def test_full_plan_loads_into_the_model(in_tmp: Path) -> None:
    plan = load_plan(write(in_tmp / "plans", FULL_PLAN), overrides={"lookback": "14", "extra": "x"})

    assert plan.name == "nba-2021-nov"
    assert plan.description == "Recompute phases 3-5"
    assert plan.mode == "daily"
    assert plan.dates == DateSpec(date(2021, 11, 1), date(2021, 11, 5), None, "nba_game_days")
    assert plan.warehouse == {"type": "duckdb", "path": "data/nba.duckdb"}
    assert plan.plugins == ((in_tmp / "plugins" / "nba").resolve(),)
    assert plan.vars == {"data_dir": "data", "bucket": "data/bucket", "lookback": 14, "strict": False, "extra": "x"}
    assert plan.defaults == Defaults(
        retries=1, batch_days=3, jobs=4, retry_backoff_s=0.25, circuit_breaker_max_failures=5
    )
    assert plan.params == {"season_start": date(2021, 10, 19)}
    assert plan.notify == ({"webhook": {"url": "http://127.0.0.1:8080/hook", "events": ["run_finished"]}},)
    assert plan.base_dir == in_tmp / "plans"

    precompute, predictions = plan.phases
    assert [ref.name for ref in precompute.processors] == ["tdza", "psza", "pcf"]
    assert precompute.processors[0] == ProcessorRef("tdza", (), {}, None, None, None, (), Mark(15, 9))
    pcf = precompute.processors[2]
    assert pcf.depends_on == ("tdza", "psza")
    # A whole-string reference keeps the variable's type; `$${` is a literal `${`.
    assert pcf.params == {"path": "data/bucket/pcf", "lookback": 14, "literal": "${bucket}"}
    assert (pcf.batch_days, pcf.retries, pcf.max_concurrency) == (30, 0, 1)
    assert pcf.gates_after == (GateRef("coverage", {"reconcile": True}, "block", Mark(23, 26)),)
    assert pcf.mark == Mark(17, 15)
    assert precompute.gates_before == (GateRef("preflight", {}, "block", Mark(25, 17)),)
    assert [(g.name, g.options, g.severity) for g in precompute.gates_after] == [
        ("coverage", {"reconcile": True}, "warn"),
        ("failure_rate", {}, "block"),
        ("contamination", {}, "block"),
    ]
    assert precompute.mark == Mark(12, 5)
    # The phase's own start, merged over the plan's end and calendar.
    assert precompute.dates == DateSpec(date(2021, 10, 19), date(2021, 11, 5), None, "nba_game_days")
    assert predictions.dates.expand() == [date(2021, 11, 2), date(2021, 11, 3)]
    assert predictions.dates.calendar == "nba_game_days"
    assert [(phase.name, ref.name) for phase, ref in plan.processor_refs()] == [
        ("precompute", "tdza"),
        ("precompute", "psza"),
        ("precompute", "pcf"),
        ("predictions", "mlfs"),
    ]


def test_a_minimal_plan_gets_the_defaults(in_tmp: Path) -> None:
    plan = load_plan(write(in_tmp, HEAD + "phases: [{name: raw, processors: [tdza]}]\n"))

    assert (plan.mode, plan.description, plan.plugins, plan.notify, plan.params) == ("backfill", "", (), (), {})
    assert plan.defaults == Defaults(
        retries=2, batch_days=7, jobs=2, retry_backoff_s=0.5, circuit_breaker_max_failures=3
    )
    assert plan.warehouse == {"type": "duckdb", "path": ".bfplan/nov.duckdb"}
    # Defaults do not leak into the refs: a ref's None means "use the plan's default".
    ref = plan.phases[0].processors[0]
    assert (ref.batch_days, ref.retries, ref.max_concurrency) == (None, None, None)
    assert plan.phases[0].dates == plan.dates


def test_refs_are_hashable_and_the_plan_path_is_kept_as_given(in_tmp: Path) -> None:
    write(in_tmp / "plans", HEAD + "phases: [{name: raw, processors: [tdza, {name: pcf, params: {a: 1}}]}]\n")
    plan = load_plan(Path("plans/plan.yaml"))

    assert len({ref for _, ref in plan.processor_refs()}) == 2
    assert plan.path == Path("plans/plan.yaml")


def test_dates_expand_sorted_unique_and_filtered_by_a_calendar() -> None:
    def odd_days(start: date, end: date) -> list[date]:
        return [date.fromordinal(n) for n in range(start.toordinal(), end.toordinal() + 1) if n % 2]

    span = DateSpec(date(2021, 11, 1), date(2021, 11, 4), None, None)
    listed = DateSpec(None, None, (date(2021, 11, 4), date(2021, 11, 1), date(2021, 11, 4)), None)

    assert span.expand() == [date(2021, 11, d) for d in (1, 2, 3, 4)]
    assert span.expand(odd_days) == [d for d in span.expand() if d.toordinal() % 2]
    assert listed.expand() == [date(2021, 11, 1), date(2021, 11, 4)]
    assert listed.expand(odd_days) == [d for d in listed.expand() if d.toordinal() % 2]


def test_a_phase_start_over_a_plan_date_list_keeps_the_lists_last_date(in_tmp: Path) -> None:
    text = (
        "name: nov\ndates: {dates: [2021-11-05, 2021-11-02]}\n"
        "phases: [{name: raw, dates: {start: 2021-11-01}, processors: [a]}]\n"
    )
    plan = load_plan(write(in_tmp, text))

    assert plan.phases[0].dates == DateSpec(date(2021, 11, 1), date(2021, 11, 5), None, None)


def test_marks_cover_every_node_and_issue_uses_the_nearest_one(in_tmp: Path) -> None:
    plan = load_plan(write(in_tmp, FULL_PLAN))

    assert plan.marks["phases[0].processors[2].depends_on[1]"] == Mark(18, 28)
    assert plan.mark_of("phases[0].processors[2].depends_on[7]") == Mark(18, 21)
    assert plan.mark_of("nowhere.at.all") == Mark(1, 1)
    assert plan.issue("phases[0].processors[2]", "cycle") == PlanIssue(
        str(in_tmp / "plan.yaml"), 17, 9, "phases[0].processors[2]", "cycle"
    )


def test_var_overrides_take_the_type_of_the_plans_value(in_tmp: Path) -> None:
    text = HEAD + "vars: {n: 1, on: true, day: 2021-11-01, s: x}\nphases: [{name: raw, processors: [a]}]\n"
    plan = load_plan(write(in_tmp, text), overrides={"n": "5", "on": "no", "day": "2021-11-02", "s": "7"})

    assert plan.vars == {"n": 5, "on": False, "day": date(2021, 11, 2), "s": "7"}


def test_read_plugin_paths_is_a_cheap_first_pass(in_tmp: Path) -> None:
    text = "vars: {root: /opt}\nplugins: [plugins/nba, '${root}/more']\nphases: oops\n"
    path = write(in_tmp / "plans", text)

    assert read_plugin_paths(path) == [(0, (in_tmp / "plans/plugins/nba").resolve()), (1, Path("/opt/more").resolve())]
    assert read_plugin_paths(path, overrides={"root": "/srv"})[1] == (1, Path("/srv/more").resolve())
    assert read_plugin_paths(in_tmp / "missing.yaml") == []
    assert read_plugin_paths(write(in_tmp, "plugins: [a\n", "broken.yaml")) == []


# --- every class of error, with its exact text -------------------------------------------------

ERROR_CASES = {
    "yaml syntax": ("name: nov\n  bad: indent\n", ["plan.yaml:2:6: invalid YAML: mapping values are not allowed here"]),
    "empty document": ("# nothing here\n", ["plan.yaml:1:1: the plan is empty"]),
    "top level not a mapping": (
        "- name: nov\n",
        ["plan.yaml:1:1: the plan must be a mapping (name: ..., dates: ..., phases: ...), got a list"],
    ),
    "unknown key": (
        HEAD + "phses: []\n",
        [
            "plan.yaml:1:1: missing required key 'phases'",
            "plan.yaml:3:1: unknown key 'phses' (did you mean 'phases'?)",
        ],
    ),
    "unknown nested key": (
        HEAD + "phases:\n  - name: raw\n    procesors: [a]\n",
        [
            "plan.yaml:4:5: phases[0]: missing required key 'processors'",
            "plan.yaml:5:5: phases[0]: unknown key 'procesors' (did you mean 'processors'?)",
        ],
    ),
    "missing required keys": (
        "name: nov\n",
        ["plan.yaml:1:1: missing required key 'dates'", "plan.yaml:1:1: missing required key 'phases'"],
    ),
    "missing end date": (
        "name: nov\ndates: {start: 2021-11-01}\nphases: [{name: raw, processors: [a]}]\n",
        ["plan.yaml:2:8: dates: missing required key 'end'"],
    ),
    "no dates at all": (
        "name: nov\ndates: {calendar: games}\nphases: [{name: raw, processors: [a]}]\n",
        ["plan.yaml:2:8: dates: missing required keys 'start' and 'end' (or a list under 'dates')"],
    ),
    "both a range and a list": (
        "name: nov\ndates: {start: 2021-11-01, end: 2021-11-02, dates: [2021-11-01]}\n"
        "phases: [{name: raw, processors: [a]}]\n",
        ["plan.yaml:2:45: dates: give either start and end, or a list of dates, not both"],
    ),
    "wrong type": (
        HEAD + "defaults: {batch_days: seven}\nphases: [{name: raw, processors: tdza}]\n",
        [
            "plan.yaml:3:24: defaults.batch_days: expected an integer, got a string 'seven'",
            "plan.yaml:4:34: phases[0].processors: expected a list, got a string 'tdza'",
        ],
    ),
    "wrong type of date": (
        "name: nov\ndates: {start: 20211101, end: 2021-11-02}\nphases: [{name: raw, processors: [a]}]\n",
        ["plan.yaml:2:16: dates.start: expected a date (YYYY-MM-DD), got 20211101"],
    ),
    "bad mode": (
        HEAD + "mode: dayly\nphases: [{name: raw, processors: [a]}]\n",
        ["plan.yaml:3:7: mode: invalid value 'dayly' (expected 'backfill' or 'daily')"],
    ),
    "bad severity": (
        HEAD + "phases: [{name: raw, processors: [a], gates: {after: [{coverage: {severity: fatal}}]}}]\n",
        [
            "plan.yaml:3:77: phases[0].gates.after[0].coverage.severity: "
            "invalid value 'fatal' (expected 'block' or 'warn')"
        ],
    ),
    "invalid dates": (
        "name: nov\ndates: {start: 11/01/2021, end: 2021-02-30}\nphases: [{name: raw, processors: [a]}]\n",
        [
            "plan.yaml:2:16: dates.start: invalid date '11/01/2021' (expected YYYY-MM-DD)",
            "plan.yaml:2:33: dates.end: invalid date '2021-02-30' (not a real calendar date)",
        ],
    ),
    "start after end": (
        "name: nov\ndates: {start: 2021-11-30, end: 2021-11-01}\nphases: [{name: raw, processors: [a]}]\n",
        ["plan.yaml:2:8: dates: start 2021-11-30 is after end 2021-11-01"],
    ),
    "phase end before the plan's start": (
        HEAD + "phases:\n  - name: raw\n    dates: {end: 2021-10-01}\n    processors: [a]\n",
        ["plan.yaml:5:12: phases[0].dates: start 2021-11-01 is after end 2021-10-01"],
    ),
    "no phases": (HEAD + "phases: []\n", ["plan.yaml:3:9: phases: must not be empty"]),
    "no processors": (
        HEAD + "phases:\n  - name: raw\n    processors: []\n",
        ["plan.yaml:5:17: phases[0].processors: must not be empty"],
    ),
    "duplicate processor": (
        HEAD + "phases:\n  - name: raw\n    processors: [tdza, psza]\n"
        "  - name: analytics\n    processors:\n      - pcf\n      - {name: tdza}\n",
        ["plan.yaml:9:16: phases[1].processors[1].name: duplicate processor 'tdza' (first at line 5)"],
    ),
    "duplicate phase": (
        HEAD + "phases:\n  - name: raw\n    processors: [a]\n  - name: raw\n    processors: [b]\n",
        ["plan.yaml:6:11: phases[1].name: duplicate phase 'raw' (first at line 4)"],
    ),
    "depends_on outside the plan": (
        HEAD + "phases:\n  - name: raw\n    processors: [psza, {name: pcf, depends_on: [psz]}]\n",
        [
            "plan.yaml:5:49: phases[0].processors[1].depends_on[0]: "
            "'psz' is not a processor in this plan (did you mean 'psza'?)"
        ],
    ),
    "depends on itself": (
        HEAD + "phases:\n  - name: raw\n    processors: [{name: pcf, depends_on: [pcf]}]\n",
        ["plan.yaml:5:43: phases[0].processors[0].depends_on[0]: processor 'pcf' depends on itself"],
    ),
    "duplicate depends_on": (
        HEAD + "phases:\n  - name: raw\n    processors: [a, {name: pcf, depends_on: [a, a]}]\n",
        ["plan.yaml:5:49: phases[0].processors[1].depends_on[1]: duplicate entry 'a'"],
    ),
    "bad identifiers": (
        "name: 1st\ndates: {start: 2021-11-01, end: 2021-11-03}\nvars: {bad-var: 1}\nphases:\n"
        "  - name: raw data\n    processors: [my-proc]\n    gates: {after: [my-gate, {other-gate: {}}]}\n",
        [
            "plan.yaml:1:7: name: invalid plan name '1st' "
            "(use letters, digits, _, . and -, not starting with a digit, . or -)",
            f"plan.yaml:3:8: vars: invalid name 'bad-var' {NAME_RULE}",
            f"plan.yaml:5:11: phases[0].name: invalid name 'raw data' {NAME_RULE}",
            f"plan.yaml:6:18: phases[0].processors[0]: invalid name 'my-proc' {NAME_RULE}",
            f"plan.yaml:7:21: phases[0].gates.after[0]: invalid name 'my-gate' {NAME_RULE}",
            f"plan.yaml:7:31: phases[0].gates.after[1]: invalid name 'other-gate' {NAME_RULE}",
        ],
    ),
    "unknown variable": (
        HEAD + "vars: {data_dir: d}\nwarehouse: {type: duckdb, path: '${data_dri}/x.duckdb'}\n"
        "phases: [{name: raw, processors: ['${proc}']}]\n",
        [
            "plan.yaml:4:33: warehouse.path: unknown variable 'data_dri' (did you mean 'data_dir'?)",
            "plan.yaml:5:35: phases[0].processors[0]: unknown variable 'proc'",
        ],
    ),
    "variables referring to each other": (
        HEAD + "vars: {a: '${b}', b: 'x${a}'}\nphases: [{name: raw, processors: [p]}]\n",
        [
            "plan.yaml:3:11: vars.a: variables refer to each other: a -> b -> a",
            "plan.yaml:3:22: vars.b: variables refer to each other: b -> a -> b",
        ],
    ),
    "numbers that must be positive": (
        HEAD + "defaults: {batch_days: 0, jobs: -2, retries: -1}\n"
        "phases: [{name: raw, processors: [{name: a, batch_days: 0, retries: 0}]}]\n",
        [
            "plan.yaml:3:24: defaults.batch_days: must be a positive integer, got 0",
            "plan.yaml:3:33: defaults.jobs: must be a positive integer, got -2",
            "plan.yaml:3:46: defaults.retries: must not be negative, got -1",
            "plan.yaml:4:57: phases[0].processors[0].batch_days: must be a positive integer, got 0",
        ],
    ),
    "duplicate yaml key": (
        HEAD + "name: again\nphases: [{name: raw, processors: [a]}]\n",
        ["plan.yaml:3:1: duplicate key 'name' (first at line 1)"],
    ),
    "gate with two names": (
        HEAD + "phases: [{name: raw, processors: [a], gates: {before: [{preflight: {}, coverage: {}}]}}]\n",
        [
            "plan.yaml:3:56: phases[0].gates.before[0]: "
            "expected a gate name or a one-key mapping {gate_name: {options}}, got 2 keys"
        ],
    ),
    "unsafe yaml tag": (
        HEAD + "description: !!python/object/apply:os.system ['echo pwned']\nphases: [{name: raw, processors: [a]}]\n",
        ["plan.yaml:3:14: description: unsupported YAML tag 'tag:yaml.org,2002:python/object/apply:os.system'"],
    ),
}


@pytest.mark.parametrize("text, expected", ERROR_CASES.values(), ids=ERROR_CASES.keys())
def test_each_class_of_plan_error_has_an_exact_message(in_tmp: Path, text: str, expected: list[str]) -> None:
    assert errors_of(text) == expected


YAML_CASES = {
    "a second document": (
        HEAD + "---\nname: x\n",
        "plan.yaml:3:1: invalid YAML: expected a single document in the stream, but found another document",
    ),
    "a control character": (
        "name: \x07\n",
        "plan.yaml:1:7: invalid YAML: unacceptable character #x0007 (special characters are not allowed)",
    ),
    "a recursive alias": (
        HEAD + "params: &p {self: *p}\n",
        "plan.yaml:3:9: params.self: a YAML alias refers to itself",
    ),
    "a list as a key": (HEAD + "? [a, b]\n: 1\n", "plan.yaml:3:3: a mapping key must be a plain name"),
    "a bad explicit tag": (HEAD + "description: !!int abc\n", "plan.yaml:3:14: description: invalid int value 'abc'"),
    "a billion laughs": (
        HEAD
        + "params:\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        + "".join(f"  {n}: &{n} [{', '.join(['*' + p] * 10)}]\n" for p, n in zip("abcde", "bcdef", strict=True)),
        "plan.yaml:4:19: the document is too large (aliases expand too far)",
    ),
}


@pytest.mark.parametrize("text, expected", YAML_CASES.values(), ids=YAML_CASES.keys())
def test_yaml_problems_are_plan_errors(in_tmp: Path, text: str, expected: str) -> None:
    assert errors_of(text + "phases: [{name: raw, processors: [a]}]\n")[0] == expected


def test_yaml_merge_keys_and_non_string_keys_are_read_as_written(in_tmp: Path) -> None:
    text = HEAD + "defaults: {<<: {retries: 1, jobs: 5}, jobs: 3}\nparams: {on: 1, 2021-01-01: x, 3: y}\n"
    plan = load_plan(write(in_tmp, text + "phases: [{name: raw, processors: [a]}]\n"))

    assert (plan.defaults.retries, plan.defaults.jobs) == (1, 3)
    assert plan.params == {"on": 1, "2021-01-01": "x", "3": "y"}


def test_bad_var_overrides_are_plan_errors(in_tmp: Path) -> None:
    text = HEAD + "vars: {n: 1}\nphases: [{name: raw, processors: [a]}]\n"

    assert errors_of(text, overrides={"n": "many", "bad-name": "x"}) == [
        f"plan.yaml:3:7: vars: --var 'bad-name': invalid name 'bad-name' {NAME_RULE}",
        "plan.yaml:3:11: vars.n: --var n='many': expected an integer, like the plan's value 1",
    ]


def test_unreadable_files_are_plan_errors(in_tmp: Path) -> None:
    (in_tmp / "latin1.yaml").write_bytes(b"name: nov\ndescription: caf\xe9\n")

    with pytest.raises(PlanError, match=r"^missing\.yaml:1:1: cannot read the plan: No such file or directory$"):
        load_plan(Path("missing.yaml"))
    with pytest.raises(PlanError, match=r"^latin1\.yaml:2:17: the file is not UTF-8 text$"):
        load_plan(Path("latin1.yaml"))


def test_all_errors_come_at_once_sorted_and_deduplicated(in_tmp: Path) -> None:
    text = (
        "name: nov\n"
        "dates: {start: 2021-11-30, end: 2021-11-01}\n"
        "mode: dayly\n"
        "phases:\n"
        "  - name: raw\n"
        "    processors: [tdza, tdza, {name: pcf, depends_on: [tdzx], retries: -1}]\n"
        "  - name: raw\n"
        "    processors: []\n"
    )

    lines = errors_of(text)
    assert lines == [
        "plan.yaml:2:8: dates: start 2021-11-30 is after end 2021-11-01",
        "plan.yaml:3:7: mode: invalid value 'dayly' (expected 'backfill' or 'daily')",
        "plan.yaml:6:24: phases[0].processors[1]: duplicate processor 'tdza' (first at line 6)",
        "plan.yaml:6:55: phases[0].processors[2].depends_on[0]: "
        "'tdzx' is not a processor in this plan (did you mean 'tdza'?)",
        "plan.yaml:6:71: phases[0].processors[2].retries: must not be negative, got -1",
        "plan.yaml:7:11: phases[1].name: duplicate phase 'raw' (first at line 5)",
        "plan.yaml:8:17: phases[1].processors: must not be empty",
    ]
    with pytest.raises(PlanError) as caught:
        load_plan(Path("plan.yaml"))
    assert caught.value.exit_code == 2
    assert caught.value.issues == sorted(set(caught.value.issues))
    assert caught.value.issues[0].as_dict() == {
        "file": "plan.yaml",
        "line": 2,
        "col": 8,
        "message": "dates: start 2021-11-30 is after end 2021-11-01",
    }


# --- checks against the plugin registry --------------------------------------------------------

REGISTRY_PLAN = """\
name: nov
dates: {start: 2021-11-01, end: 2021-11-03, calendar: nba_game_dayz}
warehouse: {type: duckdbb}
phases:
  - name: precompute
    processors:
      - tdza
      - psza
    gates:
      before: [preflight]
      after: [{coverag: {reconcile: true}}]
  - name: predictions
    processors:
      - tdzaa
"""


def test_registry_names_are_checked_with_did_you_mean(in_tmp: Path) -> None:
    write(in_tmp / "plans", REGISTRY_PLAN, "x.yaml")
    with pytest.raises(PlanError) as caught:
        load_plan(Path("plans/x.yaml"), registry=REGISTRY)

    assert str(caught.value).splitlines() == [
        "plans/x.yaml:2:55: dates.calendar: unknown calendar 'nba_game_dayz' (did you mean 'nba_game_days'?)",
        "plans/x.yaml:3:19: warehouse.type: unknown warehouse type 'duckdbb' (did you mean 'duckdb'?)",
        "plans/x.yaml:11:16: phases[0].gates.after[0]: unknown gate 'coverag' (did you mean 'coverage'?)",
        "plans/x.yaml:14:9: phases[1].processors[0]: unknown processor 'tdzaa' (did you mean 'tdza'?)",
    ]


def test_without_a_registry_names_are_not_checked(in_tmp: Path) -> None:
    plan = load_plan(write(in_tmp, REGISTRY_PLAN))

    assert plan.phases[1].processors[0].name == "tdzaa"


COVERAGE_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"reconcile": {"type": "boolean"}, "min_ratio": {"type": "number", "maximum": 1}},
}


def test_gate_options_are_validated_against_the_gates_schema(in_tmp: Path) -> None:
    registry = SimpleNamespace(
        **{**vars(REGISTRY), "gates": {"coverage": SimpleNamespace(options_schema=COVERAGE_SCHEMA)}}
    )
    text = HEAD + (
        "phases:\n  - name: raw\n    processors: [a]\n    gates:\n      after:\n"
        "        - {coverage: {reconcile: yes please, severity: warn}}\n"
        "        - coverage: {reconcle: true, min_ratio: 2}\n"
    )
    registry.processors = {"a": SimpleNamespace()}

    assert errors_of(text, registry=registry) == [
        "plan.yaml:8:34: phases[0].gates.after[0].coverage.reconcile: "
        "expected true or false, got a string 'yes please'",
        "plan.yaml:9:22: phases[0].gates.after[1].coverage: unknown key 'reconcle' (did you mean 'reconcile'?)",
        "plan.yaml:9:49: phases[0].gates.after[1].coverage.min_ratio: must be at most 1, got 2",
    ]


def test_processor_params_are_validated_and_may_come_from_plan_params(in_tmp: Path) -> None:
    schema = {
        "type": "object",
        "required": ["season_start", "window"],
        "properties": {"season_start": {"type": "string"}, "window": {"type": "integer"}},
        "additionalProperties": False,
    }
    registry = SimpleNamespace(
        **{**vars(REGISTRY), "processors": {"pcf": SimpleNamespace(params_schema=schema), "b": 1}}
    )
    text = HEAD + (
        "params: {season_start: 2021-10-19, other_processors_param: 1}\n"
        "phases:\n  - name: raw\n    processors:\n"
        "      - {name: pcf, params: {window: ten}}\n"
        "      - b\n"
        "  - name: again\n    processors: [{name: pcf2}]\n"
    )
    registry.processors["pcf2"] = SimpleNamespace(params_schema=schema)

    assert errors_of(text, registry=registry) == [
        "plan.yaml:7:38: phases[0].processors[0].params.window: expected an integer, got a string 'ten'",
        "plan.yaml:10:18: phases[1].processors[0]: missing required param 'window' for processor 'pcf2'",
    ]


def test_a_plugins_broken_schema_is_a_plugin_error_naming_it(in_tmp: Path) -> None:
    registry = SimpleNamespace(**{**vars(REGISTRY), "gates": {"coverage": SimpleNamespace(options_schema={"type": 5})}})
    write(in_tmp, HEAD + "phases: [{name: raw, processors: [tdza], gates: {after: [coverage]}}]\n")

    with pytest.raises(PluginError, match=r"^gate 'coverage': invalid JSON Schema: 5 is not valid"):
        load_plan(Path("plan.yaml"), registry=registry)


# --- the schema file ---------------------------------------------------------------------------


def _object_schemas(node: object, path: str = "#") -> list[tuple[str, dict]]:
    found: list[tuple[str, dict]] = []
    if isinstance(node, dict):
        if "properties" in node:
            found.append((path, node))
        for key, value in node.items():
            found += _object_schemas(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _object_schemas(value, f"{path}/{index}")
    return found


def test_the_schema_is_valid_strict_and_documented() -> None:
    schema = plan_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    repo_copy = json.loads((Path(__file__).parent.parent / "schemas" / "plan.schema.json").read_text())
    assert schema == repo_copy

    undocumented, open_ended = [], []
    for path, node in _object_schemas(schema):
        if "/if" in path:  # a condition, not something a plan writes
            continue
        undocumented += [f"{path}/{key}" for key, sub in node["properties"].items() if "description" not in sub]
        # Free-form on purpose: the warehouse (a plugin's type has its own options) and gate options.
        free_form = path.endswith(("/$defs/warehouse", "/gate/additionalProperties"))
        if node.get("additionalProperties") is not False and not free_form:
            open_ended.append(path)
    assert undocumented == []
    assert open_ended == []


# --- robustness --------------------------------------------------------------------------------

_scalars = st.none() | st.booleans() | st.integers(-3, 40) | st.text(max_size=12) | st.dates().map(str)
_keys = st.sampled_from(
    [
        "name",
        "dates",
        "start",
        "end",
        "phases",
        "processors",
        "gates",
        "after",
        "before",
        "depends_on",
        "vars",
        "defaults",
        "batch_days",
        "severity",
        "coverage",
        "mode",
        "dates",
        "warehouse",
        "type",
        "x",
    ]
) | st.text(max_size=6)
_documents = st.recursive(
    _scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=4), max_leaves=25
)
_fuzz = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@_fuzz
@given(text=st.text(max_size=120) | st.text(alphabet="{}[]:,-&*!?|>'\"#%@ \n\tab01", max_size=80))
def test_random_text_raises_nothing_but_plan_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        assert isinstance(load_plan(path, registry=REGISTRY), Plan)
    except PlanError as exc:
        assert exc.issues


SMALL_PLAN = HEAD + (
    "vars: {n: 1}\n"
    "phases: [{name: raw, processors: [a, {name: b, depends_on: [a]}], gates: {after: [{coverage: {severity: warn}}]}}]\n"
)


@_fuzz
@given(
    document=_documents,
    mutation=st.dictionaries(_keys, _documents, max_size=3),
    where=st.sampled_from(["plan", "phase", "processor", "gate"]),
)
def test_random_documents_raise_nothing_but_plan_error(
    tmp_path: Path, document: object, mutation: dict, where: str
) -> None:
    base = yaml.safe_load(SMALL_PLAN)
    phase = base["phases"][0]
    target = {"plan": base, "phase": phase, "processor": phase["processors"][1], "gate": phase["gates"]["after"][0]}
    target[where].update(mutation)
    path = tmp_path / "plan.yaml"
    for candidate in (document, base):
        path.write_text(yaml.safe_dump(candidate), encoding="utf-8")
        try:
            assert isinstance(load_plan(path, registry=REGISTRY, overrides={"n": "x"}), Plan)
        except PlanError as exc:
            assert exc.issues
