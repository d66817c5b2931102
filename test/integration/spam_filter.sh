#!/usr/bin/env bash
# The spam filter (issue 20; manual 002 "Spam Settings", "Whitelist /
# Blacklist"; manual 003: a mailbox's setting counts only where its domain
# enables it) with the stack's real rspamd scoring mail that the real
# Postfix receives on port 25, through `ersctl spam milter`: GTUBE with
# action junk lands in Junk (the global Sieve rule), reject is refused 5xx
# at SMTP time, mark lands in INBOX with the header; an allowed sender's
# GTUBE lands in INBOX, a blocked sender's clean mail is spam; filter off
# delivers; settings changed with ersctl count at the next message with no
# restart; submission is not filtered; bad input refused with nothing
# changed; who may do what.
. "$(dirname "$0")/lib.sh"
. "$ERS_STACK_DIR/stack.env"
export ERS_CONFIG=$ERS_STACK_DIR/ers.yaml
T_DB=ers

n=$RANDOM
dom=spamf$n.test odom=spamother$n.test host=spamtest$n.ers.test
P=spam-password-$n-xyz
pw=$T_DIR/pw; echo "$P" >"$pw"
expect 0 "setup: IMAP host" -q server host add $host --kind imap --port 143 --tls starttls
expect 0 "setup: SMTP host" -q server host add $host --kind smtp --port 587
expect 0 "setup: tenant" -q tenant add "Spam Co $n" --domain $dom --imap-host $host --imap-port 143 --smtp-host $host
expect 0 "setup: other tenant" -q tenant add "Spam Other $n" --domain $odom --imap-host $host --imap-port 143 --smtp-host $host
for u in a b; do expect 0 "setup: user $u" -q user add $u@$dom --password-file "$pw"; done
expect 0 "setup: tenant admin" -q user add ta@$dom --password-file "$pw" --role tenant_admin
expect 0 "setup: other tenant's admin" -q user add ota@$odom --password-file "$pw" --role tenant_admin

# GTUBE, the spam filters' test string (not a virus; built here in two parts all the same).
gtube='XJS*C4JDBQADN1.NSBN3*2IDNEN*'; gtube+='GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X'
k=0
# smtp FROM TO BODY: one message on port 25 with a subject of its own, in $subj; swaks's transcript in $out
smtp() {
    k=$((k + 1)); subj="spam $n $k"
    out=$(swaks --server 127.0.0.1:$SMTP_PORT --from "$1" --to "$2" --header "Subject: $subj" --body "$3" --timeout 20 2>&1)
}
accepted() { printf '%s' "$out" | grep -q '^<- *250 .*queued'; }
# where USER: the folder $subj was delivered to (INBOX or Junk), polled: delivery is asynchronous
where() {
    local f i
    for i in $(seq 1 100); do
        for f in INBOX Junk; do
            doveadm -c "$DOVECOT_CONFIG" search -u "$1" mailbox "$f" header subject "$subj" 2>/dev/null | grep -q . \
                && { echo "$f"; return; }
        done
        sleep 0.1
    done
    echo nowhere
}
header_of() { # USER FOLDER HEADER: its value in the message $subj
    doveadm -c "$DOVECOT_CONFIG" fetch -u "$1" "hdr.$3" mailbox "$2" header subject "$subj" 2>/dev/null | sed -n "s/^hdr.$3: //Ip" | head -n 1
}

run mailstack check
like "$OUT" 'rspamd.*answers a ping.*pong' "mailstack check: rspamd answers"
like "$OUT" 'spam-milter.*milter option negotiation answered' "... and so does the spam milter"

# --- off unless the domain says ----------------------------------------------------------------
run spam show $dom
like "$OUT" 'spam filter: +off' "a domain's spam filter is off unless set"
like "$OUT" 'threshold: +5.00' "... threshold 5 by default"
like "$OUT" 'action: +junk' "... action junk (manual 002's quarantine) by default"
smtp x$n@outside.example a@$dom "$gtube"; accepted; ok $? "filter off: GTUBE is accepted on port 25"
is "$(where a@$dom)" INBOX "... and lands in INBOX"
is "$(header_of a@$dom INBOX X-Spam-Score)" "" "... unscored (rspamd not asked)"

# --- junk -------------------------------------------------------------------------------------------
expect 0 "the tenant admin turns the filter on, threshold 8, action junk" --as ta@$dom spam set $dom --filter on --threshold 8 --action junk
like "$OUT" 'spam filter: +on' "... shown on"
is "$(sql "SELECT count(*) FROM ers.audit_log WHERE action = 'spam.set' AND target = '$dom' AND detail = 'spam filter on threshold 8.00 action junk'")" 1 \
    "... one audit row"
