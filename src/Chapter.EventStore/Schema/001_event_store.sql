-- Streams and events in Marten's shape. Versions and positions are bigint everywhere.
CREATE SEQUENCE event_sequence AS bigint CACHE 1;

CREATE TABLE streams (
    id          text        PRIMARY KEY,
    type        text        NOT NULL,
    version     bigint      NOT NULL CHECK (version > 0),
    tenant_id   text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE events (
    seq_id      bigint      PRIMARY KEY,
    stream_id   text        NOT NULL REFERENCES streams (id),
    version     bigint      NOT NULL,
    type        text        NOT NULL,
    data        jsonb       NOT NULL,
    metadata    jsonb       NOT NULL,
    tenant_id   text        NOT NULL,
    timestamp   timestamptz NOT NULL DEFAULT now(),
    -- The appending transaction's id: lets readers order by commit visibility, not by sequence,
    -- because sequence numbers are taken before commit and become visible out of order.
    tx_id       xid8        NOT NULL DEFAULT pg_current_xact_id(),
    UNIQUE (stream_id, version)
);

CREATE INDEX events_tx_id_seq_id ON events (tx_id, seq_id);
CREATE INDEX events_tenant_id ON events (tenant_id, seq_id);
