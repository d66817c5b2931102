# Users end to end through ersctl: add (given and generated passwords),
# address rules, conflicts, tenant limits, list with filters and keyset
# pages, show, edit, passwd (admin reset, own change, sessions ended),
# disable/enable, delete, sealed IMAP credentials -- and bad input for every
# user command, refused with a clear message and nothing changed.
. "$(dirname "$0")/lib.sh"
# The whole database as pg_dump sees it, to look for secrets in it.
pg_dump_all() {
    as_user postgres "$PGBIN/pg_dump" -h "$PG_SOCKET" -p "$PG_PORT" -U postgres --no-owner "$T_DB" 2>&1
}
new_db
# json FIELD: the value of a top-level key of $OUT (a JSON object) as text.
json() { printf '%s' "$OUT" | python3 -c 'import json, sys; v = json.load(sys.stdin)[sys.argv[1]]; print("null" if v is None else str(v).lower() if isinstance(v, bool) else v)' "$1"; }
col() { sql "SELECT $1 FROM ers.mailbox WHERE address = '$2'"; }

# --- password files ----------------------------------------------------------
P=$T_DIR
printf 'first-password-1\n' >"$P/pw"
printf 'second-password-2' >"$P/pw2"                 # no newline at the end
printf 'third-password-3\r\n' >"$P/pw3crlf"
printf 'x%.0s' {1..11} >"$P/pw11"
printf 'x%.0s' {1..12} >"$P/pw12"
head -c 511 /dev/zero | tr '\0' 'm' >"$P/pw511"
head -c 512 /dev/zero | tr '\0' 'm' >"$P/pw512"
head -c 1025 /dev/zero | tr '\0' 'm' >"$P/pw1025"
head -c 5000 /dev/zero | tr '\0' 'm' >"$P/pw5000"
printf 'twelve-bytes\0and-more' >"$P/pwnul"
printf 'two\nlines-of-password\n' >"$P/pwlines"
: >"$P/empty"
IMAP_SECRET='Imap-Secret-Tr0ub4dor-9'
printf '%s\n' "$IMAP_SECRET" >"$P/imap"
printf 'Other-Imap-Secret-77' >"$P/imap2"

# --- hosts and tenants -------------------------------------------------------
expect 0 "setup: IMAP host" server host add mail.example.net --kind imap
expect 0 "setup: SMTP host" server host add mail.example.net --kind smtp
M=(--imap-host mail.example.net --smtp-host mail.example.net)
expect 0 "setup: tenant Acme" tenant add Acme --domain acme.example "${M[@]}"
expect 0 "setup: a second domain for Acme" tenant domain add Acme acme-mail.example
expect 0 "setup: tenant Small with limits" tenant add Small --domain small.example "${M[@]}" --max-users 2 --max-storage-mb 1000
expect 0 "setup: tenant Other" tenant add Other --domain other.example "${M[@]}"

# --- add -------------------------------------------------------------------------
expect 0 "add a user with a password file, names and a quota" \
    user add anna@acme.example --password-file "$P/pw" --first-name Anna --last-name "Smith-Jones" --quota-mb 500
like "$OUT" "address: +anna@acme.example" "shows the address"
like "$OUT" "name: +Anna Smith-Jones" "shows the name"
like "$OUT" "quota used/max: +- / 500 MB" "shows the quota"
like "$OUT" "role: +user" "the default role is user"
unlike "$OUT" "temporary password" "no password is shown when one was given"
like "$(col password_hash anna@acme.example)" '^\$y\$' "the password is stored as a yescrypt hash"
unlike "$(pg_dump_all)" "first-password-1" "the password itself is nowhere in the database"
expect 0 "add with upper case" user add Bob.Jones@ACME.Example --password-file "$P/pw"
like "$OUT" "address: +bob.jones@acme.example" "the address is lower-cased"
expect 0 "add in the tenant's second domain" user add carl@acme-mail.example --password-file "$P/pw3crlf" --role tenant_admin
like "$OUT" "tenant: +Acme" "the second domain belongs to Acme"
expect 0 "a CRLF-ended password file works" --as carl@acme-mail.example user passwd carl@acme-mail.example \
    --current-password-file "$P/pw3crlf" --password-file "$P/pw"
