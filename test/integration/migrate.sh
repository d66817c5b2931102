#!/usr/bin/env bash
# IMAP migration (manual 002 "IMAP Migration", ersctl migrate): a second
# Dovecot started here is the source (IMAP over TLS with the stack's
# certificate, five folders, one with a non-ASCII name, 2,000 messages;
# another account with a message over the target's quota); every message arrives
# byte-identical (SHA-256 of BODY[] on both sides), a second run copies
# nothing, local mail stays; a wrong password and an unreachable host fail
# with clear errors; the source password never shows in ps or the
# database after the job; the policy (admins for their tenant's users, a
# user into its own mailbox); the webmail's Migrate form, whose queued job
# `ersctl migrate run-queued` runs as the server's timer would.
. "$(dirname "$0")/lib.sh"
. "$ERS_STACK_DIR/stack.env"
export ERS_CONFIG=$ERS_STACK_DIR/ers.yaml
T_DB=ers
n=$RANDOM
dom=mig$n.test odom=migother$n.test host=migtest$n.ers.test
pw=$T_DIR/pw; echo 'migrate-password-123' >"$pw"
spw=$T_DIR/spw; echo 'source-secret-Zq7' >"$spw"
expect 0 "setup: IMAP host" -q server host add $host --kind imap --port 143 --tls starttls
expect 0 "setup: SMTP host" -q server host add $host --kind smtp --port 587
expect 0 "setup: tenant" -q tenant add "Mig Co $n" --domain $dom --imap-host $host --imap-port 143 --smtp-host $host
expect 0 "setup: other tenant" -q tenant add "Mig Other $n" --domain $odom --imap-host $host --imap-port 143 --smtp-host $host
for u in a b; do expect 0 "setup: user $u" -q user add $u@$dom --password-file "$pw" --quota-mb 100; done
expect 0 "setup: tenant admin" -q user add ta@$dom --password-file "$pw" --role tenant_admin --quota-mb 100
expect 0 "setup: other tenant's admin" -q user add ta@$odom --password-file "$pw" --role tenant_admin --quota-mb 100

# --- the source: a Dovecot of its own on a free port -----------------------
src=$T_DIR/src
SRC_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$src/run" "$src/state" "$src/home" "$src/mail"
printf 'old@old.example:{PLAIN}source-secret-Zq7\nbig@old.example:{PLAIN}source-secret-Zq7\n' >"$src/users"
cat >"$src/dovecot.conf" <<CONF
base_dir = $src/run
state_dir = $src/state
instance_name = ers-mig-src-$n
log_path = $src/dovecot.log
default_internal_user = dovecot
default_login_user = dovenull
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <$ERS_STACK_DIR/tls/server.pem
ssl_key = <$ERS_STACK_DIR/tls/server.key
disable_plaintext_auth = no
auth_failure_delay = 0
first_valid_uid = 5000
mail_location = maildir:$src/mail/%u
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $src/users
}
userdb {
  driver = static
  args = uid=5000 gid=5000 home=$src/home/%u
}
namespace inbox {
  inbox = yes
  separator = /
  mailbox "Sent Items" {
    special_use = \\Sent
  }
}
service imap-login {
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    port = $SRC_PORT
  }
}
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
CONF
# 2,000 messages in five folders; "Sent Items" (\Sent) lands in our Sent.
# big@old.example: two small messages and one of 2 MB.
python3 - "$src/mail/old@old.example" "$src/mail/big@old.example" <<'PY'
import os, sys, random
root = sys.argv[1]
folders = ["", "Sent Items", "Archive", "&AMQ-rger", "Archive.2024"]
for f in folders:
    for s in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(root, "." + f if f else "", s), exist_ok=True)
random.seed(7)
for i in range(2000):
    f = folders[i % len(folders)]
    body = "".join("line %d of message %d %s\r\n" % (k, i, "x" * random.randint(0, 70)) for k in range(random.randint(1, 60)))
    msg = ("From: sender%d@old.example\r\nTo: old@old.example\r\nSubject: message %d\r\nMessage-ID: <m%d@old.example>\r\n"
           "Date: Mon, 1 Jan 2024 10:%02d:00 +0000\r\n\r\n%s" % (i, i, i, i % 60, body))
    open(os.path.join(root, "." + f if f else "", "cur", "%d.M%dP1.src:2,S" % (1700000000 + i, i)), "w", newline="").write(msg)
