#!/usr/bin/env bash
# Greylisting (issue 20; manual 003: per mailbox, only where the domain
# enables it) and allowed senders (manual 002 "Whitelist"), decided by the
# stack's `ersctl policyd` for mail on the real Postfix's port 25: the first
# attempt of a sender is answered 4xx, its retry after mailstack.greylist_delay
# (2 s in test/stack) is delivered; a mailbox that turns it off, an allowed
# sender or domain, and authenticated submission are never greylisted;
# changes made with ersctl count at the next message with no restart; bad
# input refused with nothing changed; who may do what.
. "$(dirname "$0")/lib.sh"
. "$ERS_STACK_DIR/stack.env"
export ERS_CONFIG=$ERS_STACK_DIR/ers.yaml
T_DB=ers

n=$RANDOM
dom=grey$n.test odom=greyother$n.test host=greytest$n.ers.test
P=grey-password-$n-xyz
pw=$T_DIR/pw; echo "$P" >"$pw"
expect 0 "setup: IMAP host" -q server host add $host --kind imap --port 143 --tls starttls
expect 0 "setup: SMTP host" -q server host add $host --kind smtp --port 587
expect 0 "setup: tenant" -q tenant add "Grey Co $n" --domain $dom --imap-host $host --imap-port 143 --smtp-host $host
expect 0 "setup: other tenant" -q tenant add "Grey Other $n" --domain $odom --imap-host $host --imap-port 143 --smtp-host $host
for u in a b; do expect 0 "setup: user $u" -q user add $u@$dom --password-file "$pw"; done
expect 0 "setup: tenant admin" -q user add ta@$dom --password-file "$pw" --role tenant_admin
expect 0 "setup: other tenant's admin" -q user add ota@$odom --password-file "$pw" --role tenant_admin

# smtp FROM TO: one message on port 25; prints swaks's transcript
smtp() { swaks --server 127.0.0.1:$SMTP_PORT --from "$1" --to "$2" --header "Subject: grey $n" --body hello --timeout 20 2>&1; }
accepted() { printf '%s' "$1" | grep -q '^<- *250 .*queued'; }
greylisted() { printf '%s' "$1" | grep -Eq '^<\*\* *450 4\.7\.1 .*greylisted: please try again in [0-9]+ seconds'; }

# --- off unless the domain says ------------------------------------------------------
run spam show $dom
like "$OUT" 'greylisting: +off' "a domain's greylisting is off unless set"
out=$(smtp first-$n@sender.example a@$dom); accepted "$out"; ok $? "with greylisting off, a new sender's mail is accepted at once"

expect 0 "the tenant admin turns greylisting on for its domain" --as ta@$dom spam set $dom --greylisting on
like "$OUT" 'greylisting: +on' "... shown on"
is "$(sql "SELECT count(*) FROM ers.audit_log WHERE action = 'spam.set' AND target = '$dom' AND detail = 'greylisting on'")" 1 \
    "... one audit row"

# --- the first attempt deferred, the retry after the delay delivered ---------------------
out=$(smtp new-$n@sender.example a@$dom); greylisted "$out"; ok $? "a new sender is greylisted: 450 4.7.1 ... try again in N seconds" ||
    diag "$(printf '%s' "$out" | grep -E '^(<|<\*\*)' | tail -n 3)"
is "$(sql "SELECT client_net || ' ' || recipient FROM ers.greylist WHERE sender = 'new-$n@sender.example'")" "127.0.0.0/24 a@$dom" \
    "... remembered by the client's /24, the sender and the recipient"
out=$(smtp new-$n@sender.example a@$dom); greylisted "$out"; ok $? "... and again when it retries at once"
passed=1
for _ in $(seq 1 40); do sleep 0.5; out=$(smtp new-$n@sender.example a@$dom); accepted "$out" && { passed=0; break; }; done
ok $passed "its retry after the delay is accepted"
out=$(smtp new-$n@sender.example a@$dom); accepted "$out"; ok $? "... and its next mail at once"
out=$(smtp new-$n@sender.example b@$dom); greylisted "$out"; ok $? "the same sender to another mailbox is a new triplet: greylisted"

