-- Personal and tenant mail archives (manual 000 "Personal And Tenant
-- Archives"): the OpenPGP archive keys, one per user and one per tenant,
-- sealed under the master key; the archive jobs and the UIDs each one
-- archived; the tenants' archive policies.
CREATE TABLE ers.archive_key (
    id            bigserial PRIMARY KEY,
    tenant_id     bigint NOT NULL REFERENCES ers.tenant (id) ON DELETE CASCADE,
    mailbox_id    bigint REFERENCES ers.mailbox (id) ON DELETE CASCADE, -- NULL: the tenant's key
    fingerprint   text NOT NULL CHECK (fingerprint ~ '^[0-9A-F]{40,64}$'),
    public_key    text NOT NULL,
    secret_sealed text NOT NULL CHECK (secret_sealed LIKE 'v1:%'),
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX archive_key_user ON ers.archive_key (mailbox_id) WHERE mailbox_id IS NOT NULL;
CREATE UNIQUE INDEX archive_key_tenant ON ers.archive_key (tenant_id) WHERE mailbox_id IS NULL;

CREATE TABLE ers.archive (
    id              bigserial PRIMARY KEY,
    tenant_id       bigint NOT NULL REFERENCES ers.tenant (id) ON DELETE CASCADE,
    mailbox_id      bigint REFERENCES ers.mailbox (id) ON DELETE SET NULL,
    address         text NOT NULL,
    owner_role      text NOT NULL DEFAULT 'user' CHECK (owner_role IN ('user', 'tenant_admin', 'super_admin')),
    kind            text NOT NULL CHECK (kind IN ('personal', 'tenant')),
    key_id          bigint REFERENCES ers.archive_key (id) ON DELETE SET NULL,
    created_by      text NOT NULL,
    folders         text[] NOT NULL DEFAULT '{}', -- empty: every folder
    older_than_days integer NOT NULL CHECK (older_than_days BETWEEN 0 AND 36500),
    cutoff          timestamptz NOT NULL,
    format          text NOT NULL CHECK (format IN ('mbox', 'zip')),
    delete_after    boolean NOT NULL DEFAULT false,
    state           text NOT NULL CHECK (state IN ('running', 'stored', 'expunged', 'failed')),
    messages        bigint NOT NULL DEFAULT 0,
    plain_bytes     bigint NOT NULL DEFAULT 0,
    bytes           bigint NOT NULL DEFAULT 0,  -- the encrypted file's size
    sha256          text CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    path            text,
    expunged        bigint NOT NULL DEFAULT 0,
    error           text,
    run_id          text,                      -- `archive run`: the run that made it
    created_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz
);
CREATE INDEX archive_tenant ON ers.archive (tenant_id, id);
CREATE INDEX archive_mailbox ON ers.archive (mailbox_id, id);

-- The messages an archive holds: folder, UIDVALIDITY and UID on the server.
CREATE TABLE ers.archive_message (
    archive_id  bigint NOT NULL REFERENCES ers.archive (id) ON DELETE CASCADE,
    folder      text NOT NULL,
    uidvalidity bigint NOT NULL,
    uid         bigint NOT NULL,
    PRIMARY KEY (archive_id, folder, uid)
);

CREATE TABLE ers.archive_policy (
    tenant_id       bigint PRIMARY KEY REFERENCES ers.tenant (id) ON DELETE CASCADE,
    format          text NOT NULL DEFAULT 'mbox' CHECK (format IN ('mbox', 'zip')),
    older_than_days integer NOT NULL DEFAULT 30 CHECK (older_than_days BETWEEN 0 AND 36500),
    delete_after    boolean NOT NULL DEFAULT false,
    auto_archive    boolean NOT NULL DEFAULT false,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
