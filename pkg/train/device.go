package train

import "context"

// Device is a model whose parameters and gradients live on an accelerator
// (pkg/gpu/gpunn.Model): Config.Device. The loop then
//   - zeroes the gradients there (ZeroGrad) instead of in the host arena;
//   - with one worker, leaves them there: no host all-reduce or scaling,
//     the optimizer (a device optimizer) scales and applies them;
//   - with more, expects the model to copy each finished gradient into the
//     host arena and mark it ready during the backward pass, all-reduces
//     as usual and hands the host gradient to the optimizer, which uploads
//     it;
//   - pulls the weights into the host arena after every epoch's training
//     steps (the hash check, best fit and checkpoints read them there) and
//     pushes them back after it writes them (resume, best-fit restore).
type Device interface {
	ZeroGrad() error
	PullWeights(ctx context.Context) error
	PushWeights(ctx context.Context) error
}

// ErrStepper is an optional Optimizer capability: a step that can fail (a
// device optimizer); the loop calls StepErr instead of Step.
type ErrStepper interface {
	StepErr(w, g []float32) error
}
