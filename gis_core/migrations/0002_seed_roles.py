"""Seed the seven roles (ORG-2). Their permissions are declared in code (<app>/permissions.py)."""
from django.db import migrations

ROLES = [
    ("system_admin", "系统管理员", "机构、用户、字典与参数的维护；不可查看审计日志"),
    ("auditor", "审计员", "查看与导出审计日志；不可修改任何数据"),
    ("leader", "行领导", "查看本机构及下辖机构的全部经营数据与作战大屏"),
    ("branch_manager", "支行管理者", "划分与调整网格，分派客户经理，跟踪团队"),
    ("account_manager", "客户经理", "维护所辖网格与客户，外勤签到走访"),
    ("analyst", "数据分析员", "统计分析与地理报表导出"),
    ("grid_liaison", "金融三员", "外部协理人员，在授权范围内登记与走访"),
]


def seed(apps, schema_editor):
    Role = apps.get_model("gis_core", "Role")
    for code, name, description in ROLES:
        Role.objects.update_or_create(code=code, defaults={"name": name, "description": description})


class Migration(migrations.Migration):
    dependencies = [("gis_core", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
