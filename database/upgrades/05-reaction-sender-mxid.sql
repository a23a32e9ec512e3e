-- v4 -> v5: Who sent a reaction from Matrix
-- A reaction the Matrix user made through Ferry is their own event, stored
-- under their remote account like the reactions its ghost sends. A remote
-- removal names only the remote sender, and on IRC that is a nick someone
-- else can have by then: the core takes such a reaction back only when the
-- user's own account removed it, which it can tell only by knowing whose
-- event the reaction is. Empty for a ghost's.
ALTER TABLE reaction ADD COLUMN sender_mxid TEXT NOT NULL DEFAULT '';
-- The reactions stored before do not say whose they are. Those under a
-- login's remote account as it is now are taken for its user's: the ones
-- sent from Matrix among them stay theirs to take back, as before (the IRC
-- connector did not bridge a removal from the nick a login has without the
-- login's account tag). A reaction the ghost sent under that account goes
-- with the account's own removals: on WhatsApp all of them, on IRC those
-- with the account tag, as before.
UPDATE reaction SET sender_mxid = (
	SELECT login.user_mxid FROM login
	WHERE login.network = reaction.network AND login.remote_user = reaction.sender
	ORDER BY login.id LIMIT 1
) WHERE EXISTS (
	SELECT 1 FROM login WHERE login.network = reaction.network AND login.remote_user = reaction.sender
);
