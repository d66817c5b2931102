# Aliases: the happy paths, the policy through --as, addresses shared with
# users and forwards, loops through aliases, bad input, and what aliases do
# to domain removal and tenant deletion.
. "$(dirname "$0")/lib.sh"
new_db

expect 0 "setup: approve IMAP" server host add mail.example.net --kind imap
expect 0 "setup: approve SMTP" server host add mail.example.net --kind smtp
H=(--imap-host mail.example.net --smtp-host mail.example.net)
expect 0 "setup: tenant Acme" tenant add Acme --domain acme.example "${H[@]}"
expect 0 "setup: a second domain for Acme" tenant domain add Acme acme2.example
expect 0 "setup: tenant Other" tenant add Other --domain other.example "${H[@]}"
printf 'correct horse battery\n' >"$T_DIR/pw"
for u in alice bob carol; do
    expect 0 "setup: user $u" --quiet user add "$u@acme.example" --password-file "$T_DIR/pw"
done
expect 0 "setup: a tenant admin" --quiet user add boss@acme.example --role tenant_admin --password-file "$T_DIR/pw"
expect 0 "setup: a user of the other tenant" --quiet user add zed@other.example --password-file "$T_DIR/pw"
expect 0 "setup: a super admin (of the other tenant)" --quiet user add sa@other.example --role super_admin --password-file "$T_DIR/pw"

# --- happy paths ---------------------------------------------------------
expect 0 "add an alias" alias add Sales@ACME.Example --to alice@acme.example
is "$OUT" "created alias sales@acme.example for user alice@acme.example" "says what it made, in lower case"
is "$(sql "SELECT kind FROM ers.address_claim WHERE address = 'sales@acme.example'")" alias "the alias claims its address"
expect 0 "an internal-only alias in the tenant's second domain, as JSON" --json alias add info@acme2.example --to ALICE@acme.example --internal-only
like "$OUT" '"address": "info@acme2.example"' "JSON: address"
like "$OUT" '"user": "alice@acme.example"' "JSON: the user"
like "$OUT" '"internal_only": true' "JSON: internal only"
like "$OUT" '"tenant": "Acme"' "JSON: tenant"
is "$(sql "SELECT internal_only FROM ers.alias WHERE address = 'info@acme2.example'")" t "internal only is stored"
expect 0 "list the aliases" alias list
like "$OUT" "sales@acme.example +alice@acme.example +Acme +no" "the table shows the alias, its user, tenant and flag"
like "$OUT" "info@acme2.example +alice@acme.example +Acme +yes" "and the internal-only one"
expect 0 "list as JSON" --json alias list --tenant acme.example
is "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(" ".join(a["address"] for a in json.load(sys.stdin)["aliases"]))')" \
    "sales@acme.example info@acme2.example" "JSON list: the aliases, by domain then address"
is "$(sql "SELECT detail FROM ers.audit_log WHERE action = 'alias.add' AND target = 'info@acme2.example' AND outcome = 'ok'")" \
    "for user alice@acme.example, internal only" "one audit row per alias, with what it is"

# --- the policy -------------------------------------------------------------
expect 0 "a tenant admin adds an alias for a regular user of its tenant" --as boss@acme.example alias add support@acme.example --to bob@acme.example
is "$(sql "SELECT actor || ' ' || via FROM ers.audit_log WHERE target = 'support@acme.example'")" "boss@acme.example operator:$(id -un)" \
    "the audit row names the admin and the operator"
denied 'boss@acme.example \(tenant_admin\) may not alias.manage' "a tenant admin cannot give an admin (itself) an alias" \
    --as boss@acme.example alias add chief@acme.example --to boss@acme.example
denied 'may not alias.manage' "a tenant admin cannot give a user of another tenant an alias" \
    --as boss@acme.example alias add z2@other.example --to zed@other.example
