-- Webhooks a chapter's leaders registered, each with its own place in the chapter's event feed: position is the last
-- event delivered (or passed over, when not subscribed or dead-lettered), so each webhook is a queue of its own.
-- The secret signs deliveries (HMAC-SHA256), so it is kept as it was issued: it is shown to the leader once.
CREATE TABLE webhooks (
    id              uuid        PRIMARY KEY,
    chapter_id      text        NOT NULL,
    url             text        NOT NULL,
    events          text[]      NOT NULL,
    label           text        NOT NULL,
    secret          text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    created_by      text        NOT NULL,
    position        bigint      NOT NULL,
    attempts        int         NOT NULL DEFAULT 0,
    failing_since   timestamptz,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_owner     uuid,
    lease_until     timestamptz,
    deleted_at      timestamptz
);
CREATE INDEX webhooks_chapter ON webhooks (chapter_id, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX webhooks_due ON webhooks (next_attempt_at) WHERE deleted_at IS NULL;

-- Every attempt, as leaders and integrators see it when a receiver misbehaves.
CREATE TABLE webhook_deliveries (
    id           uuid        PRIMARY KEY,
    webhook_id   uuid        NOT NULL REFERENCES webhooks (id),
    position     bigint      NOT NULL,
    event_id     uuid        NOT NULL,
    event_type   text        NOT NULL,
    attempt      int         NOT NULL,
    outcome      text        NOT NULL CHECK (outcome IN ('delivered', 'failed', 'dead-lettered')),
    status_code  int,
    error        text,
    attempted_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, attempted_at, id);
