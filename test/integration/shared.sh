#!/usr/bin/env bash
# Shared mailboxes (manual 004 "Public mailboxes"; issue 21) with the
# stack's real Postfix and Dovecot: an address with no login of its own,
# mail delivered to it, its folders under Shared/ADDRESS/ for the users
# given access -- read and file over IMAP and in the webmail -- invisible
# to everyone else, a revoke that holds at the next command of an open
# session; the CLI's refusals; the policy through --as; the admin panel's
# tab with CSRF.
. "$(dirname "$0")/lib.sh"
. "$ERS_STACK_DIR/stack.env"
export ERS_CONFIG=$ERS_STACK_DIR/ers.yaml
T_DB=ers
BASE=https://127.0.0.1:$WEB_PORT

n=$RANDOM
dom=shr$n.test odom=oshr$n.test host=shrtest$n.ers.test
P=shared-pass-$n
pw=$T_DIR/pw; echo "$P" >"$pw"
expect 0 "setup: IMAP host" -q server host add $host --kind imap --port 143 --tls starttls
expect 0 "setup: SMTP host" -q server host add $host --kind smtp --port 587
expect 0 "setup: tenant" -q tenant add "SHR Co $n" --domain $dom --imap-host $host --imap-port 143 --smtp-host $host
expect 0 "setup: other tenant" -q tenant add "SHR Other $n" --domain $odom --imap-host $host --imap-port 143 --smtp-host $host
for u in a b c; do expect 0 "setup: user $u" -q user add $u@$dom --password-file "$pw"; done
expect 0 "setup: tenant admin" -q user add ta@$dom --password-file "$pw" --role tenant_admin
expect 0 "setup: other tenant's admin" -q user add tx@$odom --password-file "$pw" --role tenant_admin
expect 0 "setup: other tenant's user" -q user add x@$odom --password-file "$pw"

# --- create, and no login ----------------------------------------------------
expect 0 "a tenant admin creates a shared mailbox" --as ta@$dom shared add team@$dom --name "Team inbox"
like "$OUT" "created shared mailbox team@$dom" "... and is told so"
is "$(sql "SELECT kind || ' ' || role FROM ers.mailbox WHERE address = 'team@$dom'")" "shared user" "... a mailbox of kind shared"
is "$(sql "SELECT count(*) FROM ers.audit_log WHERE action = 'shared.add' AND target = 'team@$dom' AND outcome = 'ok'")" 1 \
    "... with one audit row"
run user list --tenant "SHR Co $n"
unlike "$OUT" "team@$dom" "user list does not show it (it is no user)"
run shared list --tenant "SHR Co $n" --json
is "$(printf '%s' "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin)["shared_mailboxes"]; print(d[0]["address"], d[0]["name"], len(d[0]["grants"]))')" \
    "team@$dom Team inbox 0" "shared list --json: the mailbox, its name, nobody with access"
is "$(sql "SELECT password IS NULL FROM ers_mail.passdb WHERE username = 'team@$dom'")" t "Dovecot's passdb gives it no password"
refused 65 'address|domain' "a bad address is refused" shared add 'not an address'
refused 65 'not one of|domain' "an address outside every tenant's domains is refused" shared add team@nowhere$n.test
refused 65 'quota' "a quota out of range is refused" shared add q@$dom --quota-mb 9999999
refused 73 'already used' "an address in use is refused" shared add a@$dom
denied 'may not shared.manage' "a regular user may not create one" --as a@$dom shared add mine@$dom
denied 'may not shared.manage' "another tenant's admin may not create one in this tenant" --as tx@$odom shared add t2@$dom

# IMAP_LOGIN USER PASSWORD: OK or NO
imap_login() {
    python3 - "$IMAP_PORT" "$1" "$2" <<'PY'
import imaplib, sys
c = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]))
try:
    c.login(sys.argv[2], sys.argv[3]); print('OK')
except imaplib.IMAP4.error:
    print('NO')
PY
}
is "$(imap_login team@$dom "$P")" NO "nobody logs in to it over IMAP"
web "$T_DIR/t.jar" POST /login --data-urlencode "email=team@$dom" --data-urlencode "password=$P"
unlike "$CODE" '^303$' "... nor to the webmail"

