"""Tests for the synthetic NBA season simulator (plugins/nba/simulate/)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path

import pytest

from tests.nba.simload import SIM_DIR, load_simulator

sim = load_simulator()
sim_main = importlib.import_module(f"{sim.__name__}.__main__")
SHORT_END = date(2021, 11, 8)  # three weeks: fast, and past the 14-day bootstrap window
OFF_DAYS = {date(2021, 11, 25), date(2021, 12, 24), *(date(2022, 2, d) for d in range(18, 24))}
STATS = ("points", "fgm", "fga", "fg3m", "fg3a", "ftm", "fta", "oreb", "dreb", "reb", "ast", "stl", "blk",
         "tov", "pf")


def tree_digest(root: Path, *, skip_manifest: bool = False) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if skip_manifest and path.name == "_manifest.json":
            continue
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def read_source(raw: Path, source: str) -> dict[str, dict]:
    """{relative file name: parsed file} for one source."""
    return {f"{p.parent.name}/{p.name}": json.loads(p.read_text()) for p in sorted((raw / source).glob("*/*.json"))}


def rows(files: dict[str, dict]) -> list[dict]:
    return [dict(r, game_date=f["game_date"]) for f in files.values() for r in f["rows"]]


@pytest.fixture(scope="module")
def season(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One full default season, parsed once and shared by the tests below."""
    out = tmp_path_factory.mktemp("season")
    summary = sim.simulate_season(out)
    raw = out / "raw"
    data = {source: read_source(raw, source) for source in sim.SOURCES}
    return {"raw": raw, "summary": summary, **{s: data[s] for s in data},
            "gamebook": rows(data["nbac_gamebook"]), "schedule": rows(data["nbac_schedule"])}


# --------------------------------------------------------------------------- determinism

def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    sim.simulate_season(tmp_path / "a", seed=11, end=SHORT_END)
    sim.simulate_season(tmp_path / "b", seed=11, end=SHORT_END)
    assert tree_digest(tmp_path / "a") == tree_digest(tmp_path / "b")


def test_different_seed_gives_different_files(tmp_path: Path) -> None:
    sim.simulate_season(tmp_path / "a", seed=11, end=SHORT_END)
    sim.simulate_season(tmp_path / "b", seed=12, end=SHORT_END)
    assert tree_digest(tmp_path / "a") != tree_digest(tmp_path / "b")


def test_shorter_run_is_a_prefix_of_a_longer_run(tmp_path: Path) -> None:
    sim.simulate_season(tmp_path / "short", seed=5, end=date(2021, 10, 28))
    sim.simulate_season(tmp_path / "long", seed=5, end=SHORT_END)
    long_raw = tmp_path / "long" / "raw"
    short_files = sorted(p for p in (tmp_path / "short" / "raw").rglob("*.json") if p.name != "_manifest.json")
    assert short_files
    for path in short_files:
        relative = path.relative_to(tmp_path / "short" / "raw")
        assert path.read_bytes() == (long_raw / relative).read_bytes(), relative


def test_manifest_reuse_and_force(tmp_path: Path) -> None:
    first = sim.simulate_season(tmp_path, seed=3, end=date(2021, 10, 24))
    manifest = json.loads((tmp_path / "raw" / "_manifest.json").read_text())
    assert manifest["seed"] == 3 and manifest["synthetic"] is True
    assert manifest["summary"]["games"] == first.games > 0 and not first.reused
    stale = tmp_path / "raw" / "bigdataball_pbp" / "2021-10-19" / "stale.json"
    stale.write_text("{}")
    again = sim.simulate_season(tmp_path, seed=3, end=date(2021, 10, 24))
    assert again.reused and again.games == first.games and stale.exists()
    forced = sim.simulate_season(tmp_path, seed=3, end=date(2021, 10, 24), force=True)
    assert not forced.reused and not stale.exists()  # a rewrite leaves no file of an older run


