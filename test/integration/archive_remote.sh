#!/usr/bin/env bash
# Remote archive destinations (issue 16): archives uploaded with libcurl to
# a real SFTP server -- OpenSSH's internal-sftp, a private sshd started here
# on a loopback port with its own configuration and host key -- and to a
# real WebDAV server over HTTPS (a private lighttpd with mod_webdav), read
# back and their SHA-256 compared.  Wrong credentials, a destination that is
# down and one that gives back other bytes delete nothing, and the failure
# is recorded for the tenant admin.  Credentials are sealed, never shown.
. "$(dirname "$0")/lib.sh"
. "$ERS_STACK_DIR/stack.env"
T_DB=ers
ADIR=$T_DIR/archives
{ sed '/^archive:/,$d' "$ERS_STACK_DIR/ers.yaml"; printf 'dns:\n  ca_file: %s\narchive:\n  directory: %s\n' "$TLS_CA" "$ADIR"; } >"$T_DIR/ers.yaml"
export ERS_CONFIG=$T_DIR/ers.yaml
export TMPDIR=$ERS_STACK_DIR/gpg-remote
mkdir -p "$TMPDIR"
master=$(sed -n 's/^WEBMAIL_MASTER_PASSWORD=//p' "$ERS_STACK_DIR/secrets")
pids=()
finish() {
    local p h
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for h in "$TMPDIR"/ers-gpg.*; do [ -d "$h" ] && gpgconf --homedir "$h" --kill all 2>/dev/null; done
    rm -rf "$TMPDIR"
}
trap finish EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { local i; for i in $(seq 100); do ss -ltn "sport = :$1" | grep -q LISTEN && return 0; sleep 0.1; done; return 1; }

# --- a private sshd: internal-sftp only, key login only -----------------------------
S=$T_DIR/ssh; mkdir -p "$S/files" && chmod 700 "$S"
ssh-keygen -q -t ed25519 -N '' -f "$S/host" && ssh-keygen -q -t ed25519 -N '' -f "$S/client" && cp "$S/client.pub" "$S/authorized_keys"
sftp_port=$(free_port)
cat >"$S/sshd_config" <<EOF
Port $sftp_port
ListenAddress 127.0.0.1
HostKey $S/host
PidFile $S/sshd.pid
AuthorizedKeysFile $S/authorized_keys
AllowUsers root
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
Subsystem sftp internal-sftp
ForceCommand internal-sftp
EOF
mkdir -p /run/sshd
/usr/sbin/sshd -f "$S/sshd_config" -E "$S/log"
wait_port "$sftp_port"; ok $? "setup: a private sshd (internal-sftp) listens on 127.0.0.1:$sftp_port"
pids+=("$(cat "$S/sshd.pid")")
host_key=$(ssh-keygen -lf "$S/host.pub" | awk '{print $2}')

# --- a private lighttpd with WebDAV over HTTPS ------------------------------------------
D=$T_DIR/dav; mkdir -p "$D/root/dav" "$D/root/bad" "$D/tmp"
printf 'archiver:dav-password-123\n' >"$D/users"
head -c 1000 /dev/urandom >"$D/root/tampered.bin"
dav_port=$(free_port)
cat >"$D/lighttpd.conf" <<EOF
server.modules = ("mod_openssl", "mod_rewrite", "mod_auth", "mod_authn_file", "mod_webdav")
server.bind = "127.0.0.1"
server.port = $dav_port
server.document-root = "$D/root"
server.pid-file = "$D/lighttpd.pid"
server.errorlog = "$D/error.log"
server.upload-dirs = ("$D/tmp")
ssl.engine = "enable"
ssl.pemfile = "$ERS_STACK_DIR/tls/server.pem"
ssl.privkey = "$ERS_STACK_DIR/tls/server.key"
auth.backend = "plain"
auth.backend.plain.userfile = "$D/users"
auth.require = ("/" => ("method" => "basic", "realm" => "ers", "require" => "valid-user"))
webdav.activate = "enable"
# /bad/ keeps what is put there but gives other bytes back: a damaged destination
\$HTTP["request-method"] == "GET" { url.rewrite-once = ("^/bad/.*" => "/tampered.bin") }
EOF
lighttpd -f "$D/lighttpd.conf" 2>"$D/start.log"
wait_port "$dav_port"; ok $? "setup: a private lighttpd with mod_webdav listens on https://127.0.0.1:$dav_port"
pids+=("$(cat "$D/lighttpd.pid")")

