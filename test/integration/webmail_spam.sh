#!/usr/bin/env bash
# The webmail's Spam Settings page (manual 002 "Spam Settings",
# "Whitelist"; manual 003 greylisting per mailbox) and "Mark as spam" /
# "Not spam" on a message, over the stack's HTTPS with its real Dovecot:
# a user turns greylisting off for its own mailbox (only offered where its
# domain has it on), adds and removes whitelist entries that the policy
# service then lets through, bad input is shown with nothing changed; a
# tenant admin opens a regular user's page from the Users list, a user
# may not open another's; a message moves to Junk and back.
. "$(dirname "$0")/lib.sh"
. "$ERS_STACK_DIR/stack.env"
export ERS_CONFIG=$ERS_STACK_DIR/ers.yaml
T_DB=ers
BASE=https://127.0.0.1:$WEB_PORT

n=$RANDOM
dom=wsp$n.test host=wsptest$n.ers.test
P=spam-web-pass-$n
pw=$T_DIR/pw; echo "$P" >"$pw"
expect 0 "setup: IMAP host" -q server host add $host --kind imap --port 143 --tls starttls
expect 0 "setup: SMTP host" -q server host add $host --kind smtp --port 587
expect 0 "setup: tenant" -q tenant add "WSP Co $n" --domain $dom --imap-host $host --imap-port 143 --smtp-host $host
for u in a b; do expect 0 "setup: user $u" -q user add $u@$dom --password-file "$pw"; done
expect 0 "setup: tenant admin" -q user add ta@$dom --password-file "$pw" --role tenant_admin

login() { web "$1" POST /login --data-urlencode "email=$2" --data-urlencode "password=$P"; }
A=$T_DIR/a.jar TA=$T_DIR/ta.jar
login "$A" a@$dom
is "$CODE" 303 "a logs in"
web "$A" GET /spam
is "$CODE" 200 "the Spam Settings page opens"
like "$BODY" '<h1>Spam Settings</h1>' "... titled Spam Settings"
like "$BODY" 'id="greylisting-status">Off<' "... greylisting Off"
like "$BODY" 'Your domain does not use greylisting' "... and not offered while the domain has it off"

expect 0 "setup: greylisting on for the domain" -q spam set $dom --greylisting on
web "$A" GET /spam
like "$BODY" 'id="greylisting-status">On<' "with the domain's on: On"
token=$(csrf)
web "$A" POST /spam/greylisting --data-urlencode "csrf=$token" --data-urlencode greylisting=off
is "$CODE" 200 "a turns it off for its own mailbox"
like "$BODY" 'Greylisting saved' "... Greylisting saved"
like "$BODY" 'id="greylisting-status">Off<' "... Off"
run spam show a@$dom
like "$OUT" 'off here' "ersctl sees what the page saved"
web "$A" POST /spam/greylisting --data-urlencode "csrf=$token" --data-urlencode greylisting=on
is "$CODE" 422 "a value the form does not offer: 422"

web "$A" POST /spam/allow/add --data-urlencode "csrf=$token" --data-urlencode "sender=Friend@Example$n.org"
is "$CODE" 200 "Add to the whitelist"
like "$BODY" 'Added to the whitelist' "... says so"
like "$BODY" "friend@example$n.org" "... listed in lower case"
before=$(sql "SELECT count(*) FROM ers.spam_allow")
web "$A" POST /spam/allow/add --data-urlencode "csrf=$token" --data-urlencode "sender=not a domain"
is "$CODE" 422 "an entry that is neither an address nor a domain: 422"
like "$BODY" 'an allowed sender is an address' "... with what is allowed"
is "$(sql "SELECT count(*) FROM ers.spam_allow")" "$before" "... nothing added"
web "$A" POST /spam/allow/add --data-urlencode "sender=x$n.example"
is "$CODE" 403 "without the CSRF token: refused"
is "$(sql "SELECT count(*) FROM ers.spam_allow")" "$before" "... nothing added"
web "$A" POST /spam/allow/remove --data-urlencode "csrf=$token" --data-urlencode "sender=friend@example$n.org"
like "$BODY" 'Removed from the whitelist' "Remove"
run spam allow list a@$dom
is "$OUT" "" "... gone for ersctl too"

web "$A" GET "/spam?user=b@$dom"
is "$CODE" 403 "a user may not open another's Spam Settings"
token_a=$token
web "$A" POST /spam/allow/add --data-urlencode "csrf=$token_a" --data-urlencode "user=b@$dom" --data-urlencode "sender=x.example"
is "$CODE" 403 "... nor change them"

