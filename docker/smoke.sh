#!/usr/bin/env bash
# Builds the dex-spectro image without a container registry and smoke-runs
# it as a container runtime would.
#
# docker/Dockerfile's stages start from registry images (golang,
# distroless/base). Here the binary is built on this machine instead, and
# the base is assembled locally: the shared libraries the binary links and
# this machine's CA certificates, which is what distroless/base provides to
# it. On top go the files docker/rootfs.sh lays out, as in the Dockerfile,
# and the Dockerfile's runtime settings (USER, ENTRYPOINT, CMD, EXPOSE,
# VOLUME), read from the Dockerfile itself. The container runs with buildah
# (chroot isolation, the host's network), with the image's entrypoint and
# user:
#
#   1. `dex version` prints Dex's version;
#   2. the default command serves /etc/dex/config.docker.yaml rendered from
#      environment variables, answers /healthz/ready, and runs as uid 1001
#      with its sqlite3 database in the /var/dex volume;
#   3. the official Helm chart's args serve a templated /etc/dex/config.yaml
#      (mounted read-only) with a spectrocloud connector, Dex's web assets
#      from /srv/dex/web and a secret from the environment, and answer
#      /healthz/live and /healthz/ready;
#   4. a template with an unknown function stops `dex serve` with an error
#      naming the file, the line and the function.
#
# What it cannot show: that the Dockerfile itself builds (its base images
# cannot be pulled here), and the image on another architecture.
#
# Needs root, buildah, go with a C compiler, and curl. Exits non-zero on any
# failure; every wait is bounded.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in buildah go curl; do
  command -v "$tool" >/dev/null || { echo "smoke: FAIL: $tool is not installed" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "smoke: FAIL: needs root (buildah with chroot isolation)" >&2; exit 1; }

work=$(mktemp -d)
image="localhost/dex-spectro-smoke:$$"
ctr=""
pids=()

cleanup() {
  local p s
  # buildah run does not pass signals on to the container's process: stop
  # the servers themselves.
  for p in "${pids[@]}"; do
    s=$(server "$p" pid)
    [ -z "$s" ] || kill -KILL "$s" 2>/dev/null || true
    kill "$p" 2>/dev/null || true
  done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "$ctr" ]; then
    buildah umount "$ctr" >/dev/null 2>&1 || true
    buildah rm "$ctr" >/dev/null 2>&1 || true
  fi
  buildah rmi -f "$image" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
[ -n "${SMOKE_DEBUG:-}" ] && set -x

step() { echo "smoke: $*"; }
fail() { echo "smoke: FAIL: $*" >&2; exit 1; }

# free_port prints a loopback port that nothing listens on.
free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 30000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
  fail "no free port found"
}

# wait_http URL STATUS SECONDS LOG: polls URL until it answers STATUS.
wait_http() {
  local url=$1 want=$2 secs=$3 log=$4 got
  for _ in $(seq 1 $((secs * 5))); do
    got=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" || true)
    [ "$got" = "$want" ] && return 0
    sleep 0.2
  done
  echo "--- container output:" >&2
  cat "$log" >&2 || true
  fail "$url did not answer $want within ${secs}s (last: $got)"
}

# server PID FIELD: the pid or uid (FIELD) of the server process that the
# background container command PID runs, as the host sees it.
server() {
  ps -eo pid=,ppid=,uid=,args= | awk -v root="$1" -v field="$2" '
    { parent[$1] = $2; uid[$1] = $3; cmd[$1] = $4 }
    END {
      for (p in parent) {
        if (cmd[p] != "/usr/local/bin/dex-spectro") continue
        for (a = parent[p]; a != "" && a != 0 && a != 1; a = parent[a]) {
          if (a == root) { print (field == "uid" ? uid[p] : p); exit }
        }
      }
    }'
}

# stop PID LOG: sends SIGTERM to the server that the background container
# command PID runs, as a container runtime does to the container's process,
# and checks that it exits 0 and that PID ends with it.
stop() {
  local pid=$1 log=$2 status=0 server_pid
  server_pid=$(server "$pid" pid)
  [ -n "$server_pid" ] || fail "no server process found under pid $pid"
  kill -TERM "$server_pid"
  for _ in $(seq 1 150); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    tail -5 "$log" >&2
    kill -KILL "$server_pid" 2>/dev/null || true
    fail "the server did not stop within 30s of SIGTERM"
  fi
  wait "$pid" || status=$?
  [ "$status" = 0 ] || { cat "$log" >&2; fail "the server exited $status after SIGTERM"; }
}

