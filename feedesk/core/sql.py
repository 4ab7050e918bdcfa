"""Lean SQL for the hot money paths (posting, payments, counters, audit).

Building a query through the ORM costs far more than running it, and a payment runs a dozen of
them. These helpers build each statement once from the models' metadata, adapt values the way
their fields do (`get_db_prep_save`: datetimes, dates, JSON) and run it on the backend's own
cursor inside Django's error translation, so transactions and `django.db.IntegrityError` work
as with the ORM. While queries are being logged (DEBUG, `CaptureQueriesContext`,
`assertNumQueries`) or execute wrappers are installed, statements go through Django's cursor so
they are seen. Model signals are not sent: use these only for models without receivers.
"""

import re
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init
from psycopg import RawCursor
from psycopg.pq import ExecStatus

# A statement and its parameters, for a caller that runs it later or inside a larger statement.
Statement = tuple[str, list[Any]]

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


def _run(sql: str, params: Sequence[Any], *, many: bool = False) -> tuple[list[Any], int]:
    """Execute one statement (`many`: once for each of the rows `params`); return (rows it
    returned, rows it changed)."""
    db = connections[DEFAULT_DB_ALIAS]
    if db.queries_logged or db.execute_wrappers:
        with db.cursor() as logged:
            (logged.executemany if many else logged.execute)(sql, params)
            return (logged.fetchall() if logged.description else []), logged.rowcount
    cursor, qmark = _cursor(db)
    with db.wrap_database_errors:
        if qmark:
            # What Django's SQLite cursor does, with its %s → ? rewrite (a regex over the whole
            # statement, hundreds of placeholders for a multi-row INSERT) done once per statement.
            run = sqlite3.Cursor.executemany if many else sqlite3.Cursor.execute
            run(cursor, _native(sql, cursor.convert_query), params)
        elif isinstance(cursor, RawCursor):
            # The same on PostgreSQL, to $1, $2, ...: psycopg would parse each statement again
            # when it is long or has over 50 parameters (a posting with its payment's rows).
            (cursor.executemany if many else cursor.execute)(_native(sql, _numbered), params)
        else:
            (cursor.executemany if many else cursor.execute)(sql, params)
        return (cursor.fetchall() if _returned_rows(cursor) else []), cursor.rowcount


def _returned_rows(cursor: Any) -> bool:
    """Whether the statement just run returned rows. psycopg builds `description` (an object per
    column, its type looked up) on every access, which costs more than a short statement's
    rows: its result's status says the same."""
    result = getattr(cursor, "pgresult", None)
    if result is not None:
        return bool(result.status == ExecStatus.TUPLES_OK)
    return cursor.description is not None


def _cursor(db: Any) -> tuple[Any, bool]:
    """The backend cursor of the open connection, and whether it is Django's SQLite cursor
    (which rewrites placeholders). One per connection, reused: creating and wrapping one per
    statement costs more than most of these statements take to run."""
    db.validate_no_broken_transaction()
    if db.connection is None:
        db.ensure_connection()
    cached = getattr(db, "_feedesk_cursor", None)
    if cached is None or cached[0] is not db.connection:
        with db.wrap_database_errors:
            cursor = _lean_cursor(db)
        qmark = isinstance(cursor, sqlite3.Cursor) and callable(getattr(cursor, "convert_query", None))
        cached = (db.connection, cursor, qmark)
        db._feedesk_cursor = cached
    return cached[1], cached[2]


# The database's own form of each statement run here, by Django's form.
_native_queries: dict[str, str] = {}


def _native(sql: str, convert: Callable[[str], str]) -> str:
    query = _native_queries.get(sql)
    if query is None:
        if len(_native_queries) >= 1024:
            _native_queries.clear()
        query = _native_queries[sql] = convert(sql)
    return query


_PLACEHOLDER = re.compile(r"%([s%])")


def _numbered(sql: str) -> str:
    """%s placeholders as PostgreSQL's $1, $2, ... (and %% as %), as psycopg rewrites them."""
    numbers = iter(range(1, sql.count("%s") + 1))
    return _PLACEHOLDER.sub(lambda m: "%" if m.group(1) == "%" else f"${next(numbers)}", sql)


def _lean_cursor(db: Any) -> Any:
    """The backend's cursor; on PostgreSQL one binding parameters server-side, so that psycopg
    prepares the statements a connection runs again and again (settings: prepare_threshold):
    planning costs PostgreSQL more than running these statements. It takes PostgreSQL's own
    placeholders ($1, ...), into which each statement is rewritten once (_numbered)."""
    if db.vendor == "postgresql":
        return RawCursor(db.connection)
    return db.create_cursor()


