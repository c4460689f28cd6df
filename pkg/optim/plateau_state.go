package optim

// PlateauState is the resumable state of a Plateau (what a checkpoint must
// keep so that a resumed run reduces the rate and stops at the same epochs).
type PlateauState struct {
	LR       float64
	Best     float64 // best loss of the reduction rule (+Inf before the first)
	Wait     int
	Cooldown int
	StopBest float64 // best loss of the stopping rule
	StopWait int
}

// State returns the current state.
func (p *Plateau) State() PlateauState {
	return PlateauState{LR: p.lr, Best: p.best, Wait: p.wait, Cooldown: p.cooldown, StopBest: p.stopBest, StopWait: p.stopWait}
}

// SetState restores a state returned by State (the configuration stays).
func (p *Plateau) SetState(s PlateauState) {
	p.lr, p.best, p.wait, p.cooldown, p.stopBest, p.stopWait = s.LR, s.Best, s.Wait, s.Cooldown, s.StopBest, s.StopWait
}
