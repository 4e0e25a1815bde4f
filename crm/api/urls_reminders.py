"""API routes of care reminders (CR-7), included by crm/api/urls.py under /api/crm/.

    reminders/             the actor's reminders (?status=&kind=&due_before=&all=1)
    reminders/<id>/done/   mark one handled
"""
from django.urls import path

from crm.api import reminders as views

urlpatterns = [
    path("reminders/", views.ReminderListApi.as_view(), name="reminder-list"),
    path("reminders/<int:pk>/done/", views.ReminderDoneApi.as_view(), name="reminder-done"),
]
