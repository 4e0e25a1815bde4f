# covers: CR-7
"""Care reminders: the right reminders on the right days, idempotent generation, the festival table,
marking done, and the scope matrix of both endpoints."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from crm.choices import ArchiveType, CustomerKind, CustomerStatus, FieldType, ProductCategory, ReminderKind, ReminderStatus
from crm.models import Archive, ArchiveTemplate, BalanceSnapshot, Customer, CustomerProduct, Product, Reminder
from crm.reminders import (
    LUNAR_FESTIVALS,
    LunarCalendarOutOfRange,
    festivals_between,
    reminder_done,
    reminders_generate,
)
from gis_core.choices import RoleCode
from gis_core.errors import NotFound
from gis_core.models import AuditEntry
from gis_core.testing import assert_scope_matrix

pytestmark = pytest.mark.django_db
D = dt.date.fromisoformat


@pytest.fixture
def world(bank, make_user):
    manager_a = make_user(bank["a1"], RoleCode.ACCOUNT_MANAGER)
    return {
        "manager_a": manager_a,
        "other_manager_a": make_user(bank["a1"], RoleCode.ACCOUNT_MANAGER),
        "manager_b": make_user(bank["b1"], RoleCode.ACCOUNT_MANAGER),
        "boss_a": make_user(bank["a"], RoleCode.BRANCH_MANAGER),
        "boss_b": make_user(bank["b"], RoleCode.BRANCH_MANAGER),
        "liaison_a": make_user(bank["a1"], RoleCode.GRID_LIAISON),
        "bank": bank,
    }


def customer(world, name="张三", *, status=CustomerStatus.POTENTIAL, manager="manager_a", **fields) -> Customer:
    return Customer.objects.create(
        institution=world["bank"]["a1"], name=name, kind=CustomerKind.INDIVIDUAL, status=status,
        manager=world[manager] if manager else None, **fields,
    )


def kinds(kind: str) -> list[tuple[int, dt.date, str]]:
    return list(Reminder.objects.filter(kind=kind).values_list("customer_id", "due_date", "title").order_by("due_date", "id"))


# --- festival calendar ----------------------------------------------------------------------------
def test_festival_table_known_dates():
    assert LUNAR_FESTIVALS[2025]["春节"] == D("2025-01-29")
    assert LUNAR_FESTIVALS[2026]["春节"] == D("2026-02-17")
    assert LUNAR_FESTIVALS[2027]["春节"] == D("2027-02-06")
    assert LUNAR_FESTIVALS[2025]["端午节"] == D("2025-05-31")
    assert LUNAR_FESTIVALS[2026]["端午节"] == D("2026-06-19")
    assert LUNAR_FESTIVALS[2025]["中秋节"] == D("2025-10-06")
    assert LUNAR_FESTIVALS[2026]["中秋节"] == D("2026-09-25")
    assert set(LUNAR_FESTIVALS) == set(range(2024, 2036))
    for year, days in LUNAR_FESTIVALS.items():  # 元宵 is always 14 days after 春节
        assert days["元宵节"] - days["春节"] == dt.timedelta(days=14), year
    assert festivals_between(D("2026-09-25"), D("2026-10-01")) == [(D("2026-09-25"), "中秋节"), (D("2026-10-01"), "国庆节")]


def test_years_outside_the_table_raise_a_clear_error():
    with pytest.raises(LunarCalendarOutOfRange, match="2036"):
        festivals_between(D("2035-12-28"), D("2036-01-03"))
    with pytest.raises(LunarCalendarOutOfRange):
        reminders_generate(on=D("2023-06-01"))


# --- generation -----------------------------------------------------------------------------------
def test_birthdays_inside_the_window_only(world):
    inside = customer(world, "生日内", birth_date=D("1980-03-10"))
    edge = customer(world, "生日边", birth_date=D("1990-03-12"))
    customer(world, "生日外", birth_date=D("1980-03-13"))
    customer(world, "昨天", birth_date=D("1980-03-04"))
    customer(world, "无管户", birth_date=D("1980-03-10"), manager=None)
    created = reminders_generate(on=D("2025-03-05"), horizon_days=7)
    assert created[ReminderKind.BIRTHDAY] == 2
    assert kinds(ReminderKind.BIRTHDAY) == [(inside.pk, D("2025-03-10"), "客户生日"), (edge.pk, D("2025-03-12"), "客户生日")]
    reminder = Reminder.objects.get(customer=inside)
    assert reminder.manager == world["manager_a"] and "45岁" in reminder.detail


def test_leap_day_birthday_falls_on_feb_28_in_common_years(world):
    leap = customer(world, "闰日", birth_date=D("2000-02-29"))
    reminders_generate(on=D("2025-02-25"), horizon_days=7)
    assert kinds(ReminderKind.BIRTHDAY) == [(leap.pk, D("2025-02-28"), "客户生日")]
    Reminder.objects.all().delete()
    reminders_generate(on=D("2028-02-25"), horizon_days=7)  # a leap year: on the day itself
    assert kinds(ReminderKind.BIRTHDAY) == [(leap.pk, D("2028-02-29"), "客户生日")]


def test_mid_autumn_2026_for_formal_customers(world):
    formal = customer(world, "正式", status=CustomerStatus.FORMAL)
    customer(world, "潜在", status=CustomerStatus.POTENTIAL)
    customer(world, "无管户", status=CustomerStatus.FORMAL, manager=None)
    assert reminders_generate(on=D("2026-09-01"), horizon_days=7)[ReminderKind.FESTIVAL] == 0
    created = reminders_generate(on=D("2026-09-20"), horizon_days=7)
    assert created[ReminderKind.FESTIVAL] == 1
    assert kinds(ReminderKind.FESTIVAL) == [(formal.pk, D("2026-09-25"), "中秋节关怀")]


def test_spring_festival_2027(world):
    formal = customer(world, "正式", status=CustomerStatus.FORMAL)
    reminders_generate(on=D("2027-02-01"), horizon_days=7)
    assert kinds(ReminderKind.FESTIVAL) == [(formal.pk, D("2027-02-06"), "春节关怀")]


def test_balance_changes_against_thresholds(world, settings):
    big_abs = customer(world, "大额")
    big_pct = customer(world, "大比例")
    small = customer(world, "小变动")
    stale = customer(world, "旧变动")
    on = D("2025-06-10")

    def snap(who, old, new, new_date=on - dt.timedelta(days=1)):
        BalanceSnapshot.objects.create(customer=who, date=new_date - dt.timedelta(days=90), total_balance=Decimal(1))
        BalanceSnapshot.objects.create(customer=who, date=new_date - dt.timedelta(days=30), total_balance=Decimal(old))
        BalanceSnapshot.objects.create(customer=who, date=new_date, total_balance=Decimal(new))

    snap(big_abs, 1_000_000, 1_050_000)  # +50,000 (5 %): the absolute threshold
    snap(big_pct, 10_000, 7_000)  # -3,000 (30 %): the relative threshold
    snap(small, 1_000_000, 1_049_999)  # below both
    snap(stale, 10_000, 100_000, new_date=on - dt.timedelta(days=30))  # too old to remind of
    created = reminders_generate(on=on, horizon_days=7)
    assert created[ReminderKind.BALANCE_CHANGE] == 2
    assert {(c, t) for c, _, t in kinds(ReminderKind.BALANCE_CHANGE)} == {(big_abs.pk, "余额大额增加"), (big_pct.pk, "余额大额减少")}

    settings.CRM_BALANCE_CHANGE_ABS = 1_000_000
    settings.CRM_BALANCE_CHANGE_PCT = 50
    Reminder.objects.all().delete()
    assert reminders_generate(on=on, horizon_days=7)[ReminderKind.BALANCE_CHANGE] == 0


def test_maturity_overdue_and_archive_restock_day(world):
    who = customer(world, "商户")
    deposit = Product.objects.create(code="D1", name="定期存款", category=ProductCategory.DEPOSIT)
    loan = Product.objects.create(code="L1", name="经营贷", category=ProductCategory.LOAN)
    wealth = Product.objects.create(code="W1", name="理财", category=ProductCategory.WEALTH)
    CustomerProduct.objects.create(customer=who, product=deposit, matures_on=D("2025-06-15"))
    CustomerProduct.objects.create(customer=who, product=wealth, matures_on=D("2025-06-30"))  # outside
    CustomerProduct.objects.create(customer=who, product=loan, is_overdue=True)
    template = ArchiveTemplate.objects.create(
        archive_type=ArchiveType.MERCHANT, name="商户",
        fields=[{"key": "licence_expiry", "label": "执照到期", "type": FieldType.DATE},
                {"key": "restock_day", "label": "进货日", "type": FieldType.INTEGER},
                {"key": "shop_name", "label": "店名", "type": FieldType.TEXT}],
    )
    Archive.objects.create(customer=who, archive_type=ArchiveType.MERCHANT, template=template,
                           data={"restock_day": 15, "licence_expiry": "2025-06-12", "shop_name": "15"})
    on = D("2025-06-10")
    created = reminders_generate(on=on, horizon_days=7)
    assert kinds(ReminderKind.MATURITY) == [(who.pk, D("2025-06-15"), "产品到期：定期存款")]
    assert kinds(ReminderKind.OVERDUE) == [(who.pk, on, "贷款逾期：经营贷")]
    assert kinds(ReminderKind.CUSTOM) == [(who.pk, D("2025-06-12"), "执照到期"), (who.pk, D("2025-06-15"), "进货日")]
    assert created[ReminderKind.CUSTOM] == 2
    # an open overdue reminder is not repeated the next day; a restock day in the next month is found
    created = reminders_generate(on=D("2025-06-28"), horizon_days=7)
    assert created[ReminderKind.OVERDUE] == 0
    assert (who.pk, D("2025-06-30"), "产品到期：理财") in kinds(ReminderKind.MATURITY)
    assert not any(d == D("2025-07-15") for _, d, _ in kinds(ReminderKind.CUSTOM))


def test_second_run_creates_nothing(world):
    customer(world, "正式", status=CustomerStatus.FORMAL, birth_date=D("1970-09-22"))
    first = reminders_generate(on=D("2026-09-20"), horizon_days=7)
    assert first[ReminderKind.BIRTHDAY] == 1 and first[ReminderKind.FESTIVAL] == 1
    total = Reminder.objects.count()
    second = reminders_generate(on=D("2026-09-20"), horizon_days=7)
    assert set(second.values()) == {0}
    assert Reminder.objects.count() == total


def test_daily_task_runs_for_today(world):
    from crm.tasks import reminders_daily_task

    assert set(reminders_daily_task.apply().get()) == set(ReminderKind.values)


# --- marking done ---------------------------------------------------------------------------------
def _reminder(world) -> Reminder:
    who = customer(world, "王小明", birth_date=D("1980-03-10"))
    reminders_generate(on=D("2025-03-05"))
    return Reminder.objects.get(customer=who)


def test_mark_done_by_manager_is_audited(world):
    reminder = _reminder(world)
    reminder_done(actor=world["manager_a"], reminder=reminder)
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.DONE and reminder.done_at is not None
    assert AuditEntry.objects.filter(action="crm.reminder.done").count() == 1


def test_mark_done_refused_for_others(world):
    reminder = _reminder(world)
    for actor in (world["manager_b"], world["boss_b"], world["other_manager_a"]):
        with pytest.raises(NotFound):
            reminder_done(actor=actor, reminder=reminder)
    reminder_done(actor=world["boss_a"], reminder=reminder)  # sees the whole subtree
    assert Reminder.objects.get(pk=reminder.pk).status == ReminderStatus.DONE


# --- API ------------------------------------------------------------------------------------------
def test_list_scope_matrix_and_masking(world, login):
    reminder = _reminder(world)
    url = "/api/crm/reminders/"
    assert_scope_matrix(url=url, kind="list", object_id=reminder.pk, allowed=world["manager_a"],
                        no_permission=world["liaison_a"], out_of_scope=world["manager_b"])
    assert_scope_matrix(url=url + "?all=1", kind="list", object_id=reminder.pk, allowed=world["boss_a"],
                        no_permission=world["liaison_a"], out_of_scope=world["boss_b"])
    own = login(world["manager_a"]).get(url).json()["results"][0]
    assert own["customer"]["name"] == "王小明" and own["kind"] == ReminderKind.BIRTHDAY
    boss = login(world["boss_a"]).get(url + "?all=1").json()["results"][0]
    assert boss["customer"]["name"] == "王**"
    assert login(world["boss_a"]).get(url).json()["results"] == []  # without all=1: own only
    assert login(world["other_manager_a"]).get(url + "?all=1").json()["results"] == []  # no subtree view
    client = login(world["manager_a"])
    assert client.get(url + "?kind=festival").json()["results"] == []
    assert client.get(url + "?due_before=2025-03-09").json()["results"] == []
    assert len(client.get(url + "?due_before=2025-03-10").json()["results"]) == 1
    assert client.get(url + "?status=done").json()["results"] == []
    assert client.get(url + "?status=bogus").status_code == 400


def test_done_scope_matrix(world, login):
    reminder = _reminder(world)
    url = f"/api/crm/reminders/{reminder.pk}/done/"
    assert_scope_matrix(url=url, method="post", kind="detail", allowed=world["manager_a"],
                        no_permission=world["liaison_a"], out_of_scope=world["manager_b"])
    assert Reminder.objects.get(pk=reminder.pk).status == ReminderStatus.DONE
    body = login(world["manager_a"]).get("/api/crm/reminders/?status=done").json()["results"]
    assert [r["id"] for r in body] == [reminder.pk]