# --- mail to it, access given -------------------------------------------------
swaks --server 127.0.0.1:$SMTP_PORT --from someone@outside.example --to team@$dom --header "Subject: for the team $n" \
    --body hello --timeout 20 >/dev/null 2>&1
D="doveadm -c $DOVECOT_CONFIG"
for _ in $(seq 50); do [ "$($D mailbox status -u team@$dom messages INBOX 2>/dev/null | sed 's/.*=//')" = 1 ] && break; sleep 0.1; done
is "$($D mailbox status -u team@$dom messages INBOX | sed 's/.*=//')" 1 "mail sent to it is delivered to its INBOX"

refused 65 'unknown right "fly"' "unknown rights are refused, naming the allowed ones" shared grant team@$dom a@$dom --rights read,fly
like "$ERR" 'read, write, post and admin' "... the error lists them"
refused 66 'no user x@' "a user of another tenant cannot be given access" shared grant team@$dom x@$odom --rights read
refused 66 'no shared mailbox' "granting on a shared mailbox that does not exist" shared grant nope@$dom a@$dom --rights read
denied 'may not shared.manage' "another tenant's admin may not give access" --as tx@$odom shared grant team@$dom a@$dom --rights read
expect 0 "the tenant admin gives a read and write" --as ta@$dom shared grant team@$dom a@$dom --rights read,write
expect 0 "... and b read only" shared grant team@$dom b@$dom --rights read
run shared show team@$dom --json
is "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(" ".join(g["user"]+"="+",".join(g["rights"]) for g in json.load(sys.stdin)["grants"]))')" \
    "a@$dom=read,write b@$dom=read" "shared show --json lists who has which rights"

