# tests/clients/lib.sh: start and stop a real hadron-server for the client
# tests (sourced).  hadron_start SERVER_BIN [EXTRA_CONFIG] sets HADRON_PORT,
# HADRON_DIR and HADRON_URL; hadron_stop stops it and fails if it did not
# exit 0 or its log has an ERR line or a sanitizer report.

hadron_start() {
    HADRON_DIR=$(mktemp -d /tmp/hadron-clients-XXXXXX)
    cat >"$HADRON_DIR/hadron.conf" <<CONF
[DEFAULT]
bind_host = 127.0.0.1
bind_port = 0
api_workers = 2
auth_strategy = noauth
log_file = $HADRON_DIR/hadron.log
[database]
connection = sqlite:///$HADRON_DIR/hadron.db
${2:-}
CONF
    "$1" --config-file "$HADRON_DIR/hadron.conf" \
        >"$HADRON_DIR/stdout" 2>"$HADRON_DIR/stderr" &
    HADRON_PID=$!
    HADRON_PORT=
    for _ in $(seq 1 200); do
        HADRON_PORT=$(sed -n 's/.*listening on http:\/\/[^ ]*:\([0-9]*\) .*/\1/p' \
                      "$HADRON_DIR/hadron.log" 2>/dev/null | head -n1)
        [ -n "$HADRON_PORT" ] && break
        kill -0 "$HADRON_PID" 2>/dev/null || break
        sleep 0.05
    done
    if [ -z "$HADRON_PORT" ]; then
        cat "$HADRON_DIR/stderr" "$HADRON_DIR/hadron.log" >&2 || true
        echo "FAIL: hadron-server did not start" >&2
        exit 1
    fi
    HADRON_URL=http://127.0.0.1:$HADRON_PORT
}

hadron_stop() {
    kill -TERM "$HADRON_PID"
    status=0
    wait "$HADRON_PID" || status=$?
    bad=0
    [ "$status" = 0 ] || { echo "FAIL: hadron-server exited $status" >&2; bad=1; }
    if grep -q ' ERR ' "$HADRON_DIR/hadron.log"; then
        grep ' ERR ' "$HADRON_DIR/hadron.log" >&2
        bad=1
    fi
    if grep -q 'Sanitizer\|runtime error' "$HADRON_DIR/stderr"; then
        cat "$HADRON_DIR/stderr" >&2
        bad=1
    fi
    if [ "$bad" = 0 ] && [ -z "${HADRON_KEEP:-}" ]; then
        rm -rf "$HADRON_DIR"
    else
        echo "server files kept in $HADRON_DIR" >&2
    fi
    return "$bad"
}
