# Sourced by test/bench/run: sending a message with a 10 MB attachment
# through the webmail (curl posting the compose form over the stack's
# lighttpd, the CGI, Postfix submission, the copy appended to Sent) with
# outbound scanning on vs off, beside `clamdscan --stream` of the same file
# against the same clamd (issue 18).  Goal: the overhead of scanning (on
# minus off) <= 1.2x clamdscan's own time.  Medians over interleaved rounds,
# each round in a new random order.  Writes $dir/results-av.md.
#
# Needs from the caller: dir, ERSCTL, ERS_CONFIG and the stack's variables
# (stack.env), say, calc, verdict; clamdscan, python3 and curl.

bench_av() {
    local av=$dir/av rounds=${AV_ROUNDS:-21}
    local started load0 W=https://127.0.0.1:$WEB_PORT webyaml=$dir/web/ers.yaml
    started=$(date -u +%Y-%m-%dT%H:%MZ) load0=$(cut -d' ' -f1-3 /proc/loadavg)
    say "av: a 10 MB attachment through the webmail, scanning on vs off vs clamdscan --stream, $rounds rounds"
    mkdir -p "$av"
    "$ERSCTL" -q server host add localhost --kind imap --port "$IMAP_PORT" --tls starttls 2>/dev/null || true
    "$ERSCTL" -q server host add localhost --kind smtp --port "$SUBMISSION_PORT" --tls starttls 2>/dev/null || true
    "$ERSCTL" -q tenant add avbench --domain avbench.example --imap-host localhost --imap-port "$IMAP_PORT" \
        --smtp-host localhost --smtp-port "$SUBMISSION_PORT"
    ( umask 077; echo "av-bench-password-1" >"$av/password" )
    for u in sender rcpt; do
        "$ERSCTL" -q user add "$u@avbench.example" --quota-mb 16384 --password-file "$av/password"
    done
    head -c $((10 * 1024 * 1024)) /dev/urandom >"$av/data.bin"
    printf 'LocalSocket %s\n' "$CLAMD_SOCKET" >"$av/clamd.conf"
    cp "$webyaml" "$av/web-on.yaml"
    sed 's/^  enabled: true$/  enabled: false/' "$webyaml" >"$av/web-off.yaml"

    local jar=$av/jar
    curl -s --cacert "$TLS_CA" -c "$jar" -b "$jar" -o /dev/null "$W/login" \
        --data-urlencode "email=sender@avbench.example" --data-urlencode "password=av-bench-password-1"
    local csrf
    csrf=$(curl -s --cacert "$TLS_CA" -c "$jar" -b "$jar" "$W/compose" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -n 1)
    [ -n "$csrf" ] || { echo "bench: av: cannot log in to the webmail" >&2; exit 1; }
    # milter_as on|off: the scan milter with scanning on or off like the
    # webmail, as on a node where both read the one ers.yaml (restarted
    # only when that changes, outside the timed request).
    sed 's/^  enabled: true$/  enabled: false/' "$ERS_CONFIG" >"$av/milter-off.yaml"
    cp "$ERS_CONFIG" "$av/milter-on.yaml"
    local milter_mode=on
    milter_as() {
        [ "$1" = "$milter_mode" ] && return 0
        local pid
        pid=$(cat "$MILTER_PID")
        kill "$pid"
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        ( ERS_CONFIG=$av/milter-$1.yaml "$ERSCTL" scan milter --pidfile "$MILTER_PID" >>"$av/milter.log" 2>&1 </dev/null & )
        for _ in $(seq 1 100); do ss -Htln "sport = :$MILTER_PORT" | grep -q . && break; sleep 0.1; done
        milter_mode=$1
    }
    # run KIND: one measurement; prints seconds.
    run_one() {
        case $1 in
            clamdscan)
                local t0 t1
                t0=$(date +%s%N)
                clamdscan --no-summary --config-file="$av/clamd.conf" --stream "$av/data.bin" >/dev/null ||
                    { echo "bench: av: clamdscan failed" >&2; exit 1; }
                t1=$(date +%s%N)
                awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", (b - a) / 1e9 }' ;;
            on | off)
                cp "$av/web-$1.yaml" "$webyaml"
                milter_as "$1"
                local line
                line=$(curl -s --cacert "$TLS_CA" -c "$jar" -b "$jar" -o /dev/null -w '%{time_total} %{redirect_url}\n' \
                    "$W/compose" -F "csrf=$csrf" -F "to=rcpt@avbench.example" -F "subject=bench $1" -F "body=see attached" \
                    -F "attachments=@$av/data.bin;type=application/octet-stream")
                case $line in *"sent=1"*) ;; *) echo "bench: av: a send failed ($1): $line" >&2; exit 1 ;; esac
                echo "${line%% *}" ;;
        esac
    }
    local r kind
    for kind in off on clamdscan; do run_one $kind >/dev/null; done # warm
    : >"$av/times"
    for r in $(seq 1 "$rounds"); do
        for kind in $(printf 'off\non\nclamdscan\n' | shuf); do
            echo "$kind $(run_one $kind)" >>"$av/times"
        done
    done
    cp "$av/web-on.yaml" "$webyaml"
    milter_as on
    med() { awk -v k="$1" '$1 == k { print $2 * 1000 }' "$av/times" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
    local off on cs over ratio
    off=$(med off) on=$(med on) cs=$(med clamdscan)
    # The sends with scanning on must each have scanned the attachment.
    local scanned clamd_ms
    scanned=$(psql_ers -c "SELECT count(*) FROM ers.scan WHERE item = 'data.bin' AND result = 'clean' AND item_size = $((10 * 1024 * 1024))")
    [ "$scanned" -ge "$rounds" ] || { echo "bench: av: only $scanned scans of the attachment recorded for $rounds sends" >&2; exit 1; }
    clamd_ms=$(psql_ers -c "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) FROM ers.scan WHERE item = 'data.bin'")
    over=$(calc "$on - $off" 1)
    ratio=$(calc "($on - $off) / $cs")
    {
        echo "## 11. Anti-virus: a 10 MB attachment sent through the webmail, scanning on vs off vs clamdscan"
        echo
        echo "Machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.1f GB", $2 / 1048576 }' /proc/meminfo), $(. /etc/os-release; echo "$PRETTY_NAME"); run $started, load $load0."
        echo "curl posting the compose form (a 10 MB random attachment, one recipient) over the stack's lighttpd and"
        echo "the CGI, through Postfix submission (the scan milter on or off with the webmail; it passes the webmail's marked mail) and the"
        echo "APPEND to Sent; the scan: the text and each attachment as composed (not parsed back out of the built message)"
        echo "streamed to the stack's clamd (test signature database) and recorded.  clamdscan --stream of the same file to the same clamd.  Medians of $rounds"
        echo "interleaved rounds, each in a new random order."
        echo
        echo "| what | median ms | |"
        echo "| --- | ---: | --- |"
        echo "| send, scanning off | $off | |"
        echo "| send, scanning on | $on | overhead $over ms |"
        echo "| clamdscan --stream | $cs | |"
        echo "| the attachment's scan as recorded by the send | $clamd_ms | $scanned sends recorded it |"
        echo "| overhead / clamdscan | ${ratio}x | goal <= 1.2x: $(verdict "$ratio" 1.2) |"
        echo
    } >"$dir/results-av.md"
}
