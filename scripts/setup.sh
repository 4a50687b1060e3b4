#!/usr/bin/env bash
# Install everything modelport and its tests need: the Python package with its test extras, a JDK
# (java + javac, for the JPMML checks) and gcc (for the TensorFlow C API check) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
need_apt=()
command -v javac >/dev/null 2>&1 || need_apt+=(openjdk-17-jdk-headless)
command -v gcc >/dev/null 2>&1 || need_apt+=(gcc libc6-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing ${need_apt[*]} with apt-get" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
python -m pip install -q --disable-pip-version-check -e '.[test]'
