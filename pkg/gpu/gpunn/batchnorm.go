package gpunn

import (
	"context"
	"fmt"
	"strings"

	"github.com/scibench/scibench/pkg/gpu"
	"github.com/scibench/scibench/pkg/nn"
)

// BatchNorm is the device twin of nn.BatchNorm over [N, C] or [N, C, H, W]
// input: in train mode the batch statistics (float64 sums, biased
// variance) normalise x and update the running statistics with the
// unbiased variance; in eval mode the running statistics are used. γ and
// β live in an Arena; Backward accumulates their gradients there. The
// running mean and variance are not parameters (as on the CPU): the layer
// keeps device copies, which SyncToHost and SyncFromHost exchange with the
// host layer. The fused activation is the host layer's Act, read at each
// Forward (it may change between steps, as on the CPU).
type BatchNorm struct {
	// Name is the host layer's name (its γ parameter's, less ".weight").
	Name string
	// Channels is C.
	Channels int
	// Momentum and Eps are the host layer's configuration.
	Momentum, Eps float64

	host        *nn.BatchNorm
	e           *Engine
	a           *Arena
	gamma, beta View
	runMean     *devBuf // float32 [C]
	runVar      *devBuf // float32 [C]
	mean        *devBuf // float64 [C]: statistics of the last Forward
	invStd      *devBuf // float64 [C]
	sum, dot    *devBuf // float64 [C]: Backward's reductions
	y, xhat, g  *devBuf
	dx          *devBuf
	shape       []int
	train       bool
	act         nn.Activation // of the last Forward
}

// NewBatchNorm mirrors host, whose γ and β must be in a's host arena, and
// uploads its running statistics.
func (e *Engine) NewBatchNorm(a *Arena, host *nn.BatchNorm) (*BatchNorm, error) {
	if a == nil || a.e != e || host == nil || host.Gamma == nil || host.Beta == nil {
		return nil, fmt.Errorf("gpunn: %s: BatchNorm: nil layer or arena of another engine", e.where())
	}
	l := &BatchNorm{Name: strings.TrimSuffix(host.Gamma.Name, ".weight"), Channels: len(host.RunningMean), host: host, e: e, a: a}
	cfg := host.Config()
	l.Momentum, l.Eps = cfg.Momentum, cfg.Eps
	var err error
	if l.gamma, err = a.view(host.Gamma); err != nil {
		return nil, fmt.Errorf("BatchNorm %s: %w", l.Name, err)
	}
	if l.beta, err = a.view(host.Beta); err != nil {
		return nil, fmt.Errorf("BatchNorm %s: %w", l.Name, err)
	}
	c := l.Channels
	if c <= 0 || l.gamma.Len != c || l.beta.Len != c || len(host.RunningVar) != c {
		return nil, fmt.Errorf("gpunn: %s: BatchNorm %s: γ %d, β %d, running mean %d and variance %d values differ",
			e.where(), l.Name, l.gamma.Len, l.beta.Len, c, len(host.RunningVar))
	}
	if _, _, err := actKernels(host.Act); err != nil {
		return nil, fmt.Errorf("gpunn: %s: BatchNorm %s: %w", e.where(), l.Name, err)
	}
	for _, b := range []struct {
		d    **devBuf
		what string
		elem int
	}{{&l.runMean, "running mean", 4}, {&l.runVar, "running variance", 4}, {&l.mean, "batch mean", 8},
		{&l.invStd, "batch 1/σ", 8}, {&l.sum, "Σ gradient", 8}, {&l.dot, "Σ gradient·x̂", 8}} {
		if *b.d, err = e.alloc(fmt.Sprintf("BatchNorm %s %s", l.Name, b.what), c, b.elem, true); err != nil {
			return nil, err
		}
	}
	if err := l.SyncFromHost(context.Background()); err != nil {
		return nil, err
	}
	return l, nil
}

// SyncFromHost waits for the engine's stream and copies the host layer's
// running mean and variance to the device.
func (l *BatchNorm) SyncFromHost(ctx context.Context) error {
	e := l.e
	if err := e.Synchronize(ctx); err != nil {
		return fmt.Errorf("gpunn: BatchNorm %s: %w", l.Name, err)
	}
	if err := e.upload(l.runMean, l.host.RunningMean); err != nil {
		return fmt.Errorf("gpunn: BatchNorm %s running mean: %w", l.Name, err)
	}
	if err := e.upload(l.runVar, l.host.RunningVar); err != nil {
		return fmt.Errorf("gpunn: BatchNorm %s running variance: %w", l.Name, err)
	}
	return nil
}

// SyncToHost waits for the engine's stream and copies the device running
// mean and variance into the host layer.
func (l *BatchNorm) SyncToHost(ctx context.Context) error {
	e := l.e
	if err := e.Synchronize(ctx); err != nil {
		return fmt.Errorf("gpunn: BatchNorm %s: %w", l.Name, err)
	}
	if err := e.download(l.host.RunningMean, l.runMean); err != nil {
		return fmt.Errorf("gpunn: BatchNorm %s running mean: %w", l.Name, err)
	}
	if err := e.download(l.host.RunningVar, l.runVar); err != nil {
		return fmt.Errorf("gpunn: BatchNorm %s running variance: %w", l.Name, err)
	}
	return nil
}

func (l *BatchNorm) fail(what string, err error) error {
	return fmt.Errorf("gpunn: BatchNorm %s %s: %w", l.Name, what, err)
}

// perChannel is the launch of the reduction kernels: one block per channel
// (at most gpu.MaxGridX), 2·block doubles of shared memory.
func (l *BatchNorm) perChannel() gpu.LaunchConfig {
	b := l.e.block
	return gpu.LaunchConfig{Grid: gpu.Dim3{X: min(l.Channels, gpu.MaxGridX)}, Block: gpu.Dim3{X: b}, Shared: 2 * b * 8}
}

