#!/usr/bin/env bash
# Personal and tenant mail archives (manual 000 "Personal And Tenant
# Archives") against the stack's real Dovecot, with independent oracles:
# Python's mailbox.mbox reads every message of a downloaded .mbox byte for
# byte as IMAP gives it (bodies with "From " lines too, mboxrd quoting
# undone); `unzip -t` passes and every .eml is the IMAP source; `gpg
# --decrypt` of the raw stored file with the exported key gives the
# download.  Delete-after expunges exactly the archived messages; a full
# disk (a small tmpfs) deletes nothing and records a failure; the policy
# matrix by ID with --as; bad input changes nothing; `archive run` is
# idempotent and finishes what a kill -9 left.
. "$(dirname "$0")/lib.sh"
. "$ERS_STACK_DIR/stack.env"
T_DB=ers  # Dovecot reads the stack's own database
ADIR=$T_DIR/archives
{ sed '/^archive:/,$d' "$ERS_STACK_DIR/ers.yaml"; printf 'dns:\n  ca_file: %s\narchive:\n  directory: %s\n' "$TLS_CA" "$ADIR"; } >"$T_DIR/ers.yaml"
export ERS_CONFIG=$T_DIR/ers.yaml
# The GnuPG homes ersctl makes (and their gpg-agents, which a job killed with
# -9 below cannot end) go under the stack, where they are ended and removed
# at the end of this test, and by test/run-all's cleanup in any case.
export TMPDIR=$ERS_STACK_DIR/gpg
mkdir -p "$TMPDIR"
end_agents() { local h; for h in "$TMPDIR"/ers-gpg.*; do [ -d "$h" ] && gpgconf --homedir "$h" --kill all 2>/dev/null; rm -rf "$h"; done; }
trap end_agents EXIT
master=$(sed -n 's/^WEBMAIL_MASTER_PASSWORD=//p' "$ERS_STACK_DIR/secrets")

n=$RANDOM
dom=ar$n.test dom2=ar$n-other.test host=arch$n.ers.test
u=ann@$dom v=bob@$dom ta=boss@$dom tb=boss@$dom2
pw=$T_DIR/pw; echo 'archive-password-123' >"$pw"
expect 0 "setup: IMAP host" -q server host add $host --kind imap --port 143 --tls starttls
expect 0 "setup: SMTP host" -q server host add $host --kind smtp --port 587
expect 0 "setup: tenant" -q tenant add "Arch Co $n" --domain $dom --imap-host $host --imap-port 143 --smtp-host $host
expect 0 "setup: other tenant" -q tenant add "Other Co $n" --domain $dom2 --imap-host $host --imap-port 143 --smtp-host $host
for a in $u $v; do run -q user add $a --quota-mb 100 --password-file "$pw"; done
run -q user add $ta --role tenant_admin --quota-mb 100 --password-file "$pw"
expect 0 "setup: other tenant's admin" -q user add $tb --role tenant_admin --quota-mb 100 --password-file "$pw"

# imap.py ADDRESS ACTION...: IMAP as the master user (TLS verified).
cat >"$T_DIR/imap.py" <<'EOF'
import imaplib, os, ssl, sys, time
port, master, ca, who, action = int(os.environ['IMAP_PORT']), os.environ['MASTER'], os.environ['TLS_CA'], sys.argv[1], sys.argv[2]
M = imaplib.IMAP4('127.0.0.1', port); M.starttls(ssl_context=ssl.create_default_context(cafile=ca))
M.login(who + '*ers-webmail', master)
if action == 'fill':
    old = imaplib.Time2Internaldate(time.time() - 90 * 86400)
    now = imaplib.Time2Internaldate(time.time())
    M.create('Work/Sub')
    def msg(i, extra=b''):
        return (b"From: Sender <s@example.test>\r\nTo: %s\r\nSubject: message %d\r\nMessage-ID: <%d@x>\r\n\r\n"
                b"From the start of a line\r\n>From already quoted\r\n>>From twice\r\nFrom\r\nline %d\r\n%s" % (who.encode(), i, i, i, extra))
    for i in range(5):
        M.append('INBOX', None, old, msg(i, b'\xe2\x82\xac 8bit\r\n' * i))
    for i in range(5, 7):
        M.append('INBOX', None, now, msg(i))
    M.append('Work/Sub', None, old, msg(7, b'x' * 70000 + b'\r\n'))
    M.append('Work/Sub', None, old, msg(8))
