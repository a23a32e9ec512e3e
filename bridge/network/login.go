package network

import "context"

// LoginFlow describes one way to log in, for `help`.
type LoginFlow struct {
	// Args is the argument syntax after "login <network>", e.g. "[+phone]".
	Args        string
	Description string
}

// LoginProcess is a running login. The core drives it:
//
//   - After Start, and after every step of type StepDisplayQR or
//     StepDisplayCode, the core shows the step and calls Wait, which blocks
//     until the next step (a rotated QR code, completion, or an error).
//   - After a StepUserInput step the core asks the user for the fields and
//     calls Submit with the answers.
//   - StepComplete ends the process.
//
// Cancel may be called at any time, from another goroutine, and makes a
// blocked Wait return an error.
type LoginProcess interface {
	Start(ctx context.Context) (*LoginStep, error)
	Wait(ctx context.Context) (*LoginStep, error)
	Submit(ctx context.Context, input map[string]string) (*LoginStep, error)
	Cancel()
}

type LoginStepType int

const (
	// StepDisplayQR: Data is the text to encode as a QR code. The core
	// renders it as an image and replaces the previous code.
	StepDisplayQR LoginStepType = iota + 1
	// StepDisplayCode: Data is a short code for the user to type elsewhere.
	StepDisplayCode
	// StepUserInput: Fields are asked for.
	StepUserInput
	// StepComplete: Login is to be stored; Client, when set, is already
	// connected (or connecting), otherwise the core loads and connects
	// it. The core takes a handed-over client's state from its
	// CurrentState when it has one, and otherwise as connected.
	StepComplete
)

type LoginStep struct {
	Type         LoginStepType
	Instructions string
	Data         string
	Fields       []LoginField
	Login        *Login
	Client       Client
}

type LoginField struct {
	ID          string
	Name        string
	Description string
	// Secret fields are redacted from the room once read.
	Secret bool
}
