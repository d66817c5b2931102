#!/usr/bin/env bash
# The admin panel's Users tab over HTTPS (curl against the stack's lighttpd
# + ers-webmail.cgi; manual 000 "Admin Features", "Managing Users",
# "Resetting Passwords and Roles", "Deleting a User"): the table per role
# (a tenant admin sees only its tenant's regular users), paged on the
# server, search and the tenant filter; Add User with Generate (the
# generated password logs in over IMAP), IMAP Username/Password, and
# "Send welcome email" (delivered, without the password; with SMTP down the
# user is created, a warning shown and audited); Resend welcome; Edit with
# internal-only, the user's forward, catch-all and send limit; Reset
# password, MFA, Delete with its confirmation page; sorting; and the policy
# over HTTP: every admin GET
# and POST replayed by a user, a tenant admin and a super admin against
# users in and out of its scope, with valid CSRF tokens, is refused exactly
# where `ersctl --as` refuses, and a refusal changes nothing.
. "$(dirname "$0")/lib.sh"
. "$ERS_STACK_DIR/stack.env"
T_DB=ers
# The webmail's config (the stack's ers.yaml with the CA) gets the welcome
# base URL for this test, and is put back after; ersctl reads the same.
WEBCONF=$ERS_STACK_DIR/web/ers.yaml
cp "$WEBCONF" "$T_DIR/web-ers.yaml.orig"
trap 'cp "$T_DIR/web-ers.yaml.orig" "$WEBCONF"' EXIT
printf 'welcome:\n  base_url: https://127.0.0.1:%s/\n' "$WEB_PORT" >>"$WEBCONF"
export ERS_CONFIG=$WEBCONF
unset WELCOME_EMAIL_BASE_URL

BASE=https://127.0.0.1:$WEB_PORT
n=$RANDOM
A=adm$n-a.test B=adm$n-b.test P=adm$n-p.test
host=webadmin.ers.test
PW=admin-password-123
printf '%s\n' "$PW" >"$T_DIR/pw"

expect 0 "setup: IMAP host" -q server host add $host --kind imap --port 143 --tls starttls
expect 0 "setup: SMTP host" -q server host add $host --kind smtp --port 587
for d in $A $B $P; do
    run -q tenant add "Admin $d" --domain $d --imap-host $host --imap-port 143 --smtp-host $host
done
add() { # ADDRESS ROLE: a user with the known password
    run -q user add "$1" --role "$2" --quota-mb 50 --password-file "$T_DIR/pw"
    [ "$RC" -eq 0 ] || diag "user add $1: $ERR"
}
SA=sa@$A TA=ta@$A U=u@$A
add $SA super_admin; add $TA tenant_admin; add $U user
# Targets: in and out of each actor's scope.
T_USER=t-user@$A T_TA=t-ta@$A T_SA=t-sa@$B T_UB=t-ub@$B T_TB=t-tb@$B
declare -A ROLE_OF=([$T_USER]=user [$T_TA]=tenant_admin [$T_SA]=super_admin [$T_UB]=user [$T_TB]=tenant_admin)
for t in "${!ROLE_OF[@]}"; do add "$t" "${ROLE_OF[$t]}"; done
add u2@$A user
# What a refusal must leave as it was: everything but the audit log (refusals
# add to it) and the sessions' last-seen times (every request moves its own;
# a session ended shows in mailbox.session_generation).
NO_AUDIT="AND c.relname NOT IN ('audit_log', 'audit_log_id_seq', 'session')"

declare -A JAR TOKEN
login() { # ADDRESS PASSWORD: a session in JAR[ADDRESS], its CSRF token in TOKEN[ADDRESS]
    JAR[$1]=$T_DIR/jar-${1%@*}; rm -f "${JAR[$1]}"
    web "${JAR[$1]}" POST /login --data-urlencode "email=$1" --data-urlencode "password=$2"
    local code=$CODE
    web "${JAR[$1]}" GET /mfa
    TOKEN[$1]=$(csrf)
    CODE=$code
}
as() { local who=$1; shift; web "${JAR[$who]}" "$@"; }   # as ADDRESS METHOD PATH [args]
post() { local who=$1 path=$2; shift 2; as "$who" POST "$path" --data-urlencode "csrf=${TOKEN[$who]}" "$@"; }
imap_login() { # ADDRESS PASSWORD: exit status of an IMAP login
    curl -s --max-time 20 --ssl-reqd --cacert "$TLS_CA" --user "$1:$2" "imap://127.0.0.1:$IMAP_PORT/" -X NOOP >/dev/null
}
# rows: the addresses in the Users table of the last page, one a line.
rows() { printf '%s' "$BODY" | grep -o '<td class="email" data-label="Email">[^<]*' | sed 's/.*>//'; }

