#!/usr/bin/env bash
# DKIM keys (ersctl dkim) and signing through the real servers of
# test/stack: keys made, shown, rotated in stages (activation waits for DNS:
# a private nsd on loopback answers here), retired and wiped; the private
# key never in any output, log or table in clear; OpenDKIM signs what users
# submit on the submission port and never what arrives on port 25, and
# Perl's Mail::DKIM verifies the signatures against the records we print.
# Uses the stack's own database (the one its Postfix reads).
. "$(dirname "$0")/lib.sh"
. "$ERS_STACK_DIR/stack.env"
T_DB=ers

# A config of our own: the stack's, plus a resolver that is our nsd.
pick_free() { local p; for p in $(seq 26100 26999); do ss -Htlnu "sport = :$p" | grep -q . || { echo "$p"; return; }; done; }
NSD_PORT=$(pick_free)
cp "$ERS_STACK_DIR/ers.yaml" "$T_DIR/ers.yaml"
printf 'dns:\n  resolver: 127.0.0.1:%s\n  timeout: 2\n' "$NSD_PORT" >>"$T_DIR/ers.yaml"
export ERS_CONFIG=$T_DIR/ers.yaml

# Everything ersctl prints, to search for key material at the end.
ALL_OUT=$T_DIR/all-output
run() {
    OUT=$("$ERSCTL" "$@" 2>"$T_DIR/err" </dev/null); RC=$?
    ERR=$(cat "$T_DIR/err")
    printf '%s\n%s\n' "$OUT" "$ERR" >>"$ALL_OUT"
}

nsd_stop() { [ -f "$T_DIR/nsd/nsd.pid" ] && kill "$(cat "$T_DIR/nsd/nsd.pid")" 2>/dev/null; rm -f "$T_DIR/nsd/nsd.pid"; sleep 0.2; }
trap nsd_stop EXIT
# nsd_serve RECORD-LINE...: (re)starts nsd serving zone dk.test with these records
nsd_serve() {
    nsd_stop
    mkdir -p "$T_DIR/nsd"
    { printf '$ORIGIN dk.test.\n$TTL 60\n@ IN SOA ns.dk.test. hostmaster.dk.test. 1 60 60 600 60\n@ IN NS ns.dk.test.\nns IN A 127.0.0.1\n'
      printf '%s\n' "$@"; } >"$T_DIR/nsd/dk.test.zone"
    cat >"$T_DIR/nsd/nsd.conf" <<CONF
server:
  ip-address: 127.0.0.1@$NSD_PORT
  port: $NSD_PORT
  username: ""
  zonesdir: "$T_DIR/nsd"
  database: ""
  zonelistfile: "$T_DIR/nsd/zone.list"
  xfrdfile: "$T_DIR/nsd/xfrd.state"
  pidfile: "$T_DIR/nsd/nsd.pid"
  logfile: "$T_DIR/nsd/nsd.log"
  server-count: 1
remote-control:
  control-enable: no
zone:
  name: dk.test
  zonefile: dk.test.zone
CONF
    nsd -c "$T_DIR/nsd/nsd.conf" || return 1
    for _ in $(seq 1 50); do drill -p "$NSD_PORT" @127.0.0.1 dk.test SOA >/dev/null 2>&1 && return 0; sleep 0.1; done
    return 1
}

zone_txt() { printf '%s' "$1" | fold -w 200 | sed 's/.*/"&"/' | tr '\n' ' '; }

