# covers: issue-2 item 3 (production settings pass `check --deploy`; secrets only from the environment)
"""Run `manage.py check --deploy` with the production settings and real-looking environment values."""
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "FIELD_", "DATABASE_URL"))}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings.production", "DJANGO_READ_DOT_ENV": "0", **env_extra})
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )


def test_check_deploy_has_no_warnings():
    result = _run(
        {
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "FIELD_ENCRYPTION_KEY": secrets.token_hex(16),
            "FIELD_HASH_KEY": secrets.token_hex(16),
            "DJANGO_ALLOWED_HOSTS": "grid.bank.example",
            "DATABASE_URL": "postgis://app:secret@db.bank.example:5432/gridmarket",
        }
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_secrets():
    result = _run({"DJANGO_ALLOWED_HOSTS": "grid.bank.example", "DATABASE_URL": "postgis://app:secret@db.bank.example:5432/gridmarket"})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr
