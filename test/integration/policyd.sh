# The Postfix policy service, `ersctl policyd`, spoken to as Postfix does
# (policy delegation protocol, perl on its unix socket): internal-only
# addresses (manual 004), disabled and unknown senders, the hourly send
# limits per mailbox, domain and tenant with inheritance and 0/1 meaning no
# sending (manuals 002, 003), a refused message counting nowhere, 20
# parallel submissions against a limit of 10 letting exactly 10 through, a
# lost database connection, bad --listen values, and a clean stop.
. "$(dirname "$0")/lib.sh"
new_db
PW=$T_DIR/pw
printf 'policyd-pass-1234\n' >"$PW"
SOCK=$T_DIR/policy.sock
PIDFILE=$T_DIR/policyd.pid
PD=
stop_policyd() {
    [ -n "$PD" ] && kill -TERM "$PD" 2>/dev/null && wait "$PD" 2>/dev/null
    PD=
}
trap stop_policyd EXIT

# ask.pl SOCKET: sends each request read from standard input (attribute
# lines, requests separated by an empty line) on one connection and prints
# each answer on one line; a "!COMMAND" block runs COMMAND in between.
cat >"$T_DIR/ask.pl" <<'PERL'
use strict;
use warnings;
use IO::Socket::UNIX;
my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $ARGV[0]) or die "connect $ARGV[0]: $!\n";
local $/ = "\n\n";
while (my $req = <STDIN>) {
    if ($req =~ /^!(.*)/) { # "!COMMAND": runs it between two requests
        system($1) == 0 or die "$1 failed\n";
        next;
    }
    $req =~ s/\n*\z/\n\n/;
    print $s $req;
    my $answer = <$s>;
    defined $answer or die "no answer\n";
    $answer =~ s/\n+\z//;
    print "$answer\n";
}
PERL
# race.pl SOCKET REQUEST...: one connection per request, all connected
# before any sends; then all send at once; prints the answers, one a line.
cat >"$T_DIR/race.pl" <<'PERL'
use strict;
use warnings;
use IO::Socket::UNIX;
my ($path, @requests) = @ARGV;
pipe(my $go_r, my $go_w) or die;
pipe(my $ready_r, my $ready_w) or die;
pipe(my $out_r, my $out_w) or die;
my @kids;
for my $req (@requests) {
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        close $go_w; close $ready_r; close $out_r;
        my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $path) or die "connect: $!\n";
        syswrite $ready_w, "r";
        sysread $go_r, my $x, 1;    # returns at EOF: when the parent closes its end
        $req =~ s/\\n/\n/g;
        print $s "$req\n\n";
        local $/ = "\n\n";
        my $answer = <$s> // "none\n\n";
        $answer =~ s/\n+\z//;
        syswrite $out_w, "$answer\n";
        exit 0;
    }
    push @kids, $pid;
}
close $go_r; close $ready_w; close $out_w;
my $ready = 0;
while ($ready < @requests && sysread($ready_r, my $buf, 64)) { $ready += length $buf; }
close $go_w;    # go
print while <$out_r>;
waitpid $_, 0 for @kids;
PERL

# decide ATTR=VALUE...: one request on a new connection; ANSWER is the reply.
decide() {
    ANSWER=$(printf '%s\n' request=smtpd_access_policy protocol_name=ESMTP client_address=192.0.2.1 "$@" \
        | perl "$T_DIR/ask.pl" "$SOCK" 2>&1)
}
rcpt() { decide protocol_state=RCPT "recipient=$1" "sasl_username=${2:-}" sender=x@example.org; }
data() { decide protocol_state=DATA "sasl_username=$1" "recipient_count=$2" recipient=; }
answer_is() { is "$ANSWER" "action=$1" "$2"; }
answer_like() { like "$ANSWER" "^action=$1" "$2"; }
sent() { # MAILBOX KEY: this hour's count of the mailbox, its domain or its tenant
    "$ERSCTL" --json limits show --mailbox "$1" | perl -MJSON::PP -e \
        'print JSON::PP->new->decode(do { local $/; <STDIN> })->{limits}{$ARGV[0]}{sent_this_hour}' "$2"
}
ALL_OK='DUNNO'
INTERNAL='REJECT 5.7.1 this address accepts mail only from inside its own organisation'
NO_SENDING='REJECT 5.7.1 sending is disabled for this mailbox'

expect 0 "setup: IMAP host" server host add mail.example.net --kind imap
expect 0 "setup: SMTP host" server host add mail.example.net --kind smtp
M=(--imap-host mail.example.net --smtp-host mail.example.net)
expect 0 "setup: tenant Acme" tenant add Acme --domain acme.example "${M[@]}"
expect 0 "setup: Acme's second domain" tenant domain add Acme acme-mail.example
expect 0 "setup: tenant Small" tenant add Small --domain small.example "${M[@]}"
expect 0 "setup: tenant Other" tenant add Other --domain other.example "${M[@]}"
for u in anna@acme.example carl@acme.example dee@acme.example conc@acme.example \
         d1@acme-mail.example d2@acme-mail.example s1@small.example s2@small.example ob@other.example o2@other.example; do
    expect 0 "setup: user $u" user add "$u" --password-file "$PW"
done
expect 0 "setup: an internal-only user" user add bob@acme.example --internal-only --password-file "$PW"
expect 0 "setup: an internal-only alias" alias add staff@acme.example --to anna@acme.example --internal-only
expect 0 "setup: a plain alias" alias add sales@acme.example --to anna@acme.example
expect 0 "setup: a disabled user" user disable carl@acme.example
for i in $(seq 1 20); do
    sql "INSERT INTO ers.address_claim (address, tenant_id, domain_id, kind)
           SELECT 'r$i@small.example', tenant_id, id, 'mailbox' FROM ers.domain WHERE name = 'small.example';
         INSERT INTO ers.mailbox (tenant_id, address, password_hash)
           SELECT tenant_id, 'r$i@small.example', '\$y\$x' FROM ers.domain WHERE name = 'small.example'" >/dev/null
done

# --- bad --listen and other refusals: nothing starts, nothing changes ---------------------
refused 65 '--listen must be unix:/PATH or a loopback address with a port \(127.0.0.1:10040, \[::1\]:10040\), got "192.0.2.1:10040"' \
    "a non-loopback address" policyd --listen 192.0.2.1:10040
refused 65 '--listen must be unix:/PATH or a loopback' "no port" policyd --listen 127.0.0.1
refused 65 '--listen must be unix:/PATH or a loopback' "port 0" policyd --listen 127.0.0.1:0
refused 65 '--listen must be unix:/PATH or a loopback' "any address" policyd --listen 0.0.0.0:10040
refused 65 '--listen unix:PATH needs an absolute path' "a relative socket path" policyd --listen unix:policy.sock
refused 64 'missing --listen ADDRESS' "no --listen" policyd
refused 65 '--max-connections must be a whole number 1..1000, got "0"' "--max-connections 0" \
    policyd --listen "unix:$SOCK" --max-connections 0
refused 64 '--socket-group applies only to --listen unix:/PATH' "--socket-group with a port" \
    policyd --listen 127.0.0.1:10040 --socket-group nogroup
refused 65 '--socket-group: no group "no-such-group"' "an unknown --socket-group" \
    policyd --listen "unix:$SOCK" --socket-group no-such-group
refused 64 '--as does not apply' "--as" --as anna@acme.example policyd --listen "unix:$SOCK"
: >"$T_DIR/a-file"
refused 73 'a-file exists and is not a socket' "a path that is a file" policyd --listen "unix:$T_DIR/a-file"
ok "$( [ ! -e "$SOCK" ]; echo $?)" "no socket was left by the refusals"

# --- start ------------------------------------------------------------------------------------
"$ERSCTL" policyd --listen "unix:$SOCK" --pidfile "$PIDFILE" --socket-group nogroup >"$T_DIR/policyd.log" 2>&1 </dev/null &
PD=$!
for i in $(seq 1 100); do [ -S "$SOCK" ] && [ -s "$PIDFILE" ] && break; sleep 0.1; done
ok "$( [ -S "$SOCK" ]; echo $?)" "policyd listens on its unix socket"
is "$(cat "$PIDFILE")" "$PD" "the pid file holds its pid"
is "$(stat -c '%a %G' "$SOCK")" "660 nogroup" "the socket is rw for its owner and --socket-group only"
refused 73 'another process is listening on' "a second policyd on the same socket" policyd --listen "unix:$SOCK"