# --- a tenant and old mail ----------------------------------------------------------------
n=$RANDOM
dom=rm$n.test host=rem$n.ers.test u=ann@$dom ta=boss@$dom
pw=$T_DIR/pw; echo 'archive-password-123' >"$pw"
run -q server host add $host --kind imap --port 143 --tls starttls
run -q server host add $host --kind smtp --port 587
expect 0 "setup: tenant" -q tenant add "Remote Co $n" --domain $dom --imap-host $host --imap-port 143 --smtp-host $host
run -q user add $u --quota-mb 100 --password-file "$pw"
run -q user add $ta --role tenant_admin --quota-mb 100 --password-file "$pw"
cat >"$T_DIR/imap.py" <<'EOF'
import imaplib, os, ssl, sys, time
M = imaplib.IMAP4('127.0.0.1', int(os.environ['IMAP_PORT'])); M.starttls(ssl_context=ssl.create_default_context(cafile=os.environ['TLS_CA']))
M.login(sys.argv[1] + '*ers-webmail', os.environ['MASTER'])
if sys.argv[2] == 'fill':
    old = imaplib.Time2Internaldate(time.time() - 90 * 86400)
    for i in range(int(sys.argv[3])):
        M.append('INBOX', None, old, b"Subject: old %d\r\n\r\nFrom the archive test\r\n" % i)
