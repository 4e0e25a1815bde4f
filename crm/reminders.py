"""Care reminders (关怀提醒, CR-7): what a relationship manager should act on in the coming days.

A daily job (`crm.reminders_daily`) calls `reminders_generate` for today; it looks `horizon_days` ahead
for birthdays, festivals, product maturities and custom archive dates, and at the latest data for
large balance changes and overdue products. Each query covers the whole customer table at once (no
per-customer queries) and rows are inserted with `bulk_create(ignore_conflicts=True)` against the
`reminder_unique` constraint, so a second run on the same day creates nothing.

Lunar festivals come from an embedded table (no dependency): the Gregorian dates of 春节, 元宵, 端午,
中秋 and 重阳 for 2024–2035, checked against computed new moons (China time). Years outside the table
raise `LunarCalendarOutOfRange`; extend `LUNAR_FESTIVALS` before 2036.
"""
from __future__ import annotations

import calendar
import datetime as dt
from decimal import Decimal
from typing import Any, Iterable

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from crm.choices import CustomerStatus, FieldType, ReminderKind, ReminderStatus
from crm.models import Archive, ArchiveTemplate, BalanceSnapshot, Customer, CustomerProduct, Reminder
from crm.permissions import Perm
from gis_core.audit import audit_log
from gis_core.errors import NotFound

BATCH_SIZE = 2000

# --- festival calendar ----------------------------------------------------------------------------
SPRING_FESTIVAL = "春节"
LANTERN_FESTIVAL = "元宵节"
DRAGON_BOAT_FESTIVAL = "端午节"
MID_AUTUMN_FESTIVAL = "中秋节"
DOUBLE_NINTH_FESTIVAL = "重阳节"

# (lunar 1/1, 1/15, 5/5, 8/15, 9/9) in the Gregorian calendar, China Standard Time.
_LUNAR_ROWS: dict[int, tuple[str, str, str, str, str]] = {
    2024: ("02-10", "02-24", "06-10", "09-17", "10-11"),
    2025: ("01-29", "02-12", "05-31", "10-06", "10-29"),
    2026: ("02-17", "03-03", "06-19", "09-25", "10-18"),
    2027: ("02-06", "02-20", "06-09", "09-15", "10-08"),
    2028: ("01-26", "02-09", "05-28", "10-03", "10-26"),
    2029: ("02-13", "02-27", "06-16", "09-22", "10-16"),
    2030: ("02-03", "02-17", "06-05", "09-12", "10-05"),
    2031: ("01-23", "02-06", "06-24", "10-01", "10-24"),
    2032: ("02-11", "02-25", "06-12", "09-19", "10-12"),
    2033: ("01-31", "02-14", "06-01", "09-08", "10-01"),
    2034: ("02-19", "03-05", "06-20", "09-27", "10-20"),
    2035: ("02-08", "02-22", "06-10", "09-16", "10-09"),
}
_LUNAR_NAMES = (SPRING_FESTIVAL, LANTERN_FESTIVAL, DRAGON_BOAT_FESTIVAL, MID_AUTUMN_FESTIVAL, DOUBLE_NINTH_FESTIVAL)
LUNAR_FESTIVALS: dict[int, dict[str, dt.date]] = {
    year: {name: dt.date.fromisoformat(f"{year}-{md}") for name, md in zip(_LUNAR_NAMES, row)}
    for year, row in _LUNAR_ROWS.items()
}
FIXED_FESTIVALS: tuple[tuple[int, int, str], ...] = (
    (1, 1, "元旦"),
    (3, 8, "妇女节"),
    (5, 1, "劳动节"),
    (6, 1, "儿童节"),
    (10, 1, "国庆节"),
)


class LunarCalendarOutOfRange(ValueError):
    """The embedded lunar festival table does not cover the requested year."""

    def __init__(self, year: int) -> None:
        first, last = min(LUNAR_FESTIVALS), max(LUNAR_FESTIVALS)
        super().__init__(f"农历节日表只覆盖 {first}–{last} 年，无法计算 {year} 年的节日；请扩充 crm.reminders.LUNAR_FESTIVALS")
        self.year = year


def festivals_in_year(year: int) -> list[tuple[dt.date, str]]:
    """All festivals (lunar and fixed) of one Gregorian year, by date."""
    if year not in LUNAR_FESTIVALS:
        raise LunarCalendarOutOfRange(year)
    days = [(day, name) for name, day in LUNAR_FESTIVALS[year].items()]
    days += [(dt.date(year, month, day), name) for month, day, name in FIXED_FESTIVALS]
    return sorted(days)


