#!/usr/bin/env bash
# S/MIME in the webmail (manual 000 "S/MIME Setup", "How To Use It When
# Composing Mail", "What The Status Messages Mean"), curl as the browser
# against lighttpd, the CGI and the stack's real Postfix and Dovecot:
# S/MIME Settings (the status lines, Save S/MIME Identity with the manual's
# refusals and nothing stored, Remove, recipient certificates), the
# compose page's status lines and checkboxes, and a message sent signed and
# encrypted through the one send function: the copy delivered to the
# recipient decrypts with the recipient's key and its signature verifies
# with `openssl cms` (the independent oracle), and so does the Sent copy
# with the sender's key.
. "$(dirname "$0")/lib.sh"
. "$ERS_STACK_DIR/stack.env"
export ERS_CONFIG=$ERS_STACK_DIR/ers.yaml
T_DB=ers

dom=smime$RANDOM.test   # a domain of its own: reruns on one stack start empty
host=smimetest.ers.test
pw=$T_DIR/pw; echo 'smime-password-1234' >"$pw"
expect 0 "setup: IMAP host" -q server host add $host --kind imap --port 143 --tls starttls
expect 0 "setup: SMTP host" -q server host add $host --kind smtp --port 587
expect 0 "setup: tenant" -q tenant add "Smime Co $dom" --domain $dom --imap-host $host --imap-port 143 --smtp-host $host
expect 0 "setup: user a" -q user add a@$dom --password-file "$pw" --quota-mb 100
expect 0 "setup: user b" -q user add b@$dom --password-file "$pw" --quota-mb 100

# --- a throwaway CA and certificates (OpenSSL CLI) ---------------------------------------
C=$T_DIR/certs; mkdir -p "$C/db"; : >"$C/db/index.txt"; echo 1000 >"$C/db/serial"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$C/ca.key" -out "$C/ca.pem" -days 30 -subj "/CN=ERS Web Test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
cat >"$C/ca.cnf" <<CNF
[ ca ]
default_ca = t
[ t ]
database = $C/db/index.txt
serial = $C/db/serial
new_certs_dir = $C/db
certificate = $C/ca.pem
private_key = $C/ca.key
default_md = sha256
policy = p
unique_subject = no
[ p ]
commonName = supplied
CNF
leaf() { # NAME ALG EMAIL FROM_DAYS TO_DAYS
    if [ "$2" = ec ]; then openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$C/$1.key" 2>/dev/null; ku=keyAgreement
    else openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$C/$1.key" 2>/dev/null; ku=keyEncipherment; fi
    openssl req -new -key "$C/$1.key" -subj "/CN=$1" -out "$C/$1.csr" 2>/dev/null
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,%s\nextendedKeyUsage=emailProtection\nsubjectAltName=email:%s\n' \
        "$ku" "$3" >"$C/$1.ext"
    openssl ca -batch -config "$C/ca.cnf" -in "$C/$1.csr" -extfile "$C/$1.ext" -notext \
        -startdate "$(date -u -d "$4 days" +%Y%m%d%H%M%SZ)" -enddate "$(date -u -d "$5 days" +%Y%m%d%H%M%SZ)" \
        -out "$C/$1.pem" 2>/dev/null || { echo "Bail out! cannot make $1"; exit 1; }
}
leaf a rsa a@$dom -1 365
leaf b ec b@$dom -1 365
leaf old rsa a@$dom -400 -35
printf 'web secret phrase\n' >"$C/pass"
openssl pkcs8 -topk8 -v2 aes-256-cbc -in "$C/a.key" -out "$C/a-enc.key" -passout file:"$C/pass" 2>/dev/null
KEYLINE=$(sed -n 2p "$C/a.key")

W=https://127.0.0.1:$WEB_PORT
master=$(sed -n 's/^WEBMAIL_MASTER_PASSWORD=//p' "$ERS_STACK_DIR/secrets")
web() { # JAR CURL-ARGS...: CODE, BODY, HDR
    local jar=$1; shift
    CODE=$(curl -s --max-time 60 --cacert "$TLS_CA" -c "$jar" -b "$jar" -D "$T_DIR/hdr" -o "$T_DIR/body" \
        -w '%{http_code}' "$@")
    BODY=$(cat "$T_DIR/body"); HDR=$(tr -d '\r' <"$T_DIR/hdr")
}
login() { web "$1" "$W/login" --data-urlencode "email=$2" --data-urlencode "password=smime-password-1234"; }
csrf_of() { printf '%s' "$BODY" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -n 1; }
imap() {
    local user=$1 path=$2; shift 2
    curl -s --max-time 20 --ssl-reqd --cacert "$TLS_CA" --user "$user*ers-webmail:$master" \
        "imap://127.0.0.1:$IMAP_PORT/$path" "$@"
}
uids() { imap "$1" "$2" -X "UID SEARCH SUBJECT \"$3\"" | tr -d '\r' | sed -n 's/^\* SEARCH *//p'; }
wait_for_mail() { for _ in $(seq 1 150); do [ -n "$(uids "$@")" ] && return 0; sleep 0.1; done; return 1; }
ident_rows() { sql "SELECT count(*) FROM ers.smime_identity i JOIN ers.mailbox m ON m.id = i.mailbox_id WHERE m.address = '$1'"; }

