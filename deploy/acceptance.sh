#!/usr/bin/env bash
# Acceptance test of the Docker deployment, run for real against the local engine:
# build, start, health, SIGKILL recovery, hang recovery, a PostgreSQL restart, specs
# run to completion, data kept across down/up, the production override, the image,
# and import-sqlite.
#
# Usage: deploy/acceptance.sh            (Compose v2: docker compose)
#        COMPOSE=docker-compose deploy/acceptance.sh   (Compose v1.29)
#
# Prints one line per check, PASS/FAIL/SKIP NAME (SECONDS s)[: detail], then
# "N passed, N failed"; exits 1 when a check failed, 2 on a usage error.
# The seconds are the measured time where a check measures one (to healthy, to
# restart), otherwise the check's wall time.
#
# It uses the fixed project name dispatch-acceptance and removes that project's
# containers, networks and volumes before and after the run. It publishes the
# ports of docker-compose.yml on 127.0.0.1 (5432 or DISPATCH_DB_PORT, 8091-8093)
# and sends traffic nowhere else. Killing a container's main process from the
# host needs root (or the same user as the engine). Needs docker, curl and jq.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

compose_text="${COMPOSE:-docker compose}"
case "$compose_text" in
    "docker compose" | "docker-compose") ;;
    *)
        echo "error: COMPOSE=\"$compose_text\" is not valid: use \"docker compose\" (v2) or \"docker-compose\" (v1)" >&2
        exit 2
        ;;
esac
read -r -a compose_command <<< "$compose_text"
compose_v1=false
[[ "$compose_text" == "docker-compose" ]] && compose_v1=true

for tool in docker curl jq; do
    if ! command -v "$tool" > /dev/null; then
        echo "error: $tool not found: install it and run again" >&2
        exit 2
    fi
done

project=dispatch-acceptance
prod_project=dispatch-acceptance-prod
image=dispatch:local
daemons=(guardian reaper factory)
declare -A health_port=([guardian]=8091 [reaper]=8092 [factory]=8093)
db_port="${DISPATCH_DB_PORT:-5432}"

# The hang check makes the reaper's loop hang. Its watchdog exits the process after
# 2 x UnhealthyAfterSeconds, so the test lowers that from 60 s to 5 s (and the pass
# interval to 1 s, since UnhealthyAfterSeconds must exceed it).
hang_service=reaper
hang_dir=/tmp/dispatch-test
hang_file="$hang_dir/hang"
hang_unhealthy_after=5

# The factory mounts ./specs. Create it when missing and remove only what this run adds.
specs_projects=(acceptance-shop acceptance-docs)
for name in "${specs_projects[@]}"; do
    if [[ -e "specs/$name" ]]; then
        echo "error: specs/$name already exists: move it away, the acceptance run writes there" >&2
        exit 2
    fi
done
created_specs_dir=false
if [[ ! -d specs ]]; then
    mkdir specs
    created_specs_dir=true
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/dispatch-acceptance.XXXXXX")"
log="$work/acceptance.log"
override="$work/acceptance.override.yml"
empty_env="$work/empty.env"
: > "$empty_env"

# The hang file lives on a tmpfs mount: Docker mounts a fresh, empty tmpfs at every
# container start, so the process restarted after the hang does not hang again.
# A file in the container's own filesystem would survive the restart. The test creates
# the file as root: engine 20.10 remounts a tmpfs at restart without its mode option
# (0755, owned by root), so a mode=1777 mount stops being writable for the app user.
cat > "$override" << EOF
# Written by deploy/acceptance.sh for one run.
services:
  $hang_service:
    environment:
      DISPATCH_Testing__HangFile: $hang_file
      DISPATCH_Daemons__${hang_service}__UnhealthyAfterSeconds: "$hang_unhealthy_after"
      DISPATCH_Daemons__${hang_service}__IntervalSeconds: "1"
    tmpfs:
      - $hang_dir
EOF

# Every run reads an empty env file instead of ./.env, so an operator's .env (a production
# password, JSON logs) does not change what is tested. Variables from the shell still apply.
compose() {
    "${compose_command[@]}" -p "$project" --env-file "$empty_env" -f docker-compose.yml -f "$override" --profile worker "$@"
}

