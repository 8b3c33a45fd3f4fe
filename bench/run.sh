#!/usr/bin/env bash
# Benchmark harness of keka-subgraph: Keka cost (cold / warm / lower bound), cold wall time under
# Keka's 50-per-minute budget, warm throughput and latency, and memory, for a 1,000- and a
# 10,000-employee simulated tenant. See bench/README.md for what every column means.
#
#   bench/run.sh                                   # both sizes, 10 s per load run
#   BENCH_SIZES=1000 BENCH_DURATION=5s bench/run.sh
#
# Environment: BENCH_SIZES ("1000 10000"), BENCH_DURATION (10s), BENCH_CONNECTIONS (16),
# BENCH_THREADS (2), BENCH_SEED (42), BENCH_CACHE_TTL_SECS (300, the product's default), BENCH_LOAD_ATTEMPTS (3),
# BENCH_PERF (0; 1 = `perf record` the subgraph during every load run, reports in the results dir), BENCH_BIN (the
# release binary, built by `cargo build --release` when BENCH_BIN is not set; CARGO_TARGET_DIR is honoured),
# BENCH_BIN_COMMIT (the commit BENCH_BIN was built from, for the report).
#
# Everything listens on 127.0.0.1. Every process this script starts is stopped on exit (trap).
# Progress goes to stderr; the report (markdown) goes to stdout and to bench/results/<timestamp>.md,
# raw data (responses, sandbox counters, wrk output) to bench/results/<timestamp>/.
set -euo pipefail
export LC_ALL=C

# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SIZES="${BENCH_SIZES:-1000 10000}"
DURATION="${BENCH_DURATION:-10s}"
CONNECTIONS="${BENCH_CONNECTIONS:-16}"
THREADS="${BENCH_THREADS:-2}"
SEED="${BENCH_SEED:-42}"
CACHE_TTL="${BENCH_CACHE_TTL_SECS:-300}"
PERF="${BENCH_PERF:-0}"
LOAD_ATTEMPTS="${BENCH_LOAD_ATTEMPTS:-3}"

KEKA_PAGE=200   # Keka page size the client always uses
ID_BATCH=50     # ids per `employeeIds=` request
BUDGET=50       # Keka's requests per minute (sandbox and client limiter in the cold runs)
DEADLINE=150    # every subgraph's REQUEST_DEADLINE_SECS: long enough for a wait into Keka's next minute
# Keka's small lists: one page each for these tenants, cached by the subgraph; reported apart from the data pages.
FIXED_ROUTES='["/api/v1/hris/groups","/api/v1/hris/grouptypes","/api/v1/hris/locations","/api/v1/time/leavetypes","/api/v1/hris/departments","/api/v1/hris/jobtitles"]'

LOG_TAG=bench
open_results "" ""
start_harness

# Keka API requests of the fixed lists in a stats snapshot (api_total, in lib.sh, counts them all).
api_fixed() { jq --argjson fixed "$FIXED_ROUTES" '[.by_route[] | select(.route as $r | $fixed | index($r)) | .count] | add // 0' "$1"; }

# CPU ticks per thread of a process: "name:tid ticks" lines.
thread_ticks() {
  local t
  for t in /proc/"$1"/task/*; do
    [[ -r $t/stat ]] && awk '{c = $0; sub(/^[0-9]+ \(/, "", c); sub(/\).*/, "", c); gsub(/ /, "_", c)
      n = split($0, f, ") "); split(f[n], r, " "); print c ":" $1, r[12] + r[13]}' "$t/stat"
  done | sort
}
ceil_div() { echo $((($1 + $2 - 1) / $2)); }
min() { (($1 < $2)) && echo "$1" || echo "$2"; }

# ---------------------------------------------------------------------------------------------
# Build and tools
# ---------------------------------------------------------------------------------------------
require_tools curl jq awk
build_bin

LOADGEN=""
if command -v wrk >/dev/null; then
  LOADGEN=wrk
elif command -v oha >/dev/null; then
  LOADGEN=oha
elif install_wrk && command -v wrk >/dev/null; then
  LOADGEN=wrk
else
  log "apt could not install wrk; falling back to cargo install oha --locked"
  timeout 900 cargo install oha --locked >&2 || die "no load generator: apt-get install wrk and cargo install oha both failed"
  LOADGEN=oha
fi
if [[ $LOADGEN == wrk ]]; then
  LOADGEN_VERSION="$(wrk_version)"
