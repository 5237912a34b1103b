"""Faults injected into the synthetic NBA season (plugins/nba/simulate/faults.py, --faults, --deliver)."""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from tests.nba.simload import SIM_DIR, load_simulator

sim = load_simulator()
sim_main = importlib.import_module(f"{sim.__name__}.__main__")
END = date(2021, 11, 12)  # 25 game days: fast, and a few dates past the first three weeks
SEED = 7
DAY = "2021-11-10"
# Digest of raw/ (manifest included) of `--end 2021-11-12` with the default seed, written before faults existed.
CLEAN_SHORT_DIGEST = "bff27d0ef9788e4225a6d522467a4a9b19af4038dd6a03921fdfc019cb28c7d7"


def tree(root: Path) -> dict[str, bytes]:
    """{path relative to the bucket: bytes} of every data file (manifests left out)."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != "_manifest.json"}


def changes(clean: dict[str, bytes], faulted: dict[str, bytes]) -> tuple[set[str], set[str], set[str]]:
    """(changed, removed, added) paths."""
    return ({p for p in clean.keys() & faulted.keys() if clean[p] != faulted[p]},
            clean.keys() - faulted.keys(), faulted.keys() - clean.keys())


def load_rows(data: bytes) -> list[dict]:
    return json.loads(data)["rows"]


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("clean")
    sim.simulate_season(out, seed=SEED, end=END)
    files = tree(out)
    games = load_rows(files[f"raw/nbac_schedule/{DAY}/schedule.json"])
    game = games[0]
    book = load_rows(files[f"raw/nbac_gamebook/{DAY}/{game['game_id']}.json"])
    player = next(r for r in book if r["player_status"] == "active" and r["points"] > 0)
    return {"out": out, "files": files, "games": games, "game": game, "gid": game["game_id"], "player": player}


def faulted(tmp_path: Path, faults: list[dict]) -> dict[str, bytes]:
    sim.simulate_season(tmp_path, seed=SEED, end=END, faults=faults)
    return tree(tmp_path)


def gb(clean: dict) -> str:
    return f"raw/nbac_gamebook/{DAY}/{clean['gid']}.json"


# --------------------------------------------------------------------------- the clean season

def test_no_faults_leaves_the_season_byte_identical(tmp_path: Path) -> None:
    sim.simulate_season(tmp_path / "a", end=END)
    digest = hashlib.sha256()
    for path in sorted(p for p in (tmp_path / "a" / "raw").rglob("*") if p.is_file()):
        digest.update(path.relative_to(tmp_path / "a" / "raw").as_posix().encode() + b"\0" + path.read_bytes())
    assert digest.hexdigest() == CLEAN_SHORT_DIGEST
    manifest = json.loads((tmp_path / "a" / "raw" / "_manifest.json").read_text())
    assert "faults" not in manifest and "faults_sha256" not in manifest
    assert not (tmp_path / "a" / "late").exists() and not (tmp_path / "a" / "corrections").exists()


def test_empty_fault_list_changes_no_data_file(tmp_path: Path, clean: dict) -> None:
    assert faulted(tmp_path, []) == clean["files"]


def test_manifest_records_the_faults_file_and_is_not_reused_for_a_clean_run(tmp_path: Path, clean: dict) -> None:
    faults_file = tmp_path / "faults.yaml"
    faults_file.write_text(f"- kind: missing_game\n  source: nbac_gamebook\n  date: {DAY}\n  game: {clean['gid']}\n")
    bucket = tmp_path / "b"
    assert sim_main.main(["--out", str(bucket), "--seed", str(SEED), "--end", END.isoformat(), "--quiet",
                          "--faults", str(faults_file)]) == 0
    manifest = json.loads((bucket / "raw" / "_manifest.json").read_text())
    assert manifest["faults_sha256"] == hashlib.sha256(faults_file.read_bytes()).hexdigest()
    assert manifest["faults"] == [{"kind": "missing_game", "source": "nbac_gamebook", "date": DAY, "game": clean["gid"]}]
    assert manifest["summary"]["files"] == clean_count(clean) - 1
    assert sim.simulate_season(bucket, seed=SEED, end=END, faults=faults_file).reused
    assert not sim.simulate_season(bucket, seed=SEED, end=END).reused  # the clean season is rewritten
    assert tree(bucket) == clean["files"]


def clean_count(clean: dict) -> int:
    return sum(p.startswith("raw/") for p in clean["files"])


# --------------------------------------------------------------------------- each kind

def test_missing_game(tmp_path: Path, clean: dict) -> None:
    files = faulted(tmp_path, [{"kind": "missing_game", "source": "nbac_gamebook", "date": DAY, "game": clean["gid"]}])
    assert changes(clean["files"], files) == (set(), {gb(clean)}, set())


def test_missing_team_rows(tmp_path: Path, clean: dict) -> None:
    team = clean["game"]["home_team_abbr"]
    files = faulted(tmp_path, [{"kind": "missing_team_rows", "source": "nbac_gamebook", "date": DAY,
                                "game": clean["gid"], "team": team}])
    assert changes(clean["files"], files) == ({gb(clean)}, set(), set())
    before = load_rows(clean["files"][gb(clean)])
    assert load_rows(files[gb(clean)]) == [r for r in before if r["team_abbr"] != team] != before


def test_late_file_and_its_delivery(tmp_path: Path, clean: dict, capsys: pytest.CaptureFixture[str]) -> None:
    files = faulted(tmp_path, [{"kind": "late_file", "source": "nbac_gamebook", "date": DAY, "game": clean["gid"]}])
    late = "late/" + gb(clean)
    assert changes(clean["files"], files) == (set(), {gb(clean)}, {late})
    assert files[late] == clean["files"][gb(clean)]
    assert sim_main.main(["--out", str(tmp_path), "--deliver", "late"]) == 0
    assert f"{late} -> {gb(clean)}" in capsys.readouterr().out
    assert tree(tmp_path) == clean["files"] and not (tmp_path / "late").exists()
    assert json.loads((tmp_path / "raw" / "_manifest.json").read_text())["delivered"] == ["late"]
    assert not sim.simulate_season(tmp_path, seed=SEED, end=END, faults=[]).reused  # delivered: not the faulted run


def test_corrected_file_and_its_delivery(tmp_path: Path, clean: dict) -> None:
    files = faulted(tmp_path, [{"kind": "corrected_file", "source": "nbac_gamebook", "date": DAY,
                                "game": clean["gid"]}])
    fixed = "corrections/" + gb(clean)
    assert changes(clean["files"], files) == ({gb(clean)}, set(), {fixed})
    assert files[fixed] == clean["files"][gb(clean)]
    true, wrong = load_rows(clean["files"][gb(clean)]), load_rows(files[gb(clean)])
    assert len(wrong) == len(true) - 1
    differing = [(k, a[k], b[k]) for a, b in zip(true, wrong, strict=False) for k in a if a[k] != b[k]]
    assert len(differing) == 1 and isinstance(differing[0][1], int)
    assert sim.deliver(tmp_path, "corrections") == [gb(clean).removeprefix("raw/")]
    assert tree(tmp_path) == clean["files"]


def test_duplicate_rows(tmp_path: Path, clean: dict) -> None:
    player = clean["player"]["player_lookup"]
    files = faulted(tmp_path, [{"kind": "duplicate_rows", "source": "nbac_gamebook", "date": DAY,
                                "game": clean["gid"], "player": player}])
    assert changes(clean["files"], files) == ({gb(clean)}, set(), set())
    before, after = load_rows(clean["files"][gb(clean)]), load_rows(files[gb(clean)])
    i = next(i for i, r in enumerate(before) if r["player_lookup"] == player)
    assert after == [*before[:i + 1], before[i], *before[i + 1:]]
    files = faulted(tmp_path / "first", [{"kind": "duplicate_rows", "source": "nbac_team_boxscore", "date": DAY,
                                          "game": clean["gid"]}])
    box = gb(clean).replace("nbac_gamebook", "nbac_team_boxscore")
    before = load_rows(clean["files"][box])
    assert load_rows(files[box]) == [before[0], *before]


@pytest.mark.parametrize(("variant", "suffix"), [(None, "jr"), ("custom", None)])
def test_name_variant(tmp_path: Path, clean: dict, variant: str | None, suffix: str | None) -> None:
    row = clean["player"]
    lookup = row["player_lookup"]
    fault = {"kind": "name_variant", "source": "nbac_gamebook", "date": DAY, "game": clean["gid"], "player": lookup}
    if variant:
        fault["variant"] = lookup[:3] + lookup[4:]  # one letter dropped
    files = faulted(tmp_path, [fault])
    assert changes(clean["files"], files) == ({gb(clean)}, set(), set())
    before, after = load_rows(clean["files"][gb(clean)]), load_rows(files[gb(clean)])
    for a, b in zip(before, after, strict=True):
        if a["player_lookup"] != lookup:
            assert a == b
            continue
        assert {k for k in a if a[k] != b[k]} == {"player_lookup", "player_name"}
        if suffix:
            assert b["player_lookup"] == lookup + "jr" and b["player_name"] == a["player_name"] + " Jr."
        else:
            assert b["player_lookup"] == fault["variant"] == sim.player_lookup(b["player_name"])


def test_postponed_game(tmp_path: Path, clean: dict) -> None:
    gid, game = clean["gid"], clean["game"]
    files = faulted(tmp_path, [{"kind": "postponed_game", "date": DAY, "game": gid}])
    changed, removed, added = changes(clean["files"], files)
    game_files = {p for p in clean["files"] if p.endswith(f"/{DAY}/{gid}.json")}
    assert len(game_files) >= 3 and removed == game_files
    injuries = f"raw/nbac_injury_report/{DAY}/injuries.json"
    schedule = f"nbac_schedule/{DAY}/schedule.json"
    assert added == {f"corrections/raw/{schedule}"} and changed <= {injuries}
    teams = {game["away_team_abbr"], game["home_team_abbr"]}
    assert load_rows(files[injuries]) == [r for r in load_rows(clean["files"][injuries]) if r["team_abbr"] not in teams]
    assert files[f"raw/{schedule}"] == clean["files"][f"raw/{schedule}"]  # first delivery: still final
    corrected = load_rows(files[f"corrections/raw/{schedule}"])
    assert [r["game_status"] for r in corrected] == [4 if r["game_id"] == gid else 3 for r in clean["games"]]
    sim.deliver(tmp_path, "corrections")
    assert load_rows((tmp_path / "raw" / schedule).read_bytes()) == corrected


@pytest.mark.parametrize(("kind", "column", "check"), [
    ("negative_value", "points", lambda old, new: new == -old),
    ("nan_value", "points", lambda old, new: math.isnan(new)),
    ("absurd_value", "points", lambda old, new: new == 412),
    ("absurd_value", "minutes", lambda old, new: new == 300.0),
])
def test_bad_values(tmp_path: Path, clean: dict, kind: str, column: str, check) -> None:
    lookup = clean["player"]["player_lookup"]
    files = faulted(tmp_path, [{"kind": kind, "source": "nbac_gamebook", "date": DAY, "game": clean["gid"],
                                "player": lookup, "column": column}])
    assert changes(clean["files"], files) == ({gb(clean)}, set(), set())
    before, after = load_rows(clean["files"][gb(clean)]), load_rows(files[gb(clean)])
    diff = [(a["player_lookup"], k) for a, b in zip(before, after, strict=True) for k in a if a[k] != b[k]]
    assert diff == [(lookup, column)]
    old, new = clean["player"][column], next(r[column] for r in after if r["player_lookup"] == lookup)
    assert check(old, new), (old, new)
    if kind == "nan_value":
        assert f'"{column}":NaN'.encode() in files[gb(clean)]


# --------------------------------------------------------------------------- validation

def bad_cases(clean: dict) -> list[tuple[dict, str]]:
    gid, player = clean["gid"], clean["player"]["player_lookup"]
    other = clean["games"][1]["game_id"]
    where = {"source": "nbac_gamebook", "date": DAY, "game": gid}
    return [
        ({"kind": "vanished", **where}, "unknown kind 'vanished'"),
        ({"kind": "missing_game", "source": "nbac_gamebook", "date": DAY}, "missing key(s) game"),
        ({"kind": "missing_game", **where, "colour": "red"}, "unknown key(s) colour"),
        ({"kind": "missing_game", **where, "source": "espn"}, "unknown source 'espn'"),
        ({"kind": "missing_game", **where, "date": "2021-11-25"}, "no games on 2021-11-25"),
        ({"kind": "missing_game", **where, "date": "11/10/2021"}, "is not YYYY-MM-DD"),
        ({"kind": "late_file", **where, "game": "20211110_XXX_YYY"}, f"game '20211110_XXX_YYY' is not on {DAY}"),
        ({"kind": "name_variant", **where, "player": "nobodyatall"}, "player 'nobodyatall' is not in nbac_gamebook"),
        ({"kind": "missing_team_rows", **where, "team": "ZZZ"}, f"team 'ZZZ' does not play in {gid}"),
        ({"kind": "negative_value", **where, "player": player, "column": "arena"}, "has no column 'arena'"),
        ({"kind": "nan_value", **where, "player": player, "column": "player_status"}, "is not numeric"),
        ({"kind": "duplicate_rows", **where, "game": other, "player": player}, f"player '{player}' has no row"),
        ({"kind": "missing_team_rows", **where, "source": "nbac_schedule", "team": clean["game"]["home_team_abbr"]},
         "nbac_schedule rows have no team_abbr"),
    ]


def test_each_invalid_fault_is_reported_with_its_index(tmp_path: Path, clean: dict) -> None:
    cases = bad_cases(clean)
    ok = {"kind": "missing_game", "source": "odds_api_props", "date": DAY, "game": clean["gid"]}
    for n, (fault, message) in enumerate(cases):
        with pytest.raises(sim.FaultError) as caught:
            sim.simulate_season(tmp_path / str(n), seed=SEED, end=END, faults=[ok, fault])
        assert str(caught.value).startswith(("faults[1] ", "faults[1]:")), caught.value
        assert message in str(caught.value) and "faults[0]" not in str(caught.value), (message, caught.value)
        assert not (tmp_path / str(n) / "raw" / "_manifest.json").exists()


def test_conflicting_faults_name_each_other(tmp_path: Path, clean: dict) -> None:
    where = {"source": "nbac_gamebook", "date": DAY, "game": clean["gid"]}
    with pytest.raises(sim.FaultError, match=r"faults\[2\] \(late_file\): nbac_gamebook/.* also changed by faults\[0\]"):
        sim.simulate_season(tmp_path, seed=SEED, end=END, faults=[
            {"kind": "duplicate_rows", **where}, {"kind": "nan_value", **where, "column": "points"},
            {"kind": "late_file", **where}])


def test_cli_exits_2_without_traceback(tmp_path: Path, clean: dict) -> None:
    faults_file = tmp_path / "faults.json"
    faults_file.write_text(json.dumps([{"kind": "missing_game", "source": "nbac_gamebook", "date": "2021-11-25",
                                        "game": clean["gid"]}]))
    done = subprocess.run([sys.executable, str(SIM_DIR), "--out", str(tmp_path / "b"), "--end", END.isoformat(),
                           "--faults", str(faults_file)], capture_output=True, text=True)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "faults[0] (missing_game): no games on 2021-11-25" in done.stderr
    faults_file.write_text("[{kind: missing_game")
    done = subprocess.run([sys.executable, str(SIM_DIR), "--out", str(tmp_path / "c"), "--end", END.isoformat(),
                           "--faults", str(faults_file)], capture_output=True, text=True)
    assert done.returncode == 2 and "not valid JSON" in done.stderr and "Traceback" not in done.stderr


def test_yaml_dates_may_be_unquoted(tmp_path: Path, clean: dict) -> None:
    faults_file = tmp_path / "f.yaml"
    faults_file.write_text(f"- {{kind: postponed_game, date: {DAY}, game: {clean['gid']}}}\n")
    faults, digest = sim.load_faults(faults_file)
    assert sim.check_faults(faults) == [{"kind": "postponed_game", "date": DAY, "game": clean["gid"]}]
    assert digest == hashlib.sha256(faults_file.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- random faults

def test_random_faults_are_valid_spread_and_seeded(tmp_path: Path, clean: dict) -> None:
    picked = sim.random_faults(clean["out"], sim.KINDS, 2, seed=3)
    assert picked == sim.random_faults(clean["out"] / "raw" / "_manifest.json", list(sim.KINDS), 2, seed=3)
    assert picked != sim.random_faults(clean["out"], sim.KINDS, 2, seed=4)
    assert [f["kind"] for f in picked] == [k for k in sim.KINDS for _ in range(2)]
    games = [f["game"] for f in picked]
    assert len(set(games)) == len(games)
    assert min(f["date"] for f in picked) >= "2021-11-09"  # after the first three weeks
    schedules = {p.split("/")[2]: len(load_rows(b)) for p, b in clean["files"].items() if "nbac_schedule" in p}
    for day in {f["date"] for f in picked}:
        assert sum(f["date"] == day for f in picked) < schedules[day]
    files = faulted(tmp_path, picked)  # every picked fault applies
    assert changes(clean["files"], files) != (set(), set(), set())


def test_random_faults_cli(tmp_path: Path, clean: dict) -> None:
    out = tmp_path / "faults.yaml"
    assert sim_main.main(["--out", str(tmp_path / "b"), "--seed", str(SEED), "--end", END.isoformat(), "--quiet",
                          "--random-faults", "1", "--fault-kinds", "missing_game,nan_value", "--fault-seed", "5",
                          "--faults-out", str(out)]) == 0
    faults, _ = sim.load_faults(out)
    assert faults == sim.random_faults(clean["out"], ["missing_game", "nan_value"], 1, seed=5)
