#!/bin/sh
# What gradstep's tests need outside Python: a Chromium, in which
# tests/lab/test_report.py renders the HTML report, and its WebDriver
# (chromedriver), through which tests/playground/test_browser.py drives the
# playground. The README's test command and .ci/run call this first.
#
# A Chromium (chromium, chromium-browser or google-chrome) and chromedriver on
# PATH: nothing to do. Otherwise, as root or with passwordless sudo, and with
# apt-get: install Debian's chromium and chromium-driver packages quietly.
# Otherwise: stop with one line saying what to install. Only PATH is
# consulted, so a PATH without these programs shows the refusal
# (tests/test_install_test_dependencies.py does that).
set -eu

has_chromium() {
    for browser in chromium chromium-browser google-chrome; do
        command -v "$browser" >/dev/null 2>&1 && return 0
    done
    return 1
}

has_chromedriver() {
    command -v chromedriver >/dev/null 2>&1
}

refuse() {
    echo "gradstep's tests need Chromium and its WebDriver for the HTML report and" \
        "playground tests: install Debian's 'chromium' and 'chromium-driver' packages" \
        "(apt-get install chromium chromium-driver) and run again" >&2
    exit 1
}

has_chromium && has_chromedriver && exit 0
command -v apt-get >/dev/null 2>&1 || refuse
if [ "$(id -u)" = 0 ]; then
    as_root=env
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root="sudo -n env"
else
    refuse
fi
$as_root DEBIAN_FRONTEND=noninteractive apt-get update -qq || refuse
$as_root DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver \
    >/dev/null || refuse
has_chromium && has_chromedriver || refuse
