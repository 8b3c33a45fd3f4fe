# shellcheck shell=bash
# Helpers shared by bench/run.sh, bench/fleet.sh and bench/soak.sh; sourced, never run. Functions only, and the
# few variables they share. Each script keeps its own settings, phases and report.
#
# What the functions read, set by the script before it calls them:
#   LOG_TAG          log's prefix: "[LOG_TAG HH:MM:SS] ..."
#   DIE_STATUS       die's exit status (1 unless set)
#   STOP_GRACE_SECS  how long stop_pid waits after SIGTERM before SIGKILL (5 unless set)
#   RAW              the run's raw-data directory (open_results sets it): process logs, scratch files
#   BIN, SEED, TODAY, CACHE_TTL   for start_sandbox / start_subgraph
#   THREADS, CONNECTIONS, DURATION, DURATION_SECS, LOAD_ATTEMPTS   for the load runs
#   Q5_MATCHING      for check_answer Q5
#
# Every background process is recorded in PIDS and stopped when the script exits (start_harness installs the traps).
# Progress goes to fd 3, the script's own stderr, so that it also reaches the terminal from a trap that fires inside
# a redirected command.

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$BENCH_DIR/.." && pwd)"
QUERIES="$BENCH_DIR/queries"
PIDS=()

# ---------------------------------------------------------------------------------------------
# Results, progress, processes
# ---------------------------------------------------------------------------------------------

# open_results PREFIX SUFFIX: STAMP (UTC, to the second), RAW = bench/results/<PREFIX><STAMP><SUFFIX>/ (made) and
# REPORT = the same path with .md.
# shellcheck disable=SC2034  # what open_results, stop_pid, describe_run and wrk_figures set is for the scripts
open_results() {
  STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
  RAW="$BENCH_DIR/results/$1$STAMP$2"
  REPORT="$RAW.md"
  mkdir -p "$RAW"
}

log() { printf '[%s %s] %s\n' "$LOG_TAG" "$(date -u +%H:%M:%S)" "$*" >&3; }
die() { log "ERROR: $*"; exit "${DIE_STATUS:-1}"; }

