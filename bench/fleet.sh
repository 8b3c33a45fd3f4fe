#!/usr/bin/env bash
# Fleet benchmark of keka-subgraph: several replicas sharing one Redis (REDIS_URL) against one simulated Keka
# tenant that enforces Keka's 50 requests a minute. What a simultaneous cold query costs the fleet, what it costs
# warm and for a replica started later, the same cold burst without Redis for comparison, and warm throughput with
# and without Redis in the same run. Prints figures; asserts nothing. See bench/README.md.
#
#   bench/fleet.sh                                                # 10,000 employees, 3 replicas, 10 s per load run
#   BENCH_FLEET_EMPLOYEES=1000 BENCH_DURATION=3s bench/fleet.sh    # a quick one
#   BENCH_BIN=/path/to/keka-subgraph bench/fleet.sh               # that binary as it is (no build)
#
# Environment: BENCH_FLEET_EMPLOYEES (10000), BENCH_FLEET_REPLICAS (3), BENCH_DURATION (10s), BENCH_CONNECTIONS (16),
# BENCH_THREADS (2), BENCH_SEED (42), BENCH_CACHE_TTL_SECS (300), BENCH_LOAD_ATTEMPTS (3), BENCH_BIN (the release
# binary, built by `cargo build --release` when BENCH_BIN is not set), BENCH_BIN_COMMIT (the commit BENCH_BIN was
# built from, for the report).
#
# Everything listens on 127.0.0.1. Every process this script starts is stopped on exit (trap).
# Progress goes to stderr; the report (markdown) goes to stdout and to bench/results/<timestamp>-fleet.md,
# raw data (responses, sandbox counters, wrk output, logs) to bench/results/<timestamp>-fleet/.
set -euo pipefail
export LC_ALL=C

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$BENCH_DIR/.." && pwd)"
QUERIES="$BENCH_DIR/queries"
BIN="${BENCH_BIN:-$REPO/target/release/keka-subgraph}"

EMPLOYEES="${BENCH_FLEET_EMPLOYEES:-10000}"
REPLICAS="${BENCH_FLEET_REPLICAS:-3}"
DURATION="${BENCH_DURATION:-10s}"
CONNECTIONS="${BENCH_CONNECTIONS:-16}"
THREADS="${BENCH_THREADS:-2}"
SEED="${BENCH_SEED:-42}"
CACHE_TTL="${BENCH_CACHE_TTL_SECS:-300}"
LOAD_ATTEMPTS="${BENCH_LOAD_ATTEMPTS:-3}"

BUDGET=50              # Keka's requests per minute (sandbox and every replica's limiter in the cold phases)
COLD_DEADLINE=150      # REQUEST_DEADLINE_SECS with Redis: long enough for a wait into Keka's next minute
NO_REDIS_DEADLINE=25   # REQUEST_DEADLINE_SECS without Redis: the product's default
NO_REDIS_MAX_TIME=60   # curl --max-time without Redis, so that phase cannot hang
ORG_QUERY='{ employees(first: 50) { nodes { id manager { id } directReports { totalCount } } } }'

if ! [[ $EMPLOYEES =~ ^[0-9]+$ ]] || ((EMPLOYEES < 250)); then
  echo "BENCH_FLEET_EMPLOYEES must be a number of at least 250 (Q3 uses employees 200-249)" >&2
  exit 2
fi
if ! [[ $REPLICAS =~ ^[0-9]+$ ]] || ((REPLICAS < 1)); then
  echo "BENCH_FLEET_REPLICAS must be a number of at least 1" >&2
  exit 2
fi

STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
RESULTS="$BENCH_DIR/results"
RAW="$RESULTS/$STAMP-fleet"
REPORT="$RESULTS/$STAMP-fleet.md"
mkdir -p "$RAW"