# --- a mailbox turns it off; allowed senders -------------------------------------------
expect 0 "b turns greylisting off for its own mailbox" --as b@$dom spam set b@$dom --greylisting off
run spam show b@$dom
like "$OUT" 'greylisting: +off \(off here; its domain: on\)' "... shown as off here, the domain's on"
out=$(smtp other-$n@sender.example b@$dom); accepted "$out"; ok $? "mail to b is accepted at once (no restart of anything)"
expect 0 "allow a whole domain for the domain" spam allow add $dom friend$n.example
out=$(smtp anyone@friend$n.example a@$dom); accepted "$out"; ok $? "a sender of an allowed domain is not greylisted"
expect 0 "a allows one address for its own mailbox" --as a@$dom spam allow add a@$dom Boss@Partner$n.example
run spam allow list a@$dom
is "$OUT" "boss@partner$n.example" "allow list: the address, in lower case"
out=$(smtp boss@partner$n.example a@$dom); accepted "$out"; ok $? "the allowed address is not greylisted"
out=$(smtp boss@partner$n.example b@$dom); accepted "$out"; ok $? "(b has it off)"
expect 0 "a removes it" --as a@$dom spam allow remove a@$dom boss@partner$n.example
out=$(smtp boss@partner$n.example a@$dom); greylisted "$out"; ok $? "removed: greylisted at its next mail"
expect 0 "b goes back to its domain's setting" spam set b@$dom --greylisting default
out=$(smtp third-$n@sender.example b@$dom); greylisted "$out"; ok $? "... and is greylisted again"

# --- authenticated submission is never greylisted ---------------------------------------------
swaks --server 127.0.0.1:$SUBMISSION_PORT --tls --auth PLAIN --auth-user a@$dom --auth-password "$P" \
    --from a@$dom --to b@$dom --header "Subject: inside $n" --body hi --timeout 20 >"$T_DIR/sub.out" 2>&1
ok $? "a's own mail through submission (authenticated) is not greylisted" || diag "$(tail -n 3 "$T_DIR/sub.out")"
# Its delivery is Postfix's, after swaks is done: wait until b's INBOX has
# the message and Dovecot's quota row counts it, so that nothing of it is
# still under way while the bad input below is refused.
delivered_to_b() {
    local inbox usage
    inbox=$(doveadm -c "$DOVECOT_CONFIG" -f flow mailbox status -u b@$dom messages INBOX 2>/dev/null | sed 's/.*=//')
    usage=$(sql "SELECT messages FROM ers_quota.usage WHERE username = 'b@$dom'")
    doveadm -c "$DOVECOT_CONFIG" search -u b@$dom mailbox INBOX header subject "inside $n" 2>/dev/null | grep -q . &&
        [ -n "$inbox" ] && [ "$inbox" = "$usage" ]
}
for _ in $(seq 1 60); do delivered_to_b && break; sleep 0.5; done
delivered_to_b; ok $? "... and is delivered to b, its quota counted"

# --- bad input, nothing changed -------------------------------------------------------------
refused 64 '--greylisting must be one of: on off default; got "maybe"' "an unknown greylisting value" spam set $dom --greylisting maybe
refused 65 '--greylisting default is for a mailbox' "default for a domain" spam set $dom --greylisting default
refused 66 "domain nope$n.test is not one of any tenant's domains" "an unknown domain" spam set nope$n.test --greylisting on
refused 65 'an allowed sender is an address \(name@example.com\) or a domain' "an allowed sender that is neither" \
    spam allow add $dom 'not a domain!'
refused 73 "friend$n.example is already an allowed sender of $dom" "the same allowed sender twice" spam allow add $dom friend$n.example
refused 66 "nobody@x$n.example is not an allowed sender of a@$dom" "removing one that is not there" \
    spam allow remove a@$dom nobody@x$n.example

# --- who may -----------------------------------------------------------------------------------
denied 'may not' "a user cannot set its domain's greylisting" --as a@$dom spam set $dom --greylisting off
denied 'may not' "a user cannot change another mailbox's" --as a@$dom spam set b@$dom --greylisting off
denied 'may not' "another tenant's admin cannot see the domain's" --as ota@$odom spam show $dom
denied 'may not' "... nor add an allowed sender" --as ota@$odom spam allow add $dom evil.example

run -q --yes tenant delete "Grey Co $n"
run -q --yes tenant delete "Grey Other $n"
done_testing
