-- Postfix's alias and disabled-recipient lookups read the source tables
-- directly instead of through the union views of 0004: each branch is then
-- one index probe on the key, and the function's cached plan no longer
-- carries the views' other rows (test/bench section 4: 1.22x -> about 1.15x
-- a plain one-table lookup).  Same answers as ers_mail.aliases and
-- ers_mail.disabled_recipients, which stay for people and tools to read.
CREATE OR REPLACE FUNCTION ers_mail.alias_destinations(key text) RETURNS SETOF text
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    RETURN QUERY
        SELECT m.address FROM ers.mailbox m
         WHERE m.address = key
           AND NOT EXISTS (SELECT 1 FROM ers.forward f WHERE f.source = key AND NOT f.keep_copy)
        UNION ALL
        SELECT m.address FROM ers.alias a JOIN ers.mailbox m ON m.id = a.mailbox_id
         WHERE a.address = key
        UNION ALL
        SELECT d.destination FROM ers.forward f CROSS JOIN LATERAL unnest(f.destinations) AS d(destination)
         WHERE f.source = key;
END
$$;

CREATE OR REPLACE FUNCTION ers_mail.disabled_recipient(key text) RETURNS SETOF text
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    RETURN QUERY
        SELECT m.address FROM ers.mailbox m WHERE m.address = key AND m.status = 'disabled'
        UNION ALL
        SELECT a.address FROM ers.alias a JOIN ers.mailbox m ON m.id = a.mailbox_id
         WHERE a.address = key AND m.status = 'disabled';
END
$$;
