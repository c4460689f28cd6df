package optim

// Accessors for engines that run these optimizers elsewhere (the GPU
// engine, pkg/gpu/gpunn): they read the configuration and the per-step
// scalars' inputs, keep the moments on their device, and move them in and
// out of the slices Slots returns to save and load state in this package's
// format.

// Config returns the configuration with defaults filled.
func (a *Adam) Config() AdamConfig { return a.c }

// Slots returns the moment vectors m and v (the optimizer's own storage).
func (a *Adam) Slots() [][]float32 { return [][]float32{a.m, a.v} }

// SetSteps sets the number of updates applied (the bias corrections' t).
func (a *Adam) SetSteps(t int64) { a.t = t }

// Config returns the configuration with defaults filled.
func (a *Adamax) Config() AdamConfig { return a.c }

// Slots returns the moment vectors m and u (the optimizer's own storage).
func (a *Adamax) Slots() [][]float32 { return [][]float32{a.m, a.u} }

// SetSteps sets the number of updates applied (the bias correction's t).
func (a *Adamax) SetSteps(t int64) { a.t = t }

// Config returns the configuration (LR is the initial rate).
func (s *SGD) Config() SGDConfig { return s.c }

// Slots returns the velocity, or nothing without momentum.
func (s *SGD) Slots() [][]float32 {
	if s.v == nil {
		return nil
	}
	return [][]float32{s.v}
}

// Steps returns how many updates have been applied.
func (s *SGD) Steps() int64 { return s.t }

// SetSteps sets the number of updates applied.
func (s *SGD) SetSteps(t int64) { s.t = t }