else
  LOADGEN_VERSION="$( (oha --version 2>&1 || true) | head -1)"
fi
if [[ $PERF == 1 ]] && ! command -v perf >/dev/null; then log "BENCH_PERF=1 but no perf; profiling off"; PERF=0; fi

DURATION_SECS=$(duration_secs "$DURATION")

# TODAY, "this week" in UTC (MONDAY to SUNDAY around today), COMMIT, CPU_MODEL, MEM_GIB.
describe_run
REPRO="BENCH_SIZES=\"$SIZES\" BENCH_DURATION=$DURATION BENCH_CONNECTIONS=$CONNECTIONS BENCH_THREADS=$THREADS bench/run.sh"

Q1="$QUERIES/q1_employees_managers_groups.graphql"
Q2="$QUERIES/q2_direct_reports.graphql"
Q3="$QUERIES/q3_entities.graphql"
Q4="$QUERIES/q4_org_chart_page.graphql"
Q5="$QUERIES/q5_who_is_out.graphql"
for q in "$Q1" "$Q2" "$Q3" "$Q4" "$Q5"; do [[ -r $q ]] || die "missing $q"; done
declare -A TITLE=(
  [Q1]="Q1 page of 100 + manager + groups"
  [Q2]="Q2 50 people + direct reports + office"
  [Q3]="Q3 _entities × 50 (ids 200–249)"
  [Q4]="Q4 whole org chart (walk of first:100 pages)"
  [Q5]="Q5 who is out this week"
)

COST_ROWS=()     # markdown rows of the cost table
LOAD_ROWS=()     # markdown rows of the throughput table
MEM_ROWS=()      # markdown rows of the memory table
DETAILS=()       # markdown lines of the detail section
TOTAL_429=0
WARM_NONZERO=()  # where a warm repeat cost Keka requests
COLD_OVER=()     # where cold exceeded lower bound + fixed lists
ANSWER_BAD=()    # where an answer was wrong
DISTURBED=()     # load runs during which other processes or the hypervisor took noticeable CPU
declare -A COLD_MEM COLD_HWM_KB RPS P99 HWM_AFTER_WARMUP HWM_AFTER_LOAD RSS_AFTER_WARMUP

