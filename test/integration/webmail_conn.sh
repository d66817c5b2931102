#!/usr/bin/env bash
# The webmail's path to Dovecot (issue 22; ers-webmail(8), "Connections to
# Dovecot"), over the stack's HTTPS with the real Dovecot behind it: the
# master user's hash is the fast one a random key allows (a short key keeps
# yescrypt), the login goes over plain loopback, no user password is kept
# anywhere, a forged, expired or logged-out cookie and a session ended by a
# password change or a disable cause no IMAP connection at all (counted in
# Dovecot's log), the front answers the stylesheet and the login form with
# no module beside it, and two users' interleaved requests each see their
# own mailbox only.
. "$(dirname "$0")/lib.sh"
. "$ERS_STACK_DIR/stack.env"
export ERS_CONFIG=$ERS_STACK_DIR/ers.yaml
T_DB=ers # Dovecot reads the stack's own database

BASE=https://127.0.0.1:$WEB_PORT
dom=cn$RANDOM.test
host=wc$RANDOM.ers.test # reruns on one stack start anew
alice=alice@$dom bob=bob@$dom
pw_a=alice-secret-$RANDOM$RANDOM pw_b=bob-secret-$RANDOM$RANDOM
printf '%s\n' "$pw_a" >"$T_DIR/pw_a"
printf '%s\n' "$pw_b" >"$T_DIR/pw_b"
master=$(sed -n 's/^WEBMAIL_MASTER_PASSWORD=//p' "$ERS_STACK_DIR/secrets")
DLOG=$ERS_STACK_DIR/dovecot/log/dovecot.log

expect 0 "setup: IMAP host" -q server host add $host --kind imap --port 143 --tls starttls
expect 0 "setup: SMTP host" -q server host add $host --kind smtp --port 587
expect 0 "setup: tenant" -q tenant add "Conn Co $RANDOM" --domain $dom --imap-host $host --imap-port 143 --smtp-host $host
expect 0 "setup: alice" -q user add $alice --quota-mb 100 --password-file "$T_DIR/pw_a"
expect 0 "setup: bob" -q user add $bob --quota-mb 100 --password-file "$T_DIR/pw_b"

# put ADDRESS SUBJECT: APPEND one message to the user's INBOX as the master user.
put() {
    printf 'From: x@example.org\r\nTo: %s\r\nSubject: %s\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <%s@x>\r\n\r\nthe body of %s\r\n' \
        "$1" "$2" "$RANDOM$RANDOM" "$2" >"$T_DIR/m"
    curl -s --max-time 20 --ssl-reqd --cacert "$TLS_CA" --user "$1*ers-webmail:$master" \
        "imap://127.0.0.1:$IMAP_PORT/INBOX" -T "$T_DIR/m" >/dev/null
}
put $alice "Alice private $RANDOM"
put $bob "Bob private $RANDOM"

# logins: the lines Dovecot's login processes wrote so far -- one for each
# connection, with or without a login ("Login:", "Disconnected ...").
logins() { grep -c 'imap-login: ' "$DLOG"; }
# wait_login USER N: polls until Dovecot has logged N lines "Login: user=<USER>".
wait_login() {
    local i
    for i in $(seq 1 100); do
        [ "$(grep -c "imap-login: Info: Login: user=<$1>" "$DLOG")" -ge "$2" ] && return 0
        sleep 0.05
    done
    return 1
}
login_as() { # JAR EMAIL PASSWORD
    rm -f "$1"
    web "$1" POST /login --data-urlencode "email=$2" --data-urlencode "password=$3"
}

# --- the master user's hash ------------------------------------------------
mu=$(cut -d: -f2- "$ERS_STACK_DIR/dovecot/etc/master-users")
like "$mu" '^\{CRYPT\}\$6\$rounds=1000\$' "a master key of ${#master} characters: SHA512-CRYPT of 1000 rounds (0.3 ms a login)"
# A short key (a person's password, say) keeps the memory-hard hash.
mkdir -p "$T_DIR/short/etc"
( umask 077; { grep -v '^WEBMAIL_MASTER_PASSWORD=' "$ERS_STACK_DIR/secrets"
                printf 'WEBMAIL_MASTER_PASSWORD=short-key-1234567\n'; } >"$T_DIR/short/secrets" )
