#!/usr/bin/env bash
# Secure backups (issue 17, manual 000 "Secure Backups"), end to end on two
# real stacks: stack A (test/run-all's, its own database "ers" that Postfix
# and Dovecot read) is filled -- a tenant, users with a password, one with
# MFA on, an alias, a forward, a DKIM key, mail in two folders -- backed up
# with its maildirs, and restored onto stack B, a second fresh stack started
# here (test/stack start, stopped in a trap).  On B: IMAP logins with the
# old password, the MFA code from the old seed (oathtool), the same DKIM
# private key rendered, every message byte-identical per folder, the audit
# log as it was, mail submitted on B DKIM-signed with the old key and
# verified against A's record.  Then the refusals that change nothing: wrong
# passphrase, flipped bytes, a cut file, a loose or empty passphrase file, a
# database in use; kill -9 during create (nothing left: no file, no GnuPG
# home, no gpg-agent); no passphrase or master key in clear.
. "$(dirname "$0")/lib.sh"
. "$ERS_STACK_DIR/stack.env"
export ERS_CONFIG=$ERS_STACK_DIR/ers.yaml
T_DB=ers
command -v oathtool >/dev/null || { echo "Bail out! oathtool is not installed (make deps)"; exit 1; }
command -v zstd >/dev/null || { echo "Bail out! zstd is not installed (make deps)"; exit 1; }

A_ENV=$ERS_STACK_DIR/stack.env
B=$T_DIR/b
# B gets its own ports, away from A's.
stop_b() { "$ERS_TOP/test/stack" stop "$B" >/dev/null 2>&1; }
# The tenant made on A goes at the end even when the test is ended early
# (test/run-all's time limit): the tests after it on this stack must not
# find its DKIM key live.
TN=
cleanup() {
    stop_b
    [ -n "$TN" ] && ERS_CONFIG=$ERS_STACK_DIR/ers.yaml "$ERSCTL" -q --yes tenant delete "$TN" >/dev/null 2>&1
}
trap cleanup EXIT
# B starts in the background while A is filled and backed up (its start is
# mostly waiting for daemons); wait_b joins it before B is first used.
ERS_PORT_BASE=$((PG_PORT + 40)) "$ERS_TOP/test/stack" start "$B" >"$T_DIR/b-start.log" 2>&1 &
B_START=$!
wait_b() {
    # A start that failed (a port taken meanwhile, daemons slow on a loaded
    # machine) is said, stopped and tried once more in the foreground.
    if ! wait "$B_START"; then
        diag "stack B did not start; once more:" "$(tail -n 5 "$T_DIR/b-start.log")"
        stop_b
        rm -rf "$B"
        ERS_PORT_BASE=$((PG_PORT + 60)) "$ERS_TOP/test/stack" start "$B" >"$T_DIR/b-start.log" 2>&1 ||
            { diag "$(tail -n 10 "$T_DIR/b-start.log")"; echo "Bail out! cannot start stack B: $(tail -n 1 "$T_DIR/b-start.log")"; exit 1; }
    fi
B_PG_PORT=$(sed -n 's/^PG_PORT=//p' "$B/stack.env")
B_IMAP_PORT=$(sed -n 's/^IMAP_PORT=//p' "$B/stack.env")
B_TLS_CA=$(sed -n 's/^TLS_CA=//p' "$B/stack.env")
}
pgb() { as_user postgres "$PGBIN/psql" -qXAt -h "$B/pg/sock" -p "$B_PG_PORT" -U postgres -d ers -v ON_ERROR_STOP=1 "$@"; }
dump_b() { pgb -c "$(data_sql)" 2>&1; }
dump_a() { pg ers -c "$(data_sql)" 2>&1; }

W=$T_DIR/webauth
cc -std=gnu17 -O2 -Wall -Wextra -Wshadow -Werror -I"$ERS_TOP/libers/include" -o "$W" \
    "$ERS_TOP/test/integration/webauth.c" -L"$ERS_TOP/build" -lers -Wl,-rpath,"$ERS_TOP/build" \
    2>"$T_DIR/cc.log" || { echo "Bail out! cannot build webauth.c: $(head -c 300 "$T_DIR/cc.log")"; exit 1; }
wa() { OUT=$("$W" "$@" 2>"$T_DIR/err" </dev/null); RC=$?; ERR=$(cat "$T_DIR/err"); }
field() { printf '%s\n' "$OUT" | sed -n "s/^$1 //p"; }

