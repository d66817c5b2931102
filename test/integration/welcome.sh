#!/usr/bin/env bash
# Welcome emails (manual 000 "Welcome Emails") through the real servers of
# test/stack: `user add --send-welcome` submits, as the sender's mailbox
# through Dovecot's master user, a multipart/alternative message that
# lands in the new user's INBOX, DKIM-signed, with the login URL, the
# username, the role and the role's manual link -- never the password;
# `user welcome` resends, audited; with submission down the user is still
# created, with a warning and an audit row saying why; a bad
# WELCOME_EMAIL_BASE_URL is refused; tenant admins resend to their regular
# users only.  Then the manuals in the webmail, over the stack's HTTPS.
# Uses the stack's own database (the one its Postfix and Dovecot read).
. "$(dirname "$0")/lib.sh"
. "$ERS_STACK_DIR/stack.env"
T_DB=ers

W=https://127.0.0.1:$WEB_PORT
# The stack's config, plus the CA that submission's certificate is from and
# the base URL: the webmail of this stack.
cp "$ERS_STACK_DIR/ers.yaml" "$T_DIR/ers.yaml"
printf 'dns:\n  ca_file: %s\nwelcome:\n  base_url: %s/\n' "$TLS_CA" "$W" >>"$T_DIR/ers.yaml"
export ERS_CONFIG=$T_DIR/ers.yaml
unset WELCOME_EMAIL_BASE_URL

n=$RANDOM
dom=welcome$n.test other=otherwelcome$n.test host=welcometest.ers.test
P=welcome-password-$n-xyz
pw=$T_DIR/pw; echo "$P" >"$pw"
expect 0 "setup: IMAP host" -q server host add $host --kind imap --port 143 --tls starttls
expect 0 "setup: SMTP host" -q server host add $host --kind smtp --port 587
expect 0 "setup: tenant" -q tenant add "Welcome Co" --domain $dom --imap-host $host --imap-port 143 --smtp-host $host
expect 0 "setup: another tenant" -q tenant add "Other Welcome" --domain $other --imap-host $host --imap-port 143 --smtp-host $host
expect 0 "setup: a tenant admin" -q user add boss@$dom --password-file "$pw" --role tenant_admin
expect 0 "setup: postmaster@ is an alias of the tenant admin" -q alias add postmaster@$dom --to boss@$dom
expect 0 "setup: DKIM for the domain" -q dkim enable $dom
"$ERS_TOP/test/stack" reload-dkim "$ERS_STACK_DIR" >/dev/null; ok $? "setup: OpenDKIM has the key"

master=$(sed -n 's/^WEBMAIL_MASTER_PASSWORD=//p' "$ERS_STACK_DIR/secrets")
imap() { # USER PATH [curl args]: IMAP as USER through the master user
    local user=$1 path=$2; shift 2
    curl -s --max-time 20 --ssl-reqd --cacert "$TLS_CA" --user "$user*ers-webmail:$master" \
        "imap://127.0.0.1:$IMAP_PORT/$path" "$@" | tr -d '\r'
}
uids() { imap "$1" INBOX -X "UID SEARCH SUBJECT \"$2\"" | sed -n 's/^\* SEARCH *//p'; }
wait_uids() { # USER SUBJECT-WORD COUNT: up to 15 s for COUNT messages
    local u
    for _ in $(seq 1 150); do u=$(uids "$1" "$2"); [ "$(echo $u | wc -w)" -ge "$3" ] && { echo $u; return 0; }; sleep 0.1; done
    echo $u; return 1
}
raw() { imap "$1" "INBOX;UID=$2"; }

# --- user add --send-welcome ------------------------------------------------------
expect 0 "user add --send-welcome" user add ann@$dom --first-name Ann --password-file "$pw" --send-welcome
like "$OUT" "welcome email sent to ann@$dom" "... says the welcome email was sent"
is "$ERR" "" "... and warns of nothing"
uid=$(wait_uids ann@$dom Welcome 1); ok $? "the welcome email arrives in the new user's INBOX"
M=$(raw ann@$dom "$uid")
like "$M" '^Content-Type: multipart/alternative' "multipart/alternative"
like "$M" 'Content-Type: text/plain' "... with a plain-text part"
like "$M" 'Content-Type: text/html' "... and an HTML part"
like "$M" "^From: \"?Welcome Co\"? <postmaster@$dom>" "from postmaster@ the tenant's primary domain"
like "$M" "^Subject: Welcome to your Welcome Co e-mail account" "the subject"
like "$M" "Login URL: $W/login" "the login URL (the text)"
like "$M" "href=\"$W/login\"" "... (the HTML)"
like "$M" "Username: +ann@$dom" "the username"
like "$M" "Role: +User" "the role"
like "$M" "Read your mail in the webmail" "a summary of the role's features"
like "$M" "User manual: $W/manual/user" "the user manual link"
unlike "$M" "/manual/admin" "... and not the admin manual's"
unlike "$M" "$P" "the password is nowhere in the message"
like "$M" "password is not included in this email" "... and it says so"
like "$M" '^DKIM-Signature:' "DKIM-signed"
like "$M" "[[:space:]]d=$dom;" "... for $dom"
row=$(sql "SELECT detail FROM ers.audit_log WHERE action = 'user.welcome' AND target = 'ann@$dom' AND outcome = 'ok'")
like "$row" "^sent from postmaster@$dom, role user, manual $W/manual/user, Message-ID <.+>$" "audited: user.welcome, sent"
like "$(sql "SELECT count(*) FROM ers.audit_log WHERE action = 'user.add' AND target = 'ann@$dom'")" '^1$' "... beside the one user.add row"