for who in $SA $TA $U; do
    login $who "$PW"
    is "$CODE" 303 "$who logs in"
done

# --- the tab and the table per role --------------------------------------------
as $U GET /mfa
unlike "$BODY" '>Admin<' "a user sees no Admin tab"
as $U GET /admin/users
is "$CODE" 403 "a user is refused the Users table"
unlike "$BODY" "$T_USER" "... which shows no user"
as $TA GET /mfa
like "$BODY" '<a href="/admin/users"[^>]*>Admin</a>' "a tenant admin sees the Admin tab"
as $SA GET /mfa
like "$BODY" '<a href="/admin/users"[^>]*>Admin</a>' "a super admin sees the Admin tab"

as $TA GET /admin/users
is "$CODE" 200 "a tenant admin's Users table"
is "$(rows | tr '\n' ' ')" "$T_USER u2@$A $U " "... holds exactly the regular users of its own tenant, by email"
like "$BODY" '<th scope="col" aria-sort="ascending"><a class="sort" href="[^"]*sort=email&amp;dir=desc">Email[^<]*</a></th><th scope="col"><a class="sort" href="[^"]*sort=name&amp;dir=asc">Name</a></th><th scope="col"><a class="sort" href="[^"]*sort=role&amp;dir=asc">Role</a></th><th scope="col"><a class="sort" href="[^"]*sort=status&amp;dir=asc">Status</a></th><th scope="col">Quota used/max</th><th scope="col">Autoresponder</th><th scope="col">MFA</th>' \
    "... with email, name, role, status (sortable), quota, autoresponder and MFA"
like "$BODY" 'href="/admin/users/new">Add User<' "... and an Add User button"
unlike "$BODY" 'name="tenant"' "... without a tenant filter"
as $TA GET "/admin/users?tenant=Admin%20$B"
unlike "$(rows)" "@$B" "a tenant admin's hand-made tenant filter shows no other tenant"

as $SA GET /admin/users
is "$CODE" 200 "a super admin's Users table"
like "$(rows | tr '\n' ' ')" "$SA.*$T_SA" "... shows users across tenants and admins"
like "$BODY" '<select name="tenant">' "... with a tenant filter"
as $SA GET "/admin/users?tenant=Admin%20$B"
is "$(rows | tr '\n' ' ')" "$T_SA $T_TB $T_UB " "the tenant filter shows that tenant's users only"
as $SA GET "/admin/users?q=T-UB"
is "$(rows | tr '\n' ' ')" "$T_UB " "search finds a user by part of the address, in any case"
run -q user edit u2@$A --first-name Zebediah
as $TA GET "/admin/users?q=zebed"
is "$(rows | tr '\n' ' ')" "u2@$A " "... and by name"

# Paging: 55 users in a tenant of their own, 50 a page, by email.
for i in $(seq -w 1 55); do run -q user add "p$i@$P" --password-file "$T_DIR/pw"; done
as $SA GET "/admin/users?tenant=Admin%20$P"
is "$(rows | wc -l)" 50 "the table shows 50 users a page"
is "$(rows | tail -n 1)" "p50@$P" "... the first 50 by email"
next=$(printf '%s' "$BODY" | grep -o 'href="[^"]*after=[^"]*">Next page' | sed 's/href="//; s/">.*//; s/&amp;/\&/g')
like "$next" "after=p50%40$P" "... and a Next page link with the keyset cursor"
as $SA GET "$next"
is "$(rows | tr '\n' ' ')" "p51@$P p52@$P p53@$P p54@$P p55@$P " "the next page holds the rest"
unlike "$BODY" 'Next page' "... and no further link"