login "$TA" ta@$dom
web "$TA" GET /admin/users
like "$BODY" "/spam\\?user=b%40$dom" "the Users list links each user's Spam Settings"
token=$(csrf)
web "$TA" POST /spam/allow/add --data-urlencode "csrf=$token" --data-urlencode "user=b@$dom" --data-urlencode "sender=partner$n.example"
is "$CODE" 200 "a tenant admin adds to a regular user's whitelist"
run spam allow list b@$dom
is "$OUT" "partner$n.example" "... b's whitelist has it"

web "$TA" GET "/spam?user=b@$dom"
like "$BODY" "href=\"/spam\?domain=$dom\"" "a user's page links its domain's Spam Settings for an admin"
web "$TA" GET "/spam?domain=$dom"
is "$CODE" 200 "the tenant admin opens its domain's Spam Settings"
like "$BODY" '<option value="on" selected>On</option>' "... greylisting On selected"
web "$TA" POST /spam/greylisting --data-urlencode "csrf=$token" --data-urlencode "domain=$dom" --data-urlencode greylisting=off
is "$CODE" 200 "... turns it Off"
run spam show $dom
like "$OUT" 'greylisting: +off' "... and ersctl sees it off"
web "$TA" POST /spam/greylisting --data-urlencode "csrf=$token" --data-urlencode "domain=$dom" --data-urlencode greylisting=default
is "$CODE" 422 "default is not a domain's choice: 422"
web "$A" GET "/spam?user=a@$dom"
unlike "$BODY" '/spam\?domain=' "a regular user gets no link to the domain's page"
web "$A" GET "/spam?domain=$dom"
is "$CODE" 403 "... and may not open it"

# --- Mark as spam / Not spam ------------------------------------------------------------
learned() { curl -s -m 5 "http://127.0.0.1:$RSPAMD_CONTROLLER_PORT/stat" | python3 -c 'import json,sys; print(json.load(sys.stdin)["learned"])'; }
location() { printf '%s\n' "$HDR" | sed -n 's/^[Ll]ocation: //p'; }
learn_rows() { sql "SELECT count(*) FROM ers.audit_log WHERE action = 'spam.learn' AND target = 'a@$dom'"; }
l_short=$(learned) a_short=$(learn_rows)
printf 'From: promo@shop%s.example\r\nTo: a@%s\r\nSubject: Cheap offer %s\r\n\r\nBuy now\r\n' "$n" "$dom" "$n" |
    doveadm -c "$DOVECOT_CONFIG" save -u a@$dom -m INBOX
subjects() { doveadm -c "$DOVECOT_CONFIG" fetch -u a@$dom hdr.subject mailbox "$1" all 2>/dev/null | sed -n 's/^hdr.subject: //p' | tr '\n' ','; }
uid=$(doveadm -c "$DOVECOT_CONFIG" search -u a@$dom mailbox INBOX subject "Cheap offer $n" | awk '{print $2}')
web "$A" GET "/message?folder=INBOX&uid=$uid"
like "$BODY" 'action="/message/spam"' "an Inbox message offers Mark as spam"
like "$BODY" '>Mark as spam</button>' "... with that button"
web "$A" POST /message/spam --data-urlencode "csrf=$token_a" --data-urlencode folder=INBOX --data-urlencode "uid=$uid"
is "$CODE" 303 "Mark as spam"
like "$(location)" 'done=spam-skipped$' "... of a message of two words: the page will say rspamd passed over it"
is "$(subjects Junk)" "Cheap offer $n," "... the message is in Junk"
is "$(subjects INBOX)" "" "... and no longer in the Inbox"
web "$A" GET "/?folder=INBOX&done=spam"
like "$BODY" 'marked as spam and moved to Junk' "... and the Inbox says so"
juid=$(doveadm -c "$DOVECOT_CONFIG" search -u a@$dom mailbox Junk all | awk '{print $2}')
web "$A" GET "/message?folder=Junk&uid=$juid"
like "$BODY" '>Not spam</button>' "a Junk message offers Not spam"
web "$A" POST /message/notspam --data-urlencode "csrf=$token_a" --data-urlencode folder=Junk --data-urlencode "uid=$juid"
is "$CODE" 303 "Not spam"
like "$(location)" 'done=notspam-skipped$' "... of the same: the page will say rspamd passed over it"
is "$(subjects INBOX)" "Cheap offer $n," "... back in the Inbox"
is "$(( $(learned) - l_short ))" 0 "... rspamd learned neither (too few words)"
is "$(learn_rows)" "$a_short" "... and no spam.learn audit row says it did"
web "$A" GET "/?folder=INBOX&done=spam-skipped"
like "$BODY" 'moved to Junk. It has too few words for the spam filter to learn from' "... in words"
web "$A" POST /message/spam --data-urlencode folder=INBOX --data-urlencode "uid=1"
is "$CODE" 403 "Mark as spam without the CSRF token: refused"