L64=$(printf 'a%.0s' {1..64})
expect 0 "a 64-character local part is accepted" user add "$L64@acme.example" --password-file "$P/pw"
expect 0 "digits, hyphens and inner periods are accepted" user add "d.e-1.f2@acme.example" --password-file "$P/pw"
expect 0 "a 12-byte password is accepted" user add min@acme.example --password-file "$P/pw12"
expect 0 "a 511-byte password is accepted" user add max@acme.example --password-file "$P/pw511"
expect 0 "... and works for its owner" --as max@acme.example user passwd max@acme.example \
    --current-password-file "$P/pw511" --password-file "$P/pw511"
out=$(printf 'stdin-password-1\n' | "$ERSCTL" user add stdin@acme.example --password-file - 2>&1); rc=$?
is "$rc" 0 "--password-file - reads standard input"
expect 0 "... and that password works" --as stdin@acme.example user show stdin@acme.example

# A generated password is printed once, and is nowhere to be found later.
expect 0 "add with a generated password" user add gen@acme.example --generate-password
GEN=$(printf '%s\n' "$OUT" | sed -n 's/^temporary password for gen@acme.example (shown once; give it through a secure channel): //p')
like "$GEN" '^[2-9a-hjkmnp-z]{4}(-[2-9a-hjkmnp-z]{4}){6}$' "the temporary password is printed: 7 groups of 4"
is "$(printf '%s\n' "$OUT" | grep -c "$GEN")" 1 "... once"
dumped=$(pg_dump_all)
unlike "$dumped" "$GEN" "the generated password is not in pg_dump"
unlike "$dumped" "${GEN//-/}" "... not even without its hyphens"
unlike "$(sql "SELECT string_agg(concat_ws(' ', actor, action, target, detail), E'\n') FROM ers.audit_log")" "$GEN" \
    "... nor in the audit log"
printf '%s\n' "$GEN" >"$P/gen"
expect 0 "the generated password is the one that works" --as gen@acme.example user passwd gen@acme.example \
    --current-password-file "$P/gen" --password-file "$P/pw"
expect 0 "add with a generated password, as JSON" --json user add gen2@acme.example --generate-password
GEN2=$(json temporary_password)
like "$GEN2" '^[2-9a-hjkmnp-z]{4}(-[2-9a-hjkmnp-z]{4}){6}$' "JSON has temporary_password"
ok "$( [ "$GEN" != "$GEN2" ]; echo $?)" "two generated passwords differ"
unlike "$(pg_dump_all)" "$GEN2" "the JSON one is not in pg_dump either"
is "$(sql "SELECT detail FROM ers.audit_log WHERE action = 'user.add' AND target = 'gen2@acme.example'")" \
    "role user, quota none, local mailbox" "the audit row says what was made, without the password"
is "$(sql "SELECT count(*) FROM ers.audit_log WHERE action = 'user.add' AND outcome = 'ok'")" 10 "one audit row per user added"

# --- address rules ---------------------------------------------------------------
for bad in ".anna@acme.example" "anna.@acme.example" "an..na@acme.example"; do
    refused 65 "must not start or end with a period or hold two in a row" "address \"$bad\" is refused" \
        user add "$bad" --password-file "$P/pw"
done
for bad in "an_na@acme.example" "anna+tag@acme.example" "an na@acme.example" "anna%x@acme.example" "änna@acme.example"; do
    refused 65 "may hold only Latin letters, digits, hyphens and periods" "address \"$bad\" is refused" \
        user add "$bad" --password-file "$P/pw"
done
refused 65 'must be at most 64 characters' "a 65-character local part is refused" user add "a$L64@acme.example" --password-file "$P/pw"
refused 65 'must look like name@domain' "an address without @ is refused" user add anna --password-file "$P/pw"
refused 65 'must look like name@domain' "an address without a local part is refused" user add @acme.example --password-file "$P/pw"
refused 65 'domain nowhere.example is not one of any tenant.s domains' "a domain of no tenant is refused" \
    user add x@nowhere.example --password-file "$P/pw"
refused 65 'empty label' "a malformed domain is refused" user add x@acme..example --password-file "$P/pw"

# --- conflicts ---------------------------------------------------------------------
refused 73 'address anna@acme.example is already used by a mailbox' "the same address twice" \
    user add anna@acme.example --password-file "$P/pw"
refused 73 'address anna@acme.example is already used by a mailbox' "the same address in other case" \
    user add ANNA@Acme.Example --password-file "$P/pw"
sql "INSERT INTO ers.address_claim (address, tenant_id, domain_id, kind)
       SELECT 'sales@acme.example', d.tenant_id, d.id, 'alias' FROM ers.domain d WHERE d.name = 'acme.example';
     INSERT INTO ers.alias (tenant_id, address, mailbox_id)
       SELECT tenant_id, 'sales@acme.example', id FROM ers.mailbox WHERE address = 'anna@acme.example'" >/dev/null