expect 0 "a tenant admin gets the admin manual link" -q user add boss2@$dom --password-file "$pw" --role tenant_admin --send-welcome
uid=$(wait_uids boss2@$dom Welcome 1)
M=$(raw boss2@$dom "$uid")
like "$M" "Admin manual: $W/manual/admin" "... in the text"
like "$M" "Role: +Tenant Admin" "... with the role Tenant Admin"

# --- resend ----------------------------------------------------------------------
expect 0 "user welcome resends" --json user welcome ann@$dom
like "$OUT" "\"manual_url\": \"$W/manual/user\"" "... (JSON: the manual link)"
uids_now=$(wait_uids ann@$dom Welcome 2); ok $? "... and a second one arrives"
is "$(sql "SELECT count(*) FROM ers.audit_log WHERE action = 'user.welcome' AND target = 'ann@$dom' AND detail LIKE 'sent %'")" 2 \
    "... audited as a second user.welcome row"
expect 0 "a tenant admin resends to a regular user of its tenant" -q --as boss@$dom user welcome ann@$dom
denied "may not user.welcome" "a tenant admin cannot resend to an admin" --as boss@$dom user welcome boss2@$dom
expect 0 "setup: a user of another tenant" -q user add x@$other --password-file "$pw"
denied "may not user.welcome" "a tenant admin cannot resend to another tenant's user" --as boss@$dom user welcome x@$other
denied "may not user.welcome" "a user cannot send welcome emails" --as ann@$dom user welcome ann@$dom
refused 66 "no user nobody@$dom" "resend to no one" user welcome nobody@$dom

# --- submission down -------------------------------------------------------------
closed=$(for p in $(seq 56700 56999); do ss -Htln "sport = :$p" | grep -q . || { echo $p; break; }; done)
sed "s/^\(  submission_port:\).*/\1 $closed/" "$T_DIR/ers.yaml" >"$T_DIR/down.yaml"
ERS_CONFIG=$T_DIR/down.yaml expect 0 "with submission down, user add --send-welcome still exits 0" \
    -q user add bob@$dom --password-file "$pw" --send-welcome
like "$ERR" "warning: user bob@$dom was created, but the welcome email was not sent: SMTP submission to .*:$closed .*failed" \
    "... with a warning saying why"
is "$(sql "SELECT count(*) FROM ers.mailbox WHERE address = 'bob@$dom'")" 1 "... and the user is created"
like "$(sql "SELECT detail FROM ers.audit_log WHERE action = 'user.welcome' AND target = 'bob@$dom'")" \
    "^not sent: SMTP submission to .*:$closed" "... the audit row records it"
ERS_CONFIG=$T_DIR/down.yaml expect 0 "... (--json)" --json user add carl@$dom --password-file "$pw" --send-welcome
like "$OUT" '"welcome_email": "not sent"' "... JSON says not sent"
like "$OUT" '"warning": "user carl@.*SMTP submission' "... with the warning"
ERS_CONFIG=$T_DIR/down.yaml expect 69 "a resend with submission down fails (69)" user welcome bob@$dom
is "$(sql "SELECT count(*) FROM ers.audit_log WHERE action = 'user.welcome' AND target = 'bob@$dom' AND detail LIKE 'not sent:%'")" 2 \
    "... and is audited too"

