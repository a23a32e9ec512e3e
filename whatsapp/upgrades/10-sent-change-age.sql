-- v9 -> v10: Pruning the changes sent from Matrix by their age
-- Every change sent from Matrix first deletes the rows older than they are
-- kept; without an index on sent_at that delete reads the whole table, on
-- every reaction, edit and deletion a user sends.
CREATE INDEX whatsapp_sent_change_sent_at ON whatsapp_sent_change (sent_at);
