"""The stored events as SQL: for a projection a rebuild applies by statements over the
events table (``Projection.apply_stored``) instead of decoding every event in Python.

Only what is stored in the clear can be read this way: the columns, and the fields of an
event's JSON state that are not a client's sealed personal data (store/personal.py).
The expressions give what a handler would see: ids as hyphenated text, a JSON field as
text. Both engines: SQLite keeps the state as a JSON blob (read as text, ``json_extract``);
PostgreSQL as bytea (``convert_from(...)::jsonb``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from eventsourcing.utils import get_topic

ALIAS = "e"  # the events table's alias in every statement built here


@dataclass(frozen=True, slots=True)
class StoredEvents:
    """The events table of one store (``table``: its name as SQL), read by one rebuild:
    every tenant's events, or one tenant's (``tenant_id``)."""

    dialect: str
    table: str
    tenant_id: str | None = None

    def id_text(self, column: str) -> str:
        """A UUID column as hyphenated text (SQLite holds ``originator_id`` as 32 hex digits)."""
        c = f"{ALIAS}.{column}"
        if self.dialect == "postgresql":
            return f"{c}::text"
        return (
            f"(CASE WHEN length({c}) = 32 THEN lower(substr({c}, 1, 8) || '-' || substr({c}, 9, 4) || '-' || "
            f"substr({c}, 13, 4) || '-' || substr({c}, 17, 4) || '-' || substr({c}, 21)) ELSE {c} END)"
        )

    def field(self, *path: str) -> str:
        """The text of a field of the event's state (``NULL`` when absent or null)."""
        if self.dialect == "postgresql":
            inner = "".join(f"->'{p}'" for p in path[:-1])
            return f"(convert_from({ALIAS}.state, 'UTF8')::jsonb{inner}->>'{path[-1]}')"
        return f"json_extract(CAST({ALIAS}.state AS TEXT), '$.{'.'.join(path)}')"

    def elements(self, *path: str) -> str:
        """A table function of the elements of an array field, one row each, to join after
        the events table: ``x.value`` (an element's text), ``self.place`` its place."""
        if self.dialect == "postgresql":
            inner = "".join(f"->'{p}'" for p in path)
            return (f"jsonb_array_elements_text(convert_from({ALIAS}.state, 'UTF8')::jsonb{inner}) "
                    "WITH ORDINALITY AS x(value, ord)")
        return f"json_each(CAST({ALIAS}.state AS TEXT), '$.{'.'.join(path)}') AS x"

    def text_elements(self, column: str) -> str:
        """``elements`` of a JSON list held as text in a column of a projection's table."""
        if self.dialect == "postgresql":
            return f"jsonb_array_elements_text({column}::jsonb) AS x(value)"
        return f"json_each({column}) AS x"

    @property
    def place(self) -> str:
        """An element's place in its array (``elements``)."""
        return "x.ord" if self.dialect == "postgresql" else "x.key"

    def distinct_list(self, *path: str) -> str:
        """An array field's distinct texts, first seen first, as one JSON list written as
        orjson writes a list of strings (no spaces; UUID texts need no escaping); ``NULL``
        or ``'[]'`` when empty."""
        if self.dialect == "postgresql":
            return (f"(SELECT '[' || string_agg('\"' || value || '\"', ',' ORDER BY ord) || ']' "
                    f"FROM (SELECT x.value, MIN(x.ord) AS ord FROM {self.elements(*path)} GROUP BY x.value) AS d)")
        return (f"(SELECT json_group_array(value) FROM (SELECT x.value AS value FROM {self.elements(*path)} "
                "GROUP BY x.value ORDER BY MIN(x.key)))")

    def where(self, events: Collection[type[Any]], after: int, last: int) -> tuple[str, list[Any]]:
        """The events of these classes after notification ``after`` up to ``last`` (and of
        the tenant): a ``WHERE`` clause over ``e`` and its parameters."""
        topics = sorted(get_topic(cls) for cls in events)
        sql = (f"WHERE {ALIAS}.notification_id > ? AND {ALIAS}.notification_id <= ? "
               f"AND {ALIAS}.topic IN ({', '.join('?' * len(topics))})")
        params: list[Any] = [after, last, *topics]
        if self.tenant_id is not None:
            sql += f" AND {ALIAS}.tenant_id = ?" + ("::uuid" if self.dialect == "postgresql" else "")
            params.append(self.tenant_id)
        return sql, params

    def topic(self, event: type[Any]) -> tuple[str, Sequence[Any]]:
        """A condition that the event is of this class, and its parameter."""
        return f"{ALIAS}.topic = ?", [get_topic(event)]
