#!/usr/bin/env bash
# The webmail as a FastCGI server (ers-webmail-fcgi, issue 22), started
# here beside the stack's own web server with a lighttpd of its own, over
# HTTPS, against the stack's PostgreSQL and Dovecot: the IMAP login is paid
# once per session, not once per request (counted in Dovecot's log); two
# users' interleaved requests each see their own mailbox only; a forged
# cookie makes no IMAP connection; a logout, a password reset and a disable
# log the kept connection out of Dovecot at once (within the worker's
# one-second sweep); SIGTERM logs every kept connection out.
. "$(dirname "$0")/lib.sh"
. "$ERS_STACK_DIR/stack.env"
export ERS_CONFIG=$ERS_STACK_DIR/ers.yaml
T_DB=ers
DLOG=$ERS_STACK_DIR/dovecot/log/dovecot.log

n=$RANDOM
dom=fcgi$n.test host=fcgi$n.ers.test
alice=alice@$dom bob=bob@$dom carol=carol@$dom
P=fcgi-pass-$n$RANDOM
printf '%s\n' "$P" >"$T_DIR/pw"
expect 0 "setup: IMAP host" -q server host add $host --kind imap --port 143 --tls starttls
expect 0 "setup: SMTP host" -q server host add $host --kind smtp --port 587
expect 0 "setup: tenant" -q tenant add "FCGI Co $n" --domain $dom --imap-host $host --imap-port 143 --smtp-host $host
for u in $alice $bob $carol; do expect 0 "setup: $u" -q user add $u --password-file "$T_DIR/pw"; done
D="doveadm -c $DOVECOT_CONFIG"
for u in $alice $bob $carol; do
    printf 'From: x@example.org\r\nSubject: private of %s\r\nMessage-ID: <%s@x>\r\n\r\nthe body of %s\r\n' "$u" "$RANDOM$RANDOM" "$u" \
        | $D save -u $u
done

# --- the server and its own lighttpd ------------------------------------------
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
F=$T_DIR/fcgi
mkdir -p "$F/root" "$F/tmp"
ERS_CONFIG=$ERS_STACK_DIR/web/ers.yaml setsid "$ERS_TOP/build/ers-webmail-fcgi" --socket "$F/sock" --socket-mode 0600 \
    --workers 1 --pid-file "$F/pid" </dev/null >"$F/log" 2>&1 &
cat >"$F/lighttpd.conf" <<CONF
server.modules = ("mod_openssl", "mod_fastcgi")
server.bind = "127.0.0.1"
server.port = $PORT
server.document-root = "$F/root"
server.pid-file = "$F/lighttpd.pid"
server.errorlog = "$F/error.log"
server.upload-dirs = ("$F/tmp")
ssl.engine = "enable"
ssl.pemfile = "$ERS_STACK_DIR/tls/server.pem"
ssl.privkey = "$ERS_STACK_DIR/tls/server.key"
fastcgi.server = ("/" => (("socket" => "$F/sock", "check-local" => "disable", "fix-root-scriptname" => "enable")))
CONF
for _ in $(seq 1 100); do [ -S "$F/sock" ] && break; sleep 0.05; done
lighttpd -f "$F/lighttpd.conf" || echo "Bail out! lighttpd for the FastCGI server did not start"
stop_all() {
    kill "$(cat "$F/lighttpd.pid" 2>/dev/null)" 2>/dev/null
    [ -f "$F/pid" ] && kill "$(cat "$F/pid")" 2>/dev/null
}
trap stop_all EXIT
for _ in $(seq 1 100); do ss -Htln "sport = :$PORT" | grep -q . && break; sleep 0.05; done
BASE=https://127.0.0.1:$PORT

logins() { grep -c "imap-login: Info: Login: user=<$1>" "$DLOG"; }
# gone USER N: waits (up to 5 s) until Dovecot logged N disconnections of USER's IMAP sessions
gone() {
    local i
    for i in $(seq 1 100); do
        [ "$(grep -c "imap($1)<[0-9]*><[^>]*>: Info: Disconnected" "$DLOG")" -ge "$2" ] && return 0
        sleep 0.05
    done
    return 1
}
disconnects() { grep -c "imap($1)<[0-9]*><[^>]*>: Info: Disconnected" "$DLOG"; }
login_as() { # JAR EMAIL
    rm -f "$1"
    web "$1" POST /login --data-urlencode "email=$2" --data-urlencode "password=$P"
}

# --- the login is paid once per session ---------------------------------------
a0=$(logins $alice)
login_as "$T_DIR/ja" $alice
is "$CODE" 303 "alice logs in through the FastCGI server"
web "$T_DIR/ja" GET /
like "$BODY" "private of $alice" "alice's INBOX page"
web "$T_DIR/ja" GET "/message?folder=INBOX&uid=1"
like "$BODY" "private of $alice" "... her message"
web "$T_DIR/ja" GET "/message/body?folder=INBOX&uid=1"
like "$BODY" "the body of $alice" "... its body frame"
web "$T_DIR/ja" GET "/?folder=Sent"
web "$T_DIR/ja" GET /
is "$(( $(logins $alice) - a0 ))" 1 "five pages, one IMAP login to Dovecot"