step "build the binary"
CGO_ENABLED=1 go build -ldflags "-X github.com/dex-spectro/dex-spectro/internal/buildinfo.Version=smoke" \
  -o "$work/dex-spectro" ./cmd/dex-spectro

step "lay out the image's files (docker/rootfs.sh) on a local base"
rootfs="$work/rootfs"
docker/rootfs.sh "$work/dex-spectro" "$(go list -m -f '{{.Dir}}' github.com/dexidp/dex)/web" "$rootfs"
for lib in $(ldd "$work/dex-spectro" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
done
[ -f /etc/ssl/certs/ca-certificates.crt ] || fail "/etc/ssl/certs/ca-certificates.crt is missing (install ca-certificates)"
mkdir -p "$rootfs/etc/ssl/certs"
cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/"

step "read the runtime settings of docker/Dockerfile"
runtime=$(awk '/^FROM /{buf=""} {buf = buf $0 "\n"} END {printf "%s", buf}' docker/Dockerfile)
setting() { sed -n "s/^$1 //p" <<<"$runtime"; }
user=$(setting USER)
entrypoint=$(setting ENTRYPOINT)
cmd=$(setting CMD)
ports=$(setting EXPOSE)
volume=$(sed -n 's/^VOLUME \["\([^"]*\)"\]$/\1/p' <<<"$runtime")
for v in user entrypoint cmd ports volume; do
  [ -n "${!v}" ] || fail "docker/Dockerfile's runtime stage has no ${v^^}"
done

step "build the image"
ctr=$(buildah from scratch)
buildah copy --quiet "$ctr" "$rootfs" / >/dev/null
mkdir -p "$work/data"
buildah copy --quiet --chown 1001:1001 "$ctr" "$work/data" /var/dex >/dev/null
config_args=(--user "$user" --entrypoint "$entrypoint" --cmd "$cmd" --volume "$volume")
for p in $ports; do config_args+=(--port "$p"); done
buildah config "${config_args[@]}" "$ctr"
buildah commit --quiet "$ctr" "$image" >/dev/null
buildah rm "$ctr" >/dev/null
ctr=""

inspect() { buildah inspect --type image --format "$1" "$image"; }
[ "$(inspect '{{.OCIv1.Config.User}}')" = "1001:1001" ] || fail "the image does not run as 1001:1001"
mapfile -t ep < <(inspect '{{range .OCIv1.Config.Entrypoint}}{{println .}}{{end}}')
mapfile -t defcmd < <(inspect '{{range .OCIv1.Config.Cmd}}{{println .}}{{end}}')
[ "${#ep[@]}" -gt 0 ] && [ "${#defcmd[@]}" -gt 0 ] || fail "the image has no entrypoint or command"

ctr=$(buildah from --quiet "$image")
mnt=$(buildah mount "$ctr")
[ -L "$mnt/usr/local/bin/dex" ] || fail "/usr/local/bin/dex is not a link to dex-spectro"
[ -f "$mnt/srv/dex/web/templates/login.html" ] || fail "/srv/dex/web has no templates"
[ -f "$mnt/etc/dex/config.docker.yaml" ] || fail "/etc/dex/config.docker.yaml is missing"
[ "$(stat -c %u:%g "$mnt/var/dex")" = "1001:1001" ] || fail "/var/dex is not owned by 1001:1001"
[ "$(stat -c %a "$mnt/tmp")" = "1777" ] || fail "/tmp is not mode 1777"
grep -q '^dex:x:1001:1001:' "$mnt/etc/passwd" || fail "/etc/passwd has no dex user 1001"
for f in /usr/local/bin/dex-spectro /etc/dex /etc/dex/config.docker.yaml /srv/dex/web; do
  [ "$(stat -c %u "$mnt$f")" = 0 ] || fail "$f is not owned by root: the server could change it"
done

# run [buildah run options] -- ARGS...: the image's entrypoint with ARGS,
# for at most 10 minutes.
run() {
  local opts=()
  while [ "$1" != "--" ]; do opts+=("$1"); shift; done
  shift
  timeout 600 buildah run --isolation chroot "${opts[@]}" "$ctr" -- "${ep[@]}" "$@"
}

# capture [buildah run options] -- ARGS...: runs `run`, setting out (its
# output) and status. buildah's chroot isolation now and then loses the
# output of a process that exits at once (on a loaded machine, all but
# blank lines): a run whose output holds nothing from the process is
# repeated, up to five times.
capture() {
  for _ in 1 2 3 4 5; do
    status=0
    out=$(run "$@" 2>&1) || status=$?
    if [ -n "$(grep -v -e '^subprocess exited with status' -e '^[[:space:]]*$' <<<"$out")" ]; then
      return
    fi
    echo "smoke: no output from the container (status $status); again" >&2
  done
}

step "1. dex version"
capture -- dex version
[ "$status" = 0 ] || fail "dex version exited $status: $out"
grep -q '^Dex Version: v2.45.1' <<<"$out" || fail "dex version printed: $out"
grep -q '^dex-spectro Version: smoke' <<<"$out" || fail "dex version printed: $out"

step "2. the default command: /etc/dex/config.docker.yaml from environment variables"
http=$(free_port)
telemetry=$(free_port)
log="$work/default.log"
run -e "DEX_ISSUER=http://127.0.0.1:$http/dex" -e "DEX_WEB_HTTP=127.0.0.1:$http" \
  -e "DEX_TELEMETRY_HTTP=127.0.0.1:$telemetry" -e DEX_CONNECTORS_ENABLE_MOCK=true \
  -- "${defcmd[@]}" >"$log" 2>&1 &
pid=$!
pids+=("$pid")
wait_http "http://127.0.0.1:$telemetry/healthz/ready" 200 60 "$log"
curl -sf --max-time 5 "http://127.0.0.1:$http/dex/.well-known/openid-configuration" |
  grep -q "\"issuer\": *\"http://127.0.0.1:$http/dex\"" || fail "discovery does not name the rendered issuer"
uid=$(server "$pid" uid)
[ "$uid" = 1001 ] || fail "the server runs as uid '$uid', not 1001"
stop "$pid" "$log"
# Being ready, the server has created /var/dex/dex.db: the volume the image
# declares at /var/dex starts writable by uid 1001.

step "3. the Helm chart's args with a templated /etc/dex/config.yaml"
http=$(free_port)
telemetry=$(free_port)
confdir="$work/etc-dex"
mkdir -p "$confdir"
cat >"$confdir/config.yaml" <<YAML
issuer: {{ getenv "SMOKE_ISSUER" | required "SMOKE_ISSUER is not set" }}
storage:
  type: sqlite3
  config:
    file: /var/dex/chart.db
web:
  http: 0.0.0.0:5556
frontend:
  dir: /srv/dex/web
  issuer: {{ getenv "SMOKE_TITLE" "Smoke" | quote }}
connectors:
- type: spectrocloud
  id: spectrocloud
  name: SpectroCloud
  config:
    tenant: 5f7c0a1b2c3d4e5f6a7b8c9d
    consoleURL: http://127.0.0.1:1
    clientID: {{ .Env.SMOKE_CLIENT_ID }}
    clientSecret: \$SMOKE_CLIENT_SECRET
    redirectURI: http://127.0.0.1:$http/dex/callback
YAML
chmod -R a+rX "$confdir"
log="$work/chart.log"
run -v "$confdir:/etc/dex:ro" -e "SMOKE_ISSUER=http://127.0.0.1:$http/dex" -e SMOKE_CLIENT_ID=smoke \
  -e SMOKE_CLIENT_SECRET=smoke-secret-value \
  -- dex serve --web-http-addr "127.0.0.1:$http" --telemetry-addr "127.0.0.1:$telemetry" /etc/dex/config.yaml \
  >"$log" 2>&1 &
pid=$!
pids+=("$pid")
wait_http "http://127.0.0.1:$telemetry/healthz/ready" 200 60 "$log"
wait_http "http://127.0.0.1:$telemetry/healthz/live" 200 10 "$log"
curl -sf --max-time 5 "http://127.0.0.1:$http/dex/static/main.css" >/dev/null || fail "web assets are not served from /srv/dex/web"
curl -sf --max-time 5 "http://127.0.0.1:$http/dex/.well-known/openid-configuration" | grep -q "127.0.0.1:$http/dex" ||
  fail "discovery does not name the rendered issuer"
grep -q 'msg="listening on"' "$log" || fail "the server's output is missing"
stop "$pid" "$log"
if grep -q "smoke-secret-value" "$log"; then fail "the client secret appears in the server's output"; fi

step "4. a template error stops dex serve"
printf 'issuer: x\nstorage: {type: memory}\nweb: {http: {{ nosuchfunc "x" }}}\n' >"$confdir/config.yaml"
capture -v "$confdir:/etc/dex:ro" -- dex serve /etc/dex/config.yaml
[ "$status" != 0 ] || fail "dex serve started from a template with an unknown function"
grep -q '/etc/dex/config.yaml:3: function "nosuchfunc" not defined' <<<"$out" || fail "unexpected error: $out"

step "OK: image $(inspect '{{.FromImageID}}' | cut -c1-12) passed"
