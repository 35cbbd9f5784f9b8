#!/usr/bin/env bash
# Installs what building ragd needs on a Debian machine (protoc for lance's prost-build, Python
# venv for the model quantizer, pdftotext for the PDF tests), once.
# Safe to run repeatedly; does nothing when everything is there.
set -euo pipefail

need=()
command -v protoc >/dev/null || need+=(protobuf-compiler)
command -v pdftotext >/dev/null || need+=(poppler-utils)
# `ragd models fetch` makes the int8-dynamic model with ONNX Runtime's Python quantizer in a venv.
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3 python3-venv)
if ((${#need[@]})); then
  if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
  echo "installing ${need[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v cargo >/dev/null || { echo "error: cargo not found; install Rust from https://rustup.rs" >&2; exit 1; }
