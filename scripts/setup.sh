#!/usr/bin/env bash
# Installs the system packages Lamina builds and tests with, when they are missing.
# Idempotent and quiet when everything is present; needs root (or sudo) only to install.
set -euo pipefail
need=()
for pkg in libopenblas-dev libpython3-dev pkg-config cmake valgrind; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
