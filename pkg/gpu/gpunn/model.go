package gpunn

import (
	"context"
	"errors"
	"fmt"

	"github.com/scibench/scibench/pkg/gpu"
	"github.com/scibench/scibench/pkg/nn"
	"github.com/scibench/scibench/pkg/tensor"
)

// Net is a model's graph of device layers with its own wiring (branches,
// skips, merges); package models builds one for each of its models.
type Net interface {
	Forward(inputs []Tensor, train bool) (Tensor, error)
	Backward(dout Tensor) error
}

// HostSyncer is a layer with state outside the arena (BatchNorm's running
// statistics), copied to and from its host twin with the weights.
type HostSyncer interface {
	SyncToHost(ctx context.Context) error
	SyncFromHost(ctx context.Context) error
}

// ModelConfig configures NewModel.
type ModelConfig struct {
	// StreamGrads copies each parameter's gradient into the host arena's
	// Grad as soon as the backward pass has finished it, on a second
	// stream, and then calls the host Param's MarkReady, so the training
	// loop's bucketed all-reduce overlaps the rest of the backward pass
	// (data parallelism over more than one worker). Without it the
	// gradients stay on the device (one worker).
	StreamGrads bool
	// CopyElems is the most gradient elements one copy to the host
	// gathers (0: 1<<18, the training loop's all-reduce bucket): finished
	// parameters adjacent in the arena are copied together once they
	// reach it, and whatever is left when the backward pass ends.
	CopyElems int
	// Context bounds every wait for the device (nil: background, where
	// gpu.Config.SyncTimeout applies).
	Context context.Context
}

// Model runs a Net on the device behind the host model interface of
// package models: Forward takes host tensors and returns a host tensor,
// Backward takes the host gradient of the output. Inputs, outputs and
// streamed gradients pass through pinned host buffers. The parameters live
// in the device Arena; PullWeights and PushWeights move them to and from
// the host arena (checkpoints, best fit, the cross-rank hash check).
type Model struct {
	e    *Engine
	a    *Arena
	host *nn.Arena
	net  Net
	sync []HostSyncer
	cfg  ModelConfig
	ctx  context.Context

	ins      []*devBuf
	inStage  []*gpu.HostBuffer
	inT      []Tensor
	out      tensor.Tensor
	outT     Tensor
	outStage *gpu.HostBuffer
	dout     *devBuf
	dStage   *gpu.HostBuffer

	// gradient streaming
	copyS  *gpu.Stream
	grads  *gpu.HostBuffer // the arena's gradient, pinned
	events []*gpu.Event
	nev    int
	params map[int]*nn.Param
	jobs   chan gradJob
	done   chan error
	lo, hi int // finished gradients not yet copied (lo == hi: none)
}

// gradJob is a range of finished gradients on its way to the host (ev
// nil: the end of a backward pass).
type gradJob struct {
	ev     *gpu.Event
	lo, hi int
}

// NewModel uploads host (built) into a device Arena, calls build to make
// the Net on it, and returns the Model. syncers are the layers with state
// outside the arena.
func (e *Engine) NewModel(host *nn.Arena, cfg ModelConfig, build func(a *Arena) (Net, []HostSyncer, error)) (*Model, error) {
	m := &Model{e: e, host: host, cfg: cfg, ctx: cfg.Context}
	if m.ctx == nil {
		m.ctx = context.Background()
	}
	if m.cfg.CopyElems <= 0 {
		m.cfg.CopyElems = 1 << 18
	}
	var err error
	if m.a, err = e.NewArena(m.ctx, host); err != nil {
		return nil, err
	}
	if m.net, m.sync, err = build(m.a); err != nil {
		return nil, err
	}
	if cfg.StreamGrads {
		if m.copyS, err = e.c.NewStream(); err != nil {
			return nil, fmt.Errorf("gpunn: %s: gradient copy stream: %w", e.where(), err)
		}
		if m.grads, err = e.c.HostAlloc(4 * host.Size()); err != nil {
			return nil, fmt.Errorf("gpunn: %s: pinned gradient buffer (%d floats): %w", e.where(), host.Size(), err)
		}
		m.params = make(map[int]*nn.Param, len(host.Params()))
		for _, p := range host.Params() {
			m.params[p.Offset] = p
		}
		m.jobs = make(chan gradJob, 4*len(host.Params())+1)
		m.done = make(chan error, 1)
		go m.watch(m.jobs)
	}
	return m, nil
}

// Arena is the host arena (models.Model).
func (m *Model) Arena() *nn.Arena { return m.host }

