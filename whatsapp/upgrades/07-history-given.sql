-- v6 -> v7: Chats that got their history
-- WhatsApp sends a new login's history in several blobs, minutes or hours
-- apart, and max_chats counts the chats given history across all of them;
-- a chat gets its history once. The chats chosen are kept here from when
-- they are queued, so that a restart between two blobs neither starts the
-- count again nor gives a chat its history twice. Rows go with a logout.
CREATE TABLE whatsapp_history_given (
	login_id TEXT NOT NULL,
	-- chat_id and receiver are the chat's portal.
	chat_id  TEXT NOT NULL,
	receiver TEXT NOT NULL,

	PRIMARY KEY (login_id, chat_id)
);