def test_cli_prints_synthetic_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert sim_main.main(["--out", str(tmp_path), "--seed", "4", "--end", "2021-10-22"]) == 0
    line = capsys.readouterr().out.strip()
    assert "SYNTHETIC" in line and "games" in line and len(line.splitlines()) == 1
    assert sim_main.main(["--out", str(tmp_path), "--seed", "4", "--end", "2021-10-22", "--quiet", "--force"]) == 0
    # and as a program, the way the Makefile runs it
    done = subprocess.run([sys.executable, str(SIM_DIR), "--out", str(tmp_path / "p"), "--seed", "4",
                           "--end", "2021-10-20"], capture_output=True, text=True, check=True)
    assert done.stdout.startswith("SYNTHETIC data")
    assert capsys.readouterr().out == ""


# --------------------------------------------------------------------------- schedule

@pytest.mark.parametrize("seed", [1, 2, 2021, 30])
def test_schedule_constraints(seed: int) -> None:
    cal = sim.season_calendar()
    games = sim.build_schedule(sim.stream_rng(seed, "schedule"), cal)
    assert len(games) == 1230
    assert Counter(g.home for g in games) == Counter(g.away for g in games) == dict.fromkeys(sim.TEAMS, 41)
    dates: dict[str, list[date]] = defaultdict(list)
    for g in games:
        assert g.away != g.home and cal.start <= g.game_date <= cal.end
        dates[g.away].append(g.game_date)
        dates[g.home].append(g.game_date)
    assert not {g.game_date for g in games} & OFF_DAYS
    assert 160 <= len({g.game_date for g in games}) <= 170
    back_to_backs = []
    for team, days in dates.items():
        played = set(days)
        assert len(played) == len(days) == 82, team  # 82 games, never two on one day
        assert not any(d + timedelta(1) in played and d + timedelta(2) in played for d in played), team
        back_to_backs.append(sum(d + timedelta(1) in played for d in played))
    assert 13 <= sum(back_to_backs) / 30 <= 16 and min(back_to_backs) >= 9 and max(back_to_backs) <= 20


def test_full_season_files_match_schedule(season: dict) -> None:
    schedule, summary = season["schedule"], season["summary"]
    assert len(schedule) == summary.games == 1230
    per_team = Counter(r["home_team_abbr"] for r in schedule) + Counter(r["away_team_abbr"] for r in schedule)
    assert set(per_team.values()) == {82} and len(per_team) == 30
    assert all(r["game_id"] == f"{r['game_date'].replace('-', '')}_{r['away_team_abbr']}_{r['home_team_abbr']}"
               and r["game_status"] == 3 and r["is_playoffs"] is False for r in schedule)
    days = {r["game_date"] for r in schedule}
    assert summary.game_days == len(days) and max(days) == "2022-04-10" and min(days) == "2021-10-19"
    assert not days & {d.isoformat() for d in OFF_DAYS}
    for source in sim.SOURCES:  # only game dates get directories
        assert {p.name for p in (season["raw"] / source).iterdir()} <= days, source
    manifest = json.loads((season["raw"] / "_manifest.json").read_text())
    assert manifest["summary"]["files"] == sum(len(season[s]) for s in sim.SOURCES)


# --------------------------------------------------------------------------- box scores

def test_box_score_invariants(season: dict) -> None:
    team_points = []
    for name, book in season["nbac_gamebook"].items():
        boxes = season["nbac_team_boxscore"][name]["rows"]
        assert len(boxes) == 2 and boxes[0]["points"] != boxes[1]["points"], name
        for team in boxes:
            players = [r for r in book["rows"] if r["team_abbr"] == team["team_abbr"]]
            for r in players:
                assert r["points"] == 2 * (r["fgm"] - r["fg3m"]) + 3 * r["fg3m"] + r["ftm"]
                assert r["fgm"] <= r["fga"] and r["fg3m"] <= r["fg3a"] <= r["fga"] and r["ftm"] <= r["fta"]
                assert r["reb"] == r["oreb"] + r["dreb"]
                if r["player_status"] != "active":
                    assert r["minutes"] == 0 and all(r[k] == 0 for k in STATS)
            for stat in STATS:
                assert team[stat] == sum(r[stat] for r in players), (name, stat)
            assert team["minutes"] == sum(r["minutes"] for r in players) and (team["minutes"] - 240) % 25 == 0
            assert sum(r["starter"] for r in players) == 5
            margin = team["points"] - next(t["points"] for t in boxes if t is not team)
            assert sum(r["plus_minus"] for r in players) == 5 * margin
            team_points.append(team["points"])
    assert 105 <= sum(team_points) / len(team_points) <= 118
    overtime = sum(f["rows"][0]["minutes"] > 240 for f in season["nbac_team_boxscore"].values())
    assert 0.03 <= overtime / len(season["nbac_team_boxscore"]) <= 0.10