sed "s|^secrets_file: .*|secrets_file: $T_DIR/short/secrets|" "$ERS_STACK_DIR/ers.yaml" >"$T_DIR/short/ers.yaml"
ERS_CONFIG=$T_DIR/short/ers.yaml run -q mailstack render --dovecot "$T_DIR/short/etc"
[ "$RC" -eq 0 ] || diag "mailstack render: $ERR"
like "$(cut -d: -f2- "$T_DIR/short/etc/master-users" 2>&1)" '^\{CRYPT\}\$y\$' "a master key under 32 characters: still yescrypt"

# --- a page: one login over plain loopback ---------------------------------
login_as "$T_DIR/ja" $alice "$pw_a"
is "$CODE" 303 "alice logs in"
web "$T_DIR/ja" GET /
like "$BODY" "Alice private" "alice's INBOX page"
wait_login $alice 1
line=$(grep "imap-login: Info: Login: user=<$alice>" "$DLOG" | tail -n 1)
like "$line" 'rip=127\.0\.0\.1, lip=127\.0\.0\.1' "the webmail logs in from loopback to loopback"
unlike "$line" ', TLS' "... without a TLS handshake (no network carries it)"

# --- no user password kept anywhere ----------------------------------------
login_as "$T_DIR/jb" $bob "$pw_b"
web "$T_DIR/jb" GET /
like "$BODY" "Bob private" "bob's INBOX page"
found=$(grep -rlaF -e "$pw_a" -e "$pw_b" "$ERS_STACK_DIR" --exclude-dir="$(basename "$T_DIR")" 2>/dev/null)
is "$found" "" "neither password is in any file of the stack (database files, logs, Dovecot, lighttpd)"
found=$(pg ers -c "$(data_sql)" | grep -cF -e "$pw_a" -e "$pw_b")
is "$found" 0 "... nor in any row of the database"

# --- two users interleaving requests ---------------------------------------
bad=0
for round in 1 2 3; do
    for who in a b; do
        curl -s --max-time 30 --cacert "$TLS_CA" -b "$T_DIR/j$who" "$BASE/" -o "$T_DIR/page-$who-$round" &
    done
    wait
    grep -q "Alice private" "$T_DIR/page-a-$round" && ! grep -q "Bob private" "$T_DIR/page-a-$round" || bad=1
    grep -q "Bob private" "$T_DIR/page-b-$round" && ! grep -q "Alice private" "$T_DIR/page-b-$round" || bad=1
done
ok $bad "alice and bob asking at once, three times: each page holds its own user's message and never the other's"
# The same message number in each mailbox: each opens its own, page and body.
own() { # JAR PATH MINE THEIRS DESCRIPTION
    web "$1" GET "$2"
    ok $(printf '%s' "$BODY" | grep -q "$3" && ! printf '%s' "$BODY" | grep -q "$4"; echo $?) "$5"
}
own "$T_DIR/ja" "/message?folder=INBOX&uid=1" "Alice private" "Bob private" "UID 1 for alice: alice's message"
own "$T_DIR/jb" "/message?folder=INBOX&uid=1" "Bob private" "Alice private" "UID 1 for bob: bob's message"
own "$T_DIR/ja" "/message/body?folder=INBOX&uid=1" "the body of Alice" "Bob" "... and its body frame, alice's"
own "$T_DIR/jb" "/message/body?folder=INBOX&uid=1" "the body of Bob" "Alice" "... and bob's"