elif action == 'dump':  # every message's source as DIR/FOLDER/UID.eml
    out = sys.argv[3]
    for folder in ('INBOX', 'Work/Sub'):
        M.select('"%s"' % folder, readonly=True)
        typ, data = M.uid('SEARCH', None, 'ALL')
        os.makedirs(os.path.join(out, folder), exist_ok=True)
        for uid in data[0].split():
            typ, d = M.uid('FETCH', uid, '(BODY.PEEK[])')
            open(os.path.join(out, folder, uid.decode() + '.eml'), 'wb').write(d[0][1])
elif action == 'bulk':  # N old messages and 2 new ones in INBOX
    old = imaplib.Time2Internaldate(time.time() - 90 * 86400)
    for i in range(int(sys.argv[3])):
        M.append('INBOX', None, old, b"Subject: bulk %d\r\n\r\nFrom here\r\n%s\r\n" % (i, b'y' * 2000))
    for i in range(2):
        M.append('INBOX', None, imaplib.Time2Internaldate(time.time()), b"Subject: fresh %d\r\n\r\nnew\r\n" % i)
elif action == 'uids':  # INBOX's UIDs, one a line
    M.select('INBOX', readonly=True)
    typ, data = M.uid('SEARCH', None, 'ALL')
    print('\n'.join(u.decode() for u in data[0].split()))
elif action == 'count':  # messages in FOLDER
    typ, d = M.select('"%s"' % sys.argv[3], readonly=True)
    print(int(d[0]))
M.logout()
EOF
imap() { IMAP_PORT=$IMAP_PORT MASTER=$master TLS_CA=$TLS_CA python3 "$T_DIR/imap.py" "$@"; }
for a in $u $v; do imap $a fill; done
imap $u dump "$T_DIR/src"
is "$(imap $u count INBOX)/$(imap $u count Work/Sub)" "7/2" "setup: 7 messages in INBOX (5 older than 30 days), 2 old ones in Work/Sub"

# The old messages, in the archive's order (INBOX, then Work/Sub; by UID).
old_list() { for f in INBOX Work/Sub; do ls "$T_DIR/src/$f" | sort -n | sed "s|^|$f/|"; done | grep -v -e '^INBOX/6.eml' -e '^INBOX/7.eml'; }
arows() { sql "SELECT count(*) FROM ers.archive WHERE address IN ('$u', '$v')"; }
afiles() { ls -A "$ADIR" 2>/dev/null | wc -l; }

# --- a personal .mbox --------------------------------------------------------
expect 0 "a user archives its own mailbox (mbox, older than 30 days)" --as $u --json archive create $u --older-than 30
id_mbox=$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["archives"][0]["id"])')
is "$(sql "SELECT kind || ' ' || state || ' ' || messages FROM ers.archive WHERE id = $id_mbox")" "personal stored 7" \
    "recorded: personal, stored, 7 messages"
is "$(sql "SELECT count(*) FROM ers.archive_message WHERE archive_id = $id_mbox AND uidvalidity > 0")" 7 "its 7 UIDs recorded with UIDVALIDITY"
is "$(stat -c %a "$ADIR/$id_mbox.mbox.gpg")" 600 "the stored file is 0600"
like "$(head -c 2 "$ADIR/$id_mbox.mbox.gpg" | od -An -tx1)" '^ 8[45c]|^ c1' "the stored file is OpenPGP (a public-key packet first)"
expect 0 "its owner downloads it" --as $u archive download $id_mbox -o "$T_DIR/a.mbox"
cat >"$T_DIR/mbox_check.py" <<'EOF'
import mailbox, re, sys
src, names = sys.argv[1], sys.argv[2].split()
box = mailbox.mbox(sys.argv[3], create=False)
got = [re.sub(rb'(?m)^>(>*From )', rb'\1', box.get_bytes(k)) for k in box.keys()]
want = [open(src + '/' + n, 'rb').read() for n in names]
bad = [n for n, g, w in zip(names, got, want) if g != w]
print('%d/%d %s' % (len(got), len(want), ' '.join(bad) or 'identical'))
EOF
is "$(python3 "$T_DIR/mbox_check.py" "$T_DIR/src" "$(old_list | tr '\n' ' ')" "$T_DIR/a.mbox")" "7/7 identical" \
    "Python's mailbox.mbox reads every message byte-identical to the IMAP source ('From ' lines, 8-bit, 70 KB)"
