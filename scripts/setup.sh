#!/usr/bin/env bash
# Install everything modelport and its tests need into a virtual environment (.venv, or $MODELPORT_VENV):
# the Python package with its test and Spark extras, a JDK (java + javac, for the JPMML, Java and Spark
# checks) and gcc (for the TensorFlow C API check) when missing. A venv because a Debian/Ubuntu system
# Python refuses `pip install` (PEP 668); an existing venv is reused, so running this twice is cheap.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${MODELPORT_VENV:-.venv}"
py="${PYTHON:-python3}"
command -v "$py" >/dev/null 2>&1 || py=python
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
apt_install() {
  echo "installing $* with apt-get" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}
need_apt=()
command -v javac >/dev/null 2>&1 || need_apt+=(openjdk-17-jdk-headless)
command -v gcc >/dev/null 2>&1 || need_apt+=(gcc libc6-dev)
if [ ! -x "$venv/bin/python" ] && ! "$py" -c 'import ensurepip, venv' >/dev/null 2>&1; then
  need_apt+=(python3-venv)  # Debian ships venv's pip bootstrap separately
fi
[ ${#need_apt[@]} -eq 0 ] || apt_install "${need_apt[@]}"
if [ ! -x "$venv/bin/python" ]; then
  "$py" -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check -e '.[test,spark]'
