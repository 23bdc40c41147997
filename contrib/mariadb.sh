#!/usr/bin/env bash
# A private MariaDB server for tests and development.
#
#   contrib/mariadb.sh start DIR    start (or reuse) the server kept in DIR;
#                                   prints the client URL on stdout
#   contrib/mariadb.sh stop DIR     shut it down
#   contrib/mariadb.sh url DIR      print the client URL of a running server
#
# Everything lives under DIR: data/ (the data directory), tmp/ (its
# temporary tables: a mariadbd deletes the #sql* files of its tmpdir when it
# starts, and with two servers sharing /tmp a query of one failed on its
# vanished temporary table as the other started), mysqld.pid, error.log,
# port (the TCP port on 127.0.0.1), socket (the Unix socket path) and url.
# The server runs with --no-defaults, so it never reads /etc/mysql nor
# touches /run/mysqld.  The socket is DIR/mysqld.sock unless that path is
# too long for a Unix socket (107 characters) or has characters that would
# need quoting in a URL; then it goes into a short mktemp directory under
# /tmp, which DIR/socketdir records and `stop` removes.
#
# root@localhost (socket) and root@127.0.0.1 (TCP) have no password.
# Extra server options can be given in HADRON_MARIADB_OPTS (split on blanks).
set -euo pipefail

