#!/usr/bin/env bash
# What the browser tests (tests/browser) need, installed when missing:
#   - Debian's `chromium` at /usr/bin/chromium (apt-get). Playwright drives it through
#     executable_path; Playwright's own browser builds are never downloaded.
#   - the axe-core npm package, pinned, under var/axe-core/ (npm; node and npm come from
#     apt-get when missing). The tests inject its axe.min.js into each dashboard page.
#
#   scripts/ensure_browser.sh          install what is missing (idempotent, quiet when done)
#   scripts/ensure_browser.sh check    exit 1 when something is missing, install nothing
#
# Playwright for Python itself is pinned in requirements-dev.txt (make install).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
AXE_CORE_VERSION="4.14.1"
AXE_DIR="$ROOT/var/axe-core"
AXE_PKG="$AXE_DIR/node_modules/axe-core"
CHROMIUM="/usr/bin/chromium"

log() { printf 'ensure_browser: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

as_root() {
    if [[ "$(id -u)" -eq 0 ]]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else die "need root for: $*"
    fi
}

APT_UPDATED=""
apt_install() {
    command -v apt-get >/dev/null 2>&1 || die "$* missing and apt-get is unavailable: install it yourself"
    if [[ -z "$APT_UPDATED" ]]; then
        as_root apt-get update -q >/dev/null
        APT_UPDATED=1
    fi
    log "installing with apt-get: $*"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null
}

axe_version() {
    [[ -f "$AXE_PKG/package.json" && -f "$AXE_PKG/axe.min.js" ]] || return 1
    sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$AXE_PKG/package.json" | head -1
}

chromium_ok() { [[ -x "$CHROMIUM" ]]; }
axe_ok() { [[ "$(axe_version || true)" == "$AXE_CORE_VERSION" ]]; }

if [[ "${1:-}" == "check" ]]; then
    chromium_ok || { log "$CHROMIUM missing"; exit 1; }
    axe_ok || { log "axe-core $AXE_CORE_VERSION missing under $AXE_DIR"; exit 1; }
    exit 0
fi
[[ $# -eq 0 ]] || die "usage: $0 [check]"

if ! chromium_ok; then
    apt_install chromium
    chromium_ok || die "$CHROMIUM still missing after apt-get install chromium"
fi

if ! axe_ok; then
    command -v npm >/dev/null 2>&1 || apt_install nodejs npm
    log "installing axe-core@$AXE_CORE_VERSION into ${AXE_DIR#"$ROOT"/}"
    mkdir -p "$AXE_DIR"
    npm install --prefix "$AXE_DIR" --no-audit --no-fund --no-save --loglevel=error \
        "axe-core@$AXE_CORE_VERSION" >/dev/null
    axe_ok || die "axe-core $AXE_CORE_VERSION still missing under $AXE_DIR after npm install"
fi
