# Forwards ("send a copy to", forwarding addresses, catch-alls) and a
# domain's hidden copy: the happy paths, the policy through --as, conflicts,
# loops through forwards and catch-alls, bad input, domain removal and the
# tenant delete preview.
. "$(dirname "$0")/lib.sh"
new_db

dests() { # the destinations of the forward from $1, space-separated
    sql "SELECT array_to_string(destinations, ' ') FROM ers.forward WHERE source = '$1'"
}

expect 0 "setup: approve IMAP" server host add mail.example.net --kind imap
expect 0 "setup: approve SMTP" server host add mail.example.net --kind smtp
H=(--imap-host mail.example.net --smtp-host mail.example.net)
expect 0 "setup: tenant Acme" tenant add Acme --domain acme.example "${H[@]}"
expect 0 "setup: a second domain for Acme" tenant domain add Acme acme2.example
expect 0 "setup: tenant Other" tenant add Other --domain other.example "${H[@]}"
printf 'correct horse battery\n' >"$T_DIR/pw"
for u in alice bob carol dave; do
    expect 0 "setup: user $u" --quiet user add "$u@acme.example" --password-file "$T_DIR/pw"
done
expect 0 "setup: a user in the second domain" --quiet user add erin@acme2.example --password-file "$T_DIR/pw"
expect 0 "setup: a tenant admin" --quiet user add boss@acme.example --role tenant_admin --password-file "$T_DIR/pw"
expect 0 "setup: an alias of the admin" --quiet alias add chief@acme.example --to boss@acme.example
expect 0 "setup: a user of the other tenant" --quiet user add zed@other.example --password-file "$T_DIR/pw"
expect 0 "setup: a super admin (of the other tenant)" --quiet user add sa@other.example --role super_admin --password-file "$T_DIR/pw"

# --- happy paths ---------------------------------------------------------------
expect 0 "send a copy of a user's mail outside, keeping it" forward add Alice@acme.example --to 'Alice.Home@Example.ORG, a+b@bücher.example' --keep-copy
like "$OUT" "mail for user alice@acme.example goes on to Alice.Home@example.org, a\+b@xn--bcher-kva.example, and a copy stays in the mailbox" \
    "says what it does: the name before @ kept as written, the domain normalised"
is "$(sql "SELECT source_kind || ' ' || keep_copy FROM ers.forward WHERE source = 'alice@acme.example'")" "mailbox true" "stored as a mailbox forward that keeps the mail"
expect 0 "send a user's mail on without keeping it (--to repeated)" forward add bob@acme.example --to carol@acme.example --to zed@other.example
like "$OUT" "the mailbox does not keep it" "says the mailbox does not keep it"
is "$(dests bob@acme.example)" "carol@acme.example zed@other.example" "both destinations, in order"
expect 0 "a forwarding address of its own, as JSON" --json forward add Team@acme.example --to alice@acme.example,dave@acme.example
like "$OUT" '"kind": "address"' "JSON: kind address"
like "$OUT" '"keep_copy": false' "JSON: keep_copy"
is "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)["destinations"]))')" \
    "alice@acme.example dave@acme.example" "JSON: destinations as an array"
is "$(sql "SELECT kind FROM ers.address_claim WHERE address = 'team@acme.example'")" forward "the forwarding address is claimed"
expect 0 "a catch-all" forward add '*@acme.example' --to carol@acme.example
like "$OUT" "created catch-all \*@acme.example: mail for addresses of acme.example that no user, alias or forward has goes to carol@acme.example" \
    "says what a catch-all takes"
is "$(sql "SELECT source || ' ' || source_kind FROM ers.forward WHERE source_kind = 'catchall'")" "@acme.example catchall" "stored as @domain"
expect 0 "a destination that is an alias or a forward of the tenant" forward add desk@acme.example --to team@acme.example,chief@acme.example
expect 0 "list" forward list
like "$OUT" "\*@acme.example +catchall +carol@acme.example +- +Acme" "the catch-all"
like "$OUT" "alice@acme.example +mailbox +Alice.Home@example.org, a\+b@xn--bcher-kva.example +yes" "the copy that is kept"
like "$OUT" "bob@acme.example +mailbox +carol@acme.example, zed@other.example +no" "the copy that is not"
like "$OUT" "team@acme.example +address +alice@acme.example, dave@acme.example +-" "the forwarding address"
expect 0 "list as JSON" --json forward list --tenant Acme
is "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(" ".join(f["source"] for f in json.load(sys.stdin)["forwards"]))')" \
    "*@acme.example alice@acme.example bob@acme.example desk@acme.example team@acme.example" "JSON list, by domain then source"
