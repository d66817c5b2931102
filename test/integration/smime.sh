# S/MIME (issue 19; manual 000 "S/MIME Setup", "Managing User S/MIME
# Identities") through ersctl against the real database: identities saved
# with every check and the manual's messages, nothing stored on a refusal,
# the key and its passphrase sealed (a pg_dump holds neither the PEM body
# nor the passphrase), one audit row per change, the policy (users their
# own, tenant admins their regular users, super admins all), --json,
# recipient certificates, and messages signed and encrypted by libers that
# the independent oracles accept: `openssl cms -verify` against the
# throwaway CA, `openssl cms -decrypt` with the recipient's key and with the
# sender's own (the Sent copy), gpgsm --verify.  The openssl CLI is used
# only here, as the oracle and to make the throwaway CA and certificates.
. "$(dirname "$0")/lib.sh"
new_db
command -v openssl >/dev/null || { echo "Bail out! openssl is not installed"; exit 1; }

P=$T_DIR
C=$T_DIR/certs
mkdir -p "$C"
printf 'the-password-1\n' >"$P/pw"
last_audit() { sql "SELECT concat_ws(' | ', actor, action, target, outcome, detail) FROM ers.audit_log ORDER BY id DESC LIMIT 1"; }
audit_count() { sql "SELECT count(*) FROM ers.audit_log"; }
pg_dump_all() { as_user postgres "$PGBIN/pg_dump" -h "$PG_SOCKET" -p "$PG_PORT" -U postgres --no-owner "$T_DB" 2>&1; }
json() { printf '%s' "$OUT" | python3 -c 'import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1].split("."): v = v[int(k)] if isinstance(v, list) else v[k]
print("null" if v is None else str(v).lower() if isinstance(v, bool) else v)' "$1"; }

# --- a throwaway CA and certificates (OpenSSL CLI) --------------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$C/ca.key" -out "$C/ca.pem" -days 30 -subj "/CN=ERS Test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null \
    || { echo "Bail out! cannot make the CA"; exit 1; }
mkdir -p "$C/db"; : >"$C/db/index.txt"; echo 1000 >"$C/db/serial"
cat >"$C/ca.cnf" <<CNF
[ ca ]
default_ca = test_ca
[ test_ca ]
database = $C/db/index.txt
serial = $C/db/serial
new_certs_dir = $C/db
certificate = $C/ca.pem
private_key = $C/ca.key
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
[ anything ]
commonName = supplied
emailAddress = optional
CNF
# leaf NAME KEYALG SUBJECT SAN FROM_DAYS TO_DAYS [KEYUSAGE]: NAME.key, NAME.pem signed by the CA.
leaf() {
    local name=$1 alg=$2 subj=$3 san=$4 from=$5 to=$6 ku=${7:-}
    case $alg in
        rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$C/$name.key" 2>/dev/null
             ku=${ku:-critical,digitalSignature,keyEncipherment} ;;
        ec) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$C/$name.key" 2>/dev/null
            ku=${ku:-critical,digitalSignature,keyAgreement} ;;
    esac
    openssl req -new -key "$C/$name.key" -subj "$subj" -out "$C/$name.csr" 2>/dev/null
    { echo "basicConstraints=CA:FALSE"; echo "keyUsage=$ku"; echo "extendedKeyUsage=emailProtection"
      [ -n "$san" ] && echo "subjectAltName=$san"; } >"$C/$name.ext"
    # openssl ca (not x509 -req): only it sets a start date in the past in OpenSSL 3.0.
    openssl ca -batch -config "$C/ca.cnf" -in "$C/$name.csr" -extfile "$C/$name.ext" -notext \
        -startdate "$(date -u -d "$from days" +%Y%m%d%H%M%SZ)" -enddate "$(date -u -d "$to days" +%Y%m%d%H%M%SZ)" \
        -out "$C/$name.pem" 2>"$C/$name.err" || { echo "Bail out! cannot make $name: $(tail -n 3 "$C/$name.err")"; exit 1; }
}
leaf anna rsa "/CN=Anna Acme" "email:anna@acme.example" -1 365
leaf anna-ec ec "/CN=Anna Acme EC/emailAddress=Anna@Acme.example" "" -1 20
leaf bob rsa "/CN=Bob Acme" "email:bob@acme.example" -1 365
leaf ext ec "/CN=Eve External" "email:eve@partner.example" -1 365
leaf expired rsa "/CN=Anna Old" "email:anna@acme.example" -400 -35
leaf future rsa "/CN=Anna Later" "email:anna@acme.example" 10 400
leaf nosign rsa "/CN=Anna NoSign" "email:anna@acme.example" -1 365 "critical,keyEncipherment"
leaf signonly rsa "/CN=Anna SignOnly" "email:anna@acme.example" -1 365 "critical,digitalSignature"
# Anna's key with a passphrase (PKCS#8, AES-256).
printf 'correct horse battery staple\n' >"$C/pass"
openssl pkcs8 -topk8 -v2 aes-256-cbc -in "$C/anna.key" -out "$C/anna-enc.key" -passout file:"$C/pass" 2>/dev/null
printf 'wrong passphrase\n' >"$C/wrongpass"
openssl x509 -in "$C/anna.pem" -outform der -out "$C/anna.der"
cat "$C/anna.pem" "$C/ca.pem" >"$C/chain.pem"
head -c 1048576 /dev/zero | tr '\0' 'A' >"$C/big.pem"
printf 'this is not a certificate\n' >"$C/garbage.pem"
KEYBODY=$(sed -n '2p' "$C/anna.key")        # a line of the key's base64
ENCBODY=$(sed -n '2p' "$C/anna-enc.key")