# --- internal-only addresses (manual 004) ---------------------------------------------------
rcpt anna@acme.example;             answer_is "$ALL_OK" "from outside to an ordinary mailbox: DUNNO"
rcpt bob@acme.example;              answer_is "$INTERNAL" "from outside to an internal-only mailbox: refused"
rcpt staff@acme.example;            answer_is "$INTERNAL" "from outside to an internal-only alias: refused"
rcpt sales@acme.example;            answer_is "$ALL_OK" "from outside to a plain alias of the same mailbox: DUNNO"
rcpt Bob@ACME.Example;              answer_is "$INTERNAL" "the address in another case: refused"
rcpt bob+news@acme.example;         answer_is "$INTERNAL" "with an address extension: refused"
rcpt bob@acme.example anna@acme.example; answer_is "$ALL_OK" "from a mailbox of the same tenant: DUNNO"
rcpt staff@acme.example d1@acme-mail.example; answer_is "$ALL_OK" "from the tenant's other domain: DUNNO"
rcpt bob@acme.example ob@other.example;  answer_is "$INTERNAL" "from a mailbox of another tenant: refused"
rcpt anna@acme.example ob@other.example; answer_is "$ALL_OK" "another tenant to an ordinary mailbox: DUNNO"
rcpt nobody@elsewhere.example;      answer_is "$ALL_OK" "a recipient not hosted here: DUNNO (Postfix decides)"
decide protocol_state=RCPT recipient=bob@acme.example sender=anna@acme.example
answer_is "$INTERNAL" "a sender address of the tenant without authentication: refused"

# --- disabled and unknown senders --------------------------------------------------------------
rcpt anna@acme.example carl@acme.example; answer_is "REJECT 5.7.1 the sending mailbox is disabled" "a disabled sender at RCPT"
data carl@acme.example 1;           answer_is "REJECT 5.7.1 the sending mailbox is disabled" "a disabled sender at DATA"
rcpt anna@acme.example nobody@acme.example
answer_is "REJECT 5.7.1 the authenticated sender is not a mailbox of this server" "a login that is no mailbox"
decide protocol_state=MAIL sasl_username=carl@acme.example
answer_like "REJECT 5.7.1" "a disabled sender at any other stage"
decide protocol_state=MAIL sasl_username=
answer_is "$ALL_OK" "no login at another stage: DUNNO"
data "" 3;                          answer_is "$ALL_OK" "DATA on port 25 (no login) is not counted"

# --- per-mailbox limit, per recipient, per clock hour ------------------------------------------
a0=$(sql "SELECT count(*) FROM ers.audit_log")
expect 0 "setup: anna may send 5 an hour" limits set --mailbox anna@acme.example --per-mailbox 5
data anna@acme.example 2;           answer_is "$ALL_OK" "2 recipients of 5"
data anna@acme.example 3;           answer_is "$ALL_OK" "3 more: 5 of 5"
data anna@acme.example 1
answer_is "450 4.7.1 send limit per mailbox reached (5 per hour); try again later" "the 6th: 450 naming the limit"
is "$(sent anna@acme.example per_mailbox)/$(sent anna@acme.example per_domain)/$(sent anna@acme.example total)" "5/5/5" \
    "5 counted for the mailbox, its domain and its tenant -- the refused one nowhere"
decide protocol_state=BDAT sasl_username=anna@acme.example recipient_count=1
answer_like "450 4.7.1 send limit per mailbox" "BDAT counts like DATA"
data anna@acme.example 6
answer_is "REJECT 5.7.1 this message has 6 recipients, more than the send limit per mailbox of 5 per hour allows" \
    "more recipients than the whole hour allows: refused for good"
expect 0 "a raised limit takes effect at once" limits set --mailbox anna@acme.example --per-mailbox 7
data anna@acme.example 2;           answer_is "$ALL_OK" "2 more under the raised limit"
data ANNA@acme.example 1;           answer_like "450 4.7.1" "the login in another case is the same mailbox"
is "$(sql "SELECT count(*) - $a0 FROM ers.audit_log")" 2 "decisions write no audit row (the two limit changes do)"
rcpt anna@acme.example ob@other.example; answer_is "$ALL_OK" "RCPT is never counted"

