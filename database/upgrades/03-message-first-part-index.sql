-- v2 -> v3: Index for a message's first part
-- GetFirstPart, on the hot path of every bridged message, orders a
-- message's parts by seq. With the (portal, timestamp) index present and no
-- statistics yet (a young database), PostgreSQL chose that index and
-- filtered the whole portal: 4 ms per lookup at 20,000 messages instead of
-- 0.3 ms. That index served only Latest, which nothing uses on a hot path,
-- so it goes, and an index leading with the message's key and ending in
-- seq takes its place.
DROP INDEX message_portal_time_idx;
CREATE INDEX message_first_part_idx ON message (network, chat_id, receiver, id, seq);
