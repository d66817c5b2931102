#!/usr/bin/env bash
# The admin panel's Users tab in a real browser (test/e2e/admin.mjs,
# headless Chromium through playwright-core): a super admin adds a user
# with Generate, copies the password shown once, and the user logs in with
# it; screenshots at 1280 and 375 px (test/e2e/screenshots/admin-*).
. "$(dirname "$0")/lib.sh"
. "$ERS_TOP/test/e2e/tap.sh"
export ERS_CONFIG=$ERS_STACK_DIR/ers.yaml
T_DB=ers

e2e_ready || { done_testing; exit 0; }

dom=webadm$RANDOM.test
PW=browser-admin-123
printf '%s\n' "$PW" >"$T_DIR/pw"
e2e_hosts
expect 0 "setup: tenant" -q tenant add "Web Admin $dom" --domain "$dom" --imap-host localhost --imap-port "$IMAP_PORT" \
    --smtp-host localhost --smtp-port "$SUBMISSION_PORT"
expect 0 "setup: super admin" -q user add "boss@$dom" --role super_admin --first-name Boss --password-file "$T_DIR/pw"

e2e_run admin.mjs 120 DOMAIN="$dom" PASSWORD="$PW"

expect 0 "cleanup: delete the tenant" -q tenant delete "Web Admin $dom" --yes
done_testing
