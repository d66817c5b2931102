#!/usr/bin/env bash
# Outbound scanning with the stack's real clamd (manual 000 "Anti-virus
# Scanning"): webmail sends carrying the EICAR test string -- as an
# attachment, inside a zip, inside an attached message, in the body text --
# are blocked with the item and the finding named, recorded, and reach
# neither the SMTP sink nor a mailbox; clean mail passes and is recorded;
# clamd stopped or frozen: fail-closed stops the send with the manual's
# words, fail-open sends and records "unavailable"; self-tests and reports
# by role (ersctl); the Security tab over HTTP per role.
# The EICAR string is built here from parts: no file of ours holds it.
. "$(dirname "$0")/lib.sh"
. "$ERS_STACK_DIR/stack.env"
export ERS_CONFIG=$ERS_STACK_DIR/ers.yaml
T_DB=ers
BASE=https://127.0.0.1:$WEB_PORT
WEB_YAML=$ERS_STACK_DIR/web/ers.yaml

n=$RANDOM
dom=av$n.test odom=avother$n.test
host=avtest$n.ers.test
pw=$T_DIR/pw; echo 'antivirus-password-123' >"$pw"
expect 0 "setup: IMAP host" -q server host add $host --kind imap --port 143 --tls starttls
expect 0 "setup: SMTP host" -q server host add $host --kind smtp --port 587
expect 0 "setup: tenant" -q tenant add "AV Co $n" --domain $dom --imap-host $host --imap-port 143 --smtp-host $host
expect 0 "setup: other tenant" -q tenant add "AV Other $n" --domain $odom --imap-host $host --imap-port 143 --smtp-host $host
for u in a b; do expect 0 "setup: user $u" -q user add $u@$dom --password-file "$pw" --quota-mb 100; done
expect 0 "setup: tenant admin" -q user add ta@$dom --password-file "$pw" --role tenant_admin --quota-mb 100
expect 0 "setup: super admin" -q user add sa@$dom --password-file "$pw" --role super_admin --quota-mb 100
expect 0 "setup: other tenant's user" -q user add o@$odom --password-file "$pw" --quota-mb 100