# ---------------------------------------------------------------------------------------------
# Lower bounds, from the reference sandbox (same seed, size and date as every metered sandbox, so
# the same ids and data; limit off, so these look-ups never touch a metered budget).
# ---------------------------------------------------------------------------------------------
compute_lower_bounds() {
  local n=$1 dir=$2 token pages p
  token=$(sb_token "$REF_ORIGIN")
  # Every employee in Keka's order, as {id, m: manager id}: the walk a client would make.
  kget "$REF_ORIGIN" "$token" "/hris/employees?pageNumber=1&pageSize=$KEKA_PAGE" >"$dir/emp-page-1.json"
  pages=$(jq -er .totalPages "$dir/emp-page-1.json")
  for ((p = 2; p <= pages; p++)); do
    kget "$REF_ORIGIN" "$token" "/hris/employees?pageNumber=$p&pageSize=$KEKA_PAGE" >"$dir/emp-page-$p.json"
  done
  for ((p = 1; p <= pages; p++)); do jq -c '.data[] | {id, m: .reportsTo.id}' "$dir/emp-page-$p.json"; done |
    jq -s . >"$dir/employees.json"
  rm -f "$dir"/emp-page-*.json
  N=$(jq length "$dir/employees.json")
  ((N == n)) || die "the sandbox has $N employees, expected $n"
  ((N >= 250)) || die "Q3 needs employees 200–249: use sizes of at least 250"

  # Q1: page 1 holds the 100 shown; managers of those 100 who are not on page 1 come in id batches.
  Q1_MGRS=$(jq --argjson pg "$KEKA_PAGE" '(.[0:$pg] | map(.id) | INDEX(.)) as $p1
    | [.[0:100][] | .m | select(. != null and ($p1[.] | not))] | unique | length' "$dir/employees.json")
  LB_DATA[Q1]=$((1 + $(ceil_div "$Q1_MGRS" $ID_BATCH)))
  LB_FIXED[Q1]=2
  LB_HOW[Q1]="1 page + $(ceil_div "$Q1_MGRS" $ID_BATCH) batch(es) for $Q1_MGRS managers off page 1"
  FIXED_HOW[Q1]="groups, grouptypes"

  # Q2: direct reports need the org snapshot (every page); offices need the location list.
  LB_DATA[Q2]=$(ceil_div "$N" $KEKA_PAGE)
  LB_FIXED[Q2]=1
  LB_HOW[Q2]="snapshot: ${LB_DATA[Q2]} pages"
  FIXED_HOW[Q2]="locations"

  # Q3: the 50 ids are one batch; their managers outside those 50 are further batches.
  jq -c '{representations: [.[200:250][] | {__typename: "Employee", id}]}' "$dir/employees.json" >"$dir/q3-variables.json"
  Q3_MGRS=$(jq '(.[200:250] | map(.id) | INDEX(.)) as $s
    | [.[200:250][] | .m | select(. != null and ($s[.] | not))] | unique | length' "$dir/employees.json")
  LB_DATA[Q3]=$((1 + $(ceil_div "$Q3_MGRS" $ID_BATCH)))
  LB_FIXED[Q3]=0
  LB_HOW[Q3]="1 id batch + $(ceil_div "$Q3_MGRS" $ID_BATCH) batch(es) for $Q3_MGRS managers outside the 50"
  FIXED_HOW[Q3]="–"

  # Q4: every page once; `manager { id }` is in the page itself.
  LB_DATA[Q4]=$(ceil_div "$N" $KEKA_PAGE)
  LB_FIXED[Q4]=0
  LB_HOW[Q4]="${LB_DATA[Q4]} pages"
  FIXED_HOW[Q4]="–"

  # Q5: the week's leave requests (every page: totalCount needs them all), then the people shown (the first
  # 100 matching, by start date then id, as the subgraph orders them) and their managers by id; or, if cheaper,
  # the org snapshot instead of the id batches. Departments come from the group list.
  local url="/time/leaverequests?from=$MONDAY&to=$SUNDAY&pageSize=$KEKA_PAGE"
  kget "$REF_ORIGIN" "$token" "$url&pageNumber=1" >"$dir/leave-page-1.json"
  LEAVE_RECORDS=$(jq -er .totalRecords "$dir/leave-page-1.json")
  pages=$(jq -er .totalPages "$dir/leave-page-1.json")
  for ((p = 2; p <= pages; p++)); do kget "$REF_ORIGIN" "$token" "$url&pageNumber=$p" >"$dir/leave-page-$p.json"; done
  for ((p = 1; p <= pages; p++)); do jq -c '.data[]' "$dir/leave-page-$p.json"; done | jq -s . >"$dir/leave.json"
  rm -f "$dir"/leave-page-*.json
  local q5
  q5=$(jq -c --slurpfile emps "$dir/employees.json" --arg mon "$MONDAY" --arg sun "$SUNDAY" '
    ($emps[0] | map({key: .id, value: .m}) | from_entries) as $mgr
    | [.[] | select((.status == 0 or .status == 1)
                    and .fromDate[0:10] <= $sun and ((.toDate // .fromDate)[0:10]) >= $mon)]
    | sort_by([.fromDate, .id]) as $matching
    | ($matching[0:100] | map(.employeeIdentifier) | unique) as $people
    | ($people | INDEX(.)) as $shown
    | ([$people[] | $mgr[.] | select(. != null and ($shown[.] | not))] | unique) as $managers
    | {matching: ($matching | length), people: ($people | length), managers: ($managers | length)}' "$dir/leave.json")
  Q5_MATCHING=$(jq .matching <<<"$q5")
  local people managers leave_pages by_id snapshot
  people=$(jq .people <<<"$q5")
  managers=$(jq .managers <<<"$q5")
  leave_pages=$(ceil_div "$LEAVE_RECORDS" $KEKA_PAGE)
  by_id=$(($(ceil_div "$people" $ID_BATCH) + $(ceil_div "$managers" $ID_BATCH)))
  snapshot=$(ceil_div "$N" $KEKA_PAGE)
  LB_DATA[Q5]=$((leave_pages + $(min "$by_id" "$snapshot")))
  LB_FIXED[Q5]=1
  if ((by_id <= snapshot)); then
    LB_HOW[Q5]="$leave_pages leave page(s) ($LEAVE_RECORDS records) + $by_id batch(es): $people people, $managers managers"
  else
    LB_HOW[Q5]="$leave_pages leave page(s) ($LEAVE_RECORDS records) + snapshot ($snapshot pages < $by_id id batches)"
  fi
  FIXED_HOW[Q5]="groups"
}

# ---------------------------------------------------------------------------------------------
# One query against a subgraph: Q4 walks every page. Sets RUN_SECS (sum of the HTTP exchanges) and
# RUN_OK ("ok" or what is wrong); keeps the (last) response in OUT.
# ---------------------------------------------------------------------------------------------
run_query() {
  local q=$1 url=$2 dir=$3 out=$4
  if [[ $q == Q4 ]]; then
    q4_walk "$url" "$N" "$out" "$dir/q4-"
    RUN_SECS=$WALK_SECS RUN_OK=$WALK_OK
  else
    gql "$url" "$dir/${q,,}-body.json" "$out"
    RUN_SECS=$GQL_SECS
    RUN_OK=$(check_answer "$q" "$out")
  fi
}

# The request bodies of a size (Q4's body is its first page).
write_bodies() {
  local dir=$1
  body "$Q1" '{}' >"$dir/q1-body.json"
  body "$Q2" '{}' >"$dir/q2-body.json"
  body "$Q3" "$(cat "$dir/q3-variables.json")" >"$dir/q3-body.json"
  body "$Q4" '{"cursor": null}' >"$dir/q4-first-page-body.json"
  body "$Q5" "$(jq -nc --arg f "$MONDAY" --arg t "$SUNDAY" '{from: $f, to: $t}')" >"$dir/q5-body.json"
}

# ---------------------------------------------------------------------------------------------
# Cold runs: a fresh sandbox enforcing 50/min and a fresh subgraph (limiter 50/min, empty caches) per
# query, so every cold query has Keka's whole budget and no run eats another's window. The query,
# then the same query again at once (warm).
# ---------------------------------------------------------------------------------------------
cold_run() {
  local size=$1 q=$2 dir=$3 name="$1-${2,,}-cold"
  start_sandbox "$size" "$BUDGET" "$name"
  local sb_pid=$SB_PID sb=$SB_ORIGIN
  start_subgraph "$sb" "$BUDGET" "$name" "$DEADLINE"
  local sg_pid=$SG_PID sg=$SG_URL
  sb_reset "$sb"

  run_query "$q" "$sg" "$dir" "$dir/$name.response.json"
  local cold_secs=$RUN_SECS cold_ok=$RUN_OK
  sb_stats "$sb" >"$dir/$name.stats.json"
  sb_reset "$sb"
  run_query "$q" "$sg" "$dir" "$dir/${name%-cold}-warm.response.json"
  local warm_secs=$RUN_SECS warm_ok=$RUN_OK
  sb_stats "$sb" >"$dir/${name%-cold}-warm.stats.json"
  COLD_HWM_KB[$size,$q]=$(status_kb "$sg_pid" VmHWM)
  COLD_MEM[$size,$q]="$(mb "${COLD_HWM_KB[$size,$q]}") MB"
  stop_pid "$sg_pid"
  stop_pid "$sb_pid"

  local cold_total cold_fixed cold_data warm limited tokens ratio verdict
  cold_total=$(api_total "$dir/$name.stats.json")
  cold_fixed=$(api_fixed "$dir/$name.stats.json")
  cold_data=$((cold_total - cold_fixed))
  warm=$(api_total "$dir/${name%-cold}-warm.stats.json")
  limited=$(($(jq .rate_limited "$dir/$name.stats.json") + $(jq .rate_limited "$dir/${name%-cold}-warm.stats.json")))
  tokens=$(jq .token_requests "$dir/$name.stats.json")
  TOTAL_429=$((TOTAL_429 + limited))
  ratio=$(awk -v c="$cold_data" -v l="${LB_DATA[$q]}" 'BEGIN {printf "%.2f", c / l}')
  verdict="✅"
  if ((cold_data > LB_DATA[$q] || cold_fixed > LB_FIXED[$q])); then verdict="❌"; COLD_OVER+=("$size $q: $cold_data data + $cold_fixed fixed vs ${LB_DATA[$q]} + ${LB_FIXED[$q]}"); fi
  ((warm == 0)) || WARM_NONZERO+=("$size $q (cold-run repeat): $warm")
  [[ $cold_ok == ok && $warm_ok == ok ]] || ANSWER_BAD+=("$size $q: cold $cold_ok; warm $warm_ok")
  local answer=$cold_ok
  [[ $warm_ok == ok ]] || answer="$answer / warm: $warm_ok"
  COST_ROWS+=("| $(fmt_int "$size") | ${TITLE[$q]} | ${LB_DATA[$q]} (${LB_HOW[$q]}) | ${LB_FIXED[$q]} (${FIXED_HOW[$q]}) | $cold_data | $cold_fixed | $ratio $verdict | $warm | $limited | $(printf '%.2f' "$cold_secs") s | $(printf '%.3f' "$warm_secs") s | $answer |")
  DETAILS+=("- $(fmt_int "$size") $q cold: $(routes_brief "$dir/$name.stats.json") (token requests: $tokens)")
  log "  $q cold: $cold_data data + $cold_fixed fixed (lower bound ${LB_DATA[$q]} + ${LB_FIXED[$q]}), warm $warm, 429s $limited, ${cold_secs}s, $cold_ok"
}

# run_loadgen BODY_FILE OUT_FILE: one fixed-duration run of the load generator against the subgraph.
run_loadgen() {
  local limit=$((${DURATION_SECS%.*} + 60))
  if [[ $LOADGEN == wrk ]]; then
    wrk_run "$SG_URL" "$1" "$2"
  else
    # oha >= 1.5 spells JSON output --output-format json, older ones -j.
    run_fg timeout "$limit" oha --no-tui -z "$DURATION" -c "$CONNECTIONS" -m POST -H 'content-type: application/json' \
      -D "$1" --output-format json "$SG_URL/graphql" >"$2" 2>"$2.err" ||
      run_fg timeout "$limit" oha --no-tui -z "$DURATION" -c "$CONNECTIONS" -m POST -H 'content-type: application/json' \
        -D "$1" -j "$SG_URL/graphql" >"$2" 2>"$2.err"
  fi
}

# ---------------------------------------------------------------------------------------------
# Load: limits off (sandbox and client), caches warmed, then one fixed-duration run per query.
# ---------------------------------------------------------------------------------------------
load_attempt() {
  local size=$1 q=$2 body_file=$3 dir=$4 name="$1-${2,,}-load"
  local out="$dir/$name.txt" cpu_before cpu_after threads_before threads_after machine_before machine_after sg_cores wrk_cpu
  sb_reset "$REF_ORIGIN"
  cpu_before=$(cpu_ticks "$SG_PID")
  threads_before=$(thread_ticks "$SG_PID")
  machine_before=$(machine_ticks)
  local perf_pid=""
  if [[ $PERF == 1 ]]; then
    timeout -s INT $((${DURATION_SECS%.*} + 30)) perf record -F 499 -p "$SG_PID" -o "$dir/$name.perf.data" -- sleep "$DURATION_SECS" >"$dir/$name.perf.log" 2>&1 &
    perf_pid=$!
    PIDS+=("$perf_pid")
  fi
  local TIMEFORMAT='%U %S' gen_status=0
  { time run_loadgen "$body_file" "$out"; } 2>"$dir/$name.time" || gen_status=$?
  ((gen_status == 0)) || die "$LOADGEN failed (exit $gen_status): $(tail -5 "$out")"
  cpu_after=$(cpu_ticks "$SG_PID")
  machine_after=$(machine_ticks)
  threads_after=$(thread_ticks "$SG_PID")
  if [[ -n $perf_pid ]]; then
    wait "$perf_pid" 2>/dev/null || true
    stop_pid "$perf_pid"
    perf report -i "$dir/$name.perf.data" --no-children --sort dso,symbol --stdio --percent-limit 0.3 2>/dev/null | tr -s " " | head -80 >"$dir/$name.perf.txt" || true
    rm -f "$dir/$name.perf.data"
  fi
  L_KEKA=$(sb_stats "$REF_ORIGIN" | api_total)

  if [[ $LOADGEN == wrk ]]; then
    wrk_figures "$out"
  else
    L_RPS=$(jq '.summary.requestsPerSec | floor' "$out")
    L_P50=$(jq '.latencyPercentiles.p50 * 1000 * 100 | round / 100' "$out")
    L_P99=$(jq '.latencyPercentiles.p99 * 1000 * 100 | round / 100' "$out")
    L_MAX=$(jq '.summary.slowest * 1000 * 10 | round / 10' "$out")
    L_ERRS=$(jq '([.statusCodeDistribution | to_entries[] | select(.key != "200") | .value] | add // 0) + ([.errorDistribution[]?] | add // 0)' "$out")
    L_SIZE_KB=$(jq '.summary.sizePerRequest / 1024 * 10 | round / 10' "$out")
  fi
  sg_cores=$(cores "$cpu_before" "$cpu_after")
  wrk_cpu=$(time_cores "$dir/$name.time")
  # The rest of the machine during the run: busy minus the subgraph and the load generator, idle, steal.
  machine_rest "$machine_before" "$machine_after" "$sg_cores" "$wrk_cpu"
  L_ROW="| $(fmt_int "$size") | ${TITLE[$q]%% (*} | $(fmt_int "$L_RPS") | $L_P50 ms | $L_P99 ms | $L_MAX ms | $L_ERRS | $L_SIZE_KB KB | $L_KEKA | $sg_cores | $wrk_cpu | $L_MACHINE |"
  # Per-thread CPU of the subgraph during the run.
  L_THREADS="$(join -a2 -e0 -o 0,1.2,2.2 <(echo "$threads_before") <(echo "$threads_after") 2>/dev/null |
    awk -v hz="$(getconf CLK_TCK)" '{d = ($3 - $2) / hz; if (d > 0) printf "%s %.1f; ", $1, d}')"
  log "  $q: $L_RPS req/s, p50 $L_P50 ms, p99 $L_P99 ms, errors $L_ERRS, Keka requests during load $L_KEKA, subgraph $sg_cores cores, $LOADGEN $wrk_cpu cores, others/idle/steal $L_MACHINE cores"
}

# load_run SIZE QUERY BODY_FILE DIR: one load run; a run disturbed by other processes (someone's build, say) is
# repeated, up to BENCH_LOAD_ATTEMPTS times, 10 s apart; the last attempt is reported.
load_run() {
  local size=$1 q=$2
  load_attempts "$size $q" load_attempt "$@"
  RPS[$size,$q]=$L_RPS
  P99[$size,$q]=$L_P99
  ((L_KEKA == 0)) || WARM_NONZERO+=("$size $q (during load): $L_KEKA")
  LOAD_ROWS+=("$L_ROW")
  DETAILS+=("- $(fmt_int "$size") $q load (attempt $L_ATTEMPT), subgraph CPU seconds by thread: $L_THREADS")
}

# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------
log "machine: $(nproc) × $CPU_MODEL, $MEM_GIB GiB; commit $COMMIT; load generator $LOADGEN_VERSION; results in $RAW"
log "this week (UTC): $MONDAY .. $SUNDAY"
declare -A LB_DATA LB_FIXED LB_HOW FIXED_HOW

for size in $SIZES; do
  [[ $size =~ ^[0-9]+$ ]] || die "BENCH_SIZES must hold numbers, got '$size'"
  dir="$RAW/$size"
  mkdir -p "$dir"
  log "== $size employees =="
  start_sandbox "$size" 0 "$size-reference"
  REF_PID=$SB_PID
  REF_ORIGIN=$SB_ORIGIN
  compute_lower_bounds "$size" "$dir"
  write_bodies "$dir"
  log "lower bounds (data + fixed lists): Q1 ${LB_DATA[Q1]}+${LB_FIXED[Q1]}, Q2 ${LB_DATA[Q2]}+${LB_FIXED[Q2]}, Q3 ${LB_DATA[Q3]}+${LB_FIXED[Q3]}, Q4 ${LB_DATA[Q4]}+${LB_FIXED[Q4]}, Q5 ${LB_DATA[Q5]}+${LB_FIXED[Q5]}"

  log "cold runs (sandbox and client limited to $BUDGET/min, a fresh pair per query)"
  for q in Q1 Q2 Q3 Q4 Q5; do cold_run "$size" "$q" "$dir"; done

  log "load runs (limits off; $LOADGEN, $THREADS threads, $CONNECTIONS connections, $DURATION each)"
  start_subgraph "$REF_ORIGIN" 0 "$size-load" "$DEADLINE"
  # Warm every cache: the whole org chart (Q4 walk + Q2) first, then the others; each twice.
  for _ in 1 2; do
    for q in Q4 Q2 Q1 Q3 Q5; do
      run_query "$q" "$SG_URL" "$dir" "$dir/$size-${q,,}-warmup.response.json"
      [[ $RUN_OK == ok ]] || { ANSWER_BAD+=("$size $q (warm-up): $RUN_OK"); log "  warm-up $q: $RUN_OK"; }
    done
  done
  RSS_AFTER_WARMUP[$size]=$(status_kb "$SG_PID" VmRSS)
  HWM_AFTER_WARMUP[$size]=$(status_kb "$SG_PID" VmHWM)
  # The warm check: with caches warm, none of the queries costs a Keka request.
  sb_reset "$REF_ORIGIN"
  for q in Q1 Q2 Q3 Q4 Q5; do run_query "$q" "$SG_URL" "$dir" "$dir/$size-${q,,}-warmcheck.response.json"; done
  warm_check=$(sb_stats "$REF_ORIGIN" | api_total)
  ((warm_check == 0)) || WARM_NONZERO+=("$size warm check (all five, limits off): $warm_check")
  for q in Q1 Q2 Q3 Q4 Q5; do
    body_file="$dir/${q,,}-body.json"
    [[ $q == Q4 ]] && body_file="$dir/q4-first-page-body.json"
    load_run "$size" "$q" "$body_file" "$dir"
  done
  # The responses after the load must still be complete answers.
  for q in Q1 Q3 Q5; do
    run_query "$q" "$SG_URL" "$dir" "$dir/$size-${q,,}-after-load.response.json"
    [[ $RUN_OK == ok ]] || ANSWER_BAD+=("$size $q (after load): $RUN_OK")
  done
  HWM_AFTER_LOAD[$size]=$(status_kb "$SG_PID" VmHWM)
  rss_after_load=$(status_kb "$SG_PID" VmRSS)
  MEM_ROWS+=("| $(fmt_int "$size") | $(mb "${RSS_AFTER_WARMUP[$size]}") MB | $(mb "${HWM_AFTER_WARMUP[$size]}") MB | $(mb "$rss_after_load") MB | $(mb "${HWM_AFTER_LOAD[$size]}") MB | $(status_kb "$SG_PID" Threads) |")
  stop_pid "$SG_PID"
  stop_pid "$REF_PID"
done

# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------
met() { if [[ $1 == yes ]]; then echo "✅ met"; elif [[ $1 == na ]]; then echo "– not measured"; else echo "❌ not met"; fi; }
target_rows=()
for size in $SIZES; do
  if [[ -n ${RPS[$size,Q1]:-} ]]; then
    ok=$(awk -v r="${RPS[$size,Q1]}" -v p="${P99[$size,Q1]}" 'BEGIN {print (r >= 2000 && p < 25) ? "yes" : "no"}')
    target_rows+=("| warm Q1 ≥ 2,000 req/s and p99 < 25 ms ($(fmt_int "$size") employees) | $(fmt_int "${RPS[$size,Q1]}") req/s, p99 ${P99[$size,Q1]} ms | $(met "$ok") |")
  fi
  if [[ -n ${RPS[$size,Q3]:-} ]]; then
    ok=$(awk -v r="${RPS[$size,Q3]}" 'BEGIN {print (r >= 3000) ? "yes" : "no"}')
    target_rows+=("| warm Q3 ≥ 3,000 req/s ($(fmt_int "$size") employees) | $(fmt_int "${RPS[$size,Q3]}") req/s | $(met "$ok") |")
  fi
done
if [[ -n ${HWM_AFTER_LOAD[10000]:-} ]]; then
  # The worst peak seen with the snapshot built: load phase (Q4 walk first) and the cold Q2 and Q4 processes.
  worst=$(printf '%s\n' "${HWM_AFTER_WARMUP[10000]}" "${HWM_AFTER_LOAD[10000]}" "${COLD_HWM_KB[10000,Q2]:-0}" "${COLD_HWM_KB[10000,Q4]:-0}" | sort -n | tail -1)
  ok=$(awk -v w="$worst" 'BEGIN {print (w < 150 * 1024) ? "yes" : "no"}')
  target_rows+=("| RSS < 150 MB with the 10,000-employee snapshot cached | peak $(mb "${HWM_AFTER_WARMUP[10000]}") MB after the org chart (Q4 walk, then Q2), $(mb "${HWM_AFTER_LOAD[10000]}") MB after the load runs; fresh process: $(mb "${COLD_HWM_KB[10000,Q2]:-0}") MB after cold Q2, $(mb "${COLD_HWM_KB[10000,Q4]:-0}") MB after the cold Q4 walk | $(met "$ok") |")
else
  target_rows+=("| RSS < 150 MB with the 10,000-employee snapshot cached | (10,000 not in BENCH_SIZES) | $(met na) |")
fi
target_rows+=("| zero 429s | $TOTAL_429 | $(met "$( ((TOTAL_429 == 0)) && echo yes || echo no)") |")
target_rows+=("| cold ≤ lower bound + fixed lists | ${#COLD_OVER[@]} over$( ((${#COLD_OVER[@]})) && printf ': %s' "$(IFS=';'; echo "${COLD_OVER[*]}")") | $(met "$( ((${#COLD_OVER[@]} == 0)) && echo yes || echo no)") |")
target_rows+=("| warm = 0 Keka requests | ${#WARM_NONZERO[@]} nonzero$( ((${#WARM_NONZERO[@]})) && printf ': %s' "$(IFS=';'; echo "${WARM_NONZERO[*]}")") | $(met "$( ((${#WARM_NONZERO[@]} == 0)) && echo yes || echo no)") |")
target_rows+=("| load runs undisturbed (others and steal ≤ 0.2 cores) | ${#DISTURBED[@]} disturbed$( ((${#DISTURBED[@]})) && printf ': %s' "$(IFS=';'; echo "${DISTURBED[*]}")") | $(met "$( ((${#DISTURBED[@]} == 0)) && echo yes || echo no)") |")
target_rows+=("| every answer complete and error-free | ${#ANSWER_BAD[@]} bad$( ((${#ANSWER_BAD[@]})) && printf ': %s' "$(IFS=';'; echo "${ANSWER_BAD[*]}")") | $(met "$( ((${#ANSWER_BAD[@]} == 0)) && echo yes || echo no)") |")

{
  echo "# keka-subgraph benchmark, $STAMP"
  echo
  echo "Machine: $(nproc) × $CPU_MODEL, $MEM_GIB GiB RAM · commit \`$COMMIT\` · load generator $LOADGEN_VERSION (shares the same cores) · this week = $MONDAY..$SUNDAY (UTC) · seed $SEED · reproduce: \`$REPRO\`"
  echo
  echo "## Keka requests and cold wall time"
  echo
  echo "Cold = fresh subgraph (empty caches) on a fresh sandbox, both limited to $BUDGET requests/min; warm = the same query again at once."
  echo "Data = employee and leave pages and id batches; fixed = Keka's small lists (one page each, cached). Q4 is the whole walk, counted as one query."
  echo
  echo "| employees | query | lower bound: data | lower bound: fixed lists | cold: data | cold: fixed | cold/lower bound (data) | warm | 429s | cold wall time | warm wall time | answer |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${COST_ROWS[@]}"
  echo
  echo "## Warm throughput and latency"
  echo
  echo "Limits off (sandbox and client), caches warmed (Q4 walk, Q2, Q1, Q3, Q5, twice), then $LOADGEN with $THREADS threads, $CONNECTIONS connections, $DURATION per query. Q4 = its first page."
  echo "CPU columns: cores used on average during the run (the machine has $(nproc)); others = the rest of the machine's busy time (sandbox, this script, anything else), idle, and steal (taken by the hypervisor), from /proc/stat; ⚠ marks a run where others or steal exceeded 0.2 cores: its figures are disturbed."
  echo
  echo "| employees | query | req/s | p50 | p99 | max | errors | response | Keka requests during load | subgraph CPU | $LOADGEN CPU | others / idle / steal |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${LOAD_ROWS[@]}"
  echo
  echo "## Memory of the subgraph process"
  echo
  echo "| employees | VmRSS after the org chart is cached (Q4 walk + Q2 + the rest) | VmHWM (peak) then | VmRSS after the load runs | VmHWM after the load runs | threads |"
  echo "|---|---|---|---|---|---|"
  printf '%s\n' "${MEM_ROWS[@]}"
  echo
  echo "Peak (VmHWM) of each cold run's fresh subgraph, after its one query cold and warm (Q2 builds the org snapshot by fetching every page at once; Q4 pages through it):"
  echo
  echo "| employees | Q1 | Q2 | Q3 | Q4 | Q5 |"
  echo "|---|---|---|---|---|---|"
  for size in $SIZES; do
    echo "| $(fmt_int "$size") | ${COLD_MEM[$size,Q1]:-} | ${COLD_MEM[$size,Q2]:-} | ${COLD_MEM[$size,Q3]:-} | ${COLD_MEM[$size,Q4]:-} | ${COLD_MEM[$size,Q5]:-} |"
  done
  echo
  echo "## Targets"
  echo
  echo "| target | measured | |"
  echo "|---|---|---|"
  printf '%s\n' "${target_rows[@]}"
  echo
  echo "## Details"
  echo
  printf '%s\n' "${DETAILS[@]}"
  echo
  echo "Raw data (responses, sandbox counters, $LOADGEN output, logs): \`bench/results/$STAMP/\`."
} >"$REPORT"

cat "$REPORT"
log "report written to $REPORT"
