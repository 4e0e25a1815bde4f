#!/usr/bin/env bash
# Entry point of the platform image: one image, several roles, chosen by the first argument.
#   web             gunicorn on :8000 (first `migrate` when MIGRATE_ON_START=1; first copies the
#                   collected static files to STATIC_EXPORT_DIR when that is set, for nginx)
#   worker [args]   a Celery worker for CELERY_QUEUES (default "default,geo"), CELERY_CONCURRENCY processes
#   beat [args]     Celery beat: run exactly one in the whole installation
#   migrate         apply migrations; with LOAD_CHANGSHA=1 then load the Changsha reference data
#   manage <args>   any manage.py command, e.g. `manage createsuperuser`, `manage check --deploy`
#   anything else   executed as given, e.g. `bash`
set -euo pipefail
cd "$(dirname "$0")/.."

manage() { python manage.py "$@"; }

publish_static() {
  # nginx serves /static/ from a volume shared with web; refresh it from this image's copy so an
  # upgraded image never serves the previous release's files.
  if [ -n "${STATIC_EXPORT_DIR:-}" ]; then
    cp -R "${STATIC_ROOT:?STATIC_ROOT is not set}/." "$STATIC_EXPORT_DIR/"
  fi
}

command="${1:-web}"
[ "$#" -gt 0 ] && shift

case "$command" in
  web)
    if [ "${MIGRATE_ON_START:-0}" = 1 ]; then manage migrate --noinput; fi
    publish_static
    mkdir -p var/run
    # More gunicorn options through GUNICORN_CMD_ARGS (read by gunicorn itself).
    exec gunicorn config.wsgi:application \
      --bind "0.0.0.0:${PORT:-8000}" \
      --workers "${GUNICORN_WORKERS:-3}" \
      --threads "${GUNICORN_THREADS:-4}" \
      --timeout "${GUNICORN_TIMEOUT:-60}" \
      --access-logfile - --error-logfile - \
      --control-socket var/run/gunicorn.ctl \
      "$@"
    ;;
  worker)
    exec celery -A config worker \
      --loglevel "${LOG_LEVEL:-INFO}" \
      --queues "${CELERY_QUEUES:-default,geo}" \
      --concurrency "${CELERY_CONCURRENCY:-2}" \
      "$@"
    ;;
  beat)
    schedule="${CELERY_BEAT_SCHEDULE_FILE:-var/run/celerybeat-schedule}"
    mkdir -p "$(dirname "$schedule")"
    exec celery -A config beat --loglevel "${LOG_LEVEL:-INFO}" --schedule "$schedule" "$@"
    ;;
  migrate)
    manage migrate --noinput
    if [ "${LOAD_CHANGSHA:-0}" = 1 ]; then manage load_changsha; fi
    ;;
  manage)
    exec python manage.py "$@"
    ;;
  *)
    exec "$command" "$@"
    ;;
esac
