#!/usr/bin/env bash
# The webmail's mail layer (libers imap.c, message.c, compose.c, send.c)
# against the stack's real Dovecot and Postfix: three messages delivered
# with swaks, then read, flagged, moved, deleted, sent and appended by
# test/integration/imap_client.c through the master user.  Then answers
# over libcurl's 300 KB response-line limit (a 5 MB message, a 1 MB
# subject, 500 parts, one over the 50 MB cap) in a second mailbox, by the
# client and through the CGI.
. "$(dirname "$0")/lib.sh"
. "$ERS_STACK_DIR/stack.env"
export ERS_CONFIG=$ERS_STACK_DIR/ers.yaml
T_DB=ers

prog=$T_DIR/imap_client
cc -std=gnu17 -O1 -Wall -Wextra -Werror -I"$ERS_TOP/libers/include" -o "$prog" "$ERS_TOP/test/integration/imap_client.c" \
    "$ERS_TOP/build/libers.a" $(cd "$ERS_TOP" && pkg-config --libs libpq yaml-0.1 jansson libidn2 libcrypto libssl libcrypt libcurl ldns gmime-3.0 gumbo libqrencode) 2>"$T_DIR/cc.log"
ok $? "the client program builds" || { diag "$(head -n 20 "$T_DIR/cc.log")"; done_testing; exit 0; }

dom=imap$RANDOM.test  # a domain of its own: reruns on one stack start empty
pw=$T_DIR/pw; echo 'imap-password-123' >"$pw"
# Hosts of its own, removed again: the stack's database is shared with
# the later tests (mail.sh approves mail.ers.test itself).
host=imaptest.ers.test
expect 0 "setup: IMAP host" -q server host add $host --kind imap --port 143 --tls starttls
expect 0 "setup: SMTP host" -q server host add $host --kind smtp --port 587
expect 0 "setup: tenant" -q tenant add "Imap Co" --domain $dom --imap-host $host --imap-port 143 --smtp-host $host
expect 0 "setup: user" -q user add reader@$dom --password-file "$pw"
expect 0 "setup: a peer" -q user add peer@$dom --password-file "$pw"

send() { # SUBJECT [swaks options...]
    local subject=$1; shift
    swaks --server "127.0.0.1:$SMTP_PORT" --from sender@outside.example --to reader@$dom \
        --helo client.example.org --timeout 20 --header "Subject: $subject" "$@" >"$T_DIR/swaks.out" 2>&1
}
send "=?ISO-8859-1?Q?first:_Gr=FC=DFe?=" --body "first body"; ok $? "deliver a message with an encoded subject"
printf 'attached text\n' >"$T_DIR/notes.txt"
send "second: attachment" --body "see the file" --attach-type text/plain --attach-name notes.txt --attach @"$T_DIR/notes.txt"
ok $? "deliver a message with an attachment"
send "third: html" --add-header "Content-Type: text/html; charset=utf-8" \
    --body '<p>an <b>bold</b> word<script>alert(1)</script></p>'
ok $? "deliver an HTML message"

master=$(sed -n 's/^WEBMAIL_MASTER_PASSWORD=//p' "$ERS_STACK_DIR/secrets")
count() {
    curl -s --max-time 10 --ssl-reqd --cacert "$TLS_CA" --user "reader@$dom*ers-webmail:$master" \
        "imap://127.0.0.1:$IMAP_PORT/INBOX" -X 'SEARCH ALL' | tr -d '\r' | wc -w
}
for i in $(seq 1 100); do [ "$(count)" -ge 5 ] && break; sleep 0.1; done  # "* SEARCH 1 2 3": 5 words
is "$(count)" 5 "the three messages are in the INBOX"

while IFS= read -r line; do
    case $line in
        "ok - "*) ok 0 "${line#ok - }" ;;
        "not ok - "*) ok 1 "${line#not ok - }" ;;
        *) echo "$line" ;;
    esac
done < <(IMAP_PORT=$IMAP_PORT SUBMISSION_PORT=$SUBMISSION_PORT TLS_CA=$TLS_CA \
    MASTER_LOGIN="reader@$dom*ers-webmail" MASTER_PASSWORD="$master" \
    USER_ADDR=reader@$dom USER_DOMAIN=$dom USER_PASSWORD=imap-password-123 PEER_ADDR=peer@$dom \
    timeout 60 "$prog" 2>&1)

