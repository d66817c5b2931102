#!/usr/bin/env bash
# End to end through the real servers of test/stack: SMTP in with swaks,
# IMAP out with curl, Postfix and Dovecot reading ERS from PostgreSQL.
# Uses the stack's own database (the one its Postfix and Dovecot read).
. "$(dirname "$0")/lib.sh"
. "$ERS_STACK_DIR/stack.env"
export ERS_CONFIG=$ERS_STACK_DIR/ers.yaml
T_DB=ers

swaks_out=$T_DIR/swaks.out
# smtp PORT FROM TO [swaks options...]: one message; SMTP_LOG holds the dialogue.
# Submission requires STARTTLS (the stack has a certificate), so it gets
# --tls unless SMTP_PLAIN=1.
smtp() {
    local port=$1 from=$2 to=$3 tls=()
    shift 3
    [ "$port" = "$SUBMISSION_PORT" ] && [ "${SMTP_PLAIN:-}" != 1 ] && tls=(--tls)
    swaks --server "127.0.0.1:$port" --from "$from" --to "$to" --helo client.example.org \
        --timeout 20 "${tls[@]}" "$@" >"$swaks_out" 2>&1
    local rc=$?
    # Inside TLS swaks marks lines <~ ~> and errors <~*: written here as in
    # clear (<- -> <**), so one pattern fits both.
    SMTP_LOG=$(sed -e 's/^<~\* /<** /' -e 's/^<~ /<- /' -e 's/^~> /-> /' "$swaks_out" |
        grep -E '^(<-|<\*\*|->) ' | grep -v 'AUTH PLAIN\|^-> [A-Za-z0-9+/=]\{20,\}$')
    return $rc
}
send() { # TO SUBJECT [swaks options...]: from outside on port 25
    local to=$1 subject=$2
    shift 2
    smtp "$SMTP_PORT" sender@outside.example "$to" --header "Subject: $subject" --body "body of $subject" "$@"
}
# imap_search USER PASSWORD SUBJECT [FOLDER]: prints the count of matching messages
imap_search() {
    local out
    out=$(curl -s --max-time 10 --ssl-reqd --cacert "$TLS_CA" --user "$1:$2" "imap://127.0.0.1:$IMAP_PORT/${4:-INBOX}" -X "SEARCH SUBJECT \"$3\"" | tr -d '\r') || { echo "login-failed"; return; }
    out=${out#\* SEARCH}
    set -- $out
    echo $#
}
# wait_count USER PASSWORD SUBJECT WANT: delivery is asynchronous (qmgr, LMTP)
wait_count() {
    local i n
    for i in $(seq 1 100); do
        n=$(imap_search "$1" "$2" "$3")
        [ "$n" = "$4" ] && { echo "$n"; return; }
        sleep 0.1
    done
    echo "$n"
}
sink_has() { # SUBJECT RECIPIENT: the SMTP sink caught it for that recipient
    local i
    for i in $(seq 1 100); do
        grep -lsF "Subject: $1" "$SINK_DIR"/* 2>/dev/null | xargs -r grep -lsiF "$2" | grep -q . && return 0
        sleep 0.1
    done
    return 1
}
imap_login() { # USER PASSWORD: 0 when the login works
    curl -s --max-time 10 --ssl-reqd --cacert "$TLS_CA" --user "$1:$2" "imap://127.0.0.1:$IMAP_PORT/INBOX" -X 'NOOP' >/dev/null
}
smtp_auth() { # USER PASSWORD TO: submits one message with SMTP AUTH on submission
    smtp "$SUBMISSION_PORT" "$1" "$3" --auth PLAIN --auth-user "$1" --auth-password "$2" \
        --header "Subject: ${4:-submitted}"
}

pw=$T_DIR/pw; echo 'first-password-123' >"$pw"
pw2=$T_DIR/pw2; echo 'second-password-456' >"$pw2"
P1=first-password-123 P2=second-password-456

expect 0 "setup: IMAP host" -q server host add mail.ers.test --kind imap --port 143 --tls starttls
expect 0 "setup: SMTP host" -q server host add mail.ers.test --kind smtp --port 587
expect 0 "setup: tenant" -q tenant add "Mail Co" --domain mailco.test --imap-host mail.ers.test --imap-port 143 --smtp-host mail.ers.test
expect 0 "setup: a catch-all domain" -q tenant domain add "Mail Co" catch.test
for u in ann bob cat dan eve; do
    expect 0 "setup: user $u" -q user add "$u@mailco.test" --password-file "$pw" --quota-mb 100
done
expect 0 "setup: a user with a 10 MB quota" -q user add full@mailco.test --password-file "$pw" --quota-mb 10
expect 0 "setup: a user in the catch-all domain" -q user add in@catch.test --password-file "$pw"
expect 0 "setup: a user to disable in the catch-all domain" -q user add off@catch.test --password-file "$pw"

# --- delivery ------------------------------------------------------------
send ann@mailco.test "hello ann"; ok $? "mail to a mailbox is accepted on port 25"
is "$(wait_count ann@mailco.test $P1 "hello ann" 1)" 1 "... and is in its INBOX over IMAP"

run -q alias add sales@mailco.test --to bob@mailco.test
send sales@mailco.test "for sales"; ok $? "mail to an alias is accepted"
is "$(wait_count bob@mailco.test $P1 "for sales" 1)" 1 "... and delivered to the alias's user"

expect 0 "forward cat's mail away without keeping a copy" -q forward add cat@mailco.test --to someone@elsewhere.example
send cat@mailco.test "forwarded away"; ok $? "mail for cat is accepted"
sink_has "forwarded away" someone@elsewhere.example; ok $? "... reaches the outside destination (the SMTP sink)"
sleep 0.5
is "$(imap_search cat@mailco.test $P1 "forwarded away")" 0 "... and cat keeps no copy"

expect 0 "forward dan's mail with keep-copy" -q forward add dan@mailco.test --to dan.private@elsewhere.example --keep-copy
send dan@mailco.test "forwarded and kept"; ok $? "mail for dan is accepted"
sink_has "forwarded and kept" dan.private@elsewhere.example; ok $? "... reaches the outside destination"
is "$(wait_count dan@mailco.test $P1 "forwarded and kept" 1)" 1 "... and dan keeps a copy"

run -q forward add 'info@mailco.test' --to ann@mailco.test,bob@mailco.test
send info@mailco.test "for info"; ok $? "a forward of its own address to two users"
is "$(wait_count ann@mailco.test $P1 "for info" 1)" 1 "... reaches the first"
is "$(wait_count bob@mailco.test $P1 "for info" 1)" 1 "... and the second"

expect 0 "a catch-all for catch.test" -q forward add '*@catch.test' --to in@catch.test
send nobody-here@catch.test "caught"; ok $? "mail to an unknown address of a catch-all domain is accepted"
is "$(wait_count in@catch.test $P1 "caught" 1)" 1 "... and goes to the catch-all's destination"
run -q user passwd off@catch.test --password-file "$pw"
send off@catch.test "not swallowed"; ok $? "mail to an existing user of a catch-all domain"
is "$(wait_count off@catch.test $P1 "not swallowed" 1)" 1 "... goes to that user"
is "$(imap_search in@catch.test $P1 "not swallowed")" 0 "... never to the catch-all"

expect 0 "a hidden copy of mailco.test's inbound mail to eve" -q tenant domain copy "Mail Co" mailco.test --to eve@mailco.test
send ann@mailco.test "copied"; ok $? "mail to ann with the hidden copy on"
is "$(wait_count ann@mailco.test $P1 "copied" 1)" 1 "... reaches ann"
is "$(wait_count eve@mailco.test $P1 "copied" 1)" 1 "... and the hidden copy reaches eve"
expect 0 "hidden copy off" -q tenant domain copy "Mail Co" mailco.test --off

# --- refusals at RCPT -----------------------------------------------------
send nobody@mailco.test "unknown"
like "$SMTP_LOG" '<\*\* 550 5\.1\.1 <nobody@mailco\.test>' "an unknown recipient gets 550 5.1.1"
send someone@not-ours.example "relay"
like "$SMTP_LOG" '<\*\* 554 5\.7\.1 .*Relay access denied' "mail for a domain not ours is not relayed"

expect 0 "disable a user inside the catch-all domain" -q user disable off@catch.test
send off@catch.test "to a disabled user"
like "$SMTP_LOG" '<\*\* 550 5\.0\.0 <off@catch\.test>: Recipient address rejected: mailbox disabled' \
    "a disabled mailbox gets 550 5.0.0 at RCPT, even with a catch-all"
imap_login off@catch.test "$P1"; ok $((! $?)) "a disabled user cannot log in over IMAP"
smtp_auth off@catch.test "$P1" ann@mailco.test
like "$SMTP_LOG" '<\*\* 535 5\.7\.8' "... nor over SMTP AUTH"
run -q alias add off-alias@mailco.test --to in@catch.test
expect 0 "enable the user again" -q user enable off@catch.test
imap_login off@catch.test "$P1"; ok $? "... who logs in again at once"

# Over quota: three messages of about 370 KB, then the quota goes down to
# 1 MB -- the mailbox is full, and the next message is refused before it is
# accepted; raised again, the next one is delivered.
big=$T_DIR/big.txt
head -c 270000 /dev/urandom | base64 -w 76 >"$big"
for n in 1 2 3; do
    send full@mailco.test "big $n" --body @"$big"; ok $? "a 370 KB message ($n of 3)"
    is "$(wait_count full@mailco.test $P1 "big $n" 1)" 1 "... is delivered"
done
for i in $(seq 1 50); do
    run --json user show full@mailco.test
    grep -q '"quota_used_bytes": *[1-9][0-9]\{6\}' <<<"$OUT" && break
    sleep 0.1
done
like "$OUT" '"quota_used_mb": 2,' "quota usage flows back: user show reports 2 MB used (1.06 MB rounded up)"
run user list --tenant "Mail Co"
like "$OUT" 'full@mailco\.test .* 2 / 10 MB' "user list shows used / max"
expect 0 "lower the quota to 1 MB" -q user edit full@mailco.test --quota-mb 1
send full@mailco.test "one too many"
like "$SMTP_LOG" '<\*\* 552 5\.2\.2 .*Mailbox is full' "the full mailbox gets 552 at RCPT (manual 003)"
expect 0 "raise the quota to 10 MB" -q user edit full@mailco.test --quota-mb 10
send full@mailco.test "after raising"; ok $? "the next message is accepted at once"
is "$(wait_count full@mailco.test $P1 "after raising" 1)" 1 "... and delivered"

# --- logins and password changes -----------------------------------------
smtp_auth ann@mailco.test "$P1" bob@mailco.test "submitted by ann"
ok $? "SMTP AUTH on submission with the ERS password"
is "$(wait_count bob@mailco.test $P1 "submitted by ann" 1)" 1 "... and the message arrives"
smtp "$SUBMISSION_PORT" ann@mailco.test bob@mailco.test --header "Subject: no auth"
like "$SMTP_LOG" '<\*\* 554 5\.7\.1' "submission without AUTH is refused"
smtp "$SUBMISSION_PORT" bob@mailco.test eve@mailco.test --auth PLAIN --auth-user ann@mailco.test \
    --auth-password "$P1" --header "Subject: forged"
like "$SMTP_LOG" '<\*\* 553 5\.7\.1 .*not owned by user ann@mailco\.test' "a login may not send as another user"
smtp "$SUBMISSION_PORT" sales@mailco.test ann@mailco.test --auth PLAIN --auth-user bob@mailco.test \
    --auth-password "$P1" --header "Subject: as alias"
ok $? "... but may send as its own alias"

SMTP_PLAIN=1 smtp_auth ann@mailco.test "$P1" bob@mailco.test "submitted in clear"
ok $((! $?)) "submission refuses AUTH before STARTTLS"
unlike "$SMTP_LOG" '<- +235 ' "... no login happened in clear"
# Dovecot counts loopback as secured, so a login in clear works here; from
# anywhere else the rendered settings refuse it.
like "$(grep -E '^(ssl|disable_plaintext_auth) =' "$DOVECOT_CONFIG" "$(dirname "$DOVECOT_CONFIG")"/ers.conf 2>/dev/null | sed 's/.*conf://' | sort | tr '\n' ' ')" \
    'disable_plaintext_auth = yes ssl = required' "IMAP requires TLS for logins from other hosts"
curl -s --max-time 10 --ssl-reqd --cacert "$TLS_CA" --user "ann@mailco.test:$P1" \
    "imap://mail.ers.test:$IMAP_PORT/INBOX" --connect-to "mail.ers.test:$IMAP_PORT:127.0.0.1:$IMAP_PORT" -X NOOP >/dev/null
ok $? "... and over STARTTLS its certificate verifies for mailstack.hostname"
imap_login ann@mailco.test "$P1"; ok $? "ann logs in with the first password (and Dovecot caches it)"
expect 0 "change ann's password" -q user passwd ann@mailco.test --password-file "$pw2"
is "$ERR" "" "... with no warning (the auth cache was flushed)"
imap_login ann@mailco.test "$P1"; ok $((! $?)) "the old password fails over IMAP at once"
imap_login ann@mailco.test "$P2"; ok $? "the new one works over IMAP at once"
smtp_auth ann@mailco.test "$P1" bob@mailco.test
like "$SMTP_LOG" '<\*\* 535 5\.7\.8' "the old password fails over SMTP AUTH"
smtp_auth ann@mailco.test "$P2" bob@mailco.test; ok $? "the new one works over SMTP AUTH"

master=$(sed -n 's/^WEBMAIL_MASTER_PASSWORD=//p' "$ERS_STACK_DIR/secrets")
imap_login "bob@mailco.test*ers-webmail" "$master"; ok $? "the webmail's master user logs in as a user"
run -q user disable bob@mailco.test
imap_login "bob@mailco.test*ers-webmail" "$master"; ok $((! $?)) "... but not as a disabled user"
run -q user enable bob@mailco.test

# --- send limits and internal-only addresses, through Postfix ---------------
expect 0 "dan may send 10 emails an hour" -q limits set --mailbox dan@mailco.test --per-mailbox 10
for i in $(seq 1 20); do
    smtp_auth dan@mailco.test "$P1" ann@mailco.test "burst $i" &
done >/dev/null 2>&1
wait
sleep 0.5
is "$(wait_count ann@mailco.test $P2 "burst" 10)" 10 "20 parallel submissions against a limit of 10: exactly 10 arrive"
grep '450 4.7.1' "$ERS_STACK_DIR/postfix/log/postfix.log" | grep -c 'from=<dan@mailco.test>' | grep -qx 10
ok $? "... and the other 10 got 450 4.7.1 at DATA"
expect 0 "cat may not send at all (0, manual 003)" -q limits set --mailbox cat@mailco.test --per-mailbox 0
smtp_auth cat@mailco.test "$P1" ann@mailco.test "from cat"
like "$SMTP_LOG" '<\*\* 5[0-9][0-9] 5\.7\.1 .*disabled' "... and is refused"

expect 0 "make bob internal-only" -q user edit bob@mailco.test --internal-only yes
send bob@mailco.test "from outside to internal"
like "$SMTP_LOG" '<\*\* 554 5\.7\.1' "mail from outside to an internal-only address is refused (manual 004)"
smtp_auth ann@mailco.test "$P2" bob@mailco.test "from inside to internal"
ok $? "a user of the same tenant may still write to it"
is "$(wait_count bob@mailco.test $P1 "from inside to internal" 1)" 1 "... and the message arrives"

# The mail role reads the views and nothing else.
ers_mail_psql() { as_user postgres "$PGBIN/psql" -qXAt -h "$PG_SOCKET" -p "$PG_PORT" -U ers_mail -d ers -c "$1" 2>&1; }
like "$(ers_mail_psql "SELECT count(*) FROM ers_mail.mailboxes")" '^[0-9]+$' "the mail role reads the ers_mail views"
like "$(ers_mail_psql "SELECT password_hash FROM ers.mailbox LIMIT 1")" 'permission denied for schema ers' \
    "... but not the ers tables"
like "$(ers_mail_psql "SELECT * FROM ers_quota.usage LIMIT 1")" 'permission denied' "... nor the quota table"

# --- deletion removes mail --------------------------------------------------
dir_of() { pg "$T_DB" -Atc "SELECT mail_path FROM ers_mail.mailboxes WHERE address = '$1'"; }
eve_dir=$MAIL_ROOT/$(dir_of eve@mailco.test)
[ -d "$eve_dir/Maildir" ]; ok $? "eve's mail is on disk"
expect 0 "delete eve" -q user delete eve@mailco.test --yes
[ ! -e "$eve_dir" ]; ok $? "... and her mail is gone (manual 002)"
is "$(pg "$T_DB" -Atc "SELECT count(*) FROM ers.mail_purge WHERE done_at IS NULL")" 0 "... nothing left pending"
send eve@mailco.test "after delete"
like "$SMTP_LOG" '<\*\* 550 5\.1\.1' "mail for the deleted user is refused"
[ ! -e "$eve_dir" ]; ok $? "... and nothing re-creates the directory"
tenant_dir=$MAIL_ROOT/$(pg "$T_DB" -Atc "SELECT id FROM ers.tenant WHERE name = 'Mail Co'")
[ -d "$tenant_dir" ]; ok $? "the tenant's mail is on disk"
expect 0 "delete the tenant" -q tenant delete "Mail Co" --yes
unlike "$ERR" 'warning' "... with no warning (Dovecot's whole auth cache was flushed)"
[ ! -e "$tenant_dir" ]; ok $? "... and all its users' mail is gone (manual 000)"
send ann@mailco.test "after tenant delete"
like "$SMTP_LOG" '<\*\* 55[04] 5\.' "its domains no longer receive mail"

done_testing
