#!/usr/bin/env bash
# The Security tab in a real browser (test/e2e/security.mjs, headless
# Chromium through playwright-core): a super admin runs the clean and EICAR
# self-tests and sees them with the tables filled; a tenant admin sees no
# self-test button and none of the other tenant's rows, even by a
# hand-made request.  The scan records come from mail submitted on 587
# (the scan milter), clean and EICAR, from a user of each tenant.
# The EICAR string is built here from parts: no file of ours holds it.
. "$(dirname "$0")/lib.sh"
. "$ERS_TOP/test/e2e/tap.sh"
export ERS_CONFIG=$ERS_STACK_DIR/ers.yaml
T_DB=ers

e2e_ready || { done_testing; exit 0; }

n=$RANDOM
dom=avweb$n.test odom=avwebother$n.test
PW=browser-security-123
printf '%s\n' "$PW" >"$T_DIR/pw"
e2e_hosts
expect 0 "setup: tenant" -q tenant add "AV Web $n" --domain $dom --imap-host localhost --imap-port "$IMAP_PORT" \
    --smtp-host localhost --smtp-port "$SUBMISSION_PORT"
expect 0 "setup: other tenant" -q tenant add "AV Web Other $n" --domain $odom --imap-host localhost --imap-port "$IMAP_PORT" \
    --smtp-host localhost --smtp-port "$SUBMISSION_PORT"
expect 0 "setup: super admin" -q user add boss@$dom --role super_admin --password-file "$T_DIR/pw"
expect 0 "setup: tenant admin" -q user add ta@$dom --role tenant_admin --password-file "$T_DIR/pw"
expect 0 "setup: sender" -q user add u@$dom --password-file "$T_DIR/pw"
expect 0 "setup: other tenant's sender" -q user add o@$odom --password-file "$T_DIR/pw"

p1='X5O!P%@AP[4\PZX54(P^)7CC)7}$' p2='EICAR-STANDARD-ANTIVIRUS-' p3='TEST-FILE!$H+H*'
printf '%s%s%s' "$p1" "$p2" "$p3" >"$T_DIR/tool.com"
echo "ordinary notes" >"$T_DIR/notes.txt"
submit() { # FROM FILE EXPECTED-CODE
    local out
    out=$(timeout 60 swaks --server "127.0.0.1:$SUBMISSION_PORT" --tls --tls-ca-path "$TLS_CA" -au "$1" -ap "$PW" \
        --from "$1" --to peer@elsewhere.example --h-Subject "security tab $n" --body "see attached" --attach "@$2" 2>&1)
    like "$out" "<~?\\*? *$3 " "setup: $1 submits $(basename "$2"): $3"
}
for s in u@$dom o@$odom; do
    submit $s "$T_DIR/notes.txt" 250
    submit $s "$T_DIR/tool.com" 554
done

e2e_run security.mjs 120 DOMAIN="$dom" ODOMAIN="$odom" PASSWORD="$PW"

expect 0 "cleanup: delete the tenants" -q tenant delete "AV Web $n" --yes
expect 0 "cleanup: ..." -q tenant delete "AV Web Other $n" --yes
done_testing
