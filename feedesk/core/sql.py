"""Lean SQL for the hot money paths (posting, payments, counters, audit).

Building a query through the ORM costs far more than running it, and a payment runs a dozen of
them. These helpers build each statement once from the models' metadata, adapt values the way
their fields do (`get_db_prep_save`: datetimes, dates, JSON) and run it on the backend's own
cursor inside Django's error translation, so transactions and `django.db.IntegrityError` work
as with the ORM. While queries are being logged (DEBUG, `CaptureQueriesContext`,
`assertNumQueries`) or execute wrappers are installed, statements go through Django's cursor so
they are seen. Model signals are not sent: use these only for models without receivers.
"""

from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, models

# Rows per INSERT, well under SQLite's and PostgreSQL's bound-parameter limits.
INSERT_BATCH = 500

# Columns whose int and str values every driver binds as they are, so preparing them is skipped.
_PLAIN_TYPES = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "SmallAutoField",
        "IntegerField",
        "BigIntegerField",
        "SmallIntegerField",
        "PositiveIntegerField",
        "PositiveBigIntegerField",
        "PositiveSmallIntegerField",
        "CharField",
        "TextField",
        "SlugField",
    }
)


def _run(sql: str, params: Sequence[Any]) -> tuple[list[Any], int]:
    """Execute one statement; return (rows it returned, rows it changed)."""
    db = connections[DEFAULT_DB_ALIAS]
    if db.queries_logged or db.execute_wrappers:
        with db.cursor() as cursor:
            cursor.execute(sql, params)
            return (cursor.fetchall() if cursor.description else []), cursor.rowcount
    db.validate_no_broken_transaction()
    if db.connection is None:
        db.ensure_connection()
    # One cursor per open connection, reused: creating and wrapping one per statement costs more
    # than most of these statements take to run.
    cached = getattr(db, "_feedesk_cursor", None)
    if cached is None or cached[0] is not db.connection:
        with db.wrap_database_errors:
            cached = (db.connection, _lean_cursor(db))
        db._feedesk_cursor = cached  # type: ignore[attr-defined]
    cursor = cached[1]
    with db.wrap_database_errors:
        cursor.execute(sql, params)
        return (cursor.fetchall() if cursor.description else []), cursor.rowcount


def _lean_cursor(db: Any) -> Any:
    """The backend's cursor; on PostgreSQL one binding parameters server-side, so that psycopg
    prepares the statements a connection runs again and again (settings: prepare_threshold):
    planning costs PostgreSQL more than running these statements."""
    if db.vendor == "postgresql":
        from django.db.backends.postgresql.base import (  # type: ignore[attr-defined]
            ServerBindingCursor,
        )

        return ServerBindingCursor(db.connection)
    return db.create_cursor()