P=$T_DIR/p
mkdir -m 700 "$P"
PASS="backup-pass-$RANDOM-$RANDOM-phrase"
( umask 077; printf '%s\n' "$PASS" >"$P/pass"; printf 'not-%s\n' "$PASS" >"$P/wrong" )
printf 'bk-password-12345\n' >"$T_DIR/pw"
PW=bk-password-12345
MASTER=$(sed -n 's/^SMIME_MASTER_KEY=//p' "$ERS_STACK_DIR/secrets")

# --- fill stack A -------------------------------------------------------------------
D=bk$RANDOM.example
run server host add mail.bk.example --kind imap
run server host add mail.bk.example --kind smtp
TN=Bk$RANDOM
expect 0 "setup: tenant" tenant add "$TN" --domain "$D" --imap-host mail.bk.example --smtp-host mail.bk.example
expect 0 "setup: anna" user add "anna@$D" --password-file "$T_DIR/pw"
expect 0 "setup: bob" user add "bob@$D" --password-file "$T_DIR/pw"
expect 0 "setup: alias" alias add "info@$D" --to "anna@$D"
expect 0 "setup: a tenant admin" user add "tadmin@$D" --password-file "$T_DIR/pw" --role tenant_admin
expect 0 "setup: a super admin" user add "boss@$D" --password-file "$T_DIR/pw" --role super_admin
expect 0 "setup: forward" forward add "bob@$D" --to elsewhere@outside.example --keep-copy
expect 0 "setup: DKIM key" dkim enable "$D"
wa login "anna@$D" "$T_DIR/pw" 192.0.2.9
S=$(field session)
wa setup "$S" 192.0.2.9
SECRET=$(field secret)
wa enable "$S" 192.0.2.9 "$(oathtool --totp -b "$SECRET")"
is "$RC" 0 "setup: anna turns MFA on"