A=$T_DIR/a.jar B=$T_DIR/b.jar
login "$A" a@$dom
is "$CODE" 303 "a logs in"

# --- S/MIME Settings -------------------------------------------------------------------------
web "$A" "$W/smime"
is "$CODE" 200 "GET /smime: 200"
like "$BODY" '<h1>S/MIME Settings</h1>' "the S/MIME Settings page"
like "$BODY" '<a href="/smime">S/MIME</a>' "... an S/MIME button in the top bar"
like "$BODY" 'id="smime-status">S/MIME not configured<' "Status: \"S/MIME not configured\""
like "$BODY" 'id="smime-runtime">Signing is available' "Signing runtime: available"
like "$BODY" 'Certificate PEM<textarea name="cert"' "... Certificate PEM"
like "$BODY" 'Private Key PEM<textarea name="key"' "... Private Key PEM"
like "$BODY" '<button type="submit">Save S/MIME Identity</button>' "... Save S/MIME Identity"
CS=$(csrf_of)

save() { # JAR CSRF CERTFILE KEYFILE [PASSPHRASE]
    web "$1" "$W/smime/identity" --data-urlencode "csrf=$2" --data-urlencode "cert@$3" --data-urlencode "key@$4" \
        --data-urlencode "passphrase=${5:-}"
}
save "$A" "$CS" "$C/b.pem" "$C/b.key"
is "$CODE" 422 "another user's certificate: 422"
like "$BODY" 'role="alert">Certificate email does not match your login' "... \"Certificate email does not match your login\""
save "$A" "$CS" "$C/a.pem" "$C/b.key"
like "$BODY" 'role="alert">Certificate and key do not match' "the wrong key: \"Certificate and key do not match\""
save "$A" "$CS" "$C/old.pem" "$C/old.key"
like "$BODY" 'role="alert">Expired or not-yet-valid certificate' "an expired one: \"Expired or not-yet-valid certificate\""
save "$A" "$CS" "$C/a.pem" "$C/a-enc.key" "not the phrase"
like "$BODY" 'role="alert">the private key passphrase is wrong' "a wrong passphrase"
unlike "$BODY" "$KEYLINE|not the phrase|BEGIN ENCRYPTED" "... the page shows neither key nor passphrase back"
is "$(ident_rows a@$dom)" 0 "nothing was stored"
web "$A" "$W/smime/identity" --data-urlencode "cert@$C/a.pem" --data-urlencode "key@$C/a.key"
is "$CODE" 403 "a POST without the CSRF token: 403"
is "$(ident_rows a@$dom)" 0 "... nothing stored"

save "$A" "$CS" "$C/a.pem" "$C/a-enc.key" "web secret phrase"
is "$CODE" 200 "Save S/MIME Identity with a passphrase-protected key: 200"
like "$BODY" 'role="status">S/MIME identity saved' "... saved"
like "$BODY" 'id="smime-status">Configured<' "... Status: Configured"
like "$BODY" "Subject: CN=a<br>Issuer: CN=ERS Web Test CA" "... Identity details: subject and issuer"
unlike "$BODY" "$KEYLINE|web secret phrase|END (ENCRYPTED )?PRIVATE KEY" "... and never the key or passphrase"
is "$(ident_rows a@$dom)" 1 "one identity stored"
like "$(sql "SELECT actor || ' ' || action || ' ' || target FROM ers.audit_log ORDER BY id DESC LIMIT 1")" \
    "^a@$dom smime.identity_set a@$dom" "... audited"

# Recipient certificates
web "$A" "$W/smime/cert" --data-urlencode "csrf=$CS" --data-urlencode "address=b@$dom" --data-urlencode "cert@$C/b.pem"
like "$BODY" 'role="status">Recipient certificate saved' "Save Recipient Certificate for b"
like "$BODY" "<td>b@$dom</td><td>CN=b</td>" "... listed"