# Perl's Mail::DKIM, its DNS answered from a file of "NAME VALUE" lines.
# Mail::DKIM 1.20230212 (Debian 12) knows RSA only: for ed25519-sha256
# (RFC 8463) it gets an algorithm class here -- its own canonicalization
# and body hash, CryptX's Ed25519 over the SHA-256 header hash.
cat >"$T_DIR/verify.pl" <<'PERL'
use strict; use warnings;
use Mail::DKIM::Verifier; use Net::DNS; use MIME::Base64; use Crypt::PK::Ed25519;
package Mail::DKIM::Algorithm::ed25519_sha256 {
    use base 'Mail::DKIM::Algorithm::rsa_sha256';
    sub verify {
        my $self = shift;
        my $pk = Crypt::PK::Ed25519->new;
        $pk->import_key_raw(MIME::Base64::decode_base64($self->signature->get_public_key->data), 'public');
        return unless $pk->verify_message(MIME::Base64::decode_base64($self->signature->data), $self->{header_digest}->digest);
        return $self->check_body_hash;
    }
}
{
    no warnings qw(redefine once);
    my $class = \&Mail::DKIM::Signature::get_algorithm_class;
    *Mail::DKIM::Signature::get_algorithm_class = sub {
        $_[1] eq 'ed25519-sha256' ? 'Mail::DKIM::Algorithm::ed25519_sha256' : $class->(@_);
    };
    my $check = \&Mail::DKIM::PublicKey::check;
    *Mail::DKIM::PublicKey::check = sub {
        my $self = shift;
        return $check->($self, @_) unless ($self->get_tag('k') // '') eq 'ed25519';
        die "invalid data\n" unless length(MIME::Base64::decode_base64($self->data // '')) == 32;
        return 1;
    };
    # Its "OpenSSL key object" is asked only for its size (32 bytes).
    my $convert = \&Mail::DKIM::PublicKey::convert;
    *Mail::DKIM::PublicKey::convert = sub {
        my $self = shift;
        return $convert->($self, @_) unless ($self->get_tag('k') // '') eq 'ed25519';
        $self->{CORK} = bless {}, 'EdCork';
        return 1;
    };
    *EdCork::size = sub { 32 };
}
my ($records, $msgfile) = @ARGV;
my %txt;
open my $r, '<', $records or die "$records: $!";
while (<$r>) { chomp; my ($n, $v) = split / /, $_, 2; $txt{lc $n} = $v; }
{
    no warnings 'redefine';
    *Mail::DKIM::DNS::query = sub {
        my ($name, $type) = @_;
        my $v = $txt{lc $name};
        if (!defined $v || $type ne 'TXT') { $@ = 'NXDOMAIN'; return; }
        $@ = 'NOERROR';
        return Net::DNS::RR->new(name => $name, type => 'TXT', txtdata => [unpack('(a255)*', $v)]);
    };
}
my $dkim = Mail::DKIM::Verifier->new;
open my $m, '<', $msgfile or die "$msgfile: $!";
while (<$m>) { s/\r?\n\z//; $dkim->PRINT("$_\015\012"); }
$dkim->CLOSE;
my @sigs = $dkim->signatures;
print "none\n" unless @sigs;
for my $s (@sigs) {
    print join(' ', $s->result, 'd=' . $s->domain, 's=' . $s->selector, 'a=' . $s->algorithm,
               $s->result_detail ? '(' . $s->result_detail . ')' : ''), "\n";
}
PERL
records=$T_DIR/records
add_records() { # DOMAIN: the domain's live keys' TXT records, as ersctl shows them
    run --json dkim show "$1"
    printf '%s' "$OUT" | perl -MJSON::PP -e 'my $j = decode_json(join "", <STDIN>); print "$_->{txt_name} $_->{txt_value}\n" for @{$j->{keys}}' >>"$records"
}

pw=$T_DIR/pw; echo 'dkim-password-123' >"$pw"
P=dkim-password-123

# OpenDKIM signs with one algorithm for the whole server, so the rules
# tested here see every domain's keys: keys an earlier test of this lane
# left live (one ended by test/run-all's time limit, before its cleanup)
# are retired first, the way an operator would.
for d in $(sql "SELECT DISTINCT d.name FROM ers.dkim_key k JOIN ers.domain d ON d.id = k.domain_id WHERE k.state IN ('active', 'published')"); do
    diag "setup: retiring the DKIM keys an earlier test left on $d"
    "$ERSCTL" -q dkim disable "$d" >/dev/null || echo "Bail out! cannot retire the DKIM keys of $d"
done

expect 0 "setup: IMAP host" -q server host add mx.dkim.test --kind imap --port 143 --tls starttls
expect 0 "setup: SMTP host" -q server host add mx.dkim.test --kind smtp --port 587
expect 0 "setup: tenant" -q tenant add "DKIM Co" --domain dk.test --imap-host mx.dkim.test --imap-port 143 --smtp-host mx.dkim.test
expect 0 "setup: a second domain" -q tenant domain add "DKIM Co" dk2.test
expect 0 "setup: another tenant" -q tenant add "Other Co" --domain other-dk.test --imap-host mx.dkim.test --imap-port 143 --smtp-host mx.dkim.test
expect 0 "setup: a user" -q user add ann@dk.test --password-file "$pw"
expect 0 "setup: a tenant admin" -q user add boss@dk.test --password-file "$pw" --role tenant_admin

# --- errors: clear, and nothing changes -----------------------------------
refused 66 "domain nope.test is not one of any tenant's domains" "enable for a domain no tenant has" dkim enable nope.test
refused 65 '--selector must be 1\.\.63 lower-case letters, digits and hyphens.*got "Bad_Sel"' "a selector that is no DNS label" \
    dkim enable dk.test --selector Bad_Sel
refused 65 '--selector must be .*got "-x"' "a selector starting with a hyphen" dkim enable dk.test --selector=-x
refused 64 '--algorithm must be one of: rsa-2048 rsa-4096 ed25519; got "dsa"' "an unknown algorithm" dkim enable dk.test --algorithm dsa
refused 66 "nope.test is not one of any tenant's domains" "show for an unknown domain" dkim show nope.test
refused 66 'dk.test has no live DKIM key' "disable without a key" dkim disable dk.test
refused 66 'dk.test has no published DKIM key to activate: make one first with ersctl dkim rotate dk.test' \
    "activate without a published key" dkim rotate dk.test --activate
refused 64 '--force and --grace go with --activate' "--force without --activate" dkim rotate dk.test --force

# --- enable, show, list -----------------------------------------------------
a0=$(sql "SELECT max(id) FROM ers.audit_log")
expect 0 "enable dk.test (rsa-2048, selector default)" dkim enable dk.test
like "$OUT" 'created DKIM key default for dk\.test \(rsa-2048, active\)' "... says what it made"
record=$(printf '%s\n' "$OUT" | grep '^default\._domainkey\.dk\.test\. IN TXT ')
like "$record" '^default\._domainkey\.dk\.test\. IN TXT "v=DKIM1; k=rsa; p=MII[A-Za-z0-9+/]+" "[A-Za-z0-9+/=]+"$' \
    "... and prints the TXT record, split in quoted strings"
longest=$(printf '%s' "$record" | grep -o '"[^"]*"' | awk '{ print length($0) - 2 }' | sort -n | tail -n 1)
[ "$longest" -le 255 ]; ok $? "... none longer than 255 bytes (longest $longest)"
p_value=$(printf '%s' "$record" | grep -o '"[^"]*"' | tr -d '"\n' | sed 's/.*p=//')
printf '%s' "$p_value" | base64 -d 2>/dev/null | openssl pkey -pubin -inform DER -noout -text 2>/dev/null | grep -q 'Public-Key: (2048 bit)'
ok $? "... p= is a 2048-bit RSA SubjectPublicKeyInfo"
is "$(sql "SELECT action || ' ' || target || ' ' || outcome FROM ers.audit_log WHERE id > $a0")" \
    "dkim.enable default._domainkey.dk.test ok" "... one audit row"
is "$(sql "SELECT state || ' ' || left(private_key_sealed, 3) FROM ers.dkim_key WHERE selector = 'default' AND domain_id = (SELECT id FROM ers.domain WHERE name = 'dk.test')")" "active v1:" \
    "... stored active, its private key sealed"
refused 73 'dk\.test already has a DKIM key with selector "default" \(active; see: ersctl dkim show dk\.test\)' \
    "the same selector twice" dkim enable dk.test
expect 0 "a second key for dk.test becomes published, not active" --json dkim enable dk.test --selector extra --algorithm rsa-4096
like "$OUT" '"state": "published"' "... published"
like "$OUT" '"txt_strings": "\\"v=DKIM1; k=rsa; p=MII[^"]{234}\\" \\"[^"]{255}\\" \\"[^"]+\\""' "... an RSA-4096 record is three strings of at most 255 bytes"
refused 73 'OpenDKIM signs with one algorithm for the whole server, and the active keys of dk\.test are RSA: a ed25519 key cannot sign beside them \(use rsa-2048 or rsa-4096\)' \
    "an ed25519 key cannot sign beside RSA ones (OpenDKIM 2.11: one SignatureAlgorithm)" dkim enable dk2.test --selector ed --algorithm ed25519
expect 0 "enable dk2.test" -q dkim enable dk2.test

expect 0 "dkim show dk.test" dkim show dk.test
like "$OUT" 'dk\.test selector default: rsa-2048, active \(signs mail\)' "... the active key first"
like "$OUT" 'dk\.test selector extra: rsa-4096, published \(publish it; not signing until activated\)' "... then the published one"
expect 0 "dkim list" --json dkim list
like "$OUT" '"domain": "dk2\.test"' "... every domain's keys"
expect 0 "a tenant admin sees its own domain's records" --as boss@dk.test dkim show dk.test
like "$OUT" 'default\._domainkey\.dk\.test\. IN TXT' "... with the TXT record"
expect 0 "a tenant admin's list" --as boss@dk.test --json dkim list
unlike "$OUT" 'other-dk' "... holds only its own tenant's domains"
expect 0 "setup: a key for the other tenant" -q dkim enable other-dk.test --selector o1
denied 'boss@dk\.test \(tenant_admin\) may not dkim\.view' "a tenant admin may not see another tenant's domain" \
    --as boss@dk.test dkim show other-dk.test
denied 'may not dkim\.manage' "a tenant admin may not make keys (manual 001)" --as boss@dk.test dkim enable dk.test --selector mine
denied 'may not dkim\.manage' "... nor retire them" --as boss@dk.test dkim disable dk.test
denied 'may not dkim\.view' "a user may not list keys" --as ann@dk.test dkim list

# --- OpenDKIM's files ---------------------------------------------------------
mkdir -p "$T_DIR/odk"
expect 0 "mailstack render --opendkim" mailstack render --opendkim "$T_DIR/odk"
keyfile=$T_DIR/odk/keys/dk.test.default.private
[ -f "$keyfile" ] && [ "$(stat -c '%a %U' "$keyfile")" = "600 opendkim" ]
ok $? "the active key's file is mode 0600, owned by opendkim"
grep -q "^default._domainkey.dk.test dk.test:default:$keyfile\$" "$T_DIR/odk/KeyTable"; ok $? "KeyTable names it"
grep -qx '\*@dk.test default._domainkey.dk.test' "$T_DIR/odk/SigningTable"; ok $? "SigningTable signs dk.test's mail with it"
[ -e "$T_DIR/odk/keys/dk2.test.default.private" ] && [ ! -e "$T_DIR/odk/keys/dk.test.extra.private" ]
ok $? "every domain's active key is written, published keys are not"
like "$(cat "$T_DIR/odk/opendkim.conf")" "Socket +inet:$OPENDKIM_PORT@127\.0\.0\.1" "opendkim.conf: the milter socket from mailstack.opendkim_milter"
like "$(grep -A3 'smtpd_milters' "$POSTFIX_CONFIG/master.cf")" "milter_default_action=tempfail" "master.cf: submission has the milter, tempfail when it is down"
# (Port 25 has milters of its own -- the spam filter's -- but never OpenDKIM.)
is "$(grep smtpd_milters "$POSTFIX_CONFIG/master.cf" | grep -c ":$OPENDKIM_PORT")" 1 "... and only submission: port 25 is never signed"
openssl pkey -in "$keyfile" -pubout -outform DER 2>/dev/null | base64 -w0 | grep -qxF "$p_value"
ok $? "the key file is the private half of the published key"
pem_body=$(grep -v '^-----' "$keyfile" | tr -d '\n')
run --json mailstack check
is "$(printf '%s' "$OUT" | perl -MJSON::PP -e 'print join ",", map { "$_->{check}: " . ($_->{ok} ? "ok" : "FAILED") } grep { $_->{component} eq "opendkim" } @{decode_json(join "", <STDIN>)->{checks}}')" \
    "milter port answers: ok" "mailstack check: OpenDKIM answers the milter protocol"

# --- secrecy ---------------------------------------------------------------
leaks=0
for chunk in $(grep -v '^-----' "$keyfile"); do
    grep -qF -- "$chunk" "$ALL_OUT" && leaks=$((leaks + 1))
    dump | grep -qF -- "$chunk" && leaks=$((leaks + 1))
done
is "$leaks" 0 "no line of the private key is in any output, table or audit row"
[ ${#pem_body} -gt 1000 ]; ok $? "... (checked: a ${#pem_body}-character key body)"
unlike "$(sql "SELECT string_agg(private_key_sealed, ' ') FROM ers.dkim_key WHERE private_key_sealed NOT LIKE 'v1:%'")" '.' \
    "every stored private key is sealed (v1:...)"
unlike "$(cat "$ERS_STACK_DIR"/postfix/log/*.log "$ERS_STACK_DIR"/dovecot/log/*.log "$ERS_STACK_DIR"/policyd.log 2>/dev/null | grep -F -- "${pem_body:100:40}")" '.' \
    "... nor in the servers' logs"

# --- signing, end to end -----------------------------------------------------
expect 0 "test/stack reload-dkim: OpenDKIM gets dk.test's key" -q mailstack render --opendkim "$T_DIR/odk"
"$ERS_TOP/test/stack" reload-dkim "$ERS_STACK_DIR" >/dev/null; ok $? "test/stack reload-dkim"
: >"$records"; add_records dk.test; add_records dk2.test

mailbox_file() { # USER SUBJECT: the delivered message's file, waiting for it
    local dir i f
    dir=$MAIL_ROOT/$(sql "SELECT mail_path FROM ers_mail.mailboxes WHERE address = '$1'")/Maildir
    for i in $(seq 1 100); do
        f=$(grep -lsF "Subject: $2" "$dir"/new/* "$dir"/cur/* 2>/dev/null | head -n 1)
        [ -n "$f" ] && { echo "$f"; return 0; }
        sleep 0.1
    done
    return 1
}
submit() { # FROM TO SUBJECT: with SMTP AUTH on the submission port
    swaks --server "127.0.0.1:$SUBMISSION_PORT" --tls --from "$1" --to "$2" --auth PLAIN --auth-user "$1" --auth-password "$P" \
        --helo client.example.org --header "Subject: $3" --body "body of $3" --timeout 20 >"$T_DIR/swaks.out" 2>&1
}
header_of() { perl -ne 'if (/^DKIM-Signature:/i) { $h = 1 } elsif (!/^[ \t]/) { $h = 0 } if ($h) { chomp; s/^\s+/ /; print }' "$1"; }
verify() { perl "$T_DIR/verify.pl" "$records" "$1" 2>&1; }

submit ann@dk.test ann@dk.test "signed rsa"; ok $? "a message submitted with SMTP AUTH on submission is accepted"
msg=$(mailbox_file ann@dk.test "signed rsa"); ok $? "... and delivered"
like "$(header_of "$msg")" 'a=rsa-sha256; c=relaxed/simple; d=dk\.test; s=default;' "... with OpenDKIM's signature (d=dk.test, s=default)"
like "$(verify "$msg")" '^pass d=dk\.test s=default a=rsa-sha256' "Mail::DKIM verifies it: pass"
sed 's/^body of signed rsa/body of signed rsa, altered/' "$msg" >"$T_DIR/altered.eml"
like "$(verify "$T_DIR/altered.eml")" '^fail d=dk\.test .*body has been altered' "a message altered after signing fails"
swaks --server "127.0.0.1:$SUBMISSION_PORT" --tls --from ann@dk.test --to ann@dk.test --auth PLAIN --auth-user ann@dk.test \
    --auth-password "$P" --h-From ceo@other-dk.test --header "Subject: another tenant's From" --body "forged" \
    --helo client.example.org --timeout 20 >"$T_DIR/swaks-from.out" 2>&1
msg=$(mailbox_file ann@dk.test "another tenant's From")
like "$(header_of "$msg")" 'd=dk\.test; s=default;' \
    "a From: header of another tenant's domain is signed for the login's own domain (the envelope sender) ..."
unlike "$(header_of "$msg")" 'd=other-dk' "... never with the other tenant's key"
swaks --server "127.0.0.1:$SMTP_PORT" --from someone@outside.example --to ann@dk.test --helo client.example.org \
    --header "Subject: inbound on 25" --body "from outside" --timeout 20 >"$T_DIR/swaks25.out" 2>&1
msg25=$(mailbox_file ann@dk.test "inbound on 25"); ok $? "mail arriving on port 25 is delivered"
unlike "$(cat "$msg25")" '^DKIM-Signature:' "... with no DKIM-Signature (manual 004)"
swaks --server "127.0.0.1:$SMTP_PORT" --from ann@dk.test --to ann@dk.test --helo client.example.org \
    --header "Subject: forged on 25" --body "claims to be dk.test" --timeout 20 >"$T_DIR/swaks25b.out" 2>&1
msg25=$(mailbox_file ann@dk.test "forged on 25")
unlike "$(cat "$msg25" 2>/dev/null)" '^DKIM-Signature:' "... even with a From: in a signing domain"

# --- staged rotation ----------------------------------------------------------
expect 0 "disable the published extra key only" -q dkim disable dk.test --selector extra
is "$(sql "SELECT state || ' ' || coalesce(private_key_sealed, 'wiped') FROM ers.dkim_key WHERE selector = 'extra'")" "retired wiped" \
    "... retired, its private key wiped"
refused 73 'selector "extra" of dk\.test was used before \(now retired\)' "a retired selector is not used again" \
    dkim enable dk.test --selector extra
expect 0 "disable dk2.test's keys" -q dkim disable dk2.test
expect 0 "... and other-dk.test's: only dk.test signs now" -q dkim disable other-dk.test
expect 0 "rotate dk.test to ed25519: stage one" --json dkim rotate dk.test --algorithm ed25519
like "$OUT" "\"selector\": \"s$(date -u +%Y%m%d)\"" "... the new selector is sYYYYMMDD"
like "$OUT" '"state": "published"' "... published, not signing"
newsel=s$(date -u +%Y%m%d)
new_value=$(sql "SELECT 'v=DKIM1; k=ed25519; p=' || public_key FROM ers.dkim_key WHERE selector = '$newsel'")
old_value=$(sql "SELECT 'v=DKIM1; k=rsa; p=' || public_key FROM ers.dkim_key WHERE selector = 'default' AND state = 'active' AND domain_id = (SELECT id FROM ers.domain WHERE name = 'dk.test')")
expect 0 "a second rotation the same day gets another selector" --json dkim rotate dk.test
like "$OUT" "\"selector\": \"$newsel-2\"" "... $newsel-2"
expect 0 "... which is retired again" -q dkim disable dk.test --selector "$newsel-2"

refused 69 "cannot ask DNS \(127\.0\.0\.1:$NSD_PORT\) for the TXT record of $newsel\._domainkey\.dk\.test" \
    "activation refused while DNS does not answer" dkim rotate dk.test --activate
nsd_serve "default._domainkey IN TXT $(zone_txt "$old_value")"; ok $? "setup: nsd serves dk.test without the new record"
refused 73 "DNS \(127\.0\.0\.1:$NSD_PORT\) has no DKIM key record at $newsel\._domainkey\.dk\.test \(no such name\): expected a TXT record with p=.{16}\.\.\..{12} \(k=ed25519\)" \
    "activation refused until the record is in DNS, saying what was expected" dkim rotate dk.test --activate
nsd_serve "$newsel._domainkey IN TXT $(zone_txt "v=DKIM1; k=ed25519; p=${old_value#*p=}")" >/dev/null
refused 73 "DNS \(127\.0\.0\.1:$NSD_PORT\) has a different key at $newsel\._domainkey\.dk\.test: found p=MII.*expected p=" \
    "a record with another key: what was found and what was expected" dkim rotate dk.test --activate
nsd_serve "default._domainkey IN TXT $(zone_txt "$old_value")" "$newsel._domainkey IN TXT $(zone_txt "$new_value")" >/dev/null
a0=$(sql "SELECT max(id) FROM ers.audit_log")
expect 0 "activation once DNS has the record" dkim rotate dk.test --activate
like "$OUT" "dk\.test now signs with selector $newsel" "... the new key signs"
like "$OUT" 'selector default is retiring: keep its TXT record published until' "... the old one is retiring"
is "$(sql "SELECT string_agg(selector || ' ' || state, ', ' ORDER BY selector) FROM ers.dkim_key k JOIN ers.domain d ON d.id = k.domain_id WHERE d.name = 'dk.test' AND state <> 'retired'")" \
    "default retiring, $newsel active" "... in the database"
is "$(sql "SELECT round(extract(epoch FROM retire_after - now()) / 3600) FROM ers.dkim_key WHERE selector = 'default' AND domain_id = (SELECT id FROM ers.domain WHERE name = 'dk.test')")" 168 \
    "... for the default grace of 168 hours"
is "$(sql "SELECT action || ' ' || outcome || ' ' || detail FROM ers.audit_log WHERE id > $a0")" \
    "dkim.activate ok default retiring until $(sql "SELECT to_char(retire_after AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM ers.dkim_key WHERE selector = 'default' AND domain_id = (SELECT id FROM ers.domain WHERE name = 'dk.test')"); $newsel active (its TXT record was seen in DNS)" \
    "... one audit row"
nsd_stop
refused 73 'OpenDKIM signs with one algorithm for the whole server, and the active keys of dk\.test are Ed25519: a rsa-2048 key cannot sign' \
    "an RSA key cannot sign beside an Ed25519 one (OpenDKIM 2.11: one SignatureAlgorithm)" dkim enable other-dk.test --selector o2

expect 0 "render and restart OpenDKIM with the ed25519 key" -q mailstack render --opendkim "$T_DIR/odk"
like "$(cat "$T_DIR/odk/opendkim.conf")" 'SignatureAlgorithm +ed25519-sha256' "... SignatureAlgorithm ed25519-sha256"
[ ! -e "$keyfile" ]; ok $? "... and the key no longer active is gone from disk"
"$ERS_TOP/test/stack" reload-dkim "$ERS_STACK_DIR" >/dev/null; ok $? "test/stack reload-dkim"
add_records dk.test
submit ann@dk.test ann@dk.test "signed ed25519"; ok $? "a message submitted after the rotation"
msg=$(mailbox_file ann@dk.test "signed ed25519")
like "$(header_of "$msg")" "a=ed25519-sha256; c=relaxed/simple; d=dk\.test; s=$newsel;" "... is signed with the ed25519 key"
like "$(verify "$msg")" "^pass d=dk\.test s=$newsel a=ed25519-sha256" "Mail::DKIM verifies the ed25519 signature: pass"
sed 's/^Subject: signed ed25519/Subject: signed ed25519 (changed)/' "$msg" >"$T_DIR/altered2.eml"
like "$(verify "$T_DIR/altered2.eml")" '^fail d=dk\.test s=[^ ]+ a=ed25519-sha256' "... and a copy with a changed Subject: fails"

# --force, --grace and the retirement sweep
expect 0 "stage one again" -q dkim rotate dk.test --selector back --algorithm ed25519
expect 0 "activate with --force and --grace 0: no DNS needed" dkim rotate dk.test --activate --force --grace 0
like "$OUT" 'now signs with selector back \(forced: its TXT record was not checked in DNS\)' "... says it was forced"
a0=$(sql "SELECT max(id) FROM ers.audit_log")
expect 0 "dkim list (from cron) retires the keys whose grace ended" --json dkim list
is "$(sql "SELECT string_agg(selector || ' ' || state || ' ' || left(coalesce(private_key_sealed, 'wiped'), 3), ', ' ORDER BY selector) FROM ers.dkim_key WHERE selector IN ('default', '$newsel') AND domain_id = (SELECT id FROM ers.domain WHERE name = 'dk.test')")" \
    "default retiring v1:, $newsel retired wip" "... the one retiring with --grace 0 is retired, its private key wiped; the other keeps its grace"
is "$(sql "SELECT action || ' ' || target FROM ers.audit_log WHERE id > $a0")" "dkim.retire $newsel._domainkey.dk.test" "... with one audit row"
unlike "$OUT" "\"selector\": \"$newsel\"" "... and lists them no more"
refused 65 '--grace must be a whole number 0\.\.8760' "a grace beyond a year" dkim rotate dk.test --activate --force --grace 9000
refused 64 '--algorithm is for making the new key' "--algorithm with --activate" dkim rotate dk.test --activate --algorithm ed25519

expect 0 "disable dk.test" dkim disable dk.test
like "$OUT" 'retired DKIM key back of dk\.test \(private key wiped\)' "... retires its last key"
expect 0 "show after disable" dkim show dk.test
like "$OUT" 'dk\.test has no DKIM key' "... shows none"
is "$(sql "SELECT count(*) FROM ers.dkim_key WHERE private_key_sealed IS NOT NULL")" 0 "no private key left in the database"
leaks=0
for chunk in $(printf '%s' "$pem_body" | fold -w 64); do grep -qF -- "$chunk" "$ALL_OUT" && leaks=$((leaks + 1)); done
is "$leaks" 0 "the private key never appeared in any output"

# Leave the stack as it was: no tenant, no host, OpenDKIM without keys.
expect 0 "cleanup: tenants" -q tenant delete "DKIM Co" --yes
run -q tenant delete "Other Co" --yes
run -q server host remove mx.dkim.test
"$ERS_TOP/test/stack" reload-dkim "$ERS_STACK_DIR" >/dev/null; ok $? "cleanup: OpenDKIM without keys"
[ -z "$(ls "$OPENDKIM_CONFIG/keys")" ]; ok $? "... and no key file left on disk"

done_testing
