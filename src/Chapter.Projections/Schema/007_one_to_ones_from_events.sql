-- The one-to-ones recorded before the view existed, from their events. Idempotent: the import of the previous store's
-- events runs it again.
INSERT INTO one_to_one_view (id, chapter_id, member_a, member_b, held_on, note, recorded_at)
SELECT (data->>'oneToOneId')::uuid, data->>'chapterId', (data->>'memberA')::uuid, (data->>'memberB')::uuid, (data->>'date')::date,
       data->>'note', (data->>'recordedAt')::timestamptz
FROM mt_events WHERE type = 'one-to-one.held.v1'
ON CONFLICT (id) DO NOTHING;
