-- v1 -> v2: Durable queue of remote events
-- Remote events that networks cannot have redelivered (IRC lines) wait
-- here until their portal has bridged them: while the homeserver is down
-- and across restarts. No foreign keys: the portal may not exist yet (the
-- first event creates it), and a login logged out meanwhile only makes
-- its rows obsolete, which replay notices.
CREATE TABLE remote_event (
-- only: postgres
	seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
-- only: sqlite
	seq         INTEGER PRIMARY KEY AUTOINCREMENT,
	network     TEXT   NOT NULL,
	chat_id     TEXT   NOT NULL,
	receiver    TEXT   NOT NULL DEFAULT '',
	login_id    TEXT   NOT NULL,
	payload     TEXT   NOT NULL,
	received_at BIGINT NOT NULL
);
CREATE INDEX remote_event_portal_idx ON remote_event (network, chat_id, receiver, seq);