// DeviceArena is the device arena.
func (m *Model) DeviceArena() *Arena { return m.a }

// Engine is the engine the model runs on.
func (m *Model) Engine() *Engine { return m.e }

// Device names the device.
func (m *Model) Device() string { return m.e.where() }

// upload copies x into the device through the pinned stage, growing both.
func (m *Model) upload(what string, x *tensor.Tensor, d **devBuf, stage **gpu.HostBuffer) (Tensor, error) {
	e := m.e
	n := len(x.Data)
	if n == 0 {
		return Tensor{}, fmt.Errorf("gpunn: %s: %s is empty", e.where(), what)
	}
	if err := e.grow(d, what, n, 4); err != nil {
		return Tensor{}, err
	}
	if *stage == nil || (*stage).Size() < 4*n {
		// the previous copy from the stage must be done before it is freed
		if err := e.Synchronize(m.ctx); err != nil {
			return Tensor{}, err
		}
		if *stage != nil {
			if err := (*stage).Free(); err != nil {
				return Tensor{}, err
			}
		}
		var err error
		if *stage, err = e.c.HostAlloc(4 * n); err != nil {
			return Tensor{}, fmt.Errorf("gpunn: %s: pinned %s: %w", e.where(), what, err)
		}
	} else if err := e.Synchronize(m.ctx); err != nil { // the stage is free again
		return Tensor{}, err
	}
	copy((*stage).Float32s(), x.Data)
	if err := e.s.CopyHtoDAsyncAt((*d).at(0), *stage, 0, 4*n); err != nil {
		return Tensor{}, fmt.Errorf("gpunn: %s upload: %w", what, err)
	}
	return (*d).tensor(x.Shape...), nil
}

// Forward uploads the inputs, runs the Net and returns its output, copied
// to a host tensor the Model owns (valid until the next Forward).
func (m *Model) Forward(inputs []*tensor.Tensor, train bool) (*tensor.Tensor, error) {
	for len(m.ins) < len(inputs) {
		m.ins, m.inStage = append(m.ins, nil), append(m.inStage, nil)
	}
	m.inT = m.inT[:0]
	for i, x := range inputs {
		if x == nil {
			return nil, fmt.Errorf("gpunn: %s: input %d is nil", m.e.where(), i)
		}
		t, err := m.upload(fmt.Sprintf("model input %d", i), x, &m.ins[i], &m.inStage[i])
		if err != nil {
			return nil, err
		}
		m.inT = append(m.inT, t)
	}
	y, err := m.net.Forward(m.inT, train)
	if err != nil {
		return nil, err
	}
	m.outT = y
	n := y.Len()
	if m.outStage == nil || m.outStage.Size() < 4*n {
		if m.outStage != nil {
			if err := m.e.Synchronize(m.ctx); err != nil {
				return nil, err
			}
			if err := m.outStage.Free(); err != nil {
				return nil, err
			}
		}
		if m.outStage, err = m.e.c.HostAlloc(4 * n); err != nil {
			return nil, fmt.Errorf("gpunn: %s: pinned model output: %w", m.e.where(), err)
		}
	}
	if err := m.e.s.CopyDtoHAsyncAt(m.outStage, 0, y.P, 4*n); err != nil {
		return nil, fmt.Errorf("gpunn: model output download: %w", err)
	}
	if err := m.e.Synchronize(m.ctx); err != nil {
		return nil, err
	}
	m.out.Ensure(y.Shape...)
	copy(m.out.Data, m.outStage.Float32s()[:n])
	return &m.out, nil
}

// ZeroGrad queues the zeroing of the device gradients.
func (m *Model) ZeroGrad() error { return m.a.ZeroGrad() }

// Backward uploads dout (the shape of the last output) and runs the Net
// backward, accumulating into the device gradients. With StreamGrads each
// finished parameter gradient is copied into the host arena's Grad and
// marked ready there while the backward pass goes on; Backward returns
// when all of them have arrived.
func (m *Model) Backward(dout *tensor.Tensor) error {
	if dout == nil || len(dout.Data) != m.outT.Len() {
		return fmt.Errorf("gpunn: %s: output gradient of %v values for an output of shape %v", m.e.where(), dout, m.outT.Shape)
	}
	dy, err := m.upload("output gradient", dout, &m.dout, &m.dStage)
	if err != nil {
		return err
	}
	if !m.cfg.StreamGrads {
		return m.net.Backward(dy)
	}
	m.nev, m.lo, m.hi = 0, 0, 0
	m.a.SetReadyHook(m.ready)
	err = m.net.Backward(dy)
	m.a.SetReadyHook(nil)
	if err == nil {
		err = m.flush()
	}
	m.jobs <- gradJob{} // end of this pass
	werr := <-m.done
	return errors.Join(err, werr)
}

