#!/usr/bin/env bash
# The webmail's Autoresponder page (manual 002) over the stack's HTTPS: a
# user saves its own (Enabled, Subject, Message, Start Date, End Date) and
# sees Active; bad input (end before start, CR/LF in the subject) is shown
# as an error with nothing saved; a tenant admin edits a regular user's
# from the Users list, and a user may not open another's.
. "$(dirname "$0")/lib.sh"
. "$ERS_STACK_DIR/stack.env"
export ERS_CONFIG=$ERS_STACK_DIR/ers.yaml
T_DB=ers
BASE=https://127.0.0.1:$WEB_PORT

n=$RANDOM
dom=war$n.test host=wartest$n.ers.test
pw=$T_DIR/pw; echo 'autoreply-web-pass-123' >"$pw"
expect 0 "setup: IMAP host" -q server host add $host --kind imap --port 143 --tls starttls
expect 0 "setup: SMTP host" -q server host add $host --kind smtp --port 587
expect 0 "setup: tenant" -q tenant add "WAR Co $n" --domain $dom --imap-host $host --imap-port 143 --smtp-host $host
for u in a b; do expect 0 "setup: user $u" -q user add $u@$dom --password-file "$pw"; done
expect 0 "setup: tenant admin" -q user add ta@$dom --password-file "$pw" --role tenant_admin

login() { web "$1" POST /login --data-urlencode "email=$2" --data-urlencode "password=autoreply-web-pass-123"; }
A=$T_DIR/a.jar TA=$T_DIR/ta.jar
login "$A" a@$dom
is "$CODE" 303 "a logs in"
web "$A" GET /autoreply
is "$CODE" 200 "the Autoresponder page opens"
like "$BODY" "Inactive" "... Inactive before any set"
token=$(csrf) token_a=$(csrf)
web "$A" POST /autoreply --data-urlencode "csrf=$token" --data-urlencode enabled=1 --data-urlencode "subject=Away $n" \
    --data-urlencode "message=Back on Monday" --data-urlencode interval=2
is "$CODE" 200 "Save"
like "$BODY" "Autoresponder saved" "... says it is saved"
like "$BODY" 'id="autoreply-status">Active<' "... and Active"
run autoreply show a@$dom
like "$OUT" "interval: +2 day" "ersctl sees what the page saved"

before=$(sql "SELECT subject, ends_on FROM ers.autoreply WHERE mailbox_id = (SELECT id FROM ers.mailbox WHERE address = 'a@$dom')")
web "$A" POST /autoreply --data-urlencode "csrf=$token" --data-urlencode enabled=1 --data-urlencode "subject=Later" \
    --data-urlencode "message=x" --data-urlencode start=2026-03-10 --data-urlencode end=2026-03-01
is "$CODE" 422 "end before start: 422"
like "$BODY" "end date 2026-03-01 is before start date 2026-03-10" "... with the reason"
web "$A" POST /autoreply --data-urlencode "csrf=$token" --data-urlencode enabled=1 \
    --data-urlencode "subject=$(printf 'Hi\r\nBcc: x@outside.example')" --data-urlencode "message=x"
is "$CODE" 422 "CR/LF in the subject: 422"
is "$(sql "SELECT subject, ends_on FROM ers.autoreply WHERE mailbox_id = (SELECT id FROM ers.mailbox WHERE address = 'a@$dom')")" \
    "$before" "nothing changed by the refused saves"

web "$A" GET "/autoreply?user=b@$dom"
is "$CODE" 403 "a user may not open another's autoresponder"

login "$TA" ta@$dom
web "$TA" GET /admin/users
like "$BODY" "/autoreply\\?user=b%40$dom" "the Users list links each user's Autoresponder"
web "$TA" GET "/autoreply?user=b@$dom"
is "$CODE" 200 "a tenant admin opens a regular user's"
token=$(csrf)
web "$TA" POST /autoreply --data-urlencode "csrf=$token" --data-urlencode "user=b@$dom" --data-urlencode enabled=1 \
    --data-urlencode "subject=Holiday $n" --data-urlencode "message=Closed" --data-urlencode start=2000-01-01 \
    --data-urlencode end=2000-01-02
is "$CODE" 200 "... and saves it"
like "$BODY" "Inactive</strong> \(outside its dates\)" "... Inactive outside its dates"
is "$(sql "SELECT updated_by FROM ers.autoreply WHERE mailbox_id = (SELECT id FROM ers.mailbox WHERE address = 'b@$dom')")" \
    "ta@$dom" "saved in the admin's name"

# Manual 002's mailbox table: the Autoresponder column, Active/Inactive.
row() { printf '%s' "$BODY" | grep -o "<tr><td class=\"email\" data-label=\"Email\">$1</td>.*</tr>" | sed 's|</tr>.*||'; }
web "$TA" GET /admin/users
like "$(row a@$dom)" 'data-label="Autoresponder">Active<' "the Users list: a's autoresponder Active"
like "$(row b@$dom)" 'data-label="Autoresponder">Inactive<' "... b's Inactive (set, but outside its dates)"
web "$A" POST /autoreply --data-urlencode "csrf=$token_a" --data-urlencode "subject=Away $n" --data-urlencode "message=Back"
web "$TA" GET /admin/users
like "$(row a@$dom)" 'data-label="Autoresponder">Inactive<' "... a's Inactive once a turns it off"

done_testing
