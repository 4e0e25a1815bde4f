#!/usr/bin/env bash
# First start of the db container only (an empty data volume): create the platform's own login role,
# NOT a superuser, owning the platform database, and create PostGIS there as the superuser.
# The role, password and database name are read from the platform's DATABASE_URL (passed in as
# APP_DATABASE_URL), so they are written down once. Runs after the postgis image's 10_postgis.sh.
set -euo pipefail

url="${APP_DATABASE_URL:?APP_DATABASE_URL (the platform DATABASE_URL) is not set}"
pattern='^postgis://([^:@/]+):([^@/]+)@[^/]+/([^/?]+)'
if ! [[ $url =~ $pattern ]]; then
  echo "20-app-role.sh: APP_DATABASE_URL is not postgis://user:password@host:port/database" >&2
  exit 1
fi
urldecode() { printf '%b' "${1//%/\\x}"; }
app_user=$(urldecode "${BASH_REMATCH[1]}")
app_password=$(urldecode "${BASH_REMATCH[2]}")
app_db=$(urldecode "${BASH_REMATCH[3]}")
admin="${POSTGRES_USER:-postgres}"
if [ "$app_user" = "$admin" ]; then
  echo "20-app-role.sh: DATABASE_URL must not use the superuser $admin" >&2
  exit 1
fi

psql -v ON_ERROR_STOP=1 --username "$admin" --dbname postgres \
  -v app_user="$app_user" -v app_password="$app_password" -v app_db="$app_db" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L', :'app_user', :'app_password')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app_user') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'app_db', :'app_user')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'app_db') \gexec
SELECT format('ALTER DATABASE %I OWNER TO %I', :'app_db', :'app_user') \gexec
SQL
psql -v ON_ERROR_STOP=1 --username "$admin" --dbname "$app_db" -c 'CREATE EXTENSION IF NOT EXISTS postgis'
echo "20-app-role.sh: role $app_user owns database $app_db (PostGIS ready)"