// event returns the next event of this backward pass's pool.
func (m *Model) event() (*gpu.Event, error) {
	if m.nev == len(m.events) {
		ev, err := m.e.c.NewEvent()
		if err != nil {
			return nil, err
		}
		m.events = append(m.events, ev)
	}
	m.nev++
	return m.events[m.nev-1], nil
}

// ready adds v to the range of finished gradients, copying the range
// first when v does not extend it, and after when it has grown to
// CopyElems.
func (m *Model) ready(v View) error {
	switch {
	case m.lo == m.hi:
		m.lo, m.hi = v.Offset, v.Offset+v.Len
	case v.Offset+v.Len == m.lo:
		m.lo = v.Offset
	case v.Offset == m.hi:
		m.hi += v.Len
	default:
		if err := m.flush(); err != nil {
			return err
		}
		m.lo, m.hi = v.Offset, v.Offset+v.Len
	}
	if m.hi-m.lo >= m.cfg.CopyElems {
		return m.flush()
	}
	return nil
}

// flush queues the copy of the pending range to the host once the
// compute stream has finished it.
func (m *Model) flush() error {
	lo, hi := m.lo, m.hi
	if lo == hi {
		return nil
	}
	m.lo, m.hi = 0, 0
	computed, err := m.event()
	if err != nil {
		return err
	}
	copied, err := m.event()
	if err != nil {
		return err
	}
	if err := computed.Record(m.e.s); err != nil {
		return err
	}
	if err := m.copyS.WaitEvent(computed); err != nil {
		return err
	}
	if err := m.copyS.CopyDtoHAsyncAt(m.grads, 4*lo, m.a.grad.at(lo), 4*(hi-lo)); err != nil {
		return fmt.Errorf("gpunn: gradients [%d, %d) to the host: %w", lo, hi, err)
	}
	if err := copied.Record(m.copyS); err != nil {
		return err
	}
	m.jobs <- gradJob{ev: copied, lo: lo, hi: hi}
	return nil
}

// watch moves arrived gradients into the host arena and marks them ready,
// in the order the backward pass finished them.
func (m *Model) watch(jobs <-chan gradJob) {
	var first error
	for j := range jobs {
		if j.ev == nil {
			m.done <- first
			first = nil
			continue
		}
		if first != nil {
			continue
		}
		if err := j.ev.Synchronize(m.ctx); err != nil {
			first = fmt.Errorf("gpunn: gradients [%d, %d) to the host: %w", j.lo, j.hi, err)
			continue
		}
		copy(m.host.Grad[j.lo:j.hi], m.grads.Float32s()[j.lo:j.hi])
		// every gradient from lo up is final: the lowest parameter says so
		m.params[j.lo].MarkReady()
	}
}

// PullWeights waits for the device and copies its parameters (and the
// state of HostSyncer layers) into the host model.
func (m *Model) PullWeights(ctx context.Context) error {
	if err := m.a.Download(ctx, m.host.Data); err != nil {
		return err
	}
	for _, s := range m.sync {
		if err := s.SyncToHost(ctx); err != nil {
			return err
		}
	}
	return nil
}

// PushWeights copies the host model's parameters (and HostSyncer state)
// to the device.
func (m *Model) PushWeights(ctx context.Context) error {
	if err := m.a.Upload(ctx, m.host.Data); err != nil {
		return err
	}
	for _, s := range m.sync {
		if err := s.SyncFromHost(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Close stops the gradient watcher and frees the model's pinned buffers
// and events (device memory goes with Engine.Free).
func (m *Model) Close() error {
	var errs []error
	if m.jobs != nil {
		close(m.jobs)
		m.jobs = nil
	}
	for _, h := range append([]*gpu.HostBuffer{m.outStage, m.dStage, m.grads}, m.inStage...) {
		if h != nil {
			errs = append(errs, h.Free())
		}
	}
	m.outStage, m.dStage, m.grads, m.inStage = nil, nil, nil, nil
	for _, ev := range m.events {
		errs = append(errs, ev.Destroy())
	}
	m.events = nil
	if m.copyS != nil {
		errs = append(errs, m.copyS.Destroy())
		m.copyS = nil
	}
	return errors.Join(errs...)
}
