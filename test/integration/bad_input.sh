# Bad input for every ersctl command: each refusal exits with its documented
# status (64 usage, 65 invalid, 66 not found, 69 unavailable, 73 conflict,
# 77 permission, 78 config), says on one stderr line "ersctl: WHAT: WHY"
# what was wrong and what is allowed, prints no data, and leaves the database
# -- audit log included -- exactly as it was.
. "$(dirname "$0")/lib.sh"
new_db

# bad STATUS REGEX DESCRIPTION ARGS...: refused, and nothing on stdout.
bad() {
    refused "$@"
    [ -z "$OUT" ] || { ok 1 "$3: nothing on stdout"; diag "stdout: $OUT"; }
}

# bad_json STATUS CODE REGEX DESCRIPTION ARGS...: under --json the refusal
# is one JSON object {"error": {code, message, exit_status}} on stdout, with
# nothing on stderr (not a terminal), and the database is unchanged.
bad_json() {
    local want=$1 code=$2 re=$3 desc=$4 before after bad=0 why; shift 4
    before=$(dump)
    run --json "$@"
    after=$(dump)
    [ "$RC" -eq "$want" ] || bad=1
    [ -z "$ERR" ] || bad=1
    [ "$before" = "$after" ] || bad=1
    why=$(printf '%s' "$OUT" | python3 -c '
import json, re, sys
try:
    o = json.load(sys.stdin)
except ValueError as e:
    sys.exit("stdout is not JSON: %s" % e)
e = o.get("error") if isinstance(o, dict) else None
if not isinstance(e, dict) or set(o) != {"error"}:
    sys.exit("not an object with only an error key")
if e.get("code") != sys.argv[1] or e.get("exit_status") != int(sys.argv[2]):
    sys.exit("code %r, exit_status %r" % (e.get("code"), e.get("exit_status")))
if not isinstance(e.get("message"), str) or "\n" in e["message"] or not re.search(sys.argv[3], e["message"]):
    sys.exit("message %r" % e.get("message"))
' "$code" "$want" "$re" 2>&1) || bad=1
    ok "$bad" "--json: $desc" || {
        diag "ersctl --json $*" "wanted exit $want, code $code, /$re/; got exit $RC" "$why" "stdout: $OUT" "stderr: $ERR"
        [ "$before" = "$after" ] || diag "the database changed"
    }
}

# --- valid state: approved hosts and two tenants, so that conflicts are real
expect 0 "setup: approve IMAP mail.example.net:993" server host add mail.example.net --kind imap
expect 0 "setup: approve SMTP mail.example.net:587,465" server host add mail.example.net --kind smtp --port 587,465
expect 0 "setup: approve IMAP imap2.example.net:143" server host add imap2.example.net --kind imap --port 143
expect 0 "setup: approve SMTP spare.example.net:25" server host add spare.example.net --kind smtp --port 25
expect 0 "setup: tenant Acme Corp" tenant add "Acme Corp" --domain acme.example --imap-host mail.example.net --smtp-host mail.example.net
expect 0 "setup: a second domain for Acme Corp" tenant domain add "Acme Corp" acme-mail.example
expect 0 "setup: tenant Bücher GmbH" tenant add "Bücher GmbH" --domain bücher.example --imap-host imap2.example.net --imap-port 143 --smtp-host mail.example.net --smtp-port 465 --max-users 10
# Named like a domain of Acme Corp: that key is ambiguous.
expect 0 "setup: tenant acme-mail.example" tenant add acme-mail.example --domain third.example --imap-host imap2.example.net --imap-port 143 --smtp-host spare.example.net --smtp-port 25
audit_rows=$(sql "SELECT count(*) FROM ers.audit_log")

M=(--imap-host mail.example.net --smtp-host mail.example.net)
L63=$(printf 'a%.0s' {1..63})
L64=$(printf 'a%.0s' {1..64})

# --- command words ---------------------------------------------------------
bad 64 'unknown command "tenatn"; possibilities are: alias, archive, audit, autoreply, av, backup, completion, config, db, dkim, dns, forward, help, limits, mailstack, migrate, mtasts, policyd, scan, server, shared, smime, spam, tenant, user$' \
    "unknown noun lists the nouns" tenatn list
bad 64 'ambiguous command "c"; possibilities are: .*completion, config' "ambiguous noun prefix" c check
bad 64 'tenant: ambiguous command "d"; possibilities are: add, autoconfig, delete, domain, edit, golive, list, show$' \
    "ambiguous verb prefix" tenant d list "Acme Corp"
bad 64 'tenant: unknown command "remove"; possibilities are: add, autoconfig, delete, domain' "unknown verb" tenant remove "Acme Corp"
bad 64 'tenant domain: unknown command "rm"; possibilities are: add, copy, list, primary, remove$' \
    "unknown domain verb" tenant domain rm "Acme Corp" acme-mail.example
bad 64 'server: unknown command "hosts"; possibilities are: host$' "unknown server word" server hosts list
bad 64 'server host: which one\? possibilities are: add, list, remove$' "server host without a verb" server host
bad 64 'server host: which one\? possibilities are: add, list, remove$' "an option where the verb belongs" server host --kind imap
bad 64 'audit: which one\? possibilities are: list$' "audit without a verb" audit
bad 64 'db: which one\? possibilities are: migrate, status$' "db without a verb" db
bad 64 'db: unknown command "upgrade"; possibilities are: migrate, status$' "unknown db verb" db upgrade
bad 64 'config: which one\? possibilities are: check$' "config without a verb" config
bad 64 'unknown command ""; possibilities are: alias, archive, audit,' "an empty command word is unknown, not ambiguous" ""
expect 64 "no command at all: usage on stderr" --quiet
like "$ERR" "^usage: ersctl" "the usage says how to call ersctl"
bad_json 64 usage 'which command\? possibilities are: alias, archive, audit, autoreply, av, backup, completion, config, db, dkim, dns, forward, help, limits, mailstack, migrate, mtasts, policyd, scan, server, shared, smime, spam, tenant' "no command at all"
bad_json 64 usage 'unknown command "tenatn"; possibilities are: alias, archive, audit,' "unknown noun" tenatn list
bad 64 'unknown option --bogus before the command; possibilities are: --config, --as, --json' "unknown global option" --bogus tenant list
bad 64 'option --json takes no value' "a global flag given a value before the command" --json=yes tenant list
bad 64 'option --config needs a value \(FILE\)' "--config without its value" --config
bad 64 'option --config is given twice' "--config twice before the command" --config "$ERS_CONFIG" --config=/x tenant list
bad 64 'tenant list: option --config is given twice' "--config before and after the command" --config "$ERS_CONFIG" tenant list --config /x
bad 64 'tenant list: option --config needs a value, got an empty one' "--config with an empty value" tenant list --config=
bad 64 'tenant list: option --yes takes no value' "a global flag given a value after the command" tenant list --yes=1

# --- help and completion -------------------------------------------------
bad 64 'help: no command "bogus"; possibilities are: alias, archive, audit, autoreply, av, backup, completion, config, db, dkim, dns, forward, help, limits, mailstack, migrate, mtasts, policyd, scan, server, shared, smime, spam, tenant, user$' \
    "help for an unknown noun lists each noun once" help bogus
bad 64 'help: no command "tenant bogus"; possibilities are: add, autoconfig, delete, domain, edit, golive, list, show$' \
    "help for an unknown verb lists the noun's verbs" help tenant bogus
bad 64 'no command "tenant domain bogus"; possibilities are: add, copy, list, primary, remove$' "help for an unknown domain verb" help tenant domain bogus
bad 64 'help: expects \[NOUN \[VERB\]\], got too many arguments' "help with too many words" help tenant domain add more
bad 64 'help: unknown option --all; possibilities are: --config, --as, --json' "help with an unknown option" help --all
bad 64 'completion: expects SHELL \(see: ersctl help completion\)' "completion without a shell" completion
bad 64 'completion: unknown shell "tcsh"; possibilities are: bash, zsh, fish$' "completion for an unknown shell" completion tcsh
bad 64 'completion: expects SHELL, got too many arguments' "completion for two shells" completion bash zsh
bad 64 'completion: unknown option --kind; possibilities are: --config,' "completion with another command's option" completion bash --kind imap

# --- spam (the spam filter's options) ----------------------------------------
bad 64 'spam set: --action must be one of: mark junk reject default; got "delete"' "spam set with an unknown action" \
    spam set nowhere.example --action delete
bad 64 'spam set: --filter must be one of: on off default; got "yes"' "spam set with an unknown filter value" \
    spam set nowhere.example --filter yes
bad 65 'spam set: --threshold must be a number from 1 to 100 with two decimals at most \(e.g. 5 or 7.5\); got "101"' \
    "spam set with a threshold out of range" spam set nowhere.example --threshold 101
bad_json 65 invalid '--threshold must be a number from 1 to 100' "a threshold that is no number" spam set nowhere.example --threshold ten
bad 64 'spam set: nothing to change: give --filter, --threshold, --action or --greylisting' "spam set with nothing to set" \
    spam set nowhere.example
bad 64 'spam block add: expects DOMAIN\|EMAIL SENDER' "spam block add without a sender" spam block add nowhere.example
bad 64 'spam milter: --listen must be inet:HOST:PORT or unix:/PATH, got "localhost"' "spam milter on a bad address" \
    spam milter --listen localhost

# --- config check and --config ---------------------------------------------
cfg=$ERS_CONFIG
cp "$cfg" "$T_DIR/bad-key.yaml"; echo "colour: blue" >>"$T_DIR/bad-key.yaml"
line=$(wc -l <"$T_DIR/bad-key.yaml")
sed 's/^  user: ers$/  user: ers\n  bogus: 1/' "$cfg" >"$T_DIR/bad-db-key.yaml"
dbline=$(grep -n bogus "$T_DIR/bad-db-key.yaml" | cut -d: -f1)
printf 'database: [\n' >"$T_DIR/not-yaml.yaml"
sed 's/^  port: .*/  port: abc/' "$cfg" >"$T_DIR/bad-port.yaml"
sed 's#^secrets_file: .*#secrets_file: '"$T_DIR"'/no-secrets#' "$cfg" >"$T_DIR/no-secrets.yaml"
bad 64 'config check: takes no arguments, got "now"' "config check takes no arguments" config check now
bad 64 'config check: unknown option --strict; possibilities are: --config,' "config check has no options" config check --strict
bad 78 "config check: cannot read configuration $T_DIR/missing.yaml: No such file or directory \(give another with --config FILE or ERS_CONFIG\)" \
    "--config at a missing file" config check --config "$T_DIR/missing.yaml"
ERS_CONFIG=$T_DIR/missing.yaml bad 78 "cannot read configuration $T_DIR/missing.yaml" "ERS_CONFIG at a missing file" config check
bad 78 "cannot read configuration $T_DIR/missing.yaml" "a database command with a missing configuration" tenant list --config "$T_DIR/missing.yaml"
bad 78 "config check: $T_DIR/bad-key.yaml:$line:1: \(top level\): unknown key \"colour\"; allowed: database, secrets_file, mailstack, dns, webmail, welcome, scan, archive$" \
    "an unknown top-level key: file:line:col and the allowed keys" --config "$T_DIR/bad-key.yaml" config check
bad 78 "$T_DIR/bad-db-key.yaml:$dbline:3: database: unknown key \"bogus\"; allowed: host, port, name, user, connect_timeout, sslmode" \
    "an unknown database key, for a database command" --config "$T_DIR/bad-db-key.yaml" tenant add "Acme Corp" --domain n.example "${M[@]}"
bad 78 "$T_DIR/not-yaml.yaml:2:1: not valid YAML" "a file that is not YAML" --config "$T_DIR/not-yaml.yaml" config check
bad 78 "$T_DIR/bad-port.yaml:[0-9]+:[0-9]+: database.port: must be a whole number 1..65535, got \"abc\"" \
    "a database port that is not a number" --config "$T_DIR/bad-port.yaml" config check
bad 78 "cannot read secrets file $T_DIR/no-secrets" "a missing secrets file" --config "$T_DIR/no-secrets.yaml" config check
bad_json 78 config "$T_DIR/bad-key.yaml:$line:1: .*unknown key \"colour\"" "an unknown key" --config "$T_DIR/bad-key.yaml" tenant list

# --- db migrate, db status -------------------------------------------------
bad 64 'db migrate: takes no arguments, got "all"' "db migrate takes no arguments" db migrate all
bad 64 'db migrate: unknown option --force; possibilities are: --config,' "db migrate has no options" db migrate --force
bad 64 'db status: takes no arguments, got "x"' "db status takes no arguments" db status x
bad 64 'db status: option --quiet takes no value' "db status --quiet=1" db status --quiet=1
sed 's/^  port: .*/  port: 1/' "$cfg" >"$T_DIR/no-server.yaml"
sed 's/^  name: .*/  name: no_such_database/' "$cfg" >"$T_DIR/no-database.yaml"
bad 69 'db status: cannot connect to PostgreSQL \(host .*, port 1, database .*, user ers\): ' "no server on that port" --config "$T_DIR/no-server.yaml" db status
bad 69 'cannot connect to PostgreSQL .*database "no_such_database" does not exist' "a database that does not exist" --config "$T_DIR/no-database.yaml" db migrate
bad_json 69 unavailable 'cannot connect to PostgreSQL' "no server" --config "$T_DIR/no-server.yaml" tenant list
# A role that may log in but holds no rights on the ERS schema.
role="ers_noright_$RANDOM"
pg postgres -c "CREATE ROLE $role LOGIN" >/dev/null
sed "s/^  user: .*/  user: $role/" "$cfg" >"$T_DIR/no-rights.yaml"
bad 77 'tenant list: database: permission denied for schema ers' "a database role without rights" --config "$T_DIR/no-rights.yaml" tenant list
bad 77 'db migrate: database: permission denied' "db migrate by a role without rights" --config "$T_DIR/no-rights.yaml" db migrate

# --- not an operator --------------------------------------------------------
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
    real=$ERSCTL
    # A copy nobody can reach (the clone may lie under root's 0700 home),
    # with its library beside it, where ersctl's rpath ($ORIGIN) looks.
    mkdir -p "$T_DIR/nobody"
    cp "$real" "$T_DIR/nobody/ersctl"
    cp -L "$(dirname "$real")/libers.so.0" "$T_DIR/nobody/"
    chmod -R a+rX "$T_DIR/nobody"
    printf '#!/bin/sh\ncd / && exec runuser -u nobody -- \047%s\047 "$@"\n' "$T_DIR/nobody/ersctl" >"$T_DIR/as-nobody"
    chmod 755 "$T_DIR/as-nobody"
    ERSCTL=$T_DIR/as-nobody
    for cmd in "tenant list" "server host add evil.example --kind imap" "db migrate" "audit list" "config check"; do
        # shellcheck disable=SC2086
        bad 77 '(tenant list|server host add|db migrate|audit list|config check): operators are root or members of group "ers"$' "not an operator: $cmd" $cmd
    done
    bad_json 77 permission_denied 'operators are root or members of group "ers"' "not an operator" tenant delete "Acme Corp" --yes
    expect 0 "help needs no operator" help tenant
    ERSCTL=$real
else
    for _ in 1 2 3 4 5 6 7; do ok 0 "# skip not root: cannot run as another user"; done
fi

# --- server host add -------------------------------------------------------
bad 64 'server host add: expects HOST \(see: ersctl help server host add\)' "host add without a host" server host add --kind imap
bad 64 'expects HOST, got too many arguments' "host add with two hosts" server host add a.example b.example --kind imap
bad 64 'missing --kind KIND \(what the host serves\)' "host add without --kind" server host add new.example
bad 64 '--kind must be one of: imap smtp; got "pop3"' "--kind pop3" server host add new.example --kind pop3
bad 64 '--kind must be one of: imap smtp; got ""' "--kind empty" server host add new.example --kind ""
bad 64 '--kind must be one of: imap smtp; got "imap smtp"' "--kind with two words" server host add new.example --kind "imap smtp"
bad 64 'option --kind needs a value \(KIND\)' "--kind without its value" server host add new.example --kind
bad 64 'option --kind is given twice' "--kind twice" server host add new.example --kind imap --kind smtp
bad 64 '--tls must be one of: implicit starttls; got "ssl"' "--tls ssl" server host add new.example --kind imap --tls ssl
bad 64 'option --tls is given twice' "--tls twice" server host add new.example --kind imap --tls implicit --tls starttls
bad 64 'server host add: unknown option --ports; possibilities are: --kind, --port, --tls, --config, --as, --json' \
    "unknown option lists the possibilities" server host add new.example --kind imap --ports 993
bad 64 'unknown option --primary; possibilities are: --kind' "another command's flag" server host add new.example --kind imap --primary
for p in 0 65536 abc -1 1.5 " 993" 99999999999999999999; do
    bad 65 "--port must be a whole number 1..65535, got \"$p\"" "--port \"$p\"" server host add new.example --kind imap --port "$p"
done
bad 65 '--port must be a whole number 1..65535, got nothing' "--port empty" server host add new.example --kind imap --port ""
bad 65 '--port "993," has an empty item' "--port with a trailing comma" server host add new.example --kind imap --port 993,
bad 65 '--port "993,,143" has an empty item' "--port with an empty item" server host add new.example --kind imap --port 993,,143
bad 65 'port 993 is given twice' "--port 993 twice" server host add new.example --kind imap --port 993 --port 993
bad 65 'port 993 is given twice' "--port 993,993" server host add new.example --kind imap --port 993,993
bad 65 'at most 16 ports at once' "17 ports" server host add new.example --kind imap --tls implicit --port "$(seq -s, 1001 1017)"
bad 65 'imap port 10993 has no usual TLS mode: say --tls implicit or --tls starttls' "an unusual port without --tls" server host add new.example --kind imap --port 10993
bad 65 'host name "a b.example" contains a space or control character' "host with a space" server host add "a b.example" --kind imap
bad 65 'host name "a\.\.b" has an empty label \(leading, trailing or double dot\)' "host a..b" server host add a..b --kind imap
bad 65 'host name "\.example" has an empty label' "host with a leading dot" server host add .example --kind imap
bad 65 'host name "-x.example" has a label that starts or ends with a hyphen' "host -x.example (after --)" server host add --kind imap -- -x.example
bad 64 'unknown option -x.example' "host -x.example without -- is taken for an option" server host add -x.example --kind imap
bad 65 'has a label longer than 63 characters' "host with a 64-character label" server host add "$L64.example" --kind imap
bad 65 'must be 1 to 253 characters long' "host name of 255 characters" server host add "$L63.$L63.$L63.$L63" --kind imap
bad 65 'host name "a_b.example" contains "_": only letters, digits, hyphens and dots are allowed' "host with an underscore" server host add a_b.example --kind imap
bad 65 'host name "a\?b.example" contains a space or control character$' "host with a control character (shown as ?)" server host add $'a\x01b.example' --kind imap
bad 65 'host name "a\?b.example" contains a space or control character$' "host with a newline stays one line" server host add $'a\nb.example' --kind imap
bad 65 'host name "\?.example" is not a valid internationalised name' "host with invalid UTF-8" server host add $'\xff.example' --kind imap
bad 65 'host name must not be empty' "empty host" server host add "" --kind imap
bad 65 'host name "x\.123" .*(all-digit|letter)' "host x.123" server host add x.123 --kind imap
bad 65 'contains "\[": only letters' "a bracketed IPv6 literal" server host add "[::1]" --kind imap
bad 73 'mail.example.net is already approved for imap on port 993' "the same approval again (other spelling)" server host add MAIL.Example.NET. --kind imap
bad 73 'mail.example.net is already approved for smtp on port 587' "one of several ports already approved: nothing added" server host add mail.example.net --kind smtp --port 2525,587 --tls starttls
bad_json 65 invalid 'host name "\?.example" is not a valid' "invalid UTF-8 gives valid JSON" server host add $'\xff.example' --kind imap
bad_json 64 usage 'unknown option --ports; possibilities are: --kind, --port, --tls' "unknown option" server host add new.example --kind imap --ports 1
bad_json 73 conflict 'already approved for imap on port 993' "conflict" server host add mail.example.net --kind imap

# --- server host list ------------------------------------------------------
bad 64 'server host list: takes no arguments, got "imap"' "host list takes no arguments" server host list imap
bad 64 '--kind must be one of: imap smtp; got "pop3"' "host list --kind pop3" server host list --kind pop3
bad 64 'unknown option --port; possibilities are: --kind, --config' "host list has no --port" server host list --port 993
bad 64 'option --kind is given twice' "host list --kind twice" server host list --kind imap --kind smtp

# --- server host remove ----------------------------------------------------
bad 64 'server host remove: expects HOST' "host remove without a host" server host remove
bad 64 'expects HOST, got too many arguments' "host remove with two hosts" server host remove spare.example.net mail.example.net
bad 64 '--kind must be one of: imap smtp; got "pop3"' "host remove --kind pop3" server host remove spare.example.net --kind pop3
bad 64 'option --port is given twice' "host remove --port twice" server host remove spare.example.net --port 25 --port 26
bad 64 'unknown option --tls; possibilities are: --kind, --port, --config' "host remove has no --tls" server host remove spare.example.net --tls implicit
for p in 0 65536 abc "" 25,26; do
    bad 65 '--port must be a whole number 1..65535, got' "host remove --port \"$p\"" server host remove spare.example.net --port "$p"
done
bad 65 'host name "a\.\.b" has an empty label' "host remove a..b" server host remove a..b
bad 65 'host name "a_b.example" contains "_"' "host remove with an underscore" server host remove a_b.example
bad 66 'no approved host nope.example matches \(see: ersctl server host list\)' "host remove of a host never approved" server host remove nope.example
bad 66 'no approved host spare.example.net for imap matches' "host remove of the wrong kind" server host remove spare.example.net --kind imap
bad 66 'no approved host spare.example.net for smtp on port 587 matches' "host remove of the wrong port" server host remove spare.example.net --kind smtp --port 587
bad 73 'mail.example.net is still used by tenant\(s\) Acme Corp, Bücher GmbH: move them to another host first \(ersctl tenant edit\)' \
    "host remove while tenants use it" server host remove mail.example.net
bad 73 'imap2.example.net is still used by tenant\(s\) Bücher GmbH' "host remove of an IMAP host in use" server host remove imap2.example.net --kind imap --port 143
bad_json 66 not_found 'no approved host nope.example matches' "not found" server host remove nope.example

# --- tenant add ----------------------------------------------------------------
bad 64 'tenant add: expects NAME \(see: ersctl help tenant add\)' "tenant add without a name" tenant add --domain new.example "${M[@]}"
bad 64 'expects NAME, got too many arguments' "tenant add with two names (unquoted)" tenant add New Co --domain new.example "${M[@]}"
bad 64 'missing --domain DOMAIN' "tenant add without --domain" tenant add New "${M[@]}"
bad 64 'missing --imap-host HOST' "tenant add without --imap-host" tenant add New --domain new.example --smtp-host mail.example.net
bad 64 'missing --smtp-host HOST' "tenant add without --smtp-host" tenant add New --domain new.example --imap-host mail.example.net
bad 64 'option --domain needs a value \(DOMAIN\)' "--domain without its value" tenant add New "${M[@]}" --domain
bad 64 'option --domain is given twice' "--domain twice" tenant add New --domain a.example --domain b.example "${M[@]}"
bad 64 'option --imap-port is given twice' "--imap-port twice" tenant add New --domain new.example "${M[@]}" --imap-port 993 --imap-port 993
bad 64 'option --max-users is given twice' "--max-users twice" tenant add New --domain new.example "${M[@]}" --max-users 1 --max-users 2
bad 64 'tenant add: unknown option --domains; possibilities are: --domain, --imap-host, --imap-port, --smtp-host, --smtp-port, --max-users, --max-storage-mb, --config, --as, --json, --quiet, --yes, --version, --help$' \
    "unknown option lists every possibility" tenant add New --domains new.example "${M[@]}"
bad 64 'unknown option --primary' "domain add's flag on tenant add" tenant add New --domain new.example "${M[@]}" --primary
bad 64 'unknown option --name' "edit's option on tenant add" tenant add New --name Other --domain new.example "${M[@]}"
bad 65 'tenant name must not be empty' "empty tenant name" tenant add "" --domain new.example "${M[@]}"
bad 65 'tenant name must be at most 200 characters, got 201' "201-character name" tenant add "$(printf 'x%.0s' {1..201})" --domain new.example "${M[@]}"
bad 65 'tenant name must be at most 200 characters, got 201' "201 two-byte characters" tenant add "$(printf 'ü%.0s' {1..201})" --domain new.example "${M[@]}"
bad 65 'tenant name must not start or end with a space' "leading space" tenant add " New" --domain new.example "${M[@]}"
bad 65 'tenant name must not start or end with a space' "trailing space" tenant add "New " --domain new.example "${M[@]}"
bad 65 'tenant name must be valid UTF-8 text without control characters' "invalid UTF-8 name" tenant add $'\xff' --domain new.example "${M[@]}"
bad 65 'tenant name must be valid UTF-8 text without control characters' "truncated UTF-8 sequence" tenant add $'New \xc3' --domain new.example "${M[@]}"
bad 65 'tenant name must be valid UTF-8 text without control characters' "tab in the name" tenant add $'New\tCo' --domain new.example "${M[@]}"
bad 65 'tenant name must be valid UTF-8 text without control characters' "newline in the name" tenant add $'New\nCo' --domain new.example "${M[@]}"
bad 73 'a tenant named "Acme Corp" already exists' "duplicate name in another case" tenant add "ACME corp" --domain new.example "${M[@]}"
bad 73 'a tenant named "Bücher GmbH" already exists' "duplicate non-ASCII name in another case" tenant add "BÜCHER GMBH" --domain new.example "${M[@]}"
bad 65 'domain "single" needs at least two labels, like example.com' "single-label domain" tenant add New --domain single "${M[@]}"
bad 65 'domain must not be empty' "empty domain" tenant add New --domain "" "${M[@]}"
bad 65 'domain "a b.example" contains a space or control character' "domain with a space" tenant add New --domain "a b.example" "${M[@]}"
bad 65 'domain "a\.\.b.example" has an empty label' "domain a..b.example" tenant add New --domain a..b.example "${M[@]}"
bad 65 'domain "-x.example" has a label that starts or ends with a hyphen' "domain -x.example" tenant add New --domain -x.example "${M[@]}"
bad 65 'has a label longer than 63 characters' "domain with a 64-character label" tenant add New --domain "$L64.example" "${M[@]}"
bad 65 'domain "a_b.example" contains "_"' "domain with an underscore" tenant add New --domain a_b.example "${M[@]}"
bad 65 'domain "new\?.example" contains a space or control character$' "domain with a control character" tenant add New --domain $'new\x01.example' "${M[@]}"
bad 65 'domain "\?.example" is not a valid internationalised name' "domain with invalid UTF-8" tenant add New --domain $'\xff.example' "${M[@]}"
bad 73 'domain acme-mail.example already belongs to tenant "Acme Corp"' "domain of another tenant (other case, trailing dot)" tenant add New --domain ACME-Mail.Example. "${M[@]}"
bad 73 'domain xn--bcher-kva.example already belongs to tenant "Bücher GmbH"' "punycode of another tenant's IDN domain" tenant add New --domain xn--bcher-kva.example "${M[@]}"
bad 65 'imap host nope.example is not on the approved list \(see: ersctl server host list; an operator adds it with: ersctl server host add nope.example --kind imap\)' \
    "IMAP host not approved" tenant add New --domain new.example --imap-host nope.example --smtp-host mail.example.net
bad 65 'imap host spare.example.net is not on the approved list' "a host approved only for SMTP used as IMAP" tenant add New --domain new.example --imap-host spare.example.net --smtp-host mail.example.net
bad 65 'imap host mail.example.net is approved only on port\(s\) 993, not 143' "IMAP host approved on another port" tenant add New --domain new.example "${M[@]}" --imap-port 143
bad 65 'smtp host mail.example.net is approved only on port\(s\) 465, 587, not 25' "SMTP host approved on other ports" tenant add New --domain new.example "${M[@]}" --smtp-port 25
bad 65 'imap host imap2.example.net is approved only on port\(s\) 143, not 993' "the default IMAP port where only 143 is approved" tenant add New --domain new.example --imap-host imap2.example.net --smtp-host mail.example.net
bad 65 'imap host: host name "a b" contains a space' "IMAP host with a space" tenant add New --domain new.example --imap-host "a b" --smtp-host mail.example.net
bad 65 'smtp host: host name must not be empty' "empty SMTP host" tenant add New --domain new.example --imap-host mail.example.net --smtp-host ""
for p in 0 65536 abc ""; do
    bad 65 "--imap-port must be a whole number 1..65535, got" "--imap-port \"$p\"" tenant add New --domain new.example "${M[@]}" --imap-port "$p"
done
bad 65 '--smtp-port must be a whole number 1..65535, got "-1"' "--smtp-port -1" tenant add New --domain new.example "${M[@]}" --smtp-port -1
for v in -1 1000001 abc 1.5 "" 1e3; do
    bad 65 "--max-users must be a whole number 0..1000000" "--max-users \"$v\"" tenant add New --domain new.example "${M[@]}" --max-users "$v"
done
bad 65 '--max-users must be a whole number 0..1000000; to set no limit, leave it out' "--max-users none is for edit only" tenant add New --domain new.example "${M[@]}" --max-users none
bad 65 '--max-storage-mb must be a whole number 0..104857600; to set no limit, leave it out' "--max-storage-mb none is for edit only" tenant add New --domain new.example "${M[@]}" --max-storage-mb none
for v in -1 104857601 "10 MB"; do
    bad 65 "--max-storage-mb must be a whole number 0..104857600, got \"$v\"" "--max-storage-mb \"$v\"" tenant add New --domain new.example "${M[@]}" --max-storage-mb "$v"
done
bad_json 73 conflict 'a tenant named "Acme Corp" already exists' "duplicate name" tenant add "acme CORP" --domain new.example "${M[@]}"
bad_json 65 invalid 'tenant name must be valid UTF-8' "invalid UTF-8 name" tenant add $'\xff\xfe' --domain new.example "${M[@]}"
bad_json 64 usage 'missing --domain DOMAIN' "missing option" tenant add New "${M[@]}"

# --- tenant list, tenant show --------------------------------------------------
bad 64 'tenant list: takes no arguments, got "all"' "tenant list takes no arguments" tenant list all
bad 64 'unknown option --all; possibilities are: --config, --as, --json' "tenant list has no options" tenant list --all
bad 64 'tenant show: expects TENANT' "tenant show without a tenant" tenant show
bad 64 'expects TENANT, got too many arguments' "tenant show with two tenants" tenant show "Acme Corp" "Bücher GmbH"
bad 64 'unknown option --domain; possibilities are: --config' "tenant show has no options" tenant show "Acme Corp" --domain acme.example
bad 65 'tenant must be named: give its name or one of its domains' "tenant show with an empty name" tenant show ""
bad 65 "give a tenant's name or one of its domains: tenant must be valid UTF-8 text" "tenant show with invalid UTF-8" tenant show $'\xff'
bad 65 "give a tenant's name or one of its domains: tenant must be valid UTF-8 text" "tenant show with a control character" tenant show $'Acme\x7fCorp'
bad 66 'no tenant is named "Nobody" or owns that domain \(see: ersctl tenant list\)' "tenant show of an unknown name" tenant show Nobody
bad 66 'no tenant is named "nobody.example" or owns that domain' "tenant show of an unknown domain" tenant show nobody.example
bad 66 'no tenant is named "x{200}" or owns that domain' "tenant show of a very long name" tenant show "$(printf 'x%.0s' {1..5000})"
bad_json 66 not_found 'no tenant is named "Nobody"' "not found" tenant show Nobody

# --- tenant edit -----------------------------------------------------------
bad 64 'tenant edit: expects TENANT' "tenant edit without a tenant" tenant edit --max-users 5
bad 64 'expects TENANT, got too many arguments' "tenant edit with two tenants" tenant edit Acme Corp --max-users 5
bad 64 'tenant edit: nothing to change: give at least one new value$' "tenant edit with nothing to change" tenant edit "Acme Corp"
bad 64 'nothing to change' "tenant edit with only global options" tenant edit "Acme Corp" --quiet --yes
bad 64 'unknown option --domain; possibilities are: --name, --imap-host, --imap-port, --smtp-host, --smtp-port, --max-users, --max-storage-mb, --time-zone, --junk-days, --pop3, --config' \
    "tenant edit has no --domain" tenant edit "Acme Corp" --domain new.example
bad 64 'option --name is given twice' "--name twice" tenant edit "Acme Corp" --name A --name B
bad 64 'option --name needs a value \(NAME\)' "--name without its value" tenant edit "Acme Corp" --name
bad 64 'option --max-users is given twice' "--max-users twice" tenant edit "Acme Corp" --max-users 5 --max-users none
bad 65 'tenant name must not be empty' "rename to nothing" tenant edit "Acme Corp" --name ""
bad 65 'tenant name must be at most 200 characters, got 201' "rename to 201 characters" tenant edit "Acme Corp" --name "$(printf 'x%.0s' {1..201})"
bad 65 'tenant name must not start or end with a space' "rename with a leading space" tenant edit "Acme Corp" --name " Acme"
bad 65 'tenant name must be valid UTF-8 text' "rename to invalid UTF-8" tenant edit "Acme Corp" --name $'Acme\xff'
bad 73 'a tenant named "Bücher GmbH" already exists' "rename to another tenant's name in another case" tenant edit "Acme Corp" --name "bücher gmbh"
bad 65 'imap host nope.example is not on the approved list' "move to an unapproved IMAP host" tenant edit "Acme Corp" --imap-host nope.example
bad 65 'imap host mail.example.net is approved only on port\(s\) 993, not 143' "IMAP port not approved for the current host" tenant edit "Acme Corp" --imap-port 143
bad 65 'imap host imap2.example.net is approved only on port\(s\) 143, not 993' "IMAP host not approved on the current port" tenant edit "Acme Corp" --imap-host imap2.example.net
bad 65 'smtp host spare.example.net is approved only on port\(s\) 25, not 587' "SMTP host not approved on the current port" tenant edit "Acme Corp" --smtp-host spare.example.net
bad 65 'smtp host mail.example.net is approved only on port\(s\) 465, 587, not 25' "SMTP port not approved" tenant edit "Acme Corp" --smtp-port 25
bad 65 'imap host: host name "a\.\.b" has an empty label' "IMAP host a..b" tenant edit "Acme Corp" --imap-host a..b
bad 65 'smtp host: host name "a_b" contains "_"' "SMTP host with an underscore" tenant edit "Acme Corp" --smtp-host a_b
for p in 0 65536 abc ""; do
    bad 65 "--smtp-port must be a whole number 1..65535, got" "edit --smtp-port \"$p\"" tenant edit "Acme Corp" --smtp-port "$p"
done
for v in -5 1000001 NONE abc ""; do
    bad 65 "--max-users must be a whole number 0..1000000, or none for no limit; got \"$v\"" "edit --max-users \"$v\"" tenant edit "Acme Corp" --max-users "$v"
done
bad 65 '--max-storage-mb must be a whole number 0..104857600, or none for no limit; got "104857601"' "edit --max-storage-mb above the bound" tenant edit "Acme Corp" --max-storage-mb 104857601
bad 66 'no tenant is named "Nobody" or owns that domain' "edit an unknown tenant" tenant edit Nobody --max-users 5
bad 65 'tenant name must be valid UTF-8 text' "a valid limit with an invalid new name changes nothing" tenant edit "Acme Corp" --max-users 5 --name $'\x01'
bad 65 'imap host nope.example is not on the approved list' "a valid rename with an unapproved host changes nothing" tenant edit "Acme Corp" --name "Acme Two" --imap-host nope.example
bad_json 64 usage 'nothing to change' "nothing to change" tenant edit "Acme Corp"
bad_json 65 invalid 'approved only on port\(s\) 993, not 143' "port not approved" tenant edit "Acme Corp" --imap-port 143

# --- tenant delete ---------------------------------------------------------
bad 64 'tenant delete: expects TENANT' "tenant delete without a tenant" tenant delete --yes
bad 64 'expects TENANT, got too many arguments' "tenant delete with two tenants" tenant delete "Acme Corp" "Bücher GmbH" --yes
bad 64 'tenant delete: refusing to delete this tenant without confirmation: no terminal to ask on; pass --yes$' \
    "tenant delete without a terminal or --yes says so on one line" tenant delete "Acme Corp"
bad 64 'option --yes takes no value' "tenant delete --yes=please" tenant delete "Acme Corp" --yes=please
bad 64 'unknown option --force; possibilities are: --config' "tenant delete --force" tenant delete "Acme Corp" --force
bad 65 'tenant must be named' "tenant delete of an empty name" --yes tenant delete ""
bad 65 'tenant must be valid UTF-8 text' "tenant delete of invalid UTF-8" --yes tenant delete $'\xff'
bad 66 'no tenant is named "Nobody" or owns that domain' "tenant delete of an unknown tenant" --yes tenant delete Nobody
bad_json 64 usage 'no terminal to ask on; pass --yes' "delete without --yes" tenant delete "Acme Corp"
bad_json 66 not_found 'no tenant is named "Nobody"' "delete of an unknown tenant" --yes tenant delete Nobody
ambiguous='is ambiguous: it is the name of tenant "acme-mail.example" and a domain of tenant "Acme Corp"; give the first by one of its domains, the second by its name'
bad 73 "$ambiguous" "delete by a key that is one tenant's name and another's domain" --yes tenant delete acme-mail.example
bad 73 "$ambiguous" "edit by an ambiguous key" tenant edit ACME-MAIL.example --max-users 5
bad 73 "$ambiguous" "domain remove by an ambiguous key" tenant domain remove acme-mail.example third.example
bad_json 73 conflict 'is ambiguous' "ambiguous tenant" tenant show acme-mail.example

# --- tenant domain add -------------------------------------------------------
bad 64 'tenant domain add: expects TENANT DOMAIN \(see: ersctl help tenant domain add\)' "domain add without a domain" tenant domain add "Acme Corp"
bad 64 'expects TENANT DOMAIN' "domain add without anything" tenant domain add
bad 64 'expects TENANT DOMAIN, got too many arguments' "domain add of two domains" tenant domain add "Acme Corp" a.example b.example
bad 64 'option --primary takes no value' "flag given a value: --primary=x" tenant domain add "Acme Corp" new.example --primary=x
bad 64 'option --primary takes no value' "flag given an empty value: --primary=" tenant domain add "Acme Corp" new.example --primary=
bad 64 'option --primary is given twice' "--primary twice" tenant domain add "Acme Corp" new.example --primary --primary
bad 64 'unknown option --prim; possibilities are: --primary, --config' "an option prefix is not guessed" tenant domain add "Acme Corp" new.example --prim
bad 65 'domain "single" needs at least two labels' "domain add of a single label" tenant domain add "Acme Corp" single
bad 65 'domain "a b.example" contains a space' "domain add with a space" tenant domain add "Acme Corp" "a b.example"
bad 65 'domain "a\.\.b" has an empty label' "domain add a..b" tenant domain add "Acme Corp" a..b
bad 65 'domain "-x.example" has a label that starts or ends with a hyphen' "domain add -x.example (after --)" tenant domain add -- "Acme Corp" -x.example
bad 65 'has a label longer than 63 characters' "domain add with a 64-character label" tenant domain add "Acme Corp" "x.$L64.example"
bad 65 'domain "a_b.example" contains "_"' "domain add with an underscore" tenant domain add "Acme Corp" a_b.example
bad 65 'domain "x\?.example" contains a space or control character' "domain add with a control character" tenant domain add "Acme Corp" $'x\x1b.example'
bad 65 'domain "\?\(.example" is not a valid internationalised name' "domain add with invalid UTF-8" tenant domain add "Acme Corp" $'\xc3\x28.example'
bad 65 'domain must not be empty' "domain add of an empty domain" tenant domain add "Acme Corp" ""
bad 66 'no tenant is named "Nobody" or owns that domain' "domain add to an unknown tenant" tenant domain add Nobody new.example
bad 65 'tenant must be valid UTF-8 text' "domain add to an invalid tenant name" tenant domain add $'\xff' new.example
bad 73 'domain xn--bcher-kva.example already belongs to tenant "Bücher GmbH"' "domain of another tenant" tenant domain add "Acme Corp" BÜCHER.example
bad 73 'domain acme.example already belongs to tenant "Acme Corp"' "a domain the tenant already has" tenant domain add "Acme Corp" acme.example.
bad 73 'already belongs to tenant "Bücher GmbH"' "another tenant's domain, made primary" tenant domain add "Acme Corp" bücher.example --primary
bad_json 73 conflict 'already belongs to tenant "Bücher GmbH"' "domain of another tenant" tenant domain add "Acme Corp" bücher.example
bad_json 64 usage 'option --primary takes no value' "--primary=yes" tenant domain add "Acme Corp" new.example --primary=yes

# --- tenant domain list -----------------------------------------------------
bad 64 'tenant domain list: expects TENANT' "domain list without a tenant" tenant domain list
bad 64 'expects TENANT, got too many arguments' "domain list with two tenants" tenant domain list "Acme Corp" "Bücher GmbH"
bad 64 'unknown option --primary; possibilities are: --config' "domain list has no options" tenant domain list "Acme Corp" --primary
bad 65 'tenant must be named' "domain list of an empty name" tenant domain list ""
bad 66 'no tenant is named "nobody.example" or owns that domain' "domain list of an unknown tenant" tenant domain list nobody.example

# --- tenant domain primary ----------------------------------------------------
bad 64 'tenant domain primary: expects TENANT DOMAIN' "domain primary without a domain" tenant domain primary "Acme Corp"
bad 64 'expects TENANT DOMAIN, got too many arguments' "domain primary of two domains" tenant domain primary "Acme Corp" acme.example acme-mail.example
bad 64 'unknown option --primary; possibilities are: --config' "domain primary has no --primary" tenant domain primary "Acme Corp" acme-mail.example --primary
bad 65 'domain "a\.\.b" has an empty label' "domain primary a..b" tenant domain primary "Acme Corp" a..b
bad 65 'domain "single" needs at least two labels' "domain primary of a single label" tenant domain primary "Acme Corp" single
bad 66 'no tenant is named "Nobody"' "domain primary of an unknown tenant" tenant domain primary Nobody acme.example
bad 66 'tenant "Acme Corp" has no domain nobody.example \(see: ersctl tenant domain list Acme Corp\)' "domain primary of an unknown domain" tenant domain primary "Acme Corp" nobody.example
bad 66 'tenant "Acme Corp" has no domain xn--bcher-kva.example' "domain primary of another tenant's domain" tenant domain primary "Acme Corp" bücher.example
bad_json 66 not_found 'has no domain nobody.example' "unknown domain" tenant domain primary "Acme Corp" nobody.example

# --- tenant domain remove ----------------------------------------------------
bad 64 'tenant domain remove: expects TENANT DOMAIN' "domain remove without a domain" tenant domain remove "Acme Corp"
bad 64 'expects TENANT DOMAIN, got too many arguments' "domain remove of two domains" tenant domain remove "Acme Corp" acme.example acme-mail.example
bad 64 'unknown option --yes=1|option --yes takes no value' "domain remove --yes=1" tenant domain remove "Acme Corp" acme-mail.example --yes=1
bad 65 'domain "a_b.example" contains "_"' "domain remove with an underscore" tenant domain remove "Acme Corp" a_b.example
bad 65 'domain "a b.example" contains a space' "domain remove with a space" tenant domain remove "Acme Corp" "a b.example"
bad 66 'no tenant is named "Nobody"' "domain remove from an unknown tenant" tenant domain remove Nobody acme-mail.example
bad 66 'tenant "Acme Corp" has no domain nobody.example' "domain remove of an unknown domain" tenant domain remove "Acme Corp" nobody.example
bad 66 'tenant "Bücher GmbH" has no domain acme-mail.example' "domain remove of another tenant's domain" tenant domain remove "Bücher GmbH" acme-mail.example
bad 73 'acme.example is the primary domain of tenant "Acme Corp": make another domain primary first \(ersctl tenant domain primary\)' \
    "removing the primary domain" tenant domain remove "Acme Corp" acme.example
bad 73 'is the primary domain of tenant "Bücher GmbH"' "removing the only (primary) domain, tenant named by domain" tenant domain remove bücher.example BÜCHER.EXAMPLE.
bad_json 73 conflict 'is the primary domain of tenant "Acme Corp"' "removing the primary domain" tenant domain remove "Acme Corp" acme.example

# --- audit list --------------------------------------------------------------
bad 64 'audit list: takes no arguments, got "all"' "audit list takes no arguments" audit list all
bad 64 'unknown option --until; possibilities are: --tenant, --actor, --since, --limit, --config' "audit list --until" audit list --until 1h
bad 64 'option --since needs a value \(TIME\)' "--since without its value" audit list --since
bad 64 'option --limit is given twice' "--limit twice" audit list --limit 5 --limit 6
for s in yesterday "" 12x -1h 1000000d "1 h" now; do
    bad 65 "--since must be a time like 2026-11-22 or 2026-11-22T10:00Z, or a span ago like 30m, 12h, 7d, 2w; got \"$s\"" \
        "--since \"$s\"" audit list --since "$s"
done
for s in 2026-13-45 2026-02-30 "2026-11-22 garbage" 2026-11-22T25:00Z 999999w $'2026-11-22\x01'; do
    bad 65 "--since \"[^\"]*\" is not a time PostgreSQL understands; use 2026-11-22T10:00Z or a span like 12h" "--since \"$s\" (looks like a time, is not)" audit list --since "$s"
done
for l in 0 100001 -1 abc "" 1.5; do
    bad 65 "--limit must be a whole number 1..100000, got" "--limit \"$l\"" audit list --limit "$l"
done
bad 65 'audit list: --tenant must be valid UTF-8 text without control characters$' "--tenant with invalid UTF-8 is not blamed on --since" audit list --tenant $'\xff' --since 1h
bad 65 'audit list: --actor must be valid UTF-8 text without control characters$' "--actor with invalid UTF-8" audit list --actor $'\xff'
bad 65 '--tenant must not be empty' "--tenant empty" audit list --tenant ""
bad 65 '--actor must not be empty' "--actor empty" audit list --actor ""
bad_json 65 invalid '--since must be a time like 2026-11-22' "--since garbage" audit list --since yesterday
bad_json 65 invalid '--limit must be a whole number 1..100000, got "0"' "--limit 0" audit list --limit 0

is "$(sql "SELECT count(*) FROM ers.audit_log")" "$audit_rows" "no refusal wrote an audit row"
is "$(sql "SELECT string_agg(name, ',' ORDER BY name) FROM ers.tenant")" "Acme Corp,Bücher GmbH,acme-mail.example" "the tenants are as set up"

# --- a schema newer than this ersctl -----------------------------------------
sql "INSERT INTO ers.schema_migration (version, name) VALUES (9999, 'from_the_future')"
newer='database schema version 9999 is newer than this ersctl knows \([0-9]+\): upgrade ersctl'
bad 69 "tenant list: $newer\$" "newer schema: tenant list" tenant list
bad 69 "tenant add: $newer" "newer schema: tenant add" tenant add New --domain new.example "${M[@]}"
bad 69 "server host add: $newer" "newer schema: server host add" server host add new.example --kind imap
bad 69 "audit list: $newer" "newer schema: audit list" audit list
bad 69 "db migrate: $newer" "newer schema: db migrate refuses too" db migrate
bad_json 69 unavailable "$newer" "newer schema" tenant show "Acme Corp"
expect 0 "newer schema: db status still reports" db status
like "$OUT" "9999 .*unknown to this version" "db status lists the unknown version"
like "$OUT" "upgrade ersctl" "and says to upgrade ersctl"
sql "DELETE FROM ers.schema_migration WHERE version = 9999"
pg postgres -c "DROP ROLE $role" >/dev/null

# --- a database that is not migrated --------------------------------------------
new_db --bare
bare="database $T_DB has no ERS schema yet: run 'ersctl db migrate'"
bad 69 "tenant list: $bare\$" "unmigrated: tenant list" tenant list
bad 69 "tenant add: $bare" "unmigrated: tenant add" tenant add New --domain new.example "${M[@]}"
bad 69 "server host add: $bare" "unmigrated: server host add" server host add new.example --kind imap
bad 69 "server host list: $bare" "unmigrated: server host list" server host list
bad 69 "tenant domain add: $bare" "unmigrated: tenant domain add" tenant domain add "Acme Corp" new.example
bad 69 "audit list: $bare" "unmigrated: audit list" audit list
bad_json 69 unavailable "ersctl db migrate" "unmigrated" tenant show "Acme Corp"
bad 64 'takes no arguments' "unmigrated: bad arguments are still usage errors" db migrate now
is "$(sql "SELECT to_regclass('ers.tenant') IS NULL")" t "the refusals created no schema"
expect 0 "unmigrated: db status reports" db status
like "$OUT" "0001 .*pending" "the first migration is pending"

done_testing