master=$(sed -n 's/^WEBMAIL_MASTER_PASSWORD=//p' "$ERS_STACK_DIR/secrets")
imap() { # USER PATH [curl args]: IMAP as USER through the master user
    local user=$1 path=$2; shift 2
    curl -s --max-time 20 --ssl-reqd --cacert "$TLS_CA" --user "$user*ers-webmail:$master" \
        "imap://127.0.0.1:$IMAP_PORT/$path" "$@" | tr -d '\r'
}
inbox_has() { [ -n "$(imap "$1" INBOX -X "UID SEARCH SUBJECT \"$2\"" | sed -n 's/^\* SEARCH *//p')" ]; }
wait_inbox() { for _ in $(seq 1 150); do inbox_has "$1" "$2" && return 0; sleep 0.1; done; return 1; }
sink_has() { grep -lsF "$1" "$SINK_DIR"/* 2>/dev/null | grep -q .; }
wait_sink() { for _ in $(seq 1 150); do sink_has "$1" && return 0; sleep 0.1; done; return 1; }
rows() { sql "SELECT count(*) FROM ers.scan WHERE sender = '$1' AND $2"; }

# The EICAR test string, from parts.
p1='X5O!P%@AP[4\PZX54(P^)7CC)7}$' p2='EICAR-STANDARD-ANTIVIRUS-' p3='TEST-FILE!$H+H*'
printf '%s%s%s' "$p1" "$p2" "$p3" >"$T_DIR/eicar.com"
python3 - "$T_DIR" <<'PY'
import sys, zipfile, base64
d = sys.argv[1]
e = open(d + "/eicar.com", "rb").read()
with zipfile.ZipFile(d + "/report.zip", "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("docs/readme.txt", "nothing here\n")
    z.writestr("docs/tool.com", e)
with zipfile.ZipFile(d + "/clean.zip", "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("docs/readme.txt", "nothing here\n")
def eml(payload, name):
    return ("From: x@elsewhere.example\r\nTo: y@elsewhere.example\r\nSubject: inner\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=BB\r\n\r\n--BB\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
            "--BB\r\nContent-Type: application/octet-stream; name=" + name + "\r\nContent-Disposition: attachment; filename=" + name +
            "\r\nContent-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(payload).decode().replace("\n", "\r\n") + "--BB--\r\n")
open(d + "/forwarded.eml", "w").write(eml(e, "inner-tool.com"))
open(d + "/forwarded-clean.eml", "w").write(eml(b"just text\n", "inner-notes.txt"))
PY
echo "ordinary notes" >"$T_DIR/notes.txt"

A=$T_DIR/a.jar
web "$A" POST /login --data-urlencode "email=a@$dom" --data-urlencode "password=antivirus-password-123"
is "$CODE" 303 "a logs in to the webmail"
web "$A" GET /compose
CSRF_A=$(csrf)

# send SUBJECT BODY [curl -F args...]: a's Send to b and to an outside address.
send() {
    local subj=$1 body=$2; shift 2
    web "$A" POST /compose -F "csrf=$CSRF_A" -F "to=b@$dom, peer@elsewhere.example" -F "subject=$subj" \
        --form-string "body=$body" "$@"
}
# blocked SUBJECT ITEM-REGEX DESCRIPTION: nothing left, the finding named, recorded
blocked() {
    local subj=$1 item=$2 desc=$3
    is "$CODE" 422 "$desc: blocked (422)"
    like "$BODY" "$item contains a virus \\(Ers-Test-Eicar\\.UNOFFICIAL\\): the send was blocked" "... the item and the finding named"
    sleep 0.5
    ok "$(sink_has "Subject: $subj" || inbox_has b@$dom "$subj"; [ $? -ne 0 ]; echo $?)" "... nothing reached the SMTP sink or b's INBOX"
}

# --- infected: blocked -------------------------------------------------------------
s1="av-att-$n"
send "$s1" "see attached" -F "attachments=@$T_DIR/eicar.com;type=application/octet-stream"
blocked "$s1" 'The attachment &quot;eicar.com&quot;' "EICAR as an attachment (base64)"
is "$(rows a@$dom "result = 'infected' AND item = 'eicar.com' AND blocked AND signature = 'Ers-Test-Eicar.UNOFFICIAL'")" 1 \
    "... recorded: infected, blocked, the signature"
is "$(sql "SELECT count(*) FROM ers.scan s JOIN ers.tenant t ON t.id = s.tenant_id WHERE s.sender = 'a@$dom' AND s.domain = '$dom' AND t.name = 'AV Co $n' AND s.item = 'message text' AND s.result = 'clean' AND s.scanner LIKE 'clamd unix:%' AND s.item_size > 0")" 1 \
    "... the message text recorded too (clean, with sender, domain, tenant, scanner, size)"

s2="av-zip-$n"
send "$s2" "the report" -F "attachments=@$T_DIR/report.zip;type=application/zip"
blocked "$s2" 'The attachment &quot;report.zip&quot;' "EICAR inside a zip"

s3="av-eml-$n"
send "$s3" "forwarding this" -F "attachments=@$T_DIR/forwarded.eml;type=message/rfc822"
blocked "$s3" 'The attachment &quot;forwarded.eml/inner-tool.com&quot;' "EICAR inside an attached message (message/rfc822)"
is "$(rows a@$dom "item = 'forwarded.eml: message text' AND result = 'clean'")" 1 "... the attached message's text is an item of its own"
is "$(rows a@$dom "item = 'forwarded.eml' AND result = 'infected'")" 1 "... and clamd finds it in the attached message whole too"

s4="av-body-$n"
send "$s4" "über: $(cat "$T_DIR/eicar.com")"
blocked "$s4" 'The message text' "EICAR in the body text (quoted-printable)"
is "$(rows a@$dom "item = 'message text' AND result = 'infected' AND item_kind = 'body'")" 1 "... recorded as the message text"

# --- clean: sent --------------------------------------------------------------------
s5="av-clean-$n"
send "$s5" "all fine" -F "attachments=@$T_DIR/notes.txt;type=text/plain" -F "attachments=@$T_DIR/clean.zip;type=application/zip" \
    -F "attachments=@$T_DIR/forwarded-clean.eml;type=message/rfc822"
is "$CODE" 303 "a clean message with the same structure: sent (303)"
wait_inbox b@$dom "$s5"; ok $? "... b has it"
wait_sink "Subject: $s5"; ok $? "... the outside recipient's copy reached the SMTP sink"
ok "$(grep -lsF "Subject: $s5" "$SINK_DIR"/* | xargs grep -qi '^X-ERS-Scanned'; [ $? -ne 0 ]; echo $?)" \
    "... without the webmail's mark of its scan (the scan milter removes it)"
is "$(sql "SELECT string_agg(item || '=' || result, ' ' ORDER BY id) FROM ers.scan WHERE message_id = (SELECT message_id FROM ers.scan WHERE item = 'notes.txt' AND sender = 'a@$dom' ORDER BY id DESC LIMIT 1)")" \
    "message text=clean notes.txt=clean clean.zip=clean forwarded-clean.eml: message text=clean forwarded-clean.eml/inner-notes.txt=clean forwarded-clean.eml=clean" \
    "... every item recorded clean, the attached message walked and scanned whole"
is "$(rows a@$dom "item = 'notes.txt'")" 1 \
    "... scanned once: the scan milter on 587 passes the webmail's own submission (marked as scanned) without a second scan"

# --- the scanner down or frozen -----------------------------------------------------
# milter_with CONFIG: the scan milter restarted with CONFIG, so that it and
# the webmail agree, as they do on a node where both read the one ers.yaml
# (with scanning off in the webmail, its mail carries no mark of a scan).
milter_with() {
    local pid
    pid=$(cat "$MILTER_PID")
    kill "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    ( ERS_CONFIG=$1 "$ERSCTL" scan milter --pidfile "$MILTER_PID" >>"$ERS_STACK_DIR/milter.log" 2>&1 </dev/null & )
    for _ in $(seq 1 100); do ss -Htln "sport = :$MILTER_PORT" | grep -q . && return 0; sleep 0.1; done
    return 1
}
restore_yaml() { [ -f "$T_DIR/web.yaml" ] && cp "$T_DIR/web.yaml" "$WEB_YAML"; "$ERS_TOP/test/stack" clamd-start "$ERS_STACK_DIR" >/dev/null 2>&1; kill -CONT "$(cat "$CLAMD_PID" 2>/dev/null)" 2>/dev/null; }
trap restore_yaml EXIT
cp "$WEB_YAML" "$T_DIR/web.yaml"
"$ERS_TOP/test/stack" clamd-stop "$ERS_STACK_DIR"
s6="av-down-$n"
send "$s6" "while clamd is down"
is "$CODE" 503 "clamd stopped, fail-closed (the default): stopped (503)"
like "$BODY" "could not check the message .*try again later or contact your administrator" "... in the manual's words"
sleep 0.5
ok "$(sink_has "Subject: $s6" || inbox_has b@$dom "$s6"; [ $? -ne 0 ]; echo $?)" "... nothing sent"
is "$(rows a@$dom "result = 'unavailable' AND blocked AND detail LIKE 'cannot connect to clamd%'")" 1 "... recorded unavailable, blocked, why"

sed -i 's/^  enabled: true$/  enabled: true\n  fail_closed: false/' "$WEB_YAML"
s7="av-open-$n"
send "$s7" "fail-open send"
is "$CODE" 303 "clamd stopped, fail-open: sent"
wait_inbox b@$dom "$s7"; ok $? "... b has it"
is "$(rows a@$dom "result = 'unavailable' AND NOT blocked")" 1 \
    "... recorded unavailable, not blocked, once: the scan milter on 587 (fail-closed, clamd down) passed the webmail's marked submission"
cp "$T_DIR/web.yaml" "$WEB_YAML"

sed -i 's/^  enabled: true$/  enabled: false/' "$WEB_YAML"
milter_with "$WEB_YAML"
s8="av-off-$n"
before=$(rows a@$dom true)
send "$s8" "scanning off"
is "$CODE" 303 "scanning disabled: sent"
is "$(rows a@$dom true)" "$before" "... and nothing recorded"
cp "$T_DIR/web.yaml" "$WEB_YAML"
milter_with "$ERS_CONFIG"

"$ERS_TOP/test/stack" clamd-start "$ERS_STACK_DIR"
kill -STOP "$(cat "$CLAMD_PID")"
sed -i 's/^  enabled: true$/  enabled: true\n  timeout: 2/' "$WEB_YAML"
s9="av-slow-$n"
t0=$(date +%s)
send "$s9" "clamd frozen"
is "$CODE" 503 "clamd not answering within scan.timeout: stopped (503)"
ok "$([ $(($(date +%s) - t0)) -le 8 ]; echo $?)" "... after the timeout, not clamd's"
is "$(rows a@$dom "result = 'unavailable' AND detail LIKE '%no answer within scan.timeout%'")" 1 "... recorded: no answer within the timeout"
kill -CONT "$(cat "$CLAMD_PID")"
cp "$T_DIR/web.yaml" "$WEB_YAML"

head -c $((2 * 1024 * 1024)) /dev/urandom >"$T_DIR/big.bin"
sed -i 's/^  enabled: true$/  enabled: true\n  max_size_mb: 1/' "$WEB_YAML"
s10="av-big-$n"
send "$s10" "too large to scan" -F "attachments=@$T_DIR/big.bin"
is "$CODE" 503 "an attachment over the size limit, fail-closed: stopped (503)"
like "$BODY" "&quot;big.bin&quot; is too large to scan" "... naming the attachment"
cp "$T_DIR/web.yaml" "$WEB_YAML"

# --- ersctl: status, self-tests and reports by role ------------------------------------
expect 0 "scan status: healthy" scan status
like "$OUT" "health check:  healthy" "... says so"
like "$OUT" "version:       ClamAV " "... with clamd's version"
expect 0 "av status: the same command under its other name" av status
like "$OUT" "health check:  healthy" "... says so"
expect 0 "mailstack check" --json mailstack check
like "$(printf '%s' "$OUT" | tr -d ' \n')" '"component":"clamd","check":"scanneranswersandscans","ok":true' "... includes clamd, healthy"
expect 0 "scan test clean (operator)" scan test clean
like "$OUT" "clean test: passed" "... passed"
expect 0 "scan test eicar as a super admin" --as sa@$dom scan test eicar
like "$OUT" "eicar test: passed \\(infected: Ers-Test-Eicar.UNOFFICIAL" "... infected, as it should"
is "$(sql "SELECT count(*) FROM ers.audit_log WHERE action = 'scan.selftest' AND actor = 'sa@$dom' AND outcome = 'ok'")" 1 "... audited"
expect 0 "av selftest clean as a super admin" --as sa@$dom av selftest clean
like "$OUT" "clean test: passed" "... passed"
denied "may not scan.selftest" "a tenant admin may not run self-tests" --as ta@$dom scan test eicar
denied "may not scan.selftest" "... nor by av selftest" --as ta@$dom av selftest eicar
denied "may not scan.selftest" "a user may not run self-tests" --as a@$dom scan test clean
expect 0 "a tenant admin sees the scanner's status" --as ta@$dom scan status
denied "may not scan.view" "a user may not" --as a@$dom scan status
expect 0 "the self-test table" --json scan tests
like "$OUT" '"test": "eicar"' "... lists the EICAR test"

# o@ (the other tenant) sends a clean message: its row is the other tenant's.
O=$T_DIR/o.jar
web "$O" POST /login --data-urlencode "email=o@$odom" --data-urlencode "password=antivirus-password-123"
web "$O" GET /compose
web "$O" POST /compose -F "csrf=$(csrf)" -F "to=peer@elsewhere.example" -F "subject=other-$n" -F "body=hello"
is "$CODE" 303 "the other tenant's user sends a clean message"
expect 0 "scan list as the tenant admin" --json --as ta@$dom scan list --limit 1000
ok "$(printf '%s' "$OUT" | grep -q "o@$odom"; [ $? -ne 0 ]; echo $?)" "... no other tenant's rows"
like "$OUT" "\"sender\": \"a@$dom\"" "... its own tenant's rows"
denied "may not scan.view" "the tenant admin naming the other tenant is refused" --as ta@$dom scan list --tenant $odom
expect 0 "av scans --tenant --since as the tenant admin" --json --as ta@$dom av scans --tenant $dom --since 1h --limit 1000
ok "$(printf '%s' "$OUT" | grep -q "o@$odom"; [ $? -ne 0 ]; echo $?)" "... no other tenant's rows"
like "$OUT" "\"sender\": \"a@$dom\"" "... its own tenant's rows"
expect 0 "scan list --issues as a super admin" --json --as sa@$dom scan list --issues --since 1h --limit 1000
like "$OUT" '"result": "unavailable"' "... the unavailable ones"
unlike "$OUT" '"result": "clean"' "... and no clean ones"
expect 0 "scan stats per domain" --json scan stats --since 1h
like "$(printf '%s' "$OUT" | tr -d ' \n')" "\"domain\":\"$dom\",\"clean\":[0-9]+,\"infected\":5,\"unavailable\":[0-9]+" "... 5 infected items for the domain"
expect 0 "scan stats per user" scan stats --per-user --tenant $odom
like "$OUT" "o@$odom" "... the sender's row"
refused 65 "--since must be a time" "a bad --since is refused" scan list --since yesterdayish
expect 0 "scan prune (nothing old)" scan prune

# --- the Security tab over HTTP, per role ---------------------------------------------
login() { web "$1" POST /login --data-urlencode "email=$2" --data-urlencode "password=antivirus-password-123"; }
SA=$T_DIR/sa.jar TA=$T_DIR/ta.jar
login "$SA" sa@$dom
web "$SA" GET /admin/security
is "$CODE" 200 "a super admin opens the Security tab"
like "$BODY" '<nav class="subtabs" aria-label="Admin"><a href="/admin/users">Users</a>.*<a href="/admin/security" aria-current="page">Security</a></nav>' "... a sub-tab of the admin panel beside Users"
like "$BODY" '<h2>Scanner runtime</h2>' "... the scanner runtime card"
like "$BODY" "<dt>Scanning</dt><dd>Enabled</dd><dt>Scanner target</dt><dd><code>unix:$ERS_STACK_DIR/clamd/clamd.sock</code>" "... enabled, its target"
like "$BODY" '<dt>Fail-closed mode</dt><dd>On' "... fail-closed mode"
like "$BODY" '<dt>Version</dt><dd>ClamAV [0-9.]+</dd>' "... clamd's version"
like "$BODY" '<dt>Last health check</dt><dd><time>[0-9T:Z-]+</time>: <strong class="health">Healthy</strong>' "... the last health check, healthy"
like "$BODY" '<button type="submit" name="test" value="clean">Run Clean Test</button>' "... Run Clean Test"
like "$BODY" '<button type="submit" name="test" value="eicar" class="secondary">Run EICAR Test</button>' "... Run EICAR Test"
for h in "Domain statistics" "User and domain breakdown" "Recent domain issues" "Attachment scans"; do
    like "$BODY" "<h2>$h</h2>" "... the table: $h"
done
like "$BODY" "<td data-label=\"Domain\">$odom</td>" "... with every tenant's domains"
like "$BODY" "<td data-label=\"Item\">forwarded.eml/inner-tool.com</td><td data-label=\"Detail\">Ers-Test-Eicar.UNOFFICIAL</td>" "... an issue: the item and the finding"
like "$BODY" '<td data-label="Attachment">report.zip</td><td data-label="Type">application/zip</td>' "... an attachment scan"
CSRF_SA=$(csrf)
web "$SA" POST /admin/security/test --data-urlencode "csrf=$CSRF_SA" --data-urlencode "test=eicar"
is "$CODE" 303 "Run EICAR Test: 303"
web "$SA" GET /admin/security?ran=eicar
like "$BODY" 'EICAR test passed: the scanner answered infected' "... passed: infected"
like "$BODY" "<td data-label=\"Test\">EICAR</td><td data-label=\"Result\">infected</td><td data-label=\"Passed\">yes</td><td data-label=\"Detail\">Ers-Test-Eicar.UNOFFICIAL</td><td data-label=\"Run by\">sa@$dom</td>" \
    "... in the recent runs table"
web "$SA" POST /admin/security/test --data-urlencode "test=clean"
is "$CODE" 403 "a self-test without the CSRF token: 403"

login "$TA" ta@$dom
web "$TA" GET /admin/security
is "$CODE" 200 "a tenant admin opens the Security tab"
like "$BODY" '<h2>Scanner runtime</h2>' "... sees the scanner status"
unlike "$BODY" 'Run EICAR Test|Run Clean Test' "... no self-test buttons"
like "$BODY" "<td data-label=\"Domain\">$dom</td>" "... its own tenant's rows"
unlike "$BODY" "$odom" "... none of the other tenant's"
web "$TA" GET "/admin/security?tenant=$odom"
is "$CODE" 403 "... the other tenant asked for by hand: 403"
unlike "$BODY" "o@$odom" "... and nothing of it shown"
web "$TA" POST /admin/security/test --data-urlencode "csrf=$(web "$TA" GET /admin/security; csrf)" --data-urlencode "test=eicar"
is "$CODE" 403 "a tenant admin's hand-made self-test POST: 403"
is "$(sql "SELECT count(*) FROM ers.scan_selftest WHERE actor = 'ta@$dom'")" 0 "... nothing run"

web "$A" GET /admin/security
is "$CODE" 403 "a user: 403"
unlike "$BODY" 'Scanner runtime' "... nothing shown"

# Scanning off: the tab says so.
sed -i 's/^  enabled: true$/  enabled: false/' "$WEB_YAML"
web "$SA" GET /admin/security
like "$BODY" 'Scanning is disabled: outbound mail is sent without scanner enforcement' "scanning off: the Security tab says so"
cp "$T_DIR/web.yaml" "$WEB_YAML"
"$ERS_TOP/test/stack" clamd-stop "$ERS_STACK_DIR"
web "$SA" GET /admin/security
like "$BODY" '<strong class="health">Unhealthy</strong>' "clamd stopped: the health check says unhealthy"
expect 69 "... scan status exits 69" scan status
like "$OUT" "health check:  UNHEALTHY" "... and says why"
expect 69 "... mailstack check fails" mailstack check
"$ERS_TOP/test/stack" clamd-start "$ERS_STACK_DIR"

done_testing
