-- v10 -> v11: Changes sent from Matrix no longer name their login
-- A row outlives its login's logout (it keeps that login's changes from
-- showing twice through other logins), and the login's ID is its phone
-- number. The echo check reads only the chat and the WhatsApp message ID,
-- which WhatsApp makes unique, so the login ID goes, and with it the
-- number of an account logged out of Ferry.
CREATE TABLE whatsapp_sent_change_v11 (
	chat_id    TEXT   NOT NULL,
	message_id TEXT   NOT NULL,
	sent_at    BIGINT NOT NULL,

	PRIMARY KEY (chat_id, message_id)
);
INSERT INTO whatsapp_sent_change_v11 (chat_id, message_id, sent_at)
	SELECT chat_id, message_id, MAX(sent_at) FROM whatsapp_sent_change GROUP BY chat_id, message_id;
DROP TABLE whatsapp_sent_change;
ALTER TABLE whatsapp_sent_change_v11 RENAME TO whatsapp_sent_change;
CREATE INDEX whatsapp_sent_change_sent_at ON whatsapp_sent_change (sent_at);
