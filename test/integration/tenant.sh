# Tenants, their domains and the approved hosts: the happy paths, the
# policy's answers and the audit rows they leave.
. "$(dirname "$0")/lib.sh"
new_db
# json FIELD: the value of a top-level key of $OUT (a JSON object) as text.
json() { printf '%s' "$OUT" | python3 -c 'import json, sys; v = json.load(sys.stdin)[sys.argv[1]]; print("null" if v is None else str(v).lower() if isinstance(v, bool) else v)' "$1"; }

expect 0 "approve an IMAP host (default port 993)" server host add mail.example.net --kind imap
like "$OUT" "mail.example.net +imap +993 +implicit" "993 is implicit TLS"
expect 0 "approve SMTP on two ports" server host add Mail.Example.NET --kind smtp --port 587,465
like "$OUT" "smtp +587 +starttls" "587 is STARTTLS"
expect 0 "approve an IP literal on a custom port with an explicit TLS mode" server host add 127.0.0.1 --kind imap --port 10993 --tls implicit
expect 73 "the same approval twice is a conflict" server host add mail.example.net --kind imap

expect 0 "create a tenant" tenant add "Acme Corp" --domain ACME.Example. --imap-host mail.example.net --smtp-host mail.example.net --max-users 50 --max-storage-mb 10240
like "$OUT" "primary domain: +acme.example$" "domain is lower-cased and loses its trailing dot"
expect 0 "create a tenant with an IDN domain" --json tenant add "Bücher GmbH" --domain bücher.example --imap-host 127.0.0.1 --imap-port 10993 --smtp-host mail.example.net --smtp-port 465
like "$OUT" '"primary_domain": "xn--bcher-kva.example"' "IDN stored as punycode"
like "$OUT" '"max_users": null' "no limit is null in JSON"

expect 0 "list tenants as JSON" --json tenant list
is "$(printf '%s' "$OUT" | grep -c '"name": "Acme Corp"')" 1 "Acme listed once"
expect 0 "show by any domain" tenant show bücher.example
like "$OUT" "name: +Bücher GmbH" "found by its IDN domain"
expect 0 "show by name in any case" tenant show "acme corp"

expect 0 "add a second domain" tenant domain add "Acme Corp" acme-mail.example
expect 0 "make it primary" tenant domain primary acme.example acme-mail.example
like "$OUT" "acme-mail.example +yes" "the new domain is primary"
expect 73 "the primary domain cannot be removed" tenant domain remove "Acme Corp" acme-mail.example
like "$ERR" "primary domain" "the refusal says why"
expect 0 "a non-primary domain can be removed" tenant domain remove "Acme Corp" acme.example
expect 73 "a domain belongs to one tenant only" tenant domain add "Bücher GmbH" acme-mail.example

expect 0 "edit limits and rename" tenant edit "Acme Corp" --name "Acme Inc" --max-users none --max-storage-mb 20480
like "$OUT" "max users: +none" "limit cleared"
expect 0 "move to another approved SMTP port" tenant edit "Acme Inc" --smtp-port 465
like "$OUT" "smtp: +mail.example.net:465" "SMTP port changed"

expect 73 "a host in use cannot be withdrawn" server host remove mail.example.net --kind smtp --port 465
like "$ERR" "still used by tenant" "the refusal names the users"
expect 0 "an unused port can be withdrawn" server host remove mail.example.net --kind smtp --port 587

expect 64 "delete refuses without a terminal or --yes" tenant delete "Acme Inc"
like "$ERR" "pass --yes" "and says how to confirm"
expect 0 "delete with --yes" --yes tenant delete "Acme Inc"
is "$(sql "SELECT count(*) FROM ers.domain WHERE name LIKE 'acme%'")" 0 "its domains went with it"
expect 66 "a deleted tenant is not found" tenant show "Acme Inc"

expect 0 "audit list as JSON" --json audit list --limit 50
for action in host.add tenant.add tenant.domain.add tenant.domain.primary tenant.domain.remove tenant.edit host.remove tenant.delete db.migrate; do
    like "$OUT" "\"action\": \"$action\"" "audit has $action"
