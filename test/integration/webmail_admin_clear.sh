#!/usr/bin/env bash
# The admin panel's Clear contents (manual 003 "Clear the contents of a
# mailbox") over the stack's HTTPS with its real Dovecot: the Users list
# offers it where the policy allows, the choice (a folder, an age), a
# confirmation that states how many messages go and the manual's warning,
# then the deletion with one audit row; a changed count is shown again
# before anything is deleted; a tenant admin may not clear another admin's
# mailbox; without the CSRF token nothing happens.
. "$(dirname "$0")/lib.sh"
. "$ERS_STACK_DIR/stack.env"
export ERS_CONFIG=$ERS_STACK_DIR/ers.yaml
T_DB=ers
BASE=https://127.0.0.1:$WEB_PORT

n=$RANDOM
dom=clr$n.test host=clrtest$n.ers.test
P=clear-web-pass-$n
pw=$T_DIR/pw; echo "$P" >"$pw"
expect 0 "setup: IMAP host" -q server host add $host --kind imap --port 143 --tls starttls
expect 0 "setup: SMTP host" -q server host add $host --kind smtp --port 587
expect 0 "setup: tenant" -q tenant add "CLR Co $n" --domain $dom --imap-host $host --imap-port 143 --smtp-host $host
expect 0 "setup: user a" -q user add a@$dom --password-file "$pw"
expect 0 "setup: tenant admin" -q user add ta@$dom --password-file "$pw" --role tenant_admin
expect 0 "setup: another tenant admin" -q user add tb@$dom --password-file "$pw" --role tenant_admin

D="doveadm -c $DOVECOT_CONFIG"
save() { printf 'From: x@example.org\r\nSubject: %s\r\n\r\nbody\r\n' "$2" | $D save -u a@$dom -m "$1"; }
for i in 1 2 3; do save INBOX "inbox $i"; done
$D mailbox create -u a@$dom Projects
for i in 1 2; do save Projects "project $i"; done
count() { $D mailbox status -u a@$dom messages "$1" | sed 's/.*=//'; }
is "$(count INBOX) $(count Projects)" "3 2" "setup: 3 messages in INBOX, 2 in Projects"

TA=$T_DIR/ta.jar
web "$TA" POST /login --data-urlencode "email=ta@$dom" --data-urlencode "password=$P"
is "$CODE" 303 "the tenant admin logs in"
web "$TA" GET /admin/users
like "$BODY" "href=\"/admin/users/clear\\?u=a%40$dom\"[^>]*>Clear contents<" "the Users list offers Clear contents for a regular user"
unlike "$BODY" "href=\"/admin/users/clear\\?u=tb%40$dom\"" "... not for another tenant admin"
web "$TA" GET "/admin/users/clear?u=a@$dom"
is "$CODE" 200 "the Clear contents page"
like "$BODY" 'If there are no backups created for the mailbox, it will be impossible to restore its contents' "... with the manual's warning"
token=$(csrf)

web "$TA" POST /admin/users/clear --data-urlencode "csrf=$token" --data-urlencode "u=a@$dom" --data-urlencode folder=Projects
is "$CODE" 200 "Continue with the folder Projects"
like "$BODY" 'id="clear-count"><strong>2 messages</strong> in the folder <strong>Projects</strong> will be deleted' \
    "... the confirmation states the count"
is "$(count Projects)" 2 "... and nothing is deleted yet"
save Projects "project 3"
web "$TA" POST /admin/users/clear --data-urlencode "csrf=$token" --data-urlencode "u=a@$dom" --data-urlencode folder=Projects \
    --data-urlencode confirm=1 --data-urlencode count=2
like "$BODY" '<strong>3 messages</strong>' "a message arrived meanwhile: the new count is shown first"
is "$(count Projects)" 3 "... and nothing was deleted"
web "$TA" POST /admin/users/clear --data-urlencode "u=a@$dom" --data-urlencode folder=Projects \
    --data-urlencode confirm=1 --data-urlencode count=3
is "$CODE" 403 "without the CSRF token: refused"
is "$(count Projects)" 3 "... nothing deleted"
web "$TA" POST /admin/users/clear --data-urlencode "csrf=$token" --data-urlencode "u=a@$dom" --data-urlencode folder=Projects \
    --data-urlencode confirm=1 --data-urlencode count=3
is "$CODE" 200 "Delete 3 messages"
like "$BODY" '3 messages of a@'"$dom"' were deleted \(in the folder <strong>Projects</strong>\)' "... says how many"
is "$(count Projects) $(count INBOX)" "0 3" "... Projects is empty, INBOX untouched"
is "$(sql "SELECT count(*) FROM ers.audit_log WHERE action = 'mailbox.clear' AND target = 'a@$dom' AND detail LIKE '3 messages deleted%'")" 1 \
    "... one audit row"

web "$TA" POST /admin/users/clear --data-urlencode "csrf=$token" --data-urlencode "u=a@$dom" --data-urlencode older_than=soon
is "$CODE" 422 "an age that is no number: 422"
web "$TA" POST /admin/users/clear --data-urlencode "csrf=$token" --data-urlencode "u=a@$dom" --data-urlencode older_than=30
like "$BODY" 'There are no messages in every folder, older than 30 days: nothing to delete' "nothing older than 30 days: nothing to delete"
web "$TA" POST /admin/users/clear --data-urlencode "csrf=$token" --data-urlencode "u=tb@$dom"
is "$CODE" 403 "a tenant admin may not clear another admin's mailbox"
web "$TA" GET "/admin/users/clear?u=nobody@$dom"
is "$CODE" 403 "an unknown user is refused like one out of reach (403)"

run -q --yes tenant delete "CLR Co $n"
done_testing
