-- POP3 per tenant (manual 004 lists POP3 among the mail client ports; an
-- operator may turn it off for a tenant): Dovecot's password_query refuses
-- a POP3 login (%s = pop3) when the tenant's pop3 is off, and the client
-- settings and autoconfig stop offering it.
ALTER TABLE ers.tenant ADD COLUMN pop3 boolean NOT NULL DEFAULT true;

CREATE OR REPLACE VIEW ers_mail.passdb AS
    SELECT m.address AS username, m.password_hash AS password, t.pop3
    FROM ers.mailbox m JOIN ers.tenant t ON t.id = m.tenant_id
    WHERE m.status = 'active';