def fetch(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Rows of a SELECT (or of a statement with RETURNING)."""
    return [tuple(row) for row in _run(sql, params)[0]]


def execute(sql: str, params: Sequence[Any]) -> int:
    """Run one statement; return the number of rows it changed."""
    return _run(sql, params)[1]


def execute_many(sql: str, rows: Sequence[Sequence[Any]]) -> int:
    """Run one statement once for each of `rows` (values passed as they are: no field adapting);
    return the number of rows changed."""
    return _run(sql, rows, many=True)[1]


def execute_together(statements: Sequence[Statement]) -> None:
    """Run writes that do not read one another's rows (inserts, updates of distinct rows), in
    order: on PostgreSQL in one round trip, as one statement of data-modifying WITH queries,
    each of which PostgreSQL runs exactly once; elsewhere one after another."""
    if connection.vendor != "postgresql" or len(statements) == 1:
        for statement, params in statements:
            _run(statement, params)
        return
    if statements:
        ctes = ", ".join(f"w{n} AS ({statement})" for n, (statement, _params) in enumerate(statements))
        _run(f"WITH {ctes} SELECT 1", [param for _statement, params in statements for param in params])


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


def insert_statement(
    model: type[models.Model],
    names: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    returning: Sequence[str] = (),
) -> Statement:
    """One INSERT of `rows` (at most INSERT_BATCH) as (sql, params), for a caller that runs it
    inside a larger statement; values adapted as `insert_rows` does."""
    [(statement, params)] = _insert_batches(model, tuple(names), rows, tuple(returning))
    return statement, params


def _insert_batches(
    model: type[models.Model],
    names: tuple[str, ...],
    rows: Sequence[Sequence[Any]],
    returning: tuple[str, ...],
) -> list[Statement]:
    db = connections[DEFAULT_DB_ALIAS]
    _quoted, fields = _columns(model, names)
    # Rows of one insert often share a value (the same timestamp, say): each column adapts each
    # distinct value once.
    adapted: list[dict[Any, Any]] = [{} for _field in fields]
    columns = list(zip(fields, adapted, strict=True))
    statements: list[Statement] = []
    for start in range(0, len(rows), INSERT_BATCH):
        batch = rows[start : start + INSERT_BATCH]
        params: list[Any] = []
        add = params.append
        for row in batch:
            for value, ((field, plain), memo) in zip(row, columns, strict=True):
                if value is None or (plain and (type(value) is int or isinstance(value, str))):
                    add(value)
                    continue
                try:
                    prepared = memo[value]
                except KeyError:
                    prepared = memo[value] = _prepared(field, plain, value, db)
                except TypeError:  # an unhashable value
                    prepared = _prepared(field, plain, value, db)
                add(prepared)
        statements.append((_insert_sql(model, names, len(batch), returning), params))
    return statements


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
    result: list[tuple[Any, ...]] = []
    for statement, params in _insert_batches(model, tuple(names), rows, tuple(returning)):
        returned, _count = _run(statement, params)
        result.extend(tuple(r) for r in returned)
    return result


def prepared_row(model: type[models.Model], names: Sequence[str], values: Sequence[Any]) -> list[Any]:
    """`values` of the fields `names` adapted as `insert_rows` adapts them, for a statement of the
    caller's own (an INSERT … ON CONFLICT, say)."""
    db = connections[DEFAULT_DB_ALIAS]
    _quoted, fields = _columns(model, tuple(names))
    return [_prepared(field, plain, value, db) for value, (field, plain) in zip(values, fields, strict=True)]


@lru_cache(maxsize=64)
def _saved_fields(model: type[models.Model]) -> tuple[tuple[Any, ...], tuple[str, ...], str]:
    fields = tuple(f for f in model._meta.concrete_fields if not f.primary_key)
    pk: Any = model._meta.pk
    return fields, tuple(f.attname for f in fields), pk.attname


def reserve_ids_column(model: type[models.Model]) -> str:
    """A column for a one-row SELECT or RETURNING that reserves `%s` primary keys of `model` for
    rows this transaction will insert with them (`reserved_ids` reads it), so that statements
    writing rows which refer to one another need not wait for each other's RETURNING.

    PostgreSQL takes them from the table's sequence. SQLite holds its one write lock from BEGIN
    to COMMIT: the keys after the table's last are free until this transaction inserts them,
    and inserting them moves AUTOINCREMENT's counter past them."""
    table = model._meta.db_table
    pk: Any = model._meta.pk
    if connection.vendor == "postgresql":
        sequence = f"pg_get_serial_sequence('{connection.ops.quote_name(table)}', '{pk.column}')::regclass"
        return f"ARRAY(SELECT nextval({sequence}) FROM generate_series(1, %s))"
    # The count is bound too, so both databases take the same parameters.
    return f"(SELECT COALESCE(MAX(seq), 0) + 0 * %s FROM sqlite_sequence WHERE name = '{table}')"


def reserved_ids(value: Any, count: int) -> list[int]:
    """The keys that `reserve_ids_column` reserved, from its value."""
    if isinstance(value, list):
        return [int(pk) for pk in value]
    return list(range(int(value) + 1, int(value) + 1 + count))


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


def insert_instances_statement(objs: Sequence[models.Model]) -> Statement:
    """One INSERT of new instances of one model, as (sql, params) for a caller that runs it
    inside a larger statement: with the primary keys they were given (`reserve_ids_column`),
    or, when they have none, the database's, which they are then not told. The instances are
    marked saved, as `insert_instances` marks them."""
    model = type(objs[0])
    fields, names, pk_name = _saved_fields(model)
    rows = [[f.pre_save(obj, True) for f in fields] for obj in objs]
    if objs[0].pk is None:
        statement = insert_statement(model, names, rows)
    else:
        keyed = [[obj.pk, *row] for obj, row in zip(objs, rows, strict=True)]
        statement = insert_statement(model, (pk_name, *names), keyed)
    for obj in objs:
        obj._state.adding = False
        obj._state.db = DEFAULT_DB_ALIAS
    return statement


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
) -> Statement | None:
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