imap() { # PORT CA USER PASSWORD PATH COMMAND
    curl -s --max-time 10 --ssl-reqd --cacert "$2" --user "$3:$4" "imap://127.0.0.1:$1/$5" -X "$6" | tr -d '\r'
}
count() { # PORT CA USER FOLDER: messages in the folder, or login-failed
    local out
    out=$(imap "$1" "$2" "$3" "$PW" "$4" "SEARCH ALL") || { echo login-failed; return; }
    out=${out#\* SEARCH}; set -- $out; echo $#
}
for i in 1 2 3; do
    swaks --server "127.0.0.1:$SMTP_PORT" --from sender@outside.example --to "anna@$D" --helo client.example.org \
        --header "Subject: backup test $i" --body "body $i $(head -c 300 /dev/urandom | base64 -w0)" >/dev/null 2>&1
done
swaks --server "127.0.0.1:$SMTP_PORT" --from sender@outside.example --to "info@$D" --helo client.example.org \
    --header "Subject: backup test alias" --body "to the alias" >/dev/null 2>&1
for i in $(seq 1 100); do [ "$(count "$IMAP_PORT" "$TLS_CA" "anna@$D" INBOX)" = 4 ] && break; sleep 0.1; done
is "$(count "$IMAP_PORT" "$TLS_CA" "anna@$D" INBOX)" 4 "setup: anna has 4 messages on A"
imap "$IMAP_PORT" "$TLS_CA" "anna@$D" "$PW" "" "CREATE Archive" >/dev/null
imap "$IMAP_PORT" "$TLS_CA" "anna@$D" "$PW" INBOX "COPY 1:2 Archive" >/dev/null
is "$(count "$IMAP_PORT" "$TLS_CA" "anna@$D" Archive)" 2 "setup: 2 of them copied into folder Archive"

TID=$(sql "SELECT id FROM ers.tenant WHERE id = (SELECT tenant_id FROM ers.domain WHERE name = '$D')")
# Every message file of the tenant, by folder and content (names change
# with flags and new/ -> cur/; contents never do).
messages() { # MAIL_ROOT
    (cd "$1/$TID" && find . -type f \( -path '*/cur/*' -o -path '*/new/*' \) -print0 | sort -z |
        xargs -0 -r sha256sum | awk '{ p = $2; sub(/\/(cur|new)\/[^\/]*$/, "", p); print p, $1 }' | sort)
}
MSG_A=$(messages "$MAIL_ROOT")
is "$(printf '%s\n' "$MSG_A" | grep -c .)" 6 "setup: 6 message files on A (4 in INBOX, 2 in Archive)"
mkdir -p "$T_DIR/dkim-a" "$T_DIR/dkim-b"
"$ERSCTL" -q mailstack render --opendkim "$T_DIR/dkim-a" >/dev/null
AUDIT_MAX=$(sql "SELECT max(id) FROM ers.audit_log")
# The DKIM record A publishes, as "NAME VALUE" for the verifier below.
run --json dkim show "$D"
printf '%s' "$OUT" | perl -MJSON::PP -e 'print "$_->{txt_name} $_->{txt_value}\n" for @{decode_json(join "", <STDIN>)->{keys}}' \
    >"$T_DIR/records-a"
# The tenant's rows and everyone else's, for --tenant below.
tenant_rows() { sql "SELECT string_agg(x, E'\n' ORDER BY x) FROM (
    SELECT 'tenant ' || t::text x FROM ers.tenant t WHERE id $1
    UNION ALL SELECT 'domain ' || d::text FROM ers.domain d WHERE tenant_id $1
    UNION ALL SELECT 'claim ' || c::text FROM ers.address_claim c WHERE tenant_id $1
    UNION ALL SELECT 'mailbox ' || m::text FROM ers.mailbox m WHERE tenant_id $1
    UNION ALL SELECT 'alias ' || a::text FROM ers.alias a WHERE tenant_id $1
    UNION ALL SELECT 'forward ' || f::text FROM ers.forward f WHERE tenant_id $1
    UNION ALL SELECT 'dkim ' || k::text FROM ers.dkim_key k JOIN ers.domain d ON d.id = k.domain_id WHERE d.tenant_id $1) s"; }
ROWS_T=$(tenant_rows "= $TID")
AUDIT_A=$(sql "SELECT concat_ws('|', id, at, actor, via, action, target, tenant_id, tenant_name, outcome, detail) FROM ers.audit_log ORDER BY id")

# --- create ----------------------------------------------------------------------------
OUTD=$T_DIR/backups
mkdir -m 700 "$OUTD"
# ps during the run: nothing may show the passphrase or the master key.
( while :; do ps -eo args >>"$T_DIR/ps.log" 2>/dev/null; sleep 0.05; done ) &
PS_PID=$!
expect 0 "backup create --include-maildirs" backup create --include-maildirs --passphrase-file "$P/pass" -o "$OUTD" \
    --path "$ERS_STACK_DIR/postfix/etc" --path "$ERS_STACK_DIR/dovecot/etc" --path "$ERS_STACK_DIR/opendkim/etc"
kill "$PS_PID"; wait "$PS_PID" 2>/dev/null
F=$(printf '%s\n' "$OUT" | head -n 1)
like "$F" "^$OUTD/ers-backup-.*-[0-9]{8}T[0-9]{6}Z\.tar\.zst\.gpg$" "it prints the file's name: ers-backup-HOST-TIME.tar.zst.gpg"
is "$(stat -c %a "$F")" 600 "the file is mode 0600"
is "$(ls -A "$OUTD" | grep -c '\.part$')" 0 "no temporary file is left"
is "$(sql "SELECT concat_ws('|', action, target, outcome) FROM ers.audit_log ORDER BY id DESC LIMIT 1")" "backup.create|$F|ok" \
    "audited: backup.create with the file's name"

# gpg alone opens it, with the passphrase only.
G=$T_DIR/gnupg; mkdir -m 700 "$G"
gpg_d() { gpg --homedir "$G" --batch -q --pinentry-mode loopback --passphrase-file "$1" --decrypt "$2"; }
gpg_d "$P/pass" "$F" 2>"$T_DIR/gpg.err" | zstd -dc | tar -tf - >"$T_DIR/list" 2>>"$T_DIR/gpg.err"
is "$(head -n 1 "$T_DIR/list")|$(tail -n 1 "$T_DIR/list")" "ers-backup/HEADER|ers-backup/MANIFEST" \
    "gpg --decrypt | zstd -d | tar t: the header first, the manifest last"
like "$(grep -c '^db/ers.dump.0' "$T_DIR/list")" '^[1-9]' "... the database dump"
like "$(grep -E '^(config/ers.yaml|secrets/secrets)$' "$T_DIR/list" | tr '\n' ' ')" 'config/ers.yaml secrets/secrets' "... ers.yaml and the secrets"
like "$(grep -c "^maildirs/$TID/" "$T_DIR/list")" '^[1-9]' "... the maildirs"
like "$(grep -c "^files$ERS_STACK_DIR/dovecot/etc/" "$T_DIR/list")" '^[1-9]' "... the mail-stack configuration"
like "$(gpg --homedir "$G" --batch --pinentry-mode loopback --passphrase-file "$P/pass" --list-packets "$F" 2>&1 | head -n 5)" \
    'cipher 9' "OpenPGP symmetric with AES-256 (cipher 9)"
gpgconf --homedir "$G" --kill gpg-agent 2>/dev/null

# Operators and super admins only.
a0=$(sql "SELECT max(id) FROM ers.audit_log")
expect 77 "a tenant admin may not back up (--as)" backup create --as "tadmin@$D" --passphrase-file "$P/pass" -o "$OUTD"
is "$(sql "SELECT concat_ws('|', action, outcome) FROM ers.audit_log WHERE id > $a0")" "backup|denied" "... one 'denied' audit row"
expect 0 "a super admin may (--as)" backup create --as "boss@$D" --passphrase-file "$P/pass" -o "$T_DIR/by-boss.gpg"
is "$(sql "SELECT concat_ws('|', actor, via, action) FROM ers.audit_log ORDER BY id DESC LIMIT 1")" "boss@$D|operator:root|backup.create" \
    "... audited with both names"
rm -f "$T_DIR/by-boss.gpg"

# --- verify and list --------------------------------------------------------------------
expect 0 "backup verify" backup verify "$F" --passphrase-file "$P/pass"
like "$OUT" "ok" "... says ok"
ERS_BACKUP_PASSPHRASE_FILE=$P/pass run backup verify "$F"
is "$RC" 0 "ERS_BACKUP_PASSPHRASE_FILE names the passphrase file"
expect 0 "backup list" backup list "$OUTD" --json
like "$OUT" "\"file\": \"$F\"" "... lists it"

# Retention: three more backups into the directory with --keep 2 (the full
# backup, copied aside, serves the rest of the test).
cp -p "$F" "$T_DIR/full.gpg"
for i in 1 2 3; do
    run backup create --passphrase-file "$P/pass" -o "$OUTD" --keep 2
    [ "$RC" -eq 0 ] || diag "create --keep: $ERR"
    LAST=$(printf '%s\n' "$OUT" | head -n 1)
done
is "$(ls "$OUTD" | grep -c '\.gpg$')" 2 "--keep 2: two backups stay"
[ -e "$LAST" ] && [ ! -e "$F" ]; ok $? "... the newest, not the oldest (two of the same second get -2, -3)"
expect 64 "--keep with -o FILE: refused" backup create --passphrase-file "$P/pass" -o "$T_DIR/one.gpg" --keep 2
rm -f "$OUTD"/*.gpg
F=$T_DIR/full.gpg

# --- refusals that change nothing (on B, which is empty) -----------------------------
wait_b
B_BEFORE=$(dump_b)
B_SECRETS=$(sha256sum <"$B/secrets")
export ERS_CONFIG=$B/ers.yaml
unchanged() { # DESCRIPTION: B's database and secrets as before
    [ "$(dump_b)" = "$B_BEFORE" ] && [ "$(sha256sum <"$B/secrets")" = "$B_SECRETS" ] && [ ! -e "$T_DIR/b-files" ]
    ok $? "$1"
}
expect 65 "restore with a wrong passphrase: refused (65)" backup restore "$F" --passphrase-file "$P/wrong" --files-to "$T_DIR/b-files"
like "$ERR" "wrong passphrase" "... says so"
unchanged "... nothing changed on B"
expect 65 "verify with a wrong passphrase: refused" backup verify "$F" --passphrase-file "$P/wrong"
SIZE=$(stat -c %s "$F")
bad=0
# Four positions: each refusal costs a whole decryption attempt.
for pos in 0 200 $((SIZE / 2)) $((SIZE - 1)); do
    cp "$F" "$T_DIR/flipped.gpg"
    b=$(od -An -tu1 -j "$pos" -N1 "$F" | tr -d ' ')
    printf "\\$(printf '%03o' $(( b ^ 0x20 )))" | dd of="$T_DIR/flipped.gpg" bs=1 seek="$pos" conv=notrunc 2>/dev/null
    run backup restore "$T_DIR/flipped.gpg" --passphrase-file "$P/pass" --files-to "$T_DIR/b-files"
    [ "$RC" -eq 65 ] || { bad=1; diag "byte $pos flipped: exit $RC: $ERR"; }
done
ok $bad "a byte flipped at 4 positions (first, header, middle, last): restore refused (65) each time"
unchanged "... nothing changed on B"
head -c $((SIZE * 2 / 3)) "$F" >"$T_DIR/cut.gpg"
expect 65 "a truncated file: refused (65)" backup restore "$T_DIR/cut.gpg" --passphrase-file "$P/pass" --files-to "$T_DIR/b-files"
unchanged "... nothing changed on B"
cp "$P/pass" "$T_DIR/loose"; chmod 644 "$T_DIR/loose"
expect 65 "a world-readable passphrase file: refused" backup restore "$F" --passphrase-file "$T_DIR/loose"
like "$ERR" "owner only" "... saying who may read it"
: >"$T_DIR/empty"; chmod 600 "$T_DIR/empty"
expect 65 "an empty passphrase file: refused" backup create --passphrase-file "$T_DIR/empty" -o "$OUTD"
like "$ERR" "empty" "... saying it is empty"
chmod 640 "$T_DIR/loose"
expect 65 "a group-readable passphrase file: refused by create too" backup create --passphrase-file "$T_DIR/loose" -o "$OUTD"
is "$(ls -A "$OUTD" | wc -l)" 0 "... no backup written"
expect 73 "restore onto B without --force: refused, B's secrets file differs" backup restore "$F" --passphrase-file "$P/pass" --files-to "$T_DIR/b-files"
like "$ERR" "$B/secrets exists and differs" "... naming it"
unchanged "... nothing changed on B"
export ERS_CONFIG=$ERS_STACK_DIR/ers.yaml
A_BEFORE=$(dump_a)
expect 73 "restore onto A (tenants and users) without --force: refused" backup restore "$F" --passphrase-file "$P/pass"
like "$ERR" "holds tenants or users" "... saying why"
is "$(dump_a)" "$A_BEFORE" "... nothing changed on A"

# --- restore onto B ------------------------------------------------------------------------
export ERS_CONFIG=$B/ers.yaml
expect 0 "restore onto B --force (its own secrets file is replaced)" backup restore "$F" --passphrase-file "$P/pass" \
    --files-to "$T_DIR/b-files" --force
like "$OUT" "forced over: +$B/secrets" "... says what it replaced"
like "$OUT" "next: " "... and what to start"
is "$(sed -n 's/^SMIME_MASTER_KEY=//p' "$B/secrets")" "$MASTER" "B has A's master key"
is "$(stat -c %a "$B/secrets")" 600 "... in a file of mode 0600"
cmp -s "$ERS_STACK_DIR/ers.yaml" "$T_DIR/b-files$ERS_STACK_DIR/ers.yaml"
ok $? "A's ers.yaml is under --files-to"
diff -r "$ERS_STACK_DIR/dovecot/etc" "$T_DIR/b-files$ERS_STACK_DIR/dovecot/etc" >/dev/null
ok $? "A's Dovecot configuration too, identical"
MSG_B=$(messages "$(sed -n 's/^MAIL_ROOT=//p' "$B/stack.env")")
is "$MSG_B" "$MSG_A" "every message byte-identical, per folder"
is "$(stat -c %u "$(sed -n 's/^MAIL_ROOT=//p' "$B/stack.env")/$TID")" 5000 "... owned by the mail user"
is "$(pgb -c "SELECT concat_ws('|', id, at, actor, via, action, target, tenant_id, tenant_name, outcome, detail) FROM ers.audit_log WHERE id <= $AUDIT_MAX ORDER BY id")" \
    "$AUDIT_A" "the audit log up to the backup is intact"
is "$(pgb -c "SELECT concat_ws('|', action, target, outcome) FROM ers.audit_log ORDER BY id DESC LIMIT 1")" "backup.restore|$F|ok" \
    "the restore is audited"
is "$(count "$B_IMAP_PORT" "$B_TLS_CA" "anna@$D" INBOX)" 4 "on B anna logs in to IMAP with her old password: 4 messages"
is "$(count "$B_IMAP_PORT" "$B_TLS_CA" "anna@$D" Archive)" 2 "... and 2 in Archive"
is "$(count "$B_IMAP_PORT" "$B_TLS_CA" "bob@$D" INBOX)" 0 "bob logs in too"
wa login "anna@$D" "$T_DIR/pw" 192.0.2.10
like "$OUT" "^pending " "on B anna's login asks for her MFA code"
# The step after the one used on A (the replayed step itself is refused
# on B as it would be on A: the last step used came back with the rows).
wa code "$(field pending)" "$(oathtool --totp -b -N "@$(( $(date +%s) + 30 ))" "$SECRET")" 192.0.2.10
like "$OUT" "^session " "... and a code from the old seed (oathtool) is accepted"
"$ERSCTL" -q mailstack render --opendkim "$T_DIR/dkim-b" >"$T_DIR/render.log" 2>&1
# The private keys (the other files name their directory and ers.yaml).
dkim_files() { (cd "$1/keys" && for f in $(find . -type f | sort); do echo "$f"; cat "$f"; done); }
[ "$(dkim_files "$T_DIR/dkim-a")" = "$(dkim_files "$T_DIR/dkim-b")" ] && grep -q "PRIVATE KEY" "$T_DIR/dkim-b/keys/$D".*.private
ok $? "DKIM: B renders the same signing keys (unsealed with the restored master key)" ||
    diag "$(diff <(dkim_files "$T_DIR/dkim-a") <(dkim_files "$T_DIR/dkim-b") | head -n 8)" "$(cat "$T_DIR/render.log")"
expect 0 "alias survives" alias list
like "$OUT" "info@$D" "... info@ is there"

# --- a backup of a newer schema ----------------------------------------------------------
# The same backup with schema 9999 in its header and manifest, encrypted again.
gpg_d "$P/pass" "$F" 2>/dev/null | zstd -dc >"$T_DIR/plain.tar"
python3 - "$T_DIR/plain.tar" "$T_DIR/newer.tar" <<'PY'
import hashlib, io, json, sys, tarfile
src, dst = tarfile.open(sys.argv[1]), tarfile.open(sys.argv[2], 'w', format=tarfile.PAX_FORMAT)
for m in src.getmembers():
    data = src.extractfile(m).read() if m.isfile() else None
    if m.name in ('ers-backup/HEADER', 'ers-backup/MANIFEST'):
        j = json.loads(data); j['schema_version'] = 9999
        if m.name == 'ers-backup/MANIFEST':
            j['members'][0]['sha256'] = hashlib.sha256(head).hexdigest(); j['members'][0]['size'] = len(head)
        data = json.dumps(j).encode()
        if m.name == 'ers-backup/HEADER': head = data
        m.size = len(data)
    dst.addfile(m, io.BytesIO(data) if data is not None else None)
dst.close()
PY
zstd -q -c "$T_DIR/newer.tar" | gpg --homedir "$G" --batch -q --pinentry-mode loopback --passphrase-file "$P/pass" \
    --symmetric --cipher-algo AES256 --compress-algo none -o "$T_DIR/newer.gpg" 2>/dev/null
gpgconf --homedir "$G" --kill gpg-agent 2>/dev/null
rm -f "$T_DIR/plain.tar" "$T_DIR/newer.tar"
export ERS_CONFIG=$B/ers.yaml
B_NOW=$(dump_b)
expect 65 "a backup of a newer schema than this ersctl: refused" backup restore "$T_DIR/newer.gpg" --passphrase-file "$P/pass" \
    --files-to "$T_DIR/b-files2" --force
like "$ERR" "schema 9999" "... naming the schema"
[ "$(dump_b)" = "$B_NOW" ] && [ ! -e "$T_DIR/b-files2" ]; ok $? "... nothing changed on B"


# --- kill -9 during restore, then a rerun ------------------------------------------------
"$ERSCTL" backup restore "$F" --passphrase-file "$P/pass" --files-to "$T_DIR/b-files" --force >/dev/null 2>&1 &
KP=$!
# Killed once it is applying: pg_restore is running (polled, not slept).
for i in $(seq 1 200); do pgrep -P "$KP" -x pg_restore >/dev/null && break; sleep 0.02; done
kill -9 "$KP" 2>/dev/null; wait "$KP" 2>/dev/null
expect 0 "after kill -9 during a restore, a rerun (--force) succeeds" backup restore "$F" --passphrase-file "$P/pass" \
    --files-to "$T_DIR/b-files" --force
is "$(messages "$(sed -n 's/^MAIL_ROOT=//p' "$B/stack.env")")" "$MSG_A" "... every message as in the backup"
is "$(count "$B_IMAP_PORT" "$B_TLS_CA" "anna@$D" INBOX)" 4 "... and anna reads her INBOX"

# (After the message checks on B.)  Mail submitted on B is signed with the old key and verifies against A's
# published record (Perl's Mail::DKIM, its DNS answered from that record).
"$ERS_TOP/test/stack" reload-dkim "$B" >/dev/null 2>&1
B_SUBMISSION_PORT=$(sed -n 's/^SUBMISSION_PORT=//p' "$B/stack.env")
swaks --server "127.0.0.1:$B_SUBMISSION_PORT" --tls --from "anna@$D" --to "anna@$D" --auth PLAIN --auth-user "anna@$D" \
    --auth-password "$PW" --helo client.example.org --header "Subject: signed on B" --body "after the restore" \
    --timeout 20 >"$T_DIR/swaks-b.out" 2>&1
ok $? "on B anna submits a message with her old password" || diag "$(tail -n 5 "$T_DIR/swaks-b.out")"
signed= md=$(sed -n 's/^MAIL_ROOT=//p' "$B/stack.env")/$(pgb -c "SELECT mail_path FROM ers_mail.mailboxes WHERE address = 'anna@$D'")/Maildir
for i in $(seq 1 100); do
    signed=$(grep -lsF "Subject: signed on B" "$md"/new/* "$md"/cur/* 2>/dev/null | head -n 1)
    [ -n "$signed" ] && break; sleep 0.1
done
cat >"$T_DIR/verify.pl" <<'PERL'
use strict; use warnings; use Mail::DKIM::Verifier; use Net::DNS;
my ($records, $msgfile) = @ARGV; my %txt;
open my $r, '<', $records or die "$records: $!";
while (<$r>) { chomp; my ($n, $v) = split / /, $_, 2; $txt{lc $n} = $v; }
{ no warnings 'redefine';
  *Mail::DKIM::DNS::query = sub { my ($name, $type) = @_; my $v = $txt{lc $name};
      if (!defined $v || $type ne 'TXT') { $@ = 'NXDOMAIN'; return; } $@ = 'NOERROR';
      return Net::DNS::RR->new(name => $name, type => 'TXT', txtdata => [unpack('(a255)*', $v)]); }; }
my $dkim = Mail::DKIM::Verifier->new; open my $m, '<', $msgfile or die "$msgfile: $!";
while (<$m>) { s/\r?\n\z//; $dkim->PRINT("$_\015\012"); } $dkim->CLOSE;
my @sigs = $dkim->signatures; print "none\n" unless @sigs;
print join(' ', $_->result, 'd=' . $_->domain, 's=' . $_->selector), "\n" for @sigs;
PERL
like "$([ -n "$signed" ] && perl "$T_DIR/verify.pl" "$T_DIR/records-a" "$signed" 2>&1)" "^pass d=$D s=default" \
    "... it is DKIM-signed with the old key and verifies (Mail::DKIM) against the record A published"

# --- kill -9 during create -----------------------------------------------------------------
export ERS_CONFIG=$ERS_STACK_DIR/ers.yaml
KD=$T_DIR/killed; mkdir -m 700 "$KD"
head -c 64000000 /dev/urandom >"$T_DIR/big"
# Its GnuPG home goes under a TMPDIR of its own (short: the agent's socket
# path must fit), to see that nothing of it survives.
# ersctl takes a TMPDIR of at most 40 characters, so this one is not under
# the stack's folder (a lane's path is longer); it is removed at the end.
KG=$(mktemp -d /tmp/ers-kg.XXXXXX)
TMPDIR=$KG "$ERSCTL" backup create --passphrase-file "$P/pass" -o "$KD" --path "$T_DIR/big" >/dev/null 2>&1 &
KP=$!
# Killed once its temporary file has grown past 1 MB: well into the dump or the files.
for i in $(seq 1 3000); do
    [ "$(find "$KD" -name '*.part' -size +1M | wc -l)" -gt 0 ] && break; sleep 0.01
done
agents() { pgrep -f -- "gpg-agent --homedir $KG/" | wc -l; }
is "$(ls "$KG" | grep -c '^ers-backup-gpg\.')|$(agents)" "1|1" "setup: before the kill, its GnuPG home and agent are there"
kill -9 "$KP"; wait "$KP" 2>/dev/null
# Its guard process cleans up once it sees it gone: polled.
for i in $(seq 1 100); do [ -z "$(ls -A "$KD" "$KG" | grep -v ':$')" ] && [ "$(agents)" = 0 ] && break; sleep 0.05; done
is "$(ls -A "$KD" | wc -l)" 0 "kill -9 during create: no file under a backup's name, and its temporary file is removed"
is "$(ls -A "$KG" | wc -l)|$(agents)" "0|0" "... no GnuPG home and no gpg-agent left behind"
rm -rf "$KG"
rm -f "$T_DIR/big"

# --- one tenant back into the running system (--tenant) ----------------------------
export ERS_CONFIG=$ERS_STACK_DIR/ers.yaml
ROWS_OTHERS=$(tenant_rows "<> $TID")
expect 0 "setup: the tenant is deleted on A, mail and all" --yes tenant delete "$TN"
[ ! -e "$MAIL_ROOT/$TID" ]; ok $? "... its mail is gone"
n=$(count "$IMAP_PORT" "$TLS_CA" "anna@$D" INBOX)
[ "$n" != 4 ]; ok $? "... anna has no mail there ($n)"
expect 66 "restore --tenant of a name the backup does not hold: refused" backup restore "$F" --passphrase-file "$P/pass" --tenant "No$TN"
expect 0 "backup restore --tenant brings it back" backup restore "$F" --passphrase-file "$P/pass" --tenant "$TN"
like "$OUT" "restored tenant $TN" "... says so"
is "$(tenant_rows "= $TID")" "$ROWS_T" "its rows are as they were (users, password hashes, MFA seeds, aliases, forward, DKIM key)"
is "$(tenant_rows "<> $TID")" "$ROWS_OTHERS" "the other tenants are untouched"
is "$(messages "$MAIL_ROOT")" "$MSG_A" "its mail is back, byte-identical per folder"
is "$(count "$IMAP_PORT" "$TLS_CA" "anna@$D" INBOX)" 4 "anna logs in with her password and reads her INBOX"
is "$(count "$IMAP_PORT" "$TLS_CA" "anna@$D" Archive)" 2 "... and Archive"
is "$(sql "SELECT concat_ws('|', action, target, outcome) FROM ers.audit_log ORDER BY id DESC LIMIT 1")" "backup.restore_tenant|$TN|ok" \
    "audited"
ROWS_NOW=$(tenant_rows "IS NOT NULL")
expect 73 "restore --tenant again: refused, it exists" backup restore "$F" --passphrase-file "$P/pass" --tenant "$TN"
is "$(tenant_rows "IS NOT NULL")" "$ROWS_NOW" "... nothing changed"

# --- make install with ERS_BACKUP_BEFORE_DEPLOY=true ------------------------------------
export ERS_CONFIG=$ERS_STACK_DIR/ers.yaml
PFX=$T_DIR/prefix
ERS_BACKUP_BEFORE_DEPLOY=true ERS_BACKUP_DIR=$T_DIR/deploy ERS_BACKUP_PASSPHRASE_FILE=$T_DIR/empty \
    make -s -C "$ERS_TOP" install PREFIX="$PFX" >"$T_DIR/install.log" 2>&1
rc=$?
[ "$rc" -ne 0 ] && [ ! -e "$PFX/bin/ersctl" ] && grep -q "the backup failed; nothing was installed" "$T_DIR/install.log"
ok $? "ERS_BACKUP_BEFORE_DEPLOY=true: a failing backup stops make install, nothing installed" || diag "$(tail -n 5 "$T_DIR/install.log")"
ERS_BACKUP_BEFORE_DEPLOY=true ERS_BACKUP_DIR=$T_DIR/deploy ERS_BACKUP_PASSPHRASE_FILE=$P/pass \
    make -s -C "$ERS_TOP" install PREFIX="$PFX" >"$T_DIR/install.log" 2>&1
rc=$?
[ "$rc" -eq 0 ] && [ -x "$PFX/bin/ersctl" ] && [ "$(ls "$T_DIR/deploy" | grep -c '^ers-backup-.*\.tar\.zst\.gpg$')" -eq 1 ]
ok $? "... and with a good one it backs up, then installs" || diag "$(tail -n 5 "$T_DIR/install.log")"
rm -rf "$PFX" "$T_DIR/deploy"

# --- no secret in clear --------------------------------------------------------------------
leak=0
for f in "$T_DIR/ps.log" "$ERS_STACK_DIR"/pg/postgres.log "$B"/pg/postgres.log "$F"; do
    grep -aqF -- "$PASS" "$f" && { leak=1; diag "the passphrase is in $f"; }
    [ "$f" = "$T_DIR/ps.log" ] && grep -aqF -- "$MASTER" "$f" && { leak=1; diag "the master key is in ps output"; }
done
grep -aqF -- "$MASTER" "$F" && { leak=1; diag "the master key is in clear in the backup"; }
for db in a b; do
    rows=$([ $db = a ] && sql "SELECT count(*) FROM ers.audit_log WHERE concat_ws(' ', target, detail) LIKE '%$PASS%'" \
           || pgb -c "SELECT count(*) FROM ers.audit_log WHERE concat_ws(' ', target, detail) LIKE '%$PASS%'")
    [ "$rows" = 0 ] || { leak=1; diag "the passphrase is in $db's audit log"; }
done
ls /tmp/ers-backup-stderr.* >/dev/null 2>&1 && { leak=1; diag "a stderr spool was left"; }
ok $leak "no passphrase or master key in ps output, logs, audit rows or the backup file"
like "$(wc -l <"$T_DIR/ps.log")" '^[1-9]' "... (ps was sampled during create)"

# The stack is shared with the tests that follow (dkim.sh counts the active
# keys of every domain): the tenant goes, with its DKIM key.
export ERS_CONFIG=$ERS_STACK_DIR/ers.yaml
expect 0 "cleanup: the tenant is deleted on A" --yes tenant delete "$TN" && TN=
done_testing
