# DNS plans and checks (manual 001 "Required DNS Records", "DKIM Public
# Key", "MTA-STS", "TLS-RPT"): `dns plan` in table, JSON and zone form (the
# zone loads in NSD), `mtasts policy|mode`, and `dns check` against a real
# authoritative NSD on loopback (test/dnsserver) serving one correct zone and
# one broken zone per problem class, with the MTA-STS policy fetched over
# real HTTPS (openssl s_server, a CA made here).  Every problem is found;
# nothing is reported for the correct zone.
. "$(dirname "$0")/lib.sh"
new_db
top=${ERS_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
DNS=$T_DIR/dns
mkdir -p "$DNS/zones" "$T_DIR/www/.well-known" "$T_DIR/pki"
https_pid=
cleanup() {
    [ -n "$https_pid" ] && kill "$https_pid" 2>/dev/null && wait "$https_pid" 2>/dev/null
    "$top/test/dnsserver" stop "$DNS" >/dev/null 2>&1
}
trap cleanup EXIT

# jget PATH: a value of $OUT (JSON) by a dotted path (numbers index arrays).
jget() {
    printf '%s' "$OUT" | perl -MJSON::PP -e '
        my $v = JSON::PP->new->decode(do { local $/; <STDIN> });
        for my $k (split /\./, $ARGV[0]) { $v = ref $v eq "ARRAY" ? $v->[$k] : ref $v eq "HASH" ? $v->{$k} : undef }
        print !defined $v ? "null" : JSON::PP::is_bool($v) ? ($v ? "true" : "false") : $v' "$1"
}
# problems: the findings of `dns check --json` in $OUT that are not ok, one
# "STATUS TOPIC TYPE" per line, sorted.
problems() {
    printf '%s' "$OUT" | perl -MJSON::PP -e '
        my $v = JSON::PP->new->decode(do { local $/; <STDIN> });
        print join("\n", sort map { "$_->{status} $_->{topic} $_->{type}" } grep { $_->{status} ne "ok" } @{$v->{findings}})'
}

# --- the pieces: ports, a CA and a certificate, NSD, HTTPS -------------------------
# Every mta-sts name the certificate covers; badcert.test is left out.
DOMAINS="good.test nomx.test elsemx.test badspf.test twospf.test plusall.test dmarcrej.test stale.test badkey.test nosts.test badstsid.test badpolicy.test nopolicy.test badcert.test"
san=$(for d in $DOMAINS; do [ "$d" = badcert.test ] || printf 'DNS:mta-sts.%s,' "$d"; done)
(
    cd "$T_DIR/pki"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=ERS test CA" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout web.key -out web.csr -subj "/CN=mta-sts.good.test" 2>/dev/null
    printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "${san%,}" >web.ext
    openssl x509 -req -in web.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -out web.pem -extfile web.ext 2>/dev/null
)
[ -s "$T_DIR/pki/web.pem" ] || { echo "Bail out! could not make the test certificates"; exit 1; }

https_port=
for p in $(shuf -i 27000-27999 -n 20); do
    ss -Htln "sport = :$p" | grep -q . || { https_port=$p; break; }
done
[ -n "$https_port" ] || { echo "Bail out! no free port for HTTPS"; exit 1; }
"$top/test/dnsserver" start "$DNS" >/dev/null || { echo "Bail out! test/dnsserver did not start"; exit 1; }
. "$DNS/dns.env"

cat >>"$T_DIR/ers.yaml" <<YAML
mailstack:
  tls_cert: $T_DIR/pki/web.pem
dns:
  resolver: 127.0.0.1:$DNS_PORT
  mail_ipv4: 127.0.0.1
  https_port: $https_port
  ca_file: $T_DIR/pki/ca.pem
  timeout: 2
YAML

expect 0 "setup: IMAP host" server host add mail.example.net --kind imap
expect 0 "setup: SMTP host" server host add mail.example.net --kind smtp
M=(--imap-host mail.example.net --smtp-host mail.example.net)
expect 0 "setup: tenant Acme with good.test" tenant add Acme --domain good.test "${M[@]}"
expect 0 "setup: tenant Other" tenant add Other --domain other.test "${M[@]}"
for d in $DOMAINS; do
    [ "$d" = good.test ] || "$ERSCTL" -q tenant domain add Acme "$d" || echo "Bail out! domain $d"
done
# A DKIM key for every domain; stale.test rotates, so that its first
# selector, "default", is retired.
for d in $DOMAINS; do "$ERSCTL" -q dkim enable "$d" >/dev/null || echo "Bail out! dkim enable $d"; done
"$ERSCTL" -q dkim rotate stale.test --selector s2 >/dev/null &&
    "$ERSCTL" -q dkim rotate stale.test --activate --force --grace 0 >/dev/null &&
    "$ERSCTL" -q dkim list >/dev/null || echo "Bail out! rotating stale.test's key"
expect 0 "setup: badpolicy.test's MTA-STS mode is enforce" mtasts mode badpolicy.test enforce

# --- dns plan ---------------------------------------------------------------------
expect 0 "dns plan: a table" dns plan good.test
like "$OUT" '^DNS plan of good.test \(tenant "Acme"\)' "... headed by domain and tenant"
like "$OUT" 'RECORD +TYPE +NAME +VALUE +PUBLISHED BY +NEED' "... with its columns"
like "$OUT" 'mail host +A +mail\.good\.test +127\.0\.0\.1 +tenant +required' "... the mail host's A record (manual 001)"
like "$OUT" 'MX +MX +good\.test +10 mail\.good\.test\. +tenant +required' "... MX 10 mail.DOMAIN"
like "$OUT" 'SPF +TXT +good\.test +v=spf1 mx -all ' "... SPF v=spf1 mx -all"
like "$OUT" 'DKIM +TXT +default\._domainkey\.good\.test +v=DKIM1; k=rsa; p=MIIB' "... the DKIM key's TXT record"
like "$OUT" 'DMARC +TXT +_dmarc\.good\.test +v=DMARC1; p=none; rua=mailto:dmarc@good\.test' "... DMARC p=none while the domain is new"
like "$OUT" 'note: DMARC starts with p=none: the domain is new \(created less than 30 days ago\)' "... and why, with the advice"
like "$OUT" 'MTA-STS +TXT +_mta-sts\.good\.test +v=STSv1; id=[0-9a-f]{20} ' "... the MTA-STS TXT record with its id"
like "$OUT" 'MTA-STS +A +mta-sts\.good\.test +127\.0\.0\.1 ' "... and the policy host"
like "$OUT" 'TLS-RPT +TXT +_smtp\._tls\.good\.test +v=TLSRPTv1; rua=mailto:tls-rpt@good\.test' "... TLS-RPT"
like "$OUT" 'autoconfig +SRV +_imaps\._tcp\.good\.test +0 1 993 mail\.example\.net\. ' "... the IMAP SRV record at the tenant's IMAP host"
like "$OUT" 'autoconfig +SRV +_submission\._tcp\.good\.test +0 1 587 mail\.example\.net\. ' "... the submission SRV record"
like "$OUT" 'autoconfig +CNAME +autoconfig\.good\.test +mail\.good\.test\. ' "... autoconfig at the mail host"
like "$OUT" 'autoconfig +CNAME +autodiscover\.good\.test +mail\.good\.test\. ' "... autodiscover too"
spki=$(openssl x509 -in "$T_DIR/pki/web.pem" -noout -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1)
like "$OUT" "TLSA +TLSA +_25\._tcp\.mail\.good\.test +3 1 1 $spki +tenant +optional" "... TLSA 3 1 1 of mailstack.tls_cert's key"

expect 0 "dns plan --json" dns plan good.test --json
is "$(jget domain) $(jget tenant) $(jget mx_host) $(jget mx_in_domain) $(jget new) $(jget dmarc_policy)" \
    "good.test Acme mail.good.test true true none" "... domain, tenant, MX host, new, DMARC policy"
is "$(jget records.0.topic)|$(jget records.0.type)|$(jget records.0.name)|$(jget records.0.value)|$(jget records.0.publisher)|$(jget records.0.need)" \
    "mail host|A|mail.good.test|127.0.0.1|tenant|required" "... records with stable keys"
is "$(jget mta_sts.mode)" testing "... MTA-STS mode testing first (manual 001)"
sts_id=$(jget mta_sts.id)
expect 0 "--json is --format json" --json dns plan good.test
is "$(jget mta_sts.id)" "$sts_id" "... the same plan"

expect 0 "dns plan --format zone" dns plan good.test --format zone
zone=$OUT
like "$zone" 'default\._domainkey\.good\.test\.	3600	IN	TXT	"v=DKIM1; k=rsa; p=[^"]*" "[^"]*"' "... the DKIM key split into quoted strings"
long=$(printf '%s\n' "$zone" | grep -o '"[^"]*"' | awk '{ if (length($0) - 2 > 255) n++ } END { print n + 0 }')
is "$long" 0 "... none longer than 255 bytes"
soa() { printf '$TTL 3600\n%s. IN SOA ns.%s. hostmaster.%s. 1 3600 600 86400 300\n%s. IN NS ns.%s.\nns.%s. IN A 127.0.0.1\n' "$1" "$1" "$1" "$1" "$1" "$1"; }
{ soa good.test; printf '%s\n' "$zone"; } >"$T_DIR/plan.zone"
out=$(nsd-checkzone good.test "$T_DIR/plan.zone" 2>&1)
ok $? "nsd-checkzone accepts the zone (with an SOA and NS added): $out"

# The mail host outside the domain: its records are the operator's.
sed 's/^  mail_ipv4: .*/&\n  mx_host: mx.hoster.example/' "$T_DIR/ers.yaml" >"$T_DIR/outside.yaml"
expect 0 "dns plan with dns.mx_host outside the domain" --config "$T_DIR/outside.yaml" dns plan good.test --json
is "$(jget mx_in_domain)|$(jget records.0.name)|$(jget records.0.publisher)|$(jget records.1.value)|$(jget records.1.publisher)" \
    "false|mx.hoster.example|operator|10 mx.hoster.example.|tenant" "... the mail host's A record is the operator's, the MX the tenant's"
expect 0 "... zone form" --config "$T_DIR/outside.yaml" dns plan good.test --format zone
like "$OUT" '; published by the operator, not in this zone:
; mx\.hoster\.example\.	3600	IN	A	127\.0\.0\.1' "... as a comment"
{ soa good.test; printf '%s\n' "$OUT"; } >"$T_DIR/outside.zone"
out=$(nsd-checkzone good.test "$T_DIR/outside.zone" 2>&1)
ok $? "... which nsd-checkzone accepts: $out"

# --- mtasts ---------------------------------------------------------------------
expect 0 "mtasts policy" mtasts policy good.test
is "$OUT" "version: STSv1
mode: testing
mx: mail.good.test
max_age: 604800" "... the policy file (RFC 8461), mode testing"
expect 0 "mtasts policy --json" --json mtasts policy good.test
is "$(jget id) $(jget url) $(jget txt.name)" "$sts_id https://mta-sts.good.test/.well-known/mta-sts.txt _mta-sts.good.test" \
    "... with its id, URL and TXT record"
audit() { sql "SELECT count(*) FROM ers.audit_log WHERE action = 'mtasts.mode' AND outcome = 'ok'"; }
a0=$(audit)
expect 0 "mtasts mode enforce" mtasts mode other.test enforce
like "$OUT" 'MTA-STS mode of other.test: testing -> enforce' "... says old and new"
like "$OUT" '_mta-sts\.other\.test TXT "v=STSv1; id=[0-9a-f]{20}"' "... and the TXT record to publish"
is "$(sql "SELECT mta_sts_mode FROM ers.domain WHERE name = 'other.test'") $(($(audit) - a0))" "enforce 1" "... stored, one audit row"
run mtasts policy other.test
like "$OUT" '^version: STSv1
mode: enforce
' "... the policy says enforce"
run --json mtasts policy other.test
new_id=$(jget id)
run --json dns plan other.test
is "$(jget mta_sts.id)" "$new_id" "the plan's id is the policy's"
run --json mtasts policy good.test
[ "$new_id" != "$(jget id)" ]; ok $? "... and differs from the testing policy's (it changes with the text)"
expect 0 "the same mode again" --json mtasts mode other.test enforce
is "$(jget changed) $(($(audit) - a0))" "false 1" "... changes nothing and writes no audit row"
refused 65 "the MTA-STS mode must be testing, enforce or none; got \"strict\"" "a bad mode" mtasts mode other.test strict
refused 66 "no tenant has the domain nowhere\.test" "mtasts mode of an unknown domain" mtasts mode nowhere.test enforce
expect 0 "setup: a tenant admin of Acme" user add ta@good.test --role tenant_admin --generate-password
expect 0 "setup: a super admin" user add sa@good.test --role super_admin --generate-password
denied "may not mtasts.set" "a tenant admin may not change the MTA-STS mode" --as ta@good.test mtasts mode good.test enforce
expect 0 "a super admin may" --as sa@good.test mtasts mode other.test testing
expect 0 "a tenant admin sees its own domain's plan" --as ta@good.test dns plan good.test
denied "may not dns.view" "... not another tenant's" --as ta@good.test dns plan other.test

# --- bad input ------------------------------------------------------------------
refused 66 "dns plan: no tenant has the domain nowhere\.test \(see: ersctl tenant domain list\)" \
    "dns plan of an unknown domain" dns plan nowhere.test
refused 64 "--format must be one of: table json zone; got \"yaml\"" "dns plan --format yaml" dns plan good.test --format yaml
refused 65 "dns plan: .*domain" "dns plan of a malformed domain" dns plan 'not a domain'
refused 66 "no tenant has the domain nowhere\.test" "dns check of an unknown domain" dns check nowhere.test
refused 64 "give one DOMAIN or --all, not both" "dns check DOMAIN --all" dns check good.test --all
refused 64 "dns check: give one DOMAIN or --all \\(see: ersctl help dns check\\)" "dns check without a domain" dns check
grep -v '^  mail_ipv4' "$T_DIR/ers.yaml" >"$T_DIR/noip.yaml"
refused 78 "dns\.mail_ipv4 is not set" "dns plan without dns.mail_ipv4" --config "$T_DIR/noip.yaml" dns plan good.test
sed 's/^  resolver: .*/  resolver: "127.0.0.1:99999"/' "$T_DIR/ers.yaml" >"$T_DIR/badres.yaml"
refused 78 "dns\.resolver in .* must be HOST, HOST:PORT or \[IPV6\]:PORT" "a bad dns.resolver" --config "$T_DIR/badres.yaml" dns check good.test

# --- the zones: one correct, one broken per problem class -------------------------
plan_zone() { "$ERSCTL" dns plan "$1" --format zone; }
for d in $DOMAINS; do
    { soa "$d"; plan_zone "$d"; } >"$DNS/zones/$d.zone"
done
edit() { # DOMAIN SED-SCRIPT
    sed -i "$2" "$DNS/zones/$1.zone"
}
edit nomx.test '/	IN	MX	/d'
edit elsemx.test '$a elsemx.test. 3600 IN MX 20 mx.elsewhere.example.'
edit badspf.test 's/"v=spf1 mx -all"/"v=spf1 a:other.example -all"/'
edit twospf.test '$a twospf.test. 3600 IN TXT "v=spf1 ip4:192.0.2.1 -all"'
edit plusall.test 's/"v=spf1 mx -all"/"v=spf1 mx +all"/'
edit dmarcrej.test '/_domainkey/d; s/p=none;/p=reject;/'
edit stale.test '$a default._domainkey.stale.test. 3600 IN TXT "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAold"'
edit badkey.test 's/p=MIIBIjAN/p=MIIBIjAX/'
edit nosts.test '/_mta-sts\./d'
edit badstsid.test 's/v=STSv1; id=[0-9a-f]*/v=STSv1; id=20260521T000000Z/'
edit nopolicy.test 's/^\(mta-sts\.nopolicy\.test\.	3600	IN	A	\)127\.0\.0\.1/\1127.0.0.2/'
checked=0
for z in "$DNS"/zones/*.zone; do
    nsd-checkzone "$(basename "$z" .zone)" "$z" >/dev/null 2>&1 && checked=$((checked + 1))
done
is "$checked" 14 "nsd-checkzone accepts all 14 zones"
"$top/test/dnsserver" restart "$DNS" >/dev/null || echo "Bail out! nsd did not load the zones"

# One policy file for every domain (s_server serves one directory): mode
# testing, every test domain's MX host.
{
    echo "version: STSv1"
    echo "mode: testing"
    for d in $DOMAINS; do echo "mx: mail.$d"; done
    echo "max_age: 604800"
} >"$T_DIR/www/.well-known/mta-sts.txt"
(cd "$T_DIR/www" && exec openssl s_server -quiet -WWW -accept "127.0.0.1:$https_port" \
    -cert "$T_DIR/pki/web.pem" -key "$T_DIR/pki/web.key" >"$T_DIR/s_server.log" 2>&1 </dev/null) &
https_pid=$!
for i in $(seq 1 50); do ss -Htln "sport = :$https_port" | grep -q . && break; sleep 0.1; done

# --- dns check ------------------------------------------------------------------
expect 0 "dns check of the correct zone: ready, exit 0" dns check good.test
like "$OUT" '^good\.test: ready \(14 ok, 0 missing, 0 wrong, 0 harmful, 0 failed lookups\)' "... 14 records ok"
like "$OUT" 'ok +MTA-STS +HTTPS +https://mta-sts\.good\.test:[0-9]+/\.well-known/mta-sts\.txt ' "... the policy fetched over HTTPS"
unlike "$OUT" '^(MISSING|WRONG|HARMFUL|ERROR)|not blocking' "... nothing reported"
expect 0 "dns check --json of the correct zone" --json dns check good.test
is "$(jget ready) $(jget counts.ok) $(problems | grep -c .)" "true 14 0" "... ready, 14 ok, no problem"
is "$(jget findings.0.status)|$(jget findings.0.topic)|$(jget findings.0.expected)|$(jget findings.0.found)|$(jget findings.0.blocking)" \
    "ok|mail host|127.0.0.1|127.0.0.1|false" "... findings with stable keys"

# check DOMAIN STATUS-LINES DESCRIPTION: exit 69 and exactly these problems.
check() {
    local d=$1 want=$2 desc=$3
    run --json dns check "$d"
    local got
    got=$(problems)
    if [ "$RC" -eq 69 ] && [ "$(jget ready)" = false ] && [ "$got" = "$want" ]; then ok 0 "$desc"; else
        ok 1 "$desc"; diag "wanted exit 69 and:" "$want" "got exit $RC and:" "$got"; fi
}
check nomx.test "missing MX MX" "missing MX"
check elsemx.test "harmful MX MX" "an extra MX pointing elsewhere: harmful"
check badspf.test "wrong SPF TXT" "SPF that does not authorize the MX: wrong"
check twospf.test "harmful SPF TXT" "two SPF records: harmful"
check plusall.test "harmful SPF TXT" "SPF +all: harmful"
check dmarcrej.test "harmful DMARC TXT
missing DKIM TXT" "DMARC p=reject with the DKIM record missing: both found"
check stale.test "harmful DKIM TXT" "a retired DKIM selector still published: harmful"
check badkey.test "wrong DKIM TXT" "a wrong DKIM p=: wrong"
check badstsid.test "wrong MTA-STS TXT" "a stale MTA-STS id: wrong"
check badpolicy.test "wrong MTA-STS HTTPS" "a served policy whose mode is not the plan's: wrong"
check nopolicy.test "wrong MTA-STS A
wrong MTA-STS HTTPS" "a policy host elsewhere and unreachable while the TXT record announces it"
check badcert.test "wrong MTA-STS HTTPS" "a certificate not valid for mta-sts.DOMAIN: the fetch fails"
run --json dns check stale.test
like "$OUT" 'stale DKIM selector default' "... the stale selector is named"
run dns check plusall.test
like "$OUT" 'HARMFUL +SPF +TXT +plusall\.test +v=spf1 mx -all +v=spf1 mx \+all +\+all: anyone on the Internet may send' \
    "the table: expected vs found and why"
like "$ERR" '^ersctl: dns check: the domain is not ready' "... and one line on stderr"
expect 0 "missing MTA-STS TXT: a recommended record, so the domain is still ready" dns check nosts.test
like "$OUT" 'missing \(not blocking\) +MTA-STS +TXT +_mta-sts\.nosts\.test' "... reported as missing, not blocking"
run --json dns check nosts.test
is "$(problems)" "missing MTA-STS TXT" "... the only problem"

# A missing optional record does not block; a lookup that fails does.
sed -i '/^autoconfig\.good\.test\./d' "$DNS/zones/good.test.zone"
"$top/test/dnsserver" restart "$DNS" >/dev/null
expect 0 "a missing optional record: still ready" dns check good.test
like "$OUT" 'missing \(not blocking\) +autoconfig +CNAME +autoconfig\.good\.test' "... reported as not blocking"
expect 0 "setup: a domain no DNS server answers for" tenant domain add Acme unserved.test
run --json dns check unserved.test
is "$RC $(jget counts.error) $(jget counts.missing)" "69 13 1" "a REFUSED answer is a failed lookup, not a missing record (the one missing: it has no DKIM key)"

# --- --all, concurrently -----------------------------------------------------------
run --json dns check --all
is "$RC $(jget domains_checked) $(jget ready) $(jget not_ready)" "69 16 2 14" \
    "--all: 16 domains, good.test and nosts.test ready (exit 69: the others are not)"
run dns check --all
like "$OUT" '16 domain\(s\) checked in [0-9.]+ s: 2 ready, 14 not ready' "... a summary line"
like "$ERR" '14 of 16 domains are not ready' "... and on stderr"
all=$OUT
same=0
for d in nomx.test badkey.test good.test; do
    printf '%s' "$all" | grep -q "^$d: " || same=1
done
ok $same "--all prints a table per domain"
sed -i 's/^  timeout: 2/  timeout: 2\n  concurrency: 1/' "$T_DIR/ers.yaml"
run --json dns check --all
is "$RC $(jget ready) $(jget not_ready) $(jget concurrency)" "69 2 14 1" "... the same with dns.concurrency 1"

done_testing
