#!/usr/bin/env bash
# Fleet benchmark of keka-subgraph: several replicas sharing one Redis (REDIS_URL) against one simulated Keka
# tenant that enforces Keka's 50 requests a minute. What a simultaneous cold query costs the fleet, what it costs
# warm and for a replica started later, what keeping it fresh costs and how soon a change shows at every replica,
# the same cold burst without Redis for comparison, and warm throughput with and without Redis in the same run. Prints figures; asserts nothing. See bench/README.md.
#
#   bench/fleet.sh                                                # 10,000 employees, 3 replicas, 10 s per load run
#   BENCH_FLEET_EMPLOYEES=1000 BENCH_DURATION=3s bench/fleet.sh    # a quick one
#   BENCH_BIN=/path/to/keka-subgraph bench/fleet.sh               # that binary as it is (no build)
#
# Environment: BENCH_FLEET_EMPLOYEES (10000), BENCH_FLEET_REPLICAS (3), BENCH_DURATION (10s), BENCH_CONNECTIONS (16),
# BENCH_THREADS (2), BENCH_SEED (42), BENCH_CACHE_TTL_SECS (300), BENCH_LOAD_ATTEMPTS (3), BENCH_BIN (the release
# binary, built by `cargo build --release` when BENCH_BIN is not set; CARGO_TARGET_DIR is honoured), BENCH_BIN_COMMIT
# (the commit BENCH_BIN was built from, for the report).
#
# Everything listens on 127.0.0.1. Every process this script starts is stopped on exit (trap).
# Progress goes to stderr; the report (markdown) goes to stdout and to bench/results/<timestamp>-fleet.md,
# raw data (responses, sandbox counters, wrk output, logs) to bench/results/<timestamp>-fleet/.
set -euo pipefail
export LC_ALL=C

# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

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
WEBHOOK_SECRET=bench-webhook-secret  # the fleet's KEKA_WEBHOOK_SECRET (phase 3b posts a webhook)
QUIET_SECS=60                        # phase 3b's quiet minute

if ! [[ $EMPLOYEES =~ ^[0-9]+$ ]] || ((EMPLOYEES < 250)); then
  echo "BENCH_FLEET_EMPLOYEES must be a number of at least 250 (Q3 uses employees 200-249)" >&2
  exit 2
fi
if ! [[ $REPLICAS =~ ^[0-9]+$ ]] || ((REPLICAS < 1)); then
  echo "BENCH_FLEET_REPLICAS must be a number of at least 1" >&2
  exit 2
fi

LOG_TAG=fleet
open_results "" -fleet
start_harness

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

secs_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.2f", b - a}'; }
alive() { kill -0 "$1" 2>/dev/null && echo alive || echo "exited"; }

# ---------------------------------------------------------------------------------------------
# Binary and tools
# ---------------------------------------------------------------------------------------------
require_tools curl jq awk redis-server redis-cli
build_bin

command -v wrk >/dev/null || install_wrk || true
command -v wrk >/dev/null || die "no wrk (apt-get install wrk failed)"
WRK_VERSION="$(wrk_version)"

DURATION_SECS=$(duration_secs "$DURATION")

# TODAY, COMMIT, BIN_NOTE, CPU_MODEL, MEM_GIB.
describe_run
REDIS_VERSION="$(redis-server --version | sed -n 's/.*v=\([0-9.]*\).*/\1/p')"
REPRO="BENCH_FLEET_EMPLOYEES=$EMPLOYEES BENCH_FLEET_REPLICAS=$REPLICAS BENCH_DURATION=$DURATION BENCH_CONNECTIONS=$CONNECTIONS BENCH_THREADS=$THREADS BENCH_SEED=$SEED bench/fleet.sh"

Q1="$QUERIES/q1_employees_managers_groups.graphql"
Q3="$QUERIES/q3_entities.graphql"
Q4="$QUERIES/q4_org_chart_page.graphql"
for q in "$Q1" "$Q3" "$Q4"; do [[ -r $q ]] || die "missing $q"; done
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

