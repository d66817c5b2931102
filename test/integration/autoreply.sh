#!/usr/bin/env bash
# The autoresponder (manual 002 "Autoresponder") with the stack's real
# Postfix and Dovecot: `ersctl autoreply set|show|off`, the Sieve vacation
# script Dovecot reads from the database, replies swaks's mail on port 25
# gets at the SMTP sink (once per sender per interval, none outside the
# dates, none to bulk or list mail, mail to an alias answered), bad input
# refused with nothing changed, and who may do what.
. "$(dirname "$0")/lib.sh"
. "$ERS_STACK_DIR/stack.env"
export ERS_CONFIG=$ERS_STACK_DIR/ers.yaml
T_DB=ers

n=$RANDOM
dom=ar$n.test odom=arother$n.test host=artest$n.ers.test
pw=$T_DIR/pw; echo 'autoreply-password-123' >"$pw"
expect 0 "setup: IMAP host" -q server host add $host --kind imap --port 143 --tls starttls
expect 0 "setup: SMTP host" -q server host add $host --kind smtp --port 587
expect 0 "setup: tenant" -q tenant add "AR Co $n" --domain $dom --imap-host $host --imap-port 143 --smtp-host $host
expect 0 "setup: other tenant" -q tenant add "AR Other $n" --domain $odom --imap-host $host --imap-port 143 --smtp-host $host
for u in a b c; do expect 0 "setup: user $u" -q user add $u@$dom --password-file "$pw"; done
expect 0 "setup: tenant admin" -q user add ta@$dom --password-file "$pw" --role tenant_admin
expect 0 "setup: other tenant's user" -q user add o@$odom --password-file "$pw"
expect 0 "setup: alias of a" -q alias add away$n@$dom --to a@$dom

printf 'I am away until Monday.\nYour mail will be read then.\n' >"$T_DIR/msg"

run autoreply show a@$dom
like "$OUT" "Inactive \(never set\)" "show before any set: Inactive"
expect 0 "set a's autoresponder" -q autoreply set a@$dom --subject "Out of office $n" --message-file "$T_DIR/msg"
run --json autoreply show a@$dom
like "$OUT" '"active": ?true' "show --json: active"
like "$OUT" '"interval_days": ?1' "default interval: 1 day"
like "$OUT" '"subject": ?"Out of office '$n'"' "subject stored"
is "$(sql "SELECT count(*) FROM ers.audit_log WHERE action = 'autoreply.set' AND target = 'a@$dom' AND outcome = 'ok'")" 1 \
    "one audit row for the set"
is "$(sql "SELECT script LIKE '%:addresses [\"a@$dom\", \"away$n@$dom\"]%' FROM ers_mail.sieve_data WHERE username = 'a@$dom'")" t \
    "the Sieve script lists the alias among the mailbox's addresses"