def fetch(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Rows of a SELECT (or of a statement with RETURNING)."""
    return [tuple(row) for row in _run(sql, params)[0]]


def execute(sql: str, params: Sequence[Any]) -> int:
    """Run one statement; return the number of rows it changed."""
    return _run(sql, params)[1]


def lock_clause() -> str:
    """FOR UPDATE where the database locks rows. SQLite takes its one write lock at BEGIN IMMEDIATE."""
    return " FOR UPDATE" if connection.features.has_select_for_update else ""


def placeholders(count: int) -> str:
    return ", ".join(["%s"] * count)


def _prepared(field: Any, plain: bool, value: Any, db: Any) -> Any:
    kind = type(value)
    if value is None or (plain and (kind is int or kind is str or isinstance(value, str))):
        return value
    return field.get_db_prep_save(value, db)


def _is_plain(field: Any) -> bool:
    target = field.target_field if field.is_relation else field
    return target.get_internal_type() in _PLAIN_TYPES


@lru_cache(maxsize=64)
def _columns(
    model: type[models.Model], names: tuple[str, ...]
) -> tuple[tuple[str, ...], tuple[tuple[Any, bool], ...]]:
    """Quoted column names, and (field, plain) for each of the fields `names`."""
    fields: tuple[Any, ...] = tuple(model._meta.get_field(name) for name in names)
    quote = connection.ops.quote_name
    return tuple(quote(f.column) for f in fields), tuple((f, _is_plain(f)) for f in fields)


@lru_cache(maxsize=256)
def _insert_sql(
    model: type[models.Model], names: tuple[str, ...], rows: int, returning: tuple[str, ...]
) -> str:
    columns, _fields = _columns(model, names)
    row = f"({placeholders(len(columns))})"
    sql = (
        f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({', '.join(columns)}) "
        f"VALUES {', '.join([row] * rows)}"
    )
    if returning:
        sql += " RETURNING " + ", ".join(_columns(model, returning)[0])
    return sql


def insert_rows(
    model: type[models.Model],
    names: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    returning: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """INSERT `rows` (values in the order of field `names`); return the `returning` columns per row.

    Values are adapted by their fields, as the ORM would save them. Defaults are not filled in:
    pass every column the table needs.
    """
    names, returning = tuple(names), tuple(returning)
    db = connections[DEFAULT_DB_ALIAS]
    _quoted, fields = _columns(model, names)
    result: list[tuple[Any, ...]] = []
    # Rows of one insert often share a value (the same timestamp, say); adapt each distinct one once.
    adapted: dict[tuple[int, Any], Any] = {}

    def prepare(column: int, field: Any, plain: bool, value: Any) -> Any:
        try:
            key = (column, value)
            if key not in adapted:
                adapted[key] = _prepared(field, plain, value, db)
            return adapted[key]
        except TypeError:  # an unhashable value
            return _prepared(field, plain, value, db)

    for start in range(0, len(rows), INSERT_BATCH):
        batch = rows[start : start + INSERT_BATCH]
        params: list[Any] = []
        for row in batch:
            params.extend(
                prepare(column, field, plain, value)
                for column, ((field, plain), value) in enumerate(zip(fields, row, strict=True))
            )
        returned, _count = _run(_insert_sql(model, names, len(batch), returning), params)
        result.extend(tuple(r) for r in returned)
    return result


@lru_cache(maxsize=64)
def _saved_fields(model: type[models.Model]) -> tuple[tuple[Any, ...], tuple[str, ...], str]:
    fields = tuple(f for f in model._meta.concrete_fields if not f.primary_key)
    pk: Any = model._meta.pk
    return fields, tuple(f.attname for f in fields), pk.attname


def insert_instance(obj: models.Model) -> None:
    """INSERT a new instance built in memory and give it its primary key, as save() would
    (auto_now_add and other pre_save values included; no signals)."""
    insert_instances([obj])


def insert_instances(objs: Sequence[models.Model]) -> None:
    """`insert_instance` for several new instances of one model, in one INSERT per batch."""
    if not objs:
        return
    model = type(objs[0])
    fields, names, pk_name = _saved_fields(model)
    rows = [[f.pre_save(obj, True) for f in fields] for obj in objs]
    for obj, (pk,) in zip(objs, insert_rows(model, names, rows, returning=(pk_name,)), strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = DEFAULT_DB_ALIAS


def cache_related_list(obj: models.Model, name: str, items: list[Any]) -> None:
    """Give `obj.<name>.all()` these items without a query, the way prefetch_related does."""
    queryset = getattr(obj, name).all()
    queryset._result_cache = items
    queryset._prefetch_done = True
    obj.__dict__.setdefault("_prefetched_objects_cache", {})[name] = queryset


@lru_cache(maxsize=128)
def _update_sql(
    model: type[models.Model],
    add: tuple[tuple[str, int], ...],
    assign: tuple[tuple[str, int], ...],
    rows: int,
) -> str:
    quote = connection.ops.quote_name
    pk_field: Any = model._meta.pk
    pk_column = quote(pk_field.column)
    sets = []
    for items, additive in ((add, True), (assign, False)):
        for name, count in items:
            column = quote(_columns(model, (name,))[0][0])
            whens = " ".join([f"WHEN {pk_column} = %s THEN %s"] * count)
            otherwise = "0" if additive else column
            value = f"CASE {whens} ELSE {otherwise} END"
            sets.append(f"{column} = {column} + {value}" if additive else f"{column} = {value}")
    return (
        f"UPDATE {quote(model._meta.db_table)} SET {', '.join(sets)} "
        f"WHERE {pk_column} IN ({placeholders(rows)})"
    )


def update_by_pk_statement(
    model: type[models.Model],
    pks: Iterable[int],
    *,
    add: Mapping[str, Mapping[int, int]] | None = None,
    assign: Mapping[str, Mapping[int, Any]] | None = None,
) -> tuple[str, list[Any]] | None:
    """One UPDATE for several rows: `field += add[field][pk]`, `field = assign[field][pk]`, as
    (sql, params), or None when there is nothing to change. Rows absent from a mapping keep
    that field."""
    db = connections[DEFAULT_DB_ALIAS]
    pk_list = list(pks)
    additions = [(name, by_pk) for name, by_pk in (add or {}).items() if by_pk]
    assignments = [(name, by_pk) for name, by_pk in (assign or {}).items() if by_pk]
    if not pk_list or not (additions or assignments):
        return None
    params: list[Any] = []
    for _name, by_pk in additions:
        for pk, value in by_pk.items():
            params += [pk, value]
    for name, by_pk in assignments:
        field, plain = _columns(model, (name,))[1][0]
        for pk, value in by_pk.items():
            params += [pk, _prepared(field, plain, value, db)]
    sql = _update_sql(
        model,
        tuple((name, len(by_pk)) for name, by_pk in additions),
        tuple((name, len(by_pk)) for name, by_pk in assignments),
        len(pk_list),
    )
    return sql, [*params, *pk_list]


def update_by_pk(
    model: type[models.Model],
    pks: Iterable[int],
    *,
    add: Mapping[str, Mapping[int, int]] | None = None,
    assign: Mapping[str, Mapping[int, Any]] | None = None,
) -> int:
    """Run `update_by_pk_statement`; return the number of rows updated."""
    statement = update_by_pk_statement(model, pks, add=add, assign=assign)
    return _run(*statement)[1] if statement else 0


@lru_cache(maxsize=64)
def _init_plan(model: type[models.Model]) -> tuple[tuple[str, Any], ...]:
    return tuple((f.attname, f) for f in model._meta.concrete_fields)


def new(
    model: type[models.Model], values: Mapping[str, Any], *, related: Mapping[str, Any] | None = None
) -> Any:
    """An unsaved instance from attname values (defaults for the rest), built the way `from_db`
    builds one: positionally, skipping per-field descriptor work. `related` objects are cached
    on the instance, as passing them to the constructor would."""
    obj = model(
        *[values[name] if name in values else field.get_default() for name, field in _init_plan(model)]
    )
    for name, value in (related or {}).items():
        if value is not None:
            model._meta.get_field(name).set_cached_value(obj, value)  # type: ignore[union-attr]
    return obj


def loaded(model: type[models.Model], names: Sequence[str], values: Sequence[Any]) -> Any:
    """A model instance for a row read by raw SQL: `names` are attnames; other fields load lazily."""
    by_name = dict(zip(names, values, strict=True))
    # from_db takes the values in the model's field order.
    ordered = [f.attname for f in model._meta.concrete_fields if f.attname in by_name]
    return model.from_db(DEFAULT_DB_ALIAS, ordered, [by_name[name] for name in ordered])


@lru_cache(maxsize=64)
def _converters(
    model: type[models.Model], names: tuple[str, ...]
) -> tuple[tuple[int, tuple[Any, ...], Any], ...]:
    """(position, converters, column) for the fields among attnames `names` whose raw values the
    ORM converts on reading (dates, times and decimals on SQLite, JSON, ...)."""
    plan = []
    for index, name in enumerate(names):
        col = model._meta.get_field(name).get_col(model._meta.db_table)  # type: ignore[union-attr]
        found = tuple(connection.ops.get_db_converters(col) + col.get_db_converters(connection))
        if found:
            plan.append((index, found, col))
    return tuple(plan)


def columns(model: type[models.Model], names: Sequence[str], alias: str) -> str:
    """`alias."column", ...` for the attnames `names`, to SELECT rows that `read` turns into instances."""
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(model._meta.get_field(n).column)}" for n in names)  # type: ignore[union-attr,arg-type]


def concrete_names(model: type[models.Model]) -> tuple[str, ...]:
    """The attnames of all the model's columns, in the order `loaded` wants them."""
    return tuple(name for name, _field in _init_plan(model))


def read(model: type[models.Model], names: Sequence[str], values: Sequence[Any]) -> Any:
    """`loaded`, after converting the raw values as the ORM does when it reads them."""
    names = tuple(names)
    plan = _converters(model, names)
    if plan:
        values = list(values)
        for index, found, col in plan:
            for converter in found:
                values[index] = converter(values[index], col, connection)
    return loaded(model, names, values)
