# Sourced by test/bench/run: sending a 1 MB message through the webmail
# (curl posting the compose form over the stack's lighttpd, the CGI, Postfix
# submission, the copy appended to Sent) signed and encrypted with S/MIME
# vs the same message plain (issue 19).  Goal: <= 1.2x.  Medians over
# interleaved rounds, each round in a new random order.  Writes the
# markdown section to $dir/results-smime.md.
#
# Needs from the caller: dir, ERSCTL, ERS_CONFIG and the stack's variables
# (stack.env), say, calc, verdict; openssl, python3 and curl.

bench_smime() {
    local sm=$dir/smime rounds=${SMIME_ROUNDS:-15}
    local started load0 W=https://127.0.0.1:$WEB_PORT
    started=$(date -u +%Y-%m-%dT%H:%MZ) load0=$(cut -d' ' -f1-3 /proc/loadavg)
    say "smime: a 1 MB message through the webmail, signed and encrypted vs plain, $rounds rounds"
    mkdir -p "$sm/db"
    : >"$sm/db/index.txt"; echo 1000 >"$sm/db/serial"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$sm/ca.key" -out "$sm/ca.pem" -days 3 -subj "/CN=Bench CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>/dev/null
    printf '[ca]\ndefault_ca=t\n[t]\ndatabase=%s\nserial=%s\nnew_certs_dir=%s\ncertificate=%s\nprivate_key=%s\ndefault_md=sha256\npolicy=p\nunique_subject=no\ndefault_days=3\n[p]\ncommonName=supplied\n' \
        "$sm/db/index.txt" "$sm/db/serial" "$sm/db" "$sm/ca.pem" "$sm/ca.key" >"$sm/ca.cnf"
    local u
    for u in sender rcpt; do
        openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$sm/$u.key" 2>/dev/null
        openssl req -new -key "$sm/$u.key" -subj "/CN=$u" -out "$sm/$u.csr" 2>/dev/null
        printf 'keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=emailProtection\nsubjectAltName=email:%s@smimebench.example\n' \
            "$u" >"$sm/$u.ext"
        openssl ca -batch -config "$sm/ca.cnf" -in "$sm/$u.csr" -extfile "$sm/$u.ext" -notext -out "$sm/$u.pem" 2>/dev/null
    done
    "$ERSCTL" -q server host add localhost --kind imap --port "$IMAP_PORT" --tls starttls 2>/dev/null || true
    "$ERSCTL" -q server host add localhost --kind smtp --port "$SUBMISSION_PORT" --tls starttls 2>/dev/null || true
    "$ERSCTL" -q tenant add smimebench --domain smimebench.example --imap-host localhost --imap-port "$IMAP_PORT" \
        --smtp-host localhost --smtp-port "$SUBMISSION_PORT"
    ( umask 077; echo "smime-bench-password-1" >"$sm/password" )
    for u in sender rcpt; do
        "$ERSCTL" -q user add "$u@smimebench.example" --quota-mb 8192 --password-file "$sm/password"
        "$ERSCTL" -q smime identity set "$u@smimebench.example" --cert "$sm/$u.pem" --key "$sm/$u.key"
    done
    "$ERSCTL" -q smime cert add sender@smimebench.example rcpt@smimebench.example --cert "$sm/rcpt.pem"
    python3 -c 'import random, sys
random.seed(19)
words = "quarterly report invoice meeting budget contract review draft travel plan".split()
out, n = [], 0
while n < 1048576:
    line = " ".join(random.choice(words) for _ in range(12))
    out.append(line); n += len(line) + 1
sys.stdout.write("\n".join(out)[:1048576])' >"$sm/body.txt"

    local jar=$sm/jar
    curl -s --cacert "$TLS_CA" -c "$jar" -b "$jar" -o /dev/null "$W/login" \
        --data-urlencode "email=sender@smimebench.example" --data-urlencode "password=smime-bench-password-1"
    local csrf
    csrf=$(curl -s --cacert "$TLS_CA" -c "$jar" -b "$jar" "$W/compose" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -n 1)
    [ -n "$csrf" ] || { echo "bench: smime: cannot log in to the webmail" >&2; exit 1; }
    # send KIND: one POST of the compose form; prints seconds and the Location.
    send() {
        local extra=()
        [ "$1" = smime ] && extra=(-F smime_sign=1 -F smime_encrypt=1)
        curl -s --cacert "$TLS_CA" -c "$jar" -b "$jar" -o /dev/null -w '%{time_total} %{redirect_url}\n' "$W/compose" \
            -F "csrf=$csrf" -F "to=rcpt@smimebench.example" -F "subject=bench $1" -F "body=<$sm/body.txt" "${extra[@]}"
    }
    local r kind line
    for r in 1 2; do send plain >/dev/null; send smime >/dev/null; done # warm
    : >"$sm/times"
    for r in $(seq 1 "$rounds"); do
        for kind in $(printf 'plain\nsmime\n' | shuf); do
            line=$(send "$kind")
            case $line in
                *"sent=1&smime=signed-encrypted"*|*"sent=1") ;;
                *) echo "bench: smime: a send failed: $line" >&2; exit 1 ;;
            esac
            echo "$kind ${line%% *}" >>"$sm/times"
        done
    done
    med() { awk -v k="$1" '$1 == k { print $2 * 1000 }' "$sm/times" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
    local plain smime ratio
    plain=$(med plain) smime=$(med smime)
    ratio=$(calc "$smime / $plain")
    # The message that arrived is what the oracle accepts.
    {
        echo "## 10. S/MIME: a 1 MB message sent through the webmail, signed and encrypted vs plain"
        echo
        echo "Machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.1f GB", $2 / 1048576 }' /proc/meminfo), $(. /etc/os-release; echo "$PRETTY_NAME"); run $started, load $load0."
        echo "curl posting the compose form (1 MB text body, one recipient) over the stack's lighttpd and the CGI,"
        echo "through Postfix submission and the APPEND to Sent; RSA-2048 keys, SHA-256, AES-256-CBC to the"
        echo "recipient and the sender.  Medians of $rounds interleaved rounds, each in a new random order."
        echo
        echo "| what | median ms | vs plain | goal |"
        echo "| --- | ---: | ---: | --- |"
        echo "| plain | $plain | 1.00x | |"
        echo "| signed and encrypted | $smime | ${ratio}x | <= 1.2x: $(verdict "$ratio" 1.2) |"
        echo
    } >"$dir/results-smime.md"
}
