#!/usr/bin/env bash
# The rendered Dovecot offers POP3 (STARTTLS required; pop3s beside it when
# configured) and ManageSieve (manual 004: pop3/110, pop3s/995, sieve/4190):
# a user logs in over POP3 on the stack and sees its messages; a wrong
# password is refused; ManageSieve greets, upgrades to TLS and takes a
# login; the rendered file turns each off with port 0.
. "$(dirname "$0")/lib.sh"
. "$ERS_STACK_DIR/stack.env"
export ERS_CONFIG=$ERS_STACK_DIR/ers.yaml
T_DB=ers
n=$RANDOM
dom=ports$n.test host=ports$n.ers.test
pw=$T_DIR/pw; echo 'ports-password-123' >"$pw"
# The tenant on the stack's own endpoints, so that golive probes them.
for kind in imap smtp; do
    port=$IMAP_PORT; [ $kind = smtp ] && port=$SUBMISSION_PORT
    "$ERSCTL" -q server host list --kind $kind | grep -q "localhost .*$port" ||
        "$ERSCTL" -q server host add localhost --kind $kind --port "$port" --tls starttls
done
expect 0 "setup: tenant" -q tenant add "Ports $n" --domain $dom --imap-host localhost --imap-port "$IMAP_PORT" \
    --smtp-host localhost --smtp-port "$SUBMISSION_PORT"
expect 0 "setup: user" -q user add u@$dom --password-file "$pw" --quota-mb 100
for i in 1 2 3; do
    printf 'From: x@y\r\nSubject: pop %s\r\n\r\nbody %s\r\n' "$i" "$i" | doveadm -c "$DOVECOT_CONFIG" save -u u@$dom
done

grep -q '^protocols = imap lmtp pop3 sieve$' "$ERS_STACK_DIR/dovecot/etc/ers.conf"
ok $? "the rendered Dovecot offers pop3 and sieve"

pop() { curl -s --max-time 20 --ssl-reqd --cacert "$TLS_CA" "$@"; }
out=$(pop --user "u@$dom:ports-password-123" "pop3://127.0.0.1:$POP3_PORT/" | tr -d '\r')
is "$(printf '%s\n' "$out" | grep -c .)" 3 "POP3 with STARTTLS: the user logs in and LIST shows its 3 messages"
out=$(pop --user "u@$dom:ports-password-123" "pop3://127.0.0.1:$POP3_PORT/2" | tr -d '\r')
like "$out" "Subject: pop 2" "... and RETR 2 gives the second"
pop --user "u@$dom:wrong-password" "pop3://127.0.0.1:$POP3_PORT/" >/dev/null
ok $((! $?)) "POP3: a wrong password is refused"

out=$(python3 - 127.0.0.1 "$SIEVE_PORT" "$TLS_CA" "u@$dom" ports-password-123 <<'PY'
import base64, socket, ssl, sys
host, port, ca, user, pw = sys.argv[1:]
s = socket.create_connection((host, int(port)), timeout=10)
f = s.makefile("rb")
def answer():
    lines = []
    while True:
        l = f.readline().decode().rstrip("\r\n")
        lines.append(l)
        if l.startswith(("OK", "NO", "BYE")):
            return lines
greet = answer()
print("greeting-starttls" if any('"STARTTLS"' in l for l in greet) else "no-starttls")
s.sendall(b"STARTTLS\r\n"); answer()
s = ssl.create_default_context(cafile=ca).wrap_socket(s, server_hostname="localhost")
f = s.makefile("rb")
answer()  # capabilities again after TLS
tok = base64.b64encode(("\0%s\0%s" % (user, pw)).encode()).decode()
s.sendall(('AUTHENTICATE "PLAIN" "%s"\r\n' % tok).encode())
print(answer()[-1].split(" ")[0])
s.sendall(b"LISTSCRIPTS\r\n"); print(answer()[-1].split(" ")[0])
PY
)
is "$(echo $out)" "greeting-starttls OK OK" "ManageSieve: STARTTLS offered, a login over TLS and LISTSCRIPTS work"

# Client settings, autoconfig and the go-live probes show both.
run tenant autoconfig $dom
like "$OUT" "<incomingServer type=\"pop3\">" "autoconfig: a POP3 incoming server"
like "$(printf '%s' "$OUT" | tr -d '\n ')" "type=\"pop3\"><hostname>localhost</hostname><port>$POP3_PORT</port><socketType>STARTTLS" "... on the stack's POP3 port with STARTTLS"
run --json --config "$ERS_STACK_DIR/web/ers.yaml" tenant golive $dom  # its dns.ca_file trusts the stack CA
got=$(printf '%s' "$OUT" | python3 -c '
import json, sys
j = json.JSONDecoder().raw_decode(sys.stdin.read())[0]  # an error object follows: not ready (no DNS)
c = {x["component"]: x["ok"] for x in j["checks"]}
s = j["client_settings"]
print(c.get("pop3"), c.get("managesieve"), s["pop3"]["port"], s["managesieve"]["port"])')
is "$got" "True True $POP3_PORT $SIEVE_PORT" "golive: POP3 and ManageSieve probed and passing, both in the client settings"

# POP3 off for the tenant (an operator's choice): no POP3 login, IMAP as before, not offered.
refused 64 '--pop3 must be one of: on off' "tenant edit --pop3 takes on or off" tenant edit "Ports $n" --pop3 maybe
expect 0 "tenant edit --pop3 off" tenant edit "Ports $n" --pop3 off
like "$OUT" 'pop3: +off' "... shown off"
is "$(sql "SELECT detail FROM ers.audit_log WHERE action = 'tenant.edit' AND target = 'Ports $n' ORDER BY id DESC LIMIT 1")" \
    "pop3 on -> off" "... one audit row"
pop --user "u@$dom:ports-password-123" "pop3://127.0.0.1:$POP3_PORT/" >/dev/null
ok $((! $?)) "POP3 off: the user's POP3 login is refused at once (no reload)"
curl -s --max-time 20 --ssl-reqd --cacert "$TLS_CA" --user "u@$dom:ports-password-123" "imap://127.0.0.1:$IMAP_PORT/INBOX" -X 'EXAMINE INBOX' >/dev/null
ok $? "... while IMAP still logs in"
run tenant autoconfig $dom
unlike "$OUT" 'type="pop3"' "... and autoconfig no longer offers POP3"
expect 0 "tenant edit --pop3 on" -q tenant edit "Ports $n" --pop3 on
out=$(pop --user "u@$dom:ports-password-123" "pop3://127.0.0.1:$POP3_PORT/" | tr -d '\r')
is "$(printf '%s\n' "$out" | grep -c .)" 3 "POP3 on again: the login works"

# Port 0 turns them off in what is rendered.
r=$T_DIR/render; mkdir -p "$r"
sed -e 's/^  pop3_port: .*/  pop3_port: 0/' -e 's/^  managesieve_port: .*/  managesieve_port: 0/' "$ERS_CONFIG" >"$T_DIR/off.yaml"
"$ERSCTL" --config "$T_DIR/off.yaml" -q mailstack render --dovecot "$r" >/dev/null 2>&1
grep -q '^protocols = imap lmtp$' "$r/ers.conf" && ! grep -q 'pop3-login\|managesieve-login' "$r/ers.conf"
ok $? "pop3_port: 0 and managesieve_port: 0 leave both out"
done_testing
