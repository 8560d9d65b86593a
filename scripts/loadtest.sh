#!/usr/bin/env bash
# Load test of recfuse-service (examples/service, docs/service.md "Load test"): starts the service
# on 127.0.0.1 (MovieLens 100K from --data when DIR/u.data is there, generated data otherwise),
# drives it with wrk 4.1 through scripts/loadtest.lua and prints ONE JSON line.
#
# Runs (--runs, comma-separated; default all four):
#   rate        GET /recommend (k = 10) at a fixed offered rate (--rate, 1000/s): p50, p99
#   max         the mix of /recommend, /search and POST /events (--weights) as fast as it goes
#   visibility  POST an event on a user's current top-1 item, then /recommend until the item is
#               gone and n_rated grew by one: the time from the POST to that response
#   restart     --restart-duration seconds of the mix at --restart-rate with --snapshot-dir; in the
#               middle, after a new snapshot and 0.5 s more of journal-only events, kill -9 and a
#               restart from the snapshot directory on the same port. Failures (non-2xx, or no
#               response) of requests whose lifetime overlaps [kill, ready] are counted apart as
#               failures_in_restart; every other failure is an error. At the end the service is
#               killed (-9) and restarted once more, and every acknowledged event must be there:
#               /health's events count grew by at least the events acknowledged and by at most
#               those plus the unacknowledged ones (lost in flight), every acknowledged
#               (user, item) pair is in GET /user, and the users' rated lists are the same before
#               and after the last restart.
# The rate, max and visibility runs share one service (in that order) with a snapshot directory
# of their own, so POST /events is durable there too (one fdatasync per batch).
#
# Usage: scripts/loadtest.sh --service build/h-load/examples/service/recfuse-service [options]
#   --data DIR             MovieLens 100K directory (default ../shared/data/ml-100k)
#   --runs LIST            rate,max,visibility,restart
#   --duration S           seconds of the rate, max and visibility runs (default 10)
#   --rate R               offered /recommend rate of the rate run (default 1000)
#   --connections C        wrk threads = connections of the rate, max and restart runs (default:
#                          the service's --threads; httplib serves a keep-alive connection on one
#                          pool thread for its whole life, so more connections than threads wait)
#   --weights R,S,E        /recommend, /search, /events percentages of the mix (default 80,15,5)
#   --restart-duration S   (default 60)   --restart-rate R (default 1000)
#   --restart-weights R,S,E  (default 70,15,15: more events to lose)
#   --service-threads N    the service's --threads (default 2)
#   --goals full|ci|none   full: the issue's goals (p99 <= 2 ms at 1000/s, >= 5000 requests/s,
#                          visible within 10 ms (p99), no errors, no lost events); ci: loose
#                          bounds for a loaded CI machine, the same zero errors and zero lost events
#   --check                exit 1 when a goal is missed (default: report only)
#   --work DIR             keep logs, snapshots and wrk output there (default: a temporary directory)
#   --out FILE             also write the JSON line to FILE
#   --service-arg ARG      one more argument for the service (repeatable)
# Needs wrk 4.1 and curl (scripts/install-deps.sh test); prints "wrk not found: skipped" and exits
# 0 without them.
set -euo pipefail
trap 'echo "loadtest.sh: failed at line $LINENO" >&2' ERR
repo="$(cd "$(dirname "$0")/.." && pwd)"
lua="$repo/scripts/loadtest.lua"

service="" data="$repo/../shared/data/ml-100k" runs="rate,max,visibility,restart"
duration=10 rate=1000 connections="" weights="80,15,5"
restart_duration=60 restart_rate=1000 restart_weights="70,15,15"
service_threads=2 goals=full check=0 work="" out="" extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --service) service="$2"; shift 2 ;;
    --data) data="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --rate) rate="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --weights) weights="$2"; shift 2 ;;
    --restart-duration) restart_duration="$2"; shift 2 ;;
    --restart-rate) restart_rate="$2"; shift 2 ;;
    --restart-weights) restart_weights="$2"; shift 2 ;;
    --service-threads) service_threads="$2"; shift 2 ;;
    --goals) goals="$2"; shift 2 ;;
    --check) check=1; shift ;;
    --work) work="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --service-arg) extra+=("$2"); shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "loadtest.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
