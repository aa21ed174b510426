#!/usr/bin/env bash
# Makes sure the local PostgreSQL cluster runs and answers on 127.0.0.1:5432 as user postgres
# without a password (trust), as FerretDB and the tests expect. Starts a stopped cluster; on a
# machine where the postgresql package was just installed, allows trust from 127.0.0.1 first.
set -euo pipefail
version=$(ls /etc/postgresql | sort -V | tail -1)
[ -n "$version" ] || { echo "no PostgreSQL cluster under /etc/postgresql" >&2; exit 1; }
hba="/etc/postgresql/$version/main/pg_hba.conf"
if ! grep -qE '^host\s+all\s+all\s+127\.0\.0\.1/32\s+trust' "$hba"; then
  echo "allowing trust from 127.0.0.1 in $hba (a CI machine's own cluster)"
  sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
  pg_ctlcluster --skip-systemctl-redirect "$version" main reload 2>/dev/null || true
fi
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
fi
for _ in $(seq 1 100); do
  pg_isready -q -h 127.0.0.1 -p 5432 && break
  sleep 0.1
done
psql "postgres://postgres@127.0.0.1:5432/postgres" -Atc 'SELECT version()'