def festivals_between(start: dt.date, end: dt.date) -> list[tuple[dt.date, str]]:
    """Festivals with `start <= date <= end` (both inclusive)."""
    found: list[tuple[dt.date, str]] = []
    for year in range(start.year, end.year + 1):
        found += [(day, name) for day, name in festivals_in_year(year) if start <= day <= end]
    return found


def _days(start: dt.date, end: dt.date) -> Iterable[dt.date]:
    day = start
    while day <= end:
        yield day
        day += dt.timedelta(days=1)


# --- generation -----------------------------------------------------------------------------------
def _insert(reminders: list[Reminder]) -> None:
    if reminders:
        Reminder.objects.bulk_create(reminders, batch_size=BATCH_SIZE, ignore_conflicts=True)
        reminders.clear()


class _Sink:
    """Collects reminders and writes them in batches."""

    def __init__(self) -> None:
        self.pending: list[Reminder] = []

    def add(self, **fields: Any) -> None:
        fields["title"] = fields["title"][:100]
        fields["detail"] = fields.get("detail", "")[:255]
        self.pending.append(Reminder(**fields))
        if len(self.pending) >= BATCH_SIZE:
            _insert(self.pending)

    def flush(self) -> None:
        _insert(self.pending)


def _managed_customers() -> QuerySet:
    return Customer.objects.filter(manager__isnull=False)


def _birthdays(sink: _Sink, start: dt.date, end: dt.date) -> None:
    """Birth month/day inside the window; 2/29 birthdays fall on 2/28 in common years."""
    due_by_month_day: dict[tuple[int, int], dt.date] = {}
    for day in _days(start, end):
        due_by_month_day[(day.month, day.day)] = day
        if day.month == 2 and day.day == 28 and not calendar.isleap(day.year):
            due_by_month_day[(2, 29)] = day
    if not due_by_month_day:
        return
    match = Q()
    for month, day in due_by_month_day:
        match |= Q(birth_date__month=month, birth_date__day=day)
    rows = _managed_customers().filter(birth_date__isnull=False).filter(match).values_list("pk", "manager_id", "birth_date")
    for customer_id, manager_id, birth_date in rows.iterator(chunk_size=BATCH_SIZE):
        due = due_by_month_day[(birth_date.month, birth_date.day)]
        sink.add(
            customer_id=customer_id, manager_id=manager_id, kind=ReminderKind.BIRTHDAY, due_date=due,
            title="客户生日", detail=f"{birth_date.month}月{birth_date.day}日生日，{due.year - birth_date.year}岁",
        )


def _festivals(sink: _Sink, start: dt.date, end: dt.date) -> None:
    """One reminder per formal customer per festival in the window."""
    festivals = festivals_between(start, end)
    if not festivals:
        return
    rows = _managed_customers().filter(status=CustomerStatus.FORMAL).values_list("pk", "manager_id")
    for customer_id, manager_id in rows.iterator(chunk_size=BATCH_SIZE):
        for day, name in festivals:
            sink.add(
                customer_id=customer_id, manager_id=manager_id, kind=ReminderKind.FESTIVAL, due_date=day,
                title=f"{name}关怀", detail=f"{day.isoformat()} {name}",
            )


