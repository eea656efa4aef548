#!/usr/bin/env bash
# Make sure Debian's chromium is at /usr/bin/chromium for the browser tests (Playwright for
# Python drives it; `playwright install` is never used: its download host is not reachable).
# Idempotent. Without root or passwordless sudo it explains and exits 0: the browser tests
# then skip with that reason instead of failing.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
if [ -x "$CHROMIUM" ]; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO="sudo -n"
else
  echo "ensure-browser: $CHROMIUM is missing and this user cannot install packages;" >&2
  echo "ensure-browser: install it with 'apt-get install chromium' to run the browser tests" >&2
  echo "ensure-browser: (they are skipped until then)." >&2
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-browser: no apt-get here; install Chromium at $CHROMIUM to run the browser tests." >&2
  exit 0
fi

echo "ensure-browser: installing Debian's chromium for the browser tests" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
"$CHROMIUM" --version >&2 || true
