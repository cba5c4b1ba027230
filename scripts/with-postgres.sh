#!/usr/bin/env bash
# Run a command with a throwaway PostgreSQL server on 127.0.0.1.
#
#   scripts/with-postgres.sh CMD [ARGS...]
#
# Starts Debian's PostgreSQL (the programs named by `pg_config --bindir`) on a free port with a
# temporary data directory, exports PADRON_TEST_POSTGRES_URL, runs CMD, then stops the server and
# removes the directory -- also when CMD fails or the script is interrupted. PostgreSQL refuses to
# run as root, so when we are root the server runs as the `postgres` user.
set -euo pipefail

bindir="${PG_BINDIR:-$(pg_config --bindir 2>/dev/null || true)}"
if [[ -z "$bindir" || ! -x "$bindir/initdb" ]]; then
    for candidate in /usr/lib/postgresql/*/bin; do
        [[ -x "$candidate/initdb" ]] && bindir="$candidate"
    done
fi
if [[ -z "$bindir" || ! -x "$bindir/initdb" ]]; then
    echo "with-postgres: no PostgreSQL server programs found (install postgresql)" >&2
    exit 3
fi

run_as=()
if [[ "$(id -u)" == 0 ]]; then
    run_as=(runuser -u postgres --)
fi

datadir="$(mktemp -d /tmp/padron-pg.XXXXXX)"
chmod 700 "$datadir"
[[ "$(id -u)" == 0 ]] && chown postgres: "$datadir"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"

cleanup() {
    "${run_as[@]}" "$bindir/pg_ctl" -D "$datadir/db" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$datadir"
}
trap cleanup EXIT INT TERM

"${run_as[@]}" "$bindir/initdb" -D "$datadir/db" -U padron --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
"${run_as[@]}" "$bindir/pg_ctl" -D "$datadir/db" -l "$datadir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $datadir -c fsync=off -c max_connections=200" start >/dev/null
"$bindir/createdb" -h 127.0.0.1 -p "$port" -U padron padron_test

export PADRON_TEST_POSTGRES_URL="postgresql+psycopg://padron@127.0.0.1:$port/padron_test"
echo "with-postgres: PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
set +e
"$@"
status=$?
set -e
exit $status