is "$(sql "SELECT detail FROM ers.audit_log WHERE action = 'forward.add' AND target = 'bob@acme.example'")" \
    "to carol@acme.example, zed@other.example; send on, do not keep the mail" "one audit row per forward, saying what it does"

# --- the policy ---------------------------------------------------------------------
expect 0 "a tenant admin adds a forwarding address of its tenant" --as boss@acme.example forward add sales@acme.example --to dave@acme.example
expect 0 "a tenant admin forwards a regular user's mail" --as boss@acme.example forward add dave@acme.example --to dave@home.example --keep-copy
expect 0 "a tenant admin sets its tenant's second domain's catch-all" --as boss@acme.example forward add '*@acme2.example' --to erin@acme2.example
denied 'boss@acme.example \(tenant_admin\) may not forward.manage' "a tenant admin cannot forward an admin's (its own) mail" \
    --as boss@acme.example forward add boss@acme.example --to boss@home.example
denied 'may not forward.manage' "a tenant admin cannot send mail to an admin's mailbox" \
    --as boss@acme.example forward add ops@acme.example --to boss@acme.example
denied 'may not forward.manage' "... nor to an admin's alias" --as boss@acme.example forward add ops@acme.example --to chief@acme.example
denied 'may not forward.manage' "a tenant admin cannot add another tenant's forward" --as boss@acme.example forward add x@other.example --to zed@other.example
denied 'may not forward.manage' "a user cannot add a forward, not even its own" --as carol@acme.example forward add carol@acme.example --to carol@home.example
denied 'may not forward.manage' "a user cannot delete its own forward" --as bob@acme.example forward delete bob@acme.example
expect 0 "a super admin forwards an admin's mail" --as sa@other.example forward add boss@acme.example --to boss@home.example
expect 0 "the super admin sends an address of the tenant to the admin" --as sa@other.example forward add ops@acme.example --to boss@acme.example
denied 'may not forward.manage' "a tenant admin cannot delete a forward to an admin" --as boss@acme.example forward delete ops@acme.example
denied 'may not forward.manage' "... nor an admin's own" --as boss@acme.example forward delete boss@acme.example
expect 0 "the tenant admin's list" --as boss@acme.example forward list
like "$OUT" "dave@acme.example +mailbox" "shows a regular user's forward"
unlike "$OUT" "boss@acme.example +mailbox" "not an admin's own"
denied 'may not forward.view' "a tenant admin cannot list another tenant's forwards" --as boss@acme.example forward list --tenant other.example
expect 0 "a user's list" --as bob@acme.example --json forward list
is "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(" ".join(f["source"] for f in json.load(sys.stdin)["forwards"]))')" \
    "bob@acme.example" "a user sees only its own forward"
is "$(sql "SELECT count(*) FROM ers.audit_log WHERE action = 'forward.add' AND actor = 'boss@acme.example' AND outcome = 'ok'")" 3 \
    "the tenant admin's changes are audited under its name"

# --- conflicts ------------------------------------------------------------------------
refused 73 'team@acme.example already forwards to alice@acme.example, dave@acme.example: delete that forward first' \
    "a second forward from the same source" forward add TEAM@acme.example --to bob@acme.example
refused 73 'bob@acme.example already forwards to' "a second forward of a user" forward add bob@acme.example --to dave@acme.example
refused 73 '\*@acme.example already forwards to carol@acme.example' "a second catch-all" forward add '*@ACME.example' --to dave@acme.example
refused 73 'address team@acme.example is already used by a forward' "a user on a forwarding address" user add team@acme.example --password-file "$T_DIR/pw"
refused 73 'team@acme.example receives mail forwarded from desk@acme.example: delete or change those forwards first' \
    "a forwarding address another forward sends to cannot be deleted" forward delete team@acme.example

# --- loops -------------------------------------------------------------------------------
refused 65 'a forward cannot send mail to its own source carol@acme.example' "a forward to itself" forward add carol@acme.example --to CAROL@acme.example
refused 73 'this would make a forwarding loop: carol@acme.example -> bob@acme.example -> carol@acme.example \(mail would go round until it bounces\); change or delete one of these aliases or forwards first' \
    "a forward back to a user whose mail comes here is a loop, named" forward add carol@acme.example --to team@acme.example,bob@acme.example
expect 0 "setup: a forwarding address to bob" forward add p@acme.example --to bob@acme.example
refused 73 'forwarding loop: carol@acme.example -> p@acme.example -> bob@acme.example -> carol@acme.example ' \
    "a loop of three steps" forward add carol@acme.example --to p@acme.example
