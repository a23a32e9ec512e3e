-- v7 -> v8: Edits sent from Matrix
-- An edit a login sends from Matrix reaches every other Ferry login in the
-- chat as a WhatsApp edit, which the portal must not show a second time.
-- Edit() returns no ID to the core, so the connector keeps the WhatsApp
-- IDs of the edits it sent, per portal chat, and skips their echoes. Rows
-- older than the server keeps offline messages are pruned on insert, and
-- go with a logout.
CREATE TABLE whatsapp_sent_edit (
	-- chat_id is the portal's chat, shared by the logins in a group.
	chat_id    TEXT   NOT NULL,
	message_id TEXT   NOT NULL,
	login_id   TEXT   NOT NULL,
	sent_at    BIGINT NOT NULL,

	PRIMARY KEY (chat_id, message_id, login_id)
);