@lru_cache(maxsize=64)
def _stored_directly(model: type[models.Model]) -> bool:
    """Whether `Model.__init__` with every column given positionally does nothing but store the
    values in the instance's `__dict__`: no overridden `__init__` or `from_db`, and each column's
    attribute is Django's plain deferred descriptor (a foreign key's only clears a cached related
    object, which a new instance has not got)."""
    if model.__init__ is not models.Model.__init__:
        return False
    if model.from_db.__func__ is not models.Model.from_db.__func__:  # type: ignore[attr-defined]
        return False
    for name, _field in _init_plan(model):
        descriptor = next((k.__dict__[name] for k in model.__mro__ if name in k.__dict__), None)
        if type(descriptor) not in (DeferredAttribute, ForeignKeyDeferredAttribute):
            return False
    return True


def _builder(model: type[models.Model]) -> Callable[[Sequence[Any]], Any]:
    """A function making an instance from all of the model's column values (attnames, in field
    order), as `model(*values)` would: without the constructor's per-field attribute work where
    that work only stores each value. Init signals with receivers keep the constructor."""
    build = _direct_builder(model)
    if build is None or pre_init.has_listeners(model) or post_init.has_listeners(model):
        return lambda values: model(*values)
    return build


@lru_cache(maxsize=64)
def _direct_builder(model: type[models.Model]) -> Callable[[Sequence[Any]], Any] | None:
    if not _stored_directly(model):
        return None
    names = concrete_names(model)
    make = object.__new__

    def build(values: Sequence[Any]) -> Any:
        obj = make(model)
        obj._state = ModelState()
        obj.__dict__.update(zip(names, values, strict=True))
        return obj

    return build


@lru_cache(maxsize=64)
def _cache_names(model: type[models.Model]) -> dict[str, str]:
    """The related-object cache key of each forward relation, by field name."""
    fields: Sequence[Any] = model._meta.concrete_fields
    return {f.name: f.cache_name for f in fields if f.is_relation}


def new(
    model: type[models.Model], values: Mapping[str, Any], *, related: Mapping[str, Any] | None = None
) -> Any:
    """An unsaved instance from attname values (defaults for the rest), built the way `from_db`
    builds one: positionally, skipping per-field descriptor work. `related` objects are cached
    on the instance, as passing them to the constructor would."""
    obj = _builder(model)(
        [values[name] if name in values else field.get_default() for name, field in _init_plan(model)]
    )
    _cache_related(model, obj, related)
    return obj


def _cache_related(model: type[models.Model], obj: Any, related: Mapping[str, Any] | None) -> None:
    if not related:
        return
    cache_names = _cache_names(model)
    for name, value in related.items():
        if value is not None:
            if name in cache_names:
                obj._state.fields_cache[cache_names[name]] = value
            else:
                cache_related(obj, name, value)


def saved(
    model: type[models.Model],
    names: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    related: Sequence[Mapping[str, Any] | None] | None = None,
) -> list[Any]:
    """Instances of rows just written, each with all of the model's columns among attnames
    `names` (in any order): as `new` would build them, marked saved, `related` objects cached."""
    names = tuple(names)
    ordered, positions = _load_plan(model, names)
    if len(ordered) != len(_init_plan(model)):
        raise ValueError(f"{model.__name__}: saved() needs every column")
    build, alias = _builder(model), DEFAULT_DB_ALIAS
    instances = []
    for index, row in enumerate(rows):
        if len(row) != len(names):
            raise ValueError(f"{len(row)} values for {len(names)} names")
        obj = build([row[i] for i in positions])
        obj._state.adding = False
        obj._state.db = alias
        _cache_related(model, obj, related[index] if related else None)
        instances.append(obj)
    return instances


