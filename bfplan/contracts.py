"""Data contracts: what every row a processor writes must satisfy, declared once next to it.

A :class:`Contract` holds

* ``unique_key`` — no two rows of a partition share these columns;
* ``columns`` — per column, :class:`ColumnRules`: ``not_null``, ``range: [lo, hi]`` (either
  bound may be None; NaN is outside every range), ``accepted`` values, ``finite`` (no NaN, no
  infinity);
* ``rows_match`` — :class:`RowsMatch`, row-count reconciliation against an input table: per
  date, the output's rows and the input's distinct keys may differ by at most ``tolerance``
  (a share of the input's keys); the keys on one side only are named;
* ``on_violation`` — ``fail`` (the node fails, naming the offending keys and values; nothing
  is written) or ``quarantine`` (the offending rows move to the ledger's quarantine table with
  the rule that caught them; the rest commits). A ``rows_match`` violation always fails: a row
  that is missing cannot be set aside.

A processor declares one in Python (``Processor.contract``); a plan may add to it or tighten it
per processor (``contract:`` in the processor's entry: its keys replace the processor's, its
``columns`` are merged column by column). The checks run set-based inside the node's write
transaction, before commit (:mod:`bfplan.run.contract_check`); what they catch is kept in
``bfplan.quarantine``, whichever way it goes. This module is the model: no SQL, no I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

#: what a contract's column names must look like (they are quoted into the checks' SQL)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$")
ON_VIOLATION = ("fail", "quarantine")
#: the keys of a contract, of a column's rules and of ``rows_match``
CONTRACT_KEYS = ("unique_key", "columns", "rows_match", "on_violation")
COLUMN_KEYS = ("not_null", "range", "accepted", "finite")
ROWS_MATCH_KEYS = ("input", "key", "tolerance", "date_column", "where")
#: the most ``accepted`` values a rule may list (they are bound as one array parameter)
MAX_ACCEPTED = 10_000

Scalar = str | int | float | bool
_KIND = {str: "text", bool: "bool", int: "number", float: "number"}


class ContractError(ValueError):
    """A contract that cannot be checked; ``path`` says where in it (``columns.x.range``)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


@dataclass(frozen=True)
class ColumnRules:
    """The rules of one column; a NULL value breaks only ``not_null``."""

    not_null: bool = False
    range: tuple[float | None, float | None] | None = None
    accepted: tuple[Scalar, ...] | None = None
    finite: bool = False

    def names(self) -> list[str]:
        """The rules set, in a fixed order (the order the checks report them in)."""
        return [name for name, on in (("not_null", self.not_null), ("range", self.range is not None),
                                      ("accepted", self.accepted is not None), ("finite", self.finite)) if on]


@dataclass(frozen=True)
class RowsMatch:
    """Per date, the output has as many rows as ``input`` has distinct ``key`` values.

    ``date_column``: the input's date column (default: the output's partition column).
    ``where``: an SQL predicate over the input choosing the rows that count — plugin code
    only, never a plan (a plan's text is never pasted into SQL).
    """

    input: str
    key: tuple[str, ...]
    tolerance: float = 0.0
    date_column: str | None = None
    where: str | None = None


