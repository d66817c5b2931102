-- "Log in as mailbox owner" (manual 003, issue 21): a webmail session an
-- administrator opened as the mailbox's owner.  It names the administrator
-- and the reason given, and ends an hour after it was made however busy it
-- is; the owner's "Account activity" page lists it from the audit log.
ALTER TABLE ers.session
    ADD COLUMN impersonator_id bigint REFERENCES ers.mailbox (id) ON DELETE CASCADE,
    ADD COLUMN impersonation_reason text CHECK (impersonation_reason IS NULL OR length(impersonation_reason) BETWEEN 1 AND 200),
    ADD CONSTRAINT session_impersonation CHECK ((impersonator_id IS NULL) = (impersonation_reason IS NULL));
