package portals

import "github.com/ferrybridge/ferry/bridge/network"

// Reactions and deleted messages handed over again. Like an edit (remote_edit_once.go), a
// reaction or a reaction's removal that its network hands over again
// (WhatsApp's redelivery after its handler stopped waiting) may come
// behind what changed since: the sender's newer reaction, which replaced
// it (WhatsApp has one per person), or the same reaction given again
// after its removal. The stored reaction does not tell such a copy from
// a new event: the copy replaced the newer reaction with the older one,
// or removed the reaction given again, and the room showed what the chat
// no longer did. So the portal remembers the reactions and removals it
// bridged lately with its edits, and a copy of one is a no-op; its
// network hears that it is bridged.
//
// So too a message deleted for everyone: its copy is recognised by its
// mapping, which the deletion removed, so a copy queued behind the
// deletion sent the deleted message into the room again. The portal
// remembers the messages it deleted lately, and a copy of one is a
// no-op.

// reactionKey names r so that another hand-over of it has the same key:
// handoverKey's target, sender, slot and time, and the reaction itself,
// so that two reactions within the same second (WhatsApp's timestamps)
// stay two. It cannot be an edit's key (editKey is hex, or begins
// "id\x00" for an edit with its own ID; this begins "r\x00").
func reactionKey(r *network.Reaction) string {
	return handoverKey(r) + "\x00" + r.Key
}

// reactionRemoveKey names a removal as reactionKey names a reaction.
func reactionRemoveKey(r *network.ReactionRemove) string {
	return handoverKey(r)
}

// deletionKey names the deletion of the message id (handoverKey's).
func deletionKey(id network.MessageID) string {
	return handoverKey(&network.Redaction{Target: id})
}