done
expect 0 "audit filtered by tenant" --json audit list --tenant "Bücher GmbH"
unlike "$OUT" "Acme" "the filter keeps other tenants out"
expect 0 "audit filtered by actor and time" audit list --actor root --since 1h
like "$OUT" "operator:root" "actor filter accepts the login name"
is "$(sql "SELECT count(*) FROM ers.audit_log WHERE action = 'tenant.add'")" 2 "one audit row per creation"
unlike "$(sql "SELECT string_agg(detail, ' ') FROM ers.audit_log")" "SMIME|$(sed -n 's/SMIME_MASTER_KEY=//p' "$ERS_STACK_DIR/secrets")" "no secret in the audit log"

# --- a limit lowered below what the tenant uses ------------------------------------
# A reseller downgrading a customer's plan is not made to delete mailboxes
# first: the lower limit is accepted with a warning naming the use, and
# nothing that grows the use is allowed until it is under the limit again.
printf 'shrink-password-1\n' >"$T_DIR/pw"
S=(--imap-host mail.example.net --smtp-host mail.example.net --smtp-port 465)
expect 0 "setup: tenant Shrink Ltd" tenant add "Shrink Ltd" --domain shrink.example "${S[@]}" --max-users 10 --max-storage-mb 1000
for i in 1 2 3 4 5 6; do
    expect 0 "setup: user u$i with 150 MB" user add "u$i@shrink.example" --password-file "$T_DIR/pw" --quota-mb 150
done
expect 0 "show: not over its limits" --json tenant show "Shrink Ltd"
like "$OUT" '"over_max_users": false' "JSON: not over max users"
like "$OUT" '"over_max_storage": false' "JSON: not over max storage"
like "$OUT" '"quota_mb_total": 900' "JSON: the quotas given"
a0=$(sql "SELECT max(id) FROM ers.audit_log")
expect 0 "a max users below the use is accepted" tenant edit "Shrink Ltd" --max-users 1
is "$ERR" 'ersctl: warning: tenant "Shrink Ltd" has 6 users, over its new limit of 1: no user can be added until it is under the limit' \
    "the warning names the use and the limit"
like "$OUT" 'max users: +1 \(over: 6 users\)$' "the answer marks the limit as exceeded"
is "$(sql "SELECT max_users FROM ers.tenant WHERE name = 'Shrink Ltd'")" 1 "the new limit is stored"
is "$(sql "SELECT action || ': ' || detail FROM ers.audit_log WHERE id > $a0")" \
    "tenant.edit: max users 1, over it with 6 users" "one audit row records the limit and the use over it"
expect 0 "show marks the tenant over its user limit" tenant show shrink.example
like "$OUT" 'max users: +1 \(over: 6 users\)$' "text: over max users"
like "$OUT" 'max storage: +1000 MB$' "text: storage not marked"
like "$OUT" 'quotas given: +900 MB$' "text: the quotas given"
expect 0 "show --json marks it too" --json tenant show "Shrink Ltd"
like "$OUT" '"over_max_users": true' "JSON: over max users"
like "$OUT" '"over_max_storage": false' "JSON: storage not over"
expect 0 "list marks it" tenant list
like "$OUT" 'Shrink Ltd .* 1 \(over\) +1000 MB ' "list: the MAX USERS column says over"
refused 73 'tenant "Shrink Ltd" has 6 users, over its limit of 1: no user can be added until it is under the limit' \
    "user add is refused while over, and nothing changes" user add u7@shrink.example --password-file "$T_DIR/pw" --quota-mb 10
printf 'address,quota_mb,password_hash\nu7@shrink.example,10,%s\n' "$(sql "SELECT password_hash FROM ers.mailbox WHERE address = 'u1@shrink.example'")" >"$T_DIR/one.csv"
refused 73 'nothing was imported: tenant "Shrink Ltd" has 6 users, over its limit of 1: no user can be added until it is under the limit; the file adds 1' \
    "user import is refused while over, and nothing changes" user import "$T_DIR/one.csv"
expect 0 "a quota can still be raised within the storage limit" user edit u1@shrink.example --quota-mb 200
expect 0 "deleting a user is allowed while over" --yes user delete u6@shrink.example
refused 73 'has 5 users, over its limit of 1' "still over after one delete" \
    user add u7@shrink.example --password-file "$T_DIR/pw" --quota-mb 10

a0=$(sql "SELECT max(id) FROM ers.audit_log")
expect 0 "a max storage below the quotas given is accepted (--json)" --json tenant edit "Shrink Ltd" --max-storage-mb 500
is "$ERR" 'ersctl: warning: tenant "Shrink Ltd" has given 800 MB in quotas, over its new storage limit of 500 MB: no user can be added and no quota raised until it is under the limit' \
    "the warning names the quotas given and the limit"
