-- The Users tab and `ersctl user list --sort`: a page of a tenant's users
-- by name, role or status, read from an index (keyset paging), never by
-- sorting the whole tenant.  The expressions are those of
-- libers/accounts/user.c (sort_exprs).
CREATE INDEX mailbox_tenant_name ON ers.mailbox (tenant_id, lower(first_name || ' ' || last_name), address);
CREATE INDEX mailbox_tenant_role ON ers.mailbox (tenant_id, role, address);
CREATE INDEX mailbox_tenant_status ON ers.mailbox (tenant_id, status, address);
