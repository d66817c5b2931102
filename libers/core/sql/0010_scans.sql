-- Outbound scanning with clamd (manual 000 "Anti-virus Scanning"): one row
-- per item scanned before a send (the message text, each attachment), the
-- scanner's self-tests, and its last health check.  Rows older than
-- scan.retention_days are deleted (ers.yaml(5)).

CREATE TABLE ers.scan (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    sender      text NOT NULL,
    domain      text NOT NULL,
    -- The sender's tenant when the domain is hosted here; its name kept
    -- for the record when the tenant is deleted.
    tenant_id   bigint REFERENCES ers.tenant (id) ON DELETE SET NULL,
    tenant_name text NOT NULL DEFAULT '',
    message_id  text NOT NULL DEFAULT '',
    item        text NOT NULL,           -- "message text" or the attachment's name
    item_kind   text NOT NULL CHECK (item_kind IN ('body', 'attachment')),
    item_type   text NOT NULL DEFAULT '',
    item_size   bigint NOT NULL CHECK (item_size >= 0),
    result      text NOT NULL CHECK (result IN ('clean', 'infected', 'unavailable')),
    signature   text NOT NULL DEFAULT '',
    detail      text NOT NULL DEFAULT '',
    scanner     text NOT NULL DEFAULT '',
    duration_ms integer NOT NULL DEFAULT 0,
    blocked     boolean NOT NULL
);
CREATE INDEX scan_at ON ers.scan (at);
CREATE INDEX scan_tenant_at ON ers.scan (tenant_id, at);

CREATE TABLE ers.scan_selftest (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('clean', 'eicar')),
    result      text NOT NULL CHECK (result IN ('clean', 'infected', 'unavailable')),
    passed      boolean NOT NULL,
    signature   text NOT NULL DEFAULT '',
    detail      text NOT NULL DEFAULT '',
    scanner     text NOT NULL DEFAULT '',
    duration_ms integer NOT NULL DEFAULT 0
);
CREATE INDEX scan_selftest_at ON ers.scan_selftest (at);

-- One row: the last health check (PING and VERSION).
CREATE TABLE ers.scan_health (
    id         integer PRIMARY KEY CHECK (id = 1),
    checked_at timestamptz NOT NULL,
    ok         boolean NOT NULL,
    version    text NOT NULL DEFAULT '',
    detail     text NOT NULL DEFAULT ''
);
