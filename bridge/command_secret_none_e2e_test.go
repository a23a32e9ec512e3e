package bridge_test

import (
	"testing"

	"github.com/ferrybridge/ferry/bridge/config"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// TestSecretCommandWithoutAnyPermissionIsDeleted: in a portal, a command
// with a secret from someone with no permission at all (dave, `none`) is
// refused as any command of theirs is, and deleted, as the refusal of
// someone with too little permission (relay) deletes it: the room must
// not keep the password.
func TestSecretCommandWithoutAnyPermissionIsDeleted(t *testing.T) {
	secretRefusedScene(t, testnet.New(), "dave", config.LevelNone, "!ferry test secret hunter2", "not allowed to use this bridge", nil)
}

// TestMistypedSecretCommandWithoutAnyPermissionIsDeleted: so is its typo,
// which holds the password as well.
func TestMistypedSecretCommandWithoutAnyPermissionIsDeleted(t *testing.T) {
	secretRefusedScene(t, testnet.New(), "dave", config.LevelNone, "!ferry test secrte hunter2", "not allowed to use this bridge", nil)
}