# A loop through a catch-all: dave's mail goes on to nothing@acme2, which no
# one has, so acme2's catch-all takes it to erin; erin back to dave.
expect 0 "setup: an address of another tenant forwards to an unused address of acme2" forward add zed@other.example --to nothing@acme2.example
refused 73 'forwarding loop: erin@acme2.example -> zed@other.example -> nothing@acme2.example -> \*@acme2.example -> erin@acme2.example' \
    "a loop through another tenant and a catch-all is named" forward add erin@acme2.example --to zed@other.example
refused 73 'forwarding loop: erin@acme2.example -> \(an address of another tenant\) -> nothing@acme2.example -> \*@acme2.example -> erin@acme2.example' \
    "to a tenant admin, the other tenant's address is not named" --as boss@acme.example forward add erin@acme2.example --to zed@other.example
expect 0 "setup: nothing@acme2 as a forwarding address of its own" forward add nothing@acme2.example --to dave@acme.example
expect 0 "setup: now erin may forward to zed (erin -> zed -> nothing@ -> dave)" forward add erin@acme2.example --to zed@other.example --keep-copy
refused 73 'forwarding loop: nothing@acme2.example -> \*@acme2.example -> erin@acme2.example -> zed@other.example -> nothing@acme2.example' \
    "deleting a forwarding address whose mail would then go round through the catch-all" forward delete nothing@acme2.example
expect 0 "deleting the catch-all is always safe" forward delete '*@acme2.example'
expect 0 "then the forwarding address can go" forward delete nothing@acme2.example
expect 0 "setup: ..." forward delete erin@acme2.example
expect 0 "setup: ..." forward delete zed@other.example
# A long loop: c1 -> c2 -> ... -> c40 -> zed, then zed -> c1.
chain_ok=0
"$ERSCTL" --quiet forward add c40@other.example --to zed@other.example || chain_ok=1
for i in $(seq 39 -1 1); do
    "$ERSCTL" --quiet forward add "c$i@other.example" --to "c$((i + 1))@other.example" || chain_ok=1
done
ok "$chain_ok" "setup: a chain of 40 forwarding addresses"
refused 73 'forwarding loop: zed@other.example -> \.\.\. -> c10@other.example -> c11@other.example -> .* -> c40@other.example -> zed@other.example \(' \
    "a long loop is named from its start, with the last 31 steps" forward add zed@other.example --to c1@other.example

# --- bad input ------------------------------------------------------------------------------
many=$(for i in $(seq 1 51); do printf 'u%d@example.org,' "$i"; done)
refused 65 'a forward needs 1 to 50 destinations \(--to\), got 51' "51 destinations" forward add carol@acme.example --to "${many%,}"
refused 65 'destination dave@acme.example is given twice' "the same destination twice, in another case" forward add carol@acme.example --to dave@acme.example,DAVE@Acme.Example
refused 65 'destination X@example.org is given twice' "... or for an outside address" forward add carol@acme.example --to x@example.org --to X@EXAMPLE.org
refused 64 'missing --to DEST' "forward add without --to" forward add carol@acme.example
refused 65 '--to "a@example.org,,b@example.org" has an empty item' "an empty item" forward add carol@acme.example --to a@example.org,,b@example.org
refused 65 'destination "a\(b@example.org": the name before @ may hold only letters, digits, periods and' \
    "an outside address with a parenthesis" forward add carol@acme.example --to 'a(b@example.org'
refused 65 'destination "a..b@example.org": the name before @ must not start or end with a period or hold two in a row' \
    "an outside address with two periods in a row" forward add carol@acme.example --to a..b@example.org
refused 65 'destination "nobody": must be an address like name@example.com|destination "nobody" must be an address' \
    "a destination without a domain" forward add carol@acme.example --to nobody
refused 65 'destination "x@localhost": domain "localhost" needs at least two labels' "a destination in a one-label domain" forward add carol@acme.example --to x@localhost
refused 65 'the name before @ may hold only Latin letters, digits, hyphens and periods' \
    "a destination in a domain hosted here follows our own rules" forward add carol@acme.example --to 'a+b@other.example'
refused 65 'destination nobody@acme.example is in one of this tenant.s domains, but no user, alias or forward has that address' \
    "a destination of the same tenant that nothing has" forward add carol@acme.example --to nobody@acme.example
