#!/usr/bin/env bash
# The test command: formatting, lints, then every test (unit, property, integration with the
# real model). Installs build prerequisites and fetches the models first.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ragd-target}"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo run --quiet --bin ragd -- models fetch
# Snapshot mismatches fail the run and write nothing (review with `cargo insta review` locally).
INSTA_UPDATE=no cargo test --workspace
cargo build --quiet --bin ragd
./scripts/dify_client_test.sh
./scripts/api_fuzz.sh
./scripts/web_test.sh
