#!/usr/bin/env bash
# The dev stack's database, set up the way `make up` / `make run` do it:
# deploy/local/db-init.sh creates the database, the service roles and their
# schemas, then `leadctl migrate --all` applies every schema's migrations as
# that schema's own role — not as the superuser every other test migrates as.
# A migration that needs a privilege the roles are not given fails here
# (leads 0008's CREATE EXTENSION did: `make up` failed on every fresh machine
# while all the other tests passed). Both steps run twice: `make up` repeats
# them on every start.
#
#   tests/infra/dev_db_test.sh <leadctl binary>   (test PostgreSQL: LEADPIPE_TEST_PG_PORT, 25532)
set -euo pipefail
leadctl="$1"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
port="${LEADPIPE_TEST_PG_PORT:-25532}"
db="dev_db_test_$$"
admin() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres "$@"; }
trap 'admin -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true' EXIT

url() { echo "host=127.0.0.1 port=$port dbname=$db user=$1"; }
for round in 1 2; do
  LEADPIPE_DB="$db" "$root/deploy/local/db-init.sh" --port "$port"
  LEADPIPE_CONFIG_FILE=/dev/null INGEST_PG_URL="$(url ingest_gateway)" \
    EXTRACTOR_PG_URL="$(url contact_extractor)" LEADSTORE_PG_URL="$(url lead_store)" \
    "$leadctl" migrate --all
  echo "round $round: database set up and migrated as the service roles"
done

# Every compiled-in migration is recorded as applied, under its own schema.
for schema in ingest extraction leads; do
  want=$(find "$root/migrations/$schema" -name '*.sql' | wc -l)
  got=$(admin -d "$db" -Atc "SELECT count(*) FROM \"$schema\".schema_migrations" 2>/dev/null || echo "?")
  if [[ "$got" != "$want" ]]; then
    echo "FAIL: schema $schema has $got of $want migrations recorded" >&2
    exit 1
  fi
done
# The service roles stay unprivileged.
if [[ "$(admin -d "$db" -Atc "SELECT count(*) FROM pg_roles WHERE rolname IN
      ('ingest_gateway','contact_extractor','lead_store') AND (rolsuper OR rolcreatedb OR rolcreaterole)")" != 0 ]]; then
  echo "FAIL: a service role has superuser, createdb or createrole" >&2
  exit 1
fi
echo "PASS"
