-- Webmail sign-in (manual 000 "Logging In", "FreeOTP / MFA Setup",
-- "Logging Out", "Session Management"): sessions with their client and the
-- half-logged-in state between password and code, each mailbox's TOTP
-- (RFC 6238) seed, and the failed attempts that slow down password guessing
-- and lock out code guessing.

-- A session row is the SHA-256 of a 256-bit random token the browser holds;
-- mfa_pending rows are not logged in: they only let ers_login_mfa() ask for
-- the code, for a few minutes.
ALTER TABLE ers.session
    ADD COLUMN client_ip   inet,
    ADD COLUMN user_agent  text NOT NULL DEFAULT '' CHECK (length(user_agent) <= 200),
    ADD COLUMN mfa_pending boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT session_token_hash_size CHECK (length(token_hash) = 32);
-- Expired sessions are swept at each login.
CREATE INDEX session_last_seen ON ers.session (last_seen);

-- Seeds are sealed under the master key (context "totp:ADDRESS"); a pending
-- seed is one shown by "Set Up FreeOTP" and not yet verified.
-- totp_last_step is the last time step whose code was accepted: a code is
-- accepted once (RFC 6238 section 5.2).
ALTER TABLE ers.mailbox
    ADD COLUMN totp_seed_sealed         text CHECK (totp_seed_sealed IS NULL OR totp_seed_sealed LIKE 'v1:%'),
    ADD COLUMN totp_pending_seed_sealed text CHECK (totp_pending_seed_sealed IS NULL OR totp_pending_seed_sealed LIKE 'v1:%'),
    ADD COLUMN totp_enabled_at          timestamptz,
    ADD COLUMN totp_last_step           bigint,
    ADD COLUMN totp_locked_until        timestamptz,
    ADD CONSTRAINT mailbox_totp_enabled CHECK ((totp_seed_sealed IS NULL) = (totp_enabled_at IS NULL));

-- Failed sign-in attempts: wrong passwords (per address and per client
-- address, for the delay) and wrong codes (per address, for the lock-out).
-- `address` is the normalised address typed, whether or not a mailbox has
-- it ('' when it was no address at all); rows older than a day are swept.
CREATE TABLE ers.login_failure (
    id        bigserial PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    kind      text NOT NULL CHECK (kind IN ('password', 'code')),
    address   text NOT NULL CHECK (length(address) <= 320),
    client_ip inet             -- NULL: not a web request
);
CREATE INDEX login_failure_address ON ers.login_failure (address, at);
CREATE INDEX login_failure_client ON ers.login_failure (client_ip, at);
CREATE INDEX login_failure_at ON ers.login_failure (at);
