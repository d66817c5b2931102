#!/usr/bin/env bash
# The admin panel's Aliases and Tenants tabs in a real browser
# (test/e2e/admin_at.mjs, headless Chromium through playwright-core): a
# super admin creates a tenant and an alias and deletes the tenant after
# typing its name; a tenant admin sees no Tenants tab; screenshots of both
# tabs at 1280 and 375 px, light and dark (test/e2e/screenshots/admin-aliases-*,
# admin-tenants-*).
. "$(dirname "$0")/lib.sh"
. "$ERS_TOP/test/e2e/tap.sh"
export ERS_CONFIG=$ERS_STACK_DIR/ers.yaml
T_DB=ers

e2e_ready || { done_testing; exit 0; }

dom=webat$RANDOM.test
PW=browser-admin-123
printf '%s\n' "$PW" >"$T_DIR/pw"
e2e_hosts
expect 0 "setup: tenant" -q tenant add "Web AT $dom" --domain "$dom" --imap-host localhost --imap-port "$IMAP_PORT" \
    --smtp-host localhost --smtp-port "$SUBMISSION_PORT"
expect 0 "setup: super admin" -q user add "boss@$dom" --role super_admin --first-name Boss --password-file "$T_DIR/pw"
expect 0 "setup: tenant admin" -q user add "ta@$dom" --role tenant_admin --password-file "$T_DIR/pw"
expect 0 "setup: user" -q user add "u@$dom" --first-name Una --password-file "$T_DIR/pw"

e2e_run admin_at.mjs 180 DOMAIN="$dom" PASSWORD="$PW" IMAP_PORT="$IMAP_PORT" SUBMISSION_PORT="$SUBMISSION_PORT"

expect 0 "cleanup: delete the tenant" -q tenant delete "Web AT $dom" --yes
done_testing