# --- the sender and the base URL ---------------------------------------------------
grep -v '^welcome:\|^  base_url:' "$T_DIR/ers.yaml" >"$T_DIR/nourl.yaml"
ERS_CONFIG=$T_DIR/nourl.yaml expect 0 "without a base URL user add --send-welcome creates the user" -q user add dan@$dom --password-file "$pw" --send-welcome
like "$ERR" "not sent: WELCOME_EMAIL_BASE_URL is not set" "... and warns that WELCOME_EMAIL_BASE_URL is not set"
WELCOME_EMAIL_BASE_URL=$W ERS_CONFIG=$T_DIR/nourl.yaml expect 0 "WELCOME_EMAIL_BASE_URL from the environment" -q user welcome dan@$dom
uid=$(wait_uids dan@$dom Welcome 1); ok $? "... sends"
ERS_CONFIG=$T_DIR/nourl.yaml expect 0 "... config check shows where it comes from" config check
like "$OUT" "# base_url: not set" "... (not set)"
WELCOME_EMAIL_BASE_URL=https://mail.example.com/webmail ERS_CONFIG=$T_DIR/nourl.yaml expect 0 "config check with WELCOME_EMAIL_BASE_URL" config check
like "$OUT" 'base_url: "https://mail.example.com/webmail" # from the environment' "... shows it and its source"
for bad in http://mail.example.com ftp://x.example 'https://' 'https://x.example/?a=1' 'https://x.example/#top' \
    'https://x.example/a b' 'mail.example.com'; do
    WELCOME_EMAIL_BASE_URL=$bad expect 78 "config check refuses WELCOME_EMAIL_BASE_URL=$bad" config check
    like "$ERR" 'WELCOME_EMAIL_BASE_URL .*must be the webmail.s https:// address' "... saying what is allowed"
done
printf 'welcome:\n  base_url: http://mail.example.com\n' >>"$T_DIR/nourl.yaml"
ERS_CONFIG=$T_DIR/nourl.yaml expect 78 "config check refuses welcome.base_url: http://..." config check
like "$ERR" 'nourl.yaml:[0-9]+:[0-9]+: welcome.base_url: must be the webmail.s https:// address' "... naming the file and line"
grep -v '^welcome:\|^  base_url:' "$T_DIR/ers.yaml" >"$T_DIR/sender.yaml"
printf 'welcome:\n  base_url: %s\n  sender: no-reply@%s\n' "$W" "$dom" >>"$T_DIR/sender.yaml"
ERS_CONFIG=$T_DIR/sender.yaml expect 0 "a sender that is no address here: the user is created" -q user add eve@$dom --password-file "$pw" --send-welcome
like "$ERR" "not sent: the sender no-reply@$dom is neither a mailbox nor an alias here" "... and the warning says how to fix it"

# --- the manuals in the webmail ------------------------------------------------------
web() { # JAR CURL-ARGS...: sets CODE, BODY, HDR
    local jar=$1; shift
    CODE=$(curl -s --max-time 60 --cacert "$TLS_CA" -c "$jar" -b "$jar" -D "$T_DIR/hdr" -o "$T_DIR/body" \
        -w '%{http_code}' "$@")
    BODY=$(cat "$T_DIR/body"); HDR=$(tr -d '\r' <"$T_DIR/hdr")
}
login() { web "$1" "$W/login" --data-urlencode "email=$2" --data-urlencode "password=$P"; }
A=$T_DIR/a.jar B=$T_DIR/b.jar X=$T_DIR/x.jar
web "$X" "$W/manual/user"
is "$CODE" 200 "/manual/user without a session: 200 (the welcome email's reader has not signed in yet)"
like "$BODY" '<h1>User manual</h1>' "... the user manual"
like "$BODY" '<a class="button" href="/">Back to App</a>' "... with Back to App"
like "$BODY" 'Set Up FreeOTP' "... describing what the webmail does"
web "$X" "$W/manual/admin"
is "$CODE" 303 "/manual/admin without a session goes to the login page"
like "$HDR" $'\nLocation: /login' "... to /login"
login "$A" ann@$dom; is "$CODE" 303 "ann (a regular user) signs in"
web "$A" "$W/manual/admin"
is "$CODE" 403 "the admin manual is refused to a regular user (403)"
like "$BODY" 'Admin Features Not Visible' "... with the manual's explanation"
like "$BODY" 'Contact your Super Admin to request appropriate permissions' "... and what to do"
like "$BODY" 'Back to App' "... and Back to App"
unlike "$BODY" 'ersctl user add' "... and none of the admin manual"
web "$A" "$W/manual/user"
is "$CODE" 200 "a regular user reads the user manual"
like "$BODY" 'Back to App' "... with Back to App"
login "$B" boss@$dom; is "$CODE" 303 "boss (a tenant admin) signs in"
web "$B" "$W/manual/admin"
is "$CODE" 200 "a tenant admin reads the admin manual"
like "$BODY" '<h1>Admin manual</h1>' "... the admin manual"
like "$BODY" 'Welcome Emails' "... with Welcome Emails"
like "$BODY" 'Back to App' "... and Back to App"

done_testing