typ, d = M.select('INBOX', readonly=True)
print(int(d[0]))
M.logout()
EOF
imap() { IMAP_PORT=$IMAP_PORT MASTER=$master TLS_CA=$TLS_CA python3 "$T_DIR/imap.py" "$@"; }
is "$(imap $u fill 3)" 3 "setup: 3 old messages"
json_id() { printf '%s' "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["archives"][0]["id"])'; }

# --- destinations: added by the tenant admin, credentials sealed ------------------------------
printf 'dav-password-123\n' >"$T_DIR/davpw"; printf 'not-the-password\n' >"$T_DIR/wrongpw"
expect 0 "the tenant admin adds an SFTP destination (SSH key, host key pinned)" --as $ta archive destination add vault \
    --url "sftp://127.0.0.1:$sftp_port$S/files/" --user root --key-file "$S/client" --host-key "$host_key"
expect 0 "... and a WebDAV one (password)" --as $ta archive destination add dav --url "https://127.0.0.1:$dav_port/dav/" \
    --user archiver --password-file "$T_DIR/davpw"
run --as $ta archive destination add wrongpw --url "https://127.0.0.1:$dav_port/dav/" --user archiver --password-file "$T_DIR/wrongpw"
run --as $ta archive destination add damaged --url "https://127.0.0.1:$dav_port/bad/" --user archiver --password-file "$T_DIR/davpw"
run --as $ta archive destination add down --url "sftp://127.0.0.1:$(free_port)/x/" --user root --key-file "$S/client" --host-key "$host_key"
expect 0 "the destinations are listed" --as $ta --json archive destination list
like "$OUT" '"name": "vault"' "... by name"
unlike "$OUT$(sql "SELECT string_agg(secret_sealed, '') FROM ers.archive_destination")" 'dav-password-123|PRIVATE KEY' \
    "... neither the listing nor the database holds a password or key in clear"
expect 77 "a user may not add destinations" --as $u archive destination add mine --url "https://127.0.0.1:$dav_port/dav/" \
    --user archiver --password-file "$T_DIR/davpw"
expect 65 "a URL with shell characters is refused" --as $ta archive destination add evil --url 'https://h/$(touch /tmp/x)/' \
    --user a --password-file "$T_DIR/davpw"
like "$ERR" 'letters, digits' "... saying what a URL may hold"
expect 65 "an SFTP destination without its host key is refused" --as $ta archive destination add nohk \
    --url "sftp://127.0.0.1:$sftp_port/x/" --user root --key-file "$S/client"
is "$(sql "SELECT count(*) FROM ers.archive_destination d JOIN ers.tenant t ON t.id = d.tenant_id WHERE t.name = 'Remote Co $n'")" 5 \
    "... nothing added by the refused ones"
expect 65 "an unknown destination is refused before any job" --as $u archive create $u --to nowhere --older-than 30
like "$ERR" 'unknown archive destination' "... with a clear error"

# --- uploads read back --------------------------------------------------------------------------
expect 0 "a user's archive goes to the SFTP destination, then its messages are deleted" --as $u --json archive create $u \
    --to vault --older-than 30 --delete-after
id=$(json_id)
sha=$(sql "SELECT sha256 FROM ers.archive WHERE id = $id")
is "$(sha256sum "$S/files/$id.mbox.gpg" 2>/dev/null | cut -d' ' -f1)" "$sha" "the file on the SFTP server has the recorded SHA-256"
is "$(sql "SELECT state || ' ' || remote_url FROM ers.archive WHERE id = $id")" \
    "expunged sftp://127.0.0.1:$sftp_port$S/files/$id.mbox.gpg" "recorded with where it went; messages expunged after the read-back"
is "$(imap $u count)" 0 "... the mailbox is empty"
expect 0 "archive verify reads the remote copy back too" --as $u archive verify $id

is "$(imap $u fill 2)" 2 "setup: 2 more old messages"
expect 0 "an archive goes to the WebDAV destination" --as $u --json archive create $u --to dav --older-than 30
id=$(json_id)
is "$(sha256sum "$D/root/dav/$id.mbox.gpg" 2>/dev/null | cut -d' ' -f1)" "$(sql "SELECT sha256 FROM ers.archive WHERE id = $id")" \
    "the file on the WebDAV server has the recorded SHA-256"

# --- failures delete nothing ----------------------------------------------------------------------
for d in wrongpw down damaged; do
    expect 74 "destination $d: the job fails (exit 74)" --as $u archive create $u --to $d --older-than 30 --delete-after
    is "$(imap $u count)" 2 "... and no message is deleted"
done
expect 0 "the tenant admin sees the failures" --as $ta --json archive failures
like "$OUT" 'refused the credentials' "... wrong credentials named"
like "$OUT" 'archive destination down' "... the destination that is down named"
like "$OUT" 'gives back .* with SHA-256' "... the checksum mismatch named"
is "$(sql "SELECT count(*) FROM ers.archive WHERE address = '$u' AND state = 'failed' AND expunged = 0")" 3 \
    "three failed jobs recorded, none expunged"
like "$(sql "SELECT string_agg(DISTINCT action, ' ' ORDER BY action) FROM ers.audit_log WHERE action LIKE 'archive.destination%'")" \
    'archive.destination_add' "adding destinations is audited"
# --- a user's own preferences: one mbox per folder, to WebDAV -----------------------------------
expect 0 "a user sets its preferences: one mbox per folder, the WebDAV destination" --as $u --json archive policy set $u \
    --format mbox-folders --to dav --older-than 30
like "$OUT" '"destination": "dav"' "... shown back"
expect 65 "an unknown destination in the preferences is refused" --as $u archive policy set $u --to nowhere
expect 0 "the tenant admin does not allow personal auto-archive" --as $ta archive policy set --personal-auto-archive no
expect 65 "... then the user cannot turn it on" --as $u archive policy set $u --auto-archive yes
like "$ERR" 'does not allow personal auto-archive' "... told why"
expect 0 "the user's archive follows its preferences" --as $u --json archive create $u
id=$(json_id)
is "$(sql "SELECT format || ' ' || destination || ' ' || kind FROM ers.archive WHERE id = $id")" "mbox-folders dav personal" \
    "... one mbox per folder, to the WebDAV destination, personal"
expect 0 "... downloaded" --as $u archive download $id -o "$T_DIR/pf.zip"
is "$(python3 -c 'import mailbox, sys, zipfile, os
z = zipfile.ZipFile(sys.argv[1]); z.extractall(sys.argv[2])
print(" ".join("%s:%d" % (n, len(mailbox.mbox(os.path.join(sys.argv[2], n), create=False))) for n in sorted(z.namelist())))' \
    "$T_DIR/pf.zip" "$T_DIR/pf" 2>&1)" "INBOX.mbox:2" "a zip holding INBOX.mbox, which Python's mailbox module reads: 2 messages"
# --- personal auto-archive, when the tenant allows it: `archive run` ---------------------------
is "$(imap $u fill 1)" 3 "setup: one more old message"
expect 0 "the tenant admin allows personal auto-archive again" --as $ta archive policy set --personal-auto-archive yes
expect 0 "... and the user turns its own on" --as $u archive policy set $u --auto-archive yes
expect 0 "archive run makes the personal auto-archives due" --json archive run
is "$(sql "SELECT kind || ' ' || format || ' ' || destination || ' ' || messages || ' ' || (run_id IS NOT NULL) FROM ers.archive WHERE address = '$u' ORDER BY id DESC LIMIT 1")" \
    "personal mbox-folders dav 3 true" "... a personal archive by the run, under the user's preferences"
expect 0 "a destination is removed" --as $ta archive destination remove down
ls "$TMPDIR" | grep -q '^ers-sftp'; ok $((!$?)) "no SSH key is left in a temporary directory"

done_testing