# --- per-domain and per-tenant limits; a refusal at a later level counts nowhere -----------------
expect 0 "setup: acme-mail.example may send 5 an hour" limits set --domain acme-mail.example --per-domain 5
data d1@acme-mail.example 3;        answer_is "$ALL_OK" "d1: 3 of the domain's 5"
data d2@acme-mail.example 2;        answer_is "$ALL_OK" "d2: 2 more, 5 of 5"
data d2@acme-mail.example 1
answer_is "450 4.7.1 send limit per domain reached (5 per hour); try again later" "the domain's 6th: 450 per domain"
is "$(sent d2@acme-mail.example per_mailbox)/$(sent d2@acme-mail.example per_domain)" "2/5" \
    "the mailbox counter was rolled back with the refusal"
data dee@acme.example 1;            answer_is "$ALL_OK" "the tenant's other domain is not limited by it"
expect 0 "setup: Small may send 4 an hour" limits set --tenant Small --total 4
data s1@small.example 3;            answer_is "$ALL_OK" "s1: 3 of the tenant's 4"
data s2@small.example 1;            answer_is "$ALL_OK" "s2: 4 of 4"
data s2@small.example 1
answer_is "450 4.7.1 send limit per tenant reached (4 per hour); try again later" "the tenant's 5th: 450 per tenant"
is "$(sent s2@small.example per_mailbox)/$(sent s2@small.example per_domain)/$(sent s2@small.example total)" "1/4/4" \
    "mailbox and domain counters were rolled back with the refusal"

# --- 0 and 1: no sending (manual 003); inheritance -----------------------------------------------
expect 0 "setup: the server allows 2 per mailbox" limits set --server --per-mailbox 2
data ob@other.example 2;            answer_is "$ALL_OK" "a mailbox with nothing set: the server's 2"
data ob@other.example 1;            answer_is "450 4.7.1 send limit per mailbox reached (2 per hour); try again later" \
    "... and no third"
expect 0 "setup: tenant Other: 1 per mailbox" limits set --tenant Other --per-mailbox 1
data o2@other.example 1;            answer_is "$NO_SENDING" "an inherited 1: no sending at all"
expect 0 "setup: tenant Other: 0 per mailbox" limits set --tenant Other --per-mailbox 0
data o2@other.example 1;            answer_is "$NO_SENDING" "an inherited 0: no sending at all"
expect 0 "setup: o2's own limit 3" limits set --mailbox o2@other.example --per-mailbox 3
data o2@other.example 1;            answer_is "$ALL_OK" "the mailbox's own limit comes before its tenant's 0"
expect 0 "setup: o2's own limit 1" limits set --mailbox o2@other.example --per-mailbox 1
data o2@other.example 1;            answer_is "$NO_SENDING" "its own 1: no sending"
expect 0 "setup: o2 inherits again, the tenant too" limits set --tenant Other --per-mailbox inherit
expect 0 "setup: ..." limits set --mailbox o2@other.example --per-mailbox inherit
data o2@other.example 1;            answer_is "$ALL_OK" "back to the server's 2"

# --- the protocol: many requests per connection, unknown attributes, bad requests -----------------
ANSWER=$(printf '%s\n' request=smtpd_access_policy protocol_state=RCPT recipient=bob@acme.example sasl_username= "" \
    request=smtpd_access_policy protocol_state=RCPT recipient=anna@acme.example "" \
    request=smtpd_access_policy protocol_state=RCPT recipient=bob@acme.example future_attribute=x=y sasl_username=anna@acme.example \
    | perl "$T_DIR/ask.pl" "$SOCK" 2>&1)
is "$ANSWER" "action=$INTERNAL"$'\n'"action=$ALL_OK"$'\n'"action=$ALL_OK" "three requests on one connection, an unknown attribute ignored"
ANSWER=$(printf 'request=smtpd_access_policy\r\nprotocol_state=RCPT\r\nrecipient=bob@acme.example\r\n\r\n' \
    | perl -MIO::Socket::UNIX -e '$s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die; print $s <STDIN>; $/ = "\n\n"; $a = <$s>; $a =~ s/\n+\z//; print $a' "$SOCK")