smtp x$n@outside.example a@$dom "$gtube"; accepted; ok $? "junk: GTUBE is accepted (no restart of Postfix or rspamd)"
is "$(where a@$dom)" Junk "... and filed into Junk by the global Sieve rule"
is "$(header_of a@$dom Junk X-Spam)" Yes "... marked X-Spam: Yes"
like "$(header_of a@$dom Junk X-Spam-Score)" '^15\.00$' "... with rspamd's score"
smtp x$n@outside.example a@$dom "Hello, the minutes of the meeting are attached below. Regards, Ann"
accepted; ok $? "clean mail is accepted"
is "$(where a@$dom)" INBOX "... and lands in INBOX"
is "$(header_of a@$dom INBOX X-Spam)" "" "... without X-Spam"
like "$(header_of a@$dom INBOX X-Spam-Score)" '^-?[0-9]+\.[0-9][0-9]$' "... with rspamd's score, even a negative one"
out=$(swaks --server 127.0.0.1:$SMTP_PORT --from x$n@outside.example --to a@$dom --header "Subject: forged $n" \
    --header "X-ERS-Junk: a@$dom" --header "X-Spam: Yes" --body "Hello again, Ann" --timeout 20 2>&1); subj="forged $n"
is "$(where a@$dom)" INBOX "X-ERS-Junk and X-Spam from outside are removed: clean mail with them lands in INBOX"
is "$(header_of a@$dom INBOX X-Spam)" "" "... without the forged X-Spam"

# --- mark, reject --------------------------------------------------------------------------------------
expect 0 "action mark" spam set $dom --action mark
smtp x$n@outside.example a@$dom "$gtube"; accepted; ok $? "mark: GTUBE is accepted"
is "$(where a@$dom)" INBOX "... lands in INBOX"
is "$(header_of a@$dom INBOX X-Spam)" Yes "... with X-Spam: Yes"
expect 0 "action reject" spam set $dom --action reject
smtp x$n@outside.example a@$dom "$gtube"
printf '%s' "$out" | grep -q '^<\*\* *550 5\.7\.1 Message rejected as spam'; ok $? "reject: GTUBE is refused 550 5.7.1 at SMTP time" ||
    diag "$(printf '%s' "$out" | grep -E '^(<|<\*\*)' | tail -n 2)"
smtp x$n@outside.example a@$dom "Lunch on Friday? Regards, Ann"; accepted; ok $? "... clean mail still accepted"

# --- a mailbox's own setting, only where the domain enables it --------------------------------------------
expect 0 "b sets its own action: junk" --as b@$dom spam set b@$dom --action junk
run spam show b@$dom
like "$OUT" 'action: +junk \(its own\)' "... shown as its own"
smtp x$n@outside.example b@$dom "$gtube"; accepted; ok $? "b's GTUBE is accepted (the domain rejects, b junks)"
is "$(where b@$dom)" Junk "... and lands in b's Junk"
# An alias: the milter sees the alias, Dovecot's Sieve the mailbox.
expect 0 "setup: an alias of b" alias add bee@$dom --to b@$dom
smtp x$n@outside.example bee@$dom "$gtube"; accepted; ok $? "GTUBE to b's alias follows b's setting (junk, not the domain's reject)"
is "$(where b@$dom)" Junk "... and lands in b's Junk too"
expect 0 "b turns its filter off" --as b@$dom spam set b@$dom --filter off
smtp x$n@outside.example b@$dom "$gtube"; is "$(where b@$dom)" INBOX "b's filter off: GTUBE lands in INBOX"
expect 0 "b turns it on again" --as b@$dom spam set b@$dom --filter on
expect 0 "the domain turns its filter off" spam set $dom --filter off
run spam show b@$dom
like "$OUT" 'spam filter: +off \(on; its domain: off\)' "b's on counts for nothing where the domain is off"
smtp x$n@outside.example b@$dom "$gtube"; accepted; ok $? "so b's GTUBE is accepted ..."
is "$(where b@$dom)" INBOX "... into INBOX"
expect 0 "the domain on again, action reject" spam set $dom --filter on --action reject

