#!/usr/bin/env bash
# A stand-in for a coding agent, used by `dispatch up --demo` and `worker --demo`.
#
# It reads the spec the worker hands it, appends one line to each file the
# spec lists under `modifies` (inside its work directory), sleeps a short
# random time, and fails with a configurable probability. When
# DISPATCH_DEMO_JOURNAL names a file, it appends a `start` and an `end` record
# to it, so tests can check afterwards that runs never overlapped wrongly.
#
# Settings (environment variables):
#   DISPATCH_DEMO_FAIL_RATE   probability of failing, 0 to 1 (default 0)
#   DISPATCH_DEMO_MIN_MS      shortest run in milliseconds (default 20)
#   DISPATCH_DEMO_MAX_MS      longest run in milliseconds (default 200)
#   DISPATCH_DEMO_JOURNAL     journal file; records are tab-separated:
#                             start|end, project/task_id, attempt, time in ns, files (comma-separated)[, exit code]
set -euo pipefail

: "${DISPATCH_TASK_ID:?DISPATCH_TASK_ID is not set: run this script through a dispatch worker}"
: "${DISPATCH_WORKDIR:?DISPATCH_WORKDIR is not set: run this script through a dispatch worker}"
fail_rate="${DISPATCH_DEMO_FAIL_RATE:-0}"
min_ms="${DISPATCH_DEMO_MIN_MS:-20}"
max_ms="${DISPATCH_DEMO_MAX_MS:-200}"
journal="${DISPATCH_DEMO_JOURNAL:-}"
task="${DISPATCH_PROJECT:-}/${DISPATCH_TASK_ID}"
attempt="${DISPATCH_ATTEMPT:-1}"
files="$(printf '%s' "${DISPATCH_MODIFIES:-}" | paste -sd, -)"

record() {
    if [[ -n "$journal" ]]; then
        # One short write with O_APPEND is atomic, so concurrent runs never interleave a record.
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$task" "$attempt" "$(date +%s%N)" "$files" "${2:-}" >> "$journal"
    fi
}

record start
echo "demo agent: task $task attempt $attempt"
if [[ -n "${DISPATCH_SPEC_FILE:-}" && -f "$DISPATCH_SPEC_FILE" ]]; then
    echo "demo agent: spec has $(wc -l < "$DISPATCH_SPEC_FILE") lines"
fi

while IFS= read -r path; do
    [[ -z "$path" ]] && continue
    target="$DISPATCH_WORKDIR/$path"
    mkdir -p "$(dirname "$target")"
    if [[ -d "$target" ]]; then
        target="$target/.dispatch-demo"
    fi
    echo "edited by $task attempt $attempt" >> "$target"
done <<< "${DISPATCH_MODIFIES:-}"

span=$(( max_ms > min_ms ? max_ms - min_ms : 0 ))
sleep_ms=$(( min_ms + (span > 0 ? RANDOM % (span + 1) : 0) ))
sleep "$(printf '%d.%03d' $((sleep_ms / 1000)) $((sleep_ms % 1000)))"

# Fail when a random number in [0, 1) falls below the rate.
if awk -v rate="$fail_rate" -v r="$RANDOM" 'BEGIN { exit !(r / 32768 < rate) }'; then
    echo "demo agent: failing on purpose (DISPATCH_DEMO_FAIL_RATE=$fail_rate)" >&2
    record end 1
    exit 1
fi

record end 0
echo "demo agent: done"