is "$(json warning)" 'tenant "Shrink Ltd" has given 800 MB in quotas, over its new storage limit of 500 MB: no user can be added and no quota raised until it is under the limit' \
    "the JSON answer carries the warning"
is "$(json over_max_storage) $(json over_max_users) $(json quota_mb_total)" "true true 800" "and marks both limits"
is "$(sql "SELECT detail FROM ers.audit_log WHERE id > $a0")" \
    "max storage 500 MB, over it with 800 MB given in quotas" "the audit row records it"
expect 0 "show: over max storage" tenant show "Shrink Ltd"
like "$OUT" 'max storage: +500 MB \(over: 800 MB given in quotas\)$' "text: over max storage"
refused 73 'tenant "Shrink Ltd" has given 800 MB in quotas, over its storage limit of 500 MB: no user can be added and no quota raised until it is under the limit' \
    "raising a quota is refused while over, and nothing changes" user edit u2@shrink.example --quota-mb 151
expect 0 "lowering a quota is allowed while over" user edit u2@shrink.example --quota-mb 100
is "$(sql "SELECT quota_mb FROM ers.mailbox WHERE address = 'u2@shrink.example'")" 100 "the lower quota is stored"
refused 73 'has given 750 MB in quotas, over its storage limit of 500 MB' "still over: another raise is refused" \
    user edit u3@shrink.example --quota-mb 160
expect 0 "names can still be changed while over" user edit u3@shrink.example --first-name Una
expect 0 "disable while over" user disable u3@shrink.example
expect 0 "enable while over: disabled users count already" user enable u3@shrink.example

a0=$(sql "SELECT max(id) FROM ers.audit_log")
expect 0 "both limits at once: one warning naming both" tenant edit "Shrink Ltd" --max-users 2 --max-storage-mb 100
is "$ERR" 'ersctl: warning: tenant "Shrink Ltd" has 5 users, over its new limit of 2, and has given 750 MB in quotas, over its new storage limit of 100 MB: no user can be added and no quota raised until it is under both limits' \
    "the warning names both"
is "$(sql "SELECT detail FROM ers.audit_log WHERE id > $a0")" \
    "max users 2, over it with 5 users; max storage 100 MB, over it with 750 MB given in quotas" "one audit row with both"
expect 0 "a rename while over says nothing about the limits" tenant edit "Shrink Ltd" --name "Shrink Limited"
is "$ERR" "" "no warning"

expect 0 "raise the limits back" tenant edit "Shrink Limited" --max-users 6 --max-storage-mb 850
is "$ERR" "" "no warning once the limits hold the use"
expect 0 "show: not over any more" --json tenant show "Shrink Limited"
is "$(json over_max_users) $(json over_max_storage)" "false false" "JSON: neither limit exceeded"
expect 0 "user add works again" user add u6@shrink.example --password-file "$T_DIR/pw" --quota-mb 50
expect 0 "a raise within the limit works again" user edit u2@shrink.example --quota-mb 150
refused 73 'tenant "Shrink Limited" allows at most 6 users and has 6 already' "at the limit, not over: the usual refusal" \
    user add u7@shrink.example --password-file "$T_DIR/pw" --quota-mb 0
refused 73 'tenant "Shrink Limited" has a storage limit of 850 MB and 650 MB is already given to other mailboxes. quotas: at most 200 MB is left, asked for 201' \
    "at the storage limit, not over: the usual refusal" user edit u1@shrink.example --quota-mb 201
expect 0 "a limit equal to the use is no warning" tenant edit "Shrink Limited" --max-users 6 --max-storage-mb 850
is "$ERR" "" "no warning at exactly the use"
expect 0 "setting no limit is no warning" tenant edit "Shrink Limited" --max-users none
is "$ERR" "" "no warning without a limit"

# Bad values are still refused, and nothing changes.
refused 65 '--max-users must be a whole number 0..1000000, or none for no limit; got "-1"' "a negative max users" \
    tenant edit "Shrink Limited" --max-users -1
refused 65 '--max-storage-mb must be a whole number 0..104857600, or none for no limit; got "99999999999999999999"' \
    "an absurd max storage" tenant edit "Shrink Limited" --max-storage-mb 99999999999999999999

done_testing
