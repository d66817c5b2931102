# Sourced by test/bench/run: `ersctl dns check --all` over 1,000 domains,
# each with a DKIM key, served by one NSD (test/dnsserver) with every record
# of its plan, the MTA-STS policies fetched over HTTPS from a threaded
# Python HTTPS server with one certificate for all mta-sts names; timed with
# dns.concurrency 32 (the default) and 1.  Its own database, so that the
# other sections' tenants are not checked.  Writes the markdown section to
# $dir/results-dns.md.
#
# Needs from the caller: dir, ERSCTL, PG_SOCKET, PG_PORT, PGBIN, say, now, ms,
# calc, median, and `cleanup` as its EXIT trap; python3 and openssl.

bench_dns_check() {
    local n=1000 d port t0 t1
    # Globals: the EXIT trap needs them after a failure.
    dns=$dir/dnsbench https_pid=
    say "dns check: $n domains in their own database, one NSD, one HTTPS server"
    mkdir -p "$dns/zones" "$dns/www/.well-known" "$dns/pki"
    (cd / && runuser -u postgres -- "$PGBIN/psql" -qXAt -h "$PG_SOCKET" -p "$PG_PORT" -U postgres -d postgres \
        -c "CREATE DATABASE dnsbench OWNER ers") >/dev/null
    sed 's/^  name: ers$/  name: dnsbench/' "$ERS_CONFIG" >"$dns/ers.yaml"
    local ERS_CONFIG=$dns/ers.yaml
    export ERS_CONFIG
    local psql_dns=("$PGBIN/psql" -qXAt -h "$PG_SOCKET" -p "$PG_PORT" -U ers -d dnsbench -v ON_ERROR_STOP=1)
    "$ERSCTL" -q db migrate
    "$ERSCTL" -q server host add mail.example.net --kind imap
    "$ERSCTL" -q server host add mail.example.net --kind smtp
    "$ERSCTL" -q tenant add dnsbench --domain d1.bench.test --imap-host mail.example.net --smtp-host mail.example.net
    # One real key for d1, the same public key for the rest (the check
    # compares p= values; the private key is never read).
    "$ERSCTL" -q dkim enable d1.bench.test >/dev/null
    "${psql_dns[@]}" -v n="$n" <<'SQL'
BEGIN;
INSERT INTO ers.domain (tenant_id, name)
    SELECT t.id, 'd' || i || '.bench.test' FROM ers.tenant t, generate_series(2, :n) i WHERE t.name = 'dnsbench';
INSERT INTO ers.dkim_key (domain_id, selector, algorithm, state, private_key_sealed, public_key, activated_at)
    SELECT d.id, k.selector, k.algorithm, 'active', k.private_key_sealed, k.public_key, now()
    FROM ers.domain d, ers.dkim_key k JOIN ers.domain d1 ON d1.id = k.domain_id AND d1.name = 'd1.bench.test'
    WHERE d.name <> 'd1.bench.test';
COMMIT;
ANALYZE ers.domain;
ANALYZE ers.dkim_key;
SQL
    [ "$("${psql_dns[@]}" -c "SELECT count(*) FROM ers.domain d JOIN ers.dkim_key k ON k.domain_id = d.id")" = "$n" ] ||
        { echo "bench: dns: the $n domains with keys did not load" >&2; exit 1; }

    # The certificate for every mta-sts name, from a CA made here.
    (
        cd "$dns/pki"
        openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=ERS bench CA" \
            -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -keyout web.key -out web.csr -subj "/CN=mta-sts.d1.bench.test" 2>/dev/null
        printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' \
            "$(seq 1 "$n" | sed 's/.*/DNS:mta-sts.d&.bench.test/' | paste -sd,)" >web.ext
        openssl x509 -req -in web.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -out web.pem -extfile web.ext 2>/dev/null
    )
    for port in $(shuf -i 27000-27999 -n 20); do ss -Htln "sport = :$port" | grep -q . || break; done
    {
        echo "version: STSv1"; echo "mode: testing"
        seq 1 "$n" | sed 's/.*/mx: mail.d&.bench.test/'
        echo "max_age: 604800"
    } >"$dns/www/.well-known/mta-sts.txt"
    python3 - "$port" "$dns/pki/web.pem" "$dns/pki/web.key" "$dns/www" >"$dns/https.log" 2>&1 <<'PY' &
import functools, http.server, ssl, sys
port, cert, key, root = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
class H(http.server.SimpleHTTPRequestHandler):
    extensions_map = {"": "text/plain", ".txt": "text/plain"}
    def log_message(self, *a): pass
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
class S(http.server.ThreadingHTTPServer):
    request_queue_size = 256
    daemon_threads = True
srv = S(("127.0.0.1", port), functools.partial(H, directory=root))
# The handshake in each request's thread, not in the accepting one.
srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
srv.serve_forever()
PY
    https_pid=$!
    # Stopped on any exit, as the caller's stack is.
    dns_bench_stop() {
        if [ -n "${https_pid:-}" ]; then kill "$https_pid" 2>/dev/null || true; fi
        test/dnsserver stop "$dns" >/dev/null 2>&1 || true
    }
    trap 'dns_bench_stop; cleanup' EXIT
    for i in $(seq 1 50); do ss -Htln "sport = :$port" | grep -q . && break; sleep 0.1; done

    # Every zone from d1's plan: the names, and the MTA-STS id (a hash of a
    # policy that names the domain's MX host), swapped per domain.
    cat >>"$dns/ers.yaml" <<YAML
dns:
  resolver: 127.0.0.1:0
  mail_ipv4: 127.0.0.1
  https_port: $port
  ca_file: $dns/pki/ca.pem
  timeout: 5
YAML
    "$ERSCTL" dns plan d1.bench.test --format zone >"$dns/d1.zone"
    python3 - "$n" "$dns/d1.zone" "$dns/zones" <<'PY'
import hashlib, re, sys
n, template, out = int(sys.argv[1]), open(sys.argv[2]).read(), sys.argv[3]
for i in range(1, n + 1):
    d = "d%d.bench.test" % i
    policy = "version: STSv1\nmode: testing\nmx: mail.%s\nmax_age: 604800\n" % d
    sts_id = hashlib.sha256(policy.encode()).hexdigest()[:20]
    z = re.sub(r"id=[0-9a-f]{20}", "id=" + sts_id, template.replace("d1.bench.test", d))
    soa = "$TTL 3600\n{d}. IN SOA ns.{d}. hostmaster.{d}. 1 3600 600 86400 300\n{d}. IN NS ns.{d}.\nns.{d}. IN A 127.0.0.1\n".format(d=d)
    open("%s/%s.zone" % (out, d), "w").write(soa + z)
PY
    test/dnsserver start "$dns" >/dev/null
    local DNS_PORT
    . "$dns/dns.env"
    sed -i "s/^  resolver: 127.0.0.1:0$/  resolver: 127.0.0.1:$DNS_PORT/" "$dns/ers.yaml"
    sed 's/^  timeout: 5$/  timeout: 5\n  concurrency: 1/' "$dns/ers.yaml" >"$dns/ers-1.yaml"

    say "dns check --all: warm-up, then concurrency 32 and 1 (3 runs each, median)"
    # Every run must find every domain ready; else it says the first problem.
    not_all_ready() {
        python3 -c 'import json,sys
v = json.load(open(sys.argv[1]))
print("bench: dns check --all (concurrency %s): %d of %d domains ready" % (sys.argv[2], v["ready"], v["domains_checked"]))
for d in v["domains"]:
    for f in d["findings"]:
        if f["status"] != "ok": print(" ", d["domain"], f["status"], f["topic"], f["type"], f["detail"]); sys.exit()' "$dns/run.json" "$1" >&2
        exit 1
    }
    "$ERSCTL" --json dns check --all >"$dns/run.json" || not_all_ready 32
    cp "$dns/run.json" "$dns/warm.json"
    local c32=() c1=() r
    for r in 1 2 3; do
        t0=$(now); "$ERSCTL" --json dns check --all >"$dns/run.json" || not_all_ready 32; t1=$(now); c32+=("$(ms "$t0" "$t1")")
        t0=$(now); "$ERSCTL" --config "$dns/ers-1.yaml" --json dns check --all >"$dns/run.json" || not_all_ready 1; t1=$(now); c1+=("$(ms "$t0" "$t1")")
    done
    local m32 m1 records lookups
    m32=$(median "${c32[@]}") m1=$(median "${c1[@]}")
    records=$(python3 -c 'import json,sys; print(sum(len(d["findings"]) for d in json.load(open(sys.argv[1]))["domains"]))' "$dns/warm.json")
    dns_bench_stop
    trap cleanup EXIT
    {
        echo
        echo "## 5. \`ersctl dns check --all\` over $n domains"
        echo
        echo "Method: $n domains of one tenant, each with a DKIM key, loaded with SQL into"
        echo "a database of their own; one NSD on loopback (\`test/dnsserver\`) serves a"
        echo "zone per domain holding every record of its plan; the MTA-STS policies"
        echo "come over HTTPS from a threaded Python server with one certificate for all"
        echo "$n mta-sts names (a CA made for the run, \`dns.ca_file\`).  Each run is the"
        echo "whole command: plans from the database, $records findings (DNS lookups, TLS"
        echo "handshakes, policy fetches), the JSON report.  Every domain was ready.  Median of 3"
        echo "runs after one warm-up; NSD, the HTTPS server and ersctl share the $(nproc) cores,"
        echo "so both ends of every TLS handshake compete for them: here the threads can only"
        echo "overlap what is left, while against real DNS and web servers a domain's check"
        echo "is mostly waiting for answers, which is what the threads overlap."
        echo
        echo "| \`dns.concurrency\` | whole run | per domain |"
        echo "| --- | --- | --- |"
        echo "| 32 (default: 32 threads, each with its own ldns resolver) | **$(calc "$m32 / 1000" 2) s** | $(calc "$m32 / $n" 2) ms |"
        echo "| 1 (one domain after the other) | $(calc "$m1 / 1000" 2) s | $(calc "$m1 / $n" 2) ms |"
        echo "| speed-up | $(calc "$m1 / $m32" 1)× | |"
    } >"$dir/results-dns.md"
}
