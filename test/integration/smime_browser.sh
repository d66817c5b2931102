#!/usr/bin/env bash
# S/MIME in a real browser (test/e2e/smime.mjs, headless Chromium through
# playwright-core): save an identity in S/MIME Settings, compose with Sign
# and Encrypt (the status lines following the To address typed), and read
# the result as the recipient who has the matching identity; screenshots
# (test/e2e/screenshots/smime-*).
. "$(dirname "$0")/lib.sh"
. "$ERS_TOP/test/e2e/tap.sh"
export ERS_CONFIG=$ERS_STACK_DIR/ers.yaml
T_DB=ers

e2e_ready || { done_testing; exit 0; }

dom=smimeb$RANDOM.test
PW=browser-smime-123
printf '%s\n' "$PW" >"$T_DIR/pw"
e2e_hosts
expect 0 "setup: tenant" -q tenant add "Web Smime $dom" --domain "$dom" --imap-host localhost --imap-port "$IMAP_PORT" \
    --smtp-host localhost --smtp-port "$SUBMISSION_PORT"
for u in a b; do
    expect 0 "setup: user $u" -q user add "$u@$dom" --password-file "$T_DIR/pw" --quota-mb 100
done
# A throwaway CA and certificates for a (RSA) and b (EC).
C=$T_DIR/certs; mkdir -p "$C"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$C/ca.key" -out "$C/ca.pem" -days 3 -subj "/CN=Browser CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>/dev/null
for u in a b; do
    if [ $u = a ]; then alg=(-algorithm RSA -pkeyopt rsa_keygen_bits:2048); ku=keyEncipherment
    else alg=(-algorithm EC -pkeyopt ec_paramgen_curve:P-256); ku=keyAgreement; fi
    openssl genpkey "${alg[@]}" -out "$C/$u.key" 2>/dev/null
    openssl req -new -key "$C/$u.key" -subj "/CN=$u" -out "$C/$u.csr" 2>/dev/null
    printf 'keyUsage=critical,digitalSignature,%s\nextendedKeyUsage=emailProtection\nsubjectAltName=email:%s@%s\n' "$ku" "$u" "$dom" >"$C/$u.ext"
    openssl x509 -req -in "$C/$u.csr" -CA "$C/ca.pem" -CAkey "$C/ca.key" -CAcreateserial -days 365 -extfile "$C/$u.ext" \
        -out "$C/$u.pem" 2>/dev/null
done
chmod 644 "$C"/*
expect 0 "setup: b's identity" -q smime identity set "b@$dom" --cert "$C/b.pem" --key "$C/b.key"
expect 0 "setup: a's certificate for b" -q smime cert add "a@$dom" "b@$dom" --cert "$C/b.pem"

e2e_run smime.mjs 150 DOMAIN="$dom" PASSWORD="$PW" CERT="$C/a.pem" KEY="$C/a.key"

expect 0 "cleanup: delete the tenant" -q tenant delete "Web Smime $dom" --yes
done_testing
