#!/usr/bin/env bash
# Make sure a Redis server answers at $REDIS_URL (default redis://127.0.0.1:6379/0).
#
#   scripts/ensure_redis.sh           reuse a Redis that answers PING, or start a local one
#                                     (installing redis-server with apt-get when missing)
#   scripts/ensure_redis.sh install   only make sure the redis-server binary is installed
#                                     (the test suite starts its own servers on free ports)
#   scripts/ensure_redis.sh stop      stop the server this script started (var/redis.pid)
#
# A started server is a throwaway development server: no RDB snapshots, no AOF,
# maxmemory-policy noeviction (Queuey refuses eviction), files under var/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VAR="$ROOT/var"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"

log() { printf 'ensure_redis: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# --- parse redis[s]://[user[:password]@]host[:port][/db] ---------------------------------
parse_url() {
    local rest="$REDIS_URL"
    SCHEME="${rest%%://*}"
    [[ "$rest" == *"://"* ]] || die "REDIS_URL must look like redis://host:port/db, got '$REDIS_URL'"
    rest="${rest#*://}"
    rest="${rest%%/*}"
    PASSWORD=""
    if [[ "$rest" == *"@"* ]]; then
        local userinfo="${rest%@*}"
        rest="${rest##*@}"
        if [[ "$userinfo" == *":"* ]]; then PASSWORD="${userinfo#*:}"; else PASSWORD="$userinfo"; fi
    fi
    if [[ "$rest" == \[*\]* ]]; then            # [::1]:6379
        HOST="${rest%%]*}"; HOST="${HOST#[}"
        rest="${rest#*]}"; PORT="${rest#:}"
    else
        HOST="${rest%%:*}"
        if [[ "$rest" == *":"* ]]; then PORT="${rest##*:}"; else PORT=""; fi
    fi
    HOST="${HOST:-127.0.0.1}"
    PORT="${PORT:-6379}"
    [[ "$PORT" =~ ^[0-9]+$ ]] || die "bad port '$PORT' in REDIS_URL"
}

is_local_host() {
    case "$HOST" in 127.0.0.1|localhost|::1) return 0 ;; *) return 1 ;; esac
}

# --- PING: redis-cli when present, else bash's /dev/tcp ---------------------------------
ping_redis() {
    if command -v redis-cli >/dev/null 2>&1; then
        local out
        out="$(timeout 3 redis-cli -u "$REDIS_URL" --no-auth-warning ping 2>/dev/null || true)"
        [[ "$out" == "PONG" ]]
    else
        # shellcheck disable=SC2016
        timeout 3 bash -c '
            exec 3<>"/dev/tcp/$1/$2" || exit 1
            if [[ -n "$3" ]]; then
                printf "*2\r\n\$4\r\nAUTH\r\n\$%d\r\n%s\r\n" "${#3}" "$3" >&3
                IFS= read -r line <&3; [[ "$line" == +OK* ]] || exit 1
            fi
            printf "PING\r\n" >&3
            IFS= read -r line <&3
            [[ "$line" == +PONG* ]]
        ' _ "$HOST" "$PORT" "$PASSWORD" 2>/dev/null
    fi
}

warn_if_evicting() {
    command -v redis-cli >/dev/null 2>&1 || return 0
    local policy
    policy="$(timeout 3 redis-cli -u "$REDIS_URL" --no-auth-warning config get maxmemory-policy 2>/dev/null | sed -n 2p || true)"
    if [[ -n "$policy" && "$policy" != "noeviction" ]]; then
        log "WARNING: this Redis runs with maxmemory-policy=$policy; Queuey needs noeviction"
        log "         (fix: redis-cli -u \"\$REDIS_URL\" config set maxmemory-policy noeviction)"
    fi
}

as_root() {
    if [[ "$(id -u)" -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root to run '$*' (and sudo is not installed)"
    fi
}

install_redis_server() {
    command -v redis-server >/dev/null 2>&1 && return 0
    command -v apt-get >/dev/null 2>&1 \
        || die "redis-server is not installed and apt-get is unavailable: install Redis 7 yourself"
    log "redis-server not found: installing it with apt-get"
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server
    command -v redis-server >/dev/null 2>&1 || die "redis-server still missing after apt-get install"
}

start_redis() {
    is_local_host || die "nothing answers at $HOST:$PORT and it is not a local address: start that Redis yourself"
    [[ -z "$PASSWORD" ]] || die "nothing answers at $HOST:$PORT; not starting a local Redis for a URL with a password"
    install_redis_server
    mkdir -p "$VAR"
    local bind="127.0.0.1"
    [[ "$HOST" == "::1" ]] && bind="::1"
    log "starting redis-server on $bind:$PORT (log: var/redis.log)"
    redis-server --daemonize yes --port "$PORT" --bind "$bind" \
        --save "" --appendonly no --maxmemory-policy noeviction \
        --dir "$VAR" --logfile "$VAR/redis.log" --pidfile "$VAR/redis.pid"
    local i
    for i in $(seq 1 100); do
        if ping_redis; then
            log "redis-server is up on $bind:$PORT"
            return 0
        fi
        sleep 0.1
    done
    tail -n 20 "$VAR/redis.log" >&2 2>/dev/null || true
    die "redis-server did not answer PING on $bind:$PORT within 10 s"
}

stop_redis() {
    local pidfile="$VAR/redis.pid" pid
    if [[ ! -f "$pidfile" ]]; then
        log "no var/redis.pid: nothing started by this script"
        return 0
    fi
    pid="$(cat "$pidfile")"
    if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null \
        && [[ "$(cat "/proc/$pid/comm" 2>/dev/null || echo redis-server)" == redis-server* ]]; then
        log "stopping redis-server (pid $pid)"
        kill -TERM "$pid"
        local i
        for i in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$pid" 2>/dev/null && die "redis-server (pid $pid) did not stop"
    else
        log "redis-server from var/redis.pid is not running"
    fi
    rm -f "$pidfile"
}

main() {
    local cmd="${1:-ensure}"
    case "$cmd" in
        install) install_redis_server ;;
        stop) stop_redis ;;
        ensure)
            parse_url
            if ping_redis; then
                log "reusing the Redis that answers at $HOST:$PORT"
                warn_if_evicting
            else
                start_redis
            fi
            ;;
        *) die "usage: $0 [ensure|install|stop]" ;;
    esac
}

main "$@"
