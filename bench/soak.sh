#!/usr/bin/env bash
# Soak test of keka-subgraph: a few minutes of mixed traffic (the canonical queries, the Keeper directory, federation
# entities and a share of hostile or broken requests) while the simulated Keka tenant and its Keeper node cycle
# through faults (500s, timeouts, truncated JSON, HTML 502s, revoked tokens, a dead token endpoint, a failing Keeper
# node), then a clean recovery phase. Checks that the subgraph survives, never hangs, never makes Keka answer 429,
# keeps its memory flat, leaks no secret into its log, and answers correctly afterwards. See bench/README.md (Soak).
#
#   bench/soak.sh                                   # 3 minutes, the defaults below
#   SOAK_DURATION=60 SOAK_RATE=10 bench/soak.sh     # a quick one
#
# Environment: SOAK_DURATION (180; seconds, or 90s / 3m), SOAK_CONCURRENCY (16 workers), SOAK_RATE (20 requests/s in
# total), SOAK_MAX_REQUESTS (20000), SOAK_EMPLOYEES (1000), SOAK_SEED (42), SOAK_CACHE_TTL_SECS (20),
# SOAK_KEKA_TIMEOUT_SECS (10, the product default), SOAK_KEKA_MAX_RETRIES (3), SOAK_KEKA_MAX_WAIT_SECS (20),
# SOAK_REQUEST_DEADLINE_SECS (25, the product default),
# SOAK_LATENCY_MS (timeout + 2 s), SOAK_DEADLINE_SECS (computed, see the report), SOAK_RSS_INTERVAL (5),
# SOAK_RUST_LOG (info,keka_subgraph=debug), BENCH_BIN (the release binary, built by `cargo build --release` when
# BENCH_BIN is not set; CARGO_TARGET_DIR is honoured), BENCH_BIN_COMMIT (the commit BENCH_BIN was built from, for the
# report).
#
# Everything listens on 127.0.0.1. Every process this script starts is stopped on exit (trap). Progress goes to
# stderr; the report (markdown) to stdout and bench/results/soak-<timestamp>.md, raw data (logs, results.json, the
# final /metrics) to bench/results/soak-<timestamp>/. Exit status: 0 on PASS, 1 on FAIL, other on a harness error.
set -euo pipefail
export LC_ALL=C

# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LOADGEN="$BENCH_DIR/soak_load.py"
BIN_COPY=""   # the private copy of the binary, set after the build

DURATION="$(duration_secs "${SOAK_DURATION:-180}" whole)"
CONCURRENCY="${SOAK_CONCURRENCY:-16}"
RATE="${SOAK_RATE:-20}"
MAX_REQUESTS="${SOAK_MAX_REQUESTS:-20000}"
EMPLOYEES="${SOAK_EMPLOYEES:-1000}"
SEED="${SOAK_SEED:-42}"
CACHE_TTL="${SOAK_CACHE_TTL_SECS:-20}"
KEKA_TIMEOUT="${SOAK_KEKA_TIMEOUT_SECS:-10}"
KEKA_RETRIES="${SOAK_KEKA_MAX_RETRIES:-3}"
KEKA_MAX_WAIT="${SOAK_KEKA_MAX_WAIT_SECS:-20}"
LATENCY_MS="${SOAK_LATENCY_MS:-$((KEKA_TIMEOUT * 1000 + 2000))}"
REQUEST_DEADLINE="${SOAK_REQUEST_DEADLINE_SECS:-25}"
# The subgraph's request deadline (its upstream calls end by then), plus its 2 s cut-off margin, plus 3 s for
# building the answer and scheduling: with the defaults, Apollo Router's 30 s.
DEADLINE="${SOAK_DEADLINE_SECS:-$((REQUEST_DEADLINE + 5))}"
CLIENT_TIMEOUT=$((DEADLINE + 30))
RSS_INTERVAL="${SOAK_RSS_INTERVAL:-5}"
RUST_LOG_SG="${SOAK_RUST_LOG:-info,keka_subgraph=debug}"
BUDGET=50   # Keka's requests per minute: enforced by the sandbox, and the subgraph's own limiter