is "$ANSWER" "action=$INTERNAL" "CRLF line ends are read too"
decide protocol_state=DATA sasl_username=anna@acme.example recipient_count=lots
answer_like "DEFER_IF_PERMIT 4.3.0 " "a recipient_count that is no number: temporary refusal"
ANSWER=$(printf '%s\n' request=junk protocol_state=RCPT | perl "$T_DIR/ask.pl" "$SOCK" 2>&1)
answer_like "DEFER_IF_PERMIT 4.3.0 " "another request type: temporary refusal"
like "$(cat "$T_DIR/policyd.log")" 'request=junk is not a Postfix SMTPD access policy request' "... logged with the reason"

# --- 20 parallel submissions against a limit of 10 ------------------------------------------------
expect 0 "setup: conc may send 10 an hour" limits set --mailbox conc@acme.example --per-mailbox 10
log_lines=$(wc -l <"$T_DIR/policyd.log")
reqs=()
for i in $(seq 1 20); do reqs+=("request=smtpd_access_policy\\nprotocol_state=DATA\\nsasl_username=conc@acme.example\\nrecipient_count=1"); done
out=$(perl "$T_DIR/race.pl" "$SOCK" "${reqs[@]}")
is "$(grep -c '^action=DUNNO$' <<<"$out")" 10 "20 parallel submissions, one mailbox, limit 10: exactly 10 DUNNO"
is "$(grep -c '^action=450 4.7.1 send limit per mailbox reached (10 per hour)' <<<"$out")" 10 "... and 10 times 450"
is "$(sent conc@acme.example per_mailbox)" 10 "... and 10 counted"
expect 0 "setup: Small's total 10, counters of a new hour" limits set --tenant Small --total 10
sql "DELETE FROM ers.send_count" >/dev/null
reqs=()
for i in $(seq 1 20); do reqs+=("request=smtpd_access_policy\\nprotocol_state=DATA\\nsasl_username=r$i@small.example\\nrecipient_count=1"); done
out=$(perl "$T_DIR/race.pl" "$SOCK" "${reqs[@]}")
is "$(grep -c '^action=DUNNO$' <<<"$out")" 10 "20 mailboxes of one tenant at once, total 10: exactly 10 DUNNO"
is "$(grep -c '^action=450 4.7.1 send limit per tenant reached (10 per hour)' <<<"$out")" 10 "... and 10 times 450 per tenant"
is "$(sql "SELECT string_agg(scope || '=' || total, ' ' ORDER BY scope) FROM (SELECT scope, sum(count) AS total FROM ers.send_count GROUP BY scope) s")" \
    "domain=10 mailbox=10 tenant=10" "... and every counter says 10: the refused ones were rolled back"
unlike "$(tail -n +$((log_lines + 1)) "$T_DIR/policyd.log")" '.' "no deadlock, no failure logged under the races"

