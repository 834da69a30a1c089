-- While a rebuild fills the second copy of a projection's tables, Marten's checkpoint belongs to that copy. The live
-- tables' own position, and a stop at a poison event they had, are kept here: a cancelled or failed rebuild returns to
-- them, and a rebuild interrupted by a restart starts again from the first event without touching them.
ALTER TABLE projection_state
    ADD COLUMN live_position    bigint,
    ADD COLUMN live_failed_seq  bigint,
    ADD COLUMN live_error       text,
    ADD COLUMN cancel_requested boolean NOT NULL DEFAULT false;