is "$(imap $u count INBOX)" 7 "without --delete-after nothing left the mailbox"

# --- the raw file with the exported key ---------------------------------------
echo 'a long export passphrase' >"$T_DIR/pp"
expect 0 "its owner exports its archive key with a passphrase" --as $u archive key export $u -o "$T_DIR/key.asc" --passphrase-file "$T_DIR/pp"
unlike "$(cat "$T_DIR/key.asc")" 'PRIVATE KEY BLOCK' "the export is no clear key: a passphrase-encrypted message"
G=$(mktemp -d); chmod 700 "$G"
GNUPGHOME=$G gpg --batch -q --pinentry-mode loopback --passphrase-file "$T_DIR/pp" --decrypt "$T_DIR/key.asc" 2>/dev/null |
    GNUPGHOME=$G gpg --batch -q --import 2>/dev/null
GNUPGHOME=$G gpg --batch -q --decrypt "$ADIR/$id_mbox.mbox.gpg" >"$T_DIR/raw.mbox" 2>/dev/null
ok $? "gpg --decrypt opens the raw stored archive with the exported key"
cmp -s "$T_DIR/raw.mbox" "$T_DIR/a.mbox"; ok $? "... and gives the very bytes of the download"
GNUPGHOME=$G gpgconf --kill all; rm -rf "$G"
echo short >"$T_DIR/pp2"
expect 65 "a passphrase under 12 bytes is refused" --as $u archive key export $u -o "$T_DIR/k2" --passphrase-file "$T_DIR/pp2"
[ ! -e "$T_DIR/k2" ]; ok $? "... and nothing is written"

# --- a tenant zip -----------------------------------------------------------------
expect 0 "the tenant admin archives a user's mailbox as a zip (a tenant archive)" --as $ta --json archive create $u --format zip --older-than 30
id_zip=$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["archives"][0]["id"])')
is "$(sql "SELECT kind FROM ers.archive WHERE id = $id_zip")" tenant "it is a tenant archive"
expect 0 "the tenant admin downloads it" --as $ta archive download $id_zip -o "$T_DIR/a.zip"
unzip -tq "$T_DIR/a.zip" >/dev/null 2>&1; ok $? "unzip -t passes"
rm -rf "$T_DIR/unz"; mkdir "$T_DIR/unz"; (cd "$T_DIR/unz" && unzip -q "$T_DIR/a.zip")
same=0; for f in $(old_list); do cmp -s "$T_DIR/src/$f" "$T_DIR/unz/$f" || { same=1; diag "differs: $f"; }; done
ok $same "every .eml (under INBOX/ and Work/Sub/) is byte-identical to the IMAP source"
is "$(cd "$T_DIR/unz" && find . -type f | wc -l)" 7 "and only the 7 old messages are in it"

# --- who may do what, by ID -------------------------------------------------------
denied 'may not archive.view' "another user cannot see a user's archive" --as $v archive show $id_mbox
denied 'may not archive.decrypt' "another user cannot download it" --as $v archive download $id_mbox -o "$T_DIR/x"
denied 'may not archive.decrypt' "the tenant admin cannot decrypt a user's personal archive" --as $ta archive download $id_mbox -o "$T_DIR/x"
denied 'may not archive.decrypt' "nor export the user's key" --as $ta archive key export $u -o "$T_DIR/x" --passphrase-file "$T_DIR/pp"
denied 'may not archive.decrypt' "the user cannot decrypt the tenant archive of its mailbox" --as $u archive download $id_zip -o "$T_DIR/x"
denied 'may not archive.view' "another tenant's admin cannot see the tenant archive" --as $tb archive show $id_zip
denied 'may not archive.decrypt' "nor download it" --as $tb archive download $id_zip -o "$T_DIR/x"
denied 'may not archive.create' "nor archive a mailbox of another tenant" --as $tb archive create $u
denied 'may not archive.create' "a user cannot archive another user's mailbox" --as $u archive create $v
denied 'may not archive.decrypt' "another tenant's admin cannot delete it" --as $tb archive delete $id_zip --yes
[ ! -e "$T_DIR/x" ]; ok $? "no refused download wrote a file"
expect 0 "the tenant admin lists its tenant's archives" --as $ta --json archive list
is "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(sorted(a["id"] for a in json.load(sys.stdin)["archives"]))')" "[$id_mbox, $id_zip]" \
    "... the user's (not to decrypt) and the tenant's"