# --- allowed and blocked senders --------------------------------------------------------------------------------
expect 0 "a allows friend.example for its mailbox" --as a@$dom spam allow add a@$dom friend$n.example
smtp boss@friend$n.example a@$dom "$gtube"; accepted; ok $? "an allowed sender's GTUBE is accepted (the domain rejects)"
is "$(where a@$dom)" INBOX "... and lands in INBOX"
expect 0 "a blocks an address" --as a@$dom spam block add a@$dom Pest@Nuisance$n.example
run spam block list a@$dom
is "$OUT" "pest@nuisance$n.example" "block list: the address, in lower case"
run spam show a@$dom
like "$OUT" "blocked senders: pest@nuisance$n.example" "... shown by spam show"
run --json spam show a@$dom
like "$(printf '%s' "$OUT" | tr -d ' \n')" "\"block\":\\[\"pest@nuisance$n.example\"\\]" "... and in --json"
smtp pest@nuisance$n.example a@$dom "Hello, just a friendly note. Regards"
printf '%s' "$out" | grep -q '^<\*\* *550 5\.7\.1'; ok $? "a blocked sender's clean mail is spam: refused (the action is reject)"
expect 0 "a junks instead" --as a@$dom spam set a@$dom --action junk
smtp pest@nuisance$n.example a@$dom "Hello, just a friendly note. Regards"; accepted; ok $? "... now accepted"
is "$(where a@$dom)" Junk "... into Junk"
expect 0 "a removes the block" --as a@$dom spam block remove a@$dom pest@nuisance$n.example
smtp pest@nuisance$n.example a@$dom "Hello, just a friendly note. Regards"; is "$(where a@$dom)" INBOX "removed: its next mail lands in INBOX"

# --- a message to two recipients with different actions ---------------------------------------------------------------
out=$(swaks --server 127.0.0.1:$SMTP_PORT --from x$n@outside.example --to a@$dom,ta@$dom --header "Subject: two $n" \
    --body "$gtube" --timeout 20 2>&1); subj="two $n"
accepted; ok $? "GTUBE to a (junk) and ta (the domain's reject) is accepted for a"
is "$(where a@$dom)" Junk "... into a's Junk"
is "$(doveadm -c "$DOVECOT_CONFIG" search -u ta@$dom mailbox INBOX header subject "$subj" 2>/dev/null | wc -l)" 0 "... and not delivered to ta"

# --- submission is not filtered ----------------------------------------------------------------------------
swaks --server 127.0.0.1:$SUBMISSION_PORT --tls --auth PLAIN --auth-user b@$dom --auth-password "$P" \
    --from b@$dom --to ta@$dom --header "Subject: inside $n" --body "$gtube" --timeout 20 >"$T_DIR/sub.out" 2>&1
ok $? "GTUBE from a user through submission is not refused (its own checks; the domain rejects spam)" || diag "$(tail -n 3 "$T_DIR/sub.out")"
subj="inside $n"; is "$(where ta@$dom)" INBOX "... and lands in INBOX"

# --- bad input, nothing changed --------------------------------------------------------------------------------
refused 65 '--threshold must be a number from 1 to 100 with two decimals at most \(e.g. 5 or 7.5\); got "0"' \
    "a threshold under 1" spam set $dom --threshold 0
refused 65 '--threshold must be a number from 1 to 100' "a threshold over 100" spam set $dom --threshold 100.5
refused 65 '--threshold must be a number from 1 to 100' "a threshold with three decimals" spam set $dom --threshold 5.125
refused 65 '--threshold must be a number from 1 to 100' "a threshold that is no number" spam set $dom --threshold lots
refused 65 '--threshold must be a number from 1 to 100 .*, or default' "(a mailbox may say default)" spam set a@$dom --threshold 0.5
refused 64 '--action must be one of: mark junk reject default; got "delete"' "an unknown action" spam set $dom --action delete
refused 65 '--action must be one of: mark junk reject; got "default"' "default action for a domain" spam set $dom --action default
refused 65 '--filter must be one of: on off; got "default"' "default filter for a domain" spam set $dom --filter default
refused 65 '--threshold must be' "a bad threshold beside a good action changes neither" spam set $dom --action mark --threshold 0
refused 64 'nothing to change' "spam set with nothing" spam set $dom
refused 65 'a blocked sender is an address \(name@example.com\) or a domain' "a blocked sender that is neither" \
    spam block add $dom 'not a domain!'
expect 0 "block a domain" spam block add $dom junkmail$n.example
refused 73 "junkmail$n.example is already a blocked sender of $dom" "the same blocked sender twice" spam block add $dom junkmail$n.example
refused 66 "nobody@x$n.example is not a blocked sender of $dom" "removing one that is not there" spam block remove $dom nobody@x$n.example
expect 0 "unblock it" spam block remove $dom junkmail$n.example

# --- who may -------------------------------------------------------------------------------------------------
denied 'may not' "a user cannot set its domain's filter" --as a@$dom spam set $dom --filter off
denied 'may not' "a user cannot change another mailbox's" --as a@$dom spam set b@$dom --action mark
denied 'may not' "a user cannot block for another mailbox" --as a@$dom spam block add b@$dom x.example
denied 'may not' "another tenant's admin cannot see the domain's" --as ota@$odom spam show $dom
denied 'may not' "... nor block a sender" --as ota@$odom spam block add $dom evil.example
expect 0 "a tenant admin may block for its domain's mailbox" --as ta@$dom spam block add b@$dom x$n.example

run -q --yes tenant delete "Spam Co $n"
run -q --yes tenant delete "Spam Other $n"
done_testing
