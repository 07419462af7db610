#!/usr/bin/env bash
# What tests/observability needs, installed when missing: Debian's `prometheus` package
# (2.42 on bookworm), which brings `prometheus` and `promtool`. Installed in a container
# it starts no service; the tests run their own Prometheus on a free port.
#
#   scripts/ensure_prometheus.sh          install it when missing (idempotent, quiet when done)
#   scripts/ensure_prometheus.sh check    exit 1 when missing, install nothing
set -euo pipefail

log() { printf 'ensure_prometheus: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

as_root() {
    if [[ "$(id -u)" -eq 0 ]]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else die "need root for: $*"
    fi
}

present() { command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; }

if present; then exit 0; fi
[[ "${1:-}" == "check" ]] && { log "prometheus / promtool missing"; exit 1; }
command -v apt-get >/dev/null 2>&1 || die "prometheus missing and apt-get is unavailable: install prometheus and promtool yourself"
log "installing Debian's prometheus with apt-get"
as_root apt-get update -q >/dev/null
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus >/dev/null
present || die "prometheus installed but prometheus / promtool are not on PATH"
log "installed: $(prometheus --version 2>&1 | head -1)"