# --- setup ------------------------------------------------------------------------------
expect 0 "setup: IMAP host" server host add mail.example.net --kind imap
expect 0 "setup: SMTP host" server host add mail.example.net --kind smtp
M=(--imap-host mail.example.net --smtp-host mail.example.net)
expect 0 "setup: tenant Acme" tenant add Acme --domain acme.example "${M[@]}"
expect 0 "setup: tenant Other" tenant add Other --domain other.example "${M[@]}"
for u in anna:user bob:user tadmin:tenant_admin boss:super_admin; do
    run user add "${u%%:*}@acme.example" --password-file "$P/pw" --role "${u#*:}"
    [ "$RC" -eq 0 ] || { echo "Bail out! cannot add ${u%%:*}: $ERR"; exit 1; }
done
expect 0 "setup: another tenant's admin" user add oadmin@other.example --password-file "$P/pw" --role tenant_admin

# --- status and the empty identity --------------------------------------------------------
expect 0 "smime status" smime status
like "$OUT" "master key: +SMIME_MASTER_KEY is set" "... the master key is set"
like "$OUT" "runtime: +available: OpenSSL 3" "... the runtime is OpenSSL 3, in-process"
expect 0 "identity show before any: exit 0" smime identity show anna@acme.example
like "$OUT" "status: +S/MIME not configured" "... says the manual's \"S/MIME not configured\""

# --- refusals: the manual's messages, nothing stored ---------------------------------------
S=(smime identity set anna@acme.example)
refused 65 "Certificate email does not match your login" "another user's certificate" "${S[@]}" --cert "$C/bob.pem" --key "$C/bob.key"
refused 65 "Certificate and key do not match" "the wrong key" "${S[@]}" --cert "$C/anna.pem" --key "$C/bob.key"
refused 65 "Expired or not-yet-valid certificate" "an expired certificate" "${S[@]}" --cert "$C/expired.pem" --key "$C/expired.key"
refused 65 "Expired or not-yet-valid certificate" "a not-yet-valid certificate" "${S[@]}" --cert "$C/future.pem" --key "$C/future.key"
refused 65 "does not allow signing" "a certificate whose key usage does not allow signing" "${S[@]}" --cert "$C/nosign.pem" --key "$C/nosign.key"
refused 65 "not a PEM certificate" "garbage" "${S[@]}" --cert "$C/garbage.pem" --key "$C/anna.key"
refused 65 "binary \\(DER" "DER instead of PEM" "${S[@]}" --cert "$C/anna.der" --key "$C/anna.key"
refused 65 "holds 2 certificates" "a chain in the certificate field" "${S[@]}" --cert "$C/chain.pem" --key "$C/anna.key"
refused 65 "too long" "a 1 MB paste" "${S[@]}" --cert "$C/big.pem" --key "$C/anna.key"
refused 65 "protected with a passphrase" "a key without its passphrase" "${S[@]}" --cert "$C/anna.pem" --key "$C/anna-enc.key"
refused 65 "passphrase is wrong" "a wrong passphrase" "${S[@]}" --cert "$C/anna.pem" --key "$C/anna-enc.key" --passphrase-file "$C/wrongpass"
unlike "$ERR" "wrong passphrase|$KEYBODY" "... the error shows neither the passphrase nor the key"
is "$(sql "SELECT count(*) FROM ers.smime_identity")" 0 "nothing was stored by any refusal"

