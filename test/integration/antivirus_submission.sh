#!/usr/bin/env bash
# Mail submitted on the submission port passes the same scan as the
# webmail's sends (ersctl scan milter in Postfix's smtpd_milters): EICAR
# from swaks, authenticated, is refused with 554 5.7.1 naming the item and
# the finding, recorded with the SASL login, its domain and tenant, and
# reaches nothing; a clean message passes; clamd stopped, fail-closed: 451
# in the manual's words, recorded "unavailable".  The rendered Postfix
# configuration carries the milter on submission only, its default action
# per scan.fail_closed; `mailstack check` asks the milter.
# The EICAR string is built here from parts: no file of ours holds it.
. "$(dirname "$0")/lib.sh"
. "$ERS_STACK_DIR/stack.env"
export ERS_CONFIG=$ERS_STACK_DIR/ers.yaml
T_DB=ers

n=$RANDOM
dom=avsub$n.test host=avsub$n.ers.test
pw=avsub-password-123
printf '%s\n' "$pw" >"$T_DIR/pw"
expect 0 "setup: IMAP host" -q server host add $host --kind imap --port 143 --tls starttls
expect 0 "setup: SMTP host" -q server host add $host --kind smtp --port 587
expect 0 "setup: tenant" -q tenant add "AV Sub $n" --domain $dom --imap-host $host --imap-port 143 --smtp-host $host
expect 0 "setup: user" -q user add u@$dom --password-file "$T_DIR/pw" --quota-mb 100

p1='X5O!P%@AP[4\PZX54(P^)7CC)7}$' p2='EICAR-STANDARD-ANTIVIRUS-' p3='TEST-FILE!$H+H*'
printf '%s%s%s' "$p1" "$p2" "$p3" >"$T_DIR/tool.com"
echo "ordinary notes" >"$T_DIR/notes.txt"

sink_has() { grep -lsF "$1" "$SINK_DIR"/* 2>/dev/null | grep -q .; }
wait_sink() { for _ in $(seq 1 150); do sink_has "$1" && return 0; sleep 0.1; done; return 1; }
# submit SUBJECT FILE: u@ submits on 587 (STARTTLS, AUTH) a message with FILE attached.
submit() {
    OUT=$(timeout 60 swaks --server "127.0.0.1:$SUBMISSION_PORT" --tls --tls-ca-path "$TLS_CA" \
        -au "u@$dom" -ap "$pw" --from "u@$dom" --to peer@elsewhere.example --h-Subject "$1" \
        --body "see attached" --attach "@$2" 2>&1)
}
rows() { sql "SELECT count(*) FROM ers.scan s JOIN ers.tenant t ON t.id = s.tenant_id WHERE s.sender = 'u@$dom' AND s.domain = '$dom' AND t.name = 'AV Sub $n' AND $1"; }

grep -q "smtpd_milters=inet:127.0.0.1:$MILTER_PORT," "$POSTFIX_CONFIG/master.cf"
ok $? "the rendered submission service has the scan milter first (fail-closed: Postfix's tempfail)"
is "$(grep -c "127.0.0.1:$MILTER_PORT" "$POSTFIX_CONFIG/master.cf")" 1 "... on the submission service only"

s1="avsub-eicar-$n"
submit "$s1" "$T_DIR/tool.com"
like "$OUT" '<~?\*? *554 5\.7\.1 The attachment "tool\.com" contains a virus \(Ers-Test-Eicar\.UNOFFICIAL\): the send was blocked\.' \
    "EICAR submitted on 587: 554 5.7.1 naming the item and the finding"
is "$(rows "item = 'tool.com' AND result = 'infected' AND blocked AND signature = 'Ers-Test-Eicar.UNOFFICIAL'")" 1 \
    "... recorded: the SASL login as sender, its domain and tenant, infected, blocked"
is "$(rows "item = 'message text' AND result = 'clean' AND blocked")" 1 "... the message text recorded as well"
sleep 0.5
ok "$(sink_has "Subject: $s1"; [ $? -ne 0 ]; echo $?)" "... nothing reached the SMTP sink"

s2="avsub-clean-$n"
submit "$s2" "$T_DIR/notes.txt"
like "$OUT" '<~ *250 2\.0\.0 Ok: queued' "a clean message: accepted"
wait_sink "Subject: $s2"; ok $? "... it reached the SMTP sink"
is "$(rows "item = 'notes.txt' AND result = 'clean' AND NOT blocked")" 1 "... recorded clean"

restore() { "$ERS_TOP/test/stack" clamd-start "$ERS_STACK_DIR" >/dev/null 2>&1; }
trap restore EXIT
"$ERS_TOP/test/stack" clamd-stop "$ERS_STACK_DIR"
s3="avsub-down-$n"
submit "$s3" "$T_DIR/notes.txt"
like "$OUT" '<~?\*? *451 4\.7\.1 The virus scanner could not check the message .*try again later or contact your administrator\.' \
    "clamd stopped, fail-closed: 451 4.7.1 in the manual's words (the client keeps it)"
is "$(rows "result = 'unavailable' AND blocked AND detail LIKE 'cannot connect to clamd%'")" 1 "... recorded unavailable, blocked"
sleep 0.5
ok "$(sink_has "Subject: $s3"; [ $? -ne 0 ]; echo $?)" "... nothing sent"
"$ERS_TOP/test/stack" clamd-start "$ERS_STACK_DIR"

expect 0 "mailstack check" --json mailstack check
like "$(printf '%s' "$OUT" | tr -d ' \n')" '"component":"scan-milter","check":"milterportanswers","ok":true' "... asks the scan milter, which answers"

# Fail-open: the milter's own absence is accepted for it alone.
sed 's/^  enabled: true$/  enabled: true\n  fail_closed: false/' "$ERS_CONFIG" >"$T_DIR/open.yaml"
mkdir -p "$T_DIR/pf"
expect 0 "render with scan.fail_closed false" --config "$T_DIR/open.yaml" -q mailstack render --postfix "$T_DIR/pf"
grep -q "^  -o smtpd_milters={inet:127.0.0.1:$MILTER_PORT,default_action=accept},inet:" "$T_DIR/pf/master.cf"
ok $? "... the scan milter with default_action=accept, OpenDKIM still tempfail"
sed 's/^  milter: .*//' "$ERS_CONFIG" >"$T_DIR/nomilter.yaml"
mkdir -p "$T_DIR/pf2"
expect 0 "render without scan.milter" --config "$T_DIR/nomilter.yaml" -q mailstack render --postfix "$T_DIR/pf2"
ok "$(grep -q "$MILTER_PORT" "$T_DIR/pf2/master.cf"; [ $? -ne 0 ]; echo $?)" "... no scan milter"
sed "s/^  milter: .*/  milter: tcp:nowhere/" "$ERS_CONFIG" >"$T_DIR/bad.yaml"
refused 78 "scan.milter: must be inet:HOST:PORT or unix:/PATH" "a bad scan.milter is refused" \
    --config "$T_DIR/bad.yaml" mailstack render --postfix "$T_DIR/pf2"

done_testing