expect 0 "a user lists its archives" --as $u --json archive list
is "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print([a["id"] for a in json.load(sys.stdin)["archives"]])')" "[$id_mbox]" \
    "... its personal one only"
expect 0 "the other tenant's admin lists none" --as $tb --json archive list
is "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["archives"]))')" 0 "... of this tenant"

# --- bad input: a clear error, nothing written ---------------------------------------
r0=$(arows) f0=$(afiles)
refused 64 'format must be one of: mbox mbox-folders zip' "an unknown format" archive create $u --format rar
refused 65 'older-than' "a negative cutoff" archive create $u --older-than -1
refused 65 'older-than' "an absurd cutoff" archive create $u --older-than 99999999
refused 65 'holds ".."' "a folder with .." archive create $u --folder ../../etc
refused 65 'control character' "a folder with a control character" archive create $u --folder "$(printf 'IN\tBOX')"
refused 65 'unknown archive destination' "an unknown destination, meant for a shell" archive create $u --to 'sftp://h/x;$(touch /tmp/pwned)'
refused 64 'one mailbox .* or one tenant' "neither a mailbox nor a tenant" archive create
is "$(arows)/$(afiles)" "$r0/$f0" "no archive row, no file from bad input"

# --- verify, then a damaged file ------------------------------------------------------
expect 0 "verify reads the stored file back" archive verify $id_zip
# One byte flipped (not overwritten: it could already hold the new value).
python3 -c 'import sys; f = open(sys.argv[1], "r+b"); f.seek(100); b = f.read(1); f.seek(100); f.write(bytes([b[0] ^ 0x01]))' "$ADIR/$id_zip.zip.gpg"
expect 74 "a file altered by one byte fails verify (exit 74)" archive verify $id_zip
like "$ERR" 'damaged' "... naming it damaged"

# --- delete-after -------------------------------------------------------------------------
expect 0 "delete-after: INBOX only" --json archive create $u --folder INBOX --older-than 30 --delete-after
id_del=$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["archives"][0]["id"])')
is "$(sql "SELECT state || ' ' || messages || ' ' || expunged FROM ers.archive WHERE id = $id_del")" "expunged 5 5" \
    "recorded: expunged, 5 archived, 5 deleted"
is "$(imap $u count INBOX)/$(imap $u count Work/Sub)" "2/2" "exactly the archived messages left INBOX; the new ones and Work/Sub stay"
expect 0 "... and the archive downloads" archive download $id_del -o "$T_DIR/d.mbox"
is "$(python3 "$T_DIR/mbox_check.py" "$T_DIR/src" "$(old_list | grep INBOX | tr '\n' ' ')" "$T_DIR/d.mbox")" "5/5 identical" \
    "... holding those 5 messages, byte-identical"

# --- a full disk: nothing deleted, a failure recorded --------------------------------------
mkdir -p "$T_DIR/full"
if mount -t tmpfs -o size=32k tmpfs "$T_DIR/full" 2>/dev/null; then
    dd if=/dev/zero of="$T_DIR/full/fill" bs=1k count=40 2>/dev/null
    { cat "$T_DIR/ers.yaml" | sed '/^archive:/,$d'; printf 'archive:\n  directory: %s\n' "$T_DIR/full/a"; } >"$T_DIR/full.yaml"
    mkdir -p "$T_DIR/full/a" 2>/dev/null
    ERS_CONFIG=$T_DIR/full.yaml run archive create $v --older-than 30 --delete-after
    [ "$RC" -ne 0 ]; ok $? "archiving to a full disk fails (exit $RC)"
    like "$ERR" 'No space|cannot' "... saying why: $ERR"
    is "$(imap $v count INBOX)/$(imap $v count Work/Sub)" "7/2" "... and every message is still in the mailbox"
    is "$(sql "SELECT state FROM ers.archive WHERE address = '$v' ORDER BY id DESC LIMIT 1")" failed "... the job is recorded as failed"
    expect 0 "archive failures lists it for the tenant admin" --as $ta --json archive failures
    like "$OUT" "\"address\": \"$v\"" "... with its mailbox"
    is "$(ls -A "$T_DIR/full/a" | wc -l)" 0 "... and no partial file is left"
    umount "$T_DIR/full"