# Without the master key: the manual's message, nothing stored.
grep -v '^SMIME_MASTER_KEY=' "$ERS_STACK_DIR/secrets" >"$T_DIR/secrets-nokey"
chmod 600 "$T_DIR/secrets-nokey"
sed "s|^secrets_file: .*|secrets_file: $T_DIR/secrets-nokey|" "$T_DIR/ers.yaml" >"$T_DIR/nokey.yaml"
refused 78 "S/MIME server encryption key is not configured" "no SMIME_MASTER_KEY: saving is refused" \
    --config "$T_DIR/nokey.yaml" "${S[@]}" --cert "$C/anna.pem" --key "$C/anna.key"
expect 0 "... smime status says so" --config "$T_DIR/nokey.yaml" smime status
like "$OUT" "S/MIME server encryption key is not configured" "... with the manual's words"

# --- saving -------------------------------------------------------------------------------
a0=$(audit_count)
expect 0 "Anna saves her identity, key with a passphrase" "${S[@]}" --cert "$C/anna.pem" --key "$C/anna-enc.key" \
    --passphrase-file "$C/pass"
is "$(audit_count)" $((a0 + 1)) "... one audit row"
like "$(last_audit)" "smime.identity_set \| anna@acme.example \| ok \| S/MIME identity saved: CN=Anna Acme, issued by CN=ERS Test CA" \
    "... naming the certificate, not the key"
FP=$(openssl x509 -in "$C/anna.pem" -noout -fingerprint -sha256 | sed 's/.*=//')
expect 0 "identity show --json" --json smime identity show anna@acme.example
is "$(json certificate.fingerprint_sha256)" "$FP" "... the SHA-256 fingerprint is openssl's"
is "$(json certificate.subject)" "CN=Anna Acme" "... subject"
is "$(json certificate.issuer)" "CN=ERS Test CA" "... issuer"
is "$(json key_has_passphrase)" "true" "... the key has a passphrase"
unlike "$OUT" "PRIVATE|$KEYBODY|$ENCBODY|correct horse" "... and no key material, no passphrase"
is "$(sql "SELECT key_sealed LIKE 'v1:%' AND passphrase_sealed LIKE 'v1:%' FROM ers.smime_identity")" t "key and passphrase stored sealed"
DUMP=$(pg_dump_all)
like "$DUMP" "smime_identity" "pg_dump has the identity table"
unlike "$DUMP" "$KEYBODY|$ENCBODY|correct horse battery|PRIVATE KEY" "pg_dump holds neither the PEM body of the key nor the passphrase"
unlike "$(sql "SELECT string_agg(detail, ' ') FROM ers.audit_log")" "$KEYBODY|$ENCBODY|correct horse" "nor do the audit rows"

expect 0 "Anna replaces it with an EC identity (emailAddress in the subject, other case)" "${S[@]}" \
    --cert "$C/anna-ec.pem" --key "$C/anna-ec.key"
expect 0 "... show" smime identity show anna@acme.example
like "$OUT" "status: +Certificate expires soon" "... a certificate valid 20 more days: \"Certificate expires soon\""
like "$OUT" "key: +EC prime256v1" "... EC"
expect 0 "back to the RSA identity (no passphrase)" "${S[@]}" --cert "$C/anna.pem" --key "$C/anna.key"
is "$(sql "SELECT passphrase_sealed IS NULL FROM ers.smime_identity")" t "... no passphrase stored"

# --- the policy -----------------------------------------------------------------------------
expect 0 "setup: Bob's identity (by the tenant admin)" --as tadmin@acme.example smime identity set bob@acme.example \
    --cert "$C/bob.pem" --key "$C/bob.key"
like "$(last_audit)" "^tadmin@acme.example \| .*smime.identity_set \| bob@acme.example" "... audited as the tenant admin"
denied "may not smime.manage" "Bob may not set Anna's identity" --as bob@acme.example smime identity set anna@acme.example \
    --cert "$C/bob.pem" --key "$C/bob.key"
denied "may not smime.view" "Bob may not see Anna's identity" --as bob@acme.example smime identity show anna@acme.example
expect 0 "Bob sees his own" --as bob@acme.example smime identity show bob@acme.example
denied "may not smime.manage" "a tenant admin may not touch an admin's identity" --as tadmin@acme.example smime identity remove boss@acme.example
denied "may not smime.manage" "another tenant's admin may not touch Acme's users" --as oadmin@other.example smime identity remove bob@acme.example
expect 0 "a super admin may see any" --as boss@acme.example smime identity show bob@acme.example
denied "may not smime.use" "a super admin may not sign as Bob" --as boss@acme.example smime protect bob@acme.example --sign --in "$C/pass"

