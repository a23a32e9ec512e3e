-- v1: WhatsApp message keys
-- What a WhatsApp message key needs and the core does not pass to the
-- network: who sent a message, in which chat JID it really lives (a DM
-- portal keyed by phone number may hold messages addressed by LID), and
-- when. Reactions, deletions, edits and read receipts are built from it.
-- One row per login that saw the message. Times are unix milliseconds.
CREATE TABLE whatsapp_message (
	login_id   TEXT    NOT NULL,
	chat_id    TEXT    NOT NULL,
	message_id TEXT    NOT NULL,
	chat_jid   TEXT    NOT NULL,
	sender_jid TEXT    NOT NULL,
	from_me    BOOLEAN NOT NULL,
	timestamp  BIGINT  NOT NULL,

	PRIMARY KEY (login_id, chat_id, message_id)
);