connections="${connections:-$service_threads}"
for n in duration rate connections restart_duration restart_rate service_threads; do
  [[ "${!n}" =~ ^[1-9][0-9]*$ ]] || { echo "loadtest.sh: --${n//_/-} needs an integer >= 1, got '${!n}'" >&2; exit 2; }
done
[[ "$goals" =~ ^(full|ci|none)$ ]] || { echo "loadtest.sh: --goals must be full, ci or none, got '$goals'" >&2; exit 2; }
for tool in wrk curl; do
  command -v "$tool" >/dev/null || { echo "loadtest.sh: $tool not found: skipped (scripts/install-deps.sh test installs it)"; exit 0; }
done
if [ -z "$service" ]; then
  service="$(ls -t "$repo"/build/*/examples/service/recfuse-service 2>/dev/null | head -1 || true)"
fi
if [ -z "$service" ] || [ ! -x "$service" ]; then
  echo "loadtest.sh: recfuse-service not found ('$service'): build the target recfuse-service and pass --service PATH" >&2
  exit 2
fi

if [ -z "$work" ]; then
  work="$(mktemp -d "${TMPDIR:-/tmp}/recfuse-loadtest.XXXXXX")"
  trap 'stop_service; rm -rf "$work"' EXIT
else
  mkdir -p "$work"
  trap 'stop_service' EXIT
fi

# Goals per run, as loadtest.lua reads them (top-level keys of its result).
case "$goals" in
  full) goal_rate="p99_ms<=2,failures_outside_restart<=0"
        goal_max="rps>=5000,failures_outside_restart<=0"
        goal_vis="visible_p99_ms<=10,visible_failed<=0,failures_outside_restart<=0"
        goal_restart="failures_outside_restart<=0,served_after_restart_s>=1" ;;
  ci)   goal_rate="p99_ms<=100,failures_outside_restart<=0"
        goal_max="rps>=100,failures_outside_restart<=0"
        goal_vis="visible_p99_ms<=250,visible_failed<=0,visible_probes>=5,failures_outside_restart<=0"
        goal_restart="failures_outside_restart<=0,served_after_restart_s>=0.5" ;;
  none) goal_rate="" goal_max="" goal_vis="" goal_restart="" ;;
esac

now() { date +%s.%N; }
# The number after "key": in a JSON text (top-level keys with unique names only).
json_number() { grep -o "\"$1\": *[-0-9.e+]*" <<<"$2" | head -1 | sed 's/.*: *//'; }

service_pid="" port=""
stop_service() {
  if [ -n "$service_pid" ] && kill -0 "$service_pid" 2>/dev/null; then
    kill -TERM "$service_pid" 2>/dev/null || true
    wait "$service_pid" 2>/dev/null || true
  fi
  service_pid=""
}
# start_service LOG_PREFIX SNAPSHOT_DIR [PORT]: starts the service, waits for its "listening on"
# line and a 200 from /health; sets service_pid and port.
start_service() {
  local log="$1" snapshots="$2" want_port="${3:-0}" waited=0
  local args=(--host 127.0.0.1 --port "$want_port" --threads "$service_threads" --data "$data"
              --snapshot-dir "$snapshots" "${extra[@]}")
  rm -f "$log.out" # (a stale "listening on" line must not be read before the service truncates it)
  "$service" "${args[@]}" >"$log.out" 2>>"$log.err" &
  service_pid=$!
  until grep -q "^listening on " "$log.out" 2>/dev/null; do
    if ! kill -0 "$service_pid" 2>/dev/null; then
      echo "loadtest.sh: recfuse-service exited before listening:" >&2
      tail -5 "$log.err" >&2
      exit 1
    fi
    sleep 0.02
    waited=$((waited + 1))
    [ "$waited" -lt 30000 ] || { echo "loadtest.sh: recfuse-service did not start in 600 s" >&2; exit 1; }
  done
  port="$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$log.out" | head -1)"
  until curl -sf --max-time 5 "http://127.0.0.1:$port/health" >/dev/null; do
    kill -0 "$service_pid" 2>/dev/null || { echo "loadtest.sh: recfuse-service exited at start" >&2; exit 1; }
    sleep 0.01
  done
}
health() { curl -sf --max-time 5 "http://127.0.0.1:$port/health" || true; }