# --- two users interleaving ---------------------------------------------------
login_as "$T_DIR/jb" $bob
bad=0
for round in 1 2 3 4; do
    pids=
    for who in a b; do
        curl -s --max-time 30 --cacert "$TLS_CA" -b "$T_DIR/j$who" "$BASE/message?folder=INBOX&uid=1" -o "$T_DIR/page-$who-$round" &
        pids="$pids $!"
    done
    wait $pids
    grep -q "private of $alice" "$T_DIR/page-a-$round" && ! grep -q "private of $bob" "$T_DIR/page-a-$round" || bad=1
    grep -q "private of $bob" "$T_DIR/page-b-$round" && ! grep -q "private of $alice" "$T_DIR/page-b-$round" || bad=1
done
ok $bad "alice and bob asking at once, four times: each gets UID 1 of their own mailbox, never the other's"
is "$(logins $bob)" 1 "bob's requests logged in once too"
is "$(( $(logins $alice) - a0 ))" 1 "... and alice's still the one login"

# --- no IMAP connection without a good session ---------------------------------
total=$(grep -c 'imap-login: ' "$DLOG")
forged=$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
curl -s --max-time 30 --cacert "$TLS_CA" -H "Cookie: __Host-ers_session=$forged" "$BASE/" -o "$T_DIR/forged" -D "$T_DIR/forged.h"
like "$(head -n 1 "$T_DIR/forged.h")" ' 303' "a forged cookie is sent to the login page"
web "$T_DIR/ja" GET /   # a good request after it, to be sure Dovecot has written its lines
is "$(grep -c 'imap-login: ' "$DLOG")" "$total" "... and made no IMAP connection at all"

# --- a logout logs the kept connection out at once --------------------------------
d0=$(disconnects $alice)
web "$T_DIR/ja" GET /
token=$(csrf)
web "$T_DIR/ja" POST /logout --data-urlencode "csrf=$token"
is "$CODE" 303 "alice logs out"
gone $alice $((d0 + 1))
is "$(disconnects $alice)" $((d0 + 1)) "... and her kept IMAP connection is logged out of Dovecot"

# --- an expired session: no IMAP connection, and its kept one logged out ----------
login_as "$T_DIR/je" $alice
web "$T_DIR/je" GET /
like "$BODY" "private of $alice" "alice signs in again"
d0=$(disconnects $alice) a1=$(logins $alice)
sql "UPDATE ers.session SET last_seen = last_seen - interval '400 days', created_at = created_at - interval '400 days'
     WHERE mailbox_id = (SELECT id FROM ers.mailbox WHERE address = '$alice')" >/dev/null
gone $alice $((d0 + 1))
is "$(disconnects $alice)" $((d0 + 1)) "her session expires: its kept connection is logged out within a second or two"
web "$T_DIR/je" GET /
is "$CODE" 303 "... the expired cookie is sent to the login page"
is "$(logins $alice)" "$a1" "... without an IMAP connection"

# --- a password reset and a disable elsewhere (ersctl): within the sweep -----------
d0=$(disconnects $bob)
expect 0 "bob's password is reset by an admin (ersctl)" -q user passwd $bob --password-file "$T_DIR/pw"
gone $bob $((d0 + 1))
is "$(disconnects $bob)" $((d0 + 1)) "... and bob's kept connection is logged out within a second or two"
b1=$(logins $bob)
web "$T_DIR/jb" GET /
is "$CODE" 303 "bob's old session is sent to the login page"
is "$(logins $bob)" "$b1" "... without an IMAP connection"
login_as "$T_DIR/jc" $carol
web "$T_DIR/jc" GET /
like "$BODY" "private of $carol" "carol's INBOX page"
d0=$(disconnects $carol)
expect 0 "carol is disabled (ersctl)" -q user disable $carol
gone $carol $((d0 + 1))
is "$(disconnects $carol)" $((d0 + 1)) "... and her kept connection is logged out within a second or two"

# --- SIGTERM: everything kept is logged out -------------------------------------
login_as "$T_DIR/ja" $alice
web "$T_DIR/ja" GET /
d0=$(disconnects $alice)
kill "$(cat "$F/pid")"
gone $alice $((d0 + 1))
is "$(disconnects $alice)" $((d0 + 1)) "SIGTERM: the server logs its kept connections out"
for _ in $(seq 1 100); do [ -e "$F/pid" ] || break; sleep 0.05; done
ok "$([ ! -e "$F/pid" ] && [ ! -S "$F/sock" ]; echo $?)" "... and removes its pid file and socket"

expect 0 "cleanup" -q tenant delete "FCGI Co $n" --yes
done_testing
