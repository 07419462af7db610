#!/usr/bin/env bash
# Lint and type check, then the test suite twice: on SQLite and on PostgreSQL. Used by
# `make test` and CI.
#
#   PYTEST_ARGS="-x -k broker" scripts/test.sh     extra pytest arguments (shell-quoted)
#   TEST_BACKENDS="sqlite" scripts/test.sh          only some backends (sqlite, postgres)
#   TEST_PG_MODE=auto|throwaway|off                  auto (default): reuse a PostgreSQL that
#       answers at 127.0.0.1:5432 as user postgres, else start a throwaway cluster;
#       throwaway: always start a throwaway cluster; off: skip PostgreSQL.
#   TEST_PG_URL=postgres://user:pw@host:port/db      use this server instead (no detection)
#   scripts/test.sh --pg-selftest                   only start + check + remove a throwaway
#                                                   cluster (checks this script itself)
#
# PostgreSQL is required when CI=true (or REQUIRE_POSTGRES=1): if none can be found or
# started, the run fails; otherwise it is reported as skipped. Exit status is non-zero if
# ruff, mypy or any pytest run fails.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"
PG_DB_NAME="queuey_ci"

log() { printf '\n==> %s\n' "$*" >&2; }
warn() { printf 'test.sh: %s\n' "$*" >&2; }

require_pg() { [[ "${CI:-}" == "true" || "${REQUIRE_POSTGRES:-0}" == "1" ]]; }

as_root() {
    if [[ "$(id -u)" -eq 0 ]]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else warn "need root for: $*"; return 1
    fi
}

# ---------------------------------------------------------------------------------------
# PostgreSQL: an existing local server, or a throwaway cluster
# ---------------------------------------------------------------------------------------
PG_TMP=""
PG_BIN=""
PG_PORT=""

pg_bindir() {
    local d
    # Highest installed major version first (Debian layout), then whatever is on PATH.
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -V -r); do
        [[ -x "$d/initdb" && -x "$d/pg_ctl" && -x "$d/postgres" ]] && { echo "$d"; return 0; }
    done
    if command -v pg_config >/dev/null 2>&1; then
        d="$(pg_config --bindir 2>/dev/null || true)"
        [[ -n "$d" && -x "$d/initdb" && -x "$d/pg_ctl" ]] && { echo "$d"; return 0; }
    fi
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(readlink -f "$(command -v initdb)")"
        return 0
    fi
    return 1
}

install_pg_server() {
    command -v apt-get >/dev/null 2>&1 || { warn "PostgreSQL is not installed and apt-get is unavailable"; return 1; }
    warn "PostgreSQL server binaries not found: installing 'postgresql' with apt-get"
    as_root apt-get update || return 1
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql || return 1
}

# Run a command as the cluster owner: `postgres` when we are root (initdb refuses root).
as_pg() {
    if [[ "$(id -u)" -eq 0 ]]; then
        if command -v runuser >/dev/null 2>&1; then
            runuser -u postgres -- "$@"
        else
            su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
        fi
    else
        "$@"
    fi
}

free_port() {
    "$PY" - <<'EOF'
import socket
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
EOF
}

