-- Indexes for what aliases and forwards are looked up by: a tenant's
-- counts (tenant show, list and the delete preview) and the cascades of a
-- tenant's deletion, which would otherwise read each table whole.
CREATE INDEX alias_tenant ON ers.alias (tenant_id);
CREATE INDEX forward_tenant ON ers.forward (tenant_id);
CREATE INDEX forward_domain ON ers.forward (domain_id);
CREATE INDEX address_claim_tenant ON ers.address_claim (tenant_id);
