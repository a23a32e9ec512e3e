package localhs

import (
	"os"
	"time"
)

// StopProcess asks a child process to end with sig and waits until exited
// is closed (the caller closes it once cmd.Wait returns); if the process
// is still running after grace, it is killed and waited for. Asking first
// lets Ferry QUIT its IRC connections and Dendrite and PostgreSQL close
// their databases; the kill keeps a hung child from hanging the caller.
func StopProcess(p *os.Process, sig os.Signal, exited <-chan struct{}, grace time.Duration) {
	_ = p.Signal(sig)
	select {
	case <-exited:
		return
	case <-time.After(grace):
	}
	_ = p.Kill()
	<-exited
}
