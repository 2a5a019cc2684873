#!/usr/bin/env bash
# The README's test command: brings what the tests need, then runs every test.
#   - Debian's chromium and fonts-noto-cjk (the browser test of the report), if absent;
#   - the project with its test extra in .venv (Playwright's Python package, pinned);
#   - then pytest with any arguments given (e.g. -m "not slow").
# Playwright drives Debian's chromium; `playwright install` is never run (it downloads a browser).
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
[ -x /usr/lib/chromium/chromium ] || missing+=(chromium)
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || missing+=(fonts-noto-cjk)
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "tests/run.sh: installing ${missing[*]} (apt-get)" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install --quiet -e ".[test]"
exec .venv/bin/python -m pytest "$@"
