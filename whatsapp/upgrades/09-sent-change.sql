-- v8 -> v9: Reactions and deletions sent from Matrix
-- Like an edit, a reaction or a deletion a login sends from Matrix reaches
-- every other Ferry login in the chat as any member's, and the portal must
-- not show it a second time. One table keeps the WhatsApp IDs of all of
-- them; the edits' table becomes it, rows and all.
ALTER TABLE whatsapp_sent_edit RENAME TO whatsapp_sent_change;