denied 'may not alias.manage' "a user cannot add an alias, not even for itself" --as bob@acme.example alias add bob2@acme.example --to bob@acme.example
expect 0 "an operator gives the admin an alias" alias add chief@acme.example --to boss@acme.example
denied 'may not alias.manage' "a tenant admin cannot delete an admin's alias" --as boss@acme.example alias delete chief@acme.example
denied 'may not alias.manage' "a user cannot delete its own alias" --as bob@acme.example alias delete support@acme.example
expect 0 "a super admin adds an alias in a tenant not its own" --as sa@other.example alias add helpdesk@acme.example --to carol@acme.example
expect 0 "the tenant admin's list" --as boss@acme.example alias list
like "$OUT" "support@acme.example" "shows a regular user's alias"
unlike "$OUT" "chief@acme.example" "not an admin's"
expect 0 "a user's list" --as bob@acme.example --json alias list
is "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(" ".join(a["address"] for a in json.load(sys.stdin)["aliases"]))')" \
    "support@acme.example" "a user sees only the aliases that deliver to it"
denied 'may not alias.view' "a tenant admin cannot list another tenant's aliases" --as boss@acme.example alias list --tenant Other
expect 0 "the super admin lists every tenant's" --as sa@other.example alias list
like "$OUT" "chief@acme.example" "including admins' aliases"

# --- addresses are a user's, an alias's or a forward's -----------------------
refused 73 'address sales@acme.example is already used by an alias' "the same alias twice (other case)" alias add SALES@acme.example --to bob@acme.example
refused 73 'address bob@acme.example is already used by a mailbox' "an alias on a user's address" alias add bob@acme.example --to alice@acme.example
refused 73 'already used by an alias' "a user on an alias's address" user add sales@acme.example --password-file "$T_DIR/pw"
expect 0 "setup: a forwarding address" forward add team@acme.example --to bob@acme.example
refused 73 'address team@acme.example is already used by a forward' "an alias on a forward's address" alias add team@acme.example --to alice@acme.example
refused 73 'sales@acme.example is an alias of user alice@acme.example' "a forward on an alias's address" forward add sales@acme.example --to bob@acme.example

# --- loops ----------------------------------------------------------------------
# alice forwards her mail to team@, team@ goes to bob; an alias of alice on
# the way back closes the loop only through a forward, so make team@ go to
# an alias of alice: alice -> team -> sales -> alice.
expect 0 "setup: delete team@" forward delete team@acme.example
expect 0 "setup: team@ to alice's alias" forward add team@acme.example --to sales@acme.example
refused 73 'forwarding loop: alice@acme.example -> team@acme.example -> sales@acme.example -> alice@acme.example' \
    "a forward that comes back through an alias is a loop, and the loop is named" forward add alice@acme.example --to team@acme.example
# Across tenants, through a catch-all: carol is acme2's catch-all; zed@other
# forwards to an address of acme2 that nothing has, so it reaches carol; an
# alias at that address, for bob, takes it out of the catch-all.
expect 0 "setup: acme2's catch-all goes to carol" forward add '*@acme2.example' --to carol@acme.example
expect 0 "setup: an alias lost@acme2 for bob" alias add lost@acme2.example --to bob@acme.example
expect 0 "setup: zed@other forwards to lost@acme2" forward add zed@other.example --to lost@acme2.example
expect 0 "setup: carol forwards to zed@other" forward add carol@acme.example --to zed@other.example --keep-copy
refused 73 'forwarding loop: lost@acme2.example -> \*@acme2.example -> carol@acme.example -> zed@other.example -> lost@acme2.example' \
    "deleting an alias whose mail would then reach the catch-all and come back is a loop" alias delete lost@acme2.example
expect 0 "setup: the catch-all goes" forward delete '*@acme2.example'
expect 0 "without the catch-all the alias can go" alias delete lost@acme2.example
is "$(sql "SELECT count(*) FROM ers.address_claim WHERE address = 'lost@acme2.example'")" 0 "its claim went with it"
refused 73 'forwarding loop: lost@acme2.example -> carol@acme.example -> zed@other.example -> lost@acme2.example' \
    "an alias that closes a loop across tenants is refused" alias add lost@acme2.example --to carol@acme.example