def test_shot_events_match_box_scores(season: dict) -> None:
    for name, pbp in season["bigdataball_pbp"].items():
        book = season["nbac_gamebook"][name]["rows"]
        team_of = {r["player_lookup"]: r["team_abbr"] for r in book if r["player_status"] == "active"}
        counts: Counter = Counter()
        events = pbp["rows"]
        assert [e["event_id"] for e in events] == list(range(1, len(events) + 1))
        for e in events:
            key, three = e["player_lookup"], e["shot_value"] == 3
            counts[key, "fga"] += 1
            counts[key, "fgm"] += e["made"]
            counts[key, "fg3a"] += three
            counts[key, "fg3m"] += three and e["made"]
            assert team_of[key] == e["team_abbr"]
            assert e["made"] or not e["assisted"]
            if e["blocked_by_lookup"] is not None:
                assert not e["made"] and team_of[e["blocked_by_lookup"]] != e["team_abbr"]
            assert e["shot_distance_ft"] >= 22 if three else e["shot_distance_ft"] < 23.75
        for r in book:
            for stat in ("fga", "fgm", "fg3a", "fg3m"):
                assert counts[r["player_lookup"], stat] == r[stat], (name, r["player_lookup"], stat)
        assert sum(e["blocked_by_lookup"] is not None for e in events) == sum(r["blk"] for r in book)


def test_about_three_percent_of_games_lack_pbp(season: dict) -> None:
    games = set(season["nbac_gamebook"])
    for source in ("nbac_team_boxscore", "odds_api_props"):
        assert set(season[source]) == games
    missing = games - set(season["bigdataball_pbp"])
    assert 0.01 <= len(missing) / len(games) <= 0.06
    assert len(missing) == season["summary"].missing_pbp_games


# --------------------------------------------------------------------------- players & availability

def test_players_rosters_and_ages(season: dict) -> None:
    roster_rows = rows(season["nbac_rosters"])
    players = {r["player_lookup"]: r for r in roster_rows}
    assert 440 <= len(players) == season["summary"].players <= 480
    identities = defaultdict(set)  # one lookup = one person, whatever team he is on
    for r in roster_rows:
        identities[r["player_lookup"]].add((r["player_name"], r["birth_date"], r["position"]))
    assert max(len(v) for v in identities.values()) == 1
    for r in players.values():
        assert r["player_lookup"] == sim.player_lookup(r["player_name"]) and r["player_lookup"].isalpha()
        assert r["universal_player_id"] == r["player_lookup"] + "_001"
        assert r["position"] in {"G", "F", "C", "G-F", "F-C"}
        age = (date(2021, 10, 19) - date.fromisoformat(r["birth_date"])).days / 365.25
        assert 19 <= age < 41
    per_team_day = Counter((r["game_date"], r["team_abbr"]) for r in roster_rows)
    assert min(per_team_day.values()) >= 15 and max(per_team_day.values()) <= 18
    jerseys = Counter((r["game_date"], r["team_abbr"], r["jersey_number"]) for r in roster_rows)
    assert max(jerseys.values()) == 1


def test_trades_show_in_rosters_and_gamebooks(season: dict) -> None:
    teams_by_day: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for r in rows(season["nbac_rosters"]):
        teams_by_day[r["player_lookup"]].append((r["game_date"], r["team_abbr"]))
    traded = {p: sorted(set(v)) for p, v in teams_by_day.items() if len({t for _, t in v}) > 1}
    assert 6 <= len(traded) <= 12  # 3-6 one-for-one trades
    for player, history in traded.items():
        switches = sum(a[1] != b[1] for a, b in pairwise(history))
        assert switches == 1, player  # one team, then the other from the trade date on
    gamebook_team = {(r["game_date"], r["player_lookup"]): r["team_abbr"] for r in season["gamebook"]}
    for player, history in traded.items():
        for day, team in history:
            assert gamebook_team.get((day, player), team) == team