# --- Mark as spam / Not spam teach rspamd's Bayes (its controller; the stack's learns from 3 of each) ----
# bayes_of FILE: the BAYES_ symbols rspamd's normal worker gives the message
bayes_of() { curl -s -m 10 --data-binary @"$1" "http://127.0.0.1:$RSPAMD_PORT/checkv2" |
    python3 -c 'import json,sys; print(" ".join(sorted(k for k in json.load(sys.stdin)["symbols"] if k.startswith("BAYES"))) or "none")'; }
# words FILE KIND I: a message of 150 words of this run's vocabulary of KIND (spam or ham)
words() { python3 - "$@" "$n" "$dom" <<'PY'
import random, sys
path, kind, i, n, dom = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
random.seed(kind + str(i) + n)
vocab = {"spam": "casino jackpot lottery winnings bitcoin pills discount unclaimed prize wiretransfer",
         "ham": "agenda minutes quarterly roadmap budget colleague workshop invoice schedule review"}[kind].split()
body = " ".join(random.choice(vocab) + n for _ in range(150))
open(path, "w").write("From: %s%d@sender%s.example\r\nTo: a@%s\r\nSubject: %s %s %d\r\nMessage-ID: <%s%d.%s@t>\r\n\r\n%s\r\n"
                      % (kind, i, n, dom, kind, n, i, kind, i, n, body))
PY
}
l0=$(learned)
a0=$(sql "SELECT count(*) FROM ers.audit_log WHERE action = 'spam.learn' AND target = 'a@$dom'")
for i in 1 2 3; do
    words "$T_DIR/s$i.eml" spam $i
    doveadm -c "$DOVECOT_CONFIG" save -u a@$dom -m INBOX <"$T_DIR/s$i.eml"
    u=$(doveadm -c "$DOVECOT_CONFIG" search -u a@$dom mailbox INBOX subject "spam $n $i" | awk '{print $2}')
    web "$A" POST /message/spam --data-urlencode "csrf=$token_a" --data-urlencode folder=INBOX --data-urlencode "uid=$u"
    [ "$CODE" = 303 ] || diag "Mark as spam $i: $CODE"
    words "$T_DIR/h$i.eml" ham $i
    doveadm -c "$DOVECOT_CONFIG" save -u a@$dom -m Junk <"$T_DIR/h$i.eml"
    u=$(doveadm -c "$DOVECOT_CONFIG" search -u a@$dom mailbox Junk subject "ham $n $i" | awk '{print $2}')
    web "$A" POST /message/notspam --data-urlencode "csrf=$token_a" --data-urlencode folder=Junk --data-urlencode "uid=$u"
    [ "$CODE" = 303 ] || diag "Not spam $i: $CODE"
done
like "$(location)" 'done=notspam$' "Mark as spam and Not spam, three times each: the page says moved (and learned)"
is "$(( $(learned) - l0 ))" 6 "... rspamd's controller counts 6 messages learned"
is "$(sql "SELECT count(*) FROM ers.audit_log WHERE action = 'spam.learn' AND target = 'a@$dom' AND outcome = 'ok'")" $((a0 + 6)) \
    "... one audit row each"
