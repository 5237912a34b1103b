"""Phase 3 · the player name registry: every name a source shows, resolved to a rostered player.

The rosters (``nba_raw.nbac_rosters``) are the truth. A source that spells a player differently
(``bennettmcallisterjr`` for ``bennettmcallister``, a dropped letter) resolves through the curated
alias list shipped with the plugin, ``aliases.csv`` (``alias,player_lookup,note``; ``#`` starts a
comment line), or becomes a ``REGISTRY_LOOKUP_FAILED`` failure naming the source, the game, the
team and the team's closest roster name. PGS reads the registry: a gamebook name that does not
resolve is a failure there too, not a stray row (``sql/analytics/pgs.sql``).

The alias list is read when the processor runs and bound as a query parameter
(``@registry_aliases``, ``'alias|player_lookup'`` strings), not loaded into a table of its own:
it is a short curated file that ships with the code and has no dates; the fix for a failure is
to add a line and run the registry (and PGS) again, with no load step in between. The file is
also this processor's ``source_files`` for every date, so the run records its hash with each
partition: editing it leaves every registry partition stale (``gaps`` says so, ``run --stale``
rebuilds them). A plan may point the ``aliases`` param at another file (relative to the plan).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from bfplan.processors import SqlProcessor

from .failures import FAILURE_CONTRACT

ALIASES = Path(__file__).parent / "aliases.csv"
SQL = Path(__file__).parent / "sql" / "analytics" / "registry.sql"
REGISTRY = "nba_analytics.player_registry"
COLUMNS = ("alias", "player_lookup", "note")


def aliases_path(params: Mapping[str, Any]) -> Path:
    """The alias list: the ``aliases`` param (relative to the plan's directory) or the shipped one."""
    value = params.get("aliases")
    if not value:
        return ALIASES
    path = Path(str(value))
    return path if path.is_absolute() else Path(str(params.get("plan_dir", "."))) / path


def read_aliases(path: Path) -> dict[str, str]:
    """alias → player_lookup from an alias list; a malformed line is an error naming it."""
    out: dict[str, str] = {}
    with path.open(encoding="utf-8", newline="") as f:
        lines = [line for line in f if line.strip() and not line.lstrip().startswith("#")]
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None or tuple(h.strip() for h in header[:2]) != COLUMNS[:2]:
        raise ValueError(f"{path}: the first line must be the header {','.join(COLUMNS)}")
    for n, row in enumerate(reader, start=2):
        alias, lookup = [*row, "", ""][:2]
        alias, lookup = alias.strip(), lookup.strip()
        if not alias or not lookup or "|" in alias or "|" in lookup or alias == lookup:
            raise ValueError(f"{path}: alias line {n} {row!r}: needs two different names without '|'")
        if out.get(alias, lookup) != lookup:
            raise ValueError(f"{path}: alias {alias!r} maps to both {out[alias]!r} and {lookup!r}")
        out[alias] = lookup
    return out


@dataclass(frozen=True)
class RegistryProcessor(SqlProcessor):
    """The registry's SQL, with the alias list bound as ``@registry_aliases``."""

    def bound_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        names = read_aliases(aliases_path(params))
        return {"registry_aliases": [f"{a}|{p}" for a, p in sorted(names.items())]}

    def source_files(self, params: Mapping[str, Any], day: date) -> Sequence[Path]:
        path = aliases_path(params)
        return [path] if path.exists() else []


def registry_processor(*, gamebook: str, props: str, injuries: str, rosters: str, schedule: str,
                       failures_table: str) -> RegistryProcessor:
    return RegistryProcessor(
        name="registry",
        table=REGISTRY,
        partition_column="game_date",
        inputs=(gamebook, props, injuries, rosters, schedule),
        entity_key=("source_lookup",),
        expected_entities_sql=f"""
SELECT DISTINCT game_date AS partition_date, CAST(player_lookup AS STRING) AS entity_id
FROM (
  SELECT game_date, player_lookup FROM {gamebook} WHERE game_date IN UNNEST(@dates)
  UNION ALL SELECT game_date, player_lookup FROM {props} WHERE game_date IN UNNEST(@dates)
  UNION ALL SELECT game_date, player_lookup FROM {injuries} WHERE game_date IN UNNEST(@dates)
) AS names
WHERE player_lookup IS NOT NULL
""".strip(),
        failures_table=failures_table,
        **FAILURE_CONTRACT,
        lookback_days=0,
        clustering=("player_lookup", "team_abbr"),
        contract={"unique_key": ["game_date", "source", "team_abbr", "source_lookup"],
                  "columns": {"player_lookup": {"not_null": True},
                              "resolved_via": {"accepted": ["roster", "alias"]}}},
        description="Phase 3: every player name of the day's gamebook, props and injury report, resolved "
                    "against the rosters and the alias list",
        sql_path=SQL,
    )