for v in DURATION CONCURRENCY RATE MAX_REQUESTS EMPLOYEES SEED CACHE_TTL KEKA_TIMEOUT KEKA_RETRIES KEKA_MAX_WAIT \
  LATENCY_MS REQUEST_DEADLINE DEADLINE RSS_INTERVAL; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "soak: $v must be a whole number, got '${!v}'" >&2; exit 2; }
done
((DURATION >= 20)) || { echo "soak: SOAK_DURATION must be at least 20 s (nine phases)" >&2; exit 2; }
((EMPLOYEES >= 250)) || { echo "soak: SOAK_EMPLOYEES must be at least 250 (Q3 uses employees 200-249)" >&2; exit 2; }
((CONCURRENCY >= 1 && RATE >= 1 && MAX_REQUESTS >= 1)) || { echo "soak: concurrency, rate and cap must be >= 1" >&2; exit 2; }

LOG_TAG=soak
DIE_STATUS=3          # a harness error (1 is FAIL)
STOP_GRACE_SECS=10    # how long the subgraph may take to stop gracefully (the report shows it)
open_results soak- ""
start_harness

# on_exit STATUS (lib.sh's own, replaced): removes the private copy of the binary, says how a run that did not come to
# its verdict ended.
# shellcheck disable=SC2317  # called by cleanup (lib.sh) on exit
on_exit() {
  rm -f "$BIN_COPY"   # tens of MB; the build is still in the target directory
  if (($1 >= 128)); then
    log "interrupted (exit $1); logs and raw data in $RAW"
  elif (($1 >= 2)); then
    log "harness error (exit $1); logs and raw data in $RAW"
  fi
}

# ---------------------------------------------------------------------------------------------
# Build and tools
# ---------------------------------------------------------------------------------------------
require_tools curl jq python3 timeout
[[ -r $LOADGEN ]] || die "missing $LOADGEN"
for q in q1_employees_managers_groups q2_direct_reports q3_entities q4_org_chart_page q5_who_is_out; do
  [[ -r $QUERIES/$q.graphql ]] || die "missing $QUERIES/$q.graphql"
done
build_bin
# A private copy: the target directory may be shared, and another build must not swap the binary mid-soak.
BIN_COPY="$RAW/keka-subgraph"
cp "$BIN" "$BIN_COPY"
BIN=$BIN_COPY

# TODAY, "this week" in UTC (MONDAY to SUNDAY around today), COMMIT, CPU_MODEL, MEM_GIB.
describe_run
MACHINE="$(nproc) × $CPU_MODEL, $MEM_GIB GiB RAM"

# Secrets whose values must never reach the subgraph's log: the sandbox's fixed Keka credentials (the ones
# start_subgraph gives the subgraph) and a Keeper token made up for this run (so it is not a string that could appear
# by chance).
CLIENT_SECRET=sandbox-client-secret
API_KEY=sandbox-api-key
KEEPER_SECRET="soak-keeper-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"

# ---------------------------------------------------------------------------------------------
# The sandbox (Keka + Keeper) and the subgraph
# ---------------------------------------------------------------------------------------------
SANDBOX_KEEPER_TOKEN="$KEEPER_SECRET" NO_COLOR=1 start_sandbox "$EMPLOYEES" "$BUDGET" ""
SB=$SB_ORIGIN
log "sandbox started on ${SB#http://}: $EMPLOYEES employees, Keka limit $BUDGET/min, Keeper node on"
curl -fsS --max-time 10 "$SB/__sandbox/" >"$RAW/sandbox-info.json"
KEEPER_BASE_URL="$(jq -er .keeper.baseUrl "$RAW/sandbox-info.json")"
KEEPER_TOKEN="$(jq -er .keeper.token "$RAW/sandbox-info.json")"
[[ $KEEPER_TOKEN == "$KEEPER_SECRET" ]] || die "the sandbox's Keeper token is not the one it was given"
# The info page shows the secrets: keep it out of the results directory.
jq '.credentials.clientSecret = "…" | .credentials.apiKey = "…" | .keeper.token = "…"' "$RAW/sandbox-info.json" >"$RAW/sandbox-info.tmp"
mv "$RAW/sandbox-info.tmp" "$RAW/sandbox-info.json"

