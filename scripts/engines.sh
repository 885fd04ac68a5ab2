#!/usr/bin/env bash
# Natter cluster engines as plain local processes (no Docker, no systemd).
#
#   scripts/engines.sh up     [redis|postgres|kafka|cassandra|opensearch ...]   start (no-op when already up), wait until ready
#   scripts/engines.sh down   [--wipe] [engine ...]                  stop; --wipe (or NATTER_ENGINES_WIPE=1) deletes data
#   scripts/engines.sh status [engine ...]                           state, pid and URL of each engine (exit 3 if one is down)
#   scripts/engines.sh env    [--export]                             only the NATTER_* lines: eval "$(scripts/engines.sh env --export)"
# No engine names = all five. `up` prints progress on stderr and the env lines on stdout.
#
# Versions and why:
# - Redis 7.0 and PostgreSQL 15: Debian 12 packages (apt-get installs them only when missing).
# - Kafka 4.1.1 (org.apache.kafka:kafka_2.13 from Maven Central, KRaft single node, no ZooKeeper).
#   Kafka 4.x dropped the oldest protocol versions (KIP-896), but kafkajs 2.2.4 negotiates newer ones
#   and was verified against 4.1.1: idempotent producer to an 8-partition topic, consumer group,
#   manual offset commits, admin create/fetch metadata, topic auto-creation. 4.1.1 is also a published
#   apache/kafka image tag, so docker-compose.yml uses the same broker. Override: NATTER_KAFKA_VERSION.
# - Cassandra 5.0.9 (org.apache.cassandra:cassandra-all, newest 5.0.x patch) on Java 17, with the JVM
#   flags of the release's conf/jvm17-server.options. CQL-ready ~6 s after launch alone, ~15 s beside Kafka. Override: NATTER_CASSANDRA_VERSION.
# - OpenSearch 2.19.6 (org.opensearch.distribution.integ-test-zip:opensearch, a zip from Maven Central, unpacked
#   into the data dir) on the system Java 17, single node, 512 MB heap, ~8-20 s to answer. Its only
#   analyzers are the core ones (no asciifolding, no ICU): Natter folds case and accents itself. It
#   refuses to run as root, so as root it runs as nobody:nogroup (setpriv) in a dir that user owns.
#   Override: NATTER_OPENSEARCH_VERSION.
#   Jars are fetched by `mvn dependency:copy-dependencies` on scripts/engines/pom.xml into
#   $NATTER_ENGINES_CACHE (Maven's local repo is kept there too, so a wiped cache really re-downloads).
# These are test engines: PostgreSQL runs with fsync/synchronous_commit/full_page_writes off and Redis
# without persistence, so a machine crash can lose or corrupt their data (use `down --wipe` then).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REDIS_PORT=${NATTER_REDIS_PORT:-6390}
# yes = an append-only file, so a Redis killed with -9 and started again keeps its data (the engine
# restart tests need that; a Redis that comes back empty has lost read models, a different fault).
REDIS_APPENDONLY=${NATTER_REDIS_APPENDONLY:-no}
PG_PORT=${NATTER_PG_PORT:-5442}
KAFKA_PORT=${NATTER_KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${NATTER_KAFKA_CONTROLLER_PORT:-9093}
CASSANDRA_PORT=${NATTER_CASSANDRA_PORT:-9042}
CASSANDRA_STORAGE_PORT=${NATTER_CASSANDRA_STORAGE_PORT:-7010}
KAFKA_VERSION=${NATTER_KAFKA_VERSION:-4.1.1}
CASSANDRA_VERSION=${NATTER_CASSANDRA_VERSION:-5.0.9}
# 9201/9301 rather than OpenSearch's 9200/9300, which a developer's own Elasticsearch or OpenSearch often holds.
OPENSEARCH_PORT=${NATTER_OPENSEARCH_PORT:-9201}
OPENSEARCH_TRANSPORT_PORT=${NATTER_OPENSEARCH_TRANSPORT_PORT:-9301}
OPENSEARCH_VERSION=${NATTER_OPENSEARCH_VERSION:-2.19.6}
DIR=${NATTER_ENGINES_DIR:-${TMPDIR:-/tmp}/natter-engines}
CACHE=${NATTER_ENGINES_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/natter/engines}
TIMEOUT=${NATTER_ENGINES_TIMEOUT:-180}      # seconds to wait for each engine to answer
STOP_TIMEOUT=${NATTER_ENGINES_STOP_TIMEOUT:-60}
ALL=(redis postgres kafka cassandra opensearch)

log() { printf '[engines] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
fail_with_log() { # name logfile message
  log "ERROR: $1: $3"
  [[ -f $2 ]] && { log "last lines of $2:"; tail -n 30 "$2" >&2; }
  exit 1
}
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
is_root() { [[ $(id -u) == 0 ]]; }

apt_install() { # packages...
  is_root || die "missing $*: install them (apt-get install $*) or run as root"
  log "apt-get install $*"
  apt-get update -qq >&2 || die "apt-get update failed"
  mkdir -p "$DIR"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >"$DIR/apt.log" 2>&1 \
    || fail_with_log apt "$DIR/apt.log" "apt-get install $* failed"
}

need_java() {
  command -v java >/dev/null || apt_install openjdk-17-jre-headless
  command -v mvn >/dev/null || apt_install maven
  local v; v=$(java -XshowSettings:properties -version 2>&1 | sed -n 's/.*java.specification.version = //p')
  (( ${v%%.*} >= 17 )) || die "Java 17+ is needed for Kafka 4 and Cassandra 5 (found $v)"
}

# pid from $1 if that process is alive and its command line contains $2.
live_pid() {
  local pid; pid=$(cat "$1" 2>/dev/null) || return 1
  [[ -n $pid ]] && grep -qa -- "$2" "/proc/$pid/cmdline" 2>/dev/null && echo "$pid"
}

# Start "$@" detached, stdout+stderr to $1, pid to $2.
spawn() {
  local logf=$1 pidf=$2; shift 2
  [[ -f $logf ]] && mv -f "$logf" "$logf.prev"
  setsid "$@" </dev/null >"$logf" 2>&1 &
  echo $! >"$pidf"
}

# Wait until `check` succeeds; give up if pid dies or TIMEOUT passes.  name logfile pidfile pattern check...
wait_ready() {
  local name=$1 logf=$2 pidf=$3 pat=$4; shift 4
  local deadline=$((SECONDS + TIMEOUT))
  until "$@"; do
    [[ -n $pat ]] && ! live_pid "$pidf" "$pat" >/dev/null && fail_with_log "$name" "$logf" "process exited during start-up"
    (( SECONDS < deadline )) || fail_with_log "$name" "$logf" "not ready after ${TIMEOUT}s"
    sleep 0.5
  done
}

# SIGTERM, wait up to STOP_TIMEOUT, then SIGKILL.  name pidfile pattern
stop_pid() {
  local pid; pid=$(live_pid "$2" "$3") || { rm -f "$2"; return 0; }
  log "stopping $1 (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_TIMEOUT))
  while live_pid "$2" "$3" >/dev/null; do   # not `kill -0`: an unreaped zombie would pass it
    if (( SECONDS >= deadline )); then log "$1 did not stop in ${STOP_TIMEOUT}s: SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; fi
    sleep 0.3
  done
  rm -f "$2"
}

port_free_or_die() { # name port envvar
  port_open "$2" && die "$1: port $2 is already in use by a process not started from $DIR; stop it or set $3"
  return 0
}

# Node probe with the repo's npm clients (kafkajs, cassandra-driver), when node_modules has them.
node_probe() { # engine address
  command -v node >/dev/null && [[ -d $ROOT/node_modules/kafkajs && -d $ROOT/node_modules/cassandra-driver ]] || return 2
  node "$ROOT/scripts/engines/probe.cjs" "$1" "$2" >>"$DIR/$1/probe.log" 2>&1
}

# Download the jars of a Java engine into the cache once.  profile version
fetch_jars() {
  local libs=$CACHE/$1-$2/libs
  [[ -f $libs/.complete ]] && { echo "$libs"; return; }
  need_java
  log "downloading $1 $2 from Maven Central into $libs"
  rm -rf "$libs.tmp"
  mkdir -p "$CACHE/$1-$2"
  mvn -B -q -Dstyle.color=never -f "$ROOT/scripts/engines/pom.xml" -P "$1" "-D$1.version=$2" "-Dmaven.repo.local=$CACHE/m2" \
    dependency:copy-dependencies "-DoutputDirectory=$libs.tmp" >"$CACHE/$1-$2/mvn.log" 2>&1 \
    || { rm -rf "$libs.tmp"; fail_with_log "$1" "$CACHE/$1-$2/mvn.log" "mvn could not fetch $1 $2 from Maven Central"; }
  rm -rf "$libs" && mv "$libs.tmp" "$libs" && touch "$libs/.complete"
  echo "$libs"
}

# ---------------------------------------------------------------- redis
redis_url() { echo "redis://127.0.0.1:$REDIS_PORT"; }
redis_ping() { [[ $(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]; }
redis_start() {
  local d=$DIR/redis; mkdir -p "$d"
  live_pid "$d/redis.pid" redis-server >/dev/null && return
  command -v redis-server >/dev/null || apt_install redis-server
  port_free_or_die redis "$REDIS_PORT" NATTER_REDIS_PORT
  [[ -f $d/redis.log ]] && mv -f "$d/redis.log" "$d/redis.log.prev"
  [[ $REDIS_APPENDONLY == yes || $REDIS_APPENDONLY == no ]] || die "NATTER_REDIS_APPENDONLY must be yes or no"
  # no persistence by default: it is a test engine (and `down` is `shutdown nosave`)
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$d" --daemonize yes \
    --pidfile "$d/redis.pid" --logfile "$d/redis.log" --save '' --appendonly "$REDIS_APPENDONLY" >&2 \
    || fail_with_log redis "$d/redis.log" "redis-server failed"
}
redis_wait() { wait_ready redis "$DIR/redis/redis.log" "$DIR/redis/redis.pid" "" redis_ping; }
redis_stop() {
  local d=$DIR/redis pid
  pid=$(live_pid "$d/redis.pid" redis-server) || return 0
  log "stopping redis (pid $pid)"
  redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  stop_pid redis "$d/redis.pid" redis-server
}
redis_status() { live_pid "$DIR/redis/redis.pid" redis-server && redis_ping; }

# ---------------------------------------------------------------- postgres
pg_url() { echo "postgres://natter:natter@127.0.0.1:$PG_PORT/natter"; }
pg_bin() { # newest installed server's bin dir (Debian keeps them in /usr/lib/postgresql/<ver>/bin)
  # shellcheck disable=SC2012
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}
as_pg() { if is_root; then runuser -u postgres -- "$@"; else "$@"; fi; }
pg_ready() { "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; }
pg_start() {
  local d=$DIR/postgres; mkdir -p "$d/run"
  [[ -x $(pg_bin)/initdb ]] || apt_install postgresql
  PGBIN=$(pg_bin)
  # Up already: leave it alone. A chown -R over a live server's data dir fails when the server
  # unlinks a file during the walk (every test file runs `up` while others keep PostgreSQL busy).
  if [[ -f $d/data/postmaster.pid ]] && as_pg "$PGBIN/pg_ctl" status -D "$d/data" >/dev/null 2>&1; then return; fi
  is_root && chown -R postgres:postgres "$d"
  as_pg test -w "$d" || die "postgres: the postgres user cannot write $d (choose a NATTER_ENGINES_DIR it can reach)"
  port_free_or_die postgres "$PG_PORT" NATTER_PG_PORT
  if [[ ! -f $d/data/PG_VERSION ]]; then
    log "postgres: initdb in $d/data"
    rm -rf "$d/data"
    echo natter >"$d/pwfile"; is_root && chown postgres:postgres "$d/pwfile"
    as_pg "$PGBIN/initdb" -D "$d/data" -U natter --pwfile="$d/pwfile" -E UTF8 --locale=C.UTF-8 \
      --auth-local=trust --auth-host=scram-sha-256 >"$d/initdb.log" 2>&1 \
      || { rm -rf "$d/data" "$d/pwfile"; fail_with_log postgres "$d/initdb.log" "initdb failed"; }
    rm -f "$d/pwfile"
    # test engine: durability off for speed (see the top of this file)
    cat >>"$d/data/postgresql.conf" <<EOF
# --- natter test engine (scripts/engines.sh) ---
max_connections = 200
shared_buffers = 128MB
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
    local fresh=1
  fi
  as_pg "$PGBIN/pg_ctl" start -D "$d/data" -l "$d/postgres.log" -w -t "$TIMEOUT" \
    -o "-h 127.0.0.1 -p $PG_PORT -k $d/run" >/dev/null || fail_with_log postgres "$d/postgres.log" "pg_ctl start failed"
  if [[ -n ${fresh:-} ]]; then
    as_pg "$PGBIN/createdb" -h "$d/run" -p "$PG_PORT" -U natter natter || die "postgres: createdb natter failed"
  fi
}
pg_wait() { PGBIN=${PGBIN:-$(pg_bin)}; wait_ready postgres "$DIR/postgres/postgres.log" /dev/null "" pg_ready; }
pg_stop() {
  local d=$DIR/postgres
  [[ -f $d/data/postmaster.pid && -n $(pg_bin) ]] || return 0
  PGBIN=$(pg_bin)
  as_pg "$PGBIN/pg_ctl" status -D "$d/data" >/dev/null 2>&1 || return 0   # stale pid file
  log "stopping postgres"
  as_pg "$PGBIN/pg_ctl" stop -D "$d/data" -m fast -w -t "$STOP_TIMEOUT" >/dev/null || die "postgres: pg_ctl stop failed"
}
pg_status() {
  [[ -f $DIR/postgres/data/postmaster.pid && -n $(pg_bin) ]] || return 1
  PGBIN=$(pg_bin); pg_ready && head -n 1 "$DIR/postgres/data/postmaster.pid"
}

# ---------------------------------------------------------------- kafka
kafka_url() { echo "127.0.0.1:$KAFKA_PORT"; }
kafka_start() {
  local d=$DIR/kafka; mkdir -p "$d/data"
  live_pid "$d/kafka.pid" kafka.Kafka >/dev/null && return
  local libs; libs=$(fetch_jars kafka "$KAFKA_VERSION")
  need_java
  port_free_or_die kafka "$KAFKA_PORT" NATTER_KAFKA_PORT
  port_free_or_die kafka-controller "$KAFKA_CONTROLLER_PORT" NATTER_KAFKA_CONTROLLER_PORT
  cat >"$d/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$d/data
num.partitions=8
auto.create.topics.enable=true
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
EOF
  cat >"$d/log4j2.properties" <<'EOF'
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = ${sys:natter.kafka.loglevel:-INFO}
rootLogger.appenderRef.out.ref = STDOUT
logger.state.name = state.change.logger
logger.state.level = WARN
EOF
  local java=(java -Xms256m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError
    -Djava.awt.headless=true "-Dlog4j2.configurationFile=$d/log4j2.properties" -cp "$libs/*")
  if [[ ! -f $d/data/meta.properties ]]; then
    local id; id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
    log "kafka: formatting $d/data (cluster id $id)"
    # `--cluster-id=…` in one word: an id that starts with '-' (1 in 64 base64url ids) would read as an option.
    "${java[@]}" -Dnatter.kafka.loglevel=WARN kafka.tools.StorageTool format "--cluster-id=$id" -c "$d/server.properties" \
      >"$d/format.log" 2>&1 || fail_with_log kafka "$d/format.log" "storage format failed"
  fi
  log "kafka $KAFKA_VERSION: starting on 127.0.0.1:$KAFKA_PORT"
  spawn "$d/kafka.log" "$d/kafka.pid" "${java[@]}" kafka.Kafka "$d/server.properties"
}
kafka_ready() {
  port_open "$KAFKA_PORT" && grep -q 'Kafka Server started' "$DIR/kafka/kafka.log" || return 1
  node_probe kafka "$(kafka_url)"; [[ $? != 1 ]]   # 2 = no node clients: the log line is enough
}
kafka_wait() { wait_ready kafka "$DIR/kafka/kafka.log" "$DIR/kafka/kafka.pid" kafka.Kafka kafka_ready; }
kafka_stop() { stop_pid kafka "$DIR/kafka/kafka.pid" kafka.Kafka; }
kafka_status() { live_pid "$DIR/kafka/kafka.pid" kafka.Kafka && port_open "$KAFKA_PORT"; }

# ---------------------------------------------------------------- cassandra
cassandra_url() { echo "127.0.0.1:$CASSANDRA_PORT"; }
cassandra_start() {
  local d=$DIR/cassandra; mkdir -p "$d/data" "$d/conf" "$d/triggers"
  live_pid "$d/cassandra.pid" CassandraDaemon >/dev/null && return
  local libs; libs=$(fetch_jars cassandra "$CASSANDRA_VERSION")
  need_java
  port_free_or_die cassandra "$CASSANDRA_PORT" NATTER_CASSANDRA_PORT
  port_free_or_die cassandra-storage "$CASSANDRA_STORAGE_PORT" NATTER_CASSANDRA_STORAGE_PORT
  # commitlog_sync group: a write is acknowledged once its commit log is synced (in groups, every
  # 10 ms). The default, periodic, acknowledges before the sync, and a node killed with -9 replays
  # its commit log only up to the last sync: the writes of the last seconds are lost. With replicas
  # (RF 3) another node has them; a single node must not lose what the projectors were told is written.
  cat >"$d/conf/cassandra.yaml" <<EOF
cluster_name: natter
num_tokens: 1
initial_token: 0
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "127.0.0.1:$CASSANDRA_STORAGE_PORT"
listen_address: 127.0.0.1
rpc_address: 127.0.0.1
storage_port: $CASSANDRA_STORAGE_PORT
native_transport_port: $CASSANDRA_PORT
start_native_transport: true
endpoint_snitch: SimpleSnitch
authenticator: AllowAllAuthenticator
authorizer: AllowAllAuthorizer
data_file_directories: [$d/data/data]
commitlog_directory: $d/data/commitlog
saved_caches_directory: $d/data/saved_caches
hints_directory: $d/data/hints
cdc_raw_directory: $d/data/cdc_raw
commitlog_sync: group
commitlog_sync_group_window: 10ms
auto_bootstrap: false
auto_snapshot: false
snapshot_before_compaction: false
materialized_views_enabled: false
sasi_indexes_enabled: false
transient_replication_enabled: false
concurrent_reads: 8
concurrent_writes: 8
concurrent_counter_writes: 8
concurrent_compactors: 1
disk_failure_policy: stop
commit_failure_policy: stop
EOF
  cat >"$d/conf/logback.xml" <<'EOF'
<configuration scan="false">
  <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="STDOUT"/></root>
</configuration>
EOF
  local jamm=("$libs"/jamm-*.jar)
  # JVM flags: the release's conf/jvm-server.options + conf/jvm17-server.options, heap kept small.
  local java=(java -Xms512m -Xmx1g -Xss256k -XX:+UseG1GC -XX:+ParallelRefProcEnabled -XX:MaxTenuringThreshold=1
    -XX:G1HeapRegionSize=16m -XX:MaxGCPauseMillis=300 -XX:+UseThreadPriorities -XX:+PerfDisableSharedMem
    -XX:+ExitOnOutOfMemoryError -Djava.net.preferIPv4Stack=true -Djdk.attach.allowAttachSelf=true
    --add-exports java.base/jdk.internal.misc=ALL-UNNAMED
    --add-exports java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED
    --add-exports java.rmi/sun.rmi.registry=ALL-UNNAMED --add-exports java.rmi/sun.rmi.server=ALL-UNNAMED
    --add-exports java.sql/java.sql=ALL-UNNAMED --add-exports java.base/java.lang.ref=ALL-UNNAMED
    --add-exports jdk.unsupported/sun.misc=ALL-UNNAMED --add-exports jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED
    --add-exports jdk.attach/sun.tools.attach=ALL-UNNAMED
    --add-opens java.base/java.lang.module=ALL-UNNAMED --add-opens java.base/jdk.internal.loader=ALL-UNNAMED
    --add-opens java.base/jdk.internal.ref=ALL-UNNAMED --add-opens java.base/jdk.internal.reflect=ALL-UNNAMED
    --add-opens java.base/jdk.internal.math=ALL-UNNAMED --add-opens java.base/jdk.internal.module=ALL-UNNAMED
    --add-opens java.base/jdk.internal.util.jar=ALL-UNNAMED --add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED
    --add-opens java.base/sun.nio.ch=ALL-UNNAMED --add-opens java.base/java.io=ALL-UNNAMED
    --add-opens java.base/java.lang.reflect=ALL-UNNAMED --add-opens jdk.compiler/com.sun.tools.javac=ALL-UNNAMED
    --add-opens java.base/java.lang=ALL-UNNAMED --add-opens java.base/java.util=ALL-UNNAMED
    -Dio.netty.tryReflectionSetAccessible=true -Dio.netty.allocator.useCacheForAllThreads=true
    -Dio.netty.allocator.maxOrder=11 "-javaagent:${jamm[0]}"
    "-Dcassandra.config=file://$d/conf/cassandra.yaml" "-Dcassandra.storagedir=$d/data"
    "-Dcassandra.logdir=$d" "-Dcassandra.triggers_dir=$d/triggers" "-Dlogback.configurationFile=file://$d/conf/logback.xml"
    -Dcassandra-foreground=yes -Dcassandra.skip_wait_for_gossip_to_settle=0 -Dcassandra.ring_delay_ms=0
    -Dcassandra.superuser_setup_delay_ms=0 -cp "$libs/*")
  log "cassandra $CASSANDRA_VERSION: starting on 127.0.0.1:$CASSANDRA_PORT"
  spawn "$d/cassandra.log" "$d/cassandra.pid" "${java[@]}" org.apache.cassandra.service.CassandraDaemon
}
cassandra_ready() {
  port_open "$CASSANDRA_PORT" && grep -q 'Starting listening for CQL clients' "$DIR/cassandra/cassandra.log" || return 1
  node_probe cassandra "$(cassandra_url)"; [[ $? != 1 ]]
}
cassandra_wait() { wait_ready cassandra "$DIR/cassandra/cassandra.log" "$DIR/cassandra/cassandra.pid" CassandraDaemon cassandra_ready; }
cassandra_stop() { stop_pid cassandra "$DIR/cassandra/cassandra.pid" CassandraDaemon; }
cassandra_status() { live_pid "$DIR/cassandra/cassandra.pid" CassandraDaemon && port_open "$CASSANDRA_PORT"; }

# ---------------------------------------------------------------- opensearch
opensearch_url() { echo "http://127.0.0.1:$OPENSEARCH_PORT"; }
# In every command line from setpriv through bin/opensearch to the JVM it execs.
opensearch_pat() { echo "$DIR/opensearch/opensearch-"; }
opensearch_start() {
  local d=$DIR/opensearch; mkdir -p "$d"
  live_pid "$d/opensearch.pid" "$(opensearch_pat)" >/dev/null && return
  local libs; libs=$(fetch_jars opensearch "$OPENSEARCH_VERSION")
  need_java
  port_free_or_die opensearch "$OPENSEARCH_PORT" NATTER_OPENSEARCH_PORT
  port_free_or_die opensearch-transport "$OPENSEARCH_TRANSPORT_PORT" NATTER_OPENSEARCH_TRANSPORT_PORT
  # Unpacked into the data dir, not the cache: the cache may sit under a home only root can enter.
  local home=$d/opensearch-$OPENSEARCH_VERSION
  if [[ ! -f $home/.complete ]]; then
    log "opensearch: unpacking $OPENSEARCH_VERSION into $d"
    rm -rf "$home" "$d/unpack"
    mkdir -p "$d/unpack"
    unzip -q "$libs/opensearch-$OPENSEARCH_VERSION.zip" -d "$d/unpack" || die "opensearch: unzip failed"
    mv "$d/unpack/opensearch-$OPENSEARCH_VERSION" "$home" && rm -rf "$d/unpack" && touch "$home/.complete"
  fi
  mkdir -p "$d/data" "$d/logs"
  local as=()
  if is_root; then
    chown -R nobody:nogroup "$d"
    as=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
  fi
  local javaHome; javaHome=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
  log "opensearch $OPENSEARCH_VERSION: starting on 127.0.0.1:$OPENSEARCH_PORT"
  # Single node on loopback (so no production bootstrap checks); disk watermarks off: a test engine
  # on a nearly full laptop disk should not turn its indices read-only.
  spawn "$d/opensearch.log" "$d/opensearch.pid" "${as[@]}" env OPENSEARCH_JAVA_HOME="$javaHome" \
    OPENSEARCH_JAVA_OPTS="-Xms512m -Xmx512m" "$home/bin/opensearch" \
    -Ediscovery.type=single-node -Enetwork.host=127.0.0.1 -Ehttp.port="$OPENSEARCH_PORT" \
    -Etransport.port="$OPENSEARCH_TRANSPORT_PORT" -Epath.data="$d/data" -Epath.logs="$d/logs" \
    -Ecluster.name=natter -Ecluster.routing.allocation.disk.threshold_enabled=false
}
opensearch_ready() {
  curl -fsS --max-time 2 "$(opensearch_url)/_cluster/health?wait_for_status=yellow&timeout=1s" >/dev/null 2>&1
}
opensearch_wait() { wait_ready opensearch "$DIR/opensearch/opensearch.log" "$DIR/opensearch/opensearch.pid" "$(opensearch_pat)" opensearch_ready; }
opensearch_stop() { stop_pid opensearch "$DIR/opensearch/opensearch.pid" "$(opensearch_pat)"; }
opensearch_status() { live_pid "$DIR/opensearch/opensearch.pid" "$(opensearch_pat)" && opensearch_ready; }

# ---------------------------------------------------------------- commands
fn() { case $1 in postgres) echo "pg_$2" ;; *) echo "$1_$2" ;; esac; }

print_env() {
  local p=${1:-}
  echo "${p}NATTER_REDIS_URL=$(redis_url)"
  echo "${p}NATTER_PG_URL=$(pg_url)"
  echo "${p}NATTER_KAFKA_BROKERS=$(kafka_url)"
  echo "${p}NATTER_CASSANDRA_CONTACT_POINTS=$(cassandra_url)"
  echo "${p}NATTER_CASSANDRA_DC=datacenter1"
  echo "${p}NATTER_OPENSEARCH_URL=$(opensearch_url)"
}

cmd=${1:-}; [[ $# -gt 0 ]] && shift
wipe=${NATTER_ENGINES_WIPE:-0}; export_prefix=''; engines=()
for a in "$@"; do
  case $a in
    --wipe) wipe=1 ;;
    --export) export_prefix='export ' ;;
    redis|postgres|kafka|cassandra|opensearch) engines+=("$a") ;;
    *) die "unknown argument: $a (engines: ${ALL[*]})" ;;
  esac
done
(( ${#engines[@]} )) || engines=("${ALL[@]}")

case $cmd in
  up)
    mkdir -p "$DIR" "$CACHE"
    # Test files start the engines they need concurrently: one `up` at a time, the others then find them up.
    # The engines started below inherit fd 9; unlock explicitly (it is one open file) or they would hold it forever.
    exec 9>"$DIR/.up.lock"; flock 9; trap 'flock -u 9 2>/dev/null || true' EXIT
    t0=$SECONDS
    for e in "${engines[@]}"; do "$(fn "$e" start)"; done   # Java engines boot in parallel
    for e in "${engines[@]}"; do t=$SECONDS; "$(fn "$e" wait)"; log "$e ready ($((SECONDS - t))s waited)"; done
    log "all up in $((SECONDS - t0))s (data: $DIR)"
    print_env
    ;;
  down)
    for ((i = ${#engines[@]} - 1; i >= 0; i--)); do
      e=${engines[i]}; "$(fn "$e" stop)"
      if [[ $wipe == 1 ]]; then log "wiping $DIR/$e"; rm -rf "${DIR:?}/$e"; fi
    done
    ;;
  status)
    rc=0
    for e in "${engines[@]}"; do
      if pid=$("$(fn "$e" status)" 2>/dev/null); then st="up (pid ${pid%%$'\n'*})"; else st=down; rc=3; fi
      printf '%-10s %-16s %s\n' "$e" "$st" "$("$(fn "$e" url)")"
    done
    exit $rc
    ;;
  env) print_env "$export_prefix" ;;
  *) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
