#!/usr/bin/env bash
# Installs lmsim's build dependencies from Debian's packages (nothing else is downloaded).
set -euo pipefail
packages=(build-essential cmake pkg-config libsystemc-dev catch2 nlohmann-json3-dev libfmt-dev libcli11-dev python3
          libjs-chart.js chromium libpagmo-dev clang libfuzzer-14-dev
          slurm-wlm munge)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