# Progress goes to the script's own stderr (fd 3), also from traps that fire inside a redirected command.
exec 3>&2
log() { printf '[fleet %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&3; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------------------------------------
# Processes: every background process is recorded and stopped on exit.
# ---------------------------------------------------------------------------------------------
PIDS=()

drop_pid() {
  local kept=() p
  for p in ${PIDS[@]+"${PIDS[@]}"}; do [[ $p == "$1" ]] || kept+=("$p"); done
  PIDS=(${kept[@]+"${kept[@]}"})
}

stop_pid() {
  local pid=$1 i
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  drop_pid "$pid"
}

# run_fg COMMAND...: runs a command and waits for it, in the background so that INT/TERM stop the script at once
# (bash runs traps only after a foreground command ends) and the command is stopped with it.
run_fg() {
  "$@" &
  local pid=$! status=0
  PIDS+=("$pid")
  wait "$pid" || status=$?
  drop_pid "$pid"
  return "$status"
}

cleanup() {
  local status=$? pid
  for pid in ${PIDS[@]+"${PIDS[@]}"}; do stop_pid "$pid"; done
  if ((status != 0)); then log "failed (exit $status); logs and raw data in $RAW"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()' 2>/dev/null && return 0
  # No python: probe upwards from a random port until nothing answers.
  local port=$((20000 + RANDOM % 20000))
  while (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
  echo "$port"
}

# wait_http URL SECONDS: polls until URL answers 2xx, at most SECONDS.
wait_http() {
  local url=$1 deadline=$((SECONDS + $2))
  while ((SECONDS < deadline)); do
    curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# start_sandbox EMPLOYEES LIMIT NAME: a fresh simulated tenant. Sets SB_PID, SB_ORIGIN.
start_sandbox() {
  local employees=$1 limit=$2 name=$3 port
  port=$(free_port)
  RUST_LOG=warn "$BIN" sandbox --listen "127.0.0.1:$port" --employees "$employees" --seed "$SEED" \
    --today "$TODAY" --rate-limit-per-minute "$limit" >"$RAW/$name.sandbox.log" 2>&1 &
  SB_PID=$!
  PIDS+=("$SB_PID")
  SB_ORIGIN="http://127.0.0.1:$port"
  wait_http "$SB_ORIGIN/__sandbox/stats" 60 || die "sandbox ($employees employees) not up within 60 s; see $RAW/$name.sandbox.log"
}

# start_redis NAME: a fresh, empty Redis that keeps nothing on disk. Sets REDIS_PID, REDIS_PORT, REDIS_URL_OF.
start_redis() {
  local name=$1 i
  REDIS_PORT=$(free_port)
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize no --dir "$RAW" \
    >"$RAW/$name.redis.log" 2>&1 &
  REDIS_PID=$!
  PIDS+=("$REDIS_PID")
  REDIS_URL_OF="redis://127.0.0.1:$REDIS_PORT/"
  for ((i = 0; i < 100; i++)); do
    [[ $(timeout 2 redis-cli -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]] && return 0
    kill -0 "$REDIS_PID" 2>/dev/null || break
    sleep 0.1
  done
  die "redis-server not answering PING within 10 s; see $RAW/$name.redis.log"
}

# start_subgraph SANDBOX_ORIGIN LIMIT NAME DEADLINE_SECS [REDIS_URL]: a fresh subgraph (empty caches) on the sandbox,
# sharing state through Redis when a URL is given. Sets SG_PID, SG_URL.
start_subgraph() {
  local origin=$1 limit=$2 name=$3 deadline=$4 redis=${5:-} port
  local -a redis_env=()
  [[ -n $redis ]] && redis_env=("REDIS_URL=$redis")
  port=$(free_port)
  env ${redis_env[@]+"${redis_env[@]}"} \
    LISTEN_ADDR="127.0.0.1:$port" KEKA_BASE_URL="$origin/api/v1" KEKA_TOKEN_URL="$origin/connect/token" \
    KEKA_CLIENT_ID=sandbox-client-id KEKA_CLIENT_SECRET=sandbox-client-secret KEKA_API_KEY=sandbox-api-key \
    KEKA_RATE_LIMIT_PER_MINUTE="$limit" KEKA_MAX_RATE_LIMIT_WAIT_SECS=120 REQUEST_DEADLINE_SECS="$deadline" \
    CACHE_TTL_SECS="$CACHE_TTL" RUST_LOG=warn "$BIN" serve >"$RAW/$name.subgraph.log" 2>&1 &
  SG_PID=$!
  PIDS+=("$SG_PID")
  SG_URL="http://127.0.0.1:$port"
  wait_http "$SG_URL/healthz" 30 || die "subgraph not up within 30 s; see $RAW/$name.subgraph.log"
}

sb_stats() { curl -fsS --max-time 10 "$1/__sandbox/stats"; }
sb_reset() { curl -fsS --max-time 10 -X POST -o /dev/null "$1/__sandbox/stats/reset"; }

# A token straight from the sandbox's token endpoint, to read Q3's ids.
sb_token() {
  curl -fsS --max-time 10 -X POST "$1/connect/token" -d grant_type=kekaapi -d scope=kekaapi \
    -d client_id=sandbox-client-id -d client_secret=sandbox-client-secret -d api_key=sandbox-api-key |
    jq -er .access_token
}

# kget ORIGIN TOKEN PATH_AND_QUERY: one Keka API GET against a sandbox.
kget() { curl -fsS --max-time 30 -H "Authorization: Bearer $2" "$1/api/v1$3"; }

# body QUERY_FILE VARIABLES_JSON > body.json
body() { jq -n --rawfile q "$1" --argjson v "$2" '{query: $q, variables: $v}'; }

# gql SUBGRAPH_URL BODY_FILE OUT_FILE: one POST /graphql; sets GQL_SECS to the seconds it took. Fails on non-200.
gql() {
  local code="" time=""
  run_fg curl -sS --max-time 180 -o "$3" -w '%{http_code} %{time_total}\n' \
    -H 'content-type: application/json' --data-binary "@$2" "$1/graphql" >"$3.meta" || true
  read -r code time <"$3.meta" || true
  rm -f "$3.meta"
  [[ $code == 200 ]] || die "POST /graphql answered '${code:-nothing}' after ${time:-?} s (body: $(head -c 300 "$3" 2>/dev/null))"
  GQL_SECS=$time
}

# Keka API requests in a stats snapshot (every /api/v1 answer, 429s included; token requests are not API requests).
api_total() { jq '[.by_route[] | select(.route | startswith("/api/v1")) | .count] | add // 0' "$1"; }
routes_brief() { jq -r '[.by_route[] | "\(.method) \(.route | sub("^/api/v1"; "")) \(.status) ×\(.count)"] | join("; ")' "$1"; }

# Machine-wide CPU ticks from /proc/stat: "busy idle steal" (busy excludes idle, iowait and steal).
machine_ticks() { awk '$1 == "cpu" {print $2 + $3 + $4 + $7 + $8, $5 + $6, $9}' /proc/stat; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
mb() { awk -v kb="$1" 'BEGIN {printf "%.1f", kb / 1024}'; }
fmt_int() { sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' <<<"$1"; }
secs_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.2f", b - a}'; }
alive() { kill -0 "$1" 2>/dev/null && echo alive || echo "exited"; }

# ---------------------------------------------------------------------------------------------
# Binary and tools
# ---------------------------------------------------------------------------------------------
for tool in curl jq awk redis-server redis-cli; do command -v "$tool" >/dev/null || die "$tool is required"; done
if [[ -z ${BENCH_BIN:-} ]]; then
  log "building the release binary"
  (cd "$REPO" && cargo build --release 1>&2) || die "cargo build --release failed"
fi
[[ -x $BIN ]] || die "no executable $BIN"

# Debian's wrk: install directly, and only if that fails refresh the package lists and try again.
install_wrk() {
  local sudo=""
  if [[ $(id -u) != 0 ]]; then command -v sudo >/dev/null || return 1; sudo="sudo -n"; fi
  log "installing wrk (apt-get)"
  $sudo env DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -q wrk >&2 && return 0
  $sudo timeout 300 apt-get update -q >&2 && $sudo env DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -q wrk >&2
}
command -v wrk >/dev/null || install_wrk || true
command -v wrk >/dev/null || die "no wrk (apt-get install wrk failed)"
WRK_VERSION="$( (wrk -v 2>&1 || true) | head -1 | awk '{print $1, $2}')"

duration_secs() {
  local d=$1
  case $d in
    *ms) awk -v v="${d%ms}" 'BEGIN {print v / 1000}' ;;
    *s) echo "${d%s}" ;;
    *m) echo $((${d%m} * 60)) ;;
    *h) echo $((${d%h} * 3600)) ;;
    *) echo "$d" ;;
  esac
}
DURATION_SECS=$(duration_secs "$DURATION")

TODAY="$(date -u +%F)"
COMMIT="$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ -z ${BENCH_BIN:-} && -n "$(git -C "$REPO" status --porcelain -- src Cargo.toml Cargo.lock 2>/dev/null)" ]]; then
  COMMIT="$COMMIT (+ uncommitted changes in src/Cargo)"
fi
BIN_NOTE="\`${BIN/#$REPO\//}\`"
if [[ -n ${BENCH_BIN:-} ]]; then
  if [[ -n ${BENCH_BIN_COMMIT:-} ]]; then
    COMMIT=$BENCH_BIN_COMMIT
    BIN_NOTE="$BIN_NOTE (BENCH_BIN, built from that commit)"
  else
    COMMIT="$COMMIT (the checkout's)"
    BIN_NOTE="$BIN_NOTE (BENCH_BIN, built outside this run, not necessarily from the checkout's commit)"
  fi
fi
CPU_MODEL="$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
MEM_GIB="$(awk '/^MemTotal/ {printf "%.1f", $2 / 1048576}' /proc/meminfo)"
REDIS_VERSION="$(redis-server --version | sed -n 's/.*v=\([0-9.]*\).*/\1/p')"
REPRO="BENCH_FLEET_EMPLOYEES=$EMPLOYEES BENCH_FLEET_REPLICAS=$REPLICAS BENCH_DURATION=$DURATION BENCH_CONNECTIONS=$CONNECTIONS BENCH_THREADS=$THREADS BENCH_SEED=$SEED bench/fleet.sh"

Q1="$QUERIES/q1_employees_managers_groups.graphql"
Q3="$QUERIES/q3_entities.graphql"
Q4="$QUERIES/q4_org_chart_page.graphql"
for q in "$Q1" "$Q3" "$Q4"; do [[ -r $q ]] || die "missing $q"; done
Q4_TEXT="$(cat "$Q4")"
jq -n --arg q "$ORG_QUERY" '{query: $q}' >"$RAW/org-body.json"

# ---------------------------------------------------------------------------------------------
# Queries
# ---------------------------------------------------------------------------------------------

# org_verdict RESPONSE HTTP_CODE: "ok" when the org query's answer is complete (no errors, 50 nodes, each with its
# id and its direct reports' count), else what is wrong.
org_verdict() {
  [[ $2 == 200 ]] || { echo "HTTP ${2:-none}"; return 0; }
  jq -r 'if ((.errors // []) | length) > 0 then
      "errors (\([.errors[] | .extensions.code // .message] | unique | join(", "))), \((.data.employees.nodes // []) | length) nodes"
    elif (.data.employees.nodes | length) == 50
      and all(.data.employees.nodes[]; .id != null and (.directReports.totalCount | type) == "number") then "ok"
    else "incomplete: \((.data.employees.nodes // []) | length) nodes" end' "$1" 2>/dev/null || echo "not JSON"
}

# burst NAME MAX_TIME URL...: the org query POSTed to every URL at the same moment (one background curl each),
# then waits for all. Sets BURST_WALL (seconds until the last answered), BURST_OK (complete answers), BURST_SAME
# (yes when every complete answer is the same), BURST_DETAIL (per replica: HTTP status, seconds, verdict).
burst() {
  local name=$1 max=$2 i=0 url start pid code time verdict
  shift 2
  local -a pids=()
  start=$EPOCHREALTIME
  for url in "$@"; do
    i=$((i + 1))
    curl -sS --max-time "$max" -o "$RAW/$name.r$i.json" -w '%{http_code} %{time_total}\n' \
      -H 'content-type: application/json' --data-binary "@$RAW/org-body.json" "$url/graphql" \
      >"$RAW/$name.r$i.meta" 2>"$RAW/$name.r$i.err" &
    pids+=("$!")
    PIDS+=("$!")
  done
  for pid in "${pids[@]}"; do
    wait "$pid" || true
    drop_pid "$pid"
  done
  BURST_WALL=$(secs_since "$start")
  BURST_OK=0
  BURST_DETAIL=""
  local -a sums=()
  for ((i = 1; i <= $#; i++)); do
    code="" time=""
    read -r code time <"$RAW/$name.r$i.meta" || true
    verdict=$(org_verdict "$RAW/$name.r$i.json" "$code")
    if [[ $verdict == ok ]]; then
      BURST_OK=$((BURST_OK + 1))
      sums+=("$(jq -cS .data "$RAW/$name.r$i.json" | md5sum | cut -d' ' -f1)")
    fi
    [[ $code == 000 || -z $code ]] && verdict="$verdict ($(head -c 120 "$RAW/$name.r$i.err" | tr '\n' ' '))"
    BURST_DETAIL+="${BURST_DETAIL:+; }replica $i: HTTP ${code:-none}, $(printf '%.2f' "${time:-0}") s, $verdict"
  done
  BURST_SAME="–"
  if ((${#sums[@]} > 0)); then
    BURST_SAME=$( (($(printf '%s\n' "${sums[@]}" | sort -u | wc -l) == 1)) && echo yes || echo no)
  fi
  log "  $name: $BURST_OK of $# complete, all answered in $BURST_WALL s; $BURST_DETAIL"
}

# q4_walk URL NAME: walks the org chart page by page (Q4, first: 100, after: endCursor) to the end. Sets WALK_SECS
# (the sum of the HTTP exchanges, as bench/run.sh counts it: the script's jq work between pages is not counted),
# WALK_PAGES, WALK_OK ("ok": every employee exactly once, no errors).
q4_walk() {
  local url=$1 name=$2 cursor="" has_next=true seen distinct
  local out="$RAW/$name.response.json"
  WALK_PAGES=0
  WALK_OK=ok
  WALK_SECS=0
  : >"$RAW/$name.ids.txt"
  while [[ $has_next == true ]]; do
    ((WALK_PAGES < 1000)) || die "Q4 walk did not end after 1000 pages"
    jq -nc --arg q "$Q4_TEXT" --arg c "$cursor" '{query: $q, variables: {cursor: (if $c == "" then null else $c end)}}' >"$RAW/$name.body.json"
    gql "$url" "$RAW/$name.body.json" "$out"
    WALK_SECS=$(awk -v a="$WALK_SECS" -v b="$GQL_SECS" 'BEGIN {printf "%.3f", a + b}')
    jq -r 'if .errors != null then "ERROR \(.errors[0].message)" else (.data.employees | (.nodes[].id), "\(.pageInfo.hasNextPage) \(.pageInfo.endCursor // "")") end' \
      "$out" >"$RAW/$name.page.txt"
    if grep -q '^ERROR ' "$RAW/$name.page.txt"; then
      WALK_OK="errors: $(head -1 "$RAW/$name.page.txt")"
      break
    fi
    sed '$d' "$RAW/$name.page.txt" >>"$RAW/$name.ids.txt"
    read -r has_next cursor < <(tail -1 "$RAW/$name.page.txt")
    WALK_PAGES=$((WALK_PAGES + 1))
  done
  WALK_SECS=$(printf '%.2f' "$WALK_SECS")
  rm -f "$RAW/$name.page.txt" "$RAW/$name.body.json"
  if [[ $WALK_OK == ok ]]; then
    seen=$(wc -l <"$RAW/$name.ids.txt")
    distinct=$(sort -u "$RAW/$name.ids.txt" | wc -l)
    ((seen == EMPLOYEES && distinct == EMPLOYEES)) || WALK_OK="walk saw $seen ids ($distinct distinct), expected $EMPLOYEES"
  fi
}

# check_answer Q1|Q3 RESPONSE: "ok" or what is wrong.
check_answer() {
  if ! jq -e '.errors == null' "$2" >/dev/null; then
    echo "errors: $(jq -c '[.errors[].message] | unique | .[0:2]' "$2")"
    return 0
  fi
  local complete
  case $1 in
    Q1) complete='(.data.employees.edges | length) == 100 and all(.data.employees.edges[]; .node.displayName != null)' ;;
    Q3) complete='(.data._entities | length) == 50 and all(.data._entities[]; . != null and .displayName != null)' ;;
  esac
  if jq -e "$complete" "$2" >/dev/null; then echo ok; else echo "wrong answer"; fi
}

# stats_row NAME ORIGIN: the sandbox's counters into NAME.stats.json; sets KEKA (API requests), LIMITED (429s),
# TOKENS (token requests).
stats_row() {
  sb_stats "$2" >"$RAW/$1.stats.json"
  KEKA=$(api_total "$RAW/$1.stats.json")
  LIMITED=$(jq .rate_limited "$RAW/$1.stats.json")
  TOKENS=$(jq .token_requests "$RAW/$1.stats.json")
  local routes
  routes=$(routes_brief "$RAW/$1.stats.json")
  DETAILS+=("- $1: ${routes:-no request} (token requests: $TOKENS)")
}

# later NAME ORIGIN: the sandbox's API requests 5 s after a burst's answers (work a replica goes on with after
# answering shows here). Sets KEKA_LATER, LIMITED_LATER.
later() {
  sleep 5
  sb_stats "$2" >"$RAW/$1-5s-later.stats.json"
  KEKA_LATER=$(api_total "$RAW/$1-5s-later.stats.json")
  LIMITED_LATER=$(jq .rate_limited "$RAW/$1-5s-later.stats.json")
}

# redis_brief PORT: keys and memory Redis holds.
redis_brief() {
  local keys used
  keys=$(timeout 5 redis-cli -p "$1" dbsize 2>/dev/null || echo "?")
  used=$(timeout 5 redis-cli -p "$1" info memory 2>/dev/null | tr -d '\r' | awk -F: '$1 == "used_memory_human" {print $2}')
  echo "$keys keys, ${used:-?} used"
}

# ---------------------------------------------------------------------------------------------
# Load: one wrk run; a run disturbed by other processes is repeated (BENCH_LOAD_ATTEMPTS), the last one reported.
# ---------------------------------------------------------------------------------------------
# load_attempt LABEL URL PID REDIS_PID BODY_FILE: sets L_* figures.
load_attempt() {
  local label=$1 url=$2 pid=$3 rpid=$4 body_file=$5 name="load-$1"
  local out="$RAW/$name.txt" cpu_before cpu_after rcpu_before=0 rcpu_after=0 machine_before machine_after line
  local TIMEFORMAT='%U %S' gen_status=0 limit=$((${DURATION_SECS%.*} + 60)) hz
  sb_reset "$LOAD_ORIGIN"
  cpu_before=$(cpu_ticks "$pid")
  [[ -n $rpid ]] && rcpu_before=$(cpu_ticks "$rpid")
  machine_before=$(machine_ticks)
  { time BENCH_BODY_FILE="$body_file" run_fg timeout "$limit" wrk -t "$THREADS" -c "$CONNECTIONS" -d "$DURATION" \
    --timeout 10s --latency -s "$BENCH_DIR/wrk/post.lua" "$url/graphql" >"$out" 2>&1; } 2>"$RAW/$name.time" || gen_status=$?
  ((gen_status == 0)) || die "wrk failed (exit $gen_status): $(tail -5 "$out")"
  cpu_after=$(cpu_ticks "$pid")
  [[ -n $rpid ]] && rcpu_after=$(cpu_ticks "$rpid")
  machine_after=$(machine_ticks)
  L_KEKA=$(sb_stats "$LOAD_ORIGIN" | jq '[.by_route[] | select(.route | startswith("/api/v1")) | .count] | add // 0')
  line=$(grep '^BENCH_RESULT' "$out") || die "no BENCH_RESULT in $out"
  kv() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$line"; }
  L_RPS=$(awk -v r="$(kv requests)" -v d="$(kv duration_us)" 'BEGIN {printf "%.0f", r / (d / 1e6)}')
  L_P50=$(awk -v v="$(kv p50_us)" 'BEGIN {printf "%.2f", v / 1000}')
  L_P99=$(awk -v v="$(kv p99_us)" 'BEGIN {printf "%.2f", v / 1000}')
  L_MAX=$(awk -v v="$(kv max_us)" 'BEGIN {printf "%.1f", v / 1000}')
  L_ERRS=$(($(kv status_errors) + $(kv connect_errors) + $(kv read_errors) + $(kv write_errors) + $(kv timeouts)))
  hz=$(getconf CLK_TCK)
  L_SG_CPU=$(awk -v a="$cpu_before" -v b="$cpu_after" -v hz="$hz" -v s="$DURATION_SECS" 'BEGIN {printf "%.2f", (b - a) / hz / s}')
  L_REDIS_CPU="–"
  [[ -n $rpid ]] && L_REDIS_CPU=$(awk -v a="$rcpu_before" -v b="$rcpu_after" -v hz="$hz" -v s="$DURATION_SECS" 'BEGIN {printf "%.2f", (b - a) / hz / s}')
  L_WRK_CPU=$(awk -v s="$DURATION_SECS" 'NF == 2 {printf "%.2f", ($1 + $2) / s}' "$RAW/$name.time")
  # The rest of the machine, in cores: other processes (busy minus subgraph, Redis and wrk), idle, steal.
  L_MACHINE=$(awk -v a="$machine_before" -v b="$machine_after" -v hz="$hz" -v s="$DURATION_SECS" -v sg="$L_SG_CPU" \
    -v rd="${L_REDIS_CPU/–/0}" -v lg="$L_WRK_CPU" 'BEGIN {
    split(a, x, " "); split(b, y, " "); others = (y[1] - x[1]) / hz / s - sg - rd - lg; if (others < 0) others = 0
    printf "%.2f / %.2f / %.2f", others, (y[2] - x[2]) / hz / s, (y[3] - x[3]) / hz / s }')
  L_DISTURBED=0
  if awk -v m="$L_MACHINE" 'BEGIN {split(m, x, " / "); exit !(x[1] > 0.2 || x[3] > 0.2)}'; then
    L_MACHINE="$L_MACHINE ⚠"
    L_DISTURBED=1
  fi
}

# load_run QUERY WITH(yes|no) URL PID REDIS_PID BODY_FILE
load_run() {
  local q=$1 with=$2 label attempt
  label="${q,,}-$([[ $with == yes ]] && echo redis || echo local)"
  for ((attempt = 1; attempt <= LOAD_ATTEMPTS; attempt++)); do
    load_attempt "$label" "${@:3}"
    ((L_DISTURBED == 1 && attempt < LOAD_ATTEMPTS)) || break
    log "  $label: disturbed by other processes (others / idle / steal = $L_MACHINE); again in 10 s"
    sleep 10
  done
  ((L_DISTURBED == 0)) || DISTURBED+=("$label: others / idle / steal = $L_MACHINE cores after $attempt attempts")
  RPS[$q,$with]=$L_RPS
  P99[$q,$with]=$L_P99
  LOAD_KEKA=$((LOAD_KEKA + L_KEKA))
  local who="with Redis"
  [[ $with == yes ]] || who="without Redis"
  LOAD_ROWS+=("| $q | $who | $(fmt_int "$L_RPS") | $L_P50 ms | $L_P99 ms | $L_MAX ms | $L_ERRS | $L_KEKA | $L_SG_CPU | $L_REDIS_CPU | $L_WRK_CPU | $L_MACHINE |")
  log "  $q $who: $L_RPS req/s, p50 $L_P50 ms, p99 $L_P99 ms, errors $L_ERRS, Keka $L_KEKA, subgraph $L_SG_CPU cores, redis $L_REDIS_CPU, wrk $L_WRK_CPU, others/idle/steal $L_MACHINE"
}

DETAILS=()
LOAD_ROWS=()
DISTURBED=()
LOAD_KEKA=0
declare -A RPS P99

log "machine: $(nproc) × $CPU_MODEL, $MEM_GIB GiB; commit $COMMIT; binary $BIN; redis $REDIS_VERSION; $WRK_VERSION; results in $RAW"
log "$EMPLOYEES employees, $REPLICAS replicas, Keka budget $BUDGET/min"

# ---------------------------------------------------------------------------------------------
# 1. Fleet cold: fresh sandbox (50/min) + fresh Redis + REPLICAS replicas sharing it; the org query on all at once.
# ---------------------------------------------------------------------------------------------
log "1. fleet cold: $REPLICAS replicas with Redis, the org query on every replica at once"
start_sandbox "$EMPLOYEES" "$BUDGET" fleet
FLEET_SB_PID=$SB_PID
FLEET_SB=$SB_ORIGIN
start_redis fleet
FLEET_REDIS_PID=$REDIS_PID
FLEET_REDIS_PORT=$REDIS_PORT
FLEET_REDIS_URL=$REDIS_URL_OF
FLEET_PIDS=()
FLEET_URLS=()
for ((r = 1; r <= REPLICAS; r++)); do
  start_subgraph "$FLEET_SB" "$BUDGET" "fleet-replica-$r" "$COLD_DEADLINE" "$FLEET_REDIS_URL"
  FLEET_PIDS+=("$SG_PID")
  FLEET_URLS+=("$SG_URL")
done
sb_reset "$FLEET_SB"
burst cold-redis 180 "${FLEET_URLS[@]}"
stats_row cold-redis "$FLEET_SB"
later cold-redis "$FLEET_SB"
P1="| $REPLICAS | $KEKA | $LIMITED | $TOKENS | $BURST_WALL s | $BURST_OK of $REPLICAS | $BURST_SAME | $KEKA_LATER, $LIMITED_LATER |"
P1_DETAIL=$BURST_DETAIL

# ---------------------------------------------------------------------------------------------
# 2. The same query again, warm, on every replica at once.
# ---------------------------------------------------------------------------------------------
log "2. fleet warm: the same query again on every replica at once"
sb_reset "$FLEET_SB"
burst warm-redis 180 "${FLEET_URLS[@]}"
stats_row warm-redis "$FLEET_SB"
P2="| $REPLICAS | $KEKA | $LIMITED | $BURST_WALL s | $BURST_OK of $REPLICAS | $BURST_SAME |"
P2_DETAIL=$BURST_DETAIL

# ---------------------------------------------------------------------------------------------
# 3. A new replica joins (empty caches, same Redis): the org query, then the whole Q4 walk.
# ---------------------------------------------------------------------------------------------
log "3. a new replica with Redis: the org query, then the Q4 walk"
start_subgraph "$FLEET_SB" "$BUDGET" fleet-replica-new "$COLD_DEADLINE" "$FLEET_REDIS_URL"
NEW_PID=$SG_PID
NEW_URL=$SG_URL
P3_ROWS=()
sb_reset "$FLEET_SB"
burst new-org 180 "$NEW_URL"
stats_row new-org "$FLEET_SB"
new_same="–"
if [[ $BURST_OK == 1 && -s $RAW/cold-redis.r1.json ]]; then
  new_same=$([[ "$(jq -cS .data "$RAW/new-org.r1.json")" == "$(jq -cS .data "$RAW/cold-redis.r1.json")" ]] && echo yes || echo no)
fi
org_answer=$(org_verdict "$RAW/new-org.r1.json" "$(cut -d' ' -f1 "$RAW/new-org.r1.meta")")
P3_ROWS+=("| org query (\`employees(first: 50)\` + manager + directReports count) | $KEKA | $LIMITED | $BURST_WALL s | $org_answer; same as replica 1's cold answer: $new_same |")
sb_reset "$FLEET_SB"
q4_walk "$NEW_URL" new-q4
stats_row new-q4 "$FLEET_SB"
P3_ROWS+=("| Q4 whole org chart ($WALK_PAGES pages of \`first: 100\`, one after another; time = sum of the pages) | $KEKA | $LIMITED | $WALK_SECS s | $WALK_OK |")
REDIS_HOLDS=$(redis_brief "$FLEET_REDIS_PORT")
log "  new replica: org query $(jq .rate_limited "$RAW/new-org.stats.json") × 429, $(api_total "$RAW/new-org.stats.json") Keka; Q4 walk $KEKA Keka, $WALK_SECS s, $WALK_OK; Redis holds $REDIS_HOLDS"
FLEET_STATE=""
for ((r = 1; r <= REPLICAS; r++)); do
  FLEET_STATE+="replica $r $(alive "${FLEET_PIDS[r - 1]}") ($(mb "$(status_kb "${FLEET_PIDS[r - 1]}" VmHWM 2>/dev/null || echo 0)") MB peak); "
done
FLEET_STATE+="new replica $(alive "$NEW_PID") ($(mb "$(status_kb "$NEW_PID" VmHWM 2>/dev/null || echo 0)") MB peak)"
for pid in "$NEW_PID" "${FLEET_PIDS[@]}" "$FLEET_REDIS_PID" "$FLEET_SB_PID"; do stop_pid "$pid"; done

# ---------------------------------------------------------------------------------------------
# 4. For comparison: the same cold burst without Redis (each replica keeps its state, and its budget, to itself).
# ---------------------------------------------------------------------------------------------
log "4. the same cold burst without Redis: $REPLICAS replicas, deadline $NO_REDIS_DEADLINE s, curl --max-time $NO_REDIS_MAX_TIME"
start_sandbox "$EMPLOYEES" "$BUDGET" alone
ALONE_SB_PID=$SB_PID
ALONE_SB=$SB_ORIGIN
ALONE_PIDS=()
ALONE_URLS=()
for ((r = 1; r <= REPLICAS; r++)); do
  start_subgraph "$ALONE_SB" "$BUDGET" "alone-replica-$r" "$NO_REDIS_DEADLINE"
  ALONE_PIDS+=("$SG_PID")
  ALONE_URLS+=("$SG_URL")
done
sb_reset "$ALONE_SB"
burst cold-local "$NO_REDIS_MAX_TIME" "${ALONE_URLS[@]}"
stats_row cold-local "$ALONE_SB"
later cold-local "$ALONE_SB"
P4="| $REPLICAS | $KEKA | $LIMITED | $TOKENS | $BURST_WALL s | $BURST_OK of $REPLICAS | $BURST_SAME | $KEKA_LATER, $LIMITED_LATER |"
P4_DETAIL=$BURST_DETAIL
for pid in "${ALONE_PIDS[@]}" "$ALONE_SB_PID"; do stop_pid "$pid"; done

# ---------------------------------------------------------------------------------------------
# 5. Warm throughput with and without Redis: a sandbox without limit, a fresh Redis, one replica with REDIS_URL
# and one without, both warmed with Q1 and Q3, then wrk interleaved.
# ---------------------------------------------------------------------------------------------
log "5. warm throughput with and without Redis (limits off; wrk, $THREADS threads, $CONNECTIONS connections, $DURATION each)"
start_sandbox "$EMPLOYEES" 0 load
LOAD_SB_PID=$SB_PID
LOAD_ORIGIN=$SB_ORIGIN
# Q3's variables: employees 200–249 in Keka's order (page 2 of 200), as bench/run.sh builds them.
token=$(sb_token "$LOAD_ORIGIN")
kget "$LOAD_ORIGIN" "$token" "/hris/employees?pageNumber=2&pageSize=200" |
  jq -c '{representations: [.data[0:50][] | {__typename: "Employee", id}]}' >"$RAW/q3-variables.json"
(($(jq '.representations | length' "$RAW/q3-variables.json") == 50)) || die "could not read employees 200–249"
body "$Q1" '{}' >"$RAW/q1-body.json"
body "$Q3" "$(cat "$RAW/q3-variables.json")" >"$RAW/q3-body.json"
start_redis load
LOAD_REDIS_PID=$REDIS_PID
LOAD_REDIS_PORT=$REDIS_PORT
start_subgraph "$LOAD_ORIGIN" 0 load-redis "$NO_REDIS_DEADLINE" "$REDIS_URL_OF"
WITH_PID=$SG_PID
WITH_URL=$SG_URL
start_subgraph "$LOAD_ORIGIN" 0 load-local "$NO_REDIS_DEADLINE"
WITHOUT_PID=$SG_PID
WITHOUT_URL=$SG_URL
WARM_BAD=()
for pass in 1 2; do
  for q in Q1 Q3; do
    for with in yes no; do
      url=$WITH_URL
      [[ $with == yes ]] || url=$WITHOUT_URL
      out="$RAW/warmup-${q,,}-$with-$pass.response.json"
      gql "$url" "$RAW/${q,,}-body.json" "$out"
      verdict=$(check_answer "$q" "$out")
      [[ $verdict == ok ]] || WARM_BAD+=("$q (Redis: $with, pass $pass): $verdict")
    done
  done
done
sb_reset "$LOAD_ORIGIN"
load_run Q1 yes "$WITH_URL" "$WITH_PID" "$LOAD_REDIS_PID" "$RAW/q1-body.json"
load_run Q1 no "$WITHOUT_URL" "$WITHOUT_PID" "" "$RAW/q1-body.json"
load_run Q3 yes "$WITH_URL" "$WITH_PID" "$LOAD_REDIS_PID" "$RAW/q3-body.json"
load_run Q3 no "$WITHOUT_URL" "$WITHOUT_PID" "" "$RAW/q3-body.json"
# Still complete answers after the load.
for q in Q1 Q3; do
  for with in yes no; do
    url=$WITH_URL
    [[ $with == yes ]] || url=$WITHOUT_URL
    out="$RAW/after-load-${q,,}-$with.response.json"
    gql "$url" "$RAW/${q,,}-body.json" "$out"
    verdict=$(check_answer "$q" "$out")
    [[ $verdict == ok ]] || WARM_BAD+=("$q (Redis: $with, after the load): $verdict")
  done
done
LOAD_REDIS_HOLDS=$(redis_brief "$LOAD_REDIS_PORT")
LOAD_STATE="with Redis $(alive "$WITH_PID") ($(mb "$(status_kb "$WITH_PID" VmHWM)") MB peak), without $(alive "$WITHOUT_PID") ($(mb "$(status_kb "$WITHOUT_PID" VmHWM)") MB peak)"
for pid in "$WITH_PID" "$WITHOUT_PID" "$LOAD_REDIS_PID" "$LOAD_SB_PID"; do stop_pid "$pid"; done

RATIO_ROWS=()
for q in Q1 Q3; do
  RATIO_ROWS+=("| $q | $(fmt_int "${RPS[$q,yes]}") / $(fmt_int "${RPS[$q,no]}") = $(awk -v a="${RPS[$q,yes]}" -v b="${RPS[$q,no]}" 'BEGIN {printf "%.2f", b ? a / b : 0}') | ${P99[$q,yes]} / ${P99[$q,no]} ms = $(awk -v a="${P99[$q,yes]}" -v b="${P99[$q,no]}" 'BEGIN {printf "%.2f", b ? a / b : 0}') |")
done

# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------
{
  echo "# keka-subgraph fleet benchmark, $STAMP"
  echo
  echo "Machine: $(nproc) × $CPU_MODEL, $MEM_GIB GiB RAM · commit \`$COMMIT\` · binary $BIN_NOTE · Redis $REDIS_VERSION · $WRK_VERSION (shares the same cores)"
  echo
  echo "Tenant: $(fmt_int "$EMPLOYEES") employees (seed $SEED, today $TODAY) · $REPLICAS replicas · Keka's budget $BUDGET requests a minute, enforced by the sandbox and set as every replica's \`KEKA_RATE_LIMIT_PER_MINUTE\` in phases 1–4 · reproduce: \`$REPRO\`"
  echo
  echo "The org query of phases 1–4: \`$ORG_QUERY\` (complete = no \`errors\`, 50 nodes). Keka requests = the sandbox's API requests (every \`/api/v1\` answer, 429s included; token requests apart)."
  echo
  echo "## 1. Fleet cold, sharing Redis"
  echo
  echo "Fresh sandbox, fresh Redis, $REPLICAS fresh replicas with \`REDIS_URL\` (\`REQUEST_DEADLINE_SECS=$COLD_DEADLINE\`); the org query sent to every replica at the same moment."
  echo
  echo "| replicas | Keka requests | 429s | token requests | wall time (all answered) | complete answers | answers identical | Keka requests, 429s 5 s later |"
  echo "|---|---|---|---|---|---|---|---|"
  echo "$P1"
  echo
  echo "Per replica: $P1_DETAIL."
  echo
  echo "## 2. The same query, warm, on every replica"
  echo
  echo "| replicas | Keka requests added | 429s | wall time (all answered) | complete answers | answers identical |"
  echo "|---|---|---|---|---|---|"
  echo "$P2"
  echo
  echo "Per replica: $P2_DETAIL."
  echo
  echo "## 3. A new replica joins"
  echo
  echo "One more replica (empty caches, same Redis); the org query, then the whole org chart by Q4 (\`bench/queries/q4_org_chart_page.graphql\`, page after page)."
  echo
  echo "| query | Keka requests added | 429s | wall time | answer |"
  echo "|---|---|---|---|---|"
  printf '%s\n' "${P3_ROWS[@]}"
  echo
  echo "Redis then held $REDIS_HOLDS. Processes at the end of phase 3: $FLEET_STATE."
  echo
  echo "## 4. The same cold burst without Redis"
  echo
  echo "Fresh sandbox ($BUDGET/min), $REPLICAS fresh replicas without \`REDIS_URL\` (each keeps its budget and answers to itself; \`REQUEST_DEADLINE_SECS=$NO_REDIS_DEADLINE\`, the default), the same query at the same moment, \`curl --max-time $NO_REDIS_MAX_TIME\`."
  echo
  echo "| replicas | Keka requests | 429s | token requests | wall time (all answered) | complete answers | answers identical | Keka requests, 429s 5 s later |"
  echo "|---|---|---|---|---|---|---|---|"
  echo "$P4"
  echo
  echo "Per replica: $P4_DETAIL."
  echo
  echo "## 5. Warm throughput, with Redis and without"
  echo
  echo "A sandbox without limit, a fresh Redis, one replica with \`REDIS_URL\` and one without (limiters off), both warmed with Q1 and Q3 (twice), then wrk ($THREADS threads, $CONNECTIONS connections, $DURATION per run), runs interleaved. Keka requests during the four runs: $LOAD_KEKA. Answers wrong before or after the load: ${#WARM_BAD[@]}$( ((${#WARM_BAD[@]})) && printf ' (%s)' "$(IFS=';'; echo "${WARM_BAD[*]}")")."
  echo "CPU columns: average cores during the run (the machine has $(nproc)); others = the rest of the machine's busy time (the idle replica, the sandbox, anything else), idle, steal; ⚠ = others or steal above 0.2 cores, figures disturbed."
  echo
  echo "| query | replica | req/s | p50 | p99 | max | errors | Keka requests | subgraph CPU | redis-server CPU | wrk CPU | others / idle / steal |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${LOAD_ROWS[@]}"
  echo
  echo "| query | req/s with / without Redis | p99 with / without Redis |"
  echo "|---|---|---|"
  printf '%s\n' "${RATIO_ROWS[@]}"
  echo
  echo "Redis then held $LOAD_REDIS_HOLDS. Processes at the end: $LOAD_STATE.$( ((${#DISTURBED[@]})) && printf ' Disturbed runs: %s.' "$(IFS=';'; echo "${DISTURBED[*]}")")"
  echo
  echo "## Details"
  echo
  echo "Sandbox counters per step:"
  echo
  printf '%s\n' "${DETAILS[@]}"
  echo
  echo "Raw data (responses, sandbox counters, wrk output, logs): \`bench/results/$STAMP-fleet/\`."
} >"$REPORT"

cat "$REPORT"
log "report written to $REPORT"