# --- compose: the status lines and the checkboxes ---------------------------------------------
web "$A" "$W/compose"
like "$BODY" "id=\"smime-sign-line\">S/MIME signing is available for a@$dom" "compose: signing is available"
like "$BODY" 'id="smime-sign" *>' "... Sign with S/MIME enabled"
like "$BODY" 'id="smime-encrypt" disabled>' "... Encrypt disabled with no To address"
web "$A" "$W/smime/status?rcpt=b%40$dom"
like "$BODY" "\"can_encrypt\":true" "status for To b@: encryption possible"
like "$BODY" "Encryption is ready for b@$dom" "... \"Encryption is ready for b@$dom\""
web "$A" "$W/smime/status?rcpt=b%40$dom,%20c%40$dom"
like "$BODY" "\"can_encrypt\":false" "b@ and c@: not possible"
like "$BODY" "Add a recipient certificate in S/MIME Settings to enable encrypted mail \\(no certificate for c@$dom\\)" \
    "... the manual's line naming the missing one"
login "$B" b@$dom
web "$B" "$W/compose"
like "$BODY" 'id="smime-sign-line">S/MIME not configured' "b, without an identity: \"S/MIME not configured\""
like "$BODY" 'id="smime-sign" disabled>' "... Sign disabled"

# --- send signed and encrypted ---------------------------------------------------------------
web "$A" "$W/compose"
CC=$(csrf_of)
subj="smime-$RANDOM"
web "$A" "$W/compose" -F "csrf=$CC" -F "to=b@$dom" -F "cc=" -F "bcc=" -F "subject=$subj" \
    -F "body=the quarterly numbers are in" -F "smime_sign=1" -F "smime_encrypt=1"
is "$CODE" 303 "Send with Sign and Encrypt: 303"
like "$HDR" $'\nLocation: /\\?sent=1&smime=signed-encrypted' "... to the inbox, saying signed and encrypted"
web "$A" "$W/?sent=1&smime=signed-encrypted"
like "$BODY" 'Message sent, signed and encrypted with S/MIME.' "the success message says signed and encrypted"
wait_for_mail b@$dom INBOX "$subj"
ok $? "the message reaches b's INBOX"
uid=$(uids b@$dom INBOX "$subj" | awk '{print $1}')
imap b@$dom "INBOX;UID=$uid" >"$T_DIR/got.eml"
like "$(cat "$T_DIR/got.eml")" "application/pkcs7-mime; smime-type=enveloped-data" "... as enveloped data"
unlike "$(cat "$T_DIR/got.eml")" "quarterly numbers" "... nothing in clear"
openssl cms -decrypt -in "$T_DIR/got.eml" -recip "$C/b.pem" -inkey "$C/b.key" -out "$T_DIR/inner.eml" 2>"$T_DIR/d.err"
ok $? "openssl cms -decrypt with b's key" || diag "$(cat "$T_DIR/d.err")"
openssl cms -verify -in "$T_DIR/inner.eml" -CAfile "$C/ca.pem" -out "$T_DIR/text" 2>"$T_DIR/v.err"
ok $? "openssl cms -verify: a's signature" || diag "$(cat "$T_DIR/v.err")"
like "$(cat "$T_DIR/text")" "the quarterly numbers are in" "... the original text"
wait_for_mail a@$dom Sent "$subj"
suid=$(uids a@$dom Sent "$subj" | awk '{print $1}')
imap a@$dom "Sent;UID=$suid" >"$T_DIR/sent.eml"
openssl cms -decrypt -in "$T_DIR/sent.eml" -recip "$C/a.pem" -inkey "$C/a.key" -out /dev/null 2>/dev/null
ok $? "the Sent copy decrypts with a's own key"

# --- reading: b opens it in the webmail ------------------------------------------------------
web "$B" "$W/message?folder=INBOX&uid=$uid"
like "$BODY" 'Encrypted with S/MIME: it could not be decrypted' "b without an identity: the page says it cannot be decrypted"
like "$BODY" 'S/MIME not configured' "... and why"
expect 0 "setup: b's identity" -q smime identity set b@$dom --cert "$C/b.pem" --key "$C/b.key"
web "$B" "$W/message?folder=INBOX&uid=$uid"
is "$CODE" 200 "b opens the message: 200"
like "$BODY" 'Encrypted with S/MIME: decrypted with your S/MIME identity' "... decrypted with b's identity"
like "$BODY" "Signed with S/MIME by a@$dom: the signature is not verified" "... signed by a, not verified (a's CA is not trusted here)"
like "$BODY" "signature is intact, but the signer&#39;s certificate is not trusted|signature is intact, but the signer's certificate is not trusted" "... and why"
like "$BODY" "Save the sender&#39;s certificate|Save the sender's certificate" "... with \"Save the sender's certificate\""
CB=$(csrf_of)
web "$B" "$W/message/body?folder=INBOX&uid=$uid"
like "$BODY" "the quarterly numbers are in" "the body frame shows the decrypted text"
web "$B" "$W/smime/save-signer" --data-urlencode "csrf=$CB" --data-urlencode "folder=INBOX" --data-urlencode "uid=$uid"
is "$CODE" 200 "b saves a's certificate from the message: 200"
like "$BODY" "The certificate of a@$dom \(CN=a, valid until" "... saved for a@$dom"
expect 0 "... it is in b's recipient certificates" --json smime cert list b@$dom
like "$OUT" "\"address\": \"a@$dom\"" "... listed"
web "$B" "$W/message?folder=INBOX&uid=$uid"
like "$BODY" "Signed with S/MIME by a@$dom \(CN=a\): the signature is verified" "with a's certificate saved: verified"