# Sorting, paged on the server: the keyset cursor holds the sort key.
nextlink() { printf '%s' "$BODY" | grep -o 'href="[^"]*after=[^"]*">Next page' | sed 's/href="//; s/">.*//; s/&amp;/\&/g'; }
as $SA GET "/admin/users?tenant=Admin%20$P&sort=email&dir=desc"
is "$(rows | head -n 1):$(rows | tail -n 1)" "p55@$P:p06@$P" "email, descending: p55 .. p06 on the first page"
as $SA GET "$(nextlink)"
is "$(rows | tr '\n' ' ')" "p05@$P p04@$P p03@$P p02@$P p01@$P " "... and the rest on the next"
for i in $(seq 1 55); do run -q user edit "p$(printf %02d $i)@$P" --first-name "Name $(printf %02d $((56 - i)))"; done
as $SA GET "/admin/users?tenant=Admin%20$P&sort=name"
is "$(rows | head -n 1):$(rows | tail -n 1)" "p55@$P:p06@$P" "by name: Name 01 (p55) .. Name 50 (p06) on the first page"
like "$BODY" '<th scope="col" aria-sort="ascending"><a class="sort" href="[^"]*sort=name&amp;dir=desc">Name' "... the Name heading says so and links to descending"
web_first=$(rows | tr '\n' ' ')
run --json user list --tenant "Admin $P" --sort name --limit 50
is "$(printf '%s' "$OUT" | sed -n 's/^ *"address": "\([^"]*\)".*/\1/p' | tr '\n' ' ')" "$web_first" "... the same page as ersctl user list --sort name"
like "$(nextlink)" 'sort=name&dir=asc&after=p06%40[^&]*%20name%2050(%20)?$' "... a Next page cursor with the sort key"
as $SA GET "$(nextlink)"
is "$(rows | tr '\n' ' ')" "p05@$P p04@$P p03@$P p02@$P p01@$P " "... and the next page holds the rest in order"
run -q user disable p30@$P; run -q user disable p10@$P
as $SA GET "/admin/users?tenant=Admin%20$P&sort=status&dir=desc"
is "$(rows | head -n 2 | tr '\n' ' ')" "p30@$P p10@$P " "by status, descending: the disabled first"
as $SA GET "/admin/users?tenant=Admin%20$B&sort=role"
is "$(rows | tr '\n' ' ')" "$T_SA $T_TB $T_UB " "by role: super_admin, tenant_admin, user"
as $SA GET "/admin/users?sort=size"
is "$CODE" 422 "an unknown sort is refused"
like "$BODY" 'sort must be email, name, role or status' "... in words"
as $SA GET "/admin/users?tenant=Admin%20$P&sort=name&after=p06%40$P"
is "$CODE" 422 "a cursor that does not fit the order is refused"

# --- Add User --------------------------------------------------------------------------
as $SA GET /admin/users/new
like "$BODY" 'name="email".*name="password".*name="generate".*name="first".*name="last".*name="role".*name="quota".*>Create User<' \
    "Add User: Email, Password with Generate, First Name, Last Name, Role, Quota (MB), Create User"
like "$BODY" '<option[^>]*>user</option><option[^>]*>tenant_admin</option><option[^>]*>super_admin</option>' "... a super admin may give every role"
as $TA GET /admin/users/new
like "$BODY" '<select name="role"><option>user</option></select>' "... a tenant admin may give the user role only"

NEWU=new@$A
post $SA /admin/users/new --data-urlencode "email=$NEWU" --data-urlencode generate=1 --data-urlencode first=Nora \
    --data-urlencode last=New --data-urlencode role=user --data-urlencode quota=20
is "$CODE" 200 "Create User with Generate"
genpw=$(printf '%s' "$BODY" | sed -n 's/.*<code id="generated-password">\([^<]*\)<.*/\1/p')
ok "$([ ${#genpw} -ge 16 ]; echo $?)" "... shows the generated password once, with Copy" || diag "$BODY"
like "$BODY" 'data-copy="generated-password">Copy<' "... the copy button"
imap_login $NEWU "$genpw"
is $? 0 "the generated password logs in over IMAP"
run --json user show $NEWU; OUT=$(printf '%s' "$OUT" | tr -d '\n')
like "$OUT" '"first_name": "Nora".*"quota_mb": 20' "... the user has the name and quota given" || diag "$OUT"
login $NEWU "$genpw"
is "$CODE" 303 "... and logs in to the webmail"

before=$(DUMP_EXCEPT=$NO_AUDIT dump)
post $SA /admin/users/new --data-urlencode "email=$NEWU" --data-urlencode "password=another-pass-123" \
    --data-urlencode first=Keep --data-urlencode role=user
is "$CODE" 409 "an address in use is refused"
like "$BODY" 'name="email" value="new@[^"]*".*class="field-error" id="email-error">' "... in words next to Email, the form kept"
like "$BODY" 'name="first" value="Keep"' "... names kept"
post $SA /admin/users/new --data-urlencode "email=x@$A" --data-urlencode "password=short" --data-urlencode quota=5
is "$CODE" 422 "a too short password is refused"
like "$BODY" 'name="password"[^>]*aria-invalid="true".*id="password-error"' "... next to Password"
post $SA /admin/users/new --data-urlencode "email=x@$A" --data-urlencode "password=long-enough-123" --data-urlencode quota=lots
is "$CODE" 422 "a quota that is not a number is refused"
like "$BODY" 'id="quota-error">Quota \(MB\) must be' "... next to Quota"
post $SA /admin/users/new --data-urlencode "email=x@$A" --data-urlencode "password=long-enough-123" --data-urlencode generate=1
is "$CODE" 422 "a password and Generate together are refused"
is "$(DUMP_EXCEPT=$NO_AUDIT dump)" "$before" "... and none of these changed anything"

# --- IMAP Username and IMAP Password (a remote mailbox) --------------------------------
as $SA GET /admin/users/new
like "$BODY" 'name="role".*>IMAP Username<input name="imap_username".*>IMAP Password<input type="password" name="imap_password".*name="quota"' \
    "Add User: IMAP Username and IMAP Password after Role, before Quota (MB)"
before=$(DUMP_EXCEPT=$NO_AUDIT dump)
post $SA /admin/users/new --data-urlencode "email=remote@$A" --data-urlencode "password=long-enough-123" \
    --data-urlencode imap_username=remote-login
is "$CODE" 422 "an IMAP Username without the IMAP Password is refused"
like "$BODY" 'id="imap-error">stored IMAP credentials need both' "... in words next to the IMAP fields"
like "$BODY" 'name="imap_username" value="remote-login"' "... the form kept"
is "$(DUMP_EXCEPT=$NO_AUDIT dump)" "$before" "... nothing changed"
post $SA /admin/users/new --data-urlencode "email=remote@$A" --data-urlencode "password=long-enough-123" \
    --data-urlencode imap_username=remote-login --data-urlencode imap_password=remote-secret-771
is "$CODE" 200 "Create User with IMAP Username and IMAP Password"
run --json user show remote@$A; OUT=$(printf '%s' "$OUT" | tr -d '\n')
like "$OUT" '"mailbox": "remote", +"imap_username": "remote-login"' "... a remote mailbox with the IMAP username" || diag "$OUT"
unlike "$OUT$(sql "SELECT imap_password_sealed FROM ers.mailbox WHERE address = 'remote@$A'")" remote-secret-771 \
    "... the IMAP password is stored sealed, never shown"

# --- Send welcome email ---------------------------------------------------------------
# The sender is postmaster@ the tenant's primary domain: an alias here.
expect 0 "setup: postmaster@$A" -q alias add postmaster@$A --to $SA
add pm@$B super_admin
expect 0 "setup: postmaster@$B" -q alias add postmaster@$B --to pm@$B
master=$(sed -n 's/^WEBMAIL_MASTER_PASSWORD=//p' "$ERS_STACK_DIR/secrets")
imapm() { # USER PATH [curl args]: IMAP as USER through the master user
    local user=$1 path=$2; shift 2
    curl -s --max-time 20 --ssl-reqd --cacert "$TLS_CA" --user "$user*ers-webmail:$master" \
        "imap://127.0.0.1:$IMAP_PORT/$path" "$@" | tr -d '\r'
}
wait_uids() { # USER COUNT: up to 15 s for COUNT welcome emails in USER's INBOX
    local u
    for _ in $(seq 1 150); do
        u=$(imapm "$1" INBOX -X 'UID SEARCH SUBJECT "Welcome"' | sed -n 's/^\* SEARCH *//p')
        [ "$(echo $u | wc -w)" -ge "$2" ] && { echo $u; return 0; }; sleep 0.1
    done
    echo $u; return 1
}
as $SA GET /admin/users/new
like "$BODY" '<input type="checkbox" name="welcome" value="1" aria-describedby="welcome-hint" checked> Send welcome email</label>' "Add User: Send welcome email, on by default"
WU=welcomed@$A
post $SA /admin/users/new --data-urlencode "email=$WU" --data-urlencode generate=1 --data-urlencode first=Wendy \
    --data-urlencode role=user --data-urlencode welcome=1
is "$CODE" 200 "Create User with Generate and Send welcome email"
like "$BODY" "id=\"welcome-sent\">A welcome email was sent to $WU" "... says the welcome email was sent"
genw=$(printf '%s' "$BODY" | sed -n 's/.*<code id="generated-password">\([^<]*\)<.*/\1/p')
uid=$(wait_uids $WU 1); ok $? "the welcome email arrives in the new user's INBOX"
M=$(imapm $WU "INBOX;UID=${uid%% *}")
like "$M" "Username: +$WU" "... with the username"
like "$M" "Login URL: https://127.0.0.1:$WEB_PORT/login" "... and the login URL"
ok "$([ ${#genw} -ge 16 ] && ! printf '%s' "$M" | grep -qF -- "$genw"; echo $?)" \
    "the generated password is nowhere in the delivered message"
like "$(sql "SELECT detail FROM ers.audit_log WHERE action = 'user.welcome' AND target = '$WU'")" "^sent from postmaster@$A" \
    "... audited as user.welcome"
post $SA /admin/users/new --data-urlencode "email=quiet@$A" --data-urlencode "password=long-enough-123"
is "$CODE" 200 "Create User with Send welcome email off"
unlike "$BODY" 'welcome-sent|welcome-warning' "... says nothing of a welcome email"
is "$(sql "SELECT count(*) FROM ers.audit_log WHERE action = 'user.welcome' AND target = 'quiet@$A'")" 0 "... and sends none"

# SMTP down: the user is created all the same; the warning says why; audited.
closed=$(for p in $(seq 56700 56999); do ss -Htln "sport = :$p" | grep -q . || { echo $p; break; }; done)
cp "$WEBCONF" "$T_DIR/up.yaml"
sed -i "s/^\(  submission_port:\).*/\1 $closed/" "$WEBCONF"
post $SA /admin/users/new --data-urlencode "email=down@$A" --data-urlencode "password=long-enough-123" \
    --data-urlencode welcome=1
is "$CODE" 200 "with SMTP down, Create User still creates the user"
like "$BODY" "id=\"welcome-warning\">Warning: user down@$A was created, but the welcome email was not sent: SMTP submission to [^<]*:$closed" \
    "... and the admin sees a warning that says why"
is "$(sql "SELECT count(*) FROM ers.mailbox WHERE address = 'down@$A'")" 1 "... the user exists"
is "$(sql "SELECT count(*) FROM ers.audit_log WHERE action = 'user.add' AND target = 'down@$A' AND outcome = 'ok'")" 1 \
    "... the audit log has the user.add row"
like "$(sql "SELECT detail FROM ers.audit_log WHERE action = 'user.welcome' AND target = 'down@$A'")" "^not sent: SMTP submission to .*:$closed" \
    "... and a user.welcome row saying why it was not sent"
post $SA /admin/users/welcome --data-urlencode "u=down@$A"
is "$CODE" 503 "Resend welcome with SMTP down fails"
like "$BODY" 'role="alert">The welcome email was not sent: SMTP submission' "... saying why"
cp "$T_DIR/up.yaml" "$WEBCONF"

as $TA GET /admin/users
like "$BODY" "<form method=\"post\" action=\"/admin/users/welcome\" class=\"inline\"><input type=\"hidden\" name=\"csrf\" value=\"[^\"]+\"><input type=\"hidden\" name=\"u\" value=\"$T_USER\"><button type=\"submit\" class=\"link\">Resend welcome</button>" \
    "each row has Resend welcome (a POST with the CSRF token)"
post $SA /admin/users/welcome --data-urlencode "u=down@$A"
is "$CODE" 200 "Resend welcome"
like "$BODY" "The welcome email was sent to down@$A from postmaster@$A, with the link to https://127.0.0.1:$WEB_PORT/manual/user" \
    "... says to whom, from whom and which manual"
wait_uids down@$A 1 >/dev/null; ok $? "... and it arrives"

# --- the edit page: internal-only, forward, catch-all, send limit -------------------
E1=e1@$A; add $E1 user
as $TA GET "/admin/users/edit?u=e1%40$A"
like "$BODY" 'name="internal".*<h2>Forward</h2>.*Send a copy to<input name="to".*Do not save incoming emails.*<h2>Catch-all of [^<]*</h2>.*<h2>Send limit</h2>.*Number of mails sent per hour<input name="per_mailbox"' \
    "Edit: internal-only, the forward, the catch-all and the send limit"
post $TA /admin/users/edit --data-urlencode "u=$E1" --data-urlencode first=E --data-urlencode quota=10 \
    --data-urlencode status=active --data-urlencode internal_field=1 --data-urlencode internal=1
is "$CODE" 200 "Save with Internal only"
run --json user show $E1; OUT=$(printf '%s' "$OUT" | tr -d '\n')
like "$OUT" '"internal_only": true' "... the user is internal-only" || diag "$OUT"
post $TA /admin/users/edit --data-urlencode "u=$E1" --data-urlencode first=E --data-urlencode quota=10 \
    --data-urlencode status=active --data-urlencode internal_field=1
run --json user show $E1; OUT=$(printf '%s' "$OUT" | tr -d '\n')
like "$OUT" '"internal_only": false' "... and no longer when unticked" || diag "$OUT"

fwd_json() { run --json forward list --tenant "Admin $A"; printf '%s' "$OUT" | tr -d '\n '; }
before=$(DUMP_EXCEPT=$NO_AUDIT dump)
post $TA /admin/users/forward --data-urlencode "u=$E1" --data-urlencode op=add --data-urlencode "to=copy@@bad"
is "$CODE" 422 "a forward to a bad address is refused"
like "$BODY" 'aria-describedby="forward-error"></label><span class="field-error" id="forward-error">[^<]+' "... in words next to Send a copy to"
like "$BODY" 'name="to" value="copy@@bad"' "... the form kept"
is "$(DUMP_EXCEPT=$NO_AUDIT dump)" "$before" "... nothing changed"
post $TA /admin/users/forward --data-urlencode "u=$E1" --data-urlencode op=add --data-urlencode "to=copy@example.org, $U" \
    --data-urlencode nosave=1
is "$CODE" 303 "Add forward"
like "$(fwd_json)" "\"source\":\"$E1\",\"kind\":\"mailbox\",[^}]*\"destinations\":\\[\"copy@example.org\",\"$U\"\\],\"keep_copy\":false" \
    "... the same forward as ersctl forward add, Do not save incoming emails kept"
as $TA GET "/admin/users/edit?u=e1%40$A&done=forward"
like "$BODY" "The forward was saved.*id=\"forward-now\">Mail for $E1 goes on to <strong>copy@example.org, $U</strong>; the mailbox does not keep it" \
    "... and the edit page shows it"
post $TA /admin/users/forward --data-urlencode "u=$E1" --data-urlencode op=remove
is "$CODE" 303 "Remove forward"
unlike "$(fwd_json)" "\"source\":\"$E1\"" "... it is gone"

post $TA /admin/users/catchall --data-urlencode "u=$E1" --data-urlencode op=add
is "$CODE" 303 "Make this user the catch-all"
like "$(fwd_json)" "\"source\":\"\\*@$A\",\"kind\":\"catchall\",[^}]*\"destinations\":\\[\"$E1\"\\]" "... the catch-all *@$A goes to the user"
as $TA GET "/admin/users/edit?u=e1%40$A"
like "$BODY" "id=\"catchall-now\">The catch-all \\*@$A goes to <strong>$E1</strong>" "... shown on the edit page"
post $TA /admin/users/catchall --data-urlencode "u=$E1" --data-urlencode op=remove
is "$CODE" 303 "Remove catch-all"
unlike "$(fwd_json)" "\"source\":\"\\*@$A\"" "... it is gone"

before=$(DUMP_EXCEPT=$NO_AUDIT dump)
post $TA /admin/users/limits --data-urlencode "u=$E1" --data-urlencode per_mailbox=lots
is "$CODE" 422 "a send limit that is no number is refused"
like "$BODY" 'id="limits-error">Number of mails sent per hour must be 0\.\.' "... in words next to the field"
like "$BODY" 'name="per_mailbox" inputmode="numeric" value="lots"' "... the form kept"
is "$(DUMP_EXCEPT=$NO_AUDIT dump)" "$before" "... nothing changed"
post $TA /admin/users/limits --data-urlencode "u=$E1" --data-urlencode per_mailbox=5
is "$CODE" 303 "Save limit"
run --json limits show --mailbox $E1; OUT=$(printf '%s' "$OUT" | tr -d '\n ')
like "$OUT" '"per_mailbox":\{"settable":true,"set_here":5,"effective":5' "... set as by ersctl limits set" || diag "$OUT"
as $TA GET "/admin/users/edit?u=e1%40$A"
like "$BODY" 'id="limits-now">In force: 5 emails per hour \(set at mailbox level\)' "... shown on the edit page"
post $TA /admin/users/limits --data-urlencode "u=$E1" --data-urlencode per_mailbox=5 --data-urlencode clear=1
is "$CODE" 303 "Clear limit"
run --json limits show --mailbox $E1; OUT=$(printf '%s' "$OUT" | tr -d '\n ')
like "$OUT" '"per_mailbox":\{"settable":true,"set_here":null' "... the mailbox inherits again" || diag "$OUT"

# --- Edit, Reset password, MFA, Delete (a tenant admin on its regular user) -------------
as $TA GET "/admin/users/edit?u=u2%40$A"
is "$CODE" 200 "Edit"
unlike "$BODY" 'name="role"' "... offers a tenant admin no role"
post $TA /admin/users/edit --data-urlencode "u=u2@$A" --data-urlencode first=Uma --data-urlencode last=Two \
    --data-urlencode quota=30 --data-urlencode status=disabled
is "$CODE" 200 "Save"
run --json user show u2@$A; OUT=$(printf '%s' "$OUT" | tr -d '\n')
like "$OUT" '"first_name": "Uma".*"last_name": "Two".*"quota_mb": 30.*"status": "disabled"' "... saved name, quota and disable" || diag "$OUT"
post $TA /admin/users/edit --data-urlencode "u=u2@$A" --data-urlencode first=Uma --data-urlencode last=Two \
    --data-urlencode quota= --data-urlencode status=active
run --json user show u2@$A; OUT=$(printf '%s' "$OUT" | tr -d '\n')
like "$OUT" '"quota_mb": null.*"status": "active"' "... enable and no quota" || diag "$OUT"

as $TA GET "/admin/users/password?u=u2%40$A"
like "$BODY" 'name="password".*name="generate".*>Reset password<' "Reset password has Generate"
post $TA /admin/users/password --data-urlencode "u=u2@$A" --data-urlencode generate=1
is "$CODE" 200 "Reset password with Generate"
genpw2=$(printf '%s' "$BODY" | sed -n 's/.*<code id="generated-password">\([^<]*\)<.*/\1/p')
imap_login u2@$A "$genpw2"
is $? 0 "... the new password logs in over IMAP"
imap_login u2@$A "$PW"
ok "$([ $? -ne 0 ]; echo $?)" "... the old one no longer does"
post $TA /admin/users/password --data-urlencode "u=u2@$A" --data-urlencode "password=typed-password-456"
is "$CODE" 200 "Reset password to a typed one"
imap_login u2@$A typed-password-456
is $? 0 "... which logs in"

as $TA GET "/admin/users/mfa?u=u2%40$A"
like "$BODY" 'MFA is off.*>Reset MFA<' "MFA: off, with Reset MFA"
post $TA /admin/users/mfa --data-urlencode "u=u2@$A"
like "$BODY" 'was not on' "Reset MFA of a user without MFA says so"

as $TA GET "/admin/users/delete?u=u2%40$A"
like "$BODY" "<h1>Delete u2@$A\\?</h1>.*cannot be undone.*>Delete u2@$A</button>" "Delete asks first, naming the address"
run user show u2@$A
is "$RC" 0 "... the GET deleted nothing"
post $TA /admin/users/delete --data-urlencode "u=u2@$A"
is "$CODE" 200 "Delete confirmed"
run user show u2@$A
is "$RC" 66 "... the user is gone" || diag "$ERR"

# --- the policy over HTTP -----------------------------------------------------------------
# Each (actor, target, operation) is asked of `ersctl --as` and of the
# webmail; they must agree.  A refusal changes nothing (the audit log aside).
# An allowed change is redone: the target is put back as it was.
restore() { # TARGET
    run -q user delete "$1" --yes
    add "$1" "${ROLE_OF[$1]}"
}
undo() { # OP TARGET: what an allowed OP did, undone
    case $1 in
        delete) restore "$2" ;;
        forward) run -q forward delete "$2" ;;
        catchall) run -q forward delete "*@${2#*@}" ;;
    esac
}
cli_of() { # OP TARGET: the ersctl words
    case $1 in
        view) echo "user show $2" ;;
        mfaview) echo "user mfa status $2" ;;
        edit) echo "user edit $2 --first-name Policy" ;;
        password) echo "user passwd $2 --generate-password" ;;
        mfa) echo "user mfa reset $2" ;;
        delete) echo "user delete $2" ;;
        welcome) echo "user welcome $2" ;;
        forward) echo "forward add $2 --to policy-copy@example.org" ;;
        catchall) echo "forward add *@${2#*@} --to $2" ;;
        limits) echo "limits set --mailbox $2 --per-mailbox 7" ;;
    esac
}
web_op() { # ACTOR OP TARGET
    local e; e=$(printf '%s' "$3" | sed 's/@/%40/')
    case $2 in
        view) as $1 GET "/admin/users/edit?u=$e" ;;
        viewpw) as $1 GET "/admin/users/password?u=$e" ;;
        viewdel) as $1 GET "/admin/users/delete?u=$e" ;;
        mfaview) as $1 GET "/admin/users/mfa?u=$e" ;;
        edit) post $1 /admin/users/edit --data-urlencode "u=$3" --data-urlencode first=Policy ;;
        password) post $1 /admin/users/password --data-urlencode "u=$3" --data-urlencode generate=1 ;;
        mfa) post $1 /admin/users/mfa --data-urlencode "u=$3" ;;
        delete) post $1 /admin/users/delete --data-urlencode "u=$3" ;;
        welcome) post $1 /admin/users/welcome --data-urlencode "u=$3" ;;
        forward) post $1 /admin/users/forward --data-urlencode "u=$3" --data-urlencode op=add --data-urlencode to=policy-copy@example.org ;;
        catchall) post $1 /admin/users/catchall --data-urlencode "u=$3" --data-urlencode op=add ;;
        limits) post $1 /admin/users/limits --data-urlencode "u=$3" --data-urlencode per_mailbox=7 ;;
    esac
}
for actor in $U $TA $SA; do
    for t in $T_USER $T_TA $T_SA $T_UB $T_TB; do
        for op in view viewpw viewdel mfaview edit password mfa delete welcome forward catchall limits; do
            cliop=$op
            case $op in viewpw|viewdel) cliop=view ;; esac
            # The webmail first (an allowed delete is then redone for ersctl).
            before=$(DUMP_EXCEPT=$NO_AUDIT dump)
            web_op $actor $op $t
            after=$(DUMP_EXCEPT=$NO_AUDIT dump)
            wcode=$CODE
            case $wcode in 200|303) undo $op $t ;; esac
            set -f; run --yes --as $actor $(cli_of $cliop $t); set +f
            [ "$RC" -eq 0 ] && undo $cliop $t
            role=${actor%%@*}
            desc="$role: $op ${ROLE_OF[$t]} ${t#*@}"
            if [ "$RC" -eq 0 ]; then
                like "$wcode" '^(200|303)$' "$desc: allowed as by ersctl --as"
            elif [ "$RC" -eq 77 ]; then
                bad=0
                [ "$wcode" = 403 ] || bad=1
                [ "$before" = "$after" ] || bad=1
                ok $bad "$desc: refused as by ersctl --as, nothing changed" ||
                    diag "web status $wcode" "$(diff <(echo "$before") <(echo "$after") | head -n 6)"
            else
                ok 1 "$desc: ersctl --as exited $RC"; diag "$ERR"
            fi
        done
    done
