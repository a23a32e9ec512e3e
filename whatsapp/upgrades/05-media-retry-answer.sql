-- v4 -> v5: The phone's answers to media re-upload requests
-- WhatsApp delivers the phone's answer to a re-upload request once. It is
-- kept with its request until the file (or the notice that the phone has
-- none) is in Matrix, so that a stop before that does not lose it: the
-- login's next run bridges it. NULL while the phone has not answered;
-- else JSON: the file's new direct path or why there is none, and when
-- the answer came.
ALTER TABLE whatsapp_media_retry ADD COLUMN answer TEXT;
