// Package optim holds the fused, in-place optimizers and the learning-rate
// schedules of the training loop.
//
// Parameters and gradients live in one contiguous arena each (see pkg/nn),
// so an optimizer is one pass over three to four float32 slices. Every
// Step is a single fused loop, allocates nothing and is memory-bound; it
// runs on the calling goroutine.
//
//   - Adam, the Keras form: lr_t = lr·sqrt(1−β2ᵗ)/(1−β1ᵗ),
//     θ −= lr_t·m/(sqrt(v)+ε). With AdamConfig.Decoupled it is AdamW
//     (θ ← θ(1 − lr·wd) first); otherwise WeightDecay is an L2 term added
//     to the gradient.
//   - Adamax (candle-uno): u = max(β2·u, |g|), θ −= lr/(1−β1ᵗ)·m/(u+ε).
//   - SGD with optional (Nesterov) momentum, Keras form v = μv − lr·g.
//
// Zero AdamConfig fields mean Keras defaults (lr 0.001, β1 0.9, β2 0.999,
// ε 1e-7). Constructors do not fail; call Validate on a config read from a
// file. Step panics when the slice lengths differ from the size the
// optimizer was built for, which is a programmer error.
//
// SaveState writes a small header (magic, name, size, step count, learning
// rate) and the moment buffers as little-endian float32; LoadState into an
// optimizer of the same kind and size continues bit-for-bit.
//
// Schedules: Constant, StepDecay, Linear (warm-up, or candle-uno's linear
// decrease), WarmUp, Then (one schedule, then another), and Plateau
// (Keras's ReduceLROnPlateau and EarlyStopping). CandleUno builds
// candle-uno's schedule: (0.001·(5−e) + lr·e)/5 for epochs e ≤ 5, then the
// plateau rule.
//
// # Usage
//
//	opt := optim.NewAdamax(len(params), optim.AdamConfig{LR: 1e-4})
//	plateau := optim.NewPlateau(optim.PlateauConfig{LR: 1e-4, Factor: 0.5,
//		Patience: 5, MinLR: 1e-5, MinDelta: 1e-4, StopPatience: 10})
//	sched := optim.CandleUno(1e-4, plateau)
//	for epoch := 0; ; epoch++ {
//		opt.SetLR(sched.LR(epoch))
//		for batch := range batches {
//			// forward, backward, all-reduce grads ...
//			opt.Step(params, grads)
//		}
//		lr, stop := plateau.Observe(valLoss)
//		opt.SetLR(lr)
//		if stop {
//			break
//		}
//	}
package optim