refused 73 'forwarding loop: bob@acme.example -> support@acme.example -> bob@acme.example' \
    "forwarding a user's mail to its own alias is a loop" forward add bob@acme.example --to support@acme.example
expect 0 "setup: carol's and zed's forwards go" forward delete carol@acme.example
expect 0 "setup: ..." forward delete zed@other.example

# --- deleting -------------------------------------------------------------------
refused 73 'sales@acme.example receives mail forwarded from team@acme.example: delete or change those forwards first' \
    "an alias a forward sends to cannot be deleted" alias delete sales@acme.example
refused 66 'no alias nobody@acme.example \(see: ersctl alias list\)' "deleting an alias that does not exist" alias delete nobody@acme.example
refused 66 'no alias bob@acme.example' "a user's own address is no alias" alias delete bob@acme.example
expect 0 "delete an alias, as JSON" --json alias delete HelpDesk@acme.example
like "$OUT" '"deleted": true' "JSON says deleted"
is "$(sql "SELECT count(*) FROM ers.alias WHERE address = 'helpdesk@acme.example'") $(sql "SELECT count(*) FROM ers.address_claim WHERE address = 'helpdesk@acme.example'")" \
    "0 0" "the alias and its claim are gone"
is "$(sql "SELECT detail FROM ers.audit_log WHERE action = 'alias.delete' AND target = 'helpdesk@acme.example'")" \
    "of user carol@acme.example" "one audit row for the deletion"
expect 0 "the address is free again" alias add helpdesk@acme.example --to bob@acme.example

# --- bad input ----------------------------------------------------------------------
refused 64 'missing --to EMAIL' "alias add without --to" alias add x@acme.example
refused 64 'alias add: expects ALIAS' "alias add without the alias" alias add --to bob@acme.example
refused 65 'the name before @ may hold only Latin letters, digits, hyphens and periods' "an alias with a plus sign" alias add 'a+b@acme.example' --to bob@acme.example
refused 65 'must look like name@domain' "an alias without a domain" alias add sales --to bob@acme.example
refused 65 'must not start or end with a period' "an alias ending in a period" alias add 'sales.@acme.example' --to bob@acme.example
refused 65 'domain nowhere.example is not one of any tenant' "an alias in a domain no tenant has" alias add x@nowhere.example --to bob@acme.example
refused 65 'an alias must be in one of the domains of its user.s tenant "Acme", and other.example is not' \
    "an alias in another tenant's domain" alias add x@other.example --to bob@acme.example
refused 66 'no user nobody@acme.example' "an alias for no user" alias add x@acme.example --to nobody@acme.example
refused 65 'is the user.s own address' "an alias that is its user's address" alias add bob@acme.example --to BOB@acme.example
refused 65 '--to: address "bob" must look like name@domain' "--to without a domain" alias add x@acme.example --to bob
refused 64 'unknown option --keep-copy' "a forward's option on alias add" alias add x@acme.example --to bob@acme.example --keep-copy
refused 66 'no tenant is named "Nobody"' "listing an unknown tenant's aliases" alias list --tenant Nobody

# --- domains and tenants ---------------------------------------------------------
expect 0 "setup: a catch-all for acme2 again" forward add '*@acme2.example' --to carol@acme.example
refused 73 'domain acme2.example is still used by 1 alias\(es\) \(info@acme2.example\), its catch-all \*@acme2.example \(to carol@acme.example\)' \
    "a domain with an alias and a catch-all cannot be removed" tenant domain remove Acme acme2.example
expect 0 "setup: the catch-all goes" forward delete '*@acme2.example'
expect 0 "setup: the alias goes" alias delete info@acme2.example
expect 0 "then the domain can be removed" tenant domain remove Acme acme2.example
expect 0 "tenant show counts the aliases" --json tenant show Acme
like "$OUT" '"alias_count": 4' "JSON: alias_count"
expect 0 "deleting a user deletes its aliases" --yes user delete boss@acme.example
is "$(sql "SELECT count(*) FROM ers.address_claim WHERE address = 'chief@acme.example'")" 0 "the admin's alias is gone with its claim"

done_testing
