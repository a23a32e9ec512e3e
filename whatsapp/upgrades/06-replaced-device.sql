-- v5 -> v6: Devices of replaced links still to unlink
-- Linking an account again makes a new device, and the earlier one is
-- unlinked once the new one connects. When the new device is slower to
-- connect than the login takes, that is only after the core has stored
-- the new login (under the new device) and started it, which may be
-- minutes later. The earlier device is kept here meanwhile, so that a stop
-- in between does not leave it linked on the phone and in whatsmeow's
-- store for good: the login's next run removes it when its device
-- connects. Rows go when the device is removed, or with a logout.
CREATE TABLE whatsapp_replaced_device (
	login_id   TEXT NOT NULL,
	-- device_jid is the earlier device's full JID, as in the login metadata.
	device_jid TEXT NOT NULL,

	PRIMARY KEY (login_id, device_jid)
);