# --- recipient certificates -------------------------------------------------------------------
refused 65 "not for carol@partner.example" "a recipient certificate for another address" \
    smime cert add anna@acme.example carol@partner.example --cert "$C/ext.pem"
refused 65 "Expired or not-yet-valid certificate" "an expired recipient certificate" \
    smime cert add anna@acme.example anna@acme.example --cert "$C/expired.pem"
refused 65 "not a PEM certificate" "garbage as a recipient certificate" \
    smime cert add anna@acme.example eve@partner.example --cert "$C/garbage.pem"
a0=$(audit_count)
expect 0 "Anna saves Eve's certificate" --as anna@acme.example smime cert add anna@acme.example Eve@Partner.example --cert "$C/ext.pem"
is "$(audit_count)" $((a0 + 1)) "... one audit row"
expect 0 "... and Bob's" smime cert add anna@acme.example bob@acme.example --cert "$C/bob.pem"
expect 0 "cert list --json" --json smime cert list anna@acme.example
is "$(json certificates.1.address)" "eve@partner.example" "... normalised address"
is "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["certificates"]))')" 2 "... two certificates"
denied "may not smime.view" "Bob may not list Anna's recipient certificates" --as bob@acme.example smime cert list anna@acme.example

# --- messages: signed and encrypted by libers, checked by openssl and gpgsm ---------------------
printf 'From: Anna <anna@acme.example>\nTo: Eve <eve@partner.example>, bob@acme.example\nSubject: quarterly numbers\nMessage-ID: <q1@acme.example>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\nThe numbers are in. Gr=C3=BC=C3=9Fe\nAnna\n' >"$P/plain.eml"
expect 0 "sign a message" smime protect anna@acme.example --sign --in "$P/plain.eml" --output "$P/signed.eml"
like "$(cat "$P/signed.eml")" "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=\"sha-256\"" \
    "... multipart/signed, micalg sha-256"
like "$(head -n 4 "$P/signed.eml")" "^From: Anna" "... the original header fields stay on top"
openssl cms -verify -in "$P/signed.eml" -CAfile "$C/ca.pem" -out "$P/verified.txt" 2>"$T_DIR/v.err"
ok $? "openssl cms -verify accepts the signature" || diag "$(cat "$T_DIR/v.err")"
like "$(cat "$P/verified.txt")" "The numbers are in" "... and gives the content"
# Tampered: one byte of the body.
sed 's/The numbers are in/The numbers are IN/' "$P/signed.eml" >"$P/tampered.eml"
openssl cms -verify -in "$P/tampered.eml" -CAfile "$C/ca.pem" -out /dev/null 2>/dev/null
[ $? -ne 0 ]; ok $? "... and refuses it after one byte changed"
if command -v gpgsm >/dev/null; then
    G=$T_DIR/gnupg; mkdir -p "$G"; chmod 700 "$G"
    gpgsm --homedir "$G" --batch --disable-crl-checks --import "$C/ca.pem" >/dev/null 2>&1
    echo "$(openssl x509 -in "$C/ca.pem" -noout -fingerprint -sha1 | sed 's/.*=//') S relax" >"$G/trustlist.txt"
    python3 - "$P/signed.eml" "$P/sig.p7s" "$P/signed-part" <<'PY'
import email, sys
from email import policy
raw = open(sys.argv[1], 'rb').read()
msg = email.message_from_bytes(raw, policy=policy.compat32)
boundary = msg.get_boundary().encode()
body = raw.split(b'\r\n\r\n', 1)[1]
parts = body.split(b'--' + boundary)
open(sys.argv[3], 'wb').write(parts[1][2:-2])   # the signed part, exactly (CRLF after the boundary, CRLF before the next)
sig = email.message_from_bytes(parts[2].lstrip(b'\r\n'))
open(sys.argv[2], 'wb').write(sig.get_payload(decode=True))
PY
    gpgsm --homedir "$G" --batch --disable-crl-checks --disable-policy-checks --verify "$P/sig.p7s" "$P/signed-part" >"$T_DIR/g.out" 2>&1
    ok $? "gpgsm --verify accepts the signature" || diag "$(tail -n 5 "$T_DIR/g.out")"
    gpgconf --homedir "$G" --kill gpg-agent 2>/dev/null # gpgsm started it; it would outlive the test
