#!/usr/bin/env bash
# Junk retention (issue 20, manual 004 "move spam to Junk"): `ersctl tenant
# edit --junk-days N` and `--time-zone`, and `ersctl mailstack purge`
# expunging, with the stack's real Dovecot, the Junk messages received
# (INTERNALDATE, set by IMAP APPEND) more than N days ago -- per tenant,
# other folders and newer Junk kept, 0 keeping Junk as it is; bad input
# refused with nothing changed; operators only.
. "$(dirname "$0")/lib.sh"
. "$ERS_STACK_DIR/stack.env"
export ERS_CONFIG=$ERS_STACK_DIR/ers.yaml
T_DB=ers

n=$RANDOM
dom=junk$n.test kdom=keepjunk$n.test host=junktest$n.ers.test
P=junk-password-$n-xyz
pw=$T_DIR/pw; echo "$P" >"$pw"
expect 0 "setup: IMAP host" -q server host add $host --kind imap --port 143 --tls starttls
expect 0 "setup: SMTP host" -q server host add $host --kind smtp --port 587
expect 0 "setup: tenant" -q tenant add "Junk Co $n" --domain $dom --imap-host $host --imap-port 143 --smtp-host $host
expect 0 "setup: a tenant that keeps Junk" -q tenant add "Keep Co $n" --domain $kdom --imap-host $host --imap-port 143 --smtp-host $host
expect 0 "setup: a user" -q user add a@$dom --password-file "$pw"
expect 0 "setup: a tenant admin" -q user add ta@$dom --password-file "$pw" --role tenant_admin
expect 0 "setup: the other tenant's user" -q user add k@$kdom --password-file "$pw"

# --- the tenant's settings ------------------------------------------------------
run --json tenant show "Junk Co $n"
like "$OUT" '"junk_retention_days": ?30' "a new tenant keeps Junk 30 days"
like "$OUT" '"time_zone": ?"UTC"' "... and its time zone is UTC"
refused 65 'unknown time zone "Mars/Base": give a name of the tz database such as Europe/Berlin' \
    "an unknown time zone" tenant edit "Junk Co $n" --time-zone Mars/Base
refused 65 '--time-zone must be a time zone name' "a time zone that is no name" tenant edit "Junk Co $n" --time-zone 'x; DROP'
refused 65 '--junk-days must be a whole number 0\.\.3650, got "3651"' "junk days out of range" \
    tenant edit "Junk Co $n" --junk-days 3651
refused 65 '--junk-days must be a whole number 0\.\.3650' "junk days not a number" tenant edit "Junk Co $n" --junk-days soon
expect 0 "tenant edit --junk-days 7 --time-zone Europe/Berlin" tenant edit "Junk Co $n" --junk-days 7 --time-zone Europe/Berlin
like "$OUT" 'junk retention: +7 days' "... shown"
like "$OUT" 'time zone: +Europe/Berlin' "... with the time zone"
is "$(sql "SELECT detail FROM ers.audit_log WHERE action = 'tenant.edit' AND target = 'Junk Co $n' ORDER BY id DESC LIMIT 1")" \
    "time zone UTC -> Europe/Berlin; junk retention 30 -> 7 days" "one audit row saying both changes"
expect 0 "tenant edit --junk-days 0 for the other tenant" -q tenant edit "Keep Co $n" --junk-days 0
run tenant show "Keep Co $n"
like "$OUT" 'junk retention: +kept' "... shown as kept"

# --- messages with received dates, by IMAP APPEND ------------------------------------
# append USER FOLDER DAYS-AGO SUBJECT: one message over plain IMAP on loopback
append() {
    local msg date
    date=$(date -u -d "-$3 days" '+%d-%b-%Y %H:%M:%S +0000')
    msg=$(printf 'From: spammer@elsewhere.example\r\nTo: %s\r\nSubject: %s\r\n\r\nbody\r\n' "$1" "$4")
    exec 3<>"/dev/tcp/127.0.0.1/$IMAP_PORT"
    printf 'a LOGIN %s %s\r\nb APPEND %s () "%s" {%d+}\r\n%s\r\nc LOGOUT\r\n' "$1" "$P" "$2" "$date" "${#msg}" "$msg" >&3
    timeout 10 cat <&3 | grep -q '^b OK'; local rc=$?
    exec 3>&-
    return $rc
}
subjects() { doveadm -c "$DOVECOT_CONFIG" fetch -u "$1" hdr.subject mailbox "$2" all 2>/dev/null | sed -n 's/^hdr.subject: //p' | sort | tr '\n' ','; }
append a@$dom Junk 30 "old spam" && append a@$dom Junk 8 "week-old spam" && append a@$dom Junk 2 "new spam" &&
    append a@$dom INBOX 400 "old mail" && append k@$kdom Junk 400 "kept spam"
ok $? "setup: messages appended with their received dates"
is "$(subjects a@$dom Junk)" "new spam,old spam,week-old spam," "setup: three in a's Junk"

refused 77 'may not' "a tenant admin cannot run mailstack purge" --as ta@$dom mailstack purge
is "$(subjects a@$dom Junk)" "new spam,old spam,week-old spam," "... and nothing was expunged"

expect 0 "mailstack purge" --json mailstack purge
like "$OUT" '"junk_expunged": ?2' "... says it expunged 2 Junk messages"
is "$(subjects a@$dom Junk)" "new spam," "a's Junk keeps only what is newer than 7 days"
is "$(subjects a@$dom INBOX)" "old mail," "... other folders are not touched"
is "$(subjects k@$kdom Junk)" "kept spam," "a tenant with --junk-days 0 keeps its Junk"
is "$(sql "SELECT count(*) FROM ers.audit_log WHERE action = 'mailbox.junk_expire' AND detail LIKE '2 Junk messages%'")" 1 \
    "one audit row saying how many"
expect 0 "a second purge" --json mailstack purge
like "$OUT" '"junk_expunged": ?0' "... finds nothing more"

run -q --yes tenant delete "Junk Co $n"
run -q --yes tenant delete "Keep Co $n"
done_testing
