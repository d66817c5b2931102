# Sourced by test/bench/run: delivery throughput on port 25 with the spam
# filter in the path -- Postfix's port-25 smtpd -> `ersctl spam milter` ->
# rspamd's score -> LMTP -> Dovecot with the global Sieve rule (and the
# autoresponder's dict script) -- vs the same stack without them (no milter
# on port 25, no sieve_before: Postfix restarted and Dovecot reloaded between
# rounds, outside the timed part).  N messages of ordinary text (ham, so
# that rspamd runs all its rules) from 4 parallel SMTP connections
# (test/bench/spamload.py) to one mailbox; the time runs from the first
# MAIL FROM to the last message in the mailbox.  Medians of interleaved
# rounds.  Goal: with >= 0.5x without (issue 20).  Writes $dir/results-spam.md.
#
# Needs from the caller: dir, ERSCTL, ERS_CONFIG and the stack's variables
# (stack.env), say, calc; python3, doveadm, postfix.

bench_spam() {
    local sp=$dir/spam n=${SPAM_BENCH_N:-300} rounds=${SPAM_ROUNDS:-3}
    local started load0
    started=$(date -u +%Y-%m-%dT%H:%MZ) load0=$(cut -d' ' -f1-3 /proc/loadavg)
    say "spam: $n messages on port 25 with rspamd and Sieve in the path vs without, $rounds rounds"
    mkdir -p "$sp"
    "$ERSCTL" -q server host add localhost --kind imap --port "$IMAP_PORT" --tls starttls 2>/dev/null || true
    "$ERSCTL" -q server host add localhost --kind smtp --port "$SUBMISSION_PORT" --tls starttls 2>/dev/null || true
    "$ERSCTL" -q tenant add spambench --domain spambench.example --imap-host localhost --imap-port "$IMAP_PORT" \
        --smtp-host localhost --smtp-port "$SUBMISSION_PORT"
    ( umask 077; echo "spam-bench-password-1" >"$sp/password" )
    "$ERSCTL" -q user add rcpt@spambench.example --quota-mb 16384 --password-file "$sp/password"
    # The filter on for the domain, threshold high enough that ham is ham
    # (everything lands in INBOX in both setups, so the counts compare).
    "$ERSCTL" -q spam set spambench.example --filter on --threshold 20 --action junk >/dev/null
    python3 -c 'print("Hello Ann,\n\nthe minutes of Tuesday'"'"'s meeting are below; please send corrections by Friday.\n" + "We agreed on the budget for the next quarter and on the dates of the review.\n" * 20 + "\nRegards,\nBen")' >"$sp/body.txt"
    local conf=$DOVECOT_CONFIG ers_conf
    ers_conf=$(dirname "$DOVECOT_CONFIG")/ers.conf
    cp "$ers_conf" "$sp/ers.conf.with"
    grep -v 'ers-spam.sieve' "$sp/ers.conf.with" >"$sp/ers.conf.without"
    cp "$POSTFIX_CONFIG/master.cf" "$sp/master.cf.with"
    grep -v "smtpd_milters={inet:127.0.0.1:$SPAM_MILTER_PORT," "$sp/master.cf.with" >"$sp/master.cf.without"
    cmp -s "$sp/master.cf.with" "$sp/master.cf.without" && { echo "bench: spam: no spam milter in master.cf" >&2; exit 1; }
    local mode=with
    setup() { # with|without
        [ "$1" = "$mode" ] && return 0
        cp "$sp/ers.conf.$1" "$ers_conf"
        doveadm -c "$conf" reload
        cp "$sp/master.cf.$1" "$POSTFIX_CONFIG/master.cf"
        # A restart, not a reload: idle smtpd processes would keep the old -o options.
        postfix -c "$POSTFIX_CONFIG" stop >/dev/null 2>&1
        for _ in $(seq 1 100); do ss -Htln "sport = :$SMTP_PORT" | grep -q . || break; sleep 0.1; done
        postfix -c "$POSTFIX_CONFIG" start >/dev/null 2>&1
        for _ in $(seq 1 100); do ss -Htln "sport = :$SMTP_PORT" | grep -q . && break; sleep 0.1; done
        sleep 1 # Dovecot's new lmtp processes, after its reload
        mode=$1
    }
    count() { doveadm -c "$conf" mailbox status -u rcpt@spambench.example messages INBOX 2>/dev/null | sed 's/.*messages=//'; }
    run_one() { # with|without [N]: messages per second (setup done by the caller: this runs in $(...))
        doveadm -c "$conf" expunge -u rcpt@spambench.example mailbox INBOX all 2>/dev/null || true
        local t0 t1 got n=${2:-$n} want=${2:-$n}
        t0=$(date +%s%N)
        python3 test/bench/spamload.py 127.0.0.1 "$SMTP_PORT" rcpt@spambench.example "$n" 4 "$sp/body.txt" >/dev/null ||
            { echo "bench: spam: sending failed ($1)" >&2; exit 1; }
        for _ in $(seq 1 6000); do
            got=$(count)
            [ "${got:-0}" -ge "$want" ] && break
            sleep 0.05
        done
        t1=$(date +%s%N)
        [ "${got:-0}" -ge "$want" ] || { echo "bench: spam: only $got of $want delivered ($1)" >&2; exit 1; }
        awk -v a="$t0" -v b="$t1" -v n="$n" 'BEGIN { printf "%.1f\n", n / ((b - a) / 1e9) }'
    }
    local r kind
    for kind in without with; do setup $kind; run_one $kind 30 >/dev/null; done # warm: smtpd, cleanup, lmtp processes
    : >"$sp/rates"
    for r in $(seq 1 "$rounds"); do
        for kind in $(printf 'with\nwithout\n' | shuf); do
            setup "$kind"
            echo "$kind $(run_one $kind)" >>"$sp/rates"
        done
    done
    # With the filter, rspamd scores every message (the header is there).
    setup with
    run_one with 30 >/dev/null
    local scored
    scored=$(doveadm -c "$conf" fetch -u rcpt@spambench.example hdr.x-spam-score mailbox INBOX all 2>/dev/null | grep -ci 'x-spam-score: -\?[0-9]' || true)
    [ "$scored" -ge 30 ] || { echo "bench: spam: a round with the filter has $scored scored messages of 30" >&2
        doveadm -c "$conf" fetch -u rcpt@spambench.example hdr mailbox INBOX all 2>&1 | head -n 30 >&2; tail -n 5 "$dir/spam-milter.log" >&2; exit 1; }
    med() { awk -v k="$1" '$1 == k { print $2 }' "$sp/rates" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
    local with without ratio
    with=$(med with) without=$(med without)
    ratio=$(calc "$with / $without")
    {
        echo "## 12. Spam filter: delivery on port 25 with rspamd and Sieve in the path vs without"
        echo
        echo "Machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.1f GB", $2 / 1048576 }' /proc/meminfo), $(. /etc/os-release; echo "$PRETTY_NAME"); run $started, load $load0."
        echo "$n messages of ordinary text (about 1.7 KB, ham: rspamd runs all its rules) from 4 parallel SMTP connections"
        echo "(test/bench/spamload.py) to one mailbox on the stack's Postfix port 25, timed from the first MAIL FROM to the last"
        echo "message in the mailbox.  With: the port-25 smtpd's milter \`ersctl spam milter\` (the recipient's settings from"
        echo "PostgreSQL, rspamd's score over HTTP, one rspamd normal worker, no Redis, DNS checks failing at once) and"
        echo "Dovecot's global Sieve rule.  Without: no milter on port 25 and no sieve_before (master.cf and ers.conf swapped, Postfix restarted and Dovecot reloaded"
        echo "between rounds).  Medians of $rounds interleaved rounds ($(tr '\n' ' ' <"$sp/rates"| sed 's/ $//'))."
        echo
        echo "| what | messages per second |"
        echo "| --- | ---: |"
        echo "| without the spam filter | $without |"
        echo "| with rspamd and Sieve | $with |"
        echo "| with / without | ${ratio}x (goal >= 0.5x: $(awk -v v="$ratio" 'BEGIN { print (v >= 0.5) ? "met" : "MISSED" }')) |"
        echo
    } >"$dir/results-spam.md"
}
