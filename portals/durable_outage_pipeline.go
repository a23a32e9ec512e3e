package portals

// The room's pipeline in an outage. When the pipeline gives up a send
// because the homeserver could not be reached, it refuses the room's
// next sends (puppets.Pipeline.Held) until the portal resumes it: the
// portal may hand it another message in the moment before the tail of the
// one given up has kept that one and marked the backlog as stalled, and
// that message must not reach the homeserver first. The portal resumes
// the pipeline when it tries its kept events again (resumeIfDue), and
// when it finds that it kept nothing (liftNeedlessHold).

// liftNeedlessHold, on the portal's goroutine before a message goes
// ahead through the pipeline, resumes a held pipeline whose hold turned
// out needless: once every tail has settled, the portal is not stalled,
// so no event was kept (the one given up could not be stored, or its
// network was told to deliver it again). With a stall, the pipeline stays
// held, and the message waits in the store behind it (heldBehindOutage).
func (p *Portal) liftNeedlessHold() {
	pipe := p.ahead.pipe
	if pipe == nil || !pipe.Held() {
		return
	}
	// The tails of the sends given up or refused decide whether their
	// events were kept.
	p.settle()
	if p.durable.stalled.Load() {
		return
	}
	p.log.Info().Msg("No event was kept for the homeserver; the room's sends go on")
	pipe.Resume()
}

// resumePipeline lets the room's pipeline take sends again as the events
// kept through an outage are tried again. On the portal's goroutine.
func (p *Portal) resumePipeline() {
	if p.ahead.pipe != nil {
		p.ahead.pipe.Resume()
	}
}
