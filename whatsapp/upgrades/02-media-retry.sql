-- v1 -> v2: Requests to re-upload expired media
-- WhatsApp's servers keep an attachment for a few weeks; after that only
-- the sender's phone has it. When a download fails as expired, Ferry asks
-- the phone to upload it again (a media retry receipt) and keeps the
-- message here until the phone answers, so the answer can be decrypted
-- (with the message's media key) and the file bridged, even across a
-- restart. Rows are removed when answered or after a week.
CREATE TABLE whatsapp_media_retry (
	login_id     TEXT   NOT NULL,
	message_id   TEXT   NOT NULL,
	-- info is whatsmeow's types.MessageInfo as JSON, message the
	-- waE2E.Message protobuf.
	info         TEXT   NOT NULL,
	message      BYTEA  NOT NULL,
	requested_at BIGINT NOT NULL,

	PRIMARY KEY (login_id, message_id)
);