refused 65 'write a domain.s catch-all as \*@acme.example' "a catch-all written without the star" forward add @acme.example --to carol@acme.example
refused 65 'domain nowhere.example is not one of any tenant.s domains' "a source in a domain no tenant has" forward add x@nowhere.example --to carol@acme.example
refused 65 'domain nowhere.example is not one of any tenant.s domains' "a catch-all of a domain no tenant has" forward add '*@nowhere.example' --to carol@acme.example
refused 65 'catch-all "\*@bad_domain": domain' "a catch-all of a malformed domain" forward add '*@bad_domain' --to carol@acme.example
refused 65 'a catch-all delivers only to users of the tenant that owns its domain: x@example.org is not one' \
    "a catch-all to an outside address" forward add '*@acme2.example' --to x@example.org
refused 65 'a catch-all delivers only to users of the tenant that owns its domain: team@acme.example is not one' \
    "a catch-all to a forwarding address" forward add '*@acme2.example' --to team@acme.example
refused 65 'a catch-all delivers only to users of the tenant that owns its domain: zed@other.example is not one' \
    "a catch-all to another tenant's user" forward add '*@acme2.example' --to zed@other.example
refused 65 '--keep-copy applies only to a user.s own address \("send a copy to"\): new@acme.example is no user.s' \
    "--keep-copy on a forwarding address" forward add new@acme.example --to carol@acme.example --keep-copy
refused 65 '--keep-copy applies only to a user.s own address \("send a copy to"\): a catch-all has no mailbox' \
    "--keep-copy on a catch-all" forward add '*@acme2.example' --to erin@acme2.example --keep-copy
refused 66 'no forward from carol@acme.example \(see: ersctl forward list\)' "deleting a forward that does not exist" forward delete carol@acme.example
refused 66 'no forward from \*@acme2.example' "deleting a catch-all that does not exist" forward delete '*@acme2.example'
refused 64 'forward delete: expects SOURCE' "forward delete without a source" forward delete

# --- deleting --------------------------------------------------------------------------------------
expect 0 "delete a user's forward, as JSON" --json forward delete Bob@acme.example
like "$OUT" '"deleted": true' "JSON says deleted"
is "$(sql "SELECT count(*) FROM ers.forward WHERE source = 'bob@acme.example'")|$(sql "SELECT kind FROM ers.address_claim WHERE address = 'bob@acme.example'")" \
    "0|mailbox" "the forward is gone, the user's address stays the user's"
expect 0 "delete a forwarding address" forward delete desk@acme.example
is "$(sql "SELECT count(*) FROM ers.address_claim WHERE address = 'desk@acme.example'")" 0 "its claim is gone"
is "$(sql "SELECT detail FROM ers.audit_log WHERE action = 'forward.delete' AND target = 'desk@acme.example'")" \
    "to team@acme.example, chief@acme.example" "one audit row for the deletion"
expect 73 "a user a catch-all sends to cannot be deleted" --yes user delete carol@acme.example
like "$ERR" 'carol@acme.example or its aliases receive mail forwarded from (\*@acme.example, bob@acme.example|\*@acme.example)' "... and says why"
expect 0 "setup: an alias of dave" alias add dave.alias@acme.example --to dave@acme.example
expect 0 "setup: a forwarding address to that alias" forward add via-alias@acme.example --to dave.alias@acme.example
before=$(dump)
expect 73 "a user whose alias receives a forward of its tenant is not deleted" --yes user delete dave@acme.example
like "$ERR" 'dave@acme.example or its aliases receive mail forwarded from .*via-alias@acme.example' "... and says which forwards"
is "$(dump)" "$before" "... and nothing changed"
expect 0 "cleanup: that forward" forward delete via-alias@acme.example
expect 0 "cleanup: that alias" alias delete dave.alias@acme.example