stop_throwaway_pg() {
    [[ -n "$PG_TMP" ]] || return 0
    if [[ -f "$PG_TMP/data/postmaster.pid" ]]; then
        (cd "$PG_TMP" && as_pg "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -m immediate -w -t 30 stop >/dev/null 2>&1) \
            || warn "pg_ctl stop failed (cluster in $PG_TMP)"
    fi
    rm -rf "$PG_TMP"
    warn "throwaway PostgreSQL on port $PG_PORT stopped and removed"
    PG_TMP=""
}

# Starts a cluster on a free port with trust auth; sets PG_URL. Cleaned up by the EXIT trap.
start_throwaway_pg() {
    PG_BIN="$(pg_bindir)" || { install_pg_server && PG_BIN="$(pg_bindir)"; } || return 1
    if [[ "$(id -u)" -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
        warn "running as root but there is no 'postgres' user to own the cluster (initdb refuses root)"
        return 1
    fi
    PG_TMP="$(mktemp -d "${TMPDIR:-/tmp}/queuey-pg.XXXXXX")"
    chmod 700 "$PG_TMP"
    [[ "$(id -u)" -eq 0 ]] && chown postgres: "$PG_TMP"
    PG_PORT="$(free_port)"
    log "starting a throwaway PostgreSQL ($("$PG_BIN/postgres" --version)) on 127.0.0.1:$PG_PORT in $PG_TMP"
    (
        cd "$PG_TMP"
        as_pg "$PG_BIN/initdb" -D "$PG_TMP/data" -U postgres --auth=trust --encoding=UTF8 \
            --locale=C --no-sync >"$PG_TMP/initdb.log" 2>&1 \
            || { cat "$PG_TMP/initdb.log" >&2; exit 1; }
        as_pg "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/postgres.log" -w -t 60 \
            -o "-p $PG_PORT -k $PG_TMP -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
            start >/dev/null \
            || { cat "$PG_TMP/postgres.log" >&2; exit 1; }
    ) || return 1
    PG_URL="postgres://postgres@127.0.0.1:$PG_PORT/$PG_DB_NAME"
}

# Does a PostgreSQL answer at host:port? pg_isready, else psql, else a bare TCP connect.
pg_answers() {
    local host="$1" port="$2"
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -h "$host" -p "$port" -t 3
    elif command -v psql >/dev/null 2>&1; then
        PGCONNECT_TIMEOUT=3 psql -h "$host" -p "$port" -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1
    else
        timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$host" "$port" 2>/dev/null
    fi
}

# Can we log in as postgres without a password (or with PGPASSWORD)? Unknown without psql.
pg_login_ok() {
    command -v psql >/dev/null 2>&1 || return 0
    PGCONNECT_TIMEOUT=5 psql "postgres://postgres@$1:$2/postgres" -Atc 'select 1' >/dev/null 2>&1
}

# Sets PG_URL and PG_WHERE, or returns 1 (with PG_WHY set).
choose_postgres() {
    local mode="${TEST_PG_MODE:-auto}"
    PG_URL="" PG_WHERE="" PG_WHY=""
    if [[ -n "${TEST_PG_URL:-}" ]]; then
        PG_URL="$TEST_PG_URL" PG_WHERE="TEST_PG_URL"
        return 0
    fi
    case "$mode" in
        off) PG_WHY="TEST_PG_MODE=off"; return 1 ;;
        auto)
            if pg_answers 127.0.0.1 5432; then
                if pg_login_ok 127.0.0.1 5432; then
                    PG_URL="postgres://postgres@127.0.0.1:5432/$PG_DB_NAME"
                    PG_WHERE="existing server at 127.0.0.1:5432"
                    return 0
                fi
                warn "a PostgreSQL answers at 127.0.0.1:5432 but refuses user postgres without a password; using a throwaway cluster"
            fi
            ;;
        throwaway) ;;
        *) PG_WHY="unknown TEST_PG_MODE=$mode"; return 1 ;;
    esac
    if start_throwaway_pg; then
        PG_WHERE="throwaway cluster on 127.0.0.1:$PG_PORT"
        return 0
    fi
    PG_WHY="no PostgreSQL at 127.0.0.1:5432 and none could be installed/started"
    return 1
}