# The subgraph on the sandbox (KEKA_BASE_URL and KEKA_TOKEN_URL are the sandbox's, as its info page says).
KEKA_REQUEST_TIMEOUT_SECS="$KEKA_TIMEOUT" KEKA_MAX_RETRIES="$KEKA_RETRIES" \
  KEEPER_BASE_URL="$KEEPER_BASE_URL" KEEPER_TOKEN="$KEEPER_TOKEN" NO_COLOR=1 \
  SG_MAX_WAIT_SECS="$KEKA_MAX_WAIT" SG_RUST_LOG="$RUST_LOG_SG" \
  start_subgraph "$SB" "$BUDGET" "" "$REQUEST_DEADLINE"
SG=$SG_URL
log "subgraph started on ${SG#http://} (CACHE_TTL_SECS=$CACHE_TTL, KEKA_REQUEST_TIMEOUT_SECS=$KEKA_TIMEOUT)"
wait_http "$SG/readyz" 30 || die "subgraph not ready within 30 s; see $RAW/subgraph.log"
unset KEEPER_TOKEN

# ---------------------------------------------------------------------------------------------
# The soak
# ---------------------------------------------------------------------------------------------
jq -n --arg sg "$SG" --arg sb "$SB" --argjson pid "$SG_PID" --argjson duration "$DURATION" \
  --argjson concurrency "$CONCURRENCY" --argjson rate "$RATE" --argjson max "$MAX_REQUESTS" \
  --argjson client_timeout "$CLIENT_TIMEOUT" --argjson deadline "$DEADLINE" --argjson rss "$RSS_INTERVAL" \
  --argjson seed "$SEED" --arg queries "$QUERIES" --arg from "$MONDAY" --arg to "$SUNDAY" \
  --argjson latency "$LATENCY_MS" --argjson ttl "$CACHE_TTL" --argjson timeout "$KEKA_TIMEOUT" \
  --argjson retries "$KEKA_RETRIES" --argjson maxwait "$KEKA_MAX_WAIT" --argjson budget "$BUDGET" \
  '{subgraph_url: $sg, sandbox_origin: $sb, subgraph_pid: $pid, duration: $duration, concurrency: $concurrency,
    rate: $rate, max_requests: $max, client_timeout: $client_timeout, deadline: $deadline, rss_interval: $rss,
    seed: $seed, queries_dir: $queries, week_from: $from, week_to: $to, latency_ms: $latency, cache_ttl: $ttl,
    keka_timeout: $timeout, keka_retries: $retries, keka_max_wait: $maxwait, sandbox_rate_limit: $budget,
    keka_rate_limit: $budget}' >"$RAW/config.json"

# Hard bound on the whole run: warm-up, the duration, one client timeout for the requests in flight, the checks.
RUN_LIMIT=$((DURATION + CLIENT_TIMEOUT + 300))
log "soak for $DURATION s (hard limit $RUN_LIMIT s incl. warm-up, drain and checks); deadline per request $DEADLINE s"
SOAK_SECRETS="$CLIENT_SECRET"$'\n'"$API_KEY"$'\n'"$KEEPER_SECRET" \
  run_fg timeout --kill-after=10 "$RUN_LIMIT" python3 "$LOADGEN" run "$RAW/config.json" "$RAW/results.json" ||
  die "the load generator failed or overran its $RUN_LIMIT s (see above); logs in $RAW"

# ---------------------------------------------------------------------------------------------
# Afterwards: the process, its memory, a graceful stop, its log
# ---------------------------------------------------------------------------------------------
ALIVE=false
RSS_END="" HWM_END=""
if kill -0 "$SG_PID" 2>/dev/null; then
  ALIVE=true
  RSS_END="$(status_kb "$SG_PID" VmRSS 2>/dev/null || true)"
  HWM_END="$(status_kb "$SG_PID" VmHWM 2>/dev/null || true)"
fi
curl -fsS --max-time 10 "$SG/metrics" >"$RAW/metrics-final.txt" 2>/dev/null || true
stop_pid "$SG_PID"
STOP="$STOP_STATUS after ${STOP_SECS} s"
log "subgraph stopped: $STOP"
sb_stats "$SB" >"$RAW/sandbox-stats-final.json" 2>/dev/null || true
curl -fsS --max-time 10 "$SB/__sandbox/keeper/stats" >"$RAW/keeper-stats-final.json" 2>/dev/null || true
stop_pid "$SB_PID"