@dataclass(frozen=True)
class Contract:
    """What every row a processor writes must satisfy (see the module's docs)."""

    unique_key: tuple[str, ...] = ()
    columns: Mapping[str, ColumnRules] = field(default_factory=dict)
    rows_match: RowsMatch | None = None
    #: ``fail`` or ``quarantine``; None: not said (a plan's contract then keeps the processor's), ``fail``
    on_violation: str | None = None

    def __post_init__(self) -> None:
        _check_contract(self)

    @classmethod
    def of(cls, value: Contract | Mapping[str, Any] | None, *, allow_sql: bool = True) -> Contract | None:
        """A contract from itself or its mapping form (what a plan writes); ``allow_sql=False``
        refuses ``rows_match.where`` (a plan's contract)."""
        if value is None or isinstance(value, Contract):
            return value
        return from_mapping(value, allow_sql=allow_sql)

    @property
    def empty(self) -> bool:
        return not (self.unique_key or self.columns or self.rows_match)

    def over(self, base: Contract | None) -> Contract:
        """This contract (a plan's) laid over ``base`` (the processor's): keys given here win,
        ``columns`` merge column by column."""
        if base is None:
            return self
        return replace(
            base,
            unique_key=self.unique_key or base.unique_key,
            columns={**base.columns, **self.columns},
            rows_match=self.rows_match or base.rows_match,
            on_violation=self.on_violation or base.on_violation,
        )

    @property
    def quarantines(self) -> bool:
        """Whether a violation sets the offending rows aside (else it fails the node)."""
        return self.on_violation == "quarantine"

    def describe(self) -> str:
        """One line: what is checked and what a violation does."""
        parts = []
        if self.unique_key:
            parts.append(f"unique ({', '.join(self.unique_key)})")
        for col, rules in sorted(self.columns.items()):
            parts.append(f"{col}: {', '.join(rules.names())}")
        if self.rows_match:
            m = self.rows_match
            parts.append(f"rows match {m.input} ({', '.join(m.key)}) within {m.tolerance:.1%}")
        return "; ".join(parts) + f"; on violation: {self.on_violation or 'fail'}"


