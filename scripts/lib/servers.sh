# Shared shell functions: install what is missing, and run RabbitMQ and PostgreSQL as plain processes
# on loopback with their data under a folder of ours (no Docker engine needed). Sourced by scripts/*.

RABBIT_BIN=/usr/lib/rabbitmq/bin
PG_BIN=/usr/lib/postgresql/15/bin

log() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The ports of each script, so that scripts/up's suite, the tests, a chaos run and the benchmark run side by
# side on one machine (each block is the script's alone; the variables move a block):
#   scripts/up          HTTP 8080-8179 (UNDERSIGNED_LOCAL_HTTP_PORT), AMQP 5672, PostgreSQL 5432
#   scripts/test        AMQP 5673 (UNDERSIGNED_TEST_AMQP_PORT), PostgreSQL 5442; `swift test` picks free HTTP ports
#   scripts/chaos       HTTP 8500-8599 (UNDERSIGNED_CHAOS_INTAKE_PORT), AMQP 5674, PostgreSQL 5443
#   scripts/bench       HTTP 8300-8399 (UNDERSIGNED_BENCH_HTTP_PORT), AMQP 5676, PostgreSQL 5445
#   scripts/api-check   HTTP 8400-8499 (UNDERSIGNED_API_HTTP_PORT), AMQP 5677, PostgreSQL 5446
# RabbitMQ also takes AMQP+10000 (management), AMQP+10020 (Prometheus) and AMQP+20000 (distribution).

# port_taken PORT: something listens on 127.0.0.1:PORT.
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# need_port PORT WHAT: dies, saying what to change, when something else listens on PORT.
need_port() {
  port_taken "$1" && die "port $1 is taken (something else listens on 127.0.0.1:$1): $2"
  return 0
}

# ensure_packages PKG...: apt-get installs the Debian packages that are not installed yet.
ensure_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  # The Debian packages try to start system-wide servers; we run our own instead.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod +x /usr/sbin/policy-rc.d
    local made_policy=1
  fi
  $sudo apt-get update -qq >/dev/null || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get install ${missing[*]} failed"
  [ -n "${made_policy:-}" ] && $sudo rm -f /usr/sbin/policy-rc.d
  return 0
}

ensure_suite_packages() {
  ensure_packages rabbitmq-server postgresql-15 librabbitmq-dev libpq-dev pkg-config curl ca-certificates
}

# python_tools DIR "REQUIREMENTS": a virtualenv at DIR with exactly these PyPI packages (made again
# when the list changes).
python_tools() {
  local dir=$1 requirements=$2
  ensure_packages python3 python3-venv
  if [ "$(cat "$dir/requirements" 2>/dev/null)" != "$requirements" ]; then
    log "installing $requirements into $dir"
    python3 -m venv "$dir"
    # shellcheck disable=SC2086
    "$dir/bin/pip" install -q $requirements || die "pip could not install $requirements"
    echo "$requirements" > "$dir/requirements"
  fi
}

# What the tests need besides: a headless browser for the stage page.
ensure_test_packages() {
  ensure_packages chromium chromium-driver zbar-tools
}

# start_rabbitmq DIR NODE AMQP_PORT MGMT_PORT DIST_PORT [PLUGINS]
start_rabbitmq() {
  local dir=$1 node=$2 amqp=$3 mgmt=$4 dist=$5
  local plugins=${6-rabbitmq_management,rabbitmq_prometheus,rabbitmq_consistent_hash_exchange}
  mkdir -p "$dir"
  echo "[$plugins]." > "$dir/enabled_plugins"
  cat > "$dir/rabbitmq.conf" <<CONF
listeners.tcp.default = 127.0.0.1:$amqp
management.tcp.ip = 127.0.0.1
management.tcp.port = $mgmt
prometheus.tcp.port = $((mgmt + 20))
loopback_users = none
max_message_size = 4194304
log.console = false
log.file.level = warning
CONF
  if rabbitmq_running "$dir" "$node"; then log "RabbitMQ $node already running on 127.0.0.1:$amqp"; return 0; fi
  for port in "$amqp" "$mgmt" "$((mgmt + 20))" "$dist"; do
    need_port "$port" "RabbitMQ $node cannot listen there; choose another AMQP port (see the port plan in scripts/lib/servers.sh)"
  done
  log "starting RabbitMQ $node on 127.0.0.1:$amqp (data in $dir)"
  (rabbit_env "$dir" "$node" "$dist"; "$RABBIT_BIN/rabbitmq-server" -detached >/dev/null 2>&1) \
    || die "rabbitmq-server did not start; see $dir/log"
  (rabbit_env "$dir" "$node" "$dist"; "$RABBIT_BIN/rabbitmqctl" -q -n "$node@localhost" wait "$dir/pid" --timeout 90 >/dev/null) \
    || die "RabbitMQ did not become ready; see $dir/log"
}

