-- claim_due_polls takes the accounts whose look-up is still running in the worker (p_busy): a new
-- argument is a new signature, so the old function is dropped (the function file creates the new one).
DROP FUNCTION IF EXISTS lth_pvr.claim_due_polls(text, int, timestamptz);
