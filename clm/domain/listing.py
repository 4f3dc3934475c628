"""A listing as the database can lay it out: the query, each column's cell as SQL text and how
to fetch the rows, described by the domain and written by clm.render.sql_table."""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import func
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Select


@dataclass(frozen=True)
class Cell:
    """A column's cell as SQL text (never NULL), and SQL true when that text is exactly what
    the plain table shows (None: always); `narrow`: exact when the text holds only characters
    one cell wide."""

    text: ColumnElement
    exact: ColumnElement | None = None
    narrow: bool = False


def text_cell(column) -> Cell:
    """Stored text, shown as it is when it holds only characters one cell wide."""
    return Cell(func.coalesce(column, ""), narrow=True)


@dataclass(frozen=True)
class SqlListing:
    """What a listing selects: `query` (FROM and WHERE, any columns), a cell per column key,
    the rows' `key` and order, at most `limit` rows; `rows_of(keys)` gives the rows of those
    keys as the listing's dicts, for `clm.render.output` to write."""

    query: Select
    cells: Mapping[str, Cell]
    key: ColumnElement
    order: Sequence[ColumnElement]
    limit: int | None
    rows_of: Callable[[list[int]], Mapping[int, dict]]

    def select(self, *columns) -> Select:
        query = self.query.with_only_columns(*columns).order_by(*self.order)
        return query if self.limit is None else query.limit(self.limit)
