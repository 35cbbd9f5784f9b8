#!/usr/bin/env bash
# Browser tests of the web console (tests/web/console.test.mjs): headless Chromium from Debian's
# packages driven by playwright-core (npm, pinned by tests/web/package-lock.json) against a live
# `ragd serve` on a fresh data dir and a free port. Installs what is missing (chromium,
# chromium-driver, nodejs, npm; `npm ci`). Expects the ragd binary to be built.
# Screenshots of the main pages go to $RAGD_SCREENSHOTS (default artifacts/screenshots).
set -euo pipefail
cd "$(dirname "$0")/.."
ragd="${CARGO_TARGET_DIR:-$HOME/.cache/ragd-target}/debug/ragd"
[[ -x "$ragd" ]] || { echo "error: $ragd not found; run cargo build --bin ragd first" >&2; exit 1; }

need=()
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
if ((${#need[@]})); then
  if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
  echo "installing ${need[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
# node_modules is reinstalled when the lock file changes (a copy of it marks the install).
if ! cmp -s tests/web/package-lock.json tests/web/node_modules/.ragd-lock 2>/dev/null; then
  (cd tests/web && npm ci --no-audit --no-fund --loglevel=error && cp package-lock.json node_modules/.ragd-lock)
fi

export RAGD_SCREENSHOTS="${RAGD_SCREENSHOTS:-$PWD/artifacts/screenshots}"
mkdir -p "$RAGD_SCREENSHOTS"
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# The extractive answerer, not a configured LLM, answers the chat test: no outside service. The
# website import test crawls a site the test serves on loopback.
RAGD_OUTBOUND_ALLOW=127.0.0.1 env -u RAGD_LLM_BASE_URL -u RAGD_LLM_API_KEY -u RAGD_LLM_MODEL -u RAGD_DATABASE_URL DATABASE_URL= \
  "$ragd" --data-dir "$data" serve --listen "127.0.0.1:$port" 2>"$data/serve.log" &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT
for _ in $(seq 300); do
  curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat "$data/serve.log" >&2; exit 1; }
  sleep 0.1
done

echo "web console tests in headless Chromium ($(chromium --version 2>/dev/null | head -n 1))" >&2
RAGD_URL="http://127.0.0.1:$port" CHROMIUM="$(command -v chromium)" \
  node --test --test-concurrency=1 tests/web/console.test.mjs || {
  echo "--- server log" >&2; tail -n 60 "$data/serve.log" >&2; exit 1; }
echo "screenshots in $RAGD_SCREENSHOTS" >&2
