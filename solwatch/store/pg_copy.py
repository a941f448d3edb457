"""Bulk writes on PostgreSQL: COPY into staging tables, then set-based statements.

The import validates every row in Python as on SQLite (so every bad row is still named
FILE:LINE: column: reason), then, instead of writing batch by batch, streams the valid rows of
a file into a temporary table with COPY and applies the whole file in four statements, in the
import's own transaction: the history of every changed value (computed from the stored values
before they change, in file line order), the updates, the inserts and, for child rows, the
cases to recompute. Temporary tables are dropped at commit, and vanish with a rollback: the
import stays all-or-nothing.

History text is what the SQLite path writes: ISO dates, amounts as dollars with two
decimals, booleans as True/False.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Date, Table, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

_stages = itertools.count(1)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _as_text(table: Table, name: str, alias: str, *, amount: bool = False) -> str:
    """SQL for a stored value as history text (see importer._text / _history_text)."""
    column = f"{alias}.{_quoted(name)}"
    kind = table.c[name].type
    if amount:
        return (
            f"CASE WHEN {column} IS NULL THEN NULL ELSE "
            f"(CASE WHEN {column} < 0 THEN '-' ELSE '' END) || (abs({column}) / 100)::text || '.' "
            f"|| lpad((abs({column}) % 100)::text, 2, '0') END"
        )
    if isinstance(kind, Date):
        return f"to_char({column}, 'YYYY-MM-DD')"
    if isinstance(kind, Boolean):
        return f"CASE WHEN {column} IS NULL THEN NULL WHEN {column} THEN 'True' ELSE 'False' END"
    return f"{column}::text"


class Stage:
    """A temporary table shaped like some of `table`'s columns, plus the source line."""

    def __init__(self, connection: Connection, table: Table, columns: Sequence[str]) -> None:
        self.connection = connection
        self.table = table
        self.columns = list(columns)
        self.name = f"solwatch_stage_{table.name}_{next(_stages)}"
        dialect = connection.dialect
        definitions = ", ".join(
            f"{_quoted(c)} {table.c[c].type.compile(dialect=dialect)}" for c in self.columns
        )
        connection.exec_driver_sql(
            f"CREATE TEMPORARY TABLE {self.name} (line integer NOT NULL, {definitions}) "
            f"ON COMMIT DROP"
        )
        self.rows = 0

    def copy(self, rows: Iterable[Sequence[Any]]) -> None:
        """COPY rows of (line, *columns) into the stage."""
        import psycopg

        names = ", ".join(["line", *map(_quoted, self.columns)])
        driver = self.connection.connection.driver_connection
        try:
            with (
                driver.cursor() as cursor,  # type: ignore[union-attr]
                cursor.copy(f"COPY {self.name} ({names}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
                    self.rows += 1
        except psycopg.Error as error:
            # As SQLAlchemy reports any other driver error, so the command says it in one line.
            raise DBAPIError(f"COPY {self.name}", None, error) from None

    def analyze(self) -> None:
        """Statistics for the planner: a temporary table has none until analyzed."""
        self.connection.exec_driver_sql(f"ANALYZE {self.name}")


def _history(
    connection: Connection,
    changes: str,
    params: Mapping[str, Any],
    *,
    source: str,
    import_id: int | None,
    now: datetime,
) -> None:
    """INSERT the history rows that `changes` (a SELECT of case_id, line, ord, field,
    old_value, new_value, changed) yields, in line order, then column order: the order the
    SQLite path writes them in."""
    connection.execute(
        text(
            "INSERT INTO history (case_id, field, old_value, new_value, changed_at, import_id, "
            "source) SELECT case_id, field, old_value, new_value, :now, :import_id, "
            f":source || ':' || line FROM ({changes}) AS changes WHERE changed "
            "ORDER BY line, ord"
        ),
        {**params, "now": now, "import_id": import_id, "source": source},
    )


def fill_blanks(
    stage: Stage,
    *,
    target: str,
    keys: Sequence[str],
    defaults: Mapping[str, Any],
    blank_clears: bool,
    together: Sequence[str] = (),
) -> int:
    """Settle the blank cells of a stage (staged as NULL) as the SQLite path does: where a row
    updates a stored row (of the table `target`, the same `keys`), a blank cell keeps
    the stored value unless `blank_clears`; every other blank gets its column's default
    (`defaults`, else NULL). The columns `together` are stated as a whole: a row that gives
    one of them replaces them all. Returns how many stored values the blank cells would blank
    (stored, and neither NULL nor the default)."""
    connection, name = stage.connection, stage.name
    match = " AND ".join(f"t.{_quoted(k)} = s.{_quoted(k)}" for k in keys)
    columns = [c for c in stage.columns if c not in keys]
    if not columns:
        return 0
    params = {f"d_{i}": defaults.get(c) for i, c in enumerate(columns)}
    stated_together = " OR ".join(f"s.{_quoted(c)} IS NOT NULL" for c in together if c in columns)

    def blanks(index: int, column: str) -> str:
        stored = f"t.{_quoted(column)}"
        condition = (
            f"s.{_quoted(column)} IS NULL AND {stored} IS NOT NULL "
            f"AND {stored} IS DISTINCT FROM CAST(:d_{index} AS {_type(stage, column)})"
        )
        if column in together and stated_together:
            condition += f" AND NOT ({stated_together})"
        return condition

    counted = " + ".join(
        f"CASE WHEN {blanks(i, c)} THEN 1 ELSE 0 END" for i, c in enumerate(columns)
    )
    count = connection.execute(
        text(f"SELECT COALESCE(SUM({counted}), 0) FROM {name} s JOIN {target} t ON {match}"),
        params,
    ).scalar_one()
    if count and not blank_clears:
        sets = ", ".join(
            f"{_quoted(c)} = CASE WHEN {blanks(i, c)} THEN t.{_quoted(c)} ELSE s.{_quoted(c)} END"
            for i, c in enumerate(columns)
        )
        connection.execute(
            text(f"UPDATE {name} AS s SET {sets} FROM {target} t WHERE {match}"), params
        )
    filled = [(i, c) for i, c in enumerate(columns) if defaults.get(c) is not None]
    if filled:
        sets = ", ".join(
            f"{_quoted(c)} = COALESCE({_quoted(c)}, CAST(:d_{i} AS {_type(stage, c)}))"
            for i, c in filled
        )
        connection.execute(text(f"UPDATE {name} SET {sets}"), params)
    return int(count)


def settle_revives(stage: Stage, *, keys: Sequence[str]) -> None:
    """A staged waiver that revives and updates a stored one needs an end date: where its term
    left none, it no longer revives (as on SQLite)."""
    if "revives" not in stage.columns:
        return
    match = " AND ".join(f"t.{_quoted(k)} = s.{_quoted(k)}" for k in keys)
    expires = "s.expires_date" if "expires_date" in stage.columns else "t.expires_date"
    stage.connection.exec_driver_sql(
        f"UPDATE {stage.name} AS s SET revives = FALSE FROM {stage.table.name} t "
        f"WHERE {match} AND s.revives AND {expires} IS NULL"
    )


def _type(stage: Stage, column: str) -> str:
    return str(stage.table.c[column].type.compile(dialect=stage.connection.dialect))


def apply_cases(
    stage: Stage,
    *,
    fields: Mapping[str, str],
    open_statuses: Sequence[str],
    new_case: Mapping[str, Any],
    source: str,
    import_id: int | None,
    now: datetime,
) -> tuple[int, int]:
    """Apply a stage of case rows (keyed by case_number); `fields` maps each staged
    attribute (other than case_number) to its extract column name. Returns (new, changed)."""
    connection, table, name = stage.connection, stage.table, stage.name
    stage.analyze()
    attributes = [c for c in stage.columns if c != "case_number"]
    is_open = "s.status = ANY(:open)" if "status" in attributes else None
    differs = " OR ".join(f"c.{_quoted(a)} IS DISTINCT FROM s.{_quoted(a)}" for a in attributes)
    if attributes:
        values = ", ".join(
            f"({index}, :field_{index}, {_as_text(table, a, 'c', amount=a.endswith('_cents'))}, "
            f"{_as_text(table, a, 's', amount=a.endswith('_cents'))}, "
            f"c.{_quoted(a)} IS DISTINCT FROM s.{_quoted(a)})"
            for index, a in enumerate(attributes)
        )
        changes = (
            f"SELECT c.id AS case_id, s.line, v.ord, v.field, v.old_value, v.new_value, v.changed "
            f"FROM {name} s JOIN cases c ON c.case_number = s.case_number "
            f"CROSS JOIN LATERAL (VALUES {values}) AS v(ord, field, old_value, new_value, changed)"
        )
        _history(
            connection,
            changes,
            {f"field_{i}": fields[a] for i, a in enumerate(attributes)},
            source=source,
            import_id=import_id,
            now=now,
        )
        sets = ", ".join(f"{_quoted(a)} = s.{_quoted(a)}" for a in attributes)
        if is_open:
            sets += f", is_open = {is_open}"
        changed = connection.execute(
            text(
                f"UPDATE cases AS c SET {sets}, rules_version = NULL FROM {name} s "
                f"WHERE c.case_number = s.case_number AND ({differs})"
            ),
            {"open": list(open_statuses)},
        ).rowcount
    else:
        changed = 0
    targets, expressions, params = [], [], {"open": list(open_statuses), "import_id": import_id}
    for column in table.columns:
        if column.name == "id":
            continue
        targets.append(_quoted(column.name))
        if column.name in stage.columns:
            expressions.append(f"s.{_quoted(column.name)}")
        elif column.name == "is_open" and is_open:
            expressions.append(is_open)
        elif column.name == "created_import_id":
            expressions.append(":import_id")
        else:
            default = new_case.get(column.name, _scalar_default(column))
            params[f"d_{column.name}"] = default
            expressions.append(f":d_{column.name}")
    new = connection.execute(
        text(
            f"INSERT INTO cases ({', '.join(targets)}) SELECT {', '.join(expressions)} "
            f"FROM {name} s WHERE NOT EXISTS "
            f"(SELECT 1 FROM cases c WHERE c.case_number = s.case_number) ORDER BY s.line"
        ),
        params,
    ).rowcount
    return new, changed


def _scalar_default(column: Any) -> Any:
    default = column.default
    return default.arg if default is not None and default.is_scalar else None


def apply_children(
    stage: Stage,
    *,
    keys: Sequence[str],
    kind: str,
    label: str,
    columns: Sequence[str],
    defaults: Mapping[str, Any],
    source: str,
    import_id: int | None,
    now: datetime,
) -> tuple[int, int]:
    """Apply a stage of child rows (case_id, keys, other staged columns) to their table:
    `columns` are the table's writable columns, `defaults` what an unstaged one gets.
    Returns (new, changed)."""
    connection, table, name = stage.connection, stage.table, stage.name
    stage.analyze()
    match = " AND ".join(f"t.{_quoted(k)} = s.{_quoted(k)}" for k in ("case_id", *keys))
    others = [c for c in stage.columns if c not in ("case_id", *keys)]
    differs = " OR ".join(f"t.{_quoted(c)} IS DISTINCT FROM s.{_quoted(c)}" for c in others)
    described = " || ' ' || ".join(_as_text(table, k, "s") for k in keys)
    described = f":label || ' ' || {described}"
    params: dict[str, Any] = {"label": label, "kind": kind, "import_id": import_id}
    added = (
        f"SELECT s.case_id, s.line, 0 AS ord, CAST(:kind AS text) AS field, "
        f"CAST(NULL AS text) AS old_value, 'added ' || {described} AS new_value, TRUE AS changed "
        f"FROM {name} s JOIN cases c ON c.id = s.case_id "
        f"WHERE c.created_import_id IS DISTINCT FROM :import_id "
        f"AND NOT EXISTS (SELECT 1 FROM {table.name} t WHERE {match})"
    )
    parts = [added]
    if others:
        values = ", ".join(
            f"({index + 1}, {described} || ': ' || :col_{index}, {_as_text(table, c, 't')}, "
            f"{_as_text(table, c, 's')}, t.{_quoted(c)} IS DISTINCT FROM s.{_quoted(c)})"
            for index, c in enumerate(others)
        )
        params.update({f"col_{i}": c for i, c in enumerate(others)})
        parts.append(
            f"SELECT s.case_id, s.line, v.ord, v.field, v.old_value, v.new_value, v.changed "
            f"FROM {name} s JOIN {table.name} t ON {match} "
            f"CROSS JOIN LATERAL (VALUES {values}) AS v(ord, field, old_value, new_value, changed)"
        )
    _history(
        connection, " UNION ALL ".join(parts), params, source=source, import_id=import_id, now=now
    )
    # Cases whose rows are added (to a case that was already stored) or changed: recompute.
    touched = (
        f"SELECT s.case_id FROM {name} s JOIN cases c ON c.id = s.case_id "
        f"WHERE c.created_import_id IS DISTINCT FROM :import_id "
        f"AND NOT EXISTS (SELECT 1 FROM {table.name} t WHERE {match})"
    )
    if others:
        touched += (
            f" UNION SELECT s.case_id FROM {name} s JOIN {table.name} t ON {match} WHERE {differs}"
        )
    connection.execute(
        text(f"UPDATE cases SET rules_version = NULL WHERE id IN ({touched})"),
        {"import_id": import_id},
    )
    changed = 0
    if others:
        sets = ", ".join(f"{_quoted(c)} = s.{_quoted(c)}" for c in others)
        changed = connection.execute(
            text(f"UPDATE {table.name} AS t SET {sets} FROM {name} s WHERE {match} AND ({differs})")
        ).rowcount
    targets, expressions, values_params = ["case_id"], ["s.case_id"], {}
    for column in columns:
        targets.append(_quoted(column))
        if column in stage.columns:
            expressions.append(f"s.{_quoted(column)}")
        else:
            values_params[f"d_{column}"] = defaults.get(column)
            expressions.append(f":d_{column}")
    new = connection.execute(
        text(
            f"INSERT INTO {table.name} ({', '.join(targets)}) SELECT {', '.join(expressions)} "
            f"FROM {name} s WHERE NOT EXISTS (SELECT 1 FROM {table.name} t WHERE {match}) "
            f"ORDER BY s.line"
        ),
        values_params,
    ).rowcount
    return new, changed


def update_by_id(
    connection: Connection, table: Table, names: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """UPDATE `table` from rows of (id, *names): COPY into a stage, one UPDATE ... FROM."""
    stage = Stage(connection, table, ["id", *names])
    stage.copy((0, *row) for row in rows)
    sets = ", ".join(f"{_quoted(n)} = s.{_quoted(n)}" for n in names)
    connection.exec_driver_sql(
        f"UPDATE {table.name} AS t SET {sets} FROM {stage.name} s WHERE t.id = s.id"
    )
    connection.exec_driver_sql(f"DROP TABLE {stage.name}")