# --- connect, then log in (the webmail connects while it checks the session) --
# The peer's own password set to one with quotes, a backslash and a
# non-ASCII character: AUTHENTICATE PLAIN carries any byte.
special='q"uo\te-é-'"'"'x-pass-1'
printf '%s\n' "$special" >"$T_DIR/special"
expect 0 "setup: the peer's password with quotes, a backslash and é" -q user passwd peer@$dom --password-file "$T_DIR/special"
while IFS= read -r line; do
    case $line in
        "ok - "*) ok 0 "login: ${line#ok - }" ;;
        "not ok - "*) ok 1 "login: ${line#not ok - }" ;;
        *) echo "$line" ;;
    esac
done < <(IMAP_PORT=$IMAP_PORT TLS_CA=$TLS_CA MASTER_LOGIN="reader@$dom*ers-webmail" MASTER_PASSWORD="$master" \
    USER_ADDR=peer@$dom SPECIAL_PASSWORD="$special" timeout 60 "$prog" login 2>&1)
# Our own AUTHENTICATE PLAIN (libcurl, given no user name, logs in no one).
grep -q "user=<peer@$dom>, method=PLAIN" "$ERS_STACK_DIR/dovecot/log/dovecot.log"
ok $? "login: Dovecot logged the peer's login by AUTHENTICATE PLAIN"

# --- answers over libcurl's 300 KB limit, in a mailbox of their own ----------
expect 0 "setup: a mailbox for large messages" -q user add bulk@$dom --quota-mb 200 --password-file "$pw"
while IFS= read -r line; do
    case $line in
        "ok - "*) ok 0 "large: ${line#ok - }" ;;
        "not ok - "*) ok 1 "large: ${line#not ok - }" ;;
        *) echo "$line" ;;
    esac
done < <(IMAP_PORT=$IMAP_PORT SUBMISSION_PORT=$SUBMISSION_PORT TLS_CA=$TLS_CA \
    MASTER_LOGIN="bulk@$dom*ers-webmail" MASTER_PASSWORD="$master" \
    USER_ADDR=bulk@$dom USER_DOMAIN=$dom USER_PASSWORD=imap-password-123 PEER_ADDR=peer@$dom \
    timeout 120 "$prog" large 2>&1)

# The same through the CGI: the inbox page holding them, and each opened.
BASE=https://127.0.0.1:$WEB_PORT JAR=$T_DIR/jar
web() { # PATH [curl args...]: sets CODE and SECS; the page in $T_DIR/page
    local path=$1 out; shift
    out=$(curl -s --max-time 60 --cacert "$TLS_CA" -b "$JAR" -c "$JAR" -o "$T_DIR/page" -w '%{http_code} %{time_total}' "$BASE$path" "$@")
    CODE=${out% *} SECS=${out#* }
}
web /login --data-urlencode "email=bulk@$dom" --data-urlencode "password=imap-password-123"
is "$CODE" 303 "web: bulk@ logs in"
web /
is "$CODE" 200 "web: GET / lists the page with the large messages (${SECS} s)"
grep -q 'five megabytes' "$T_DIR/page" && grep -q 'five hundred parts' "$T_DIR/page" && grep -q 'SSSSSSSS' "$T_DIR/page"
ok $? "web: ... the 5 MB, 500-part and 1 MB-subject messages are on it"
is "$(grep -o 'uid=[0-9]*' "$T_DIR/page" | sort -u | wc -l)" 50 "web: ... with 50 messages"
cp "$T_DIR/page" "$T_DIR/list"
for what in 'five megabytes' 'five hundred parts' 'SSSSSSSS'; do
    link=$(grep -o "href=\"/message?[^\"]*\">$what" "$T_DIR/list" | head -n 1 | sed 's/^href="\([^"]*\)".*/\1/; s/&amp;/\&/g')
    web "${link:-/message?folder=0&uid=0}"
    is "$CODE" 200 "web: GET ${link:-(no link)} ($what...) opens it (${SECS} s)"
    [ "$what" = 'five megabytes' ] && { grep -q 'blob.bin' "$T_DIR/page"; ok $? "web: ... it lists its attachment"; }
done

expect 0 "cleanup: delete the tenant" -q tenant delete "Imap Co" --yes
expect 0 "cleanup: withdraw the hosts" -q server host remove $host
done_testing
