"""Back-office (GeoDjango admin) for gis_core. Only users with `gis_core.back_office` and
is_staff reach it; reads are restricted to the user's data scope like everywhere else."""
from django.contrib import admin
from django.contrib.gis import admin as gis_admin

from gis_core.admin_widgets import LocalOSMWidget
from gis_core.models import AdminDivision, AuditEntry, CalendarDay, Dictionary, DictionaryItem, Institution, Poi, Role, User
from gis_core.permissions import Perm


class ScopedAdminMixin:
    """Admin lists go through the same data scope as the API."""

    def get_queryset(self, request):
        return self.model.objects.for_actor(request.user)

    def has_module_permission(self, request):
        return request.user.is_active and request.user.has_perm_code(Perm.BACK_OFFICE)

    has_view_permission = lambda self, request, obj=None: self.has_module_permission(request)  # noqa: E731


class MapAdmin(gis_admin.GISModelAdmin):
    gis_widget = LocalOSMWidget
    gis_widget_kwargs = {"attrs": {"default_lon": 112.94, "default_lat": 28.23, "default_zoom": 10}}


@admin.register(Institution)
class InstitutionAdmin(ScopedAdminMixin, MapAdmin):
    list_display = ("code", "name", "kind", "parent", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("code", "name")
    readonly_fields = ("path", "depth")

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm_code(Perm.INSTITUTION_MANAGE)

    has_add_permission = lambda self, request: False  # noqa: E731  (created through the API/service)
    has_delete_permission = lambda self, request, obj=None: False  # noqa: E731


@admin.register(User)
class UserAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("username", "display_name", "institution", "is_active", "last_login")
    search_fields = ("username", "display_name", "employee_no")
    list_filter = ("is_active", "roles")
    fields = ("username", "display_name", "employee_no", "institution", "email", "is_active", "roles", "last_login", "previous_login_at", "previous_login_ip")
    readonly_fields = ("username", "roles", "last_login", "previous_login_at", "previous_login_ip")

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm_code(Perm.USER_MANAGE)

    has_add_permission = lambda self, request: False  # noqa: E731  (users are created by the service: password rules)
    has_delete_permission = lambda self, request, obj=None: False  # noqa: E731


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only, and only for auditors (SEC-4: the administrator does not see the audit trail)."""

    list_display = ("created_at", "actor_username", "action", "object_repr", "result", "ip")
    list_filter = ("result",)
    search_fields = ("actor_username", "action", "object_repr")

    def get_queryset(self, request):
        return AuditEntry.objects.for_actor(request.user, perm=Perm.AUDIT_VIEW)

    def has_module_permission(self, request):
        return request.user.is_active and request.user.has_perm_code(Perm.AUDIT_VIEW)

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    has_add_permission = lambda self, request: False  # noqa: E731
    has_change_permission = lambda self, request, obj=None: False  # noqa: E731
    has_delete_permission = lambda self, request, obj=None: False  # noqa: E731


class ReferenceAdmin(admin.ModelAdmin):
    def has_module_permission(self, request):
        return request.user.is_active and request.user.has_perm_code(Perm.BACK_OFFICE)

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_change_permission(self, request, obj=None):
        return self.has_module_permission(request)

    has_add_permission = lambda self, request: False  # noqa: E731
    has_delete_permission = lambda self, request, obj=None: False  # noqa: E731


@admin.register(AdminDivision)
class AdminDivisionAdmin(ReferenceAdmin, MapAdmin):
    list_display = ("code", "name", "level", "kind", "geometry_source")
    list_filter = ("level", "geometry_source")
    search_fields = ("code", "name")


@admin.register(Poi)
class PoiAdmin(ReferenceAdmin, MapAdmin):
    list_display = ("name", "category", "source", "source_id", "division")
    list_filter = ("category", "source")
    search_fields = ("name",)


class DictionaryItemInline(admin.TabularInline):
    model = DictionaryItem
    extra = 0


@admin.register(Dictionary)
class DictionaryAdmin(ReferenceAdmin):
    list_display = ("code", "name", "is_system")
    inlines = [DictionaryItemInline]


@admin.register(CalendarDay)
class CalendarDayAdmin(ReferenceAdmin):
    list_display = ("date", "is_workday", "note")


@admin.register(Role)
class RoleAdmin(ReferenceAdmin):
    list_display = ("code", "name", "description")


def _admin_site_has_permission(request) -> bool:
    user = request.user
    return user.is_active and user.is_authenticated and (user.has_perm_code(Perm.BACK_OFFICE) or user.has_perm_code(Perm.AUDIT_VIEW))


def _admin_login(request, extra_context=None):
    """The back-office has no login of its own: it uses the platform's, with its lockout rules."""
    from django.contrib.auth.views import redirect_to_login
    from django.urls import reverse

    return redirect_to_login(request.get_full_path(), reverse("login"))


admin.site.has_permission = _admin_site_has_permission
admin.site.login = _admin_login
admin.site.site_header = "网格化营销平台 · 后台管理"
admin.site.site_title = "网格化营销平台"