# The users' rated lists ("user item" lines, sorted) from GET /user, for the users 1..N.
rated_pairs() {
  local n="$1" u
  for ((u = 1; u <= n; u++)); do echo "url = \"http://127.0.0.1:$port/user?user=$u\""; done |
    curl -s -K - -w '\n' |
    awk '{
      if (!match($0, /"user":[0-9]+/)) next
      u = substr($0, RSTART + 7, RLENGTH - 7); s = $0
      while (match(s, /"item":[0-9]+/)) { print u, substr(s, RSTART + 7, RLENGTH - 7); s = substr(s, RSTART + RLENGTH) }
    }' | sort -u
}

# run_wrk NAME SECONDS CONNECTIONS ARG...: wrk with one connection a thread; the JSON line in
# $work/NAME.json, wrk's report in $work/NAME.wrk.
run_wrk() {
  local name="$1" seconds="$2" c="$3"
  shift 3
  wrk -t "$c" -c "$c" -d "${seconds}s" --timeout 5s -s "$lua" "http://127.0.0.1:$port" -- \
    threads="$c" users="$work/users.txt" items="$n_items" words="$work/words.txt" k=10 seed=1 \
    out="$work/$name.json" "$@" >"$work/$name.wrk" 2>&1 || {
    echo "loadtest.sh: wrk failed ($name):" >&2
    cat "$work/$name.wrk" >&2
    exit 1
  }
}

# ---- data: users, items and title words --------------------------------------------------------
if [ -f "$data/u.data" ]; then data_name="ml-100k"; else data_name="generated"; fi
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
results=()
failed=()

start_service "$work/service" "$work/snapshots"
h="$(health)"
n_users="$(json_number users "$h")"
n_items="$(json_number items "$h")"
seq 1 "$n_users" >"$work/users.txt"
if [ "$data_name" = ml-100k ] && [ -f "$data/u.item" ]; then
  cut -d'|' -f2 "$data/u.item" | iconv -f latin1 -t utf-8
else # the titles the service itself returns
  for ((u = 1; u <= 20 && u <= n_users; u++)); do
    curl -s "http://127.0.0.1:$port/recommend?user=$u&k=10" | grep -o '"title":"[^"]*"' | cut -d'"' -f4 || true
  done
fi | sed 's/([0-9]*)//g' | tr '[:upper:]' '[:lower:]' | tr -cs '[:alnum:]' '\n' |
  awk 'length($0) >= 3' | sort -u >"$work/words.txt" || true # (none: loadtest.lua has a fallback list)
echo "loadtest.sh: $data_name, $n_users users, $n_items items, $(wc -l <"$work/words.txt") title words; service $service --threads $service_threads; load average $load_before" >&2

has_run() { [[ ",$runs," == *",$1,"* ]]; }
add_result() { # NAME: the run's JSON line into the result, its goals into the verdict
  local line
  line="$(cat "$work/$1.json")"
  results+=("\"$1\":$line")
  if grep -q '"goals_met":false' <<<"$line"; then failed+=("$1"); fi
  echo "loadtest.sh: $1: $line" >&2
}

if has_run rate; then
  run_wrk rate "$duration" "$connections" mode=recommend rate="$rate" goals="$goal_rate"
  add_result rate
fi
if has_run max; then
  run_wrk max "$duration" "$connections" mode=mix weights="$weights" goals="$goal_max"
  add_result max
fi
if has_run visibility; then
  run_wrk visibility "$duration" 1 mode=visibility goals="$goal_vis"
  add_result visibility
fi
stop_service