refused 73 'address sales@acme.example is already used by an alias' "an alias's address" \
    user add sales@acme.example --password-file "$P/pw"

# --- tenant limits -----------------------------------------------------------------
refused 65 'tenant "Small" has a storage limit of 1000 MB, so every mailbox needs a quota \(--quota-mb\)' \
    "a tenant with a storage limit needs quotas" user add s1@small.example --password-file "$P/pw"
expect 0 "a quota within the storage limit" user add s1@small.example --password-file "$P/pw" --quota-mb 600
refused 73 'tenant "Small" has a storage limit of 1000 MB and 600 MB is already given to other mailboxes. quotas: at most 400 MB is left, asked for 500' \
    "a quota beyond what is left" user add s2@small.example --password-file "$P/pw" --quota-mb 500
expect 0 "exactly what is left" user add s2@small.example --password-file "$P/pw" --quota-mb 400
refused 73 'tenant "Small" allows at most 2 users and has 2 already' "one user more than the tenant allows" \
    user add s3@small.example --password-file "$P/pw" --quota-mb 0
refused 65 'storage limit of 1000 MB, so every mailbox needs a quota' "quota none for a tenant with a storage limit" \
    user edit s1@small.example --quota-mb none
refused 73 'storage limit of 1000 MB and 400 MB is already given .* at most 600 MB is left, asked for 601' \
    "raising a quota beyond the storage limit" user edit s1@small.example --quota-mb 601
expect 0 "lowering a quota within the limit" user edit s1@small.example --quota-mb 100
expect 0 "raising another into the freed room" user edit s2@small.example --quota-mb 900
expect 0 "quota none where there is no storage limit" --json user edit anna@acme.example --quota-mb none
is "$(json quota_mb)" null "quota none is null in JSON"
expect 0 "raising the tenant's user limit" tenant edit Small --max-users 3
expect 0 "... makes room for one more" user add s3@small.example --password-file "$P/pw" --quota-mb 0

