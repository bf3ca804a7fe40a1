#!/usr/bin/env bash
# Installs the Debian packages named as arguments when their commands are missing.
# Needs root (CI and these machines run as root); otherwise says exactly what to install.
set -euo pipefail
declare -A command_of=([chromium]=chromium [autodock-vina]=vina [openbabel]=obabel)
missing=()
for package in "$@"; do
  command -v "${command_of[$package]:-$package}" >/dev/null 2>&1 || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "installing Debian packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
else
  echo "missing Debian packages: ${missing[*]}; install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
