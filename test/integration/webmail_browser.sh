#!/usr/bin/env bash
# The webmail in a real browser: Debian's headless Chromium driven by
# playwright-core (test/e2e/webmail.mjs) against the stack's lighttpd and
# the CGI, with mail delivered by swaks through Postfix and Dovecot.  Login,
# inbox, MFA enrolment and the code step, reading and Mark as Unread,
# Compose and Send to another user, Delete to Trash, logout, an expired
# session, a forged POST without its CSRF token, the "?" help overlay, and
# screenshots at desktop and phone widths (test/e2e/screenshots/).
# Uses the stack's own database: the CGI reads the stack's ers.yaml.
. "$(dirname "$0")/lib.sh"
. "$ERS_TOP/test/e2e/tap.sh"
export ERS_CONFIG=$ERS_STACK_DIR/ers.yaml
T_DB=ers

e2e_ready || { done_testing; exit 0; }

dom=web$RANDOM.test  # a domain of its own: reruns on one stack start empty
PW=browser-password-123
pw=$T_DIR/pw; printf '%s\n' "$PW" >"$pw"
e2e_hosts
expect 0 "setup: tenant" -q tenant add "Web Co $dom" --domain "$dom" --imap-host localhost --imap-port "$IMAP_PORT" \
    --smtp-host localhost --smtp-port "$SUBMISSION_PORT"
for u in alice bob mfa; do
    expect 0 "setup: user $u" -q user add "$u@$dom" --first-name "${u^}" --quota-mb 100 --password-file "$pw"
done

deliver() { # TO FROM SUBJECT BODY [swaks options...]
    local to=$1 from=$2 subject=$3 body=$4; shift 4
    swaks --server "127.0.0.1:$SMTP_PORT" --from "$from" --to "$to" --helo client.example.org --timeout 20 \
        --header "Subject: $subject" --body "$body" "$@" >"$T_DIR/swaks.out" 2>&1
}
deliver "alice@$dom" friend@outside.example "Welcome to the browser test" "Hello Alice, this is the first message."
ok $? "setup: deliver a message from outside"
printf 'attached text\n' >"$T_DIR/notes.txt"
deliver "alice@$dom" friend@outside.example "Quarterly notes" "The notes are attached." \
    --attach-type text/plain --attach-name notes.txt --attach @"$T_DIR/notes.txt"
ok $? "setup: deliver a message with an attachment"
deliver "alice@$dom" "bob@$dom" "Lunch on Friday?" "Shall we have lunch on Friday? Bob"
ok $? "setup: deliver a message from a colleague"
deliver "alice@$dom" friend@outside.example "To be deleted" "This one goes to the Trash."
ok $? "setup: deliver a message to delete"
is "$(e2e_wait_count "alice@$dom" "$PW" 4)" 4 "setup: the four messages are in alice's INBOX"

e2e_run webmail.mjs 150 DOMAIN="$dom" PASSWORD="$PW"

expect 0 "cleanup: delete the tenant" -q tenant delete "Web Co $dom" --yes
done_testing
