#!/usr/bin/env bash
# Creates the `leadpipe` database on the local dev cluster and, for each
# service, a login role that owns that service's schema (ARCHITECTURE.md: a
# service never touches another's schema). Idempotent; safe on every `up`.
#
#   deploy/local/db-init.sh [--port PORT]      (env PG_PORT, default 55432)
#
#   role               schema       search_path
#   ingest_gateway     ingest       ingest
#   contact_extractor  extraction   extraction
#   lead_store         leads        leads
#   outreach           outreach     outreach
#   analytics          analytics    analytics
#
# Roles have no password: the local cluster trusts 127.0.0.1 (dev only).
# Migrations run as the owning role with unqualified names, which is why each
# role's search_path is exactly its schema.
# Extensions the migrations use (pg_trgm in leads) are created here, by the
# superuser: the roles may not.
set -euo pipefail
LP_SCRIPT="db-init.sh"
# shellcheck source=deploy/local/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PG_PORT="${PG_PORT:-55432}"
DB="${LEADPIPE_DB:-leadpipe}"
while (($#)); do
  case "$1" in
    --port) PG_PORT="$2"; shift 2 ;;
    --port=*) PG_PORT="${1#*=}"; shift ;;
    -h | --help) sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
    *) lp_die "unknown option '$1'" ;;
  esac
done
lp_have psql || lp_die "psql not found; run deploy/local/deps.sh"

# role:schema pairs, the single place this mapping is written down.
SERVICES=(
  ingest_gateway:ingest
  contact_extractor:extraction
  lead_store:leads
  outreach:outreach
  analytics:analytics
)

psql_admin() {
  psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@"
}

psql_admin -d postgres -Atc 'select 1' >/dev/null 2>&1 ||
  lp_die "cannot connect to PostgreSQL on 127.0.0.1:$PG_PORT as postgres (start it: deploy/local/pg.sh start)"

# CREATE DATABASE cannot run inside a DO block or a transaction.
if [[ "$(psql_admin -d postgres -Atc "select 1 from pg_database where datname = '$DB'")" != 1 ]]; then
  psql_admin -d postgres -c "CREATE DATABASE \"$DB\" ENCODING 'UTF8' TEMPLATE template0"
  lp_info "created database $DB"
fi

sql="SET client_min_messages = warning;
REVOKE ALL ON DATABASE \"$DB\" FROM PUBLIC;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
"
for entry in "${SERVICES[@]}"; do
  role="${entry%%:*}"
  schema="${entry#*:}"
  sql+="
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$role') THEN
    CREATE ROLE \"$role\" LOGIN;
  END IF;
END \$\$;
ALTER ROLE \"$role\" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
GRANT CONNECT, TEMPORARY ON DATABASE \"$DB\" TO \"$role\";
CREATE SCHEMA IF NOT EXISTS \"$schema\" AUTHORIZATION \"$role\";
ALTER SCHEMA \"$schema\" OWNER TO \"$role\";
ALTER ROLE \"$role\" IN DATABASE \"$DB\" SET search_path = \"$schema\";
"
done
# Extensions a schema's migrations use, created here by the superuser into
# that schema: CREATE EXTENSION needs the CREATE privilege on the database,
# which the service roles are not given, so a migration's
# `CREATE EXTENSION IF NOT EXISTS … WITH SCHEMA` finds it already there.
# (leads 0008: pg_trgm for the list search's trigram indexes.)
EXTENSIONS=(
  leads:pg_trgm
)
for entry in "${EXTENSIONS[@]}"; do
  sql+="
CREATE EXTENSION IF NOT EXISTS \"${entry#*:}\" WITH SCHEMA \"${entry%%:*}\";
"
done
psql_admin -d "$DB" -c "$sql"
lp_info "database $DB ready on 127.0.0.1:$PG_PORT: ${SERVICES[*]}"