# start_harness: progress on fd 3 (a copy of stderr), and the traps: on exit every recorded process is stopped and
# on_exit is told the status; INT and TERM exit at once with 130 and 143.
start_harness() {
  exec 3>&2
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

cleanup() {
  local status=$? pid
  for pid in ${PIDS[@]+"${PIDS[@]}"}; do stop_pid "$pid"; done
  on_exit "$status"
  exit "$status"
}

# on_exit STATUS: what the script says (or tidies) on its way out; a script may define its own after sourcing this.
on_exit() {
  if (($1 != 0)); then log "failed (exit $1); logs and raw data in $RAW"; fi
}

drop_pid() {
  local kept=() p
  for p in ${PIDS[@]+"${PIDS[@]}"}; do [[ $p == "$1" ]] || kept+=("$p"); done
  PIDS=(${kept[@]+"${kept[@]}"})
}

# stop_pid PID: SIGTERM, up to STOP_GRACE_SECS to go, then SIGKILL. Sets STOP_STATUS and STOP_SECS.
# shellcheck disable=SC2034
stop_pid() {
  local pid=$1 i started=$SECONDS grace=${STOP_GRACE_SECS:-5} status=0
  STOP_STATUS=""
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 10; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null || true
      STOP_STATUS="killed (did not stop within $grace s of SIGTERM)"
    fi
  fi
  wait "$pid" 2>/dev/null || status=$?
  [[ -n $STOP_STATUS ]] || STOP_STATUS="exit status $status"
  STOP_SECS=$((SECONDS - started))
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

# require_tools TOOL...: dies naming the first one missing.
require_tools() {
  local tool
  for tool in "$@"; do command -v "$tool" >/dev/null || die "$tool is required"; done
}

# ---------------------------------------------------------------------------------------------
# The binary, the tools, what the report says about the run
# ---------------------------------------------------------------------------------------------

# build_bin: sets BIN: BENCH_BIN as it is (no build), or the release binary `cargo build --release` makes in the
# checkout (CARGO_TARGET_DIR honoured; cargo resolves a relative one from where it runs: the checkout).
build_bin() {
  if [[ -n ${BENCH_BIN:-} ]]; then
    BIN=$BENCH_BIN
  else
    local target=${CARGO_TARGET_DIR:-$REPO/target}
    [[ $target == /* ]] || target="$REPO/$target"
    BIN="$target/release/keka-subgraph"
    log "building the release binary (target dir $target)"
    (cd "$REPO" && cargo build --release 1>&2) || die "cargo build --release failed"
  fi
  [[ -x $BIN ]] || die "no executable $BIN"
}

# describe_run: sets TODAY, MONDAY and SUNDAY (this week in UTC), COMMIT (the checkout's, marked when src/Cargo have
# uncommitted changes the build took in; BENCH_BIN_COMMIT when BENCH_BIN names where its binary came from), BIN_NOTE
# (the binary, for a report) and CPU_MODEL, MEM_GIB.
# shellcheck disable=SC2034
describe_run() {
  TODAY="$(date -u +%F)"
  MONDAY="$(date -u -d "$TODAY -$(($(date -u +%u) - 1)) days" +%F)"
  SUNDAY="$(date -u -d "$MONDAY +6 days" +%F)"
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
}

# Debian's wrk: install directly, and only if that fails refresh the package lists and try again.
install_wrk() {
  local sudo=""
  if [[ $(id -u) != 0 ]]; then command -v sudo >/dev/null || return 1; sudo="sudo -n"; fi
  log "installing wrk (apt-get)"
  $sudo env DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -q wrk >&2 && return 0
  $sudo timeout 300 apt-get update -q >&2 && $sudo env DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -q wrk >&2
}

wrk_version() { (wrk -v 2>&1 || true) | head -1 | awk '{print $1, $2}'; }

# duration_secs DURATION [whole]: a wrk-style duration (250ms, 10s, 3m, 1h, or plain seconds) in seconds; with
# "whole", milliseconds round up to whole seconds.
duration_secs() {
  local d=$1
  case $d in
    *ms) if [[ ${2:-} == whole ]]; then echo $(((${d%ms} + 999) / 1000)); else awk -v v="${d%ms}" 'BEGIN {print v / 1000}'; fi ;;
    *s) echo "${d%s}" ;;
    *m) echo $((${d%m} * 60)) ;;
    *h) echo $((${d%h} * 3600)) ;;
    *) echo "$d" ;;
  esac
}

# ---------------------------------------------------------------------------------------------
# The sandbox and the subgraph
# ---------------------------------------------------------------------------------------------

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

# start_sandbox EMPLOYEES LIMIT NAME: a fresh simulated tenant (BIN, SEED, TODAY), its log RAW/NAME.sandbox.log
# (RAW/sandbox.log when NAME is empty). Sets SB_PID, SB_ORIGIN. More settings for it: as VAR=value before the call.
start_sandbox() {
  local employees=$1 limit=$2 log_file="$RAW/${3:+$3.}sandbox.log" port
  port=$(free_port)
  RUST_LOG=warn "$BIN" sandbox --listen "127.0.0.1:$port" --employees "$employees" --seed "$SEED" \
    --today "$TODAY" --rate-limit-per-minute "$limit" >"$log_file" 2>&1 &
  SB_PID=$!
  PIDS+=("$SB_PID")
  SB_ORIGIN="http://127.0.0.1:$port"
  wait_http "$SB_ORIGIN/__sandbox/stats" 60 || die "sandbox ($employees employees) not up within 60 s; see $log_file"
}

# start_subgraph SANDBOX_ORIGIN LIMIT NAME DEADLINE_SECS [REDIS_URL]: a fresh subgraph (empty caches) on the sandbox
# with the sandbox's credentials, KEKA_RATE_LIMIT_PER_MINUTE=LIMIT, REQUEST_DEADLINE_SECS=DEADLINE_SECS and
# CACHE_TTL_SECS=CACHE_TTL, sharing state through Redis when a URL is given; its log RAW/NAME.subgraph.log
# (RAW/subgraph.log when NAME is empty). SG_MAX_WAIT_SECS (120) and SG_RUST_LOG (warn) set its
# KEKA_MAX_RATE_LIMIT_WAIT_SECS and RUST_LOG; other settings: as VAR=value before the call. Sets SG_PID, SG_URL.
start_subgraph() {
  local origin=$1 limit=$2 log_file="$RAW/${3:+$3.}subgraph.log" deadline=$4 redis=${5:-} port
  local -a redis_env=()
  [[ -n $redis ]] && redis_env=("REDIS_URL=$redis")
  port=$(free_port)
  env ${redis_env[@]+"${redis_env[@]}"} \
    LISTEN_ADDR="127.0.0.1:$port" KEKA_BASE_URL="$origin/api/v1" KEKA_TOKEN_URL="$origin/connect/token" \
    KEKA_CLIENT_ID=sandbox-client-id KEKA_CLIENT_SECRET=sandbox-client-secret KEKA_API_KEY=sandbox-api-key \
    KEKA_RATE_LIMIT_PER_MINUTE="$limit" KEKA_MAX_RATE_LIMIT_WAIT_SECS="${SG_MAX_WAIT_SECS:-120}" \
    REQUEST_DEADLINE_SECS="$deadline" CACHE_TTL_SECS="$CACHE_TTL" RUST_LOG="${SG_RUST_LOG:-warn}" \
    "$BIN" serve >"$log_file" 2>&1 &
  SG_PID=$!
  PIDS+=("$SG_PID")
  SG_URL="http://127.0.0.1:$port"
  wait_http "$SG_URL/healthz" 30 || die "subgraph not up within 30 s; see $log_file"
}

sb_stats() { curl -fsS --max-time 10 "$1/__sandbox/stats"; }
sb_reset() { curl -fsS --max-time 10 -X POST -o /dev/null "$1/__sandbox/stats/reset"; }

# A token straight from the sandbox's token endpoint, for the scripts' own look-ups.
sb_token() {
  curl -fsS --max-time 10 -X POST "$1/connect/token" -d grant_type=kekaapi -d scope=kekaapi \
    -d client_id=sandbox-client-id -d client_secret=sandbox-client-secret -d api_key=sandbox-api-key |
    jq -er .access_token
}

# kget ORIGIN TOKEN PATH_AND_QUERY: one Keka API GET against a sandbox.
kget() { curl -fsS --max-time 30 -H "Authorization: Bearer $2" "$1/api/v1$3"; }

# Keka API requests in a stats snapshot (a file, or stdin): every /api/v1 answer, 429s included; token requests are
# not API requests.
api_total() { jq '[.by_route[] | select(.route | startswith("/api/v1")) | .count] | add // 0' "$@"; }
routes_brief() { jq -r '[.by_route[] | "\(.method) \(.route | sub("^/api/v1"; "")) \(.status) ×\(.count)"] | join("; ")' "$1"; }

# ---------------------------------------------------------------------------------------------
# Queries
# ---------------------------------------------------------------------------------------------

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

# check_answer Q1|Q2|Q3|Q5 RESPONSE: "ok" when the answer is complete and error-free, else what is wrong. Q5 is
# checked against Q5_MATCHING, the week's matching time-off requests.
check_answer() {
  local q=$1 out=$2 complete
  if ! jq -e '.errors == null' "$out" >/dev/null; then
    echo "errors: $(jq -c '[.errors[].message] | unique | .[0:2]' "$out")"
    return 0
  fi
  case $q in
    Q1) complete='(.data.employees.edges | length) == 100 and all(.data.employees.edges[]; .node.displayName != null)' ;;
    Q2) complete='(.data.employees.nodes | length) == 50' ;;
    Q3) complete='(.data._entities | length) == 50 and all(.data._entities[]; . != null and .displayName != null)' ;;
    Q5)
      if jq -e --argjson m "$Q5_MATCHING" '.data.timeoffRequests.totalCount == $m and (.data.timeoffRequests.nodes | length) == ([$m, 100] | min)' "$out" >/dev/null; then
        echo ok
      else
        echo "totalCount $(jq .data.timeoffRequests.totalCount "$out"), expected $Q5_MATCHING"
      fi
      return 0
      ;;
    *) die "check_answer: no check for $q" ;;
  esac
  if jq -e "$complete" "$out" >/dev/null; then echo ok; else echo "wrong answer"; fi
}

# q4_walk URL EXPECTED OUT PREFIX: walks the org chart page by page (bench/queries/q4_org_chart_page.graphql: first:
# 100, after: endCursor) to the end, each page's answer in OUT, the ids seen in PREFIXids.txt (PREFIXbody.json and
# PREFIXpage.txt are scratch).
# Sets WALK_SECS (the sum of the HTTP exchanges: the jq work between pages is not counted), WALK_PAGES, WALK_OK ("ok":
# EXPECTED employees, each exactly once, no errors; else what is wrong).
q4_walk() {
  local url=$1 expected=$2 out=$3 prefix=$4 cursor="" has_next=true seen distinct
  WALK_PAGES=0
  WALK_OK=ok
  WALK_SECS=0
  : >"${prefix}ids.txt"
  while [[ $has_next == true ]]; do
    ((WALK_PAGES < 1000)) || die "Q4 walk did not end after 1000 pages"
    jq -nc --rawfile q "$QUERIES/q4_org_chart_page.graphql" --arg c "$cursor" '{query: $q, variables: {cursor: (if $c == "" then null else $c end)}}' >"${prefix}body.json"
    gql "$url" "${prefix}body.json" "$out"
    WALK_SECS=$(awk -v a="$WALK_SECS" -v b="$GQL_SECS" 'BEGIN {printf "%.6f", a + b}')
    # One jq per page: "ERROR <message>" or the ids, then "<hasNextPage> <endCursor>" last.
    jq -r 'if .errors != null then "ERROR \(.errors[0].message)" else (.data.employees | (.nodes[].id), "\(.pageInfo.hasNextPage) \(.pageInfo.endCursor // "")") end' \
      "$out" >"${prefix}page.txt"
    if grep -q '^ERROR ' "${prefix}page.txt"; then
      WALK_OK="errors: $(head -1 "${prefix}page.txt")"
      break
    fi
    sed '$d' "${prefix}page.txt" >>"${prefix}ids.txt"
    read -r has_next cursor < <(tail -1 "${prefix}page.txt")
    WALK_PAGES=$((WALK_PAGES + 1))
  done
  rm -f "${prefix}page.txt" "${prefix}body.json"
  if [[ $WALK_OK == ok ]]; then
    seen=$(wc -l <"${prefix}ids.txt")
    distinct=$(sort -u "${prefix}ids.txt" | wc -l)
    ((seen == expected && distinct == expected)) || WALK_OK="walk saw $seen ids ($distinct distinct), expected $expected"
  fi
}

# ---------------------------------------------------------------------------------------------
# Load runs and the machine around them
# ---------------------------------------------------------------------------------------------

# Machine-wide CPU ticks from /proc/stat: "busy idle steal" (busy excludes idle, iowait and steal).
machine_ticks() { awk '$1 == "cpu" {print $2 + $3 + $4 + $7 + $8, $5 + $6, $9}' /proc/stat; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
mb() { awk -v kb="$1" 'BEGIN {printf "%.1f", kb / 1024}'; }
fmt_int() { sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' <<<"$1"; }

# cores TICKS_BEFORE TICKS_AFTER: the cores a process used on average over DURATION_SECS.
cores() { awk -v a="$1" -v b="$2" -v hz="$(getconf CLK_TCK)" -v s="$DURATION_SECS" 'BEGIN {printf "%.2f", (b - a) / hz / s}'; }

# time_cores TIME_FILE: the cores of a command timed with TIMEFORMAT='%U %S', over DURATION_SECS.
time_cores() { awk -v s="$DURATION_SECS" 'NF == 2 {printf "%.2f", ($1 + $2) / s}' "$1"; }

# wrk_run URL BODY_FILE OUT_FILE: one fixed-duration wrk run POSTing the body (bench/wrk/post.lua) to URL/graphql.
wrk_run() {
  BENCH_BODY_FILE="$2" run_fg timeout $((${DURATION_SECS%.*} + 60)) wrk -t "$THREADS" -c "$CONNECTIONS" -d "$DURATION" \
    --timeout 10s --latency -s "$BENCH_DIR/wrk/post.lua" "$1/graphql" >"$3" 2>&1
}

# wrk_figures OUT_FILE: the figures of a wrk run (its BENCH_RESULT line): sets L_RPS, L_P50, L_P99 (ms), L_MAX (ms),
# L_ERRS, L_SIZE_KB (response size).
# shellcheck disable=SC2034
wrk_figures() {
  local line
  line=$(grep '^BENCH_RESULT' "$1") || die "no BENCH_RESULT in $1"
  kv() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$line"; }
  L_RPS=$(awk -v r="$(kv requests)" -v d="$(kv duration_us)" 'BEGIN {printf "%.0f", r / (d / 1e6)}')
  L_P50=$(awk -v v="$(kv p50_us)" 'BEGIN {printf "%.2f", v / 1000}')
  L_P99=$(awk -v v="$(kv p99_us)" 'BEGIN {printf "%.2f", v / 1000}')
  L_MAX=$(awk -v v="$(kv max_us)" 'BEGIN {printf "%.1f", v / 1000}')
  L_ERRS=$(($(kv status_errors) + $(kv connect_errors) + $(kv read_errors) + $(kv write_errors) + $(kv timeouts)))
  L_SIZE_KB=$(awk -v b="$(kv bytes)" -v r="$(kv requests)" 'BEGIN {printf "%.1f", (r ? b / r : 0) / 1024}')
}

# machine_rest TICKS_BEFORE TICKS_AFTER CORES...: the rest of the machine during a run of DURATION_SECS, in cores:
# "others / idle / steal", others being the busy time less the CORES the run's own processes used (the sandbox, the
# script, anything else running). Sets L_MACHINE, with ⚠ and L_DISTURBED=1 when others or steal exceeded 0.2 cores.
machine_rest() {
  local before=$1 after=$2
  shift 2
  L_MACHINE=$(awk -v a="$before" -v b="$after" -v hz="$(getconf CLK_TCK)" -v s="$DURATION_SECS" -v own="$*" 'BEGIN {
    split(a, x, " "); split(b, y, " "); others = (y[1] - x[1]) / hz / s
    n = split(own, o, " "); for (i = 1; i <= n; i++) others -= o[i]
    if (others < 0) others = 0
    printf "%.2f / %.2f / %.2f", others, (y[2] - x[2]) / hz / s, (y[3] - x[3]) / hz / s }')
  L_DISTURBED=0
  if awk -v m="$L_MACHINE" 'BEGIN {split(m, x, " / "); exit !(x[1] > 0.2 || x[3] > 0.2)}'; then
    L_MACHINE="$L_MACHINE ⚠"
    L_DISTURBED=1
  fi
}

# load_attempts LABEL COMMAND...: runs COMMAND (one load run, setting L_DISTURBED and L_MACHINE) again while other
# processes disturbed it, up to LOAD_ATTEMPTS times, 10 s apart; the last attempt counts. Sets L_ATTEMPT; a run
# disturbed to the last is added to DISTURBED.
load_attempts() {
  local label=$1
  shift
  for ((L_ATTEMPT = 1; L_ATTEMPT <= LOAD_ATTEMPTS; L_ATTEMPT++)); do
    "$@"
    ((L_DISTURBED == 1 && L_ATTEMPT < LOAD_ATTEMPTS)) || break
    log "  $label: disturbed by other processes (others / idle / steal = $L_MACHINE); again in 10 s"
    sleep 10
  done
  ((L_DISTURBED == 0)) || DISTURBED+=("$label: others / idle / steal = $L_MACHINE cores after $L_ATTEMPT attempts")
}
