#!/usr/bin/env bash
# Runs the whole test suite against a real PostgreSQL, a real Redis and a real Chromium.
# Installs what is missing (as root, through apt-get), starts throwaway PostgreSQL and Redis
# instances on free loopback ports, runs `dotnet test`, and stops them again.
# Where it cannot install (not root) it prints the command to run and fails: tests are never skipped.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)

say() { printf '[test.sh] %s\n' "$*"; }
die() { printf '[test.sh] ERROR: %s\n' "$*" >&2; exit 1; }

command -v dotnet >/dev/null || die "the .NET 10 SDK is required (dotnet on PATH)."

# --- 1. What the tests need -------------------------------------------------------------
pg_bin=""
for candidate in /usr/local/bin /usr/lib/postgresql/*/bin; do
  if [ -x "$candidate/initdb" ] && [ -x "$candidate/pg_ctl" ]; then pg_bin=$candidate; break; fi
done
packages=()
[ -n "$pg_bin" ] || packages+=(postgresql)
command -v redis-server >/dev/null || packages+=(redis-server)
[ -x /usr/bin/chromium ] || packages+=(chromium)
# Chinese glyphs in the browser tests' screenshots (without it they render as boxes).
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || packages+=(fonts-noto-cjk)
command -v curl >/dev/null || packages+=(curl)
# The benchmark smoke test drives the stateless scenarios with wrk (docs/benchmarks.md).
command -v wrk >/dev/null || packages+=(wrk)

if [ ${#packages[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    die "missing: ${packages[*]}. Run: sudo apt-get update && sudo apt-get install -y ${packages[*]}"
  fi
  say "installing ${packages[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${packages[@]}" >/dev/null
  for candidate in /usr/local/bin /usr/lib/postgresql/*/bin; do
    if [ -x "$candidate/initdb" ] && [ -x "$candidate/pg_ctl" ]; then pg_bin=$candidate; break; fi
  done
fi
[ -n "$pg_bin" ] || die "PostgreSQL server binaries (initdb, pg_ctl) not found."

free_port() {
  local port
  for _ in $(seq 1 200); do
    # Below the kernel's ephemeral range (32768-60999 by default): a port held by an outgoing
    # connection there looks free to the probe below, yet cannot be bound.
    port=$(( (RANDOM % 12000) + 20000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return 0; fi
  done
  die "no free port found"
}

WORK=$(mktemp -d /tmp/identityhub-test.XXXXXX)
chmod 755 "$WORK"
pg_pid_dir="$WORK/pg"
redis_dir="$WORK/redis"
mkdir -p "$pg_pid_dir" "$redis_dir"

cleanup() {
  set +e
  if [ -f "$pg_pid_dir/data/postmaster.pid" ]; then
    as_pg "$pg_bin/pg_ctl" -D "$pg_pid_dir/data" -m immediate -w stop >/dev/null 2>&1
  fi
  if [ -f "$redis_dir/redis.pid" ]; then
    rpid=$(cat "$redis_dir/redis.pid")
    kill -TERM "$rpid" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$rpid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$WORK" 2>/dev/null
}
trap cleanup EXIT

# initdb refuses to run as root: run PostgreSQL as the postgres user when we are root.
if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
  chown postgres:postgres "$pg_pid_dir"
  as_pg() { runuser -u postgres -- "$@"; }
else
  as_pg() { "$@"; }
fi

# --- 2. PostgreSQL -------------------------------------------------------------------------
PG_PORT=$(free_port)
say "starting PostgreSQL ($pg_bin) on 127.0.0.1:$PG_PORT"
as_pg "$pg_bin/initdb" -D "$pg_pid_dir/data" -U postgres --auth=trust -E UTF8 --no-locale >"$WORK/initdb.log" 2>&1 \
  || { cat "$WORK/initdb.log"; die "initdb failed"; }
as_pg "$pg_bin/pg_ctl" -D "$pg_pid_dir/data" -l "$pg_pid_dir/server.log" \
  -o "-p $PG_PORT -k $pg_pid_dir -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
  -w start >/dev/null || { cat "$pg_pid_dir/server.log"; die "PostgreSQL did not start"; }

# --- 3. Redis ------------------------------------------------------------------------------
REDIS_PORT=$(free_port)
say "starting Redis on 127.0.0.1:$REDIS_PORT"
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --pidfile "$redis_dir/redis.pid" \
  --logfile "$redis_dir/redis.log" --dir "$redis_dir" --save "" --appendonly no
for _ in $(seq 1 50); do [ -f "$redis_dir/redis.pid" ] && break; sleep 0.1; done

export IDENTITYHUB_TEST_POSTGRES="Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=postgres"
export IDENTITYHUB_TEST_REDIS="127.0.0.1:$REDIS_PORT"
export IDENTITYHUB_TEST_CHROMIUM=/usr/bin/chromium
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

# --- 4. The tests --------------------------------------------------------------------------
say "building"
dotnet build "$ROOT/IdentityHub.sln" -c Release -nologo -v q
say "running tests"
set +e
dotnet test "$ROOT/IdentityHub.sln" -c Release --no-build -nologo \
  --logger "trx;LogFileName=results.trx" --results-directory "$WORK/results" \
  --logger "console;verbosity=normal" "$@"
status=$?
set -e

# One closing line that any CI can read: "N passed, N failed, N skipped".
passed=0 failed=0 skipped=0
for trx in "$WORK"/results/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  total=$(sed -n 's/.* total="\([0-9]*\)".*/\1/p' <<<"$counters")
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  e=$(sed -n 's/.* executed="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${total:-0} - ${e:-0}))
done
# The failed tests again, with their messages, right above the closing line: a CI log that keeps
# only its tail still names what failed.
if [ "$failed" -ne 0 ] && command -v python3 >/dev/null; then
  python3 - "$WORK"/results/*.trx <<'PY'
import sys, xml.etree.ElementTree as ET
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
for path in sys.argv[1:]:
    for result in ET.parse(path).getroot().iterfind(".//t:UnitTestResult", ns):
        if result.get("outcome") != "Failed":
            continue
        message = result.findtext("t:Output/t:ErrorInfo/t:Message", "", ns).strip()
        stack = result.findtext("t:Output/t:ErrorInfo/t:StackTrace", "", ns).strip()
        print(f"FAILED {result.get('testName')} ({result.get('duration')})")
        for line in (message.splitlines()[:30] + stack.splitlines()[:8]):
            print("    " + line[:400])
PY
fi
echo "Tests: $passed passed, $failed failed, $skipped skipped"
if [ "$status" -ne 0 ]; then exit "$status"; fi
if [ "$passed" -eq 0 ]; then die "no test ran"; fi
if [ "$skipped" -ne 0 ]; then die "$skipped tests were skipped: a skipped test hides a failure"; fi
