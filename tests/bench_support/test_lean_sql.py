"""feedesk.core.sql: statements built from model metadata, on the fast cursor and the logged one."""

import threading

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models.signals import post_init
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from feedesk.audit.models import AuditEntry
from feedesk.billing.models import Order, OrderLine
from feedesk.billing.services import LineDraft, create_order
from feedesk.core import sql
from feedesk.ledger.selectors import verify_ledger
from feedesk.organizations.models import Counter
from feedesk.payments.services import AllocationRequest, record_payment


def audit_rows(school, count):
    now = timezone.now()
    return [
        (school.org.pk, school.cashier.pk, "test.row", "tests.row", i, i, {"i": i, "名": "张"}, now)
        for i in range(count)
    ]


AUDIT_FIELDS = (
    "organization_id",
    "actor_id",
    "action",
    "target_type",
    "target_id",
    "amount",
    "data",
    "created_at",
)


def test_insert_rows_batches_adapts_and_returns_ids(school):
    count = sql.INSERT_BATCH * 2 + 7
    returned = sql.insert_rows(
        AuditEntry, AUDIT_FIELDS, audit_rows(school, count), returning=("id", "target_id")
    )
    assert len({pk for pk, _target in returned}) == count
    assert sorted(target for _pk, target in returned) == list(range(count))
    row = AuditEntry.objects.get(action="test.row", target_id=5)
    assert row.data == {"i": 5, "名": "张"}
    assert timezone.is_aware(row.created_at)


def test_logged_and_fast_paths_write_the_same(school):
    with CaptureQueriesContext(connection) as captured:
        sql.insert_rows(AuditEntry, AUDIT_FIELDS, audit_rows(school, 2))
    assert any("INSERT INTO" in q["sql"] for q in captured.captured_queries)
    sql.insert_rows(AuditEntry, AUDIT_FIELDS, audit_rows(school, 2))
    assert AuditEntry.objects.filter(action="test.row").count() == 4


def test_update_by_pk_adds_and_assigns_per_row(school):
    a, b, c = (Counter.objects.create(organization=school.org, name=n, value=10) for n in "abc")
    changed = sql.update_by_pk(
        Counter, [a.pk, b.pk], add={"value": {a.pk: 5, b.pk: -3}}, assign={"name": {b.pk: "bb"}}
    )
    assert changed == 2
    assert list(
        Counter.objects.filter(pk__in=[a.pk, b.pk, c.pk]).order_by("pk").values_list("name", "value")
    ) == [
        ("a", 15),
        ("bb", 7),
        ("c", 10),
    ]
    assert sql.update_by_pk(Counter, [], add={"value": {}}) == 0


def test_database_errors_are_djangos_on_the_fast_path(school):
    Counter.objects.create(organization=school.org, name="dup")
    with pytest.raises(IntegrityError), transaction.atomic():
        sql.insert_rows(Counter, ("organization_id", "name", "value"), [(school.org.pk, "dup", 0)])
    # The connection is usable again once the atomic block rolled back.
    assert sql.fetch("SELECT COUNT(*) FROM organizations_counter WHERE name = %s", ["dup"]) == [(1,)]


@pytest.mark.django_db(transaction=True)
def test_a_new_cursor_after_the_connection_is_reopened(school):
    assert sql.fetch("SELECT 1", []) == [(1,)]
    connection.close()
    assert sql.fetch("SELECT 2", []) == [(2,)]


def test_new_builds_with_defaults_and_loaded_defers_the_rest(school, django_assert_num_queries):
    entry = sql.new(
        AuditEntry,
        {"action": "x", "target_type": "t", "actor_id": school.cashier.pk},
        related={"actor": school.cashier},
    )
    assert entry._state.adding and entry.pk is None and entry.data == {}
    with django_assert_num_queries(0):
        assert entry.actor is school.cashier
    order = Order.objects.create(
        organization=school.org,
        campus=school.campus,
        student=school.student(),
        number=99,
        kind=Order.Kind.MANUAL,
        total=100,
        due_date=timezone.localdate(),
        created_by=school.cashier,
    )
    partial = sql.loaded(Order, ("paid", "id", "total"), (0, order.pk, 100))
    assert (partial.pk, partial.total, partial.paid) == (order.pk, 100, 0)
    with django_assert_num_queries(1):
        assert partial.number == 99


