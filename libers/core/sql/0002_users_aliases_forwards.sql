-- Mailboxes (users), aliases, forwards and catch-alls, hidden copies, and
-- the sessions table whose rows a password change ends.

-- Every address a tenant receives at is claimed here exactly once, so that a
-- mailbox, an alias and a forward can never share one (manual 003).
CREATE TABLE ers.address_claim (
    address    text PRIMARY KEY CHECK (address = lower(address)),
    tenant_id  bigint NOT NULL REFERENCES ers.tenant (id) ON DELETE CASCADE,
    domain_id  bigint NOT NULL REFERENCES ers.domain (id),
    kind       text NOT NULL CHECK (kind IN ('mailbox', 'alias', 'forward'))
);
CREATE INDEX address_claim_domain ON ers.address_claim (domain_id);

CREATE TABLE ers.mailbox (
    id                   bigserial PRIMARY KEY,
    tenant_id            bigint NOT NULL REFERENCES ers.tenant (id) ON DELETE CASCADE,
    address              text NOT NULL UNIQUE REFERENCES ers.address_claim (address) ON DELETE CASCADE,
    first_name           text NOT NULL DEFAULT '',
    last_name            text NOT NULL DEFAULT '',
    role                 text NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'tenant_admin', 'super_admin')),
    password_hash        text NOT NULL CHECK (password_hash LIKE '$%'),
    quota_mb             bigint CHECK (quota_mb BETWEEN 0 AND 1048576),
    status               text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    disabled_by          text CHECK (disabled_by IN ('self', 'admin')),
    internal_only        boolean NOT NULL DEFAULT false,
    imap_username        text,
    imap_password_sealed text CHECK (imap_password_sealed IS NULL OR imap_password_sealed LIKE 'v1:%'),
    session_generation   bigint NOT NULL DEFAULT 1,
    password_changed_at  timestamptz NOT NULL DEFAULT now(),
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'disabled') = (disabled_by IS NOT NULL))
);
-- Keyset pagination of a tenant's users by address.
CREATE INDEX mailbox_tenant_address ON ers.mailbox (tenant_id, address);

CREATE TABLE ers.alias (
    id            bigserial PRIMARY KEY,
    tenant_id     bigint NOT NULL REFERENCES ers.tenant (id) ON DELETE CASCADE,
    address       text NOT NULL UNIQUE REFERENCES ers.address_claim (address) ON DELETE CASCADE,
    mailbox_id    bigint NOT NULL REFERENCES ers.mailbox (id) ON DELETE CASCADE,
    internal_only boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alias_mailbox ON ers.alias (mailbox_id);

-- A forward's source is a mailbox's own address ("send a copy to", with or
-- without keeping the mail), an address of its own, or '@domain' for the
-- domain's catch-all.
CREATE TABLE ers.forward (
    id           bigserial PRIMARY KEY,
    tenant_id    bigint NOT NULL REFERENCES ers.tenant (id) ON DELETE CASCADE,
    domain_id    bigint NOT NULL REFERENCES ers.domain (id),
    source       text NOT NULL UNIQUE CHECK (source = lower(source)),
    source_kind  text NOT NULL CHECK (source_kind IN ('mailbox', 'address', 'catchall')),
    destinations text[] NOT NULL CHECK (cardinality(destinations) BETWEEN 1 AND 50),
    keep_copy    boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX forward_destinations ON ers.forward USING gin (destinations);

-- Hidden copy of all inbound mail of a domain to one address (manual 004).
ALTER TABLE ers.domain ADD COLUMN copy_inbound_to text;

-- Webmail sessions (the webmail arrives later); a password change or a
-- disable ends every session of the user in ers_user_end_sessions().
CREATE TABLE ers.session (
    token_hash  bytea PRIMARY KEY,
    mailbox_id  bigint NOT NULL REFERENCES ers.mailbox (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    last_seen   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX session_mailbox ON ers.session (mailbox_id);
