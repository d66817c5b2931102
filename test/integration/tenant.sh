# Tenants, their domains and the approved hosts: the happy paths, the
# policy's answers and the audit rows they leave.
. "$(dirname "$0")/lib.sh"
new_db

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

done_testing
