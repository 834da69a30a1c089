-- Bearer tokens, stored only as SHA-256 hashes: a token is 256 random bits, so a fast hash is enough and
-- lets a request find its token by index. Credentials are not domain facts, so they live here, not in the log.
CREATE TABLE access_tokens (
    id           uuid        PRIMARY KEY,
    kind         text        NOT NULL CHECK (kind IN ('operator', 'member', 'integration')),
    chapter_id   text,
    member_id    uuid,
    label        text        NOT NULL,
    token_hash   bytea       NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    created_by   text        NOT NULL,
    last_used_at timestamptz,
    revoked_at   timestamptz,
    CHECK ((kind = 'operator') = (chapter_id IS NULL)),
    CHECK ((kind = 'member') = (member_id IS NOT NULL))
);
CREATE INDEX access_tokens_chapter ON access_tokens (chapter_id, member_id);