# Without --profile worker: the worker service is in a profile and must not start.
compose_default_profile() {
    "${compose_command[@]}" -p "$project" --env-file "$empty_env" -f docker-compose.yml -f "$override" "$@"
}

# Compose v1 fails to build with DOCKER_BUILDKIT=1 when the docker CLI has no buildx
# plugin; without it, v1 uses the engine's classic builder.
if $compose_v1; then
    unset DOCKER_BUILDKIT COMPOSE_DOCKER_CLI_BUILD
fi

passed=0
failed=0

cleanup() {
    if (( failed > 0 )); then
        compose logs --no-color --timestamps >> "$log" 2>&1
        cp "$log" "${TMPDIR:-/tmp}/dispatch-acceptance.log"
    fi

    compose down -v --remove-orphans >> "$log" 2>&1
    "${compose_command[@]}" -p "$prod_project" --env-file "$empty_env" -f docker-compose.yml down -v --remove-orphans >> "$log" 2>&1
    for name in "${specs_projects[@]}"; do
        rm -rf "specs/$name"
    done
    if $created_specs_dir; then
        rmdir specs 2> /dev/null
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_us() { echo "${EPOCHREALTIME/./}"; }

seconds_since() { # START_US -> seconds with one decimal
    local elapsed=$(( $(now_us) - $1 ))
    printf '%d.%d' $(( elapsed / 1000000 )) $(( elapsed % 1000000 / 100000 ))
}

# run_check NAME FUNCTION: runs FUNCTION and prints its line. FUNCTION sets `why` on
# failure, may set `detail`, and may set `measured` to report a measured time
# instead of its wall time. Returns FUNCTION's status.
run_check() {
    local name="$1" function="$2" start
    why=""
    detail=""
    measured=""
    start="$(now_us)"
    echo "=== $name" >> "$log"
    if "$function"; then
        passed=$(( passed + 1 ))
        echo "PASS $name (${measured:-$(seconds_since "$start")}s)${detail:+: $detail}"
        return 0
    fi

    failed=$(( failed + 1 ))
    compose logs --no-color --timestamps --tail 40 >> "$log" 2>&1
    echo "FAIL $name (${measured:-$(seconds_since "$start")}s): ${why:-no reason recorded}"
    return 1
}

skip() { echo "SKIP $1 ($2)"; }

finish() {
    if (( failed > 0 )); then
        echo "compose output and container logs: ${TMPDIR:-/tmp}/dispatch-acceptance.log" >&2
    fi
    echo "$passed passed, $failed failed"
    (( failed == 0 ))
    exit $?
}

container_of() { compose ps -q "$1" 2>> "$log" | head -n 1; }

inspect() { docker inspect -f "$2" "$1" 2>> "$log"; }

health_status() { inspect "$1" '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}'; }

# http_status PORT -> the HTTP status of GET /health, or 000 when nothing responds.
http_status() { curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://127.0.0.1:$1/health"; }

http_ok() { [[ "$(http_status "$1")" == 200 ]]; }

# cycle_count PORT -> the cycle_count of GET /health, or 0 when nothing responds.
cycle_count() {
    local count
    count="$(curl -s --max-time 3 "http://127.0.0.1:$1/health" | jq -r '.cycle_count // 0' 2> /dev/null)"
    echo "${count:-0}"
}

# wait_for SECONDS COMMAND...: polls COMMAND every 0.2 s until it succeeds or time runs out.
wait_for() {
    local limit_us=$(( $1 * 1000000 )) start
    shift
    start="$(now_us)"
    until "$@"; do
        if (( $(now_us) - start > limit_us )); then
            return 1
        fi
        sleep 0.2
    done
}

is_healthy() { [[ "$(health_status "$1")" == healthy ]]; }

started_at_changed() { # CONTAINER OLD_STARTED_AT
    [[ "$(inspect "$1" '{{.State.Running}} {{.State.StartedAt}}')" == "true "* ]] \
        && [[ "$(inspect "$1" '{{.State.StartedAt}}')" != "$2" ]]
}

dispatch_in() { # SERVICE ARGS...: runs the dispatch CLI inside a running container of SERVICE
    local service="$1"
    shift
    compose exec -T "$service" dispatch "$@" 2>> "$log"
}

# --- checks -------------------------------------------------------------------

check_build() {
    if ! compose build >> "$log" 2>&1; then
        why="compose build failed; see the log"
        return 1
    fi
}

ports_free() {
    local port busy=()
    for port in "$db_port" 8091 8092 8093; do
        if (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null; then
            busy+=("$port")
        fi
    done
    if (( ${#busy[@]} > 0 )); then
        why="port(s) ${busy[*]} on 127.0.0.1 already in use: stop what listens there (or set DISPATCH_DB_PORT for PostgreSQL)"
        return 1
    fi
}

up_started_us=0
check_up_services() {
    ports_free || return 1
    up_started_us="$(now_us)"
    if ! compose_default_profile up -d >> "$log" 2>&1; then
        why="up -d failed; see the log"
        return 1
    fi

    local running
    running="$(compose ps --services --filter status=running 2>> "$log" | sort | paste -sd' ')"
    if [[ "$running" != "factory guardian postgres reaper" ]]; then
        why="running services are \"$running\", expected \"factory guardian postgres reaper\""
        return 1
    fi
}

all_healthy() {
    local service
    for service in postgres "${daemons[@]}"; do
        is_healthy "$(container_of "$service")" || return 1
    done
}

check_healthy() {
    if ! wait_for 90 all_healthy; then
        local service states=()
        for service in postgres "${daemons[@]}"; do
            states+=("$service=$(health_status "$(container_of "$service")")")
        done
        why="not all healthy 90 s after up -d: ${states[*]}"
        return 1
    fi
    measured="$(seconds_since "$up_started_us")"
    detail="postgres, guardian, reaper and factory healthy ${measured} s after up -d"
}

check_health_endpoints() {
    local service body status name bad=()
    for service in "${daemons[@]}"; do
        status="$(http_status "${health_port[$service]}")"
        body="$(curl -s --max-time 3 "http://127.0.0.1:${health_port[$service]}/health")"
        name="$(jq -r '.service // empty' <<< "$body" 2> /dev/null)"
        if [[ "$status" != 200 || "$name" != "$service" ]]; then
            bad+=("port ${health_port[$service]}: HTTP $status, service \"$name\"")
        fi
    done
    if (( ${#bad[@]} > 0 )); then
        why="${bad[*]}"
        return 1
    fi
    detail="8091 guardian, 8092 reaper, 8093 factory: HTTP 200"
}

check_image_user() {
    local uid
    uid="$(docker run --rm --network none --entrypoint id "$image" -u 2>> "$log")"
    if [[ -z "$uid" || "$uid" == 0 ]]; then
        why="the image runs as uid \"$uid\", expected a non-root user"
        return 1
    fi
    detail="runs as uid $uid"
}

check_image_secrets() {
    local found
    found="$( { docker history --no-trunc --format '{{.CreatedBy}}' "$image"; docker image inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$image"; } 2>> "$log" \
        | grep -n -i -E 'PASSWORD=|dispatch-dev|PRIVATE KEY' )"
    if [[ -n "$found" ]]; then
        why="secret-like text in the image history or environment: $(head -n 3 <<< "$found" | paste -sd' ')"
        return 1
    fi
    detail="no PASSWORD=, dispatch-dev or private key in docker history --no-trunc or the image environment"
}

check_image_size() {
    local bytes
    bytes="$(docker image inspect -f '{{.Size}}' "$image" 2>> "$log")"
    if [[ -z "$bytes" ]]; then
        why="docker image inspect $image failed"
        return 1
    fi
    detail="$image is $(( bytes / 1000000 )) MB"
}

# dispatch_pid CONTAINER -> the host pid of the dispatch process: the container's main
# process, or its child when Docker's init (init: true in docker-compose.yml) is PID 1.
dispatch_pid() {
    local pid
    pid="$(inspect "$1" '{{.State.Pid}}')"
    [[ -z "$pid" || "$pid" == 0 ]] && return 1
    if [[ "$(< "/proc/$pid/comm")" == dispatch ]]; then
        echo "$pid"
    else
        ps -o pid= --ppid "$pid" | head -n 1 | tr -d ' '
    fi
}

# Kills SERVICE's dispatch process from the host with SIGKILL; restart: always must
# bring it back, running and healthy, within 30 s.
kill_and_recover() {
    local service="$1" container before pid killed_us running_s answered_s
    container="$(container_of "$service")"
    before="$(inspect "$container" '{{.State.StartedAt}}')"
    pid="$(dispatch_pid "$container")"
    if [[ -z "$pid" ]]; then
        why="no running dispatch process found in the $service container"
        return 1
    fi

    killed_us="$(now_us)"
    if ! kill -9 "$pid" 2>> "$log"; then
        why="kill -9 $pid failed: run the script as root to signal container processes"
        return 1
    fi
    if ! wait_for 30 started_at_changed "$container" "$before"; then
        why="$service not restarted within 30 s of SIGKILL (state $(inspect "$container" '{{.State.Status}}'))"
        return 1
    fi
    running_s="$(seconds_since "$killed_us")"
    if ! wait_for 30 http_ok "${health_port[$service]}"; then
        why="$service restarted after ${running_s} s, but /health on ${health_port[$service]} did not return 200 within 30 s"
        return 1
    fi
    answered_s="$(seconds_since "$killed_us")"
    if ! wait_for 30 is_healthy "$container"; then
        why="$service restarted after ${running_s} s but not healthy within 30 s (health $(health_status "$container"))"
        return 1
    fi
    measured="$(seconds_since "$killed_us")"
    if (( ${measured%.*} >= 30 )); then
        why="$service healthy only ${measured} s after SIGKILL, expected under 30 s"
        return 1
    fi
    # Docker probes every 5 s (docker-compose.yml), so its verdict trails /health by up to 5 s.
    detail="dispatch (host pid $pid) killed; running again after ${running_s} s, /health 200 after ${answered_s} s, Docker healthy after ${measured} s"
}

check_kill_guardian() { kill_and_recover guardian; }
check_kill_reaper() { kill_and_recover reaper; }
check_kill_factory() { kill_and_recover factory; }

check_hang() {
    local service="$hang_service" container before restarts touched_us exited_s count
    container="$(container_of "$service")"
    before="$(inspect "$container" '{{.State.StartedAt}}')"
    restarts="$(inspect "$container" '{{.RestartCount}}')"
    touched_us="$(now_us)"
    if ! compose exec -T -u root "$service" touch "$hang_file" >> "$log" 2>&1; then
        why="could not create $hang_file in the $service container"
        return 1
    fi

    # A pass starts within 1 s and hangs; the watchdog exits after 2 x 5 s.
    if ! wait_for 45 started_at_changed "$container" "$before"; then
        why="$service did not exit by itself within 45 s of the hang (health $(health_status "$container"))"
        if [[ "$(compose logs --no-color "$service" 2>> "$log")" == *"stuck for"* ]]; then
            why+="; its watchdog logged \"pass stuck\" but the process kept running (is dispatch PID 1 in the container?)"
        fi
        return 1
    fi
    exited_s="$(seconds_since "$touched_us")"
    if [[ "$(inspect "$container" '{{.RestartCount}}')" == "$restarts" ]]; then
        why="$service started again, but Docker's restart count did not grow"
        return 1
    fi
    # Not `| grep -q`: with pipefail, grep stopping early fails the pipeline.
    if [[ "$(compose logs --no-color "$service" 2>> "$log")" != *"stuck for"* ]]; then
        why="$service restarted, but its log has no \"pass stuck\" line from the watchdog"
        return 1
    fi
    if ! wait_for 30 is_healthy "$container"; then
        why="$service restarted after ${exited_s} s but not healthy within 30 s"
        return 1
    fi
    measured="$(seconds_since "$touched_us")"

    # Healthy right after a start proves little (no pass has to finish yet): check the
    # hang file is gone and that passes complete again.
    if compose exec -T "$service" test -e "$hang_file" >> "$log" 2>&1; then
        why="$hang_file survived the restart, so the process will hang again"
        return 1
    fi
    count="$(cycle_count "${health_port[$service]}")"
    sleep 3
    if (( $(cycle_count "${health_port[$service]}") <= count )); then
        why="$service is healthy but completed no pass in 3 s after the restart"
        return 1
    fi
    detail="watchdog exited the process ${exited_s} s after the hang began (threshold 2 x ${hang_unhealthy_after} s), healthy again after ${measured} s"
}

daemon_starts() {
    local service
    for service in "${daemons[@]}"; do
        printf '%s %s\n' "$service" "$(inspect "$(container_of "$service")" '{{.State.StartedAt}} restarts={{.RestartCount}}')"
    done
}

# A plain `compose restart postgres` took 0.5 to 3 s in test runs (2 vCPUs), less than
# the daemons' 5 s pass interval, so most passes never meet the outage and /health may
# stay 200. This check requires only that the daemons survive it and pass again.
check_postgres_restart() {
    local before service restarted_us
    declare -A cycles=()
    before="$(daemon_starts)"
    for service in "${daemons[@]}"; do
        cycles[$service]="$(cycle_count "${health_port[$service]}")"
    done

    restarted_us="$(now_us)"
    if ! compose restart postgres >> "$log" 2>&1; then
        why="compose restart postgres failed; see the log"
        return 1
    fi
    local restart_s
    restart_s="$(seconds_since "$restarted_us")"

    passes_resumed() {
        local name
        for name in "${daemons[@]}"; do
            http_ok "${health_port[$name]}" || return 1
            (( $(cycle_count "${health_port[$name]}") > cycles[$name] )) || return 1
        done
    }
    if ! wait_for 60 passes_resumed; then
        why="within 60 s of the restart, not every daemon returned 200 with a new pass"
        return 1
    fi
    if ! wait_for 30 all_healthy; then
        why="not all containers healthy for Docker 30 s after the restart"
        return 1
    fi
    if [[ "$(daemon_starts)" != "$before" ]]; then
        why="daemon containers were restarted: before [$(paste -sd';' <<< "$before")] after [$(daemon_starts | paste -sd';')]"
        return 1
    fi
    measured="$(seconds_since "$restarted_us")"
    detail="restart took ${restart_s} s; every daemon completed a new pass, no daemon container restarted"
}

# PostgreSQL stopped long enough for every daemon to run a pass against it: each must
# report 503 while it is down and 200 once it is back, without its container restarting.
check_postgres_outage() {
    local before service stopped_us started_us code
    declare -A down_s=() back_s=()
    before="$(daemon_starts)"
    stopped_us="$(now_us)"
    if ! compose stop postgres >> "$log" 2>&1; then
        why="compose stop postgres failed; see the log"
        return 1
    fi

    # Guardian and factory pass every 5 s (the reaper every 1 s in this run), so 30 s is six passes.
    while (( $(now_us) - stopped_us < 30000000 && ${#down_s[@]} < ${#daemons[@]} )); do
        for service in "${daemons[@]}"; do
            if [[ -z "${down_s[$service]:-}" && "$(http_status "${health_port[$service]}")" == 503 ]]; then
                down_s[$service]="$(seconds_since "$stopped_us")"
            fi
        done
        sleep 0.25
    done
    local outage_s
    outage_s="$(seconds_since "$stopped_us")"

    started_us="$(now_us)"
    if ! compose start postgres >> "$log" 2>&1; then
        why="compose start postgres failed; see the log"
        return 1
    fi
    while (( $(now_us) - started_us < 60000000 && ${#back_s[@]} < ${#daemons[@]} )); do
        for service in "${daemons[@]}"; do
            if [[ -z "${back_s[$service]:-}" ]] && http_ok "${health_port[$service]}"; then
                back_s[$service]="$(seconds_since "$started_us")"
            fi
        done
        sleep 0.25
    done

    local problems=()
    for service in "${daemons[@]}"; do
        if [[ -z "${down_s[$service]:-}" ]]; then
            problems+=("$service kept returning 200 during ${outage_s} s with PostgreSQL stopped;")
        fi
        if [[ -z "${back_s[$service]:-}" ]]; then
            problems+=("$service did not return 200 within 60 s of PostgreSQL starting;")
        fi
    done
    if ! wait_for 30 all_healthy; then
        problems+=("not all containers healthy for Docker 30 s after PostgreSQL started;")
    fi
    if [[ "$(daemon_starts)" != "$before" ]]; then
        problems+=("daemon containers were restarted: before [$(paste -sd';' <<< "$before")] after [$(daemon_starts | paste -sd';')];")
    fi
    if (( ${#problems[@]} > 0 )); then
        why="${problems[*]}"
        why="${why%;}"
        return 1
    fi

    measured="$(seconds_since "$stopped_us")"
    detail="503 after guardian ${down_s[guardian]} s, reaper ${down_s[reaper]} s, factory ${down_s[factory]} s of the outage;"
    detail+=" 200 again guardian ${back_s[guardian]} s, reaper ${back_s[reaper]} s, factory ${back_s[factory]} s after PostgreSQL started; no container restarted"
}

write_specs() {
    mkdir -p specs/acceptance-shop specs/acceptance-docs
    cat > specs/acceptance-shop/A01-schema.md << 'EOF'
---
task_id: A01-schema
priority: 1
estimated_minutes: 5
modifies: db/schema.sql
---
Write the database schema.
EOF
    cat > specs/acceptance-shop/A02-orders.md << 'EOF'
---
task_id: A02-orders
estimated_minutes: 5
depends_on: A01
modifies: ["src/orders"]
---
Implement the orders API on the schema from A01.
EOF
    cat > specs/acceptance-shop/A03-payments.md << 'EOF'
---
task_id: A03-payments
estimated_minutes: 5
depends_on:
  - A01-schema
  - A02-orders
modifies: src/payments
---
Implement payments for orders.
EOF
    cat > specs/acceptance-docs/D01-guide.md << 'EOF'
---
task_id: D01-guide
priority: 高   # high
estimated_minutes: 5
depends_on: ["acceptance-shop/A02"]
modifies: docs/订单.md
标题: 订单接口使用指南
---
## 目标

为订单接口编写中文使用指南：创建订单、查询订单、取消未发货的订单。
EOF
    cat > specs/acceptance-docs/D02-site.md << 'EOF'
---
task_id: D02-site
priority: low
estimated_minutes: 5
depends_on: [D01-guide, acceptance-shop/A03-payments]
modifies: site
---
Build the documentation site.
EOF
    chmod -R a+rX specs
}

spec_task_count=5

status_json() { dispatch_in factory status --json; }

completed_count() {
    status_json | jq '[.tasks[] | select((.project | startswith("acceptance-")) and .state == "completed")] | length' 2> /dev/null
}

all_specs_completed() { [[ "$(completed_count)" == "$spec_task_count" ]]; }

check_specs_complete() {
    write_specs
    local start_us
    start_us="$(now_us)"
    if ! compose up -d >> "$log" 2>&1; then
        why="--profile worker up -d failed; see the log"
        return 1
    fi
    if [[ -z "$(compose ps --services --filter status=running 2>> "$log" | grep -x worker)" ]]; then
        why="the worker service is not running after --profile worker up -d"
        return 1
    fi
    if ! wait_for 120 all_specs_completed; then
        why="$(completed_count) of $spec_task_count acceptance tasks completed after 120 s; dispatch status: $(dispatch_in factory status | head -n 1)"
        return 1
    fi
    measured="$(seconds_since "$start_us")"

    local table json priority
    table="$(dispatch_in factory status)"
    if [[ "$(grep -c -E '^acceptance-(shop|docs) +[A-Z][0-9]+-[a-z]+ +completed' <<< "$table")" != "$spec_task_count" ]]; then
        why="dispatch status does not list the $spec_task_count tasks as completed: $(head -n 1 <<< "$table")"
        return 1
    fi
    json="$(status_json)"
    priority="$(jq -r '.tasks[] | select(.project == "acceptance-docs" and .task_id == "D01-guide") | .priority' <<< "$json" 2> /dev/null)"
    if [[ "$priority" != 1 ]]; then
        why="D01-guide (priority: 高) has priority \"$priority\" in status --json, expected 1"
        return 1
    fi
    if [[ "$(dispatch_in factory show acceptance-docs/D01-guide)" != *"docs/订单.md"* ]]; then
        why="dispatch show acceptance-docs/D01-guide does not print the Chinese path docs/订单.md"
        return 1
    fi
    detail="$spec_task_count tasks in 2 projects completed ${measured} s after up; status, status --json and show agree (priority 高 = 1, path docs/订单.md intact)"
}

snapshot_tasks() { status_json | jq -c '[.tasks[] | [.project, .task_id, .state, .attempt]] | sort' 2> /dev/null; }

snapshot_events() { dispatch_in factory events --json --limit 100000; }

check_down_up() {
    local tasks_before events_before tasks_after events_after before_count after_count
    tasks_before="$(snapshot_tasks)"
    events_before="$work/events-before.jsonl"
    snapshot_events > "$events_before"
    before_count="$(wc -l < "$events_before")"
    if [[ -z "$tasks_before" || "$tasks_before" == "[]" || "$before_count" == 0 ]]; then
        why="no tasks or events to compare before down"
        return 1
    fi

    if ! compose down >> "$log" 2>&1; then
        why="down failed; see the log"
        return 1
    fi
    if [[ -n "$(compose ps -q 2>> "$log")" ]]; then
        why="containers still exist after down"
        return 1
    fi
    if ! compose_default_profile up -d >> "$log" 2>&1; then
        why="up -d after down failed; see the log"
        return 1
    fi
    if ! wait_for 90 all_healthy; then
        why="not all healthy 90 s after up -d following down"
        return 1
    fi

    tasks_after="$(snapshot_tasks)"
    snapshot_events > "$work/events-after.jsonl"
    after_count="$(wc -l < "$work/events-after.jsonl")"
    if [[ "$tasks_after" != "$tasks_before" ]]; then
        why="tasks differ after down/up: $(jq length <<< "$tasks_before") before, $(jq length <<< "$tasks_after") after"
        return 1
    fi

    # The daemons may append events after the restart (a stopped worker's node going
    # offline, for example), so every earlier event must be there unchanged, in order.
    if ! head -n "$before_count" "$work/events-after.jsonl" | cmp -s - "$events_before"; then
        why="the first $before_count events differ after down/up ($after_count events now)"
        return 1
    fi
    detail="$(jq length <<< "$tasks_before") tasks and $before_count events kept ($after_count events after up)"
}

import_dir="$work/import"

# Events of the projects in examples/specs (shop-api, shop-docs), which only the import writes.
imported_event_count() {
    snapshot_events | jq -s '[.[] | select((.project // "") | startswith("shop-"))] | length' 2> /dev/null
}

check_import_sqlite() {
    mkdir -p "$import_dir"
    cp -r examples/specs "$import_dir/specs"
    # The container user (uid 1654) writes the SQLite file here.
    chmod -R a+rwX "$import_dir"

    local run=(compose run --rm --no-deps -T -v "$import_dir:/import")
    if ! "${run[@]}" -e DISPATCH_DB_BACKEND=sqlite -e DISPATCH_DB_URL=/import/dispatch.db factory \
        up --demo --specs /import/specs >> "$log" 2>&1; then
        why="dispatch up --demo into /import/dispatch.db failed; see the log"
        return 1
    fi

    local first second copied_first copied_second
    if ! first="$("${run[@]}" factory import-sqlite --from /import/dispatch.db --json 2>> "$log")"; then
        why="the first import-sqlite failed; see the log"
        return 1
    fi
    echo "$first" >> "$log"
    copied_first="$(jq '[.[].copied] | add' <<< "$first" 2> /dev/null)"
    if [[ -z "$copied_first" || "$copied_first" == null || "$copied_first" == 0 ]]; then
        why="the first import-sqlite copied \"$copied_first\" rows, expected some"
        return 1
    fi

    local tasks_before tasks_after events_before events_after
    tasks_before="$(status_json | jq '[.tasks[] | select(.project | startswith("shop-"))] | length')"
    events_before="$(imported_event_count)"
    if ! second="$("${run[@]}" factory import-sqlite --from /import/dispatch.db --json 2>> "$log")"; then
        why="the second import-sqlite failed; see the log"
        return 1
    fi
    echo "$second" >> "$log"
    copied_second="$(jq '[.[].copied] | add' <<< "$second" 2> /dev/null)"
    tasks_after="$(status_json | jq '[.tasks[] | select(.project | startswith("shop-"))] | length')"
    events_after="$(imported_event_count)"
    if [[ "$copied_second" != 0 ]]; then
        why="the second import-sqlite copied \"$copied_second\" rows, expected 0"
        return 1
    fi
    if [[ "$tasks_before" == 0 || "$tasks_after" != "$tasks_before" ]]; then
        why="imported tasks: $tasks_before after the first run, $tasks_after after the second"
        return 1
    fi
    if [[ "$events_before" == 0 || "$events_after" != "$events_before" ]]; then
        why="events of the imported projects: $events_before after the first run, $events_after after the second"
        return 1
    fi
    detail="first run copied $copied_first rows ($tasks_before tasks, $events_before events), second run copied 0"
}

prod_compose() { # runs the base file plus the production override, reading no .env file
    "${compose_command[@]}" -p "$prod_project" --env-file "$empty_env" -f docker-compose.yml -f docker-compose.prod.yml "$@"
}

prod_output="$work/prod-without-password.txt"

check_prod_requires_password() {
    if env -u DISPATCH_DB_PASSWORD "${compose_command[@]}" -p "$prod_project" --env-file "$empty_env" \
        -f docker-compose.yml -f docker-compose.prod.yml up -d --no-build > "$prod_output" 2>&1; then
        why="up -d with the production override started without DISPATCH_DB_PASSWORD"
        return 1
    fi
    cat "$prod_output" >> "$log"
    if [[ -n "$(docker ps -aq --filter "label=com.docker.compose.project=$prod_project")" ]]; then
        why="up -d failed, but created containers"
        return 1
    fi
    if [[ "$(< "$prod_output")" == *"!reset"* ]]; then
        detail="exit status non-zero, no container created; this Compose cannot parse the !reset tag, so it rejects the file with or without a password"
    else
        detail="exit status non-zero, no container created"
    fi
}

check_prod_message() {
    if ! grep -q "DISPATCH_DB_PASSWORD is not set" "$prod_output"; then
        why="the error output does not name DISPATCH_DB_PASSWORD: $(head -n 2 "$prod_output" | paste -sd' ')"
        return 1
    fi
    detail="$(grep -m 1 -o "DISPATCH_DB_PASSWORD is not set[^\"]*" "$prod_output")"
}

check_prod_ports() {
    local config postgres_ports daemon_ports
    if ! config="$(DISPATCH_DB_PASSWORD=acceptance-only prod_compose config --format json 2>> "$log")"; then
        why="config with the production override and a password failed; see the log"
        return 1
    fi
    postgres_ports="$(jq -c '.services.postgres.ports // []' <<< "$config")"
    daemon_ports="$(jq -r '[.services.guardian.ports[]?.published] | join(",")' <<< "$config")"
    if [[ "$postgres_ports" != "[]" ]]; then
        why="the production override still publishes PostgreSQL: $postgres_ports"
        return 1
    fi
    if [[ "$daemon_ports" != 8091 ]]; then
        why="the guardian's health port is \"$daemon_ports\" in production, expected 8091"
        return 1
    fi
    detail="PostgreSQL has no published port; guardian keeps 8091"
}

# --- run ------------------------------------------------------------------------

echo "Dispatch deployment acceptance with $compose_text ($("${compose_command[@]}" version --short 2> /dev/null || "${compose_command[@]}" version 2> /dev/null | head -n 1))"
compose down -v --remove-orphans >> "$log" 2>&1
"${compose_command[@]}" -p "$prod_project" --env-file "$empty_env" -f docker-compose.yml down -v --remove-orphans >> "$log" 2>&1

run_check build check_build || finish
run_check image-non-root check_image_user
run_check image-no-secrets check_image_secrets
run_check image-size check_image_size
run_check up-services check_up_services || finish
run_check all-healthy check_healthy || finish
run_check health-endpoints check_health_endpoints
for daemon in "${daemons[@]}"; do
    run_check "sigkill-$daemon" "check_kill_$daemon"
done
run_check "hang-$hang_service" check_hang
run_check postgres-restart check_postgres_restart
run_check postgres-outage check_postgres_outage
run_check specs-completed check_specs_complete
run_check down-up-keeps-data check_down_up

if compose run --rm --no-deps -T factory import-sqlite --help >> "$log" 2>&1; then
    run_check import-sqlite check_import_sqlite
else
    skip import-sqlite "command not built yet"
fi

run_check prod-requires-password check_prod_requires_password
if $compose_v1; then
    # Compose v1 cannot parse `ports: !reset []` (a Compose v2 tag), so it stops with a
    # YAML error before it reads the password variable.
    skip prod-password-message "needs Compose v2: v1 stops at the !reset tag in docker-compose.prod.yml"
    skip prod-no-database-port "needs Compose v2: v1 cannot read docker-compose.prod.yml"
else
    run_check prod-password-message check_prod_message
    run_check prod-no-database-port check_prod_ports
fi

finish