def _balance_changes(sink: _Sink, on: dt.date, horizon_days: int) -> None:
    """The latest two snapshots differ by at least the absolute or relative threshold; the reminder
    is dated on the latest snapshot, which must lie within the last `horizon_days` days."""
    threshold_abs = Decimal(str(getattr(settings, "CRM_BALANCE_CHANGE_ABS", 50_000)))
    threshold_pct = Decimal(str(getattr(settings, "CRM_BALANCE_CHANGE_PCT", 30)))
    ranked = (
        BalanceSnapshot.objects.filter(customer__manager__isnull=False, date__lte=on)
        .annotate(rank=Window(RowNumber(), partition_by=[F("customer_id")], order_by=F("date").desc()))
        .filter(rank__lte=2)
        .values_list("customer_id", "customer__manager_id", "date", "total_balance", "rank")
        .order_by("customer_id", "rank")
    )
    latest: dict[int, tuple[int, dt.date, Decimal]] = {}
    since = on - dt.timedelta(days=horizon_days)
    for customer_id, manager_id, date, balance, rank in ranked.iterator(chunk_size=BATCH_SIZE):
        if rank == 1:
            latest[customer_id] = (manager_id, date, balance)
            continue
        manager_id, new_date, new_balance = latest.pop(customer_id, (None, None, None))
        if manager_id is None or new_date < since:
            continue
        change = new_balance - balance
        pct = (abs(change) / abs(balance) * 100) if balance else (Decimal(100) if change else Decimal(0))
        if abs(change) >= threshold_abs or pct >= threshold_pct:
            direction = "增加" if change > 0 else "减少"
            sink.add(
                customer_id=customer_id, manager_id=manager_id, kind=ReminderKind.BALANCE_CHANGE, due_date=new_date,
                title=f"余额大额{direction}",
                detail=f"{date.isoformat()} {balance} 元 → {new_date.isoformat()} {new_balance} 元（{pct:.1f}%）",
            )


def _maturities(sink: _Sink, start: dt.date, end: dt.date) -> None:
    rows = (
        CustomerProduct.objects.filter(customer__manager__isnull=False, matures_on__range=(start, end))
        .values_list("customer_id", "customer__manager_id", "matures_on", "product__name")
    )
    for customer_id, manager_id, matures_on, product in rows.iterator(chunk_size=BATCH_SIZE):
        sink.add(
            customer_id=customer_id, manager_id=manager_id, kind=ReminderKind.MATURITY, due_date=matures_on,
            title=f"产品到期：{product}", detail=f"{product}于{matures_on.isoformat()}到期",
        )


def _overdue(sink: _Sink, on: dt.date) -> None:
    """One open reminder per overdue holding: none is added while an earlier one is still open."""
    open_titles = set(
        Reminder.objects.filter(kind=ReminderKind.OVERDUE, status=ReminderStatus.OPEN).values_list("customer_id", "title")
    )
    rows = CustomerProduct.objects.filter(customer__manager__isnull=False, is_overdue=True).values_list(
        "customer_id", "customer__manager_id", "product__name"
    )
    for customer_id, manager_id, product in rows.iterator(chunk_size=BATCH_SIZE):
        title = f"贷款逾期：{product}"[:100]
        if (customer_id, title) in open_titles:
            continue
        sink.add(customer_id=customer_id, manager_id=manager_id, kind=ReminderKind.OVERDUE, due_date=on, title=title,
                 detail=f"{product}已逾期，请及时跟进")


