#!/bin/sh
# What gradstep's tests need outside Python: a Chromium, in which
# tests/lab/test_report.py renders the HTML report. The README's test command
# and .ci/run call this first.
#
# A Chromium on PATH (chromium, chromium-browser or google-chrome): nothing to do.
# Otherwise, as root or with passwordless sudo, and with apt-get: install
# Debian's chromium package quietly. Otherwise: stop with one line saying what
# to install. Only PATH is consulted, so a PATH without these programs shows
# the refusal (tests/test_install_test_dependencies.py does that).
set -eu

has_chromium() {
    for browser in chromium chromium-browser google-chrome; do
        command -v "$browser" >/dev/null 2>&1 && return 0
    done
    return 1
}

refuse() {
    echo "gradstep's tests need Chromium for the HTML report test: install Debian's" \
        "'chromium' package (apt-get install chromium) and run again" >&2
    exit 1
}

has_chromium && exit 0
command -v apt-get >/dev/null 2>&1 || refuse
if [ "$(id -u)" = 0 ]; then
    as_root=env
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root="sudo -n env"
else
    refuse
fi
$as_root DEBIAN_FRONTEND=noninteractive apt-get update -qq || refuse
$as_root DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || refuse
has_chromium || refuse