def test_instances_built_directly_match_the_orms(school, django_assert_num_queries):
    entry = sql.new(
        AuditEntry,
        {"action": "x", "target_type": "t", "actor_id": school.cashier.pk, "data": {"k": 1}},
        related={"actor": school.cashier},
    )
    sql.insert_instance(entry)
    stored = AuditEntry.objects.get(pk=entry.pk)
    names = sql.concrete_names(AuditEntry)
    assert [getattr(entry, n) for n in names] == [getattr(stored, n) for n in names]
    row = sql.fetch(
        f"SELECT {sql.columns(AuditEntry, names, 'a')} FROM audit_auditentry a WHERE a.id = %s", [entry.pk]
    )[0]
    [read] = sql.read_rows(AuditEntry, names, [row], related={"actor": school.cashier})
    [saved] = sql.saved(AuditEntry, names, [[getattr(stored, n) for n in names]])
    for obj in (sql.read(AuditEntry, names, row), read, saved):
        assert type(obj) is AuditEntry
        assert [getattr(obj, n) for n in names] == [getattr(stored, n) for n in names]
        assert (obj._state.adding, obj._state.db) == (False, "default")
    with django_assert_num_queries(0):
        assert read.actor is school.cashier
    with pytest.raises(ValueError):
        sql.saved(AuditEntry, ("id", "action"), [(1, "x")])


def test_init_signal_receivers_still_run(school):
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance.action)

    post_init.connect(receiver, sender=AuditEntry)
    try:
        sql.new(AuditEntry, {"action": "signalled", "target_type": "t"})
        [row] = audit_rows(school, 1)
        sql.saved(AuditEntry, ("id", *AUDIT_FIELDS), [(1, *row)])
    finally:
        post_init.disconnect(receiver, sender=AuditEntry)
    assert seen == ["signalled", "test.row"]


@pytest.mark.parametrize("logged", [False, True])
def test_execute_many_and_literal_percent_on_both_paths(school, logged):
    a, b = (Counter.objects.create(organization=school.org, name=n, value=1) for n in "ab")

    def run():
        sql.execute_many("UPDATE organizations_counter SET value = %s WHERE id = %s", [(5, a.pk), (7, b.pk)])
        return sql.fetch("SELECT '100%%', COUNT(*) FROM organizations_counter WHERE value > %s", [4])

    if logged:
        with CaptureQueriesContext(connection) as captured:
            assert run() == [("100%", 2)]
        assert any("UPDATE organizations_counter" in q["sql"] for q in captured.captured_queries)
    else:
        assert run() == [("100%", 2)]
    assert sorted(Counter.objects.filter(pk__in=[a.pk, b.pk]).values_list("value", flat=True)) == [5, 7]


@pytest.mark.django_db(transaction=True)
def test_concurrent_payments_queue_on_their_locks(postgres_only, school):
    """Real parallel connections paying the same student's orders: every payment lands once."""
    student = school.student()
    orders = [
        create_order(
            actor=school.cashier,
            student=student,
            lines=[LineDraft(kind=OrderLine.Kind.OTHER, description="学费", unit_price=1_000_000)],
        )
        for _ in range(2)
    ]
    errors: list[BaseException] = []

    def pay(worker: int) -> None:
        try:
            for i in range(10):
                record_payment(
                    actor=school.cashier,
                    student=student,
                    amount=300,
                    channel="cash",
                    allocations=[AllocationRequest(orders[0].pk, 100), AllocationRequest(orders[1].pk, 200)],
                    idempotency_key=f"w{worker}-{i}",
                )
        except BaseException as error:  # reported by the main thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=pay, args=(w,)) for w in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(Order.objects.filter(pk__in=[o.pk for o in orders]).values_list("paid", flat=True)) == [
        3_000,
        6_000,
    ]
    report = verify_ledger()
    assert report.ok, report.problems


def test_placeholders_are_rewritten_as_postgresql_numbers_them():
    assert sql._numbered("SELECT %s, '5%%' WHERE a = %s") == "SELECT $1, '5%' WHERE a = $2"


def test_a_statement_with_more_parameters_than_psycopg_caches_runs_again_and_again(school):
    values = list(range(1, 121))
    statement = "SELECT " + ", ".join(["%s"] * len(values))
    for _again in range(3):
        assert sql.fetch(statement, values) == [tuple(values)]


def test_split_joined_can_skip_the_parts_an_earlier_row_gave(school):
    from feedesk.organizations.models import Organization

    counter = Counter.objects.create(organization=school.org, name="split", value=3)
    parts = ((Organization, "o"), (Counter, "c"))
    [row] = sql.fetch(
        f"SELECT {sql.joined_columns(parts)} FROM organizations_organization o "
        "JOIN organizations_counter c ON c.organization_id = o.id WHERE c.id = %s",
        [counter.pk],
    )
    organization, whole = sql.split_joined(row, [Organization, Counter])
    [only] = sql.split_joined(row, [Organization, Counter], skip=1)
    assert (organization.pk, whole.pk) == (school.org.pk, counter.pk)
    assert isinstance(only, Counter) and (only.pk, only.value) == (counter.pk, 3)