# ask_both NAME SUFFIX WHEN: Q1 and Q3 on the replica with Redis and on the one without, each answer in
# RAW/NAME-<query>-<yes|no>SUFFIX.response.json; a wrong one goes to WARM_BAD, "(Redis: yes|no, WHEN)".
ask_both() {
  local name=$1 suffix=$2 when=$3 q with url out verdict
  for q in Q1 Q3; do
    for with in yes no; do
      url=$WITH_URL
      [[ $with == yes ]] || url=$WITHOUT_URL
      out="$RAW/$name-${q,,}-$with$suffix.response.json"
      gql "$url" "$RAW/${q,,}-body.json" "$out"
      verdict=$(check_answer "$q" "$out")
      [[ $verdict == ok ]] || WARM_BAD+=("$q (Redis: $with, $when): $verdict")
    done
  done
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
  local out="$RAW/$name.txt" cpu_before cpu_after rcpu_before=0 rcpu_after=0 machine_before machine_after
  local TIMEFORMAT='%U %S' gen_status=0
  sb_reset "$LOAD_ORIGIN"
  cpu_before=$(cpu_ticks "$pid")
  [[ -n $rpid ]] && rcpu_before=$(cpu_ticks "$rpid")
  machine_before=$(machine_ticks)
  { time wrk_run "$url" "$body_file" "$out"; } 2>"$RAW/$name.time" || gen_status=$?
  ((gen_status == 0)) || die "wrk failed (exit $gen_status): $(tail -5 "$out")"
  cpu_after=$(cpu_ticks "$pid")
  [[ -n $rpid ]] && rcpu_after=$(cpu_ticks "$rpid")
  machine_after=$(machine_ticks)
  L_KEKA=$(sb_stats "$LOAD_ORIGIN" | api_total)
  wrk_figures "$out"
  L_SG_CPU=$(cores "$cpu_before" "$cpu_after")
  L_REDIS_CPU="–"
  [[ -n $rpid ]] && L_REDIS_CPU=$(cores "$rcpu_before" "$rcpu_after")
  L_WRK_CPU=$(time_cores "$RAW/$name.time")
  # The rest of the machine, in cores: other processes (busy minus subgraph, Redis and wrk), idle, steal.
  machine_rest "$machine_before" "$machine_after" "$L_SG_CPU" "${L_REDIS_CPU/–/0}" "$L_WRK_CPU"
}

