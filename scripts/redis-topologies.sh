#!/usr/bin/env bash
# Local Redis topologies for the store tests: a 3-master Redis Cluster and a Sentinel
# setup (1 master, 1 replica, 3 sentinels), in a temporary directory, on spare ports.
#
#   scripts/redis-topologies.sh start   # idempotent; prints the two URLs as `export` lines
#   scripts/redis-topologies.sh stop
#   scripts/redis-topologies.sh env     # the `export` lines only
#
# Ports (override the base with REDIS_TOPOLOGY_BASE_PORT, default 7100):
#   base+1..base+3    cluster masters
#   base+10, base+11  Sentinel master and replica (service name `axum-oidc`)
#   base+20..base+22  sentinels
set -euo pipefail

BASE=${REDIS_TOPOLOGY_BASE_PORT:-7100}
DIR=${REDIS_TOPOLOGY_DIR:-${TMPDIR:-/tmp}/axum-oidc-redis-topologies-$BASE}
SERVICE=axum-oidc
CLUSTER_PORTS=($((BASE + 1)) $((BASE + 2)) $((BASE + 3)))
MASTER=$((BASE + 10))
REPLICA=$((BASE + 11))
SENTINELS=($((BASE + 20)) $((BASE + 21)) $((BASE + 22)))

log() { echo "[redis-topologies] $*" >&2; }
up() { redis-cli -h 127.0.0.1 -p "$1" ping >/dev/null 2>&1; }

# Waits for a condition (a command), up to WAIT_SECONDS (default 10) seconds.
wait_for() {
  local i
  for i in $(seq 1 $((${WAIT_SECONDS:-10} * 10))); do
    if "$@"; then return 0; fi
    sleep 0.1
  done
  log "timed out waiting for: $*"
  return 1
}

server() { # port, extra args...
  local port=$1; shift
  up "$port" && return 0
  mkdir -p "$DIR/$port"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --dir "$DIR/$port" \
    --save "" --appendonly no --logfile "$DIR/$port/redis.log" \
    --pidfile "$DIR/$port/redis.pid" "$@"
}

cluster_ok() {
  redis-cli -h 127.0.0.1 -p "${CLUSTER_PORTS[0]}" cluster info 2>/dev/null \
    | grep -q 'cluster_state:ok'
}

start_cluster() {
  local port
  for port in "${CLUSTER_PORTS[@]}"; do
    server "$port" --cluster-enabled yes --cluster-config-file "$DIR/$port/nodes.conf" \
      --cluster-node-timeout 2000
  done
  for port in "${CLUSTER_PORTS[@]}"; do wait_for up "$port"; done
  if ! cluster_ok; then
    local nodes=()
    for port in "${CLUSTER_PORTS[@]}"; do nodes+=("127.0.0.1:$port"); done
    redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >/dev/null
  fi
  WAIT_SECONDS=30 wait_for cluster_ok
}

sentinels_agree() {
  local port
  for port in "${SENTINELS[@]}"; do
    redis-cli -h 127.0.0.1 -p "$port" sentinel get-master-addr-by-name "$SERVICE" 2>/dev/null \
      | grep -q . || return 1
    # Every sentinel knows the replica and the other sentinels, so a failover can
    # be elected.
    redis-cli -h 127.0.0.1 -p "$port" sentinel master "$SERVICE" 2>/dev/null \
      | tr '\n' ' ' | grep -Eq 'num-slaves 1 .*num-other-sentinels 2' || return 1
  done
}

replica_synced() {
  local port
  for port in $MASTER $REPLICA; do
    redis-cli -h 127.0.0.1 -p "$port" role 2>/dev/null | grep -q '^slave$' || continue
    redis-cli -h 127.0.0.1 -p "$port" info replication | grep -q 'master_link_status:up' \
      && return 0
  done
  return 1
}

start_sentinel() {
  # Either server may be the master after an earlier failover: only a fresh start
  # makes the replica follow the first one.
  if ! up "$MASTER" && ! up "$REPLICA"; then
    server "$MASTER"
    server "$REPLICA" --replicaof 127.0.0.1 "$MASTER"
  else
    server "$MASTER"
    up "$REPLICA" || server "$REPLICA" --replicaof 127.0.0.1 "$MASTER"
  fi
  wait_for up "$MASTER"
  wait_for up "$REPLICA"
  wait_for replica_synced
  local port conf
  for port in "${SENTINELS[@]}"; do
    up "$port" && continue
    mkdir -p "$DIR/$port"
    conf="$DIR/$port/sentinel.conf"
    if [ ! -f "$conf" ]; then
      cat >"$conf" <<EOF
port $port
bind 127.0.0.1
dir $DIR/$port
logfile $DIR/$port/sentinel.log
pidfile $DIR/$port/sentinel.pid
daemonize yes
sentinel monitor $SERVICE 127.0.0.1 $MASTER 2
sentinel down-after-milliseconds $SERVICE 1000
sentinel failover-timeout $SERVICE 5000
sentinel parallel-syncs $SERVICE 1
EOF
    fi
    redis-server "$conf" --sentinel
  done
  for port in "${SENTINELS[@]}"; do wait_for up "$port"; done
  # A sentinel learns of the replica from the master's INFO, asked every 10 s, and of
  # the other sentinels from hello messages every 2 s: give it several rounds.
  WAIT_SECONDS=60 wait_for sentinels_agree
}

urls() {
  local cluster="" s="" port
  for port in "${CLUSTER_PORTS[@]}"; do cluster+="${cluster:+,}127.0.0.1:$port"; done
  for port in "${SENTINELS[@]}"; do s+="${s:+,}127.0.0.1:$port"; done
  echo "export AXUM_OIDC_TEST_REDIS_CLUSTER_URL=redis+cluster://$cluster"
  echo "export AXUM_OIDC_TEST_REDIS_SENTINEL_URL=redis+sentinel://$s/$SERVICE"
}

stop() {
  local port
  for port in "${CLUSTER_PORTS[@]}" $MASTER $REPLICA "${SENTINELS[@]}"; do
    redis-cli -h 127.0.0.1 -p "$port" shutdown nosave >/dev/null 2>&1 || true
  done
  for port in "${CLUSTER_PORTS[@]}" $MASTER $REPLICA "${SENTINELS[@]}"; do
    wait_for bash -c "! redis-cli -h 127.0.0.1 -p $port ping >/dev/null 2>&1"
  done
  rm -rf "$DIR"
}

case "${1:-}" in
  start)
    start_cluster
    start_sentinel
    log "cluster on ${CLUSTER_PORTS[*]}, sentinels on ${SENTINELS[*]} ($DIR)"
    urls
    ;;
  stop) stop ;;
  env) urls ;;
  *)
    echo "usage: $0 start|stop|env" >&2
    exit 2
    ;;
esac
