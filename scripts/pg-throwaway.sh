#!/usr/bin/env bash
# Start a throw-away PostgreSQL on a free local port; print its URL on stdout.
# Usage: eval "$(scripts/pg-throwaway.sh start DIR)"  ...  scripts/pg-throwaway.sh stop DIR
#        scripts/pg-throwaway.sh resume DIR   starts a stopped server again (same data, same port)
# Installs the Debian server package when no server binaries are found (needs root).
set -euo pipefail

find_bin() {
  local name=$1 dir
  if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return 0; fi
  for dir in /usr/lib/postgresql/*/bin; do
    if [ -x "$dir/$name" ]; then echo "$dir/$name"; return 0; fi
  done
  return 1
}

ensure_server() {
  if find_bin initdb >/dev/null && find_bin pg_ctl >/dev/null; then return 0; fi
  echo "PostgreSQL server binaries not found; installing the Debian package" >&2
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "cannot install PostgreSQL: need root and apt-get" >&2; return 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql-15 >&2 || apt-get install -y -qq postgresql >&2
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# initdb refuses to run as root; run the server as an unprivileged account.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

serve() {
  local pg_ctl=$1 dir=$2 port=$3
  as_owner "$pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >&2 || { cat "$dir/server.log" >&2; exit 1; }
}

cmd=${1:?start|stop|resume}; dir=${2:?data directory}
case "$cmd" in
  start)
    ensure_server
    initdb=$(find_bin initdb); pg_ctl=$(find_bin pg_ctl)
    rm -rf "$dir"; mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && { id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres; chown postgres "$dir"; chmod 700 "$dir"; }
    as_owner "$initdb" -D "$dir/data" -U faultdesk --auth=trust -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    port=$(free_port)
    serve "$pg_ctl" "$dir" "$port"
    echo "$port" > "$dir/port"
    echo "export FAULTDESK_TEST_PG_URL=postgresql://faultdesk@127.0.0.1:$port/postgres"
    ;;
  resume)
    pg_ctl=$(find_bin pg_ctl)
    serve "$pg_ctl" "$dir" "$(cat "$dir/port")"
    ;;
  stop)
    pg_ctl=$(find_bin pg_ctl)
    [ -d "$dir/data" ] && as_owner "$pg_ctl" -D "$dir/data" -m immediate stop >&2 || true
    ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