# --- list ------------------------------------------------------------------------------
for i in 1 2 3 4 5; do expect 0 "setup: page user p$i" user add "p$i@other.example" --password-file "$P/pw12"; done
expect 0 "setup: an admin of Other" user add boss@other.example --password-file "$P/pw12" --role super_admin
expect 0 "list every user" user list
like "$(printf '%s\n' "$OUT" | head -n 1)" '^ADDRESS +DOMAIN +TENANT +ROLE +QUOTA USED/MAX +STATUS +CREATED$' "the columns"
like "$OUT" 'anna@acme.example +acme.example +Acme +user +- / none +active +[0-9]{4}-[0-9]{2}-[0-9]{2}T' "a row"
total=$(sql "SELECT count(*) FROM ers.mailbox")
is "$(($(printf '%s\n' "$OUT" | wc -l) - 1))" "$total" "one row per user"
expect 0 "list one tenant by name" --json user list --tenant other
is "$(printf '%s' "$OUT" | grep -c '"address"')" 6 "--tenant by name keeps to that tenant"
expect 0 "list one tenant by domain" --json user list --tenant acme-mail.example
is "$(printf '%s' "$OUT" | grep -o '"tenant": "[^"]*"' | sort -u)" '"tenant": "Acme"' "--tenant by domain means its tenant"
expect 0 "list by role" --json user list --role super_admin
is "$(printf '%s' "$OUT" | grep -o '"address": "[^"]*"')" '"address": "boss@other.example"' "--role filters"
expect 0 "list by role and tenant" --json user list --role tenant_admin --tenant Acme
is "$(printf '%s' "$OUT" | grep -o '"address": "[^"]*"')" '"address": "carl@acme-mail.example"' "--role with --tenant"

# Keyset pages: walk them and get every user once, in order.
expect 0 "first page" user list --limit 2
is "$(($(printf '%s\n' "$OUT" | wc -l)))" 4 "two rows, the header and a 'more' line"
first_after=$(printf '%s\n' "$OUT" | sed -n 's/^more: ersctl user list --after //p')
is "$first_after" "$(sql "SELECT address FROM ers.mailbox ORDER BY address LIMIT 1 OFFSET 1")" "the 'more' line names the last one shown"
after='' seen='' pages=0
while :; do
    if [ -n "$after" ]; then run --json user list --limit 3 --after "$after"; else run --json user list --limit 3; fi
    [ "$RC" -eq 0 ] || break
    seen+=$(printf '%s' "$OUT" | grep -o '"address": "[^"]*"' | sed 's/.*: "//; s/"$//')$'\n'
    pages=$((pages + 1))
    after=$(json next_after)
    [ "$after" = null ] && break
    [ "$pages" -gt 20 ] && break
done
is "$(printf '%s' "$seen" | grep -c .)" "$total" "the pages hold every user"
is "$seen" "$(sql "SELECT address FROM ers.mailbox ORDER BY address")"$'\n' "... once each, in address order"
is "$pages" $(((total + 2) / 3)) "... on ceil($total/3) pages, the last with next_after null"
expect 0 "a page after the last address" --json user list --after zzz
is "$(json next_after)" null "is empty, with next_after null"
is "$(printf '%s' "$OUT" | grep -c '"address"')" 0 "... and no users"

# --- show --------------------------------------------------------------------------------
expect 0 "show a user as JSON" --json user show Anna@Acme.Example
is "$(json address)" anna@acme.example "found by any case"
is "$(json first_name) $(json last_name)" "Anna Smith-Jones" "names"
is "$(json role)/$(json status)/$(json disabled_by)/$(json mailbox)/$(json imap_username)" "user/active/null/local/null" "role, status, local mailbox"
is "$(printf '%s' "$OUT" | python3 -c 'import json, sys; print(" ".join(json.load(sys.stdin)))')" \
    "address domain tenant first_name last_name role quota_mb quota_used_mb quota_used_bytes status disabled_by internal_only mailbox imap_username created_at" \
    "show --json has stable keys"
unlike "$OUT" 'password|hash' "no password or hash is shown"

# --- edit ----------------------------------------------------------------------------------
expect 0 "rename" user edit anna@acme.example --first-name Anne --last-name Smith
like "$OUT" "name: +Anne Smith" "the new name"
expect 0 "give a role" user edit bob.jones@acme.example --role tenant_admin
like "$OUT" "role: +tenant_admin" "the new role"
is "$(sql "SELECT detail FROM ers.audit_log WHERE action = 'user.edit' ORDER BY id DESC LIMIT 1")" "role user -> tenant_admin" \
    "the audit row says what changed"
expect 0 "internal only" --json user edit bob.jones@acme.example --internal-only yes
is "$(json internal_only)" true "internal_only on"
expect 0 "internal only off" --json user edit bob.jones@acme.example --internal-only no
is "$(json internal_only)" false "internal_only off"
expect 0 "quota and name at once" --json user edit bob.jones@acme.example --quota-mb 1048576 --first-name Bob
is "$(json quota_mb) $(json first_name)" "1048576 Bob" "both changed"
expect 0 "add an internal-only user" --json user add intern@acme.example --password-file "$P/pw" --internal-only
is "$(json internal_only)" true "add --internal-only"

# --- passwd ----------------------------------------------------------------------------------
# sessions: a session row for anna, ended by every password change
session() { sql "INSERT INTO ers.session (token_hash, mailbox_id) SELECT sha256('$1'::bytea), id FROM ers.mailbox WHERE address = '$2'" >/dev/null; }
sessions() { sql "SELECT count(*) FROM ers.session s JOIN ers.mailbox m ON m.id = s.mailbox_id WHERE m.address = '$1'"; }
session tok1 anna@acme.example
session tok2 anna@acme.example
session tok3 bob.jones@acme.example
gen0=$(col session_generation anna@acme.example)
hash0=$(col password_hash anna@acme.example)
expect 0 "an admin resets a password" user passwd anna@acme.example --password-file "$P/pw2"
like "$OUT" "password of anna@acme.example changed; every session of it has ended" "says so"
is "$(sessions anna@acme.example)" 0 "the user's sessions are gone"
is "$(sessions bob.jones@acme.example)" 1 "another user's session stays"
is "$(col session_generation anna@acme.example)" $((gen0 + 1)) "session_generation went up"
ok "$( [ "$(col password_hash anna@acme.example)" != "$hash0" ]; echo $?)" "the hash changed"
is "$(sql "SELECT detail FROM ers.audit_log ORDER BY id DESC LIMIT 1")" reset "audit: reset"

# own change, with the current password
session tok4 anna@acme.example
expect 0 "a user changes its own password with the current one" --as anna@acme.example user passwd anna@acme.example \
    --current-password-file "$P/pw2" --password-file "$P/pw"
is "$(sessions anna@acme.example)" 0 "its sessions are gone"
is "$(col session_generation anna@acme.example)" $((gen0 + 2)) "session_generation went up again"
is "$(sql "SELECT actor || ' (via ' || via || ') ' || detail FROM ers.audit_log ORDER BY id DESC LIMIT 1")" \
    "anna@acme.example (via operator:$(id -un)) changed with the current password" "audit: changed by the user, via the operator"

# wrong current password: 77, nothing changed but the audit row
session tok5 anna@acme.example
hash1=$(col password_hash anna@acme.example)
denied 'user passwd: the current password is not right; nothing was changed$' \
    "a wrong current password: 77, nothing changed, one denied audit row" \
    --as anna@acme.example user passwd anna@acme.example --current-password-file "$P/pw2" --password-file "$P/pw3crlf"
is "$(col password_hash anna@acme.example)" "$hash1" "... the hash stays"
is "$(sessions anna@acme.example)" 1 "... the session stays"
is "$(sql "SELECT action || ' ' || target || ' ' || tenant_name FROM ers.audit_log ORDER BY id DESC LIMIT 1")" \
    "user.change_password anna@acme.example Acme" "... the audit row names action, user and tenant"
expect 0 "the old password still works" --as anna@acme.example user passwd anna@acme.example \
    --current-password-file "$P/pw" --password-file "$P/pw"
denied 'may not user.change_password' "an admin cannot change another user's password with its current one" \
    --as bob.jones@acme.example user passwd anna@acme.example --current-password-file "$P/pw" --password-file "$P/pw2"

expect 0 "reset to a generated password" --json user passwd anna@acme.example --generate-password
GEN3=$(json temporary_password)
like "$GEN3" '^[2-9a-hjkmnp-z]{4}(-[2-9a-hjkmnp-z]{4}){6}$' "the generated password is shown once"
unlike "$(pg_dump_all)" "$GEN3" "... and is not in pg_dump"
printf '%s' "$GEN3" >"$P/gen3"
expect 0 "... and works" --as anna@acme.example user passwd anna@acme.example --current-password-file "$P/gen3" --password-file "$P/pw"
expect 0 "reset as text" user passwd bob.jones@acme.example --generate-password
like "$OUT" '^temporary password for bob.jones@acme.example \(shown once; give it through a secure channel\): [2-9a-hjkmnp-z-]{34}$' \
    "the text output prints it once"

# --- disable / enable ------------------------------------------------------------------------
session tok6 anna@acme.example
expect 0 "an admin disables a user" user disable anna@acme.example
like "$OUT" "anna@acme.example is disabled" "says so"
is "$(col "status || ' ' || disabled_by" anna@acme.example)" "disabled admin" "disabled by an admin"
is "$(sessions anna@acme.example)" 0 "disabling ends its sessions"
expect 0 "show says by whom" user show anna@acme.example
like "$OUT" "status: +disabled \(by admin\)" "disabled (by admin)"
expect 0 "list --status disabled" --json user list --status disabled
is "$(printf '%s' "$OUT" | grep -o '"address": "[^"]*"')" '"address": "anna@acme.example"' "--status disabled shows it"
audit0=$(sql "SELECT max(id) FROM ers.audit_log")
expect 0 "disabling it again changes nothing" user disable anna@acme.example
is "$(sql "SELECT count(*) FROM ers.audit_log WHERE id > $audit0")" 0 "... and writes no audit row"
# A disabled account acts nowhere, not even through an operator's --as:
# the webmail login's words, audited as a denial naming both.
denied 'this account is disabled; contact your administrator' \
    "a disabled user cannot enable itself" --as anna@acme.example user enable anna@acme.example
is "$(col status anna@acme.example)" disabled "... it stays disabled"
is "$(sql "SELECT concat_ws(' ', actor, via, action, target) FROM ers.audit_log ORDER BY id DESC LIMIT 1")" \
    "anna@acme.example operator:$(id -un) actor.as anna@acme.example" "... audited as a denial of the --as, naming the operator"
denied 'this account is disabled; contact your administrator' "a disabled user cannot show itself" --as anna@acme.example user show anna@acme.example
denied 'this account is disabled; contact your administrator' "a disabled user cannot list users" --as anna@acme.example user list
denied 'this account is disabled; contact your administrator' "a disabled user cannot change its password" \
    --as anna@acme.example user passwd anna@acme.example --current-password-file "$P/pw" --password-file "$P/pw"
expect 0 "an admin enables it" user enable anna@acme.example
is "$(col "status || ' ' || coalesce(disabled_by, '-')" anna@acme.example)" "active -" "enabled"
expect 0 "a user disables itself" --as anna@acme.example user disable anna@acme.example
is "$(col "status || ' ' || disabled_by" anna@acme.example)" "disabled self" "disabled by itself"
expect 0 "show says by the user" user show anna@acme.example
like "$OUT" "status: +disabled \(by user\)" "disabled (by user)"
denied 'this account is disabled; contact your administrator' \
    "... and then cannot enable itself either: a disabled account acts nowhere" --as anna@acme.example user enable anna@acme.example
expect 0 "an admin enables it" user enable anna@acme.example
is "$(col status anna@acme.example)" active "active again"

# --- stored IMAP credentials -------------------------------------------------------------------
expect 0 "add a remote mailbox with stored IMAP credentials" user add remote@acme.example --password-file "$P/pw" \
    --imap-username remote-login --imap-password-file "$P/imap"
like "$OUT" "mailbox: +remote, IMAP user remote-login" "shows the IMAP user"
sealed=$(col imap_password_sealed remote@acme.example)
like "$sealed" '^v1:[0-9a-f]{8}:[A-Za-z0-9+/]+=*$' "the IMAP password is stored sealed: v1:KEYID:base64"
dumped=$(pg_dump_all)
unlike "$dumped" "$IMAP_SECRET" "the clear IMAP password is nowhere in pg_dump"
unlike "$dumped" "$(printf '%s' "$IMAP_SECRET" | base64)" "... not even in base64"
expect 0 "show --json" --json user show remote@acme.example
is "$(json mailbox) $(json imap_username)" "remote remote-login" "JSON: remote, with the IMAP username"
unlike "$OUT" "$IMAP_SECRET|v1:|sealed" "JSON has neither the IMAP password nor its sealed form"
unlike "$(sql "SELECT string_agg(concat_ws(' ', target, detail), ' ') FROM ers.audit_log")" "$IMAP_SECRET" "nor has the audit log"
expect 0 "change the stored IMAP credentials" user edit remote@acme.example --imap-username other-login --imap-password-file "$P/imap2"
like "$OUT" "remote, IMAP user other-login" "the new IMAP user"
sealed2=$(col imap_password_sealed remote@acme.example)
like "$sealed2" '^v1:' "still sealed"
ok "$( [ "$sealed" != "$sealed2" ]; echo $?)" "a new sealed value"
unlike "$(pg_dump_all)" "Other-Imap-Secret-77" "the new IMAP password is not in pg_dump either"
refused 65 'stored IMAP credentials need both the username and the password' "an IMAP username alone" \
    user add remote2@acme.example --password-file "$P/pw" --imap-username x
refused 65 'stored IMAP credentials need both the username and the password' "an IMAP password alone" \
    user add remote2@acme.example --password-file "$P/pw" --imap-password-file "$P/imap"
refused 65 'IMAP password must be 1 to 1024 bytes' "an empty IMAP password" \
    user add remote2@acme.example --password-file "$P/pw" --imap-username x --imap-password-file "$P/empty"
refused 65 'IMAP password must be 1 to 1024 bytes' "an IMAP password of 1025 bytes" \
    user edit remote@acme.example --imap-username x --imap-password-file "$P/pw1025"
refused 65 '--imap-password-file: cannot read' "a missing IMAP password file" \
    user edit remote@acme.example --imap-username x --imap-password-file "$P/nothing"

# --- delete ------------------------------------------------------------------------------------
refused 64 'refusing to delete this user without confirmation: no terminal to ask on; pass --yes' \
    "delete refuses without --yes" user delete bob.jones@acme.example
expect 0 "delete a user with an alias" --yes user delete anna@acme.example
like "$ERR" "This deletes user anna@acme.example with its aliases and its forward" "says first what goes"
like "$OUT" "deleted user anna@acme.example" "says it is done"
is "$(sql "SELECT count(*) FROM ers.address_claim WHERE address IN ('anna@acme.example', 'sales@acme.example')")" 0 \
    "the address claims of the user and its alias are gone"
is "$(sql "SELECT count(*) FROM ers.alias")" 0 "its alias is gone"
is "$(sql "SELECT detail FROM ers.audit_log ORDER BY id DESC LIMIT 1")" "with 1 alias(es)" "audit: the alias count"
expect 66 "a deleted user is not found" user show anna@acme.example
expect 0 "the alias's address is free again" user add sales@acme.example --password-file "$P/pw"
expect 0 "... and so is the user's" user add anna@acme.example --password-file "$P/pw"
sql "INSERT INTO ers.address_claim (address, tenant_id, domain_id, kind)
       SELECT 'team@acme.example', d.tenant_id, d.id, 'forward' FROM ers.domain d WHERE d.name = 'acme.example';
     INSERT INTO ers.forward (tenant_id, domain_id, source, source_kind, destinations)
       SELECT d.tenant_id, d.id, 'team@acme.example', 'address', ARRAY['sales@acme.example', 'x@elsewhere.example']
       FROM ers.domain d WHERE d.name = 'acme.example'" >/dev/null
before=$(dump)
expect 73 "a user that receives a forward is not deleted" --yes user delete sales@acme.example
like "$ERR" '^ersctl: user delete: sales@acme.example or its aliases receive mail forwarded from team@acme.example: delete or change those forwards first$' \
    "... the error names the forward"
is "$(dump)" "$before" "... and nothing changed"
refused 66 'no user nobody@acme.example' "delete an unknown user" --yes user delete nobody@acme.example

# --- bad input for every user command ---------------------------------------------------------------
U=anna@acme.example
refused 64 'user add: expects EMAIL \(see: ersctl help user add\)' "add without an address" user add --password-file "$P/pw"
refused 64 'user add: expects EMAIL, got too many arguments' "add with two addresses" user add a@acme.example b@acme.example --password-file "$P/pw"
refused 64 'user add: unknown option --password; possibilities are: --first-name' "add --password (never on the command line)" user add x@acme.example --password secret-secret
refused 64 'user add: option --password-file needs a value' "add --password-file without a file" user add x@acme.example --password-file
refused 64 'user add: option --quota-mb is given twice' "add --quota-mb twice" user add x@acme.example --password-file "$P/pw" --quota-mb 1 --quota-mb 2
refused 64 'user add: --role must be one of: user tenant_admin super_admin; got "admin"' "add --role admin" user add x@acme.example --password-file "$P/pw" --role admin
refused 64 'user add: option --internal-only takes no value' "add --internal-only=yes" user add x@acme.example --password-file "$P/pw" --internal-only=yes
refused 64 'user add: option --generate-password takes no value' "add --generate-password=1" user add x@acme.example --generate-password=1
for q in -1 1048577 abc "" 1.5 none 0x10; do
    refused 65 '--quota-mb must be a whole number 0..1048576' "add --quota-mb \"$q\"" user add x@acme.example --password-file "$P/pw" --quota-mb "$q"
done
refused 65 'give the password \(--password-file\) or ask for a generated one \(--generate-password\), not both' "add with neither password" user add x@acme.example
refused 65 'not both' "add with both passwords" user add x@acme.example --password-file "$P/pw" --generate-password
refused 65 'password must be 12 to 511 bytes long, got 11' "add with an 11-byte password" user add x@acme.example --password-file "$P/pw11"
refused 65 'password must be 12 to 511 bytes long, got 0' "add with an empty password file" user add x@acme.example --password-file "$P/empty"
refused 65 'password must be 12 to 511 bytes long, got 512' "add with a 512-byte password" user add x@acme.example --password-file "$P/pw512"
refused 65 'password must be 12 to 511 bytes long, got 1025' "add with a 1025-byte password" user add x@acme.example --password-file "$P/pw1025"
refused 65 'password must be 12 to 511 bytes long, got 5000' "add with a 5000-byte password file: its real length" user add x@acme.example --password-file "$P/pw5000"
head -c 70000 /dev/zero | tr '\0' 'm' >"$P/pw70000"
refused 65 "--password-file: $P/pw70000 holds more than 65536 bytes, far more than a password" "add with a 70000-byte password file" user add x@acme.example --password-file "$P/pw70000"
refused 65 '--password-file: the secret must not contain a NUL byte' "add with a NUL in the password" user add x@acme.example --password-file "$P/pwnul"
refused 65 'password must not contain a line break' "add with a two-line password file" user add x@acme.example --password-file "$P/pwlines"
refused 65 "--password-file: cannot read $P/nothing: No such file or directory" "add with a missing password file" user add x@acme.example --password-file "$P/nothing"
refused 65 "--password-file: cannot read $P: Is a directory" "add with a directory as password file" user add x@acme.example --password-file "$P"
refused 65 'first name must be at most 100' "add with a 101-character first name" user add x@acme.example --password-file "$P/pw" --first-name "$(printf 'n%.0s' {1..101})"
refused 65 'last name' "add with a control character in the last name" user add x@acme.example --password-file "$P/pw" --last-name $'a\x01b'
refused 66 'no user nobody@acme.example \(see: ersctl user list\)' "show an unknown user" user show nobody@acme.example
refused 65 'must look like name@domain' "show a non-address" user show nobody
refused 64 'user show: expects EMAIL' "show without an address" user show
refused 64 'user show: unknown option --all' "show --all" user show "$U" --all
refused 64 'user list: takes no arguments, got "Acme"' "list with an argument" user list Acme
refused 64 'user list: --role must be one of: user tenant_admin super_admin; got "root"' "list --role root" user list --role root
refused 64 'user list: --status must be one of: active disabled; got "gone"' "list --status gone" user list --status gone
refused 65 '--limit must be a whole number 1..10000' "list --limit 0" user list --limit 0
refused 65 '--limit must be a whole number 1..10000' "list --limit 10001" user list --limit 10001
refused 65 '--limit must be a whole number 1..10000' "list --limit x" user list --limit x
refused 66 'no tenant is named "Nobody" or owns that domain' "list --tenant Nobody" user list --tenant Nobody
refused 64 'user edit: expects EMAIL' "edit without an address" user edit --first-name X
refused 64 'user edit: nothing to change: give at least one new value' "edit with nothing to change" user edit "$U"
refused 64 'user edit: --internal-only must be one of: yes no; got "maybe"' "edit --internal-only maybe" user edit "$U" --internal-only maybe
refused 64 'user edit: unknown option --password-file' "edit --password-file (that is passwd)" user edit "$U" --password-file "$P/pw"
refused 64 'user edit: --role must be one of' "edit --role boss" user edit "$U" --role boss
for q in -1 1048577 abc "" NONE; do
    refused 65 '--quota-mb must be a whole number 0..1048576' "edit --quota-mb \"$q\"" user edit "$U" --quota-mb "$q"
done
refused 65 'first name must be at most 100' "edit with a 101-character first name" user edit "$U" --first-name "$(printf 'n%.0s' {1..101})"
refused 66 'no user nobody@acme.example' "edit an unknown user" user edit nobody@acme.example --first-name X
refused 64 'user passwd: expects EMAIL' "passwd without an address" user passwd --password-file "$P/pw"
refused 64 'user passwd: unknown option --password;' "passwd --password" user passwd "$U" --password x
refused 65 'give the new password \(--password-file\) or ask for a generated one \(--generate-password\), not both' "passwd with neither" user passwd "$U"
refused 65 'not both' "passwd with both" user passwd "$U" --password-file "$P/pw" --generate-password
refused 65 'password must be 12 to 511 bytes long, got 11' "passwd with an 11-byte password" user passwd "$U" --password-file "$P/pw11"
refused 65 'password must be 12 to 511 bytes long, got 1025' "passwd with a 1025-byte password" user passwd "$U" --password-file "$P/pw1025"
refused 65 "--password-file: cannot read $P/nothing" "passwd with a missing password file" user passwd "$U" --password-file "$P/nothing"
refused 65 "--current-password-file: cannot read $P/nothing" "passwd with a missing current-password file" \
    --as "$U" user passwd "$U" --password-file "$P/pw" --current-password-file "$P/nothing"
refused 65 '--current-password-file: the secret must not contain a NUL byte' "passwd with a NUL in the current password" \
    --as "$U" user passwd "$U" --password-file "$P/pw" --current-password-file "$P/pwnul"
refused 66 'no user nobody@acme.example' "passwd an unknown user" user passwd nobody@acme.example --password-file "$P/pw"
refused 65 'must look like name@domain' "passwd a non-address" user passwd nobody --password-file "$P/pw"
for verb in disable enable delete; do
    refused 64 "user $verb: expects EMAIL" "$verb without an address" --yes user "$verb"
    refused 64 "user $verb: expects EMAIL, got too many arguments" "$verb with two addresses" --yes user "$verb" "$U" bob.jones@acme.example
    refused 64 "user $verb: unknown option --force" "$verb --force" --yes user "$verb" "$U" --force
    refused 66 "no user nobody@acme.example" "$verb an unknown user" --yes user "$verb" nobody@acme.example
    refused 65 'must look like name@domain' "$verb a non-address" --yes user "$verb" nobody
done
refused 66 '--as: no user nobody@acme.example' "--as an unknown user" --as nobody@acme.example user show "$U"
refused 65 '--as: address "nobody" must look like name@domain' "--as a non-address" --as nobody user show "$U"
refused 64 'option --as needs a value, got an empty one' "--as empty" --as= user show "$U"

done_testing
