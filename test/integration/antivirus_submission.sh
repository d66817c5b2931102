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

# The webmail's mark (X-ERS-Scanned: v1 TIME HMAC over the time and the
# body's SHA-256, keyed by the webmail's master secret): valid, the message
# passes unscanned (the webmail scanned it); anything else is scanned.
master=$(sed -n 's/^WEBMAIL_MASTER_PASSWORD=//p' "$ERS_STACK_DIR/secrets")
b64=$(base64 -w 0 "$T_DIR/tool.com")
# message FILE SUBJECT: a message with EICAR attached, CRLF line ends but
# the last (swaks ends the data with CRLF . CRLF)
message() {
    printf '%s\r\n' "From: u@$dom" "To: peer@elsewhere.example" "Subject: $2" "MIME-Version: 1.0" \
        "Content-Type: multipart/mixed; boundary=b1" "" "--b1" "Content-Type: text/plain" "" "see attached" "--b1" \
        "Content-Type: application/octet-stream; name=tool.com" "Content-Disposition: attachment; filename=tool.com" \
        "Content-Transfer-Encoding: base64" "" "$b64" >"$1"
    printf -- '--b1--' >>"$1"
}
# mark FILE SECRET TIME: the header's value for FILE's body as submitted
mark() {
    local sum
    sum=$({ sed '1,/^\r$/d' "$1"; printf '\r\n'; } | sha256sum | cut -d' ' -f1)
    echo "v1 $3 $(printf 'ers-scan-pass-v1 %s %s' "$3" "$sum" | openssl dgst -sha256 -hmac "$2" -r | cut -d' ' -f1)"
}
# submit_marked SUBJECT VALUE [FILE]: the message (or FILE) with the mark VALUE
submit_marked() {
    local f=${3:-$T_DIR/m-$1.eml}
    [ -f "$f" ] || message "$f" "$1"
    { printf 'X-ERS-Scanned: %s\r\n' "$2"; cat "$f"; } >"$T_DIR/send-$1.eml"
    OUT=$(timeout 60 swaks --server "127.0.0.1:$SUBMISSION_PORT" --tls --tls-ca-path "$TLS_CA" \
        -au "u@$dom" -ap "$pw" --from "u@$dom" --to peer@elsewhere.example --data "@$T_DIR/send-$1.eml" 2>&1)
}
now=$(date +%s)
s5="avsub-marked-$n"
message "$T_DIR/m-$s5.eml" "$s5"
before=$(rows true)
submit_marked "$s5" "$(mark "$T_DIR/m-$s5.eml" "$master" "$now")"
like "$OUT" '<~ *250 2\.0\.0 Ok: queued' "a message with a valid mark of the webmail's master secret passes without a scan (EICAR inside)"
wait_sink "Subject: $s5"; ok $? "... it reached the SMTP sink"
ok "$(grep -lsF "Subject: $s5" "$SINK_DIR"/* | xargs grep -qi '^X-ERS-Scanned'; [ $? -ne 0 ]; echo $?)" "... without the mark: the milter removes it"
is "$(rows true)" "$before" "... and nothing recorded for it (the webmail recorded its scan)"
s6="avsub-changed-$n"
message "$T_DIR/m-$s6.eml" "$s6"
printf '\r\none more line' >>"$T_DIR/m-$s6.eml"
submit_marked "$s6" "$(mark "$T_DIR/m-$s5.eml" "$master" "$now")"
like "$OUT" '<~?\*? *554 5\.7\.1 The attachment "tool\.com" contains a virus' "a valid mark of another body: scanned, refused"
s7="avsub-forged-$n"
message "$T_DIR/m-$s7.eml" "$s7"
submit_marked "$s7" "$(mark "$T_DIR/m-$s7.eml" "not-the-master-secret" "$now")"
like "$OUT" '<~?\*? *554 5\.7\.1 The attachment "tool\.com" contains a virus' "a mark made without the master secret: scanned, refused"
s8="avsub-stale-$n"
message "$T_DIR/m-$s8.eml" "$s8"
submit_marked "$s8" "$(mark "$T_DIR/m-$s8.eml" "$master" $((now - 700)))"
like "$OUT" '<~?\*? *554 5\.7\.1 The attachment "tool\.com" contains a virus' "a mark older than ten minutes: scanned, refused"
submit_marked "$s8-2" "garbage"
like "$OUT" '<~?\*? *554 5\.7\.1 The attachment "tool\.com" contains a virus' "a malformed mark: scanned, refused"

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
