-- DKIM signing keys per domain (manual 001 "DKIM Public Key", manual 002),
-- with staged rotation, and each domain's MTA-STS mode (manual 001).
--
-- A key's life: 'published' (its TXT record is in the plan, nothing signs
-- with it yet) -> 'active' (OpenDKIM signs with it; one per domain) ->
-- 'retiring' (no longer signs, still published until retire_after, so that
-- mail signed with it and still in flight verifies) -> 'retired' (its
-- private key is wiped; the row stays so that `dns check` can call a TXT
-- record still published under its selector stale).
CREATE TABLE ers.dkim_key (
    id                 bigserial PRIMARY KEY,
    domain_id          bigint NOT NULL REFERENCES ers.domain (id) ON DELETE CASCADE,
    selector           text NOT NULL CHECK (selector ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
    algorithm          text NOT NULL CHECK (algorithm IN ('rsa-2048', 'rsa-4096', 'ed25519')),
    state              text NOT NULL CHECK (state IN ('published', 'active', 'retiring', 'retired')),
    -- sealed under the master key (context "dkim:DOMAIN:SELECTOR"); NULL once retired
    private_key_sealed text CHECK (private_key_sealed IS NULL OR private_key_sealed LIKE 'v1:%'),
    public_key         text NOT NULL,   -- base64 of the p= value
    created_at         timestamptz NOT NULL DEFAULT now(),
    activated_at       timestamptz,
    retire_after       timestamptz,
    UNIQUE (domain_id, selector),
    CHECK ((state = 'retired') = (private_key_sealed IS NULL)),
    CHECK (state <> 'retiring' OR retire_after IS NOT NULL)
);
CREATE UNIQUE INDEX dkim_key_one_active ON ers.dkim_key (domain_id) WHERE state = 'active';

ALTER TABLE ers.domain
    ADD COLUMN mta_sts_mode text NOT NULL DEFAULT 'testing' CHECK (mta_sts_mode IN ('testing', 'enforce', 'none'));