# --- the hidden copy of a domain's inbound mail -------------------------------------------------------
WARNING="In some countries, enabling the Copy inbound messages switch can be against privacy laws."
expect 0 "turn on a domain's hidden copy" tenant domain copy Acme acme.example --to archive@example.org
is "$ERR" "warning: $WARNING" "the manual's warning on stderr"
like "$OUT" "a hidden copy of every inbound message of acme.example goes to archive@example.org" "says what is now the case"
is "$(sql "SELECT copy_inbound_to FROM ers.domain WHERE name = 'acme.example'")" archive@example.org "stored on the domain"
expect 0 "the warning also under --quiet" --quiet tenant domain copy Acme acme.example --to archive@example.org
is "$ERR|$OUT" "warning: $WARNING|" "warning only"
is "$(sql "SELECT count(*) FROM ers.audit_log WHERE action = 'domain.copy'")" 1 "setting what is set writes no second audit row"
expect 0 "to an address of the tenant, as JSON, by a super admin" --json --as sa@other.example tenant domain copy acme.example acme2.example --to team@acme.example
like "$OUT" "\"warning\": \"$WARNING\"" "JSON: the warning"
like "$OUT" '"copy_inbound_to": "team@acme.example"' "JSON: the address"
expect 0 "tenant domain list shows it" tenant domain list Acme
like "$OUT" "acme.example +yes +archive@example.org" "column COPY INBOUND TO"
like "$OUT" "acme2.example +no +team@acme.example" "for each domain"
expect 0 "tenant show shows it" tenant show Acme
like "$OUT" "hidden copy: +inbound mail of acme.example to archive@example.org" "a line per domain"
denied 'boss@acme.example \(tenant_admin\) may not domain.copy' "a tenant admin may not change a hidden copy" \
    --as boss@acme.example tenant domain copy Acme acme.example --off
refused 64 'give --to ADDRESS to turn the hidden copy on, or --off, not both' "--to and --off" tenant domain copy Acme acme.example --to a@example.org --off
refused 64 'give --to ADDRESS to turn the hidden copy on, or --off, not neither' "neither" tenant domain copy Acme acme.example
refused 65 'destination nobody@acme.example is in one of this tenant.s domains, but no user, alias or forward has that address' \
    "a copy to an address of the tenant that nothing has" tenant domain copy Acme acme.example --to nobody@acme.example
refused 65 'destination "a b@example.org"' "a copy to a malformed address" tenant domain copy Acme acme.example --to 'a b@example.org'
refused 66 'tenant "Acme" has no domain other.example' "another tenant's domain" tenant domain copy Acme other.example --to a@example.org
expect 0 "turn it off" tenant domain copy Acme acme.example --off
is "$ERR" "" "no warning when turning it off"
like "$OUT" "no hidden copy of inbound messages of acme.example" "says so"
expect 0 "JSON: warning is null when off" --json tenant domain copy Acme acme2.example --off
like "$OUT" '"warning": null' "null warning"
like "$OUT" '"copy_inbound_to": null' "null address"
is "$(sql "SELECT string_agg(detail, ' | ' ORDER BY id) FROM ers.audit_log WHERE action = 'domain.copy' AND outcome = 'ok'")" \
    "hidden copy of inbound mail to archive@example.org | hidden copy of inbound mail to team@acme.example | hidden copy off | hidden copy off" \
    "one audit row per change"

# --- domains in use, and the tenant delete preview ------------------------------------------------------
expect 0 "setup: a catch-all for acme2 again" forward add '*@acme2.example' --to erin@acme2.example
expect 0 "setup: a forwarding address in acme2" forward add list@acme2.example --to erin@acme2.example
refused 73 'domain acme2.example is still used by 1 user\(s\) \(erin@acme2.example\), 1 forward\(s\) \(list@acme2.example\), its catch-all \*@acme2.example \(to erin@acme2.example\): delete those first' \
    "a domain in use cannot be removed, and the refusal says by what" tenant domain remove Acme acme2.example
expect 0 "tenant show counts users, aliases and forwards" --json tenant show Acme
like "$OUT" '"user_count": 6' "JSON: user_count"
like "$OUT" '"alias_count": 1' "JSON: alias_count"
like "$OUT" '"forward_count": 10' "JSON: forward_count (catch-alls included)"
expect 0 "tenant list too" tenant list
like "$OUT" "Acme +acme.example +2 +6 " "the USERS column"
expect 0 "delete the tenant" --yes tenant delete Acme
like "$ERR" "6 user\(s\) with their mailboxes" "the preview counts the users"
like "$ERR" "1 alias\(es\)" "... the aliases"
like "$ERR" "10 forward\(s\) and catch-all\(s\)" "... the forwards"
is "$(sql "SELECT count(*) FROM ers.forward WHERE tenant_id = 1")|$(sql "SELECT count(*) FROM ers.address_claim WHERE tenant_id = 1")" "0|0" \
    "its forwards and claims went with it"
like "$(sql "SELECT detail FROM ers.audit_log WHERE action = 'tenant.delete'")" "6 user\(s\), 1 alias\(es\), 10 forward\(s\)" "the audit row counts them"
expect 0 "the other tenant's forward to a deleted address stays" forward list --tenant Other
expect 0 "delete the other tenant, as JSON" --json --yes tenant delete Other
like "$OUT" '"users": 2' "JSON: removed users"
like "$OUT" '"forwards": 40' "JSON: removed forwards"

done_testing