else
    ok 0 "# SKIP gpgsm is not installed"
fi

expect 0 "sign and encrypt to Eve and Bob" smime protect anna@acme.example --sign --encrypt --to eve@partner.example \
    --to bob@acme.example --in "$P/plain.eml" --output "$P/enc.eml"
like "$(cat "$P/enc.eml")" "application/pkcs7-mime; smime-type=enveloped-data" "... enveloped data"
unlike "$(cat "$P/enc.eml")" "numbers are in" "... the content is not in clear"
like "$(openssl cms -cmsout -print -in "$P/enc.eml" 2>/dev/null)" "aes-256-cbc" "... with AES-256"
openssl cms -decrypt -in "$P/enc.eml" -recip "$C/ext.pem" -inkey "$C/ext.key" -out "$P/dec-eve.eml" 2>"$T_DIR/d.err"
ok $? "openssl cms -decrypt with Eve's (EC) key" || diag "$(cat "$T_DIR/d.err")"
openssl cms -verify -in "$P/dec-eve.eml" -CAfile "$C/ca.pem" -out "$P/dec-eve.txt" 2>"$T_DIR/v.err"
ok $? "... the inner signature verifies" || diag "$(cat "$T_DIR/v.err")"
like "$(cat "$P/dec-eve.txt")" "The numbers are in" "... and gives the original"
openssl cms -decrypt -in "$P/enc.eml" -recip "$C/bob.pem" -inkey "$C/bob.key" -out /dev/null 2>/dev/null
ok $? "openssl cms -decrypt with Bob's (RSA) key"
openssl cms -decrypt -in "$P/enc.eml" -recip "$C/anna.pem" -inkey "$C/anna.key" -out /dev/null 2>/dev/null
ok $? "... and with Anna's own: the Sent copy can be read"
refused 73 "Add a recipient certificate in S/MIME Settings to enable encrypted mail \\(no valid certificate saved for carol@partner.example" \
    "encryption to an address without a saved certificate is refused, naming it" \
    smime protect anna@acme.example --encrypt --to eve@partner.example --to carol@partner.example --in "$P/plain.eml"

expect 0 "Bob opens the encrypted message with his identity (--json)" --json smime open bob@acme.example --in "$P/enc.eml" \
    --ca-file "$C/ca.pem" --output "$P/bob-read.eml"
is "$(json decrypted)/$(json verified)/$(json signer)" "true/true/anna@acme.example" "... decrypted, signature verified, signed by Anna"
like "$(cat "$P/bob-read.eml")" "The numbers are in" "... the content"
expect 0 "without the CA the signature is intact but untrusted" --json smime open bob@acme.example --in "$P/signed.eml"
is "$(json verified)" "false" "... not verified"
like "$(json problem)" "signature is intact, but the signer's certificate is not trusted" "... and says why"
expect 0 "a tampered message" --json smime open bob@acme.example --in "$P/tampered.eml" --ca-file "$C/ca.pem"
like "$(json problem)" "does not verify" "... does not verify, and says so"

# --- a certificate only for signing: no encrypted mail (the Sent copy needs it) -------------
expect 0 "an identity whose certificate only signs" smime identity set anna@acme.example --cert "$C/signonly.pem" --key "$C/signonly.key"
expect 0 "... signs" smime protect anna@acme.example --sign --in "$P/plain.eml" --output "$P/signed-only.eml"
refused 73 "does not allow encryption .*so the Sent copy could not be read" \
    "... but encrypting is refused, saying why" smime protect anna@acme.example --encrypt --to eve@partner.example --in "$P/plain.eml"

# --- remove ----------------------------------------------------------------------------------
a0=$(audit_count)
expect 0 "cert remove" smime cert remove anna@acme.example eve@partner.example
expect 0 "Remove User Identity" --json smime identity remove anna@acme.example
is "$(json removed)" "true" "... removed"
is "$(audit_count)" $((a0 + 2)) "... one audit row each"
is "$(sql "SELECT count(*) FROM ers.smime_identity i JOIN ers.mailbox m ON m.id = i.mailbox_id WHERE m.address = 'anna@acme.example'")" 0 \
    "... the row and its sealed key are gone"
expect 0 "removing again changes nothing" smime identity remove anna@acme.example
is "$(audit_count)" $((a0 + 2)) "... and writes no audit row"
refused 73 "S/MIME not configured" "signing without an identity: \"S/MIME not configured\"" \
    smime protect anna@acme.example --sign --in "$P/plain.eml"

done_testing