def _custom_due(value: Any, start: dt.date, end: dt.date) -> dt.date | None:
    """When a custom archive value falls due in the window.

    A day of month (15 or "15") → the next such day (the month's last day for short months);
    "MM-DD" → every year; "YYYY-MM-DD" → that date only.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
        if value.isdigit():
            value = int(value)
    if isinstance(value, int):
        if not 1 <= value <= 31:
            return None
        for day in _days(start, end):
            if day.day == min(value, calendar.monthrange(day.year, day.month)[1]):
                return day
        return None
    if not isinstance(value, str):
        return None
    try:
        if len(value) == 5:
            month, day_of_month = (int(part) for part in value.split("-"))
            for day in _days(start, end):
                if (day.month, day.day) == (month, day_of_month):
                    return day
            return None
        date = dt.date.fromisoformat(value[:10])
    except ValueError:
        return None
    return date if start <= date <= end else None


def _custom_dates(sink: _Sink, start: dt.date, end: dt.date) -> None:
    """Archive values whose template field is a date, or whose key ends with "_day"/"_date"."""
    labels_by_template: dict[int, dict[str, str]] = {}
    date_keys_by_template: dict[int, set[str]] = {}
    for template_id, fields in ArchiveTemplate.objects.values_list("pk", "fields"):
        labels_by_template[template_id] = {f.get("key"): f.get("label") or f.get("key") for f in fields or [] if isinstance(f, dict)}
        date_keys_by_template[template_id] = {
            f.get("key") for f in fields or [] if isinstance(f, dict) and f.get("type") == FieldType.DATE
        }
    rows = Archive.objects.filter(customer__manager__isnull=False).values_list(
        "customer_id", "customer__manager_id", "template_id", "data"
    )
    for customer_id, manager_id, template_id, data in rows.iterator(chunk_size=BATCH_SIZE):
        if not isinstance(data, dict):
            continue
        date_keys = date_keys_by_template.get(template_id, set())
        for key, value in data.items():
            if not (key in date_keys or key.endswith("_day") or key.endswith("_date")):
                continue
            due = _custom_due(value, start, end)
            if due is None:
                continue
            label = labels_by_template.get(template_id, {}).get(key) or key
            sink.add(customer_id=customer_id, manager_id=manager_id, kind=ReminderKind.CUSTOM, due_date=due,
                     title=f"{label}", detail=f"{label}：{value}")


@transaction.atomic
def reminders_generate(*, on: dt.date, horizon_days: int = 7) -> dict[str, int]:
    """Create the care reminders due in [on, on + horizon_days] for customers that have a manager.

    Idempotent: existing reminders (same customer, kind, date and title) are skipped by the unique
    constraint. Returns how many reminders of each kind were created. Raises
    `LunarCalendarOutOfRange` when the window leaves the embedded festival table.
    """
    if horizon_days < 0:
        raise ValueError("horizon_days must not be negative")
    end = on + dt.timedelta(days=horizon_days)
    festivals_between(on, end)  # fail before writing anything when the calendar does not cover the window
    earliest = on - dt.timedelta(days=horizon_days)  # balance changes are dated on their snapshot

    def counts() -> dict[str, int]:
        found = dict.fromkeys(ReminderKind.values, 0)
        rows = Reminder.objects.filter(due_date__range=(earliest, end)).values_list("kind").order_by()
        for kind, total in rows.annotate(total=Count("pk")).values_list("kind", "total"):
            found[kind] = total
        return found

    before = counts()
    sink = _Sink()
    _birthdays(sink, on, end)
    _festivals(sink, on, end)
    _balance_changes(sink, on, horizon_days)
    _maturities(sink, on, end)
    _overdue(sink, on)
    _custom_dates(sink, on, end)
    sink.flush()
    after = counts()
    return {kind: after[kind] - before[kind] for kind in ReminderKind.values}


@transaction.atomic
def reminder_done(*, actor: Any, reminder: Reminder) -> Reminder:
    """Mark a reminder handled. Allowed to the reminder's manager, or to someone who sees every
    customer of their subtree (CUSTOMER_VIEW_SUBTREE) for a customer in scope; otherwise 404.
    Marking a done reminder again changes nothing."""
    reminder = reminder_get(actor=actor, pk=reminder.pk, for_update=True)
    if reminder.status == ReminderStatus.DONE:
        return reminder
    reminder.status = ReminderStatus.DONE
    reminder.done_at = timezone.now()
    reminder.save(update_fields=["status", "done_at"])
    audit_log(actor=actor, action="crm.reminder.done", obj=reminder,
              data={"customer": reminder.customer_id, "kind": reminder.kind, "due_date": reminder.due_date.isoformat()})
    return reminder


# --- selectors ------------------------------------------------------------------------------------
def reminders_visible(*, actor: Any, include_all: bool = False) -> QuerySet:
    """Reminders the actor may see: their own (manager = actor) inside their data scope, plus, with
    `include_all` and CUSTOMER_VIEW_SUBTREE, every reminder of a customer in scope."""
    qs = Reminder.objects.for_actor(actor, perm=Perm.REMINDER_VIEW)
    if include_all and actor.has_perm_code(Perm.CUSTOMER_VIEW_SUBTREE):
        return qs
    return qs.filter(manager=actor)


def reminder_list(*, actor: Any, filters: dict[str, Any]) -> QuerySet:
    """The actor's reminders filtered by status, kind and `due_before` (inclusive), soonest first."""
    qs = reminders_visible(actor=actor, include_all=bool(filters.get("all")))
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("kind"):
        qs = qs.filter(kind=filters["kind"])
    if filters.get("due_before"):
        qs = qs.filter(due_date__lte=filters["due_before"])
    return qs.select_related("customer", "manager").order_by("due_date", "id")


def reminder_get(*, actor: Any, pk: int, for_update: bool = False) -> Reminder:
    """One reminder the actor may act on (their own, or any in scope with CUSTOMER_VIEW_SUBTREE); else 404."""
    qs = reminders_visible(actor=actor, include_all=True)
    if for_update:
        qs = qs.select_for_update(of=("self",))
    try:
        return qs.get(pk=pk)
    except (Reminder.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None
