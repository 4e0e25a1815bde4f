"""Password rules (SEC-1) as Django password validators, plus the password-age rule.

Settings list the validators in AUTH_PASSWORD_VALIDATORS (minimum length 8 is Django's own); every
place that sets a password (user creation, change, administrator reset) runs them through
`validate_password`, so the rules hold wherever a password comes from.
"""
from __future__ import annotations

import datetime as dt
import string

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

_SYMBOLS = set(string.punctuation) | {" "}


def character_classes(password: str) -> int:
    """How many of the four classes (upper case, lower case, digit, symbol) the password uses.

    Letters outside ASCII (for example Chinese characters) count as symbols: they widen the
    alphabet just as punctuation does.
    """
    upper = lower = digit = symbol = False
    for char in password:
        if "A" <= char <= "Z":
            upper = True
        elif "a" <= char <= "z":
            lower = True
        elif "0" <= char <= "9":
            digit = True
        elif char in _SYMBOLS or not char.isspace():
            symbol = True
    return upper + lower + digit + symbol


class CharacterClassValidator:
    """At least `min_classes` of upper case, lower case, digits and symbols (SEC-1)."""

    def __init__(self, min_classes: int = 3):
        self.min_classes = min_classes

    def validate(self, password: str, user=None) -> None:
        if character_classes(password) < self.min_classes:
            raise ValidationError(self.get_help_text(), code="password_too_simple")

    def get_help_text(self) -> str:
        return _("密码须包含大写字母、小写字母、数字、符号四类中的至少%(count)d类。") % {"count": self.min_classes}


class PasswordHistoryValidator:
    """Refuses the current password and any of the user's last `history` passwords (SEC-1).

    The history keeps hashes only (gis_core.models.PasswordHistory, written by
    `remember_password` each time a password is set), so each one is checked with the hasher.
    """

    def __init__(self, history: int = 5):
        self.history = history

    def validate(self, password: str, user=None) -> None:
        if user is None:
            return
        # hashers.check_password without a setter: checking must never re-save anything.
        if user.password and check_password(password, user.password):
            raise ValidationError(_("新密码不能与当前密码相同。"), code="password_reused")
        if user.pk is None:
            return
        history = user.password_history.order_by("-created_at", "-id")
        recent = history.values_list("password", flat=True)[: self.history]
        for stored in recent:
            if check_password(password, stored):
                raise ValidationError(self.get_help_text(), code="password_reused")

    def get_help_text(self) -> str:
        return _("新密码不能与最近%(count)d次使用过的密码相同。") % {"count": self.history}


def password_expires_at(user) -> dt.datetime | None:
    """When the user's password reaches its maximum age (SEC-1: 90 days); None if never set."""
    if user.password_changed_at is None:
        return None
    return user.password_changed_at + dt.timedelta(days=settings.SECURITY_POLICY["PASSWORD_MAX_AGE_DAYS"])


def password_change_required(user) -> bool:
    """True when the user must choose a new password before doing anything else: an initial or
    administrator-set password, a password older than the maximum age, or one of unknown age."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.must_change_password:
        return True
    expires_at = password_expires_at(user)
    return expires_at is None or timezone.now() >= expires_at
