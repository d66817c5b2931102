#!/usr/bin/env bash
# Manual 003 "Log in as mailbox owner" over HTTPS (curl against the stack's
# lighttpd + ers-webmail.cgi): the Users tab's "Log in as owner" with a
# required reason; who may (super admins anyone else, tenant admins their
# tenant's regular users only); the session opens the owner's mailbox under
# a banner, cannot change the owner's password or MFA nor log in as anyone
# else, is audited with the admin and the reason, ends after an hour
# whatever the activity; and the owner sees it, with the reason, on the
# Account activity page beside their own logins.
. "$(dirname "$0")/lib.sh"
. "$ERS_STACK_DIR/stack.env"
export ERS_CONFIG=$ERS_STACK_DIR/ers.yaml
T_DB=ers

BASE=https://127.0.0.1:$WEB_PORT
n=$RANDOM
A=imp$n-a.test B=imp$n-b.test
host=webimp.ers.test
PW=owner-password-123
printf '%s\n' "$PW" >"$T_DIR/pw"

expect 0 "setup: IMAP host" -q server host add $host --kind imap --port 143 --tls starttls
expect 0 "setup: SMTP host" -q server host add $host --kind smtp --port 587
for d in $A $B; do
    run -q tenant add "Imp $d" --domain $d --imap-host $host --imap-port 143 --smtp-host $host
done
add() { run -q user add "$1" --role "$2" --quota-mb 50 --password-file "$T_DIR/pw"; [ "$RC" -eq 0 ] || diag "user add $1: $ERR"; }
SA=sa@$A TA=ta@$A TA2=ta2@$A U=owner@$A UB=ub@$B
add $SA super_admin; add $TA tenant_admin; add $TA2 tenant_admin; add $U user; add $UB user

declare -A JAR TOKEN
login() { # ADDRESS: a session in JAR[ADDRESS], its CSRF token in TOKEN[ADDRESS]
    JAR[$1]=$T_DIR/jar-${1%@*}; rm -f "${JAR[$1]}"
    web "${JAR[$1]}" POST /login --data-urlencode "email=$1" --data-urlencode "password=$PW"
    local code=$CODE
    web "${JAR[$1]}" GET /mfa
    TOKEN[$1]=$(csrf)
    CODE=$code
}
as() { local who=$1; shift; web "${JAR[$who]}" "$@"; }
post() { local who=$1 path=$2; shift 2; as "$who" POST "$path" --data-urlencode "csrf=${TOKEN[$who]}" "$@"; }
impersonate() { post "$1" /admin/users/impersonate --data-urlencode "u=$2" --data-urlencode "reason=$3"; }
sessions() { sql "SELECT count(*) FROM ers.session"; }

for who in $SA $TA $U $UB; do login $who; is "$CODE" 303 "$who logs in"; done

# --- who may --------------------------------------------------------------------
as $TA GET /admin/users
like "$BODY" "href=\"/admin/users/impersonate\?u=owner%40$A\">Log in as owner<" "the Users row of a regular user offers Log in as owner"
unlike "$BODY" "impersonate\?u=ta2%40" "... not that of another tenant admin"
as $TA GET "/admin/users/impersonate?u=$U"
like "$BODY" 'name="reason"[^>]*required' "the form asks for a reason"
s0=$(sessions)
impersonate $TA $U ""
is "$CODE" 422 "no reason: refused"
like "$BODY" 'give a reason for logging in as the mailbox owner' "... saying a reason is needed"
impersonate $TA $U "   "
is "$CODE" 422 "a blank reason: refused"
impersonate $TA $TA2 "curious"
is "$CODE" 403 "a tenant admin may not log in as another tenant admin"
impersonate $TA $UB "curious"
is "$CODE" 403 "... nor as a user of another tenant"
impersonate $U $TA "curious"
is "$CODE" 403 "a regular user may not log in as anyone"
impersonate $SA $SA "myself"
is "$CODE" 403 "nobody logs in as themself this way"
is "$(sessions)" "$s0" "the refusals opened no session"
denials=$(sql "SELECT count(*) FROM ers.audit_log WHERE action = 'user.impersonate' AND outcome = 'denied'")
ok "$([ "$denials" -ge 3 ]; echo $?)" "... and are in the audit log ($denials)"

