#!/usr/bin/env bash
# The Archives view in a real browser (test/e2e/archive.mjs, headless
# Chromium): a user sets its archive preferences, creates an archive,
# downloads it; the file opens with Python's mailbox module and holds the
# old messages, not the new one.
. "$(dirname "$0")/lib.sh"
. "$ERS_TOP/test/e2e/tap.sh"
. "$ERS_STACK_DIR/stack.env"
export ERS_CONFIG=$ERS_STACK_DIR/ers.yaml
T_DB=ers

e2e_ready || { done_testing; exit 0; }

dom=archb$RANDOM.test u=ann@$dom
PW=browser-archive-123
printf '%s\n' "$PW" >"$T_DIR/pw"
e2e_hosts
expect 0 "setup: tenant" -q tenant add "Web Archive $dom" --domain "$dom" --imap-host localhost --imap-port "$IMAP_PORT" \
    --smtp-host localhost --smtp-port "$SUBMISSION_PORT"
expect 0 "setup: user" -q user add "$u" --password-file "$T_DIR/pw" --quota-mb 100
U=$u PW=$PW TLS_CA=$TLS_CA IMAP_PORT=$IMAP_PORT python3 - <<'PY'
import imaplib, os, ssl, time
M = imaplib.IMAP4('127.0.0.1', int(os.environ['IMAP_PORT'])); M.starttls(ssl_context=ssl.create_default_context(cafile=os.environ['TLS_CA']))
M.login(os.environ['U'], os.environ['PW'])
for i in range(3):
    M.append('INBOX', None, imaplib.Time2Internaldate(time.time() - 40 * 86400), b"Subject: old %d\r\n\r\nFrom the browser test\r\n" % i)
M.append('INBOX', None, imaplib.Time2Internaldate(time.time()), b"Subject: new\r\n\r\nrecent\r\n")
M.logout()
PY

e2e_run archive.mjs 90 USER_ADDRESS="$u" PASSWORD="$PW" OUT="$T_DIR/download.mbox"

is "$(python3 -c 'import mailbox, sys; print(" ".join(sorted(m["subject"] for m in mailbox.mbox(sys.argv[1], create=False))))' \
    "$T_DIR/download.mbox" 2>&1)" "old 0 old 1 old 2" "Python's mailbox module opens the download: the 3 old messages, not the new one"
is "$(sql "SELECT format || ' ' || older_than_days || ' ' || auto_archive FROM ers.archive_preference pr JOIN ers.mailbox m ON m.id = pr.mailbox_id WHERE m.address = '$u'")" \
    "mbox 20 true" "the preferences saved in the browser are the user's"
is "$(sql "SELECT kind || ' ' || older_than_days FROM ers.archive WHERE address = '$u'")" "personal 20" \
    "the archive is personal, made with the preferred cutoff"

expect 0 "cleanup: delete the tenant" -q tenant delete "Web Archive $dom" --yes
done_testing
