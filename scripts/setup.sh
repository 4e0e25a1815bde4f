#!/usr/bin/env bash
# Provision everything the platform needs on Debian 12; safe to run any number of times.
#   scripts/setup.sh demo   -> system packages, services, venv, npm, database, migrations, static files
#   scripts/setup.sh test   -> the same plus Chromium for the browser tests (no static collection)
# Honours DATABASE_URL and REDIS_URL when they are set; otherwise uses a local role/database
# "gridmarket" on 127.0.0.1:5432 and Redis on 127.0.0.1:6379.
set -euo pipefail
MODE="${1:-demo}"
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

# ---- 1. system packages -----------------------------------------------------------------------
PKGS=(postgresql-15-postgis-3 gdal-bin redis-server gettext)
[ "$MODE" = test ] && PKGS+=(chromium fonts-wqy-microhei)
command -v npm >/dev/null || PKGS+=(nodejs npm)
python3 -c 'import ensurepip, venv' 2>/dev/null || PKGS+=(python3-venv)
MISSING=()
for p in "${PKGS[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || MISSING+=("$p"); done
if [ ${#MISSING[@]} -gt 0 ]; then
  say "installing system packages: ${MISSING[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${MISSING[@]}" >/dev/null
else
  say "system packages present: ${PKGS[*]}"
fi

# ---- 2. environment file (generated secrets, never committed) ---------------------------------
if [ ! -f .env ]; then
  say "writing .env with freshly generated secret and field-encryption keys"
  python3 - <<'PY' > .env
import secrets
print(f"DJANGO_SECRET_KEY={secrets.token_urlsafe(50)}")
print(f"FIELD_ENCRYPTION_KEY={secrets.token_hex(16)}")
print(f"FIELD_HASH_KEY={secrets.token_hex(16)}")
PY
  chmod 600 .env
fi
DEFAULT_DB="postgis://gridmarket:gridmarket@127.0.0.1:5432/gridmarket"
export DATABASE_URL="${DATABASE_URL:-$DEFAULT_DB}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"

# ---- 3. services ------------------------------------------------------------------------------
DB_HOST=$(python3 -c "import urllib.parse,os;print(urllib.parse.urlparse(os.environ['DATABASE_URL']).hostname or '127.0.0.1')")
DB_PORT=$(python3 -c "import urllib.parse,os;print(urllib.parse.urlparse(os.environ['DATABASE_URL']).port or 5432)")
if ! pg_isready -q -h "$DB_HOST" -p "$DB_PORT"; then
  if [ "$DB_HOST" = 127.0.0.1 ] || [ "$DB_HOST" = localhost ]; then
    say "starting PostgreSQL"
    for v in $(ls /etc/postgresql); do $SUDO pg_ctlcluster --skip-systemctl-redirect "$v" main start || true; done
    for _ in $(seq 30); do pg_isready -q -h "$DB_HOST" -p "$DB_PORT" && break; sleep 1; done
  fi
  pg_isready -q -h "$DB_HOST" -p "$DB_PORT" || { echo "PostgreSQL at $DB_HOST:$DB_PORT is not reachable" >&2; exit 1; }
fi
REDIS_HOST=$(python3 -c "import urllib.parse,os;print(urllib.parse.urlparse(os.environ['REDIS_URL']).hostname or '127.0.0.1')")
REDIS_PORT=$(python3 -c "import urllib.parse,os;print(urllib.parse.urlparse(os.environ['REDIS_URL']).port or 6379)")
if ! redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping >/dev/null 2>&1; then
  if [ "$REDIS_HOST" = 127.0.0.1 ] || [ "$REDIS_HOST" = localhost ]; then
    say "starting Redis on $REDIS_HOST:$REDIS_PORT"
    mkdir -p var/redis
    redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
      --dir "$ROOT/var/redis" --logfile "$ROOT/var/redis/redis.log" --pidfile "$ROOT/var/redis/redis.pid"
    for _ in $(seq 20); do redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.5; done
  fi
  redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping >/dev/null || { echo "Redis at $REDIS_HOST:$REDIS_PORT is not reachable" >&2; exit 1; }
fi

# ---- 4. database role, database and PostGIS ---------------------------------------------------
as_postgres() {  # run psql as the cluster superuser: peer auth over the socket, else trust on TCP
  if [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1; then runuser -u postgres -- psql -v ON_ERROR_STOP=1 -qAt "$@"
  else psql -h "$DB_HOST" -p "$DB_PORT" -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; fi
}
if [ "$DATABASE_URL" = "$DEFAULT_DB" ]; then
  # A superuser role for this local cluster: the test runner creates test databases with the postgis extension.
  if [ "$(as_postgres -d postgres -c "SELECT 1 FROM pg_roles WHERE rolname='gridmarket'")" != 1 ]; then
    say "creating database role gridmarket"
    as_postgres -d postgres -c "CREATE ROLE gridmarket LOGIN SUPERUSER PASSWORD 'gridmarket'"
  fi
  if [ "$(as_postgres -d postgres -c "SELECT 1 FROM pg_database WHERE datname='gridmarket'")" != 1 ]; then
    say "creating database gridmarket"
    as_postgres -d postgres -c "CREATE DATABASE gridmarket OWNER gridmarket"
  fi
  as_postgres -d gridmarket -c "CREATE EXTENSION IF NOT EXISTS postgis"
  # Also in template1, so that a non-superuser CREATEDB role could create test databases.
  as_postgres -d template1 -c "CREATE EXTENSION IF NOT EXISTS postgis"
else
  say "using DATABASE_URL from the environment (the database and the postgis extension must exist or be creatable)"
fi

# ---- 5. Python packages -----------------------------------------------------------------------
PY=python3
if [ ! -x .venv/bin/python ]; then say "creating virtualenv .venv"; $PY -m venv .venv; fi
STAMP=".venv/.pyproject-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$STAMP" ]; then
  say "installing pinned Python packages (pyproject.toml)"
  .venv/bin/pip install -q --upgrade pip
  $PY scripts/pip_requirements.py --dev > .venv/requirements.txt
  .venv/bin/pip install -q -r .venv/requirements.txt
  rm -f .venv/.pyproject-*; touch "$STAMP"
else
  say "Python packages up to date"
fi

# ---- 6. front-end libraries from npm, copied into static/vendor (no CDN at run time) ----------
NSTAMP="node_modules/.lock-$(sha256sum package-lock.json | cut -c1-16)"
if [ ! -f "$NSTAMP" ]; then
  say "installing pinned npm packages (package-lock.json)"
  npm ci --no-audit --no-fund --loglevel=error
  touch "$NSTAMP"
else
  say "npm packages up to date"
fi
.venv/bin/python scripts/vendor_static.py

# ---- 7. Django: migrations, translations, static files ----------------------------------------
export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-config.settings.local}"
say "compiling translations"
.venv/bin/python manage.py compilemessages -v 0 --ignore=.venv --ignore=node_modules
say "migrating the database"
.venv/bin/python manage.py migrate --noinput -v 0
if [ "$MODE" = demo ]; then
  say "collecting static files"
  .venv/bin/python manage.py collectstatic --noinput -v 0
fi
say "set-up done ($MODE)"