# --- the session as the owner ---------------------------------------------------
REASON="ticket 4711: mail from the bank is missing"
impersonate $TA $U "$REASON"
is "$CODE" 303 "a tenant admin logs in as a regular user of its tenant"
like "$(printf '%s\n' "$HDR" | grep -i '^set-cookie:')" '__Host-ers_session=[A-Za-z0-9_-]{43};' "... the browser gets the owner's session"
as $TA GET /
is "$CODE" 200 "the owner's mailbox opens (IMAP as the owner)"
like "$BODY" "id=\"impersonation\".*You \($TA\) are logged in as the mailbox owner $U\. Reason: ticket 4711: mail from the bank is missing\." \
    "... under a banner naming the admin, the owner and the reason"
like "$BODY" 'This session ends at 20[0-9-]{8}T' "... and when it ends"
audit=$(sql "SELECT actor || '|' || target || '|' || detail FROM ers.audit_log WHERE action = 'session.impersonate' AND outcome = 'ok'")
like "$audit" "$TA\|$U\|reason: $REASON \(from 127\.0\.0\.1" "one audit row: admin, owner, reason"
web "${JAR[$TA]}" GET /mfa; TOKEN[$TA]=$(csrf)
post $TA /password --data-urlencode "current=$PW" --data-urlencode "new=taken-over-999" --data-urlencode "confirm=taken-over-999"
is "$CODE" 403 "the session may not change the owner's password"
like "$BODY" "$TA is logged in as the mailbox owner $U: such a session may not user.change_password" "... and says why"
is "$(sql "SELECT count(*) FROM ers.login_failure WHERE address = '$U'")" 0 "... and it counts as no failed login of the owner's"
post $TA /mfa/setup
is "$CODE" 403 "... nor set up the owner's MFA"
is "$(sql "SELECT totp_pending_seed_sealed IS NULL FROM ers.mailbox WHERE address = '$U'")" t "... nothing of MFA was stored"
login $U; is "$CODE" 303 "the owner's own password still logs in"
via=$(sql "SELECT via FROM ers.audit_log WHERE action = 'user.change_password' AND outcome = 'denied' ORDER BY id DESC LIMIT 1")
is "$via" "$TA" "the refusal's audit row names the admin behind the session"
impersonate $TA $UB "hop"
is "$CODE" 403 "the session may not log in as anyone else"

# --- the owner sees it ------------------------------------------------------------
as $U GET /activity
is "$CODE" 200 "the owner's Account activity page"
like "$BODY" "<tr class=\"admin-access\"><td>[^<]*</td><td>Administrator logged in as you</td><td>$TA</td><td>reason: $REASON" \
    "... lists the admin's access with the reason"
like "$BODY" "<td>Login</td><td>$U</td><td>with the password \(from 127\.0\.0\.1\)" "... and the owner's own logins"
like "$BODY" 'href="/activity">Account activity<' "... linked from the account menu"
as $UB GET /activity
unlike "$BODY" "$REASON" "another user's activity page does not show it"

expect 0 "ersctl user activity, as the owner" --as $U --json user activity $U
like "$(printf "%s" "$OUT" | tr -d "\n")" "\"what\": *\"admin_login_as_owner\", *\"who\": *\"$TA\", *\"detail\": *\"reason: $REASON" "... lists the admin's access with the reason"
denied "may not user.view" "another tenant's user may not list it" --as $UB user activity $U
denied "may not user.view" "nor a tenant admin an admin's" --as $TA user activity $TA2
refused 65 'user activity: address "not-an-address" must look like name@domain' "ersctl user activity: a bad address, said clearly" user activity not-an-address
refused 66 "no user nobody@$A" "... an unknown user" user activity nobody@$A

# --- the hour -----------------------------------------------------------------------
sql "UPDATE ers.session SET created_at = now() - interval '61 minutes', last_seen = now()
     WHERE impersonator_id IS NOT NULL" >/dev/null
as $TA GET /
is "$CODE" 303 "after an hour the session has ended, however recent its last request"
is "$(printf '%s\n' "$HDR" | sed -n 's/^[Ll]ocation: //p')" /login "... to the login page"
is "$(sql "SELECT count(*) FROM ers.session WHERE impersonator_id IS NOT NULL")" 0 "... and is gone"

# --- super admins -----------------------------------------------------------------
impersonate $SA $TA2 "checking the admin's filters"
is "$CODE" 303 "a super admin logs in as a tenant admin"
as $SA GET /
like "$BODY" "You \($SA\) are logged in as the mailbox owner $TA2" "... under the banner"
web "${JAR[$SA]}" GET /mfa; TOKEN[$SA]=$(csrf)
post $SA /logout
is "$CODE" 303 "End session logs out"
is "$(sql "SELECT via FROM ers.audit_log WHERE action = 'session.logout' ORDER BY id DESC LIMIT 1")" "$SA" \
    "... audited with the admin"

done_testing