# ---- the run with a restart ---------------------------------------------------------------------
if has_run restart; then
  snap="$work/restart-snapshots"
  rm -rf "$snap" "$work"/acked.* "$work/window"
  start_service "$work/restart" "$snap"
  events_start="$(json_number events "$(health)")"
  t_start="$(now)"
  run_wrk restart "$restart_duration" "$connections" mode=mix rate="$restart_rate" weights="$restart_weights" \
    window="$work/window" acked="$work/acked" goals="$goal_restart" &
  wrk_pid=$!
  # The kill: after 40 % of the run, at the next snapshot (or at 65 % of the run if none came),
  # plus 0.5 s of events that only the journal holds.
  t0_ns="$(date +%s%N)"
  sleep "$(awk -v d="$restart_duration" 'BEGIN { print d * 0.4 }')"
  deadline_ns=$((t0_ns + restart_duration * 650000000))
  snapshots0="$(json_number snapshots "$(health)")"
  snapshot_seen=false
  while [ "$(date +%s%N)" -lt "$deadline_ns" ]; do
    s="$(json_number snapshots "$(health)")"
    if [ -n "$s" ] && [ -n "$snapshots0" ] && [ "$s" -gt "$snapshots0" ]; then snapshot_seen=true; break; fi
    sleep 0.05
  done
  sleep 0.5
  t_kill="$(now)"
  kill -9 "$service_pid"
  wait "$service_pid" 2>/dev/null || true
  service_pid=""
  start_service "$work/restart" "$snap" "$port"
  t_ready="$(now)"
  printf 'kill %s\nready %s\n' "$t_kill" "$t_ready" >"$work/window"
  wait "$wrk_pid" || exit 1
  # Every acknowledged event must survive one more kill -9 and restart.
  sleep 0.2
  events_end="$(json_number events "$(health)")"
  rated_pairs "$n_users" >"$work/rated-before"
  kill -9 "$service_pid"
  wait "$service_pid" 2>/dev/null || true
  service_pid=""
  start_service "$work/restart" "$snap" "$port"
  events_final="$(json_number events "$(health)")"
  rated_pairs "$n_users" >"$work/rated-after"
  stop_service
  line="$(cat "$work/restart.json")"
  acked="$(json_number events_acked "$line")"
  unknown="$(json_number events_unknown "$line")"
  grown=$((events_final - events_start))
  lost_count=$((acked > grown ? acked - grown : 0))
  excess=$((grown > acked + unknown ? grown - acked - unknown : 0))
  cat "$work"/acked.* 2>/dev/null | sort -u >"$work/acked-pairs" || true
  missing_pairs="$(comm -23 "$work/acked-pairs" "$work/rated-after" | wc -l)"
  changed_lists="$( (comm -3 "$work/rated-before" "$work/rated-after" || true) | wc -l)"
  lost_events=$((lost_count > missing_pairs ? lost_count : missing_pairs))
  extra_json="\"events_at_start\":$events_start,\"events_before_last_kill\":$events_end,\"events_after_last_restart\":$events_final,\"events_lost\":$lost_events,\"events_count_excess\":$excess,\"acked_pairs_missing\":$missing_pairs,\"rated_lists_changed_by_last_restart\":$changed_lists,\"snapshot_seen_before_kill\":$snapshot_seen,\"kill_at_s\":$(awk -v a="$t_kill" -v b="$t_start" 'BEGIN { printf "%.3f", a - b }')"
  line="${line%\}},$extra_json}"
  echo "$line" >"$work/restart.json"
  add_result restart
  if [ "$lost_events" -ne 0 ] || [ "$excess" -ne 0 ] || [ "$changed_lists" -ne 0 ] || [ "$events_final" -ne "$events_end" ] || ! grep -q '"restart_window_s"' <<<"$line"; then
    [[ " ${failed[*]} " == *" restart "* ]] || failed+=("restart")
  fi
fi

load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
ok=true
[ "$goals" = none ] || [ ${#failed[@]} -eq 0 ] || ok=false
joined="$(IFS=,; echo "${results[*]}")"
failed_json=""
[ ${#failed[@]} -eq 0 ] || failed_json="$(printf '"%s",' "${failed[@]}")"
result="{\"data\":\"$data_name\",\"users\":$n_users,\"items\":$n_items,\"service_threads\":$service_threads,\"cores\":$(nproc),\"load_average_before\":\"$load_before\",\"load_average_after\":\"$load_after\",\"goals\":\"$goals\",$joined,\"goals_missed\":[${failed_json%,}],\"ok\":$ok}"
echo "$result"
[ -z "$out" ] || echo "$result" >"$out"
if [ "$check" = 1 ] && [ "$ok" != true ]; then
  echo "loadtest.sh: goals missed: ${failed[*]}" >&2
  exit 1
fi
