# Sourced by test/integration/webmail_browser.sh and hostile_mail.sh after
# lib.sh: runs a Node script of test/e2e in headless Chromium and turns its
# "ok - ..." / "not ok - ..." lines into this test's numbered TAP.
E2E=$ERS_TOP/test/e2e
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

# e2e_ready: node, Chromium and playwright-core (installed by test/deps) are
# there; otherwise one failure saying what is missing.
e2e_ready() {
    local missing=
    command -v node >/dev/null || missing="node"
    [ -x "$CHROMIUM" ] || missing="$missing $CHROMIUM"
    [ -f "$E2E/node_modules/playwright-core/package.json" ] || missing="$missing playwright-core (in test/e2e/node_modules)"
    [ -z "$missing" ] && return 0
    ok 1 "the browser tests can run"
    diag "missing:$missing" "run 'make deps' (test/deps installs them)"
    return 1
}

# e2e_hosts: localhost approved as IMAP and SMTP host on the stack's ports
# (the stack's database is shared: golive.sh adds the same when missing).
e2e_hosts() {
    local kind port
    for kind in imap smtp; do
        port=$IMAP_PORT; [ $kind = smtp ] && port=$SUBMISSION_PORT
        "$ERSCTL" -q server host list --kind $kind | grep -q "localhost .*$port" ||
            "$ERSCTL" -q server host add localhost --kind $kind --port "$port" --tls starttls
    done
}

# e2e_count USER PASSWORD [FOLDER]: messages in a folder over IMAP.
e2e_count() {
    curl -s --max-time 10 --ssl-reqd --cacert "$TLS_CA" --user "$1:$2" "imap://127.0.0.1:$IMAP_PORT/${3:-INBOX}" \
        -X 'SEARCH ALL' | tr -d '\r' | sed -n 's/^\* SEARCH//p' | wc -w
}
# e2e_wait_count USER PASSWORD WANT: delivery is asynchronous (qmgr, LMTP).
e2e_wait_count() {
    local i n=0
    for i in $(seq 1 150); do
        n=$(e2e_count "$1" "$2")
        [ "$n" -ge "$3" ] && break
        sleep 0.1
    done
    echo "$n"
}

# e2e_run SCRIPT TIMEOUT [NAME=VALUE...]: runs node test/e2e/SCRIPT with the
# stack's ports in its environment; its lines become this test's TAP.
e2e_run() {
    local script=$1 limit=$2 line; shift 2
    mkdir -p "$E2E/screenshots"
    while IFS= read -r line; do
        case $line in
            "ok - "*) ok 0 "${line#ok - }" ;;
            "not ok - "*) ok 1 "${line#not ok - }" ;;
            "e2e-exit 0") ;;
            "e2e-exit "*) ok 1 "node $script ran to its end"; diag "it exited ${line#e2e-exit } (124: over ${limit}s)" ;;
            "#"*) echo "$line" ;;
            *) echo "# $line" ;;
        esac
    done < <(env WEB_PORT="$WEB_PORT" PGBIN="$PGBIN" PG_SOCKET="$PG_SOCKET" PG_PORT="$PG_PORT" \
        CHROMIUM="$CHROMIUM" SHOTS="$E2E/screenshots" T_DIR="$T_DIR" "$@" \
        timeout "$limit" node "$E2E/$script" 2>&1; echo "e2e-exit $?")
}