# --- no IMAP connection without a good session -----------------------------
# Each request below must make none; then one good request makes exactly one
# login, which also shows that Dovecot has written its lines by then.
forged=$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
# settle: one good page of bob's, waited for in Dovecot's log, so that every
# connection before it is counted.
settle() {
    local n
    n=$(grep -c "imap-login: Info: Login: user=<$bob>" "$DLOG")
    web "$T_DIR/jb" GET /
    wait_login $bob $((n + 1))
}
cp "$T_DIR/ja" "$T_DIR/ja-old"
web "$T_DIR/ja" GET /mfa
web "$T_DIR/ja" POST /logout -d "csrf=$(csrf)"
settle
before=$(logins)
for path in / "/message?folder=INBOX&uid=1" "/message/body?folder=INBOX&uid=1"; do
    curl -s --max-time 30 --cacert "$TLS_CA" -b "__Host-ers_session=$forged" "$BASE$path" -o /dev/null -w '%{http_code}\n'
    curl -s --max-time 30 --cacert "$TLS_CA" -b "$T_DIR/ja-old" "$BASE$path" -o /dev/null -w '%{http_code}\n'
done >"$T_DIR/codes"
is "$(sort -u "$T_DIR/codes" | tr '\n' ' ')" "303 " "a forged cookie and a logged-out one: the login page, for the list, a message and its body"
# An expired session: idle for longer than its days.
login_as "$T_DIR/jc" $alice "$pw_a"
pg ers -c "UPDATE ers.session SET last_seen = now() - interval '8 days'
    WHERE mailbox_id = (SELECT id FROM ers.mailbox WHERE address = '$alice')" >/dev/null
web "$T_DIR/jc" GET /
is "$CODE" 303 "an expired session: the login page"
settle
like "$BODY" "Bob private" "then a good session's page"
is "$(($(logins) - before))" 1 "Dovecot saw one connection in all: the good session's (none for the forged, logged-out and expired cookies)"

# --- a password change and a disable end the session: no connection after -
cp "$T_DIR/jb" "$T_DIR/jb-old"
printf 'bob-new-secret-%s\n' "$RANDOM$RANDOM" >"$T_DIR/pw_b2"
expect 0 "bob's password is reset" -q user passwd $bob --password-file "$T_DIR/pw_b2"
login_as "$T_DIR/jb" $bob "$(cat "$T_DIR/pw_b2")"
is "$CODE" 303 "bob logs in with the new password"
login_as "$T_DIR/jc" $alice "$pw_a"
cp "$T_DIR/jc" "$T_DIR/jc-old"
expect 0 "alice is disabled" -q user disable $alice
settle
before=$(logins)
web "$T_DIR/jb-old" GET /
is "$CODE" 303 "bob's session from before the password change: the login page"
web "$T_DIR/jc-old" GET /
is "$CODE" 303 "alice's session from before the disable: the login page"
settle
like "$BODY" "Bob private" "bob's new session works"
is "$(($(logins) - before))" 1 "Dovecot saw one connection: bob's new session's only"

# --- the front alone ----------------------------------------------------------
# The front with no module beside it: what it answers itself works, a page
# of a session says the module is missing.
mkdir -p "$T_DIR/front"
cp "$ERS_TOP/build/ers-webmail.cgi" "$T_DIR/front/"
front() { # PATH [COOKIE]
    env -i ERS_CONFIG="$ERS_STACK_DIR/web/ers.yaml" REQUEST_METHOD=GET PATH_INFO="$1" HTTPS=on \
        HTTP_COOKIE="${2:-}" REMOTE_ADDR=127.0.0.1 "$T_DIR/front/ers-webmail.cgi" 2>/dev/null
}
out=$(front /static/ers.css)
ok $(printf '%s' "$out" | grep -q '^Content-Type: text/css' && ! printf '%s' "$out" | grep -q '^Status: 500'; echo $?) \
    "no module: the stylesheet is answered"
out=$(front /login)
ok $(printf '%s' "$out" | grep -q 'name="password"' && ! printf '%s' "$out" | grep -q '^Status: 500'; echo $?) \
    "no module: the login form is answered"
like "$(front / "__Host-ers_session=$forged")" '^Status: 500' "no module: a page of a session is an error (so the two above never loaded it)"

done_testing
