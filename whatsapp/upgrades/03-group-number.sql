-- v2 -> v3: Phone numbers groups show beside their members' LIDs
-- In a LID-addressed group, a room's members are the phone-number ghosts
-- of those whose number the group's participant list shows, the LID
-- ghosts of the others. Group changes name members by LID only, so Ferry
-- keeps, per group, the numbers its participant list showed when Ferry
-- last handed it to the core, to name the same ghosts. Only numbers that
-- group showed are kept: whatsmeow's LID store also holds numbers learnt
-- privately (contacts, DMs, other groups), which a shared room must not
-- reveal. JIDs are in whatsmeow's string form, without device.
CREATE TABLE whatsapp_group_number (
	group_jid TEXT NOT NULL,
	lid       TEXT NOT NULL,
	pn        TEXT NOT NULL,

	PRIMARY KEY (group_jid, lid)
);
