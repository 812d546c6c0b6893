"""Hand-written SELECTs for the hot path of intake, turned back into model instances.

Building a queryset (filters, joins, select_related) costs several times the query itself on
a small table; intake runs a handful of such lookups on every case. The few it runs on every
request are written out here once per process, with their column lists taken from the models'
`_meta` (a new column joins them by itself), and read back through the same database
converters the ORM applies, so the instances are the ones a queryset would give.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from django.db import connection
from django.db.models import Model


@cache
def _fields(model: type[Model], exclude: frozenset[str]) -> tuple:
    return tuple(f for f in model._meta.concrete_fields if f.attname not in exclude)


def columns(model: type[Model], alias: str, exclude: Sequence[str] = ()) -> str:
    """`alias."col", ...` for the model's concrete fields (less `exclude`, by attname)."""
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(f.column)}" for f in _fields(model, frozenset(exclude)))


def table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def column(model: type[Model], name: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(name).column)


@cache
def _reader(model: type[Model], exclude: frozenset[str], vendor: str):
    fields = _fields(model, exclude)
    names = [f.attname for f in fields]
    converters = []
    for f in fields:
        col = f.get_col(model._meta.db_table)
        found = connection.ops.get_db_converters(col) + f.get_db_converters(connection)
        converters.append((found, col))
    return names, converters


def instances(
    model: type[Model], row: Sequence, start: int = 0, exclude: Sequence[str] = ()
) -> tuple[Model | None, int]:
    """The instance whose columns (as `columns` listed them) begin at `row[start]`, or None
    when its primary key is NULL (an outer join found nothing); and where the next begins."""
    names, converters = _reader(model, frozenset(exclude), connection.vendor)
    end = start + len(names)
    values = list(row[start:end])
    if values[0] is None:
        return None, end
    for i, (found, col) in enumerate(converters):
        for convert in found:
            values[i] = convert(values[i], col, connection)
    return model.from_db(connection.alias, names, values), end


def fetch(sql: str, params: Sequence) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def insert(objs: Sequence[Model]) -> None:
    """INSERT unsaved instances of one model in one statement, as `bulk_create` would, but
    without compiling a query: for rows nobody reads back in the same request (their primary
    keys stay unset). Values go through each field's `pre_save` and `get_db_prep_save`."""
    if not objs:
        return
    model = type(objs[0])
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    sql = (
        f"INSERT INTO {table(model)} "
        f"({', '.join(connection.ops.quote_name(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    rows = [[f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields] for obj in objs]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
