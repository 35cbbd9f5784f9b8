#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers on 127.0.0.1:5432 (starting, or on a fresh Debian
# machine installing, the local cluster) and prints a URL the storage suite can use.
# Used by .ci/run; the README's test command runs the PostgreSQL half only when
# RAGD_TEST_POSTGRES_URL is set.
set -euo pipefail
host=127.0.0.1 port=5432
url="postgres://postgres@$host:$port/postgres"
ready() { pg_isready -q -h "$host" -p "$port" 2>/dev/null; }
if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi

if ! command -v pg_isready >/dev/null || ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
  if ! ready 2>/dev/null; then
    echo "installing postgresql" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
  fi
fi
if ! ready; then
  echo "starting PostgreSQL" >&2
  for cluster in /etc/postgresql/*/main; do
    version=$(basename "$(dirname "$cluster")")
    $SUDO pg_ctlcluster "$version" main start >&2 || true
  done
  for _ in $(seq 30); do ready && break; sleep 1; done
fi
ready || { echo "error: PostgreSQL does not answer on $host:$port" >&2; exit 1; }
# A fresh cluster only trusts local socket peers: let the test user in over TCP without a password.
if ! psql -q -h "$host" -p "$port" -U postgres -d postgres -c 'SELECT 1' >/dev/null 2>&1; then
  echo "error: cannot log in as postgres on $host:$port (trust auth expected)" >&2
  exit 1
fi
echo "$url"
