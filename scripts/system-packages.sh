#!/usr/bin/env bash
# Installs the system packages the test suite needs, only when missing (Debian/Ubuntu, as root or via sudo).
# Another apt or dpkg run (unattended-upgrades, a second `make test`) holding the package manager's lock is
# waited for, up to APT_LOCK_WAIT seconds (default 600), instead of failing at once.
set -euo pipefail
APT_LOCK_WAIT="${APT_LOCK_WAIT:-600}"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"

# apt-get waiting for the lock: DPkg::Lock::Timeout covers the dpkg lock; `apt-get update` also takes the
# package lists' lock, which that option does not cover on every apt version, so a refused lock
# (exit code 100, "Could not get lock") is retried until the same deadline.
apt_get() {
  local deadline=$((SECONDS + APT_LOCK_WAIT)) output status
  while true; do
    status=0
    output=$(DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout="$APT_LOCK_WAIT" "$@" 2>&1) || status=$?
    if [ "$status" -eq 0 ]; then
      return 0
    fi
    if ! grep -q "Could not get lock\|Unable to acquire the dpkg frontend lock\|Unable to lock" <<<"$output" \
        || [ "$SECONDS" -ge "$deadline" ]; then
      echo "$output" >&2
      return "$status"
    fi
    echo "waiting for another package manager to finish ($(grep -m1 -o 'held by process [0-9]*.*' <<<"$output" || echo 'lock held'))" >&2
    sleep 5
  done
}

main() {
  local need=()
  command -v redis-server >/dev/null || need+=(redis-server)
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
  command -v chromium >/dev/null || need+=(chromium)
  command -v pdfsig >/dev/null || need+=(poppler-utils)
  # python-magic (documents: file types read from the content) loads libmagic.
  compgen -G '/usr/lib/*/libmagic.so.1' >/dev/null || need+=(libmagic1)
  if [ ${#need[@]} -gt 0 ]; then
    echo "installing system packages: ${need[*]}"
    apt_get update -qq
    apt_get install -y -qq "${need[@]}"
  fi
}

# Sourced (tests/test_cli_system_packages.py), it only defines apt_get.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  main
fi