words "$T_DIR/s9.eml" spam 9; words "$T_DIR/h9.eml" ham 9
like "$(bayes_of "$T_DIR/s9.eml")" 'BAYES_SPAM' "a new message like those marked as spam: rspamd's Bayes says BAYES_SPAM"
unlike "$(bayes_of "$T_DIR/h9.eml")" 'BAYES_SPAM' "... one like those marked not spam: not BAYES_SPAM"
# The controller not answering (the webmail's ers.yaml names a port nothing
# listens on, for one request): the message is still moved, and the page
# says it was not learned.
wcfg=$ERS_STACK_DIR/web/ers.yaml
cp "$wcfg" "$T_DIR/web-ers.yaml"
words "$T_DIR/s8.eml" spam 8
doveadm -c "$DOVECOT_CONFIG" save -u a@$dom -m INBOX <"$T_DIR/s8.eml"
u=$(doveadm -c "$DOVECOT_CONFIG" search -u a@$dom mailbox INBOX subject "spam $n 8" | awk '{print $2}')
sed -i 's/rspamd_controller: .*/rspamd_controller: 127.0.0.1:9/' "$wcfg"
web "$A" POST /message/spam --data-urlencode "csrf=$token_a" --data-urlencode folder=INBOX --data-urlencode "uid=$u"
cp "$T_DIR/web-ers.yaml" "$wcfg"
is "$CODE" 303 "rspamd's controller not answering: Mark as spam still moves the message"
like "$(location)" 'done=spam-unlearned' "... and says the spam filter could not learn from it"
is "$(doveadm -c "$DOVECOT_CONFIG" search -u a@$dom mailbox Junk subject "spam $n 8" | wc -l)" 1 "... the message is in Junk"
web "$A" GET "/?folder=INBOX&done=spam-unlearned"
like "$BODY" 'moved to Junk, but the spam filter could not learn from it' "... in words"

# --- Spam filter (Spam Score Threshold, Spam Action) and Blacklist ----------------------------
web "$A" GET /spam
like "$BODY" 'id="filter-status">Off<' "the spam filter: Off"
like "$BODY" 'Your domain does not use the spam filter' "... not offered while the domain has it off"
web "$TA" GET "/spam?domain=$dom"
like "$BODY" '<label>Spam Score Threshold<input name="threshold"' "a domain's page: Spam Score Threshold"
like "$BODY" '<option value="junk" selected>Move to Junk</option>' "... Spam Action, Move to Junk by default"
web "$TA" POST /spam/filter --data-urlencode "csrf=$token" --data-urlencode "domain=$dom" --data-urlencode filter=on \
    --data-urlencode threshold=6.5 --data-urlencode action=reject
is "$CODE" 200 "the tenant admin turns the domain's filter on, 6.5, Reject"
like "$BODY" 'Spam filter saved' "... Spam filter saved"
run spam show $dom
like "$OUT" 'threshold: +6.50' "... ersctl sees the threshold"
like "$OUT" 'action: +reject' "... and the action"
before=$(dump)
web "$TA" POST /spam/filter --data-urlencode "csrf=$token" --data-urlencode "domain=$dom" --data-urlencode filter=on \
    --data-urlencode threshold=500 --data-urlencode action=mark
is "$CODE" 422 "a threshold out of range: 422"
like "$BODY" 'must be a number from 1 to 100' "... with what is allowed"
is "$(dump)" "$before" "... nothing changed (not even the action)"
web "$A" GET /spam
like "$BODY" 'id="filter-status">On<' "a's filter: On, as its domain's"
like "$BODY" 'id="action-status">Reject<' "... Reject"
web "$A" POST /spam/filter --data-urlencode "csrf=$token_a" --data-urlencode filter=default --data-urlencode threshold= \
    --data-urlencode action=junk
is "$CODE" 200 "a chooses Move to Junk for its own mailbox"
like "$BODY" 'id="action-status">Move to Junk<' "... shown"
like "$BODY" 'id="threshold-status">6.50<' "... the threshold still the domain's"
web "$A" POST /spam/block/add --data-urlencode "csrf=$token_a" --data-urlencode "sender=Pest@Nuisance$n.example"
is "$CODE" 200 "Add to the blacklist"
like "$BODY" 'Added to the blacklist' "... says so"
like "$BODY" "<ul class=\"plain\" id=\"blacklist\"><li>pest@nuisance$n.example" "... listed in lower case"
run spam block list a@$dom
is "$OUT" "pest@nuisance$n.example" "... ersctl sees it"
web "$A" POST /spam/block/remove --data-urlencode "csrf=$token_a" --data-urlencode "sender=pest@nuisance$n.example"
like "$BODY" 'Removed from the blacklist' "Remove from the blacklist"
web "$A" POST /spam/filter --data-urlencode "csrf=$token_a" --data-urlencode "domain=$dom" --data-urlencode filter=off \
    --data-urlencode threshold=5 --data-urlencode action=mark
is "$CODE" 403 "a user may not change its domain's spam filter"

run -q --yes tenant delete "WSP Co $n"
done_testing
