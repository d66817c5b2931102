# Sourced by test/bench/run: secure backups (issue 17) side by side with
# their floor, in the same run, on the stack's database (100,000 users or
# more) and a maildir of BACKUP_BENCH_MB (default 1024) MB:
#   1. `ersctl backup create --include-maildirs` vs the floor
#      `pg_dump -Fc` + `tar` of the same files `| zstd -3 | gpg -c
#      --compress-algo none` (AES-256).  Goal: >= 0.8x the floor's
#      throughput.
#   2. its peak memory (largest resident set of ersctl and its children:
#      gpg, pg_dump) at 100 MB and at the full size.  Goal: <= 64 MB.
#   3. `ersctl backup restore` of that backup into an empty database and
#      mail root vs `gpg -d | zstd -d | tar x` + `pg_restore`.  Goal: <= 1.5x.
# Writes the markdown section to $dir/results-backup.md.
#
# Needs from the caller: dir, ERSCTL, ERS_CONFIG, the stack's variables
# (stack.env), psql_ers, psql_super, say, calc, verdict, $dir/hashprobe.

bench_backup() {
    local bk=$dir/backup mb=${BACKUP_BENCH_MB:-1024}
    local started load0
    started=$(date -u +%Y-%m-%dT%H:%MZ) load0=$(cut -d' ' -f1-3 /proc/loadavg)
    mkdir -m 700 -p "$bk"
    ( umask 077; echo "a benchmark backup passphrase" >"$bk/pass" )
    "$ERSCTL" -q server host add mail.bkbench.example --kind imap 2>/dev/null || true
    "$ERSCTL" -q server host add mail.bkbench.example --kind smtp 2>/dev/null || true
    "$ERSCTL" -q tenant add bkbench --domain bkbench.example --imap-host mail.bkbench.example --smtp-host mail.bkbench.example
    local users
    users=$(psql_ers -c "SELECT count(*) FROM ers.mailbox")
    if [ "$users" -lt 100000 ]; then
        say "backup: loading 100,000 users"
        local hash
        hash=$("$dir/hashprobe" hash 'a fixed benchmark password')
        psql_ers -v hash="$hash" <<'SQL'
BEGIN;
INSERT INTO ers.address_claim (address, tenant_id, domain_id, kind)
    SELECT 'b' || i || '@' || d.name, d.tenant_id, d.id, 'mailbox'
    FROM ers.domain d, generate_series(1, 100000) i WHERE d.name = 'bkbench.example';
INSERT INTO ers.mailbox (tenant_id, address, first_name, last_name, role, password_hash, quota_mb)
    SELECT d.tenant_id, 'b' || i || '@' || d.name, 'First' || i, 'Last' || i, 'user', :'hash', 1024
    FROM ers.domain d, generate_series(1, 100000) i WHERE d.name = 'bkbench.example';
COMMIT;
SQL
        users=$(psql_ers -c "SELECT count(*) FROM ers.mailbox")
    fi

    # Mail as it is: text, base64 attachments; ~50 KB messages in 100
    # mailboxes, written straight into Maildir cur/ directories.
    local root
    root=$(sed -n 's/^  mail_root: //p' "$ERS_CONFIG")
    gen_mail() { # FROM_MB TO_MB
        python3 - "$root/bkbench" "$1" "$2" <<'PY'
import base64, os, random, sys
root, lo, hi = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
random.seed(lo)
words = [''.join(random.choice('abcdefghijklmnopqrstuvwxyz') for _ in range(random.randint(2, 9))) for _ in range(5000)]
size, n = lo << 20, lo * 20
while size < hi << 20:
    box = os.path.join(root, 'm%d' % (n % 100), 'Maildir', 'cur')
    os.makedirs(box, exist_ok=True)
    text = ' '.join(random.choice(words) for _ in range(2500))
    att = base64.encodebytes(os.urandom(30000)).decode()
    msg = ('From: a@example.org\r\nTo: b@bkbench.example\r\nSubject: message %d\r\n'
           'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n'
           'Content-Type: text/plain\r\n\r\n%s\r\n--x\r\nContent-Type: application/octet-stream\r\n'
           'Content-Transfer-Encoding: base64\r\n\r\n%s\r\n--x--\r\n') % (n, text, att)
    with open(os.path.join(box, '%d.M%dP1.bench:2,S' % (1700000000 + n, n)), 'w') as f:
        f.write(msg)
    size += len(msg)
    n += 1
PY
        chown -R 5000:5000 "$root/bkbench"
    }
    # ersctl's run: seconds and the largest resident set among it and its
    # children, in MB (GNU time's %M covers the waited-for descendants).
    timed() { # OUTFILE COMMAND...
        local out=$1; shift
        /usr/bin/time -f '%e %M %U %S' -o "$out" "$@" >/dev/null 2>"$out.err"
    }
    local conninfo="host=$PG_SOCKET port=$PG_PORT dbname=ers user=ers"
    floor_create() { # OUT TIMEFILE: pg_dump to a file, then tar of it and the mail | zstd | gpg
        local g=$bk/gnupg
        rm -rf "$g"; mkdir -m 700 "$g"
        /usr/bin/time -f '%e %M %U %S' -o "$2" bash -c '
            pg_dump -Fc --dbname "$1" >"$2/floor.dump" &&
            tar -cf - -C "$2" floor.dump -C "$3" . | zstd -q -3 -T2 |
                gpg --homedir "$4" --batch -q --pinentry-mode loopback --passphrase-file "$2/pass" \
                    --symmetric --cipher-algo AES256 --compress-algo none -o "$5"' \
            floor "$conninfo" "$bk" "$root" "$g" "$1"
        gpgconf --homedir "$g" --kill gpg-agent
    }

    say "backup: $users users; ${mb} MB of mail (first 100 MB)"
    gen_mail 0 100
    rm -f "$bk"/*.gpg
    timed "$bk/t100" "$ERSCTL" backup create --include-maildirs --passphrase-file "$bk/pass" -o "$bk/small.gpg"
    local peak100
    peak100=$(awk '{ printf "%.1f", $2 / 1024 }' "$bk/t100")
    say "backup: generating the rest, up to $mb MB"
    gen_mail 100 "$mb"
    local input_mb
    input_mb=$(du -sm "$root" | cut -f1)
    rm -f "$bk/small.gpg"
    # Page cache warm for both; then interleaved: ours, floor, ours, floor.
    tar -cf - -C "$root" . >/dev/null
    local ours=() floors=() ours_cpu=() floors_cpu=() peak=0 r
    for r in 1 2; do
        rm -f "$bk/ours.gpg" "$bk/floor.gpg"
        timed "$bk/t$r" "$ERSCTL" backup create --include-maildirs --passphrase-file "$bk/pass" -o "$bk/ours.gpg" ||
            { echo "bench: backup create failed: $(cat "$bk/t$r.err")" >&2; exit 1; }
        ours+=("$(cut -d' ' -f1 "$bk/t$r")")
        ours_cpu+=("$(awk '{ print $3 + $4 }' "$bk/t$r")")
        peak=$(awk -v a="$peak" -v b="$(cut -d' ' -f2 "$bk/t$r")" 'BEGIN { print (b / 1024 > a) ? b / 1024 : a }')
        floor_create "$bk/floor.gpg" "$bk/f$r"
        floors+=("$(cut -d' ' -f1 "$bk/f$r")")
        floors_cpu+=("$(awk '{ print $3 + $4 }' "$bk/f$r")")
    done
    local ours_s floor_s
    ours_s=$(printf '%s\n' "${ours[@]}" | sort -g | head -n 1)
    floor_s=$(printf '%s\n' "${floors[@]}" | sort -g | head -n 1)
    local ours_c floor_c
    ours_c=$(printf '%s\n' "${ours_cpu[@]}" | sort -g | head -n 1)
    floor_c=$(printf '%s\n' "${floors_cpu[@]}" | sort -g | head -n 1)
    local ours_size floor_size
    ours_size=$(( $(stat -c %s "$bk/ours.gpg") >> 20 ))
    floor_size=$(( $(stat -c %s "$bk/floor.gpg") >> 20 ))
    local thr_ours thr_floor ratio_c
    thr_ours=$(calc "$input_mb / $ours_s" 0)
    thr_floor=$(calc "$input_mb / $floor_s" 0)
    ratio_c=$(calc "$floor_s / $ours_s")

    # Restore: ours into an empty database and mail root (a copy of
    # ers.yaml naming them); the floor by hand into another.
    say "backup: restore, ours vs gpg -d | zstd -d | tar x + pg_restore"
    psql_super -c "DROP DATABASE IF EXISTS ers_rb" -c "DROP DATABASE IF EXISTS ers_rf" \
        -c "CREATE DATABASE ers_rb OWNER ers" -c "CREATE DATABASE ers_rf OWNER ers" >/dev/null
    rm -rf "$bk/rmail" "$bk/rfiles" "$bk/fmail"
    sed -e "s|^  name: ers$|  name: ers_rb|" -e "s|^  mail_root: .*|  mail_root: $bk/rmail|" "$ERS_CONFIG" >"$bk/ers-rb.yaml"
    sync
    timed "$bk/tr" "$ERSCTL" --config "$bk/ers-rb.yaml" backup restore "$bk/ours.gpg" --passphrase-file "$bk/pass" \
        --files-to "$bk/rfiles" || { echo "bench: backup restore failed: $(cat "$bk/tr.err")" >&2; exit 1; }
    local restore_s restore_peak
    restore_s=$(cut -d' ' -f1 "$bk/tr")
    restore_peak=$(awk '{ printf "%.1f", $2 / 1024 }' "$bk/tr")
    local g=$bk/gnupg t0 t1 frestore_s
    mkdir -p "$bk/fmail"
    t0=$(date +%s%N)
    gpg --homedir "$g" --batch -q --pinentry-mode loopback --passphrase-file "$bk/pass" -d "$bk/floor.gpg" |
        zstd -q -d | tar -xf - -C "$bk/fmail"
    pg_restore --no-owner --no-privileges --single-transaction --exit-on-error \
        --dbname "host=$PG_SOCKET port=$PG_PORT dbname=ers_rf user=ers" "$bk/fmail/floor.dump"
    t1=$(date +%s%N)
    gpgconf --homedir "$g" --kill gpg-agent
    frestore_s=$(calc "($t1 - $t0) / 1e9" 2)
    local ratio_r
    ratio_r=$(calc "$restore_s / $frestore_s")
    local restored_users
    restored_users=$(psql_super -d ers_rb -c "SELECT count(*) FROM ers.mailbox" 2>/dev/null || echo "?")
    psql_super -c "DROP DATABASE IF EXISTS ers_rb" -c "DROP DATABASE IF EXISTS ers_rf" >/dev/null
    rm -rf "$bk/rmail" "$bk/fmail" "$bk/rfiles" "$root/bkbench" "$bk"/*.gpg "$bk/floor.dump"

    local cpu load1
    cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
    load1=$(cut -d' ' -f1-3 /proc/loadavg)
    local ok_c ok_m ok_r
    ok_c=$(awk -v v="$ratio_c" 'BEGIN { print (v >= 0.8) ? "met" : "MISSED" }')
    ok_m=$(awk -v a="$peak100" -v b="$peak" 'BEGIN { print (a <= 64 && b <= 64) ? "met" : "MISSED" }')
    ok_r=$(verdict "$ratio_r" 1.5)
    cat >"$dir/results-backup.md" <<EOF

## 9. Secure backups: \`ersctl backup create\` and \`restore\`

$started, $(nproc) cores ($cpu), load $load0 at the start and $load1 at the
end.  $users users in the database, $input_mb MB of maildirs (100 mailboxes of
~50 KB messages, text plus base64).  Best of 2 interleaved runs, page cache
warm.  Baselines: NOTES-performance.md "Archives and backups" (tar | zstd |
gpg at 261 MB/s on 989 MB).

| | seconds | CPU seconds (user + sys) | MB/s of maildir | ratio | goal | |
| --- | ---: | ---: | ---: | ---: | --- | --- |
| \`ersctl backup create --include-maildirs\` | $ours_s | $ours_c | $thr_ours | $ratio_c of the floor's throughput | >= 0.8 | $ok_c |
| floor: \`pg_dump -Fc\`, then \`tar \| zstd -3 -T2 \| gpg -c --compress-algo none\` | $floor_s | $floor_c | $thr_floor | 1 | | |
| \`ersctl backup restore\` (reads the file twice: check, then apply) | $restore_s | | | $ratio_r of the floor | <= 1.5 | $ok_r |
| floor: \`gpg -d \| zstd -d \| tar x\` + \`pg_restore --single-transaction\` | $frestore_s | | | 1 | | |

Peak memory (largest resident set of ersctl, gpg and pg_dump): $peak100 MB at
100 MB of mail, $(calc "$peak" 1) MB at $input_mb MB; $restore_peak MB for the restore.
Goal <= 64 MB: $ok_m.  Sizes: ours $ours_size MB, the floor's $floor_size MB.
The restore brought back $restored_users users.
EOF
}
