-- audit_findings.transaction_id, the name strategies and checks use: the newest transaction a
-- finding names (transaction_ids holds every one, oldest first: a finding per order may name several
-- trades; NULL for a balance finding, which names none). Generated, so it never disagrees with them.
ALTER TABLE lth_pvr.audit_findings
    ADD COLUMN transaction_id text GENERATED ALWAYS AS (transaction_ids[array_length(transaction_ids, 1)]) STORED;
