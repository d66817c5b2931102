#!/usr/bin/env bash
# Manual 000 "Changing Your Password" through the webmail over HTTPS (curl
# against the stack's lighttpd + ers-webmail.cgi): current, new and confirm;
# wrong answers change nothing; a change ends every session of the user
# (this one and another browser's) and reaches Dovecot and Postfix at once
# (manual 001): the new password logs in over IMAP and SMTP AUTH, the old
# one no longer does.
. "$(dirname "$0")/lib.sh"
. "$ERS_STACK_DIR/stack.env"
export ERS_CONFIG=$ERS_STACK_DIR/ers.yaml
T_DB=ers  # Dovecot reads the stack's own database

BASE=https://127.0.0.1:$WEB_PORT
dom=pw$RANDOM.test
host=webpw.ers.test
user=walter@$dom
OLD=old-password-123 NEW='new pässword-456!'
printf '%s\n' "$OLD" >"$T_DIR/pw"

expect 0 "setup: IMAP host" -q server host add $host --kind imap --port 143 --tls starttls
expect 0 "setup: SMTP host" -q server host add $host --kind smtp --port 587
expect 0 "setup: tenant" -q tenant add "Password Co $RANDOM" --domain $dom --imap-host $host --imap-port 143 --smtp-host $host
expect 0 "setup: user" -q user add $user --quota-mb 100 --password-file "$T_DIR/pw"

login() { # JAR PASSWORD
    rm -f "$1"
    web "$1" POST /login --data-urlencode "email=$user" --data-urlencode "password=$2"
}
# imap_login PASSWORD: exit status of an IMAP login as the user (STARTTLS).
imap_login() {
    curl -s --max-time 20 --ssl-reqd --cacert "$TLS_CA" --user "$user:$1" "imap://127.0.0.1:$IMAP_PORT/" -X NOOP >/dev/null
}
# smtp_auth PASSWORD: exit status of SMTP AUTH on submission (STARTTLS).
smtp_auth() {
    swaks --server "127.0.0.1:$SUBMISSION_PORT" --tls --tls-ca-path "$TLS_CA" --quit-after AUTH \
        --auth PLAIN --auth-user "$user" --auth-password "$1" >/dev/null 2>&1
}
change() { # CURRENT NEW CONFIRM
    web "$A" GET /password
    local token; token=$(csrf)
    web "$A" POST /password --data-urlencode "csrf=$token" --data-urlencode "current=$1" \
        --data-urlencode "new=$2" --data-urlencode "confirm=$3"
}

A=$T_DIR/jar-a B=$T_DIR/jar-b
login "$A" "$OLD"
is "$CODE" 303 "logged in (browser A)"
login "$B" "$OLD"
is "$CODE" 303 "logged in (browser B)"

web "$A" GET /password
is "$CODE" 200 "the Change Password page"
like "$BODY" 'name="current".*name="new".*name="confirm".*>Change Password</button>' "... asks for current, new and confirm"

change wrong-password-1 "$NEW" "$NEW"
is "$CODE" 403 "a wrong current password is refused"
like "$BODY" 'class="error"' "... with a message on the page"
change "$OLD" "$NEW" "something else"
is "$CODE" 422 "a confirmation that differs is refused"
like "$BODY" 'class="error"' "... with a message on the page"
change "$OLD" short short
is "$CODE" 422 "a too short new password is refused"
imap_login "$OLD"
is $? 0 "after the refusals the old password still logs in over IMAP"

change "$OLD" "$NEW" "$NEW"
is "$CODE" 200 "the change is accepted"
like "$BODY" 'Password changed' "... and says so"
like "$(printf '%s\n' "$HDR" | grep -i '^set-cookie:')" '__Host-ers_session=;.*Max-Age=0' "... and clears the session cookie"
unlike "$BODY$HDR" "$NEW" "the new password is not echoed"
web "$B" GET /
is "$CODE" 303 "the other browser's session has ended"
is "$(printf '%s\n' "$HDR" | sed -n 's/^[Ll]ocation: //p')" /login "... and goes to the login page"

imap_login "$NEW"
is $? 0 "IMAP: the new password logs in at once"
imap_login "$OLD"
ok "$([ $? -ne 0 ]; echo $?)" "IMAP: the old password is refused at once"
smtp_auth "$NEW"
is $? 0 "SMTP AUTH: the new password works at once"
smtp_auth "$OLD"
ok "$([ $? -ne 0 ]; echo $?)" "SMTP AUTH: the old password is refused at once"

login "$A" "$OLD"
is "$CODE" 403 "the webmail refuses the old password"
login "$A" "$NEW"
is "$CODE" 303 "... and takes the new one"
is "$(sql "SELECT action || ' ' || outcome FROM ers.audit_log WHERE action IN ('user.change_password', 'user.passwd') AND target = '$user' ORDER BY id" | tr '\n' ',')" \
    "user.change_password denied,user.passwd ok," "the audit log holds the wrong current password and the change (bad input changes nothing and is not an attempt)"
unlike "$(sql "SELECT detail FROM ers.audit_log WHERE target = '$user'")" "$NEW" "... without the password"

expect 0 "cleanup: delete the tenant" -q tenant delete "$dom" --yes
expect 0 "cleanup: withdraw the hosts" -q server host remove $host
done_testing
