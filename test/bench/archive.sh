# Sourced by test/bench/run: `ersctl archive create --format mbox` of a
# whole mailbox to the local destination (IMAP as the mailbox, mboxrd,
# OpenPGP encryption (gpg run directly), every chunk written read back from
# the disk and compared, SHA-256, fsync, rename included) side by side
# in the same run with
#   - the floor: `doveadm fetch text` of the same messages piped into
#     `gpg -c --compress-algo none` writing a file (goal: >= 0.8x its MB/s),
#   - the peer path: `doveadm backup` of the mailbox to an mbox (goal:
#     >= 2x its MB/s),
# and ersctl's peak memory (maximum resident set size) at two mailbox sizes
# (goal: <= 64 MB at both).  The mailboxes (mixed sizes: most 2-40 KB, one
# in 50 with a 0.5-2 MB attachment) are written as Maildirs and indexed by
# Dovecot.  ARCHIVE_BENCH_MB (default "100 1000") sets the sizes; the
# throughput figures are of the largest.  Writes $dir/results-archive.md.
#
# Needs from the caller: dir, ERSCTL, ERS_CONFIG and the stack's variables
# (stack.env), say, calc; python3, gpg, doveadm, /usr/bin/time or
# /proc-based sampling.

arch_median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

bench_archive() {
    local ab=$dir/archive-bench sizes=${ARCHIVE_BENCH_MB:-100 1000}
    local started load0
    started=$(date -u +%Y-%m-%dT%H:%MZ) load0=$(cut -d' ' -f1-3 /proc/loadavg)
    mkdir -p "$ab"
    { sed '/^archive:/,$d' "$ERS_CONFIG"; printf 'dns:\n  ca_file: %s\narchive:\n  directory: %s\n' "$TLS_CA" "$ab/store"; } >"$ab/ers.yaml"
    local cfg=$ab/ers.yaml
    ERS_CONFIG=$cfg "$ERSCTL" -q server host add archbench.example --kind imap --port 143 --tls starttls 2>/dev/null || true
    ERS_CONFIG=$cfg "$ERSCTL" -q server host add archbench.example --kind smtp --port 587 2>/dev/null || true
    ERS_CONFIG=$cfg "$ERSCTL" -q tenant add archbench --domain archbench.example --imap-host archbench.example \
        --imap-port 143 --smtp-host archbench.example
    ( umask 077; echo "archive-bench-password-1" >"$ab/password" )
    # The tenant's archive key made once, outside the measurements.
    ERS_CONFIG=$cfg "$ERSCTL" -q user add warm@archbench.example --quota-mb 10 --password-file "$ab/password"
    ERS_CONFIG=$cfg "$ERSCTL" -q archive create warm@archbench.example --older-than 0 >/dev/null

    local rows="" mb
    for mb in $sizes; do
        local user=big$mb@archbench.example home
        ERS_CONFIG=$cfg "$ERSCTL" -q user add "$user" --quota-mb 1048576 --password-file "$ab/password"
        home=$(doveadm -c "$DOVECOT_CONFIG" user -f home "$user")
        [ -n "$home" ] || { echo "bench: Dovecot does not know $user" >&2; exit 1; }
        say "archive: writing a $mb MB mailbox"
        python3 - "$home/Maildir" "$mb" <<'PY'
import os, random, sys, time
maildir, mb = sys.argv[1], int(sys.argv[2])
random.seed(1234)
for sub in ("cur", "new", "tmp"):
    os.makedirs(os.path.join(maildir, sub), exist_ok=True)
words = b"report invoice meeting From lunch project update offer travel plan review draft budget".split()
target, total, i = mb * 1048576, 0, 0
t0 = int(time.time()) - 400 * 86400
while total < target:
    i += 1
    body = b" ".join(random.choice(words) for _ in range(random.randint(300, 6000)))
    lines = [body[k:k + 72] for k in range(0, len(body), 72)]
    text = b"\r\n".join(lines) + b"\r\n"
    att = b""
    if i % 50 == 0:
        raw = os.urandom(random.randint(512 * 1024, 2 * 1024 * 1024) * 3 // 4)
        import base64
        enc = base64.encodebytes(raw).replace(b"\n", b"\r\n")
        att = (b"--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"f%d.bin\"\r\n"
               b"Content-Transfer-Encoding: base64\r\n\r\n" % i) + enc
        msg = (b"From: a@example.org\r\nTo: x@archbench.example\r\nSubject: message %d\r\nMessage-ID: <%d@bench>\r\n"
               b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
               b"Content-Type: text/plain\r\n\r\n" % (i, i)) + text + att + b"--b--\r\n"
    else:
        msg = (b"From: a@example.org\r\nTo: x@archbench.example\r\nSubject: message %d\r\nMessage-ID: <%d@bench>\r\n\r\n"
               % (i, i)) + text
    msg = msg.replace(b"\r\n", b"\n")
    name = "%d.%d_%d.bench:2,S" % (t0 + i, i, 0)
    p = os.path.join(maildir, "cur", name)
    with open(p, "wb") as f:
        f.write(msg)
    os.utime(p, (t0 + i, t0 + i))
    total += len(msg)
print(i)
PY
        chown -R 5000:5000 "$home"
        doveadm -c "$DOVECOT_CONFIG" force-resync -u "$user" INBOX
        doveadm -c "$DOVECOT_CONFIG" index -u "$user" INBOX >/dev/null 2>&1 || true
        local nmsg
        nmsg=$(doveadm -c "$DOVECOT_CONFIG" -f flow mailbox status -u "$user" messages INBOX | sed 's/.*=//')
        sync; echo 1 >/proc/sys/vm/drop_caches 2>/dev/null || true
        # Warm the page cache the same way for every contender.
        cat "$home"/Maildir/cur/* >/dev/null

        # The three, interleaved, ARCHIVE_BENCH_ROUNDS times (default 3): the
        # medians are compared (the floor alone varied 159-253 MB/s between
        # single runs), the peak memory is the largest seen.
        local round ers_times=() floor_times=() peer_times=() rss=0 pbytes amsg
        mkdir -p "$ab/gnupg"; chmod 700 "$ab/gnupg"
        for round in $(seq 1 "${ARCHIVE_BENCH_ROUNDS:-3}"); do
            # 1. ersctl, with its peak memory.
            local t0 t1 r plain
            t0=$(now)
            /usr/bin/time -f '%M' -o "$ab/rss" env ERS_CONFIG=$cfg "$ERSCTL" --json archive create "$user" --older-than 0 \
                --format mbox >"$ab/out.json"
            t1=$(now)
            ers_times+=("$(ms "$t0" "$t1")")
            r=$(tail -n 1 "$ab/rss"); [ "$r" -gt "$rss" ] && rss=$r
            plain=$(python3 -c 'import json,sys; a=json.load(open(sys.argv[1]))["archives"][0]; print(a["plain_bytes"], a["messages"])' "$ab/out.json")
            pbytes=${plain% *} amsg=${plain#* }
            [ "$amsg" = "$nmsg" ] || { echo "bench: archived $amsg of $nmsg messages" >&2; exit 1; }
            rm -f "$ab/store"/*.gpg

            # 2. the floor: doveadm fetch | gpg -c, no compression, to a file.
            t0=$(now)
            doveadm -c "$DOVECOT_CONFIG" fetch -u "$user" text mailbox INBOX ALL |
                gpg --batch -q --homedir "$ab/gnupg" --pinentry-mode loopback --passphrase bench -c --compress-algo none \
                    -o "$ab/floor.gpg" --yes
            sync
            t1=$(now)
            floor_times+=("$(ms "$t0" "$t1")")
            rm -f "$ab/floor.gpg"

            # 3. the peer: doveadm backup to an mbox.
            rm -rf "$ab/peer"; mkdir -p "$ab/peer"; chown 5000:5000 "$ab/peer"
            t0=$(now)
            doveadm -c "$DOVECOT_CONFIG" backup -u "$user" "mbox:$ab/peer" >/dev/null 2>&1 || say "archive: doveadm backup failed"
            sync
            t1=$(now)
            peer_times+=("$(ms "$t0" "$t1")")
            rm -rf "$ab/peer"
        done
        local ers_ms floor_ms peer_ms
        ers_ms=$(arch_median "${ers_times[@]}") floor_ms=$(arch_median "${floor_times[@]}") peer_ms=$(arch_median "${peer_times[@]}")
        say "archive: $mb MB: ersctl ${ers_times[*]} ms, floor ${floor_times[*]} ms, doveadm backup ${peer_times[*]} ms"

        local ers_mbs floor_mbs peer_mbs
        ers_mbs=$(calc "$pbytes / 1048576 / ($ers_ms / 1000)" 1)
        floor_mbs=$(calc "$pbytes / 1048576 / ($floor_ms / 1000)" 1)
        peer_mbs=$(calc "$pbytes / 1048576 / ($peer_ms / 1000)" 1)
        rows="$rows| $mb MB, $nmsg messages | $(calc "$ers_ms / 1000" 1) s, $ers_mbs MB/s | $(calc "$floor_ms / 1000" 1) s, $floor_mbs MB/s | $(calc "$ers_mbs / $floor_mbs") | $(calc "$peer_ms / 1000" 1) s, $peer_mbs MB/s | $(calc "$ers_mbs / $peer_mbs") | $(calc "$rss / 1024" 1) MB |
"
        say "archive: $mb MB: ersctl $ers_mbs MB/s, floor $floor_mbs MB/s, doveadm backup $peer_mbs MB/s, peak RSS $((rss / 1024)) MB"
        last_ratio_floor=$(calc "$ers_mbs / $floor_mbs") last_ratio_peer=$(calc "$ers_mbs / $peer_mbs")
    done
    local cpu
    cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
    cat >"$dir/results-archive.md" <<EOF

## 8. Mail archives: \`ersctl archive create --format mbox\`

Run $started on $(nproc) cores ($cpu), load average $load0 at the start.
A whole INBOX (mixed sizes, one message in 50 with a 0.5-2 MB attachment)
archived to the local destination -- IMAP as the mailbox, mboxrd, gpg
encryption without compression, every chunk read back from the disk and
compared, SHA-256, fsync, rename -- vs the
floor \`doveadm fetch text ... | gpg -c --compress-algo none\` to a file and
the peer \`doveadm backup\` to an mbox, each on the same warm page cache,
the three interleaved ${ARCHIVE_BENCH_ROUNDS:-3} times: medians (each run's
milliseconds are printed by the bench).  MB/s are of the messages' bytes as
IMAP gives them; the peak memory is the largest of the runs.

| mailbox | ersctl | floor | ersctl / floor (goal >= 0.8) | doveadm backup | ersctl / backup (goal >= 2) | ersctl peak RSS (goal <= 64 MB) |
| --- | --- | --- | --- | --- | --- | --- |
$rows
EOF
}