SG_LOG="$RAW/subgraph.log"
PANICS=$(grep -c 'panicked at' "$SG_LOG" || true)
SB_PANICS=$(grep -c 'panicked at' "$RAW/sandbox.log" || true)
LOG_LINES=$(wc -l <"$SG_LOG")
LOG_ERRORS=$(sed 's/\x1b\[[0-9;]*m//g' "$SG_LOG" | grep -c '^[^ ]* *ERROR' || true)
LOG_WARNS=$(sed 's/\x1b\[[0-9;]*m//g' "$SG_LOG" | grep -c '^[^ ]* *WARN' || true)
SECRETS_FOUND=()
grep -qF -- "$CLIENT_SECRET" "$SG_LOG" && SECRETS_FOUND+=("KEKA_CLIENT_SECRET")
grep -qF -- "$API_KEY" "$SG_LOG" && SECRETS_FOUND+=("KEKA_API_KEY")
grep -qF -- "$KEEPER_SECRET" "$SG_LOG" && SECRETS_FOUND+=("KEEPER_TOKEN")
((SB_PANICS == 0)) || log "WARNING: $SB_PANICS panic line(s) in the sandbox's log"
# The most frequent WARN/ERROR messages, with ids, numbers and spans blanked out, for the report.
sed 's/\x1b\[[0-9;]*m//g' "$SG_LOG" | grep -E '^[^ ]+ +(WARN|ERROR) ' |
  sed -E 's/^[^ ]+ +(WARN|ERROR) +/\1 /; s/[a-z_]+\{[^}]*\}: //; s/[0-9]+(\.[0-9]+)?/N/g' | cut -c1-220 |
  sort | uniq -c | sort -rn | head -12 >"$RAW/log-top.txt" || true

REPRO="SOAK_DURATION=$DURATION SOAK_CONCURRENCY=$CONCURRENCY SOAK_RATE=$RATE SOAK_MAX_REQUESTS=$MAX_REQUESTS SOAK_EMPLOYEES=$EMPLOYEES SOAK_CACHE_TTL_SECS=$CACHE_TTL bench/soak.sh"
jq -n --arg stamp "$STAMP" --arg machine "$MACHINE" --arg commit "$COMMIT" --arg repro "$REPRO" \
  --argjson alive "$ALIVE" --arg rss "$RSS_END" --arg hwm "$HWM_END" --arg stop "$STOP" \
  --argjson panics "$PANICS" --argjson sb_panics "$SB_PANICS" --argjson lines "$LOG_LINES" \
  --argjson errors "$LOG_ERRORS" --argjson warns "$LOG_WARNS" --arg rust_log "$RUST_LOG_SG" \
  --argjson top "$(awk '{n = $1; $1 = ""; sub(/^ /, ""); printf "%s\t%s\n", n, $0}' "$RAW/log-top.txt" | jq -R 'split("\t") | {count: (.[0] | tonumber), message: .[1]}' | jq -s .)" \
  --argjson secrets "$(printf '%s\n' ${SECRETS_FOUND[@]+"${SECRETS_FOUND[@]}"} | jq -R . | jq -s 'map(select(length > 0))')" \
  '{stamp: $stamp, machine: $machine, commit: $commit, repro: $repro, alive_before_stop: $alive,
    rss_end_kb: ($rss | tonumber? // null), hwm_end_kb: ($hwm | tonumber? // null), stop: $stop,
    panics: $panics, sandbox_panics: $sb_panics, log_lines: $lines, log_errors: $errors, log_warns: $warns,
    rust_log: $rust_log, secrets_in_log: $secrets, log_top: $top}' >"$RAW/extra.json"

STATUS=0
python3 "$LOADGEN" report "$RAW/results.json" "$RAW/extra.json" >"$REPORT" || STATUS=$?
((STATUS <= 1)) || die "the report could not be written (exit $STATUS)"
cat "$REPORT"
log "report written to $REPORT ($(grep -m1 -o '^\*\*\(PASS\|FAIL\)\*\*' "$REPORT" | tr -d '*'))"
exit "$STATUS"
