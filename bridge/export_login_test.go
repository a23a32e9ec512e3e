package bridge

import "maunium.net/go/mautrix/id"

// LoginFlowRunning reports whether user has a login flow running.
func (b *Bridge) LoginFlowRunning(user id.UserID) bool { return b.flowRunning(user) }