# Encrypt to someone without a certificate: refused, the form comes back.
web "$A" "$W/compose" -F "csrf=$CC" -F "to=c@$dom" -F "subject=no-cert" -F "body=x" -F "smime_encrypt=1"
is "$CODE" 409 "encrypting to an address without a certificate: 409"
like "$BODY" "Add a recipient certificate in S/MIME Settings to enable encrypted mail" "... with the manual's words"

# --- Remove --------------------------------------------------------------------------------
web "$A" "$W/smime/identity/remove" --data-urlencode "csrf=$CS"
like "$BODY" 'role="status">S/MIME identity removed' "Remove"
is "$(ident_rows a@$dom)" 0 "... the identity and its sealed key are gone"
# An admin manages a user's identity ("Managing User S/MIME Identities").
expect 0 "setup: a tenant admin" -q user add boss@$dom --password-file "$pw" --role tenant_admin
T=$T_DIR/t.jar
login "$T" boss@$dom
web "$T" "$W/smime?user=a@$dom"
is "$CODE" 200 "the tenant admin opens a's S/MIME page: 200"
like "$BODY" "S/MIME identity of <strong>a@$dom</strong>" "... naming a"
like "$BODY" '<button type="submit">Save User S/MIME Identity</button>' "... Save User S/MIME Identity"
CT=$(csrf_of)
web "$T" "$W/smime/identity" --data-urlencode "csrf=$CT" --data-urlencode "user=a@$dom" --data-urlencode "cert@$C/a.pem" \
    --data-urlencode "key@$C/a.key"
like "$BODY" 'role="status">S/MIME identity saved' "... saves a's identity"
like "$(sql "SELECT actor || ' ' || action || ' ' || target FROM ers.audit_log ORDER BY id DESC LIMIT 1")" \
    "^boss@$dom smime.identity_set a@$dom" "... audited as the tenant admin"
web "$T" "$W/smime/identity/remove" --data-urlencode "csrf=$CT" --data-urlencode "user=a@$dom"
like "$BODY" 'role="status">S/MIME identity removed' "... and Remove User Identity"
is "$(ident_rows a@$dom)" 0 "... gone"
web "$T" "$W/smime?user=boss2@$dom"
is "$CODE" 403 "a user that does not exist is refused like an admin would be: 403"
# b may not touch a's identity through ?user=
web "$B" "$W/smime?user=a@$dom"
is "$CODE" 403 "b may not open a's S/MIME Settings: 403"

# A node whose secrets file lacks SMIME_MASTER_KEY: saving is disabled, with
# the manual's words (the webmail's configuration is put back after).
WEBCONF=$ERS_STACK_DIR/web/ers.yaml
cp -p "$WEBCONF" "$T_DIR/web-ers.yaml.orig"
trap 'cp -p "$T_DIR/web-ers.yaml.orig" "$WEBCONF"; rm -f "$ERS_STACK_DIR/secrets-nokey"' EXIT
cp -p "$ERS_STACK_DIR/secrets" "$ERS_STACK_DIR/secrets-nokey"
sed -i '/^SMIME_MASTER_KEY=/d' "$ERS_STACK_DIR/secrets-nokey"
sed -i "s|^secrets_file: .*|secrets_file: $ERS_STACK_DIR/secrets-nokey|" "$WEBCONF"
web "$A" "$W/smime"
is "$CODE" 200 "without the master key: S/MIME Settings opens"
like "$BODY" "S/MIME server encryption key is not configured" "... and says \"S/MIME server encryption key is not configured\""
like "$BODY" '<button type="submit" disabled>Save S/MIME Identity</button>' "... with Save S/MIME Identity disabled"
CA=$(csrf_of)
web "$A" "$W/smime/identity" --data-urlencode "csrf=$CA" --data-urlencode "cert@$C/a.pem" --data-urlencode "key@$C/a.key"
like "$BODY" "S/MIME server encryption key is not configured" "... a hand-made save is refused in the same words"
is "$(ident_rows a@$dom)" 0 "... and stores nothing"
cp -p "$T_DIR/web-ers.yaml.orig" "$WEBCONF"

done_testing
