#!/usr/bin/env bash
# Install the Debian packages the lab needs; installs nothing when all are present.
set -euo pipefail
packages=(
  postgresql-15 postgresql-contrib postgresql-15-hypopg pgbouncer redis-server
  prometheus prometheus-postgres-exporter prometheus-redis-exporter
  chromium firefox-esr
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "system packages: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
