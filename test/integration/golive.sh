#!/usr/bin/env bash
# `ersctl tenant golive` and `tenant autoconfig` against the real parts: the
# stack's Postfix and Dovecot (STARTTLS with the stack's test CA), the mail
# role's lookups, a private NSD serving the domain's zone as `dns plan`
# writes it, and the MTA-STS policy over real HTTPS.  Every go-live step is
# first seen failing for the reason it checks, then passing.
. "$(dirname "$0")/lib.sh"
top=${ERS_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
T_DB=ers
DNS=$T_DIR/dns
mkdir -p "$DNS/zones" "$T_DIR/www/.well-known" "$T_DIR/pki"
[ -s "$ERS_STACK_DIR/tls/ca.pem" ] || { echo "Bail out! the stack has no TLS (test/stack)"; exit 1; }
web_pid=
cleanup() {
    [ -n "$web_pid" ] && kill "$web_pid" 2>/dev/null
    "$top/test/dnsserver" stop "$DNS" >/dev/null 2>&1
}
trap cleanup EXIT

# --- the pieces: NSD, a certificate for mta-sts.golive.test, HTTPS ----------
"$top/test/dnsserver" start "$DNS" >/dev/null || { echo "Bail out! test/dnsserver did not start"; exit 1; }
. "$DNS/dns.env"
(
    cd "$T_DIR/pki"
    openssl req -newkey rsa:2048 -nodes -keyout web.key -out web.csr -subj "/CN=mta-sts.golive.test" 2>/dev/null
    printf 'subjectAltName=DNS:mta-sts.golive.test\nextendedKeyUsage=serverAuth\n' >web.ext
    openssl x509 -req -in web.csr -CA "$ERS_STACK_DIR/tls/ca.pem" -CAkey "$ERS_STACK_DIR/tls/ca.key" \
        -CAcreateserial -CAserial web.srl -days 2 -out web.pem -extfile web.ext 2>/dev/null
)
https_port=
for p in $(shuf -i 27000-27999 -n 20); do
    ss -Htln "sport = :$p" | grep -q . || { https_port=$p; break; }
done
[ -n "$https_port" ] || { echo "Bail out! no free port for HTTPS"; exit 1; }

cp "$ERS_STACK_DIR/ers.yaml" "$T_DIR/ers.yaml"
cat >>"$T_DIR/ers.yaml" <<YAML
dns:
  resolver: 127.0.0.1:$DNS_PORT
  mail_ipv4: 127.0.0.1
  https_port: $https_port
  ca_file: $ERS_STACK_DIR/tls/ca.pem
  timeout: 2
YAML
export ERS_CONFIG=$T_DIR/ers.yaml

# zone: SOA and NS of the test server, then what `dns plan --format zone` says.
zone() {
    {
        printf '$ORIGIN golive.test.\n$TTL 300\n'
        printf '@ IN SOA ns.golive.test. hostmaster.golive.test. %s 3600 600 86400 300\n' "$(date +%s)"
        printf '@ IN NS ns.golive.test.\nns IN A 127.0.0.1\n'
        "$ERSCTL" dns plan golive.test --format zone
    } >"$DNS/zones/golive.test.zone"
    "$top/test/dnsserver" restart "$DNS" >/dev/null
}
golive_failed() { # the CHECK column of each FAILED line of $OUT, one per line
    printf '%s\n' "$OUT" | awk '$0 ~ / FAILED / { sub(/ +FAILED .*/, ""); print }'
}

# --- setup: a tenant on the stack's own endpoints (STARTTLS) ---------------------
for kind in imap smtp; do
    port=$IMAP_PORT; [ $kind = smtp ] && port=$SUBMISSION_PORT
    "$ERSCTL" -q server host list --kind $kind | grep -q "localhost .*$port" ||
        "$ERSCTL" -q server host add localhost --kind $kind --port "$port" --tls starttls
done
expect 0 "setup: tenant Golive on the stack's IMAP and submission" tenant add Golive --domain golive.test \
    --imap-host localhost --imap-port "$IMAP_PORT" --smtp-host localhost --smtp-port "$SUBMISSION_PORT"
pw=$T_DIR/pw; echo 'golive-password-123' >"$pw"
expect 0 "setup: user ann" -q user add ann@golive.test --password-file "$pw"
expect 0 "setup: user bob" -q user add bob@golive.test --password-file "$pw"
expect 0 "setup: alias sales -> ann" -q alias add sales@golive.test --to ann@golive.test

# --- before DNS and DKIM: not ready, for those reasons only -----------------------
expect 69 "golive: a new domain is not ready (exit 69)" tenant golive golive.test
like "$ERR" '^ersctl: tenant golive: [0-9]+ check\(s\) failed' "... and says how many checks failed"
failed=$(golive_failed)
like "$failed" 'dkim +a key signs' "... no DKIM key"
like "$failed" 'dns +(mail host|MX)' "... the DNS records are missing"
unlike "$failed" '^(mailboxes|aliases|imap|submission) ' "... but users, aliases, IMAP and submission already work"
like "$OUT" 'submission +submission localhost:[0-9]+ \(starttls\) accepts logins +ok +TLS as approved, AUTH offered, a probe login refused with 535' \
    "submission: STARTTLS, certificate verified, AUTH, probe login 535"
like "$OUT" 'imap +IMAP localhost:[0-9]+ \(starttls\) accepts logins +ok' "IMAP: STARTTLS, certificate verified, probe login refused"
like "$OUT" 'mailboxes +every active user can log in and receive +ok +2 of 2 found by Dovecot and Postfix' \
    "mailboxes: both users found as the mail role"
like "$OUT" 'aliases +every alias delivers to its user +ok +1 of 1 routed' "aliases: sales routed"
like "$OUT" 'golive.test is NOT ready for mail' "... the summary says not ready"
like "$OUT" "Incoming port +$IMAP_PORT" "client settings: the tenant's IMAP port"
like "$OUT" 'Incoming security +STARTTLS' "... its TLS mode"
like "$OUT" "Outgoing host +localhost" "... the SMTP host"
like "$OUT" 'Outgoing authentication +Required' "... and manual 001's rows"

# --- DKIM, DNS and MTA-STS published: ready ----------------------------------------
expect 0 "setup: dkim enable" -q dkim enable golive.test
zone
"$ERSCTL" mtasts policy golive.test >"$T_DIR/www/.well-known/mta-sts.txt"
(cd "$T_DIR/www" && exec openssl s_server -quiet -WWW -accept "127.0.0.1:$https_port" \
    -cert "$T_DIR/pki/web.pem" -key "$T_DIR/pki/web.key" >"$T_DIR/s_server.log" 2>&1 </dev/null) &
web_pid=$!
for i in $(seq 1 50); do ss -Htln "sport = :$https_port" | grep -q . && break; sleep 0.1; done

expect 0 "golive: with DNS, DKIM and MTA-STS published the domain is ready (exit 0)" tenant golive golive.test
is "$(golive_failed)" "" "... no check failed"
like "$OUT" 'golive.test is ready for mail' "... the summary says ready"
like "$OUT" 'dns +DKIM TXT default._domainkey.golive.test +ok' "... the DKIM record is seen in DNS"
like "$OUT" 'dns +MTA-STS TXT _mta-sts.golive.test +ok' "... and MTA-STS"
like "$OUT" 'dkim +a key signs the domain.s mail +ok +selector default \(rsa-2048\)' "... and the key signs"

expect 0 "golive --json" --json tenant golive golive.test
jfield() { printf '%s' "$OUT" | python3 -c 'import json,sys; v=json.load(sys.stdin)
for k in sys.argv[1].split("."): v = v[int(k)] if isinstance(v, list) else v[k]
print(json.dumps(v) if isinstance(v, (bool, dict, list)) else v)' "$1"; }
is "$(jfield ok) $(jfield domain)" "true golive.test" "--json: ok and domain"
is "$(jfield client_settings.incoming.port) $(jfield client_settings.incoming.security) $(jfield client_settings.outgoing.port)" \
    "$IMAP_PORT starttls $SUBMISSION_PORT" "--json: client settings"
is "$(jfield checks.0.component)" "dns" "--json: checks with component, check, ok, detail"

# --- each step fails for its own reason -------------------------------------------
expect 0 "setup: disable bob" -q user disable bob@golive.test
expect 0 "setup: sales2 to disabled bob" -q alias add sales2@golive.test --to bob@golive.test
expect 69 "golive: an alias whose user is disabled is not routed" tenant golive golive.test
like "$OUT" 'aliases +every alias delivers to its user +FAILED +1 of 2 routed; sales2@golive.test does not reach bob@golive.test \(its user is disabled\)' \
    "... named, with the reason"
like "$OUT" 'mailboxes .* ok +1 of 1 found' "... the disabled user is not counted as active"
"$ERSCTL" -q alias delete sales2@golive.test

sed -i '/_domainkey/d' "$DNS/zones/golive.test.zone"
"$top/test/dnsserver" restart "$DNS" >/dev/null
expect 69 "golive: the DKIM record taken out of DNS" tenant golive golive.test
like "$(golive_failed)" 'dns +DKIM TXT default._domainkey.golive.test' "... is the one failure"
is "$(golive_failed | wc -l)" 1 "... and the only one"
zone

"$ERSCTL" -q dkim disable golive.test
zone
expect 69 "golive: no active DKIM key" tenant golive golive.test
like "$(golive_failed)" 'dkim +a key signs' "... is reported"

# --- the policy and bad input --------------------------------------------------------
expect 0 "setup: tenant Other" -q tenant add Other --domain other-golive.test --imap-host localhost \
    --imap-port "$IMAP_PORT" --smtp-host localhost --smtp-port "$SUBMISSION_PORT"
expect 0 "setup: admin of Other" -q user add admin@other-golive.test --password-file "$pw" --role tenant_admin
expect 0 "setup: admin of Golive" -q user add admin@golive.test --password-file "$pw" --role tenant_admin
expect 77 "golive: another tenant's admin is refused" --as admin@other-golive.test tenant golive golive.test
expect 69 "golive: the tenant's own admin may run it" --as admin@golive.test tenant golive golive.test
expect 77 "autoconfig: another tenant's admin is refused" --as admin@other-golive.test tenant autoconfig golive.test
expect 65 "golive: a domain no tenant has" tenant golive nobody.example
like "$ERR" 'nobody.example is not one of any tenant.s domains' "... says so"
expect 64 "golive: one domain only" tenant golive golive.test other-golive.test

# --- autoconfig ------------------------------------------------------------------------
expect 0 "autoconfig prints config-v1.1.xml" tenant autoconfig golive.test
printf '%s' "$OUT" >"$T_DIR/config.xml"
is "$(python3 - "$T_DIR/config.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
p = ET.parse(sys.argv[1]).getroot().find("emailProvider")
i, o = p.find("incomingServer"), p.find("outgoingServer")
print(p.get("id"), p.findtext("domain"), i.get("type"), i.findtext("hostname"), i.findtext("port"),
      i.findtext("socketType"), o.get("type"), o.findtext("port"), o.findtext("socketType"), i.findtext("username"))
PY
)" "golive.test golive.test imap localhost $IMAP_PORT STARTTLS smtp $SUBMISSION_PORT STARTTLS %EMAILADDRESS%" \
    "... well-formed XML with the tenant's endpoints"
expect 0 "setup: rename the tenant to something that needs escaping" -q tenant edit Golive --name 'Golive <&> "Co"'
expect 0 "autoconfig escapes the tenant name" tenant autoconfig golive.test
like "$OUT" '<displayName>Golive &lt;&amp;&gt; &quot;Co&quot;</displayName>' "... as XML text"
expect 0 "autoconfig --output FILE" tenant autoconfig golive.test --output "$T_DIR/out.xml"
like "$(cat "$T_DIR/out.xml")" '<hostname>localhost</hostname>' "... writes the file"
like "$OUT$ERR" 'autoconfig.golive.test/mail/config-v1.1.xml' "... and says where to serve it"
expect 74 "autoconfig --output into a missing directory" tenant autoconfig golive.test --output "$T_DIR/none/x.xml"
expect 0 "autoconfig --json" --json tenant autoconfig golive.test
like "$(jfield autoconfig_xml)" '<clientConfig version="1.1">' "--json: the XML and the settings"

# --- tidy: the stack's database is shared with later tests ------------------------------
"$ERSCTL" -q --yes tenant delete golive.test
"$ERSCTL" -q --yes tenant delete other-golive.test
done_testing