else
    ok 0 "# SKIP no tmpfs mount here"
fi

# --- the webmail's Archives view -------------------------------------------------------
BASE=https://127.0.0.1:$WEB_PORT
wlogin() { rm -f "$1"; web "$1" POST /login --data-urlencode "email=$2" --data-urlencode "password=archive-password-123"; }
imap $v dump "$T_DIR/srcv"
wlogin "$T_DIR/jv" $v
web "$T_DIR/jv" GET /archives
is "$CODE" 200 "webmail: the Archives view opens"
like "$BODY" 'Create archive' "... with Create archive"
like "$BODY" 'File &gt; Import Mailboxes' "... and the import guidance"
tok=$(csrf)
r0=$(arows)
web "$T_DIR/jv" POST /archives/create -d format=mbox -d older_than=30 -d destination=local
is "$CODE/$(arows)" "403/$r0" "webmail: Create archive without the CSRF token is refused, nothing made"
web "$T_DIR/jv" POST /archives/create --data-urlencode "csrf=$tok" -d format=mbox -d older_than=30 -d destination=local
is "$CODE" 303 "webmail: Create archive makes the archive"
wid=$(printf '%s\n' "$HDR" | sed -n 's/^Location: .*created=\([0-9]*\).*/\1/Ip')
is "$(sql "SELECT kind || ' ' || state FROM ers.archive WHERE id = ${wid:-0}")" "personal stored" "... a personal one, stored"
web "$T_DIR/jv" GET "/archives/download?id=$wid"
cp "$T_DIR/b" "$T_DIR/w.mbox"
like "$CODE $(printf '%s\n' "$HDR" | grep -i '^Content-Disposition')" "^200 .*archive-$wid.mbox" "webmail: Download gives the .mbox as an attachment"
srcv=$(for f in INBOX Work/Sub; do ls "$T_DIR/srcv/$f" | sort -n | sed "s|^|$f/|"; done | grep -v -e '^INBOX/6.eml' -e '^INBOX/7.eml' | tr '\n' ' ')
is "$(python3 "$T_DIR/mbox_check.py" "$T_DIR/srcv" "$srcv" "$T_DIR/w.mbox")" "7/7 identical" "... which Python's mailbox module reads, byte-identical"
wlogin "$T_DIR/ju" $u
web "$T_DIR/ju" GET "/archives/download?id=$wid"
is "$CODE" 403 "webmail: another user cannot download it, by ID in the URL"
web "$T_DIR/ju" GET "/archives/download?id=$id_zip"
is "$CODE" 403 "webmail: a user cannot download the tenant archive of its mailbox"
wlogin "$T_DIR/jt" $ta
web "$T_DIR/jt" GET "/archives/download?id=$wid"
is "$CODE" 403 "webmail: the tenant admin cannot decrypt the user's personal archive"
web "$T_DIR/jt" GET /archives
like "$BODY" 'Failures to review' "webmail: tenant admins see the failures to review"