@lru_cache(maxsize=128)
def _load_plan(model: type[models.Model], names: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The attnames among `names` in the model's field order, and where each is in `names`."""
    where = {name: index for index, name in enumerate(names)}  # a repeated name: the last one
    ordered = tuple(name for name, _field in _init_plan(model) if name in where)
    return ordered, tuple(where[name] for name in ordered)


def loaded(model: type[models.Model], names: Sequence[str], values: Sequence[Any]) -> Any:
    """A model instance for a row read by raw SQL: `names` are attnames; other fields load lazily."""
    names = tuple(names)
    if len(values) != len(names):
        raise ValueError(f"{len(values)} values for {len(names)} names")
    ordered, positions = _load_plan(model, names)
    in_order = [values[i] for i in positions]
    if len(ordered) == len(_init_plan(model)):
        obj = _builder(model)(in_order)
        obj._state.adding = False
        obj._state.db = DEFAULT_DB_ALIAS
        return obj
    # from_db takes the values in the model's field order, and defers the missing fields.
    return model.from_db(DEFAULT_DB_ALIAS, ordered, in_order)


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
    return _select_list(model, tuple(names), alias)


@lru_cache(maxsize=128)
def _select_list(model: type[models.Model], names: tuple[str, ...], alias: str) -> str:
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(model._meta.get_field(n).column)}" for n in names)  # type: ignore[union-attr,arg-type]


@lru_cache(maxsize=64)
def joined_columns(parts: Sequence[tuple[type[models.Model], str]]) -> str:
    """The select list of every column of each (model, alias) in `parts`, in order, for a row
    joining them that `split_joined` turns back into instances."""
    return ", ".join(columns(model, concrete_names(model), alias) for model, alias in parts)


@lru_cache(maxsize=64)
def _split_plan(models_: tuple[type[models.Model], ...]) -> tuple[tuple[Any, tuple[str, ...], int, int], ...]:
    plan, start = [], 0
    for model in models_:
        names = concrete_names(model)
        plan.append((model, names, start, start + names.index(model._meta.pk.attname)))
        start += len(names)
    return tuple(plan)


def split_joined(row: Sequence[Any], models_: Sequence[type[models.Model]], *, skip: int = 0) -> list[Any]:
    """One instance per model from a row selected with `joined_columns` (same models, same order);
    None for a part an outer join left empty. Columns after the parts are the caller's. The first
    `skip` parts are not built (a caller that has them from an earlier row of the same join)."""
    parts = []
    for model, names, start, pk_at in _split_plan(tuple(models_))[skip:]:
        values = row[start : start + len(names)]
        parts.append(read(model, names, values) if row[pk_at] is not None else None)
    return parts


def cache_related(obj: models.Model, name: str, value: Any) -> None:
    """Keep a related object on `obj` (None: a reverse one-to-one known to be missing), as
    select_related would, so reading it runs no query."""
    obj._meta.get_field(name).set_cached_value(obj, value)  # type: ignore[union-attr]


def concrete_names(model: type[models.Model]) -> tuple[str, ...]:
    """The attnames of all the model's columns, in the order `loaded` wants them."""
    return tuple(name for name, _field in _init_plan(model))


def read(model: type[models.Model], names: Sequence[str], values: Sequence[Any]) -> Any:
    """`loaded`, after converting the raw values as the ORM does when it reads them."""
    names = tuple(names)
    return loaded(model, names, _converted(model, names, values))


def read_rows(
    model: type[models.Model],
    names: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    related: Mapping[str, Any] | None = None,
) -> list[Any]:
    """`read` for each of `rows`, with the `related` objects cached on every instance."""
    names = tuple(names)
    ordered, positions = _load_plan(model, names)
    if len(ordered) != len(_init_plan(model)):
        instances = [read(model, names, row) for row in rows]
        for obj in instances:
            _cache_related(model, obj, related)
        return instances
    build, alias = _builder(model), DEFAULT_DB_ALIAS
    instances = []
    for row in rows:
        if len(row) != len(names):
            raise ValueError(f"{len(row)} values for {len(names)} names")
        values = _converted(model, names, row)
        obj = build([values[i] for i in positions])
        obj._state.adding = False
        obj._state.db = alias
        _cache_related(model, obj, related)
        instances.append(obj)
    return instances


def _converted(model: type[models.Model], names: tuple[str, ...], values: Sequence[Any]) -> Sequence[Any]:
    plan = _converters(model, names)
    if plan:
        values = list(values)
        for index, found, col in plan:
            for converter in found:
                values[index] = converter(values[index], col, connection)
    return values
