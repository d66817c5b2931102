-- Tenants, their domains, the approved mail hosts, and the audit log.
CREATE TABLE ers.approved_host (
    hostname   text NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('imap', 'smtp')),
    port       integer NOT NULL CHECK (port BETWEEN 1 AND 65535),
    tls        text NOT NULL CHECK (tls IN ('implicit', 'starttls')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (hostname, kind, port)
);

CREATE TABLE ers.tenant (
    id             bigserial PRIMARY KEY,
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    imap_host      text NOT NULL,
    imap_kind      text NOT NULL DEFAULT 'imap' CHECK (imap_kind = 'imap'),
    imap_port      integer NOT NULL,
    smtp_host      text NOT NULL,
    smtp_kind      text NOT NULL DEFAULT 'smtp' CHECK (smtp_kind = 'smtp'),
    smtp_port      integer NOT NULL,
    max_users      bigint CHECK (max_users BETWEEN 0 AND 1000000),
    max_storage_mb bigint CHECK (max_storage_mb BETWEEN 0 AND 104857600),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    -- A tenant can only point at approved endpoints, and an endpoint in use
    -- cannot be withdrawn.
    FOREIGN KEY (imap_host, imap_kind, imap_port) REFERENCES ers.approved_host (hostname, kind, port),
    FOREIGN KEY (smtp_host, smtp_kind, smtp_port) REFERENCES ers.approved_host (hostname, kind, port)
);
CREATE UNIQUE INDEX tenant_name_key ON ers.tenant (lower(name));

CREATE TABLE ers.domain (
    id         bigserial PRIMARY KEY,
    tenant_id  bigint NOT NULL REFERENCES ers.tenant (id) ON DELETE CASCADE,
    name       text NOT NULL UNIQUE CHECK (name = lower(name) AND name !~ '\.$'),
    is_primary boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX domain_one_primary ON ers.domain (tenant_id) WHERE is_primary;
CREATE INDEX domain_tenant ON ers.domain (tenant_id);

CREATE TABLE ers.audit_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor       text NOT NULL,
    via         text,
    action      text NOT NULL,
    target      text NOT NULL,
    tenant_id   bigint,          -- no foreign key: the log outlives tenants
    tenant_name text,
    outcome     text NOT NULL CHECK (outcome IN ('ok', 'denied')),
    detail      text
);
CREATE INDEX audit_log_at ON ers.audit_log (at);
CREATE INDEX audit_log_tenant ON ers.audit_log (tenant_id, id);
CREATE INDEX audit_log_actor ON ers.audit_log (actor, id);