cleanup() {
    # A background SQLite run must not outlive an interrupted script.
    if [[ -n "${SQLITE_PID:-}" ]]; then kill "$SQLITE_PID" 2>/dev/null || true; fi
    stop_throwaway_pg
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

pg_selftest() {
    TEST_PG_MODE=throwaway
    choose_postgres || { warn "selftest FAILED: $PG_WHY"; return 1; }
    local admin_url="${PG_URL%/*}/postgres"
    psql "$admin_url" -Atc "select 'selftest ok: ' || version()" || return 1
    psql "$admin_url" -qc "create database $PG_DB_NAME" && psql "$admin_url" -qc "drop database $PG_DB_NAME"
    echo "selftest: $PG_WHERE works (url $PG_URL)"
}

# ---------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------
if [[ "${1:-}" == "--pg-selftest" ]]; then
    pg_selftest
    exit $?
fi
[[ $# -eq 0 ]] || { warn "usage: $0 [--pg-selftest]  (pytest arguments go in PYTEST_ARGS)"; exit 2; }

[[ -x "$PY" ]] || { warn "no virtualenv at $VENV: run 'make install'"; exit 2; }
command -v redis-server >/dev/null 2>&1 || { warn "redis-server not found: run 'scripts/ensure_redis.sh install'"; exit 2; }
# The browser tests (tests/browser): Debian's chromium and the pinned axe-core, installed
# when missing. Without them those tests skip, except under CI=true, where they fail.
if ! "$ROOT/scripts/ensure_browser.sh"; then
    if [[ "${CI:-}" == "true" ]]; then warn "scripts/ensure_browser.sh failed (required when CI=true)"; exit 2; fi
    warn "scripts/ensure_browser.sh failed: tests/browser will be skipped"
fi
# tests/observability: Debian's prometheus + promtool (a real Prometheus, promtool checks).
"$ROOT/scripts/ensure_prometheus.sh" || { warn "scripts/ensure_prometheus.sh failed: tests/observability need prometheus and promtool"; exit 2; }

# PYTEST_ARGS is shell-quoted by the user (e.g. -k "a and b"): split it like a shell would.
declare -a PYTEST_EXTRA=()
eval "PYTEST_EXTRA=(${PYTEST_ARGS:-})"

BACKENDS="${TEST_BACKENDS:-sqlite postgres}"
declare -a SUMMARY=()
STATUS=0

log "ruff check ."
if "$VENV/bin/ruff" check .; then SUMMARY+=("ruff check          : passed")
else SUMMARY+=("ruff check          : FAILED"); STATUS=1; fi

# The packages and strictness are in pyproject.toml ([tool.mypy]).
log "mypy"
if "$VENV/bin/mypy"; then SUMMARY+=("mypy                : passed")
else SUMMARY+=("mypy                : FAILED"); STATUS=1; fi

# The two backends run side by side: most of the suite waits on real processes (leases,
# restarts, drains), so together they take little more than one alone. SQLite's output
# is kept in a file and shown when it is done.
SQLITE_LOG="$(mktemp -t queuey-sqlite-XXXXXX.log)"
SQLITE_PID=""
if [[ " $BACKENDS " == *" sqlite "* ]]; then
    log "pytest on SQLite (DATABASE_URL unset), in the background: $SQLITE_LOG"
    env -u DATABASE_URL "$VENV/bin/pytest" "${PYTEST_EXTRA[@]}" >"$SQLITE_LOG" 2>&1 &
    SQLITE_PID=$!
fi

if [[ " $BACKENDS " == *" postgres "* ]]; then
    if choose_postgres; then
        log "pytest on PostgreSQL ($PG_WHERE; DATABASE_URL=$PG_URL)"
        if DATABASE_URL="$PG_URL" "$VENV/bin/pytest" "${PYTEST_EXTRA[@]}"; then
            SUMMARY+=("pytest on PostgreSQL: passed ($PG_WHERE)")
        else
            SUMMARY+=("pytest on PostgreSQL: FAILED (exit $?; $PG_WHERE)"); STATUS=1
        fi
    elif require_pg; then
        SUMMARY+=("pytest on PostgreSQL: FAILED, not run: $PG_WHY (required when CI=true)"); STATUS=1
    else
        SUMMARY+=("pytest on PostgreSQL: SKIPPED: $PG_WHY")
    fi
else
    SUMMARY+=("pytest on PostgreSQL: not selected (TEST_BACKENDS)")
fi

if [[ -n "$SQLITE_PID" ]]; then
    if wait "$SQLITE_PID"; then SQLITE_RC=0; else SQLITE_RC=$?; fi
    log "pytest on SQLite: output"
    cat "$SQLITE_LOG"
    if [[ $SQLITE_RC -eq 0 ]]; then
        SUMMARY+=("pytest on SQLite    : passed")
    else
        SUMMARY+=("pytest on SQLite    : FAILED (exit $SQLITE_RC)"); STATUS=1
    fi
else
    SUMMARY+=("pytest on SQLite    : not selected (TEST_BACKENDS)")
fi
rm -f "$SQLITE_LOG"
stop_throwaway_pg

log "summary"
printf '  %s\n' "${SUMMARY[@]}"
[[ $STATUS -eq 0 ]] && echo "  => all passed" || echo "  => FAILED"
exit "$STATUS"