big = sys.argv[2]
for s in ("cur", "new", "tmp"):
    os.makedirs(os.path.join(big, s), exist_ok=True)
for i, size in enumerate((200, 2 * 1024 * 1024, 300)):
    msg = ("From: big@old.example\r\nSubject: sized %d\r\nMessage-ID: <b%d@old.example>\r\n"
           "Date: Tue, 2 Jan 2024 10:0%d:00 +0000\r\n\r\n" % (i, i, i)) + ("y" * 76 + "\r\n") * (size // 78)
    open(os.path.join(big, "cur", "%d.M%dP2.src:2,S" % (1700100000 + i, i)), "w", newline="").write(msg)
PY
chown -R 5000:5000 "$src/mail" "$src/home"
dovecot -c "$src/dovecot.conf" || { echo "Bail out! the source Dovecot did not start"; exit 1; }
stop_src() { kill "$(cat "$src/run/master.pid" 2>/dev/null)" 2>/dev/null; }
trap stop_src EXIT
for _ in $(seq 1 50); do ss -Htln "sport = :$SRC_PORT" | grep -q . && break; sleep 0.1; done

# Local mail that must stay, and a message the source has too (skipped).
D="doveadm -c $DOVECOT_CONFIG"
printf 'From: x@y\r\nSubject: local one\r\n\r\nkept\r\n' | $D save -u a@$dom
# ersctl verifies the source's certificate against the stack's CA.
{ cat "$ERS_CONFIG"; printf 'dns:\n  ca_file: %s\n' "$TLS_CA"; } >"$T_DIR/ers.yaml"
export ERS_CONFIG=$T_DIR/ers.yaml
from=(--from-host 127.0.0.1 --from-port "$SRC_PORT" --tls implicit --from-user old@old.example --from-password-file "$spw")

tmp_before=$(ls -d /tmp/ers-migrate.* 2>/dev/null)  # other runs' (a worker killed with -9 leaves its own)

# --- the policy ------------------------------------------------------------
denied "" "user: not into another user's mailbox" --as b@$dom migrate start a@$dom "${from[@]}"
denied "" "tenant admin: not into another tenant's user" --as ta@$odom migrate start a@$dom "${from[@]}"
refused 64 "--tls must be one of: implicit starttls none" "a bad --tls is refused" migrate start a@$dom --from-host 127.0.0.1 \
    --tls ssl --from-user old@old.example --from-password-file "$spw"

# --- migrate, in the background, as the user itself -------------------------
run --json --as a@$dom migrate start a@$dom "${from[@]}"
is "$RC" 0 "user: start a migration into its own mailbox"
id=$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
state=
for _ in $(seq 1 1200); do
    state=$(sql "SELECT state FROM ers.migration WHERE id = $id")
    [ "$state" = queued ] || [ "$state" = running ] || break
    sleep 0.1
done
is "$state" done "the background migration finished"
is "$(sql "SELECT count(*) FROM ers.migration WHERE id = $id AND source_password IS NULL")" 1 "... and its sealed password is gone"
run --json migrate status "$id"
report=$(printf '%s' "$OUT" | python3 -c '
import json, sys
j = json.load(sys.stdin)
print(" ".join("%s>%s:%d/%d/%d/%d" % (f["folder"], f["to"], f["found"], f["copied"], f["skipped"], f["failed"]) for f in sorted(j["folders"], key=lambda f: f["folder"])))')
is "$report" "Archive>Archive:400/400/0/0 Archive/2024>Archive/2024:400/400/0/0 INBOX>INBOX:400/400/0/0 Sent Items>Sent:400/400/0/0 Ärger>Ärger:400/400/0/0" \
    "the report: each folder found and copied, Sent Items into Sent"

# Every message byte-identical: SHA-256 of each BODY[] on both sides.
master=$(sed -n 's/^WEBMAIL_MASTER_PASSWORD=//p' "$ERS_STACK_DIR/secrets")
hashes() { # HOST PORT USER PASSWORD TLS FOLDER...
    python3 - "$@" <<'PY'
import hashlib, imaplib, ssl, sys
host, port, user, pw, tls = sys.argv[1:6]
import os
c = imaplib.IMAP4_SSL(host, int(port), ssl_context=ssl.create_default_context(cafile=os.environ["TLS_CA"])) \
    if tls == "implicit" else imaplib.IMAP4(host, int(port))
if tls == "starttls":
    c.starttls(ssl.create_default_context(cafile=tls_ca) if (tls_ca := __import__("os").environ.get("TLS_CA")) else None)
c.login(user, pw)
out = []
for f in sys.argv[6:]:
    enc = f.encode("utf-7").decode().replace("+", "&").replace(",", "/") if any(ord(ch) > 127 for ch in f) else f
    c.select('"%s"' % enc, readonly=True)
    typ, data = c.uid("FETCH", "1:*", "(BODY.PEEK[])")
    # The owner's notice of the migration is not one of the source's messages.
    out += sorted(hashlib.sha256(d[1]).hexdigest() for d in data
                  if isinstance(d, tuple) and b"\r\nSubject: IMAP migration " not in d[1][:4000])
print("\n".join(out))
PY
}
want=$(TLS_CA=$TLS_CA hashes 127.0.0.1 "$SRC_PORT" old@old.example source-secret-Zq7 implicit INBOX "Sent Items" Archive Archive/2024 Ärger)
got=$(TLS_CA=$TLS_CA hashes 127.0.0.1 "$IMAP_PORT" "a@$dom*ers-webmail" "$master" starttls INBOX Sent Archive Archive/2024 Ärger \
      | grep -vxF "$(printf 'From: x@y\r\nSubject: local one\r\n\r\nkept\r\n' | sha256sum | cut -d' ' -f1)")
is "$(printf '%s\n' "$want" | grep -c .)" 2000 "the source holds 2000 messages"
is "$got" "$want" "every message arrived byte-identical (SHA-256 of each)"
is "$($D mailbox status -u a@$dom messages INBOX)" "INBOX messages=402" "the local message stayed beside them (and the notice)"
is "$($D search -u a@$dom mailbox INBOX subject "IMAP migration finished: 2000 messages copied, 0 failed" | wc -l)" 1 \
    "the owner got a notice in its INBOX saying what was copied"

# --- again: nothing duplicated ------------------------------------------------
run migrate start a@$dom "${from[@]}" --wait
is "$RC" 0 "a second run succeeds"
like "$OUT" "INBOX +INBOX +400 +0 +400 +0" "... and skips what is there"
is "$($D mailbox status -u a@$dom messages '*' | awk -F= '{s+=$2} END {print s}')" 2003 "... nothing duplicated (2001 and two notices)"

# --- clear errors -------------------------------------------------------------
echo wrong >"$T_DIR/bad"
run migrate start b@$dom --from-host 127.0.0.1 --from-port "$SRC_PORT" --tls implicit --from-user old@old.example \
    --from-password-file "$T_DIR/bad" --wait
is "$RC" 69 "a wrong password fails"
like "$ERR" "source server 127.0.0.1:$SRC_PORT: .*(AUTHENTICATIONFAILED|[Aa]uthentication failed|LOGIN)" "... saying the source refused the login"
is "$($D search -u b@$dom mailbox INBOX subject "IMAP migration failed" | wc -l)" 1 "... and telling the owner in its INBOX"
run migrate start b@$dom --from-host 127.0.0.1 --from-port 1 --tls none --from-user old@old.example --from-password-file "$spw" --wait
is "$RC" 69 "an unreachable host fails"
like "$ERR" "source server 127.0.0.1:1: .*([Cc]ouldn't connect|refused)" "... saying it could not connect"
# The operator's approved sources (mailstack.migrate_sources): another host is refused, nothing queued.
cp "$ERS_CONFIG" "$T_DIR/restricted.yaml"
sed -i 's/^mailstack:$/mailstack:\n  migrate_sources: "imap.old.example OLD2.example"/' "$T_DIR/restricted.yaml"
jobs_before=$(sql "SELECT count(*) FROM ers.migration")
ERS_CONFIG=$T_DIR/restricted.yaml run migrate start b@$dom "${from[@]}"
is "$RC" 65 "a source host not on the operator's list is refused"
like "$ERR" '127\.0\.0\.1 is not an approved migration source; the operator allows: imap\.old\.example OLD2\.example \(mailstack\.migrate_sources' \
    "... saying which hosts are allowed"
is "$(sql "SELECT count(*) FROM ers.migration")" "$jobs_before" "... and nothing is queued"
ERS_CONFIG=$T_DIR/restricted.yaml run migrate start ta@$dom --from-host old2.EXAMPLE --from-port 1 --tls none \
    --from-user old@old.example --from-password-file "$spw" --wait
is "$RC" 69 "a listed host (any case) is let through to the connection"
unlike "$(sql "SELECT string_agg(coalesce(source_password, '') || coalesce(error, '') || report::text, ' ') FROM ers.migration")$(cat $ERS_STACK_DIR/dovecot/log/dovecot.log)" \
    "source-secret-Zq7" "the source password is nowhere in the database or Dovecot's log"
run --as ta@$dom migrate list
like "$OUT" "a@$dom" "tenant admin: lists its users' migrations"
run --as b@$dom migrate list
unlike "$OUT" "a@$dom" "user: does not see another user's migrations"
is "$(ls -d /tmp/ers-migrate.* 2>/dev/null)" "$tmp_before" "no doveadm configuration with the password is left in /tmp"

# --- killed mid-way (kill -9 of the worker and its doveadm): resume -----------
run --json migrate start b@$dom "${from[@]}"
kid=$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
wpid=
for _ in $(seq 1 200); do
    wpid=$(sql "SELECT worker_pid FROM ers.migration WHERE id = $kid AND state = 'running' AND report <> '[]'")
    [ -n "$wpid" ] && break
    sleep 0.05
done
[ -n "$wpid" ] && kill -KILL -- "-$wpid" 2>/dev/null
ok $? "a running migration's worker is killed after its first folder"
tmp_now=$(ls -d /tmp/ers-migrate.* 2>/dev/null)
run --json migrate status "$kid"
like "$OUT" '"interrupted": true' "migrate status: interrupted"
run migrate resume "$kid" --wait
is "$RC" 0 "migrate resume: finishes the job"
is "$($D mailbox status -u b@$dom messages '*' | awk -F= '{s+=$2} END {print s}')" 2003 \
    "... with every message once (2000, two failure notices and one success notice)"
is "$(sql "SELECT count(*) FROM ers.migration WHERE id = $kid AND state = 'done' AND source_password IS NULL")" 1 \
    "... done, its password dropped"
# The known limit (libers/migrate/README.md): the killed worker's directory stays.
for d in $(comm -13 <(printf '%s\n' "$tmp_before" | sort) <(printf '%s\n' "$tmp_now" | sort)); do rm -rf "$d"; done

# --- a message over the mailbox's quota: reported, the others copied ----------
expect 0 "setup: user c with a 1 MB quota" -q user add c@$dom --password-file "$pw" --quota-mb 1
run --json migrate start c@$dom --from-host 127.0.0.1 --from-port "$SRC_PORT" --tls implicit --from-user big@old.example \
    --from-password-file "$spw" --wait
is "$RC" 69 "a migration with a message over the quota ends as failed"
run --json migrate status "$(sql "SELECT max(id) FROM ers.migration WHERE mailbox_id = (SELECT id FROM ers.mailbox WHERE address = 'c@$dom')")"
is "$(printf '%s' "$OUT" | python3 -c '
import json, sys
f = json.load(sys.stdin)["folders"][0]
print(f["folder"], f["found"], f["copied"], f["failed"], "quota" in (f.get("error") or "").lower())')" "INBOX 3 2 1 True" \
    "... its report: 3 found, the 2 small ones copied, the 2 MB one failed for the quota"

# --- the webmail's Migrate form: queued, then run by the server's timer ------
expect 0 "setup: user w" -q user add w@$dom --password-file "$pw" --quota-mb 100
BASE=https://127.0.0.1:$WEB_PORT
W=$T_DIR/w.jar
web "$W" POST /login --data-urlencode "email=w@$dom" --data-urlencode "password=migrate-password-123"
is "$CODE" 303 "w logs in to the webmail"
web "$W" GET /migrate
is "$CODE" 200 "the Migrate page"
for field in "IMAP Server" "Port" "Username" "Password" "Use SSL" "Start Migration"; do
    like "$BODY" "$field" "... has manual 002's $field"
done
token=$(csrf)
web "$W" GET "/migrate?user=a@$dom"
is "$CODE" 403 "w may not open the form for another user's mailbox"
web "$W" POST /migrate --data-urlencode host=127.0.0.1 --data-urlencode "port=$SRC_PORT" \
    --data-urlencode username=old@old.example --data-urlencode password=source-secret-Zq7 --data-urlencode ssl=1
is "$CODE" 403 "Start Migration without the CSRF token: refused"
is "$(sql "SELECT count(*) FROM ers.migration g JOIN ers.mailbox m ON m.id = g.mailbox_id WHERE m.address = 'w@$dom'")" 0 "... nothing queued"
web "$W" POST /migrate --data-urlencode "csrf=$token" --data-urlencode host=127.0.0.1 --data-urlencode port=99999 \
    --data-urlencode username=old@old.example --data-urlencode password=source-secret-Zq7 --data-urlencode ssl=1
is "$CODE" 422 "a port out of range is refused"
like "$BODY" "The port must be a number from 1 to 65535" "... saying what is allowed"
web "$W" POST /migrate --data-urlencode "csrf=$token" --data-urlencode host=127.0.0.1 --data-urlencode "port=$SRC_PORT" \
    --data-urlencode username=old@old.example --data-urlencode password=source-secret-Zq7 --data-urlencode ssl=1
is "$CODE" 200 "Start Migration"
like "$BODY" "is queued: it runs on the server in the background" "... says it is queued"
unlike "$BODY" "source-secret-Zq7" "... and never shows the password again"
wid=$(sql "SELECT g.id FROM ers.migration g JOIN ers.mailbox m ON m.id = g.mailbox_id WHERE m.address = 'w@$dom' AND g.state = 'queued'")
like "$wid" '^[0-9]+$' "... one job queued, by w"
refused 77 "operators only" "migrate run-queued refuses --as" --as ta@$dom migrate run-queued
run migrate run-queued
is "$RC" 0 "migrate run-queued (the server's timer) runs it"
like "$OUT" "migration $wid into w@$dom: done" "... and says so"
is "$($D mailbox status -u w@$dom messages '*' | awk -F= '{s+=$2} END {print s}')" 2001 "... every message arrived (and the notice)"
web "$W" GET /migrate
like "$BODY" "Finished" "the Migrate page shows it finished"
like "$BODY" "<td data-label=\"Folder\">Sent Items</td><td data-label=\"Into\">Sent</td><td data-label=\"Found\">400</td><td data-label=\"Copied\">400</td>" \
    "... with its per-folder report"
run migrate run-queued
like "$OUT" "no migration is queued" "run-queued again: nothing to do"
TA=$T_DIR/ta.jar
web "$TA" POST /login --data-urlencode "email=ta@$dom" --data-urlencode "password=migrate-password-123"
web "$TA" GET /admin/users
like "$BODY" "href=\"/migrate\?user=w%40$dom\">Migrate<" "the admin Users list has the Migrate button"
web "$TA" GET "/migrate?user=w@$dom"
like "$BODY" "Into the mailbox of <strong>w@$dom</strong>" "... which opens the form for that user"

# --- user clear (manual 003 "Clear the contents of a mailbox") ----------------
run user clear a@$dom --folder Archive
is "$RC" 64 "user clear: refused without a terminal or --yes"
like "$ERR" "deletes 400 messages from a@$dom, folder Archive. If there are no backups of the mailbox, it will be impossible to restore its contents" \
    "... after stating the count and manual 003's warning"
like "$ERR" "no terminal to ask on; pass --yes" "... and saying --yes is needed"
is "$($D mailbox status -u a@$dom messages Archive)" "Archive messages=400" "... nothing deleted"
denied "" "user: not another user's mailbox" --yes --as b@$dom user clear a@$dom
denied "" "tenant admin: not another tenant's user" --yes --as ta@$odom user clear a@$dom
refused 65 "--older-than must be a whole number 1..36500" "user clear: a bad --older-than" --yes user clear a@$dom --older-than 0
expect 0 "tenant admin: clears a folder of its user's mailbox" --yes --as ta@$dom user clear a@$dom --folder Archive
like "$OUT" "^400 messages deleted from a@$dom" "... saying 400 were deleted"
is "$($D mailbox status -u a@$dom messages Archive)" "Archive messages=0" "... and the folder is empty"
is "$(sql "SELECT count(*) FROM ers.audit_log WHERE action = 'mailbox.clear' AND target = 'a@$dom' AND outcome = 'ok' AND detail LIKE '400 messages deleted (folder Archive%'")" 1 "... with one audit row"
expect 0 "user clear --older-than 30: none of the migrated messages is that old" --yes user clear a@$dom --older-than 30
like "$OUT" "^0 messages deleted" "... so none is deleted"
expect 0 "user: clears its own mailbox" --yes --as a@$dom user clear a@$dom
like "$OUT" "^1603 messages deleted" "... every folder's remaining messages"
is "$($D mailbox status -u a@$dom messages '*' | awk -F= '{s+=$2} END {print s}')" 0 "... and the mailbox is empty"
done_testing