def test_dnps_inactives_and_injury_report(season: dict) -> None:
    book = season["gamebook"]
    status = Counter(r["player_status"] for r in book)
    assert status["dnp"] > 1000 and status["inactive"] > 1000 and status["active"] > 20000
    assert {r["dnp_reason"] for r in book if r["player_status"] == "dnp"} == {"Coach's Decision"}
    assert all(r["dnp_reason"] for r in book if r["player_status"] == "inactive")
    assert all(r["dnp_reason"] is None for r in book if r["player_status"] == "active")
    by_day = {(r["game_date"], r["player_lookup"]): r for r in book}
    report = rows(season["nbac_injury_report"])
    assert {r["injury_status"] for r in report} == {"out", "doubtful", "questionable", "probable", "available"}
    for r in report:  # listed players belong to a team playing that day; "out" really sits
        played = by_day[r["game_date"], r["player_lookup"]]
        assert played["team_abbr"] == r["team_abbr"]
        if r["injury_status"] in ("out", "doubtful"):
            assert played["player_status"] == "inactive"
    # Multi-game absences: someone is out for 10+ straight team games at least a few times.
    streaks, longest = Counter(), Counter()
    for r in book:
        key = r["player_lookup"]
        streaks[key] = streaks[key] + 1 if r["player_status"] == "inactive" and "Injury" in r["dnp_reason"] else 0
        longest[key] = max(longest[key], streaks[key])
    assert sum(v >= 10 for v in longest.values()) >= 5


def test_low_sample_and_star_players_exist(season: dict) -> None:
    games, points = Counter(), Counter()
    for r in season["gamebook"]:
        if r["player_status"] == "active":
            games[r["player_lookup"]] += 1
            points[r["player_lookup"]] += r["points"]
    assert sum(n < 10 for n in games.values()) >= 10  # late signings and two-way players
    ppg = sorted((points[p] / n for p, n in games.items() if n >= 40), reverse=True)
    assert 25 <= ppg[0] <= 36 and sum(v >= 25 for v in ppg) >= 3
    assert 8 <= ppg[len(ppg) // 2] <= 15  # the typical rotation player


def test_shot_zone_profiles(season: dict) -> None:
    position = {r["player_lookup"]: r["position"] for r in rows(season["nbac_rosters"])}
    zones: dict[str, Counter] = defaultdict(Counter)
    for f in season["bigdataball_pbp"].values():
        for e in f["rows"]:
            zone = "three" if e["shot_value"] == 3 else "paint" if e["shot_distance_ft"] <= 8 else "mid"
            zones[e["player_lookup"]][zone] += 1
    primary = Counter()
    for player, c in zones.items():
        n = sum(c.values())
        if n < 100:
            continue
        paint, mid, three = (100 * c[z] / n for z in ("paint", "mid", "three"))
        if position[player] == "C":
            assert paint >= 40, player
        primary["paint" if paint >= 40 else "perimeter" if three >= 40 else "mid" if mid >= 35 else "balanced"] += 1
    assert min(primary.values()) >= 5 and len(primary) == 4  # every downstream primary zone occurs


def test_props_cover_the_rotation(season: dict) -> None:
    active = {(r["game_id"], r["player_lookup"]) for r in season["gamebook"] if r["player_status"] != "inactive"}
    per_team = Counter()
    for f in season["odds_api_props"].values():
        for r in f["rows"]:
            assert r["bookmaker"] == "synthetic_book" and r["points_line"] % 1 == 0.5
            assert (r["game_id"], r["player_lookup"]) in active
            per_team[r["game_id"], r["team_abbr"]] += 1
    assert len(per_team) == 2 * 1230 and 8 <= sum(per_team.values()) / len(per_team) <= 10