def _number(value: Any, path: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ContractError(path, f"must be a finite number or null, not {value!r}")
    return float(value)


def _identifiers(value: Any, path: str, *, what: str = "column") -> tuple[str, ...]:
    items = (value,) if isinstance(value, str) else value
    if not isinstance(items, Sequence) or isinstance(items, str) or not items:
        raise ContractError(path, f"must be a {what} name or a non-empty list of them")
    for item in items:
        if not isinstance(item, str) or not _IDENTIFIER.fullmatch(item):
            raise ContractError(path, f"{item!r} is not a valid {what} name (letters, digits, _)")
    if len(set(items)) != len(items):
        raise ContractError(path, "lists a column twice")
    return tuple(items)


def column_rules(value: ColumnRules | Mapping[str, Any], path: str = "") -> ColumnRules:
    """A column's rules from their mapping form, checked."""
    if isinstance(value, ColumnRules):
        rules = value
    else:
        if not isinstance(value, Mapping):
            raise ContractError(path, f"must be a mapping of rules ({', '.join(COLUMN_KEYS)})")
        unknown = sorted(set(value) - set(COLUMN_KEYS))
        if unknown:
            raise ContractError(f"{path}.{unknown[0]}".strip("."), f"unknown rule (rules: {', '.join(COLUMN_KEYS)})")
        bounds = value.get("range")
        if bounds is not None:
            if not isinstance(bounds, Sequence) or isinstance(bounds, str) or len(bounds) != 2:
                raise ContractError(f"{path}.range", "must be [lo, hi] (null for an open end)")
            bounds = (_number(bounds[0], f"{path}.range[0]"), _number(bounds[1], f"{path}.range[1]"))
        accepted = value.get("accepted")
        if accepted is not None:
            if not isinstance(accepted, Sequence) or isinstance(accepted, str):
                raise ContractError(f"{path}.accepted", "must be a list of values")
            accepted = tuple(accepted)
        rules = ColumnRules(not_null=value.get("not_null", False), range=bounds, accepted=accepted,
                            finite=value.get("finite", False))
    for flag in ("not_null", "finite"):
        if not isinstance(getattr(rules, flag), bool):
            raise ContractError(f"{path}.{flag}", "must be true or false")
    if rules.range is not None:
        lo, hi = (_number(b, f"{path}.range") for b in rules.range)
        if lo is None and hi is None:
            raise ContractError(f"{path}.range", "needs at least one bound")
        if lo is not None and hi is not None and lo > hi:
            raise ContractError(f"{path}.range", f"lower bound {lo:g} is above upper bound {hi:g}")
    if rules.accepted is not None:
        values = rules.accepted
        if not values or len(values) > MAX_ACCEPTED:
            raise ContractError(f"{path}.accepted", f"must list 1 to {MAX_ACCEPTED:,} values")
        kinds = {_KIND.get(type(v)) for v in values}
        if None in kinds or len(kinds) > 1:
            raise ContractError(f"{path}.accepted", "values must all be text, all numbers, or all true/false")
    if not rules.names():
        raise ContractError(path, "sets no rule")
    return rules


def rows_match(value: RowsMatch | Mapping[str, Any], path: str = "rows_match", *, allow_sql: bool = True) -> RowsMatch:
    """A ``rows_match`` from its mapping form, checked."""
    if isinstance(value, Mapping):
        unknown = sorted(set(value) - set(ROWS_MATCH_KEYS))
        if unknown:
            raise ContractError(f"{path}.{unknown[0]}", f"unknown key (keys: {', '.join(ROWS_MATCH_KEYS)})")
        if "input" not in value or "key" not in value:
            raise ContractError(path, "needs input and key")
        value = RowsMatch(input=value["input"], key=_identifiers(value["key"], f"{path}.key"),
                          tolerance=value.get("tolerance", 0.0), date_column=value.get("date_column"),
                          where=value.get("where"))
    if not isinstance(value, RowsMatch):
        raise ContractError(path, "must be a mapping (input, key, tolerance, date_column)")
    if not isinstance(value.input, str) or not _TABLE.fullmatch(value.input):
        raise ContractError(f"{path}.input", f"{value.input!r} is not a table name (dataset.table)")
    _identifiers(value.key, f"{path}.key")
    tolerance = value.tolerance
    if isinstance(tolerance, bool) or not isinstance(tolerance, int | float) or not 0 <= tolerance <= 1:
        raise ContractError(f"{path}.tolerance", f"must be a share between 0 and 1, not {tolerance!r}")
    if value.date_column is not None:
        _identifiers(value.date_column, f"{path}.date_column")
    if value.where is not None:
        if not allow_sql:
            raise ContractError(f"{path}.where", "SQL in a plan is not allowed here: declare it in the processor")
        if not isinstance(value.where, str) or not value.where.strip():
            raise ContractError(f"{path}.where", "must be an SQL predicate")
    return value


def _check_contract(contract: Contract) -> None:
    if contract.unique_key:
        _identifiers(contract.unique_key, "unique_key")
    if contract.on_violation is not None and contract.on_violation not in ON_VIOLATION:
        raise ContractError("on_violation", f"must be one of {', '.join(ON_VIOLATION)}, not {contract.on_violation!r}")
    columns = {}
    for col, rules in dict(contract.columns).items():
        if not isinstance(col, str) or not _IDENTIFIER.fullmatch(col):
            raise ContractError("columns", f"{col!r} is not a valid column name (letters, digits, _)")
        columns[col] = column_rules(rules, f"columns.{col}")
    object.__setattr__(contract, "columns", columns)
    object.__setattr__(contract, "unique_key", tuple(contract.unique_key))
    if contract.rows_match is not None:
        object.__setattr__(contract, "rows_match", rows_match(contract.rows_match))


def from_mapping(data: Mapping[str, Any], *, allow_sql: bool = True) -> Contract:
    """A contract from its mapping form (what a plan writes under ``contract:``), checked;
    raises :class:`ContractError` naming the first key that is wrong."""
    if not isinstance(data, Mapping):
        raise ContractError("", f"must be a mapping ({', '.join(CONTRACT_KEYS)})")
    unknown = sorted(set(data) - set(CONTRACT_KEYS))
    if unknown:
        raise ContractError(unknown[0], f"unknown key (keys: {', '.join(CONTRACT_KEYS)})")
    columns = data.get("columns") or {}
    if not isinstance(columns, Mapping):
        raise ContractError("columns", "must map column names to their rules")
    match = data.get("rows_match")
    contract = Contract(
        unique_key=_identifiers(data["unique_key"], "unique_key") if data.get("unique_key") else (),
        columns={col: column_rules(rules, f"columns.{col}") for col, rules in columns.items()},
        rows_match=rows_match(match, allow_sql=allow_sql) if match is not None else None,
        on_violation=data.get("on_violation"),
    )
    return contract


def effective(processor_contract: Contract | None, plan_contract: Contract | None) -> Contract | None:
    """The contract a node enforces: the plan's laid over the processor's (None: nothing to check)."""
    contract = plan_contract.over(processor_contract) if plan_contract else processor_contract
    return None if contract is None or contract.empty else contract