# smtp SENDER RCPT SUBJECT [swaks args]: one message on port 25
smtp() {
    local from=$1 to=$2 subj=$3; shift 3
    swaks --server 127.0.0.1:$SMTP_PORT --silent 2 --from "$from" --to "$to" --h-To "$to" \
        --header "Subject: $subj" --body "hello" "$@" >/dev/null 2>&1
}
sink_count() { grep -lsF "$1" "$SINK_DIR"/* 2>/dev/null | wc -l; }
wait_sink() { for _ in $(seq 1 100); do [ "$(sink_count "$1")" -ge "${2:-1}" ] && return 0; sleep 0.1; done; return 1; }
# delivered RCPT N: waits for Dovecot to have stored N messages for RCPT (so a
# missing reply is known to be missing, not late).
delivered() {
    for _ in $(seq 1 100); do
        [ "$(grep -Ec "lmtp\($1\).*(stored mail into mailbox 'INBOX'|saved mail to INBOX)" "$ERS_STACK_DIR/dovecot/log/dovecot.log")" -ge "$2" ] && return 0
        sleep 0.1
    done
    return 1
}

smtp p1-$n@outside.example a@$dom "first $n"
wait_sink "Subject: Out of office $n"; ok $? "the first mail gets a reply at the sink"
reply=$(grep -lsF "Subject: Out of office $n" "$SINK_DIR"/* | head -n 1)
like "$(cat "$reply")" "Auto-Submitted: auto-replied" "the reply says Auto-Submitted: auto-replied"
like "$(cat "$reply")" "p1-$n@outside.example" "the reply goes to the sender"
like "$(cat "$reply")" "I am away until Monday" "the reply carries the message"

smtp p1-$n@outside.example a@$dom "second $n"
delivered a@$dom 2; ok $? "the second mail is delivered"
is "$(grep -lsF "p1-$n@outside.example" $(grep -lsF "Subject: Out of office $n" "$SINK_DIR"/*) | wc -l)" 1 \
    "a second mail from the same sender within the interval gets no reply"

smtp bulk-$n@outside.example a@$dom "bulk $n" --header "Precedence: bulk"
smtp list-$n@outside.example a@$dom "list $n" --header "List-Id: <news.outside.example>"
delivered a@$dom 4; ok $? "bulk and list mail delivered"
smtp p2-$n@outside.example away$n@$dom "to the alias $n"
wait_sink "p2-$n@outside.example"; ok $? "mail to an alias is answered"
is "$(grep -lsE "bulk-$n@|list-$n@" "$SINK_DIR"/* 2>/dev/null | wc -l)" 0 "no reply to Precedence: bulk nor List-Id"

# Outside the dates: a start in the future, then an end in the past.
expect 0 "set dates in the future" -q autoreply set a@$dom --subject "Later $n" --message-file "$T_DIR/msg" \
    --start 2099-01-01 --end 2099-01-31
run autoreply show a@$dom
like "$OUT" "Inactive \(enabled, outside its dates\)" "show: inactive outside its dates"
smtp p3-$n@outside.example a@$dom "future $n"
expect 0 "set dates in the past" -q autoreply set a@$dom --subject "Earlier $n" --message-file "$T_DIR/msg" \
    --start 2000-01-01 --end 2000-01-31
smtp p4-$n@outside.example a@$dom "past $n"
delivered a@$dom 7; ok $? "mail outside the dates delivered"
is "$(grep -lsE "Subject: (Later|Earlier) $n" "$SINK_DIR"/* 2>/dev/null | wc -l)" 0 "outside the dates: no reply"

expect 0 "off" -q autoreply off a@$dom
run --json autoreply show a@$dom
like "$OUT" '"enabled": ?false' "off: disabled, text kept"
like "$OUT" '"subject": ?"Earlier '$n'"' "off keeps the subject"
is "$(sql "SELECT count(*) FROM ers_mail.sieve_names WHERE username = 'a@$dom'")" 0 "off: no script for Dovecot"

# Bad input: a clear error, nothing changed.
big=$T_DIR/big; head -c 70000 /dev/zero | tr '\0' 'x' >"$big"
refused 65 "end date 2026-01-01 is before start date 2026-02-01" "end before start refused" \
    autoreply set b@$dom --subject S --message-file "$T_DIR/msg" --start 2026-02-01 --end 2026-01-01
refused 65 "message must be 1 to 65536 bytes" "a message over 64 KB refused" \
    autoreply set b@$dom --subject S --message-file "$big"
refused 65 "subject must be one line" "CR/LF in the subject refused" \
    autoreply set b@$dom --subject "$(printf 'Hi\r\nBcc: victim@outside.example')" --message-file "$T_DIR/msg"
refused 65 "start date must be a day as YYYY-MM-DD" "an impossible date refused" \
    autoreply set b@$dom --subject S --message-file "$T_DIR/msg" --start 2026-02-30
refused 65 "interval-days" "interval 0 refused" \
    autoreply set b@$dom --subject S --message-file "$T_DIR/msg" --interval-days 0

# The policy: users their own mailbox; tenant admins their regular users.
expect 0 "a user sets its own" -q --as b@$dom autoreply set b@$dom --subject Mine --message-file "$T_DIR/msg"
expect 0 "a user reads its own" -q --as b@$dom autoreply show b@$dom
denied "not allowed|permission|may not" "a user may not set another's" --as b@$dom autoreply set c@$dom --subject X --message-file "$T_DIR/msg"
denied "not allowed|permission|may not" "a user may not read another's" --as b@$dom autoreply show c@$dom
expect 0 "a tenant admin sets a regular user's" -q --as ta@$dom autoreply set c@$dom --subject Theirs --message-file "$T_DIR/msg"
expect 0 "a tenant admin turns it off" -q --as ta@$dom autoreply off c@$dom
denied "not allowed|permission|may not|no user" "a tenant admin may not touch another tenant's user" \
    --as ta@$dom autoreply set o@$odom --subject X --message-file "$T_DIR/msg"

done_testing