rabbit_env() {
  export RABBITMQ_NODENAME="$2@localhost" RABBITMQ_DIST_PORT="$3" \
    RABBITMQ_MNESIA_BASE="$1/mnesia" RABBITMQ_LOG_BASE="$1/log" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$1/enabled_plugins" RABBITMQ_CONFIG_FILE="$1/rabbitmq" \
    RABBITMQ_PID_FILE="$1/pid" HOME="$1"
}

# start_service DIR NAME INDEX ENV...: starts instance INDEX of service NAME ($BIN/undersigned-NAME) in
# the background with ENV, its log appended to DIR/logs/NAME-INDEX.log, its pid in DIR/run/NAME-INDEX.pid.
# Migrations are left to `undersigned migrate`. Workers run niced: sharing one machine, intake's latency
# is what signers feel, and a backlog of the workers waits safely in the broker (measured: intake's p99 at
# half its peak rate halves). Started from a subshell, so a caller's shell reports no job notices on kills.
start_service() {
  local dir=$1 name=$2 index=$3 niceness=10; shift 3
  [ "$name" = intake ] && niceness=0
  (env "$@" UNDERSIGNED_MIGRATE_ON_START=false nohup nice -n "$niceness" "$BIN/undersigned-$name" \
     >> "$dir/logs/$name-$index.log" 2>&1 &
   echo $! > "$dir/run/$name-$index.pid")
}

# exited PID [TENTHS]: waits up to TENTHS tenths of a second (default 300) until the process has let go of
# everything it held (its ports, its files): it no longer exists, or only its zombie, with no thread left,
# waits to be reaped (`kill -0` still succeeds on a zombie). Fails if it is still there.
exited() {
  local pid=$1 tenths=${2:-300}
  for _ in $(seq 1 "$tenths"); do
    [ -r "/proc/$pid/status" ] || return 0
    awk '/^State:/ {z = ($2 == "Z")} /^Threads:/ {t = $2} END {exit !(z && t <= 1)}' "/proc/$pid/status" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

rabbitmq_running() {
  [ -f "$1/pid" ] && kill -0 "$(cat "$1/pid" 2>/dev/null)" 2>/dev/null
}

# rabbitmqctl_in DIR NODE ARGS...: rabbitmqctl against our node.
rabbitmqctl_in() {
  local dir=$1 node=$2; shift 2
  (export HOME="$dir"; "$RABBIT_BIN/rabbitmqctl" -q -n "$node@localhost" "$@")
}

stop_rabbitmq() {
  local dir=$1 node=$2
  rabbitmq_running "$dir" "$node" || return 0
  log "stopping RabbitMQ $node"
  rabbitmqctl_in "$dir" "$node" stop >/dev/null 2>&1 || kill "$(cat "$dir/pid")" 2>/dev/null || true
  for _ in $(seq 1 100); do rabbitmq_running "$dir" "$node" || break; sleep 0.2; done
  rm -f "$dir/pid"
}

# start_postgres DIR PORT: initdb on first use, then start; user `undersigned`, trust auth on loopback only.
start_postgres() {
  local dir=$1 port=$2
  mkdir -p "$dir"
  chown postgres "$dir"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    log "initialising PostgreSQL in $dir/data"
    runuser -u postgres -- "$PG_BIN/initdb" -D "$dir/data" -A trust -U undersigned -E UTF8 --locale=C.UTF-8 >/dev/null \
      || die "initdb failed"
    cat >> "$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
shared_buffers = 256MB
max_connections = 200
synchronous_commit = on
CONF
  fi
  if postgres_running "$dir"; then log "PostgreSQL already running on 127.0.0.1:$port"; return 0; fi
  need_port "$port" "PostgreSQL for $dir cannot listen there; choose another port (see the port plan in scripts/lib/servers.sh)"
  log "starting PostgreSQL on 127.0.0.1:$port (data in $dir/data)"
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 start >/dev/null \
    || die "PostgreSQL did not start; see $dir/log"
}

postgres_running() {
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$1/data" status >/dev/null 2>&1
}

stop_postgres() {
  local dir=$1
  postgres_running "$dir" || return 0
  log "stopping PostgreSQL"
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}

# local_settings: where scripts/up and scripts/down keep the local suite, and its ports.
local_settings() {
  LOCAL=${UNDERSIGNED_LOCAL:-$PWD/.local}
  NODE=${UNDERSIGNED_LOCAL_NODE:-undersigned}
  AMQP_PORT=${UNDERSIGNED_LOCAL_AMQP_PORT:-5672}
  PG_PORT=${UNDERSIGNED_LOCAL_PG_PORT:-5432}
  HTTP_PORT=${UNDERSIGNED_LOCAL_HTTP_PORT:-8080}
  BUILD=${UNDERSIGNED_BUILD:-release}
}