# --- old hours are purged; the database connection comes back ---------------------------------------
sql "INSERT INTO ers.send_count VALUES (date_trunc('hour', now(), 'UTC') - interval '2 hours', 'mailbox', 1, 99)" >/dev/null
stop_policyd
"$ERSCTL" policyd --listen "unix:$SOCK" --pidfile "$PIDFILE" >"$T_DIR/policyd.log" 2>&1 </dev/null &
PD=$!
for i in $(seq 1 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
rcpt bob@acme.example; answer_is "$INTERNAL" "a restarted policyd decides"
is "$(sql "SELECT count(*) FROM ers.send_count WHERE hour < date_trunc('hour', now(), 'UTC')")" 0 \
    "counters of past hours are purged (at start, then every 5 minutes)"
db_sql() { # SQL [DB]: a command line for ask.pl's "!" that runs SQL on this test's database (or DB)
    printf '!cd / && runuser -u postgres -- %q -qXAt -h %q -p %q -U postgres -d %q -c %q >/dev/null' \
        "$PGBIN/psql" "$PG_SOCKET" "$PG_PORT" "${2:-$T_DB}" "$1"
}
END_ERS_SESSIONS="SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '$T_DB' AND usename = 'ers'"
TERMINATE=$(db_sql "$END_ERS_SESSIONS" postgres)
Q=(request=smtpd_access_policy protocol_state=RCPT recipient=bob@acme.example)
ANSWER=$(printf '%s\n' "${Q[@]}" "" "$TERMINATE" "" "${Q[@]}" "" "$(db_sql "ALTER DATABASE $T_DB ALLOW_CONNECTIONS false" postgres)" "" \
    "$TERMINATE" "" "${Q[@]}" "" "$(db_sql "ALTER DATABASE $T_DB ALLOW_CONNECTIONS true" postgres)" "" "${Q[@]}" \
    | perl "$T_DIR/ask.pl" "$SOCK" 2>&1)
DEFER='DEFER_IF_PERMIT 4.3.0 the send policy service cannot decide now; try again later'
is "$ANSWER" "action=$INTERNAL"$'\n'"action=$INTERNAL"$'\n'"action=$DEFER"$'\n'"action=$INTERNAL" \
    "one client connection: decided; the server ended the database connection: decided on a new one; no database: a temporary refusal (fail closed); the database back: decided again"
like "$(cat "$T_DIR/policyd.log")" 'ersctl policyd: .*database.*answered "DEFER_IF_PERMIT' "the failure is logged"
pg postgres -c "ALTER DATABASE $T_DB ALLOW_CONNECTIONS false" -c "$END_ERS_SESSIONS" >/dev/null
rcpt anna@acme.example; answer_is "$DEFER" "a new client connection while there is no database: a temporary refusal"
pg postgres -c "ALTER DATABASE $T_DB ALLOW_CONNECTIONS true" >/dev/null
rcpt bob@acme.example; answer_is "$INTERNAL" "a new client connection after it: decided"

# --- a loopback port ----------------------------------------------------------------------------------
stop_policyd
port=$(perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1:0")->sockport')
"$ERSCTL" policyd --listen "127.0.0.1:$port" >"$T_DIR/policyd-tcp.log" 2>&1 </dev/null &
PD=$!
for i in $(seq 1 100); do ss -Htln "sport = :$port" | grep -q . && break; sleep 0.1; done
ANSWER=$(perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new("127.0.0.1:$ARGV[0]") or die "$!\n";
    print $s "request=smtpd_access_policy\nprotocol_state=RCPT\nrecipient=bob\@acme.example\n\n";
    $/ = "\n\n"; $a = <$s>; $a =~ s/\n+\z//; print $a' "$port" 2>&1)
is "$ANSWER" "action=$INTERNAL" "on 127.0.0.1:PORT too"

# --- a clean stop -------------------------------------------------------------------------------------
pid=$PD
kill -TERM "$pid"; wait "$pid"; rc=$?
PD=
is "$rc" 0 "SIGTERM: exit status 0"
like "$(cat "$T_DIR/policyd-tcp.log")" 'stopped' "... it says it stopped"
"$ERSCTL" policyd --listen "unix:$SOCK" --pidfile "$PIDFILE" >"$T_DIR/policyd.log" 2>&1 </dev/null &
PD=$!
for i in $(seq 1 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
# The client reads on after its answer: it ends when policyd closes the connection.
exec 3< <(printf '%s\n' request=smtpd_access_policy protocol_state=RCPT recipient=bob@acme.example "" | perl -MIO::Socket::UNIX -e \
    '$| = 1; alarm 30; $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die; print $s <STDIN>; $/ = "\n\n"; print scalar <$s>;
     my $more = <$s>; print defined $more ? "more\n" : "closed\n"' "$SOCK")
read -r -t 10 line <&3
is "$line" "action=$INTERNAL" "setup: an idle client connection, as Postfix keeps them"
pid=$PD
t0=$(date +%s)
kill -INT "$pid"; wait "$pid"; rc=$?
PD=
is "$rc" 0 "SIGINT with an idle client connected: exit status 0"
ok "$( [ $(($(date +%s) - t0)) -lt 5 ]; echo $?)" "... at once: the idle connection does not hold it up"
ok "$( [ ! -e "$SOCK" ] && [ ! -e "$PIDFILE" ]; echo $?)" "the socket and the pid file are removed"
ok "$( [ ! -e "/proc/$pid" ]; echo $?)" "no policyd process is left"
read -r -t 10 blank <&3; read -r -t 10 line <&3
is "$line" closed "the client saw its connection closed"
exec 3<&-

done_testing
