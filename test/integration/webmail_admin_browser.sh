#!/usr/bin/env bash
# The admin panel's Users tab in a real browser (test/e2e/admin.mjs,
# headless Chromium through playwright-core): a super admin adds a user
# with Generate and Send welcome email, copies the password shown once, and
# the user logs in with it; sorting, the edit page's forward and send
# limit, Resend welcome; screenshots at 1280 and 375 px
# (test/e2e/screenshots/admin-*).  Then the welcome emails delivered to the
# new user: the login URL and username, never the password.
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
expect 0 "setup: a user to reset and delete" -q user add "leaver@$dom" --first-name Leaver --password-file "$T_DIR/pw"
# Welcome emails: the webmail's base URL (put back after) and postmaster@.
WEBCONF=$ERS_STACK_DIR/web/ers.yaml
cp "$WEBCONF" "$T_DIR/web-ers.yaml.orig"
trap 'cp "$T_DIR/web-ers.yaml.orig" "$WEBCONF"' EXIT
printf 'welcome:\n  base_url: https://127.0.0.1:%s/\n' "$WEB_PORT" >>"$WEBCONF"
expect 0 "setup: postmaster@ is an alias of the super admin" -q alias add "postmaster@$dom" --to "boss@$dom"

e2e_run admin.mjs 180 DOMAIN="$dom" PASSWORD="$PW" PWFILE="$T_DIR/generated"

# The welcome emails (Create User and Resend welcome) in the new user's INBOX.
genpw=$(cat "$T_DIR/generated" 2>/dev/null)
master=$(sed -n 's/^WEBMAIL_MASTER_PASSWORD=//p' "$ERS_STACK_DIR/secrets")
imapm() { curl -s --max-time 20 --ssl-reqd --cacert "$TLS_CA" --user "newbie@$dom*ers-webmail:$master" \
    "imap://127.0.0.1:$IMAP_PORT/$1" "${@:2}" | tr -d '\r'; }
for _ in $(seq 1 150); do
    uids=$(imapm INBOX -X 'UID SEARCH SUBJECT "Welcome"' | sed -n 's/^\* SEARCH *//p')
    [ "$(echo $uids | wc -w)" -ge 2 ] && break; sleep 0.1
done
is "$(echo $uids | wc -w)" 2 "the new user received both welcome emails"
M=$(imapm "INBOX;UID=${uids%% *}")
like "$M" "Login URL: https://127.0.0.1:$WEB_PORT/login" "... with the login URL"
like "$M" "Username: +newbie@$dom" "... and the username"
ok "$([ ${#genpw} -ge 16 ] && ! printf '%s' "$M" | grep -qF -- "$genpw"; echo $?)" "... and never the password"

expect 0 "cleanup: delete the tenant" -q tenant delete "Web Admin $dom" --yes
done_testing