done

# Hand-made escalations by a tenant admin, with a valid token: refused, nothing changed.
escalate() { # DESC ARGS for post as the tenant admin
    local desc=$1; shift
    before=$(DUMP_EXCEPT=$NO_AUDIT dump)
    post $TA "$@"
    after=$(DUMP_EXCEPT=$NO_AUDIT dump)
    bad=0; [ "$CODE" = 403 ] || bad=1; [ "$before" = "$after" ] || bad=1
    ok $bad "$desc" || diag "status $CODE" "$(diff <(echo "$before") <(echo "$after") | head -n 6)"
    like "$BODY" 'class="error" role="alert">[^<]*may not' "... the page shows the refusal"
}
escalate "a tenant admin cannot create a tenant admin" /admin/users/new --data-urlencode "email=esc@$A" \
    --data-urlencode "password=long-enough-123" --data-urlencode role=tenant_admin
escalate "a tenant admin cannot create a super admin" /admin/users/new --data-urlencode "email=esc@$A" \
    --data-urlencode "password=long-enough-123" --data-urlencode role=super_admin
escalate "a tenant admin cannot create a user in another tenant" /admin/users/new --data-urlencode "email=esc@$B" \
    --data-urlencode "password=long-enough-123" --data-urlencode role=user
escalate "a tenant admin cannot make its user an admin" /admin/users/edit --data-urlencode "u=$T_USER" \
    --data-urlencode first=X --data-urlencode role=tenant_admin
before=$(DUMP_EXCEPT=$NO_AUDIT dump)
as $TA POST /admin/users/delete --data-urlencode "u=$T_USER" --data-urlencode "csrf=wrong"
is "$CODE:$([ "$before" = "$(DUMP_EXCEPT=$NO_AUDIT dump)" ]; echo $?)" "403:0" "a POST without the session's CSRF token is refused, nothing changed"

for d in $A $B $P; do run -q tenant delete "$d" --yes; done
expect 0 "cleanup: withdraw the hosts" -q server host remove $host
done_testing
