-- v3 -> v4: Placeholder messages
-- A network may bridge a stand-in for a message it cannot show yet (on
-- WhatsApp, one that failed to decrypt and was asked for again). The flag
-- lets the core recognise the real message when it arrives with the same
-- ID and replace the stand-in instead of dropping the message as already
-- bridged.
ALTER TABLE message ADD COLUMN placeholder BOOLEAN NOT NULL DEFAULT false;
