package puppets

// rejoinEntries counts the ghosts and rooms Matrix.rejoins holds.
func (m *Matrix) rejoinEntries() int {
	m.rejoinsMu.Lock()
	defer m.rejoinsMu.Unlock()
	return len(m.rejoins)
}
