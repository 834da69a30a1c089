-- A tenant's feed is read in commit-visibility order, like the daemon reads the whole log.
DROP INDEX events_tenant_id;
CREATE INDEX events_tenant_tx_id_seq_id ON events (tenant_id, tx_id, seq_id);
