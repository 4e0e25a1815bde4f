#!/usr/bin/env bash
# Start, stop or report the demo processes: gunicorn (web), a Celery worker and Celery beat.
# Each runs in the background with a pidfile and log under var/; `start` restarts running ones.
set -euo pipefail
cd "$(dirname "$0")/.."
ACTION="${1:-start}"
PORT="${PORT:-8000}"
mkdir -p var/run var/log
export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-config.settings.local}"
export DATABASE_URL="${DATABASE_URL:-postgis://gridmarket:gridmarket@127.0.0.1:5432/gridmarket}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"

stop_one() {
  local pidfile="var/run/$1.pid"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    kill -TERM "$(cat "$pidfile")"; for _ in $(seq 40); do kill -0 "$(cat "$pidfile")" 2>/dev/null || break; sleep 0.25; done
    echo "==> stopped $1"
  fi
  rm -f "$pidfile"
}

case "$ACTION" in
  stop) for p in web worker beat; do stop_one "$p"; done ;;
  status)
    for p in web worker beat; do
      if [ -f "var/run/$p.pid" ] && kill -0 "$(cat "var/run/$p.pid")" 2>/dev/null; then echo "$p: running (pid $(cat "var/run/$p.pid"))"; else echo "$p: stopped"; fi
    done ;;
  start)
    for p in web worker beat; do stop_one "$p"; done
    .venv/bin/gunicorn config.wsgi:application --bind "0.0.0.0:$PORT" --workers 3 --threads 4 \
      --env DJANGO_SETTINGS_MODULE="$DJANGO_SETTINGS_MODULE" --daemon --capture-output --pid var/run/web.pid \
      --access-logfile var/log/web-access.log --error-logfile var/log/web.log
    .venv/bin/celery -A config worker -l info -Q default,geo -c 2 --detach \
      --pidfile=var/run/worker.pid --logfile=var/log/worker.log
    .venv/bin/celery -A config beat -l info --detach --schedule=var/run/celerybeat-schedule \
      --pidfile=var/run/beat.pid --logfile=var/log/beat.log
    for _ in $(seq 60); do curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.5; done
    curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null && echo "==> platform ready" || echo "==> WARNING: /readyz is not ready yet, see var/log/web.log"
    cat <<MSG

  网格化营销平台 is running:  http://127.0.0.1:$PORT/
  API docs:                  http://127.0.0.1:$PORT/api/docs/
  Demo logins (password for all: Demo@2026, change it after the first login):
$(.venv/bin/python manage.py make_demo --list-logins 2>/dev/null | sed 's/^/    /')
  Stop with: make stop     Logs: var/log/

MSG
    ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
