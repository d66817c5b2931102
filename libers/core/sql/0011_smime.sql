-- S/MIME (manual 000 "S/MIME Setup", "How S/MIME Private Keys Are Stored",
-- "Managing User S/MIME Identities"): each user's identity and the
-- recipient certificates a user saved for encrypting to others.

-- The certificate is stored as PEM (re-encoded: one block, no text around
-- it) with what the status shows of it; the private key (PEM, as pasted)
-- and its optional passphrase are sealed under the master key with the
-- contexts "smime-key:ADDRESS" and "smime-passphrase:ADDRESS", so a sealed
-- value copied to another row does not open.
CREATE TABLE ers.smime_identity (
    mailbox_id        bigint PRIMARY KEY REFERENCES ers.mailbox (id) ON DELETE CASCADE,
    cert_pem          text NOT NULL CHECK (cert_pem LIKE '-----BEGIN CERTIFICATE-----%'),
    key_sealed        text NOT NULL CHECK (key_sealed LIKE 'v1:%'),
    passphrase_sealed text CHECK (passphrase_sealed IS NULL OR passphrase_sealed LIKE 'v1:%'),
    subject           text NOT NULL,
    issuer            text NOT NULL,
    serial            text NOT NULL,
    not_before        timestamptz NOT NULL,
    not_after         timestamptz NOT NULL,
    fingerprint       text NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    updated_by        text NOT NULL
);

-- address -> certificate, per user (only public certificates: nothing sealed).
CREATE TABLE ers.smime_recipient_cert (
    id          bigserial PRIMARY KEY,
    mailbox_id  bigint NOT NULL REFERENCES ers.mailbox (id) ON DELETE CASCADE,
    address     text NOT NULL CHECK (address = lower(address) AND length(address) <= 320),
    cert_pem    text NOT NULL CHECK (cert_pem LIKE '-----BEGIN CERTIFICATE-----%'),
    fingerprint text NOT NULL,
    not_after   timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (mailbox_id, address)
);
