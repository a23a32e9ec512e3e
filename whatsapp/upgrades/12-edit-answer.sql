-- v11 -> v12: Answers that carry edits too long for Matrix
-- An edit too long for a Matrix edit arrives as an answer to the message
-- it edits, under the edit's own WhatsApp ID (waconv.EditAsMessage). Its
-- key is kept as a message's, with the ID of the message it edits, so
-- that deleting that message deletes its answers too: they hold its text.
-- NULL for every other message. Rows go with the message keys.
ALTER TABLE whatsapp_message ADD COLUMN edit_of TEXT;
CREATE INDEX whatsapp_message_edit_of ON whatsapp_message (login_id, chat_id, edit_of) WHERE edit_of IS NOT NULL;