# load_run QUERY WITH(yes|no) URL PID REDIS_PID BODY_FILE
load_run() {
  local q=$1 with=$2 label
  label="${q,,}-$([[ $with == yes ]] && echo redis || echo local)"
  load_attempts "$label" load_attempt "$label" "${@:3}"
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
  KEKA_WEBHOOK_SECRET=$WEBHOOK_SECRET start_subgraph "$FLEET_SB" "$BUDGET" "fleet-replica-$r" "$COLD_DEADLINE" "$FLEET_REDIS_URL"
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
KEKA_WEBHOOK_SECRET=$WEBHOOK_SECRET start_subgraph "$FLEET_SB" "$BUDGET" fleet-replica-new "$COLD_DEADLINE" "$FLEET_REDIS_URL"
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
q4_walk "$NEW_URL" "$EMPLOYEES" "$RAW/new-q4.response.json" "$RAW/new-q4."
WALK_SECS=$(printf '%.2f' "$WALK_SECS")
stats_row new-q4 "$FLEET_SB"
P3_ROWS+=("| Q4 whole org chart ($WALK_PAGES pages of \`first: 100\`, one after another; time = sum of the pages) | $KEKA | $LIMITED | $WALK_SECS s | $WALK_OK |")
REDIS_HOLDS=$(redis_brief "$FLEET_REDIS_PORT")
log "  new replica: org query $(jq .rate_limited "$RAW/new-org.stats.json") × 429, $(api_total "$RAW/new-org.stats.json") Keka; Q4 walk $KEKA Keka, $WALK_SECS s, $WALK_OK; Redis holds $REDIS_HOLDS"

# ---------------------------------------------------------------------------------------------
# 3b. Freshness on the same fleet (REPLICAS + 1 replicas with Redis, each with the default sync: Keka's deltas every
# 30 s, one replica leading): what a quiet minute costs the whole fleet, then how long 10 renames among everyone
# take to show at every replica and what that costs, by the sync interval alone and after one webhook.
# ---------------------------------------------------------------------------------------------
ALL_URLS=("${FLEET_URLS[@]}" "$NEW_URL")
# rounds KIND: sync rounds of that kind (delta, follow, lists, full) the replicas counted, all together.
rounds() {
  local url total=0 n
  for url in "${ALL_URLS[@]}"; do
    n=$(curl -fsS --max-time 10 "$url/metrics" | awk -v k="kind=\"$1\"" 'index($0, "keka_subgraph_sync_rounds_total{" k ",outcome=\"ok\"}") == 1 {print $2}')
    total=$((total + ${n:-0}))
  done
  echo "$total"
}
log "3b. freshness: a quiet ${QUIET_SECS} s, then 10 renames shown at every replica (interval alone, then a webhook)"
# Phase 1's walk spent Keka's whole minute: rounds meanwhile wait for a slot and give up. Measure after it.
sleep 60
sb_reset "$FLEET_SB"
led=$(rounds delta)
followed=$(rounds follow)
sleep "$QUIET_SECS"
stats_row quiet "$FLEET_SB"
P3B_ROWS=("| quiet: nothing changes for ${QUIET_SECS} s ($(($(rounds delta) - led)) rounds led, $(($(rounds follow) - followed)) followed, as the replicas count them) | $KEKA | $LIMITED | – | – |")

# display_name_at URL ID: the employee's displayName as that replica answers it.
display_name_at() {
  curl -sS --max-time 10 -H 'content-type: application/json' \
    -d "{\"query\":\"{ employee(id: \\\"$2\\\") { displayName } }\"}" "$1/graphql" | jq -r '.data.employee.displayName // empty'
}

# renames NAME WEBHOOK(yes|no): 10 renames in the sandbox, then (optionally) one webhook to replica 1; waits (at most
# 120 s a replica) until every replica shows each renamed person's new name. Adds a row to P3B_ROWS.
renames() {
  local name=$1 hook=$2 changes start shown=0 i r url id want
  sb_reset "$FLEET_SB"
  changes=$(curl -fsS --max-time 10 -X POST -H 'content-type: application/json' -d '{"renames":10}' \
    "$FLEET_SB/__sandbox/hr/changes")
  echo "$changes" >"$RAW/$name.changes.json"
  start=$EPOCHREALTIME
  if [[ $hook == yes ]]; then
    curl -fsS --max-time 10 -o /dev/null -X POST -H "X-Webhook-Secret: $WEBHOOK_SECRET" \
      -d "employeeIndentifier=$(jq -r '.[0].employeeId' <<<"$changes")&eventType=EmployeeUpdated&subDomain=bench" \
      "${FLEET_URLS[0]}/webhooks/keka"
  fi
  for url in "${ALL_URLS[@]}"; do
    for ((r = 0; r < 10; r++)); do
      id=$(jq -r ".[$r].employeeId" <<<"$changes")
      want=$(jq -r ".[$r].displayName" <<<"$changes")
      for ((i = 0; i < 1200; i++)); do
        [[ "$(display_name_at "$url" "$id")" == "$want" ]] && { shown=$((shown + 1)); break; }
        sleep 0.1
      done
    done
  done
  LAG=$(secs_since "$start")
  stats_row "$name" "$FLEET_SB"
  local how="by the interval alone"
  [[ $hook == yes ]] && how="a webhook to replica 1"
  P3B_ROWS+=("| 10 renames, $how | $KEKA | $LIMITED | $LAG s | $shown of $((10 * ${#ALL_URLS[@]})) |")
  log "  $name: $KEKA Keka, $LIMITED × 429, every replica shows all 10 after $LAG s ($shown shown)"
}
renames renames-interval no
renames renames-webhook yes

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
for pass in 1 2; do ask_both warmup "-$pass" "pass $pass"; done
sb_reset "$LOAD_ORIGIN"
load_run Q1 yes "$WITH_URL" "$WITH_PID" "$LOAD_REDIS_PID" "$RAW/q1-body.json"
load_run Q1 no "$WITHOUT_URL" "$WITHOUT_PID" "" "$RAW/q1-body.json"
load_run Q3 yes "$WITH_URL" "$WITH_PID" "$LOAD_REDIS_PID" "$RAW/q3-body.json"
load_run Q3 no "$WITHOUT_URL" "$WITHOUT_PID" "" "$RAW/q3-body.json"
# Still complete answers after the load.
ask_both after-load "" "after the load"
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
  echo "## 3b. Freshness: what syncing costs the fleet, and how soon a change shows"
  echo
  echo "The same $((REPLICAS + 1)) replicas, each with the default sync (Keka's \`lastModified\` deltas every 30 s; with Redis one replica leads and the others apply its rounds). Lag = from the sandbox's change (or the webhook) until every replica answers every renamed person's new name (polled every 0.1 s, one replica after another); Keka requests over that time, for the whole fleet."
  echo
  echo "| case | Keka requests | 429s | lag (all replicas show all changes) | shown |"
  echo "|---|---|---|---|---|"
  printf '%s\n' "${P3B_ROWS[@]}"
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
