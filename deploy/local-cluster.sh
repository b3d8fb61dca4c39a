#!/usr/bin/env bash
# A durable GridDispatch cluster on this machine, without containers: a private PostgreSQL, three silos and the API
# (itself a silo with the dashboard) on loopback ports, all against one database.
#   deploy/local-cluster.sh start     build, start everything, print the addresses
#   deploy/local-cluster.sh status    what runs
#   deploy/local-cluster.sh stop      stop everything (data is kept in deploy/.run/pg)
#   deploy/local-cluster.sh reset     stop and delete the data
set -euo pipefail
cd "$(dirname "$0")/.."
run="$(pwd)/deploy/.run"
pgbin="${GRIDDISPATCH_PG_BIN:-/usr/lib/postgresql/15/bin}"
pgport="${GRIDDISPATCH_PG_PORT:-55432}"
conn="Host=127.0.0.1;Port=$pgport;Username=postgres;Database=griddispatch"

as_postgres() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }

start_postgres() {
  mkdir -p "$run/pg"
  [ "$(id -u)" = 0 ] && chown postgres "$run/pg"
  if [ ! -f "$run/pg/data/PG_VERSION" ]; then
    as_postgres "$pgbin/initdb -D $run/pg/data -U postgres --auth=trust -E UTF8" >/dev/null
  fi
  as_postgres "$pgbin/pg_ctl -D $run/pg/data -l $run/pg/server.log -w -o \"-p $pgport -k $run/pg -c listen_addresses=127.0.0.1\" start" >/dev/null
  psql -h 127.0.0.1 -p "$pgport" -U postgres -tc "SELECT 1 FROM pg_database WHERE datname = 'griddispatch'" | grep -q 1 \
    || psql -h 127.0.0.1 -p "$pgport" -U postgres -c "CREATE DATABASE griddispatch" >/dev/null
}

# A cluster on one machine declares a killed silo dead in about a second (production keeps Orleans' own timings).
fast_membership=(--GridDispatch:Membership:ProbeTimeout=00:00:01 --GridDispatch:Membership:NumMissedProbesLimit=2
  --GridDispatch:Membership:NumVotesForDeathDeclaration=1 --GridDispatch:Membership:TableRefreshTimeout=00:00:02
  --GridDispatch:Membership:IAmAliveTablePublishTimeout=00:00:10)

start_process() { # name, command...  (appends to its log: earlier runs' lines are kept, each start marked)
  local name=$1; shift
  echo "=== $(date -Is) start: $*" >>"$run/$name.log"
  ( ConnectionStrings__GridDispatch="$conn" nohup "$@" >>"$run/$name.log" 2>&1 & echo $! >"$run/$name.pid" )
}

stop_processes() { # SIGTERM to each, then wait (up to 60 s) for them to leave the cluster before the database goes
  local pids=()
  for f in "$run"/*.pid; do [ -e "$f" ] || continue; pid=$(cat "$f"); kill "$pid" 2>/dev/null && pids+=("$pid"); rm -f "$f"; done
  for _ in $(seq 1 120); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && return 0
    sleep 0.5
  done
  echo "some processes did not stop in 60 s" >&2
}

case "${1:-start}" in
  start)
    mkdir -p "$run"
    dotnet build -c Release GridDispatch.sln >/dev/null
    start_postgres
    dotnet src/Silo/bin/Release/net10.0/GridDispatch.Silo.dll migrate "$conn"
    silo=src/Silo/bin/Release/net10.0/GridDispatch.Silo.dll
    for i in 1 2 3; do
      # Only the first silo loads the demo city; only the API simulates.
      start_process "silo$i" dotnet "$silo" --GridDispatch:Silo:SiloPort=$((11110 + i)) --GridDispatch:Silo:GatewayPort=$((30000 + i)) \
        --GridDispatch:City:LoadOnStart=$([ "$i" = 1 ] && echo true || echo false) --GridDispatch:Simulation:Enabled=false \
        --GridDispatch:Telemetry:Dashboard=true "${fast_membership[@]}"
    done
    # A developer's cluster: the Development environment (its token issuer, /dev/users from src/Api/appsettings.json,
    # the pages from src/Api/wwwroot), whatever directory this script is started from.
    start_process api dotnet src/Api/bin/Release/net10.0/GridDispatch.Api.dll --urls=http://localhost:5000 \
      --environment=Development --contentRoot="$(pwd)/src/Api" --GridDispatch:Telemetry:Dashboard=true "${fast_membership[@]}" \
      --GridDispatch:Silo:SiloPort=11120 --GridDispatch:Silo:GatewayPort=30010 --GridDispatch:City:LoadOnStart=false
    echo "PostgreSQL on 127.0.0.1:$pgport (database griddispatch), silos on 11111-11113, API and dashboard on http://localhost:5000"
    echo "logs in $run; stop with: deploy/local-cluster.sh stop"
    ;;
  status)
    for f in "$run"/*.pid; do [ -e "$f" ] || continue; n=$(basename "$f" .pid); kill -0 "$(cat "$f")" 2>/dev/null && echo "$n running" || echo "$n stopped"; done
    psql -h 127.0.0.1 -p "$pgport" -U postgres -d griddispatch -c "SELECT address, port, status, i_am_alive FROM gd_membership ORDER BY start_time" 2>/dev/null || echo "postgres stopped"
    ;;
  stop|reset)
    stop_processes
    [ -f "$run/pg/data/PG_VERSION" ] && as_postgres "$pgbin/pg_ctl -D $run/pg/data -m fast -w stop" >/dev/null 2>&1 || true
    [ "$1" = reset ] && rm -rf "$run"
    echo stopped
    ;;
  *) echo "usage: $0 start|status|stop|reset" >&2; exit 2 ;;
esac