prog=${0##*/}
START_TIMEOUT=30        # seconds for the server to answer a ping
STOP_TIMEOUT=30         # seconds for it to exit after "shutdown"

die() { echo "$prog: $*" >&2; exit 1; }
say() { echo "$prog: $*" >&2; }

usage() {
    echo "usage: $prog start|stop|url DIR" >&2
    exit 2
}

(($# == 2)) || usage
cmd=$1
mkdir -p -- "$2"
dir=$(cd -- "$2" && pwd -P)

datadir=$dir/data
pidfile=$dir/mysqld.pid
errlog=$dir/error.log

for tool in mariadb-install-db mariadbd mariadb-admin; do
    command -v "$tool" >/dev/null 2>&1 || [[ -x /usr/sbin/$tool ]] ||
        die "$tool not found: run contrib/install-deps.sh"
done
PATH=$PATH:/usr/sbin

# The pid in $pidfile if that process is alive and is the server of $datadir.
server_pid() {
    local pid
    [[ -s $pidfile ]] || return 1
    pid=$(<"$pidfile")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    pid_is_ours "$pid" && echo "$pid"
}

# True if process $1 is alive and is a mariadbd running on $datadir.
pid_is_ours() {
    local cmdline
    [[ -r /proc/$1/cmdline ]] || return 1
    cmdline=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null) || return 1
    [[ $cmdline == *"--datadir=$datadir "* ]]
}

socket_path() {
    [[ -s $dir/socket ]] || return 1
    cat -- "$dir/socket"
}

ping_server() {
    mariadb-admin --no-defaults --socket="$1" --user=root \
        --connect-timeout=2 ping >/dev/null 2>&1
}

client_url() {
    echo "mysql://root@localhost/?unix_socket=$1"
}

# Lock DIR so that two concurrent starts/stops do not race.  mariadbd must not
# inherit the lock descriptor (see 9>&- below).
exec 9>"$dir/.lock"
flock 9

# Chooses the socket path, in a short directory under /tmp when needed.
choose_socket() {
    local sock=$dir/mysqld.sock sdir
    if ((${#sock} > 107)) || [[ ! $sock =~ ^[A-Za-z0-9/._-]+$ ]]; then
        sdir=$(mktemp -d /tmp/hadron-mariadb.XXXXXX)
        sock=$sdir/mysqld.sock
        echo "$sdir" >"$dir/socketdir"
    else
        rm -f -- "$dir/socketdir"
    fi
    echo "$sock" >"$dir/socket"
}

remove_socketdir() {
    local sdir
    if [[ -s $dir/socketdir ]]; then
        sdir=$(<"$dir/socketdir")
        case $sdir in
        /tmp/hadron-mariadb.*)
            rm -f -- "$sdir/mysqld.sock" "$sdir/mysqld.sock.lock"
            rmdir -- "$sdir" 2>/dev/null || true
            ;;
        esac
        rm -f -- "$dir/socketdir"
    fi
}

install_db() {
    # A data directory is complete only once $dir/installed exists.
    [[ -e $dir/installed && -d $datadir/mysql ]] && return 0
    rm -rf -- "$datadir"
    mkdir -p -- "$datadir"
    # mariadb-install-db does not quote its paths: run it from $dir with a
    # relative data directory, so that a DIR with blanks works too.
    if ! (cd -- "$dir" && mariadb-install-db --no-defaults --datadir=./data \
        --user="$(id -un)" --auth-root-authentication-method=normal \
        --skip-test-db) >"$dir/install.log" 2>&1; then
        cat -- "$dir/install.log" >&2
        die "mariadb-install-db failed (log above, also in $dir/install.log)"
    fi
    touch -- "$dir/installed"
}

# A random port in 20000..59999 that nothing listens on yet, as far as ss says.
candidate_port() {
    local port i
    for ((i = 0; i < 50; i++)); do
        port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
        if command -v ss >/dev/null 2>&1 &&
            ss -Htln "sport = :$port" 2>/dev/null | grep -q .; then
            continue
        fi
        echo "$port"
        return 0
    done
    echo "$port"
}

# Starts mariadbd on port $1 and waits until it answers.
# Returns 0 when up, 2 when the port was taken (try another), 1 on failure.
try_start() {
    local port=$1 sock pid offset waited=0 extra=()
    sock=$(socket_path)
    offset=$(stat -c %s -- "$errlog" 2>/dev/null || echo 0)
    rm -f -- "$sock" "$sock.lock" "$pidfile"
    # shellcheck disable=SC2206 # word splitting of the option list is intended
    extra=(${HADRON_MARIADB_OPTS:-})
    mkdir -p -- "$dir/tmp"
    mariadbd --no-defaults --datadir="$datadir" --user="$(id -un)" \
        --tmpdir="$dir/tmp" \
        --bind-address=127.0.0.1 --port="$port" --socket="$sock" \
        --pid-file="$pidfile" --log-error="$errlog" --skip-name-resolve \
        --innodb-buffer-pool-size=64M --innodb-flush-log-at-trx-commit=2 \
        --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
        "${extra[@]}" </dev/null >>"$errlog" 2>&1 9>&- &
    pid=$!
    while ((waited < START_TIMEOUT * 10)); do
        if ping_server "$sock"; then
            echo "$port" >"$dir/port"
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            wait "$pid" 2>/dev/null || true
            if tail -c +"$((offset + 1))" -- "$errlog" |
                grep -qiE 'address already in use|bind on tcp/ip port'; then
                return 2
            fi
            return 1
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    # Timed out: do not leave it behind.
    kill "$pid" 2>/dev/null || true
    return 1
}

# Lets root connect over TCP too (install-db creates root@localhost only).
grant_tcp_root() {
    mariadb --no-defaults --socket="$(socket_path)" --user=root -e \
        "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';
         GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;" \
        >/dev/null 2>&1 || say "warning: could not create root@127.0.0.1"
}

do_start() {
    local sock attempt rc pid
    if server_pid >/dev/null && sock=$(socket_path) && ping_server "$sock"; then
        say "reusing the server running in $dir (port $(<"$dir/port"))"
        client_url "$sock"
        return 0
    fi
    if pid=$(server_pid); then
        die "a server (pid $pid) runs on $datadir but does not answer; run: $prog stop $dir"
    fi
    install_db
    remove_socketdir
    choose_socket
    for attempt in 1 2 3 4 5 6 7 8 9 10; do
        rc=0
        try_start "$(candidate_port)" || rc=$?
        case $rc in
        0) break ;;
        2) say "port taken, retrying (attempt $attempt)" ;;
        *)
            echo "---- $errlog (last 50 lines) ----" >&2
            tail -n 50 -- "$errlog" >&2 || true
            remove_socketdir
            die "mariadbd did not start within ${START_TIMEOUT}s"
            ;;
        esac
    done
    ((rc == 0)) || { remove_socketdir; die "no free TCP port found"; }
    grant_tcp_root
    sock=$(socket_path)
    client_url "$sock" >"$dir/url"
    say "started in $dir (pid $(<"$pidfile"), port $(<"$dir/port"), socket $sock)"
    client_url "$sock"
}

# Waits up to $2 seconds for process $1 to go; false if it is still there.
wait_gone() {
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        pid_is_ours "$1" || return 0
        sleep 0.1
    done
    ! pid_is_ours "$1"
}

do_stop() {
    local pid sock
    if ! pid=$(server_pid); then
        say "no server running in $dir"
        remove_socketdir
        rm -f -- "$pidfile" "$dir/url"
        return 0
    fi
    sock=$(socket_path || true)
    if [[ -z $sock ]] || ! timeout 20 mariadb-admin --no-defaults \
        --socket="$sock" --user=root --connect-timeout=5 shutdown >/dev/null 2>&1; then
        say "mariadb-admin shutdown failed: SIGTERM to pid $pid"
        kill -TERM "$pid" 2>/dev/null || true
    fi
    if ! wait_gone "$pid" "$STOP_TIMEOUT"; then
        say "pid $pid still running after ${STOP_TIMEOUT}s: SIGTERM"
        kill -TERM "$pid" 2>/dev/null || true
        if ! wait_gone "$pid" 10; then
            say "pid $pid still running: SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            wait_gone "$pid" 5 || die "pid $pid does not go away"
        fi
    fi
    remove_socketdir
    rm -f -- "$pidfile" "$dir/url"
    say "stopped the server in $dir"
}

do_url() {
    local sock
    if ! server_pid >/dev/null || ! sock=$(socket_path) || ! ping_server "$sock"; then
        die "no server running in $dir"
    fi
    client_url "$sock"
}

case $cmd in
start) do_start ;;
stop) do_stop ;;
url) do_url ;;
*) usage ;;
esac
