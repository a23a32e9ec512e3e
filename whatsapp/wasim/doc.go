// Package wasim is a WhatsApp protocol simulator for tests: a loopback
// server that unmodified go.mau.fi/whatsmeow clients connect to, so the
// real whatsmeow stack (Noise handshake, pairing, Signal encryption,
// acks, receipts, retries, media encryption) runs end to end without the
// network.
//
// Use:
//
//	sim, err := wasim.Start(ctx, wasim.Options{Log: log})
//	defer sim.Close()
//	alice, err := sim.NewPhone("15550001111", "Alice") // an account: phone + LID
//	cli := whatsmeow.NewClient(device, nil)
//	sim.Configure(cli) // route websocket and media HTTP to the simulator
//	cli.Connect()      // -> events.QR
//	alice.ScanQR(ctx, qr.Codes[0]) // -> events.PairSuccess, events.Connected
//
// or cli.PairPhone(...) and alice.EnterPairingCode(ctx, code).
//
// How whatsmeow is pointed here: Configure installs an HTTP client whose
// transport dials the simulator for every host and trusts only a
// throwaway CA (covering web.whatsapp.com, *.whatsapp.net,
// *.whatsapp.com) as the pre-login, websocket and media client. Start
// installs a test root key in whatsmeow.WACertPubKey, a process-global
// variable, and Close restores it when the last simulator closes; code
// that must reach the real WhatsApp cannot run in the same test binary
// while a simulator is open.
//
// What is modelled:
//   - TLS, websocket framing and the server side of Noise XX with a
//     certificate chain whatsmeow verifies; undecodable stanzas are
//     logged and skipped, never fatal to the server.
//   - Pairing by QR code and by pairing code, with properly signed ADV
//     device identities and the client's device signature checked;
//     stream:error 515; login by phone number, device and Noise key
//     (unknown or unlinked devices get failure 401 -> LoggedOut); a second
//     login of the same device replaces the first (conflict replaced).
//   - Phone actions: ScanQR, EnterPairingCode, Unlink (device_removed),
//     SetProfilePicture, SendHistorySync (an encrypted history blob in the
//     media store, announced by a Signal message from device 0 whose
//     identity is the account key). Client Logout unlinks too.
//   - Prekey count, upload and fetch (one-time prekeys are consumed).
//   - usync: devices, lid, contact (IsOnWhatsApp), and empty status,
//     picture and business answers.
//   - Message relay for DMs and groups with server acks (with phash) and an
//     offline queue: a message, receipt or notification stays queued for a
//     device until it sends a receipt or ack, and everything queued is sent
//     again at each login, followed by <ib><offline/></ib>.
//     Receipts (delivery, read, retry with keys) are routed to the
//     sender's devices; "inactive" receipts arrive as delivery receipts.
//   - Retry receipts and whatsmeow's per-device resends.
//   - Groups (LID addressing mode): create, info, joined groups,
//     add/remove/promote/demote, subject, w:gp2 notifications.
//   - Device-list notifications when a device links or unlinks.
//   - Media: media_conn, upload (hash-checked) and download of the opaque,
//     client-encrypted blobs; profile and group pictures.
//   - Presence (available/unavailable, subscribe) and chat states.
//   - App state as empty collections; default privacy settings.
//
// Addressing: every account has a phone-number JID and a LID, allocated
// deterministically in creation order; devices share their number in both.
// whatsmeow sends DMs to LIDs, so a stanza is relayed in the addressing the
// sender used for that device, with the other form in sender_pn/sender_lid.
//
// The phone (device 0) can send to its own linked devices (history sync)
// but cannot receive: it has no prekeys and is never listed in device
// lists, so senders encrypt only for linked devices. Consequently not
// modelled: app-state key sharing, messages from the phone to contacts,
// the phone's copy of anything, placeholder resends and media re-upload
// requests (SendMediaRetryReceipt) that the phone would answer; a
// history sync is sent only when a test calls SendHistorySync, never
// automatically after linking. Also not modelled: contacts and privacy
// enforcement (everyone can reach everyone), blocking, business accounts,
// newsletters, communities, broadcast lists and status, calls, polls'
// server side, invite links, disappearing-message timers, message and
// media expiry, usernames, tokens
// (tctoken/cstoken are accepted and ignored), rate limits and bans.
package wasim
