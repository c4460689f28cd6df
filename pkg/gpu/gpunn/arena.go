package gpunn

import (
	"context"
	"fmt"

	"github.com/scibench/scibench/pkg/gpu"
	"github.com/scibench/scibench/pkg/nn"
)

// View is one parameter's place in an Arena: elements [Offset, Offset+Len)
// of both the parameter and the gradient allocation.
type View struct {
	Name   string
	Offset int
	Len    int
}

// Arena is the device twin of an nn.Arena: every parameter of a model in
// one device allocation and every gradient in another, in the same
// layout, so the optimizer and the all-reduce see one flat vector each.
type Arena struct {
	e     *Engine
	data  *devBuf
	grad  *devBuf
	views []View
	byOff map[int]View
	// onReady is the gradient-ready hook (SetReadyHook).
	onReady func(View) error
}

// NewArena allocates the device twin of host, which must be built, and
// uploads its parameters; the gradients start at zero.
func (e *Engine) NewArena(ctx context.Context, host *nn.Arena) (*Arena, error) {
	if host == nil || host.Size() == 0 || len(host.Data) != host.Size() {
		return nil, fmt.Errorf("gpunn: %s: arena: host arena is nil, empty or not built", e.where())
	}
	a := &Arena{e: e, byOff: make(map[int]View)}
	for _, p := range host.Params() {
		v := View{Name: p.Name, Offset: p.Offset, Len: p.Len()}
		a.views = append(a.views, v)
		a.byOff[v.Offset] = v
	}
	var err error
	if a.data, err = e.alloc(fmt.Sprintf("arena parameters (%d floats)", host.Size()), host.Size(), 4, true); err != nil {
		return nil, err
	}
	if a.grad, err = e.alloc(fmt.Sprintf("arena gradients (%d floats)", host.Size()), host.Size(), 4, true); err != nil {
		return nil, err
	}
	if err := a.Upload(ctx, host.Data); err != nil {
		return nil, err
	}
	return a, nil
}

// Size is the number of parameters.
func (a *Arena) Size() int { return a.data.n }

// Views returns the parameters' views, in the host arena's order.
func (a *Arena) Views() []View { return append([]View(nil), a.views...) }

// View returns the view of host parameter p, checking it belongs here.
func (a *Arena) View(p *nn.Param) (View, error) { return a.view(p) }

// view returns the view of host parameter p, checking it belongs here.
func (a *Arena) view(p *nn.Param) (View, error) {
	if p == nil {
		return View{}, fmt.Errorf("gpunn: %s: nil parameter", a.e.where())
	}
	v, ok := a.byOff[p.Offset]
	if !ok || v.Name != p.Name || v.Len != p.Len() {
		return View{}, fmt.Errorf("gpunn: %s: parameter %s is not in this arena", a.e.where(), p)
	}
	return v, nil
}

// Upload waits for the engine's stream and copies w (Size values, the
// host arena's Data layout) into the device parameters.
func (a *Arena) Upload(ctx context.Context, w []float32) error {
	if err := a.e.Synchronize(ctx); err != nil {
		return err
	}
	if err := a.e.upload(a.data, w); err != nil {
		return fmt.Errorf("gpunn: arena parameters: %w", err)
	}
	return nil
}

// Download waits for the engine's stream and copies the device parameters
// into w (Size values).
func (a *Arena) Download(ctx context.Context, w []float32) error {
	if err := a.e.Synchronize(ctx); err != nil {
		return err
	}
	if err := a.e.download(w, a.data); err != nil {
		return fmt.Errorf("gpunn: arena parameters: %w", err)
	}
	return nil
}

// DownloadGrad waits for the engine's stream and copies the device
// gradients into g (Size values).
func (a *Arena) DownloadGrad(ctx context.Context, g []float32) error {
	if err := a.e.Synchronize(ctx); err != nil {
		return err
	}
	if err := a.e.download(g, a.grad); err != nil {
		return fmt.Errorf("gpunn: arena gradients: %w", err)
	}
	return nil
}

// ZeroGrad queues the zeroing of every gradient on the engine's stream.
func (a *Arena) ZeroGrad() error {
	if err := a.e.launch("fill_f32", a.grad.n, a.grad.at(0), float32(0), a.grad.n); err != nil {
		return fmt.Errorf("gpunn: arena zero gradients: %w", err)
	}
	return nil
}

// Param is the address of element i of view v's parameters.
func (a *Arena) Param(v View, i int) gpu.Ptr { return a.data.at(v.Offset + i) }

// Grad is the address of element i of view v's gradient.
func (a *Arena) Grad(v View, i int) gpu.Ptr { return a.grad.at(v.Offset + i) }

// SetReadyHook installs f (nil removes it): layers call it through ready
// for each parameter whose gradient they have finished queuing in a
// backward pass, in backward order (Model streams gradients to the host
// with it).
func (a *Arena) SetReadyHook(f func(View) error) { a.onReady = f }

// ready reports that v's gradient work of this backward pass is queued.
func (a *Arena) ready(v View) error {
	if a.onReady == nil {
		return nil
	}
	return a.onReady(v)
}