# imap_check USER: what USER sees of the shared mailbox, one word per step
imap_check() {
    python3 - "$IMAP_PORT" "$1" "$P" "team@$dom" "$n" <<'PY'
import imaplib, sys
port, user, pw, team, n = sys.argv[1:]
c = imaplib.IMAP4('127.0.0.1', int(port)); c.login(user, pw)
out = []
listed = [l.decode() for l in c.list()[1] if l and b'Shared/' in l]
out.append('listed' if any(team in l for l in listed) else 'unlisted')
t, _ = c.select('"Shared/%s"' % team)
out.append('select-' + t)
if t == 'OK':
    t, d = c.fetch('1', '(BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
    out.append('read' if t == 'OK' and ('for the team ' + n).encode() in d[0][1] else 'noread')
    t, _ = c.append('"Shared/%s"' % team, None, None, ('Subject: filed by %s\r\n\r\nx\r\n' % user).encode())
    out.append('append-' + t)
print(' '.join(out))
PY
}
is "$(imap_check a@$dom)" "listed select-OK read append-OK" "a (read, write) sees it, reads and files a message in it over IMAP"
is "$(imap_check b@$dom 2>&1)" "listed select-OK read append-NO" "b (read) reads it but may not file in it"
is "$(imap_check c@$dom)" "unlisted select-NO" "c (no access) does not even see it"
is "$(imap_check x@$odom 2>&1 | tail -n 1)" "unlisted select-NO" "nor does another tenant's user"
is "$($D mailbox status -u team@$dom messages INBOX | sed 's/.*=//')" 2 "the message a filed is in the shared INBOX"

# --- the webmail --------------------------------------------------------------
A=$T_DIR/a.jar
web "$A" POST /login --data-urlencode "email=a@$dom" --data-urlencode "password=$P"
is "$CODE" 303 "a logs in to the webmail"
web "$A" GET /
like "$BODY" '<h3 class="shared-head">Shared mailboxes</h3>' "the folder list has a Shared mailboxes heading"
like "$BODY" "href=\"/\\?folder=Shared%2Fteam%40$dom\"><span class=\"name\">team@$dom</span>" "... with the shared mailbox under it"
web "$A" GET "/?folder=Shared%2Fteam%40$dom"
is "$CODE" 200 "a opens the shared mailbox in the webmail"
like "$BODY" "for the team $n" "... and sees its message"
like "$BODY" "filed by a@$dom" "... and the one filed over IMAP"
# Filing from the webmail: "Move to" the shared mailbox.
printf 'From: x@y\r\nSubject: file me %s\r\n\r\nbody\r\n' "$n" | $D save -u a@$dom
auid=$($D fetch -u a@$dom uid mailbox INBOX subject "file me $n" | sed -n 's/^uid: //p')
web "$A" GET "/message?folder=INBOX&uid=$auid"
like "$BODY" "<option value=\"Shared/team@$dom\">Shared/team@$dom</option>" "a's message page offers Move to the shared mailbox"
token=$(csrf)
web "$A" POST /message/move --data-urlencode "csrf=$token" --data-urlencode folder=INBOX --data-urlencode "uid=$auid" \
    --data-urlencode "to=Shared/team@$dom"
is "$CODE" 303 "a moves it there"
is "$($D search -u team@$dom mailbox INBOX subject "file me $n" | wc -l)" 1 "... and it is in the shared mailbox"
is "$($D search -u a@$dom mailbox INBOX subject "file me $n" | wc -l)" 0 "... no longer in a's INBOX"
printf 'From: x@y\r\nSubject: b files %s\r\n\r\nbody\r\n' "$n" | $D save -u b@$dom
buid=$($D fetch -u b@$dom uid mailbox INBOX subject "b files $n" | sed -n 's/^uid: //p')
B=$T_DIR/b.jar
web "$B" POST /login --data-urlencode "email=b@$dom" --data-urlencode "password=$P"
web "$B" GET "/message?folder=INBOX&uid=$buid"
token=$(csrf)
web "$B" POST /message/move --data-urlencode "csrf=$token" --data-urlencode folder=INBOX --data-urlencode "uid=$buid" \
    --data-urlencode "to=Shared/team@$dom"
unlike "$CODE" '^303$' "b (read only) cannot file into it from the webmail"
is "$($D search -u b@$dom mailbox INBOX subject "b files $n" | wc -l)" 1 "... the message stays in b's INBOX"
web "$B" POST /message/move --data-urlencode "csrf=$token" --data-urlencode folder=INBOX --data-urlencode "uid=$buid" \
    --data-urlencode "to=Shared/nobody@$dom"
is "$CODE" 422 "Move to a folder that is not in the list: refused"
C=$T_DIR/c.jar
web "$C" POST /login --data-urlencode "email=c@$dom" --data-urlencode "password=$P"
web "$C" GET /
unlike "$BODY" "Shared mailboxes|team@$dom" "c's folder list shows no shared mailbox"
web "$C" GET "/?folder=Shared%2Fteam%40$dom"
unlike "$BODY" "for the team $n" "... and a hand-made link shows c nothing of it"

# --- revoke: at the next command of an open session ----------------------------
out=$(python3 - "$IMAP_PORT" a@$dom "$P" "team@$dom" "$ERSCTL" <<'PY'
import imaplib, subprocess, sys
port, user, pw, team, ersctl = sys.argv[1:]
c = imaplib.IMAP4('127.0.0.1', int(port)); c.login(user, pw)
before = c.select('"Shared/%s"' % team)[0]
rc = subprocess.run([ersctl, '-q', 'shared', 'revoke', team, user]).returncode
c.close() if c.state == 'SELECTED' else None
after = c.select('"Shared/%s"' % team)[0]
print(before, rc, after)
PY
)
is "$out" "OK 0 NO" "revoke holds at once: a's open IMAP session cannot select it any more"
is "$(imap_check a@$dom)" "unlisted select-NO" "... and a new one does not list it"
web "$A" GET /
unlike "$BODY" "team@$dom" "... nor does the webmail"
refused 66 'has no access' "revoking again says there is nothing to revoke" shared revoke team@$dom a@$dom
is "$(sql "SELECT count(*) FROM ers.audit_log WHERE target = 'team@$dom' AND action IN ('shared.grant', 'shared.revoke') AND outcome = 'ok'")" \
    3 "one audit row per grant and revoke"

# --- the admin panel ---------------------------------------------------------
TA=$T_DIR/ta.jar
web "$TA" POST /login --data-urlencode "email=ta@$dom" --data-urlencode "password=$P"
web "$TA" GET /admin/shared
is "$CODE" 200 "the tenant admin opens the Shared mailboxes tab"
like "$BODY" 'aria-current="page">Shared mailboxes<' "... the tab is current"
like "$BODY" "team@$dom" "... and lists the shared mailbox"
like "$BODY" "b@$dom \\(read\\)" "... with who has access"
like "$BODY" 'Create public mailbox' "... and the manual's Create public mailbox button"
web "$TA" GET "/admin/shared/access?a=team@$dom"
token=$(csrf)
web "$TA" POST /admin/shared/grant --data-urlencode "a=team@$dom" --data-urlencode "user=c@$dom" --data-urlencode read=1
is "$CODE" 403 "giving access without the CSRF token: refused"
is "$(sql "SELECT count(*) FROM ers.shared_grant g JOIN ers.mailbox u ON u.id = g.user_id WHERE u.address = 'c@$dom'")" 0 "... nothing changed"
web "$TA" POST /admin/shared/grant --data-urlencode "csrf=$token" --data-urlencode "a=team@$dom" --data-urlencode "user=c@$dom" \
    --data-urlencode read=1 --data-urlencode post=1
is "$CODE" 303 "Give access with Read and Post"
is "$(imap_check c@$dom 2>&1)" "listed select-OK read append-NO" "... c now reads it over IMAP"
web "$TA" POST /admin/shared/grant --data-urlencode "csrf=$token" --data-urlencode "a=team@$dom" --data-urlencode "user=c@$dom"
is "$CODE" 422 "Give access with no right chosen: refused"
like "$BODY" 'Choose at least one right' "... saying so"
web "$TA" POST /admin/shared/revoke --data-urlencode "csrf=$token" --data-urlencode "a=team@$dom" --data-urlencode "user=c@$dom"
is "$CODE" 303 "Revoke"
is "$(imap_check c@$dom)" "unlisted select-NO" "... c sees it no more"
web "$TA" POST /admin/shared/new --data-urlencode "csrf=$token" --data-urlencode "address=sales@$odom"
unlike "$CODE" '^(200|303)$' "creating one in another tenant's domain from the panel: refused"
is "$(sql "SELECT count(*) FROM ers.mailbox WHERE address = 'sales@$odom'")" 0 "... nothing created"
web "$TA" POST /admin/shared/new --data-urlencode "csrf=$token" --data-urlencode "address=sales@$dom" --data-urlencode "name=Sales"
is "$CODE" 303 "Create public mailbox from the panel"
like "$(printf '%s' "$HDR" | grep -i '^location:')" "/admin/shared/access\\?a=sales%40$dom" "... then its Access page"
X=$T_DIR/x.jar
web "$X" POST /login --data-urlencode "email=tx@$odom" --data-urlencode "password=$P"
web "$X" GET "/admin/shared/access?a=team@$dom"
is "$CODE" 403 "another tenant's admin cannot open its Access page"
web "$X" GET /admin/shared
unlike "$BODY" "team@$dom" "... nor see it in the list"

# --- delete ----------------------------------------------------------------------
web "$TA" GET "/admin/shared/delete?a=sales@$dom"
like "$BODY" 'impossible to restore its contents' "Delete asks first, with the manual's warning"
web "$TA" POST /admin/shared/delete --data-urlencode "csrf=$token" --data-urlencode "a=sales@$dom"
like "$BODY" "The shared mailbox sales@$dom was deleted" "... then deletes"
expect 0 "shared delete from the CLI" -q shared delete team@$dom --yes
is "$(sql "SELECT count(*) FROM ers.mailbox WHERE kind = 'shared' AND tenant_id = (SELECT id FROM ers.tenant WHERE name = 'SHR Co $n')")" 0 \
    "both are gone"
is "$(sql "SELECT count(*) FROM ers.shared_grant g JOIN ers.mailbox u ON u.id = g.user_id WHERE u.address LIKE '%@$dom'")" 0 \
    "... with their grants"
is "$(imap_check b@$dom)" "unlisted select-NO" "b no longer sees it"
is "$(sql "SELECT count(*) FROM ers.audit_log WHERE action = 'shared.delete' AND outcome = 'ok' AND target IN ('team@$dom', 'sales@$dom')")" 2 \
    "one audit row per delete"

expect 0 "cleanup" -q tenant delete "SHR Co $n" --yes
expect 0 "cleanup: other tenant" -q tenant delete "SHR Other $n" --yes
done_testing