# --- kill -9 at every step: nothing lost, `archive run` finishes the job --------------
k=kim@$dom
expect 0 "setup: a mailbox of 300 old messages" -q user add $k --quota-mb 100 --password-file "$pw"
imap $k bulk 300
# 300 messages are two batches, fetched on two IMAP connections: the archive
# still holds every one once, in UID order.
expect 0 "an archive of 302 messages (two IMAP connections)" --json archive create $k --older-than 0
id_two=$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["archives"][0]["id"])')
expect 0 "... downloads" archive download $id_two -o "$T_DIR/two.mbox"
is "$(python3 - "$T_DIR/two.mbox" <<'PY'
import mailbox, sys
subjects = [m['Subject'] for m in mailbox.mbox(sys.argv[1], create=False)]
want = ['bulk %d' % i for i in range(300)] + ['fresh 0', 'fresh 1']
print('in order' if subjects == want else 'got %d: %s' % (len(subjects), subjects[:5]))
PY
)" 'in order' "... with all 302 messages once each, in UID order"
expect 0 "cleanup: that archive deleted" archive delete $id_two --yes
imap $k uids | sort -n >"$T_DIR/k.start"
head -n 300 "$T_DIR/k.start" >"$T_DIR/k.old"
# lost: old UIDs neither in the mailbox nor in a stored archive.
lost() {
    { imap $k uids; sql "SELECT m.uid FROM ers.archive_message m JOIN ers.archive a ON a.id = m.archive_id
                         WHERE a.address = '$k' AND a.path IS NOT NULL AND a.state <> 'running'"; } | sort -n -u >"$T_DIR/k.now"
    comm -23 "$T_DIR/k.old" "$T_DIR/k.now" | wc -l
}
bad=0 states=""
for d in 0.15 0.3 0.45 0.6 0.75 0.9 1.1 1.4; do
    "$ERSCTL" archive create $k --older-than 30 --delete-after >/dev/null 2>&1 & kp=$!
    sleep $d; kill -9 $kp 2>/dev/null; wait $kp 2>/dev/null
    states="$states $(sql "SELECT state || '/' || expunged FROM ers.archive WHERE address = '$k' ORDER BY id DESC LIMIT 1")"
    l=$(lost); [ "$l" -eq 0 ] || { bad=1; diag "after ${d}s: $l messages lost"; }
done
ok $bad "kill -9 of delete-after jobs at 8 moments loses no message (states:$states)"
expect 0 "archive run recovers what the kills left" --json archive run
is "$(sql "SELECT count(*) FROM ers.archive WHERE address = '$k' AND (state = 'running' OR (state = 'stored' AND delete_after))")" 0 \
    "... no job left running, no stored delete-after archive left unexpunged"
is "$(lost)" 0 "... and still no message lost"
is "$(ls -A "$ADIR" | grep -c tmp)" 0 "... nor a temporary file left"
expect 0 "a rerun archives what is left" archive create $k --older-than 30 --delete-after
is "$(imap $k count INBOX)" 2 "... only the 2 new messages stay in the mailbox"
is "$(lost)" 0 "... and every old message is in a stored archive"

# --- policies and archive run --------------------------------------------------------------
denied 'may not archive.policy_set' "a user cannot set the tenant's policy" --as $u archive policy set --auto-archive yes
denied 'may not archive.policy_set' "a tenant admin cannot set another tenant's" --as $tb archive policy set --tenant $dom --auto-archive yes
expect 0 "the tenant admin turns auto-archive on (zip, 30 days)" --as $ta archive policy set --auto-archive yes --format zip --older-than 30
expect 0 "a user sees its tenant's policy" --as $u --json archive policy show
like "$OUT" '"auto_archive": true' "... auto-archive on"
expect 0 "archive run archives every mailbox due" --json archive run
like "$OUT" '"failed": 0' "... none failed"
due=$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["due"])')
is "$due" 4 "... the tenant's 4 mailboxes were due"
expect 0 "a second run finds nothing due (idempotent)" --json archive run
like "$OUT" '"due": 0' "... 0 due"

# --- delete -------------------------------------------------------------------------------
expect 0 "the owner deletes its archive" --as $u archive delete $id_mbox --yes
[ ! -e "$ADIR/$id_mbox.mbox.gpg" ]; ok $? "... the stored file is gone"
is "$(sql "SELECT count(*) FROM ers.archive WHERE id = $id_mbox")" 0 "... and its record"
like "$(sql "SELECT string_agg(DISTINCT action, ' ' ORDER BY action) FROM ers.audit_log WHERE action LIKE 'archive.%'")" \
    'archive.create archive.decrypt archive.delete archive.download archive.expunge archive.key_export' "every archive operation left its audit row"
unlike "$(sql "SELECT string_agg(secret_sealed, '') FROM ers.archive_key")" 'PRIVATE KEY' "archive keys are sealed in the database"

done_testing
