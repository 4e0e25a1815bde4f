"""Sign-in pages: login, logout, password change and re-authentication (SEC-1 .. SEC-4).

Plain HTML forms that work without JavaScript, over the same services and session rules as the
API (gis_core.services.auth, gis_core.session_policy).
"""
from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.password_validation import password_validators_help_texts
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from gis_core.errors import ApplicationError
from gis_core.passwords import password_change_required, password_expires_at
from gis_core.services.auth import password_change, reauth_attempt
from gis_core.session_policy import (
    END_REASON,
    mark_reauthenticated,
    session_login,
    session_logout,
    session_password_changed,
)


def _password_input(label) -> forms.CharField:
    return forms.CharField(
        label=label, max_length=128, strip=False, widget=forms.PasswordInput(render_value=False)
    )


class LoginForm(forms.Form):
    username = forms.CharField(label=gettext_lazy("用户名"), max_length=150)
    password = _password_input(gettext_lazy("密码"))


class PasswordChangeForm(forms.Form):
    old_password = _password_input(gettext_lazy("原密码"))
    new_password = _password_input(gettext_lazy("新密码"))
    new_password_again = _password_input(gettext_lazy("确认新密码"))

    def clean(self):
        data = super().clean()
        if data.get("new_password") and data.get("new_password") != data.get("new_password_again"):
            self.add_error("new_password_again", _("两次输入的新密码不一致"))
        return data


class ReauthForm(forms.Form):
    password = _password_input(gettext_lazy("密码"))


def _next_url(request, default: str = "home") -> str:
    """`next` from the form or the query string when it points to this site; else `default`."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse(default)


_END_REASON_MESSAGES = {
    "idle": gettext_lazy("长时间未操作，请重新登录"),
    "absolute": gettext_lazy("登录已超过最长时间，请重新登录"),
    "locked": gettext_lazy("会话已结束，请重新登录"),
    "replaced": gettext_lazy("您的账号已在其他地方登录，本次会话已结束"),
}


def _previous_login_message(user) -> str:
    if user.previous_login_at is None:
        return _("欢迎，这是您的首次登录。")
    at = formats.date_format(timezone.localtime(user.previous_login_at), "Y-m-d H:i:s")
    return _("上次登录时间：%(at)s，上次登录地址：%(ip)s") % {"at": at, "ip": user.previous_login_ip or _("未知")}


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request):
    """The login form; on success goes to `next` (or home) and reports the previous login once."""
    form = LoginForm(request.POST or None)
    error = None
    end_reason = request.session.pop(END_REASON, None)
    notice = _END_REASON_MESSAGES.get(end_reason) if end_reason else None
    if request.method == "POST" and form.is_valid():
        try:
            user = session_login(request, **form.cleaned_data)
        except ApplicationError as exc:
            error = str(exc.message)
        else:
            messages.info(request, _previous_login_message(user))
            return redirect(_next_url(request))
    elif request.method == "POST":
        error = _("请输入用户名和密码")
    return render(
        request,
        "gis_core/login.html",
        {
            "form": form,
            "error": error,
            "notice": notice,
            "next": request.POST.get("next") or request.GET.get("next", ""),
        },
    )


@require_POST
def logout_view(request):
    """Sign out (POST only, so that a link or an image cannot sign anyone out)."""
    if request.user.is_authenticated:
        session_logout(request)
    return redirect("login")


@sensitive_post_parameters("old_password", "new_password", "new_password_again")
@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def password_change_view(request):
    """Change one's own password; lists the rules and, when forced, says why."""
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = password_change(
                user=request.user,
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password"],
            )
        except ApplicationError as exc:
            form.add_error(None, str(exc.message))
            for field, problems in (exc.details or {}).items():
                target = field if field in form.fields else None
                for problem in problems:
                    if str(problem) != str(exc.message):
                        form.add_error(target, str(problem))
        else:
            session_password_changed(request, user)
            messages.success(request, _("密码已修改"))
            return redirect(_next_url(request))
    user = request.user
    forced_reason = None
    if password_change_required(user):
        forced_reason = _("首次登录或密码被重置后须修改密码") if user.must_change_password else _("密码已超过有效期，请修改密码")
    return render(
        request,
        "gis_core/password_change.html",
        {
            "form": form,
            "rules": password_validators_help_texts(),
            "forced_reason": forced_reason,
            "max_age_days": settings.SECURITY_POLICY["PASSWORD_MAX_AGE_DAYS"],
            "expires_at": password_expires_at(user),
            "next": request.POST.get("next") or request.GET.get("next", ""),
        },
    )


@sensitive_post_parameters("password")
@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def reauth_view(request):
    """Give the password again before a critical operation; then back to `next`."""
    form = ReauthForm(request.POST or None)
    error = None
    if request.method == "POST" and form.is_valid():
        try:
            reauth_attempt(user=request.user, password=form.cleaned_data["password"])
        except ApplicationError as exc:
            error = str(exc.message)
        else:
            mark_reauthenticated(request)
            return redirect(_next_url(request))
    return render(
        request,
        "gis_core/reauth.html",
        {
            "form": form,
            "error": error,
            "minutes": settings.SECURITY_POLICY["REAUTH_MINUTES"],
            "next": request.POST.get("next") or request.GET.get("next", ""),
        },
    )
