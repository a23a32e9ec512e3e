-- v3 -> v4: History sync chats waiting to be handed to the core
-- whatsmeow acknowledges a history notification and WhatsApp deletes the
-- blob once it is downloaded, and Ferry hands the chats of a blob to the
-- core one after the other, which can take many minutes. Each chat chosen
-- for history is kept here from when it is queued until it is handed over,
-- so that a stop in between does not lose it: the login's next run hands
-- it over then, in the same order. Rows go when handed over, or with a
-- logout.
CREATE TABLE whatsapp_history_chat (
	login_id     TEXT   NOT NULL,
	-- chat_id and receiver are the portal the history goes to.
	chat_id      TEXT   NOT NULL,
	receiver     TEXT   NOT NULL,
	-- position orders a login's chats: the lowest is handed over first.
	position     BIGINT NOT NULL,
	-- conversation is the waHistorySync.Conversation protobuf: the chat's
	-- JID (ID), the DM partner's number (PnJID), and the messages chosen,
	-- newest first.
	conversation BYTEA  NOT NULL,

	PRIMARY KEY (login_id, chat_id)
);