// Forward queues the normalisation of x ([N, C] or [N, C, H, W]) with the
// batch statistics (train, updating the running statistics) or the running
// ones, then the fused activation, and returns y (valid until the next
// Forward). x is not kept.
func (l *BatchNorm) Forward(x Tensor, train bool) (Tensor, error) {
	e, name := l.e, "BatchNorm "+l.Name
	if (len(x.Shape) != 2 && len(x.Shape) != 4) || x.Shape[1] != l.Channels || x.Shape[0] <= 0 {
		return Tensor{}, fmt.Errorf("gpunn: %s: %s forward: input shape %v, want [N %d] or [N %d H W]", e.where(), name, x.Shape, l.Channels, l.Channels)
	}
	if err := e.fits(name+" forward", "input", x); err != nil {
		return Tensor{}, err
	}
	act := l.host.Act
	fwd, _, err := actKernels(act)
	if err != nil {
		return Tensor{}, fmt.Errorf("gpunn: %s: %s forward: %w", e.where(), name, err)
	}
	n, c := x.Shape[0], l.Channels
	hw := x.Len() / (n * c)
	if hw <= 0 {
		return Tensor{}, fmt.Errorf("gpunn: %s: %s forward: empty input of shape %v", e.where(), name, x.Shape)
	}
	total := x.Len()
	if err := e.grow(&l.y, name+" output", total, 4); err != nil {
		return Tensor{}, err
	}
	if err := e.grow(&l.xhat, name+" normalised input", total, 4); err != nil {
		return Tensor{}, err
	}
	if train {
		err = e.s.Launch(e.fn["batchnorm_stats_f32"], l.perChannel(), l.mean.at(0), l.invStd.at(0), l.runMean.at(0), l.runVar.at(0),
			x.P, n, c, hw, l.Momentum, l.Eps)
	} else {
		err = e.launch("batchnorm_eval_stats_f32", c, l.mean.at(0), l.invStd.at(0), l.runMean.at(0), l.runVar.at(0), c, l.Eps)
	}
	if err != nil {
		return Tensor{}, l.fail("forward (statistics)", err)
	}
	relu := 0
	if act == nn.ReLUAct {
		relu = 1
	}
	if err := e.launch("batchnorm_fwd_f32", total, l.y.at(0), l.xhat.at(0), x.P, l.mean.at(0), l.invStd.at(0),
		l.a.Param(l.gamma, 0), l.a.Param(l.beta, 0), n, c, hw, relu); err != nil {
		return Tensor{}, l.fail("forward", err)
	}
	if fwd != "" && act != nn.ReLUAct {
		if err := e.launch(fwd, total, l.y.at(0), l.y.at(0), total); err != nil {
			return Tensor{}, l.fail("forward (activation)", err)
		}
	}
	l.shape = append(l.shape[:0], x.Shape...)
	l.train, l.act = train, act
	return l.y.tensor(l.shape...), nil
}

// Backward queues the gradients for dy (the output's shape): dγ = Σ g·x̂
// and dβ = Σ g are added into the arena (g is dy times the activation's
// derivative) and dL/dx is returned.
func (l *BatchNorm) Backward(dy Tensor) (Tensor, error) {
	e, name := l.e, "BatchNorm "+l.Name
	if l.shape == nil {
		return Tensor{}, fmt.Errorf("gpunn: %s: %s backward before forward", e.where(), name)
	}
	total := shapeLen(l.shape)
	if dy.IsNil() || dy.Len() != total {
		return Tensor{}, fmt.Errorf("gpunn: %s: %s backward: output gradient of shape %v for an output of %v", e.where(), name, dy.Shape, l.shape)
	}
	if err := e.fits(name+" backward", "output gradient", dy); err != nil {
		return Tensor{}, err
	}
	n, c := l.shape[0], l.Channels
	hw := total / (n * c)
	if err := e.grow(&l.dx, name+" input gradient", total, 4); err != nil {
		return Tensor{}, err
	}
	g := dy.P
	if _, bwd, _ := actKernels(l.act); bwd != "" {
		if err := e.grow(&l.g, name+" activation gradient", total, 4); err != nil {
			return Tensor{}, err
		}
		if err := e.launch(bwd, total, l.g.at(0), dy.P, l.y.at(0), total); err != nil {
			return Tensor{}, l.fail("backward (activation)", err)
		}
		g = l.g.at(0)
	}
	if err := e.s.Launch(e.fn["batchnorm_bwd_reduce_f32"], l.perChannel(), l.sum.at(0), l.dot.at(0),
		l.a.Grad(l.gamma, 0), l.a.Grad(l.beta, 0), g, l.xhat.at(0), n, c, hw); err != nil {
		return Tensor{}, l.fail("backward (γ and β gradients)", err)
	}
	tr := 0
	if l.train {
		tr = 1
	}
	if err := e.launch("batchnorm_bwd_dx_f32", total, l.dx.at(0), g, l.xhat.at(0), l.sum.at(0), l.dot.at(0),
		l.invStd.at(0), l.a.Param(l.gamma, 0), n, c, hw, tr); err != nil {
		return Tensor{}, l.fail("backward (input gradient)", err)
	}
	// after the last read of γ; the CPU layer marks β then γ
	if err := l.a.ready(l.beta); err != nil {
		return Tensor{}, err
	}
	if err := l.a.ready(l.gamma); err != nil {
		return Tensor{}, err
	}
	return l.dx.tensor(l.shape...), nil
}
