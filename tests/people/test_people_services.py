import pytest
from moneycheck import expect_error

from feedesk.audit.models import AuditEntry
from feedesk.core.errors import PermissionDenied, ValidationFailed
from feedesk.ledger.models import Account, AccountRole
from feedesk.people.models import Guardian, Student
from feedesk.people.selectors import search_students, siblings_of, students_visible_to
from feedesk.people.services import create_guardian, create_student, pinyin_keys
from feedesk.users.models import User


def test_pinyin_keys():
    assert pinyin_keys("张三") == ("zhangsan", "zs")
    assert pinyin_keys("Tom Li")[0] == "tomli"
    assert pinyin_keys("欧阳娜娜") == ("ouyangnana", "oynn")


def test_create_student_numbers_indexes_and_opens_accounts(school):
    student = create_student(
        actor=school.cashier, campus=school.campus, name=" 张三 ", phone="139-1234-5678", guardians=[]
    )
    assert (student.name, student.name_pinyin, student.name_initials) == ("张三", "zhangsan", "zs")
    assert student.number == "S000001"
    assert student.phone == "13912345678"
    accounts = {a.role: a for a in Account.objects.filter(student=student)}
    assert set(accounts) == {AccountRole.RECEIVABLE, AccountRole.STUDENT_CREDIT}
    assert all(a.debits == a.credits == 0 for a in accounts.values())
    audit = AuditEntry.objects.get(action="student.created", target_id=student.pk)
    assert audit.actor == school.cashier
    assert create_student(actor=school.cashier, campus=school.campus, name="李四").number == "S000002"


@pytest.mark.parametrize(
    "query", ["zs", "zhangsan", "ZhangSan", "张", "张三", "13912345678", "S000001", "0001"]
)
def test_search_finds_student_by_name_pinyin_initials_phone_and_number(school, query):
    student = create_student(actor=school.cashier, campus=school.campus, name="张三", phone="13912345678")
    create_student(actor=school.cashier, campus=school.campus, name="王五", phone="13700000000")
    assert list(search_students(user=school.cashier, query=query)) == [student]


def test_search_finds_student_by_guardian_phone(school):
    student = school.student()
    assert list(search_students(user=school.cashier, query="13800000001")) == [student]


def test_search_and_visibility_stay_inside_the_organization_and_campus(school, other_school):
    mine = school.student(name="张三")
    other_school.student(name="张三")
    branch = school.student(name="张四", campus=school.campus2)
    assert set(search_students(user=school.cashier, query="zs")) == {mine, branch}
    school.cashier.campuses.set([school.campus2])
    limited = User.objects.get(pk=school.cashier.pk)
    assert list(search_students(user=limited, query="zs")) == [branch]
    assert list(students_visible_to(limited)) == [branch]


def test_siblings_share_one_guardian(school):
    first = school.student(name="张三")
    again = create_guardian(actor=school.cashier, name="张妈妈", phone="138 0000 0001")
    assert again == school.guardian
    second = school.student(name="张小妹", guardian=again)
    assert Guardian.objects.filter(organization=school.org).count() == 1
    assert list(siblings_of(first)) == [second]
    assert list(siblings_of(second)) == [first]
    assert set(school.guardian.students.all()) == {first, second}


def test_student_bad_input_saves_nothing(school, other_school):
    before = Student.objects.count()
    expect_error(
        lambda: create_student(actor=school.cashier, campus=school.campus, name="  "),
        "name_required",
        "Enter the student's name",
    )
    expect_error(
        lambda: create_student(actor=school.cashier, campus=school.campus, name="张三", phone="12"),
        "phone_invalid",
        "is not a phone number",
    )
    expect_error(
        lambda: create_student(
            actor=school.cashier,
            campus=school.campus,
            name="张三",
            guardians=[(other_school.guardian, "mother")],
        ),
        "guardian_unknown",
    )
    expect_error(
        lambda: create_student(actor=school.cashier, campus=other_school.campus, name="张三"),
        "campus_unknown",
    )
    with pytest.raises(PermissionDenied):
        create_student(actor=school.instructor, campus=school.campus, name="张三")
    assert Student.objects.count() == before
    assert not Account.objects.filter(role=AccountRole.RECEIVABLE, organization=school.org).exists()


def test_guardian_needs_name_and_phone(school):
    with pytest.raises(ValidationFailed) as caught:
        create_guardian(actor=school.cashier, name="", phone="13800000009")
    assert caught.value.code == "name_required"
    with pytest.raises(ValidationFailed) as caught:
        create_guardian(actor=school.cashier, name="王爸爸", phone="")
    assert caught.value.code == "phone_required"
