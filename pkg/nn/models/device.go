package models

import (
	"fmt"

	"github.com/scibench/scibench/pkg/gpu/gpunn"
	"github.com/scibench/scibench/pkg/nn"
	"github.com/scibench/scibench/pkg/optim"
	"github.com/scibench/scibench/pkg/tensor"
)

// The GPU engine of the models (issue 8): UseDevice builds the device twin
// of a model's graph with gpunn on its arena; from then on the model's
// Forward and Backward run there (inputs, outputs and the output gradient
// pass through pinned host buffers), and the training loop drives the
// returned gpunn.Model (gradients, weights, BatchNorm statistics). The
// CPU layers stay built: they hold the initial weights, the running
// statistics between syncs and the dropout mask streams.

// useDevice builds the gpunn.Model for a model whose Net is made by build.
func useDevice(e *gpunn.Engine, a *nn.Arena, cfg gpunn.ModelConfig, name string,
	build func(b *gpunn.Builder) (gpunn.Net, error)) (*gpunn.Model, error) {
	if e == nil {
		return nil, fmt.Errorf("%w: %s: no GPU engine", ErrConfig, name)
	}
	return e.NewModel(a, cfg, func(da *gpunn.Arena) (gpunn.Net, []gpunn.HostSyncer, error) {
		b := e.NewBuilder(da)
		b.Extra = extraLayers
		net, err := build(b)
		if err != nil {
			return nil, nil, fmt.Errorf("%s on the GPU: %w", name, err)
		}
		return net, b.Syncers(), nil
	})
}

// extraLayers builds the device twins of this package's own layers.
func extraLayers(b *gpunn.Builder, l nn.Layer) (gpunn.Layer, error) {
	rb, ok := l.(*resBlock)
	if !ok {
		return nil, nil
	}
	e := b.Engine()
	d := &devResBlock{}
	var err error
	if d.branch, err = b.Layer(rb.branch); err != nil {
		return nil, err
	}
	if rb.short != nil {
		if d.short, err = b.Layer(rb.short); err != nil {
			return nil, err
		}
	}
	if d.add, err = e.NewAdd(rb.add); err != nil {
		return nil, err
	}
	if d.sum, err = e.NewAdd(nn.NewAdd()); err != nil {
		return nil, err
	}
	if d.relu, err = e.NewAct(rb.relu); err != nil {
		return nil, err
	}
	return d, nil
}

// devResBlock is resBlock on the device.
type devResBlock struct {
	branch, short gpunn.Layer // short nil: identity
	add, sum      *gpunn.Add
	relu          *gpunn.Act
}

func (b *devResBlock) Forward(x gpunn.Tensor, train bool) (gpunn.Tensor, error) {
	s := x
	var err error
	if b.short != nil {
		if s, err = b.short.Forward(x, train); err != nil {
			return gpunn.Tensor{}, err
		}
	}
	br, err := b.branch.Forward(x, train)
	if err != nil {
		return gpunn.Tensor{}, err
	}
	y, err := b.add.Forward2(br, s)
	if err != nil {
		return gpunn.Tensor{}, err
	}
	return b.relu.Forward(y, train)
}

func (b *devResBlock) Backward(dy gpunn.Tensor) (gpunn.Tensor, error) {
	d, err := b.relu.Backward(dy)
	if err != nil {
		return gpunn.Tensor{}, err
	}
	dbr, dsh, err := b.add.Backward2(d)
	if err != nil {
		return gpunn.Tensor{}, err
	}
	// shortcut first: its parameters sit after the branch's (as on the CPU)
	if b.short != nil {
		if dsh, err = b.short.Backward(dsh); err != nil {
			return gpunn.Tensor{}, err
		}
	}
	g, err := b.branch.Backward(dbr)
	if err != nil {
		return gpunn.Tensor{}, err
	}
	return b.sum.Forward2(g, dsh)
}

// UseDevice moves the model to the GPU engine e (see package doc).
func (m *Uno) UseDevice(e *gpunn.Engine, cfg gpunn.ModelConfig) (*gpunn.Model, error) {
	dm, err := useDevice(e, m.arena, cfg, "uno", func(b *gpunn.Builder) (gpunn.Net, error) {
		n := &unoNet{}
		var err error
		if n.cell, err = b.Layer(m.cell); err != nil {
			return nil, err
		}
		if n.drug, err = b.Layer(m.drug); err != nil {
			return nil, err
		}
		if n.head, err = b.Layer(m.head); err != nil {
			return nil, err
		}
		if n.cat, err = b.Engine().NewConcat(nn.NewConcat()); err != nil {
			return nil, err
		}
		return n, nil
	})
	if err != nil {
		return nil, err
	}
	m.dev = dm
	return dm, nil
}

// unoNet is Uno's wiring on the device: two towers, their concatenation
// along features, the head.
type unoNet struct {
	cell, drug, head gpunn.Layer
	cat              *gpunn.Concat
}

func (n *unoNet) Forward(in []gpunn.Tensor, train bool) (gpunn.Tensor, error) {
	if len(in) != 2 {
		return gpunn.Tensor{}, fmt.Errorf("%w: uno takes 2 inputs, got %d", ErrInput, len(in))
	}
	yc, err := n.cell.Forward(in[0], train)
	if err != nil {
		return gpunn.Tensor{}, err
	}
	yd, err := n.drug.Forward(in[1], train)
	if err != nil {
		return gpunn.Tensor{}, err
	}
	c, err := n.cat.Forward2(yc, yd)
	if err != nil {
		return gpunn.Tensor{}, err
	}
	return n.head.Forward(c, train)
}

func (n *unoNet) Backward(d gpunn.Tensor) error {
	dcat, err := n.head.Backward(d)
	if err != nil {
		return err
	}
	dc, dd, err := n.cat.Backward2(dcat)
	if err != nil {
		return err
	}
	if _, err := n.drug.Backward(dd); err != nil {
		return err
	}
	_, err = n.cell.Backward(dc)
	return err
}

// UseDevice moves the model to the GPU engine e (see package doc).
func (m *Earthquake) UseDevice(e *gpunn.Engine, cfg gpunn.ModelConfig) (*gpunn.Model, error) {
	var l1, l2 *gpunn.LSTM
	dm, err := useDevice(e, m.arena, cfg, "earthquake", func(b *gpunn.Builder) (gpunn.Net, error) {
		s := &gpunn.Sequential{}
		for _, l := range m.net.Layers {
			d, err := b.Layer(l)
			if err != nil {
				return nil, err
			}
			switch l {
			case m.l1:
				l1 = d.(*gpunn.LSTM)
			case m.l2:
				l2 = d.(*gpunn.LSTM)
			}
			s.Layers = append(s.Layers, d)
		}
		return seqNet{s}, nil
	})
	if err != nil {
		return nil, err
	}
	m.dev, m.devL1, m.devL2 = dm, l1, l2
	return dm, nil
}

// seqNet is a one-input Net of one layer.
type seqNet struct{ l gpunn.Layer }

func (n seqNet) Forward(in []gpunn.Tensor, train bool) (gpunn.Tensor, error) {
	if len(in) != 1 {
		return gpunn.Tensor{}, fmt.Errorf("%w: %d inputs, want 1", ErrInput, len(in))
	}
	return n.l.Forward(in[0], train)
}

func (n seqNet) Backward(d gpunn.Tensor) error {
	_, err := n.l.Backward(d)
	return err
}

// UseDevice moves the model to the GPU engine e (see package doc).
func (m *ResNet) UseDevice(e *gpunn.Engine, cfg gpunn.ModelConfig) (*gpunn.Model, error) {
	dm, err := useDevice(e, m.arena, cfg, "resnet", func(b *gpunn.Builder) (gpunn.Net, error) {
		body, err := b.Layer(m.body)
		if err != nil {
			return nil, err
		}
		fc, err := b.Layer(m.fc)
		if err != nil {
			return nil, err
		}
		return seqNet{&gpunn.Sequential{Layers: []gpunn.Layer{body, fc}}}, nil
	})
	if err != nil {
		return nil, err
	}
	m.dev = dm
	return dm, nil
}

// UseDevice moves the model to the GPU engine e (see package doc).
func (m *UNet) UseDevice(e *gpunn.Engine, cfg gpunn.ModelConfig) (*gpunn.Model, error) {
	dm, err := useDevice(e, m.arena, cfg, "unet", func(b *gpunn.Builder) (gpunn.Net, error) {
		L := m.cfg.Levels
		n := &unetNet{levels: L, skips: make([]gpunn.Tensor, L), dskip: make([]gpunn.Tensor, L)}
		var err error
		for l := 0; l <= L; l++ {
			d, err := b.Layer(m.down[l])
			if err != nil {
				return nil, err
			}
			n.down = append(n.down, d)
		}
		for l := 0; l < L; l++ {
			var p, u, up gpunn.Layer
			if p, err = b.Layer(m.pools[l]); err != nil {
				return nil, err
			}
			if u, err = b.Layer(m.ups[l]); err != nil {
				return nil, err
			}
			if up, err = b.Layer(m.up[l]); err != nil {
				return nil, err
			}
			c, err := b.Engine().NewConcat(m.cats[l])
			if err != nil {
				return nil, err
			}
			s, err := b.Engine().NewAdd(nn.NewAdd())
			if err != nil {
				return nil, err
			}
			n.pools, n.ups, n.up, n.cats, n.sums = append(n.pools, p), append(n.ups, u), append(n.up, up), append(n.cats, c), append(n.sums, s)
		}
		if n.head, err = b.Layer(m.head); err != nil {
			return nil, err
		}
		return n, nil
	})
	if err != nil {
		return nil, err
	}
	m.dev = dm
	return dm, nil
}

// unetNet is UNet's wiring on the device.
type unetNet struct {
	levels           int
	down, pools, ups []gpunn.Layer
	up               []gpunn.Layer
	cats             []*gpunn.Concat
	sums             []*gpunn.Add
	head             gpunn.Layer
	skips, dskip     []gpunn.Tensor
}

func (n *unetNet) Forward(in []gpunn.Tensor, train bool) (gpunn.Tensor, error) {
	if len(in) != 1 {
		return gpunn.Tensor{}, fmt.Errorf("%w: unet: %d inputs, want 1", ErrInput, len(in))
	}
	x, L := in[0], n.levels
	var err error
	for l := 0; l < L; l++ {
		if n.skips[l], err = n.down[l].Forward(x, train); err != nil {
			return gpunn.Tensor{}, err
		}
		if x, err = n.pools[l].Forward(n.skips[l], train); err != nil {
			return gpunn.Tensor{}, err
		}
	}
	if x, err = n.down[L].Forward(x, train); err != nil {
		return gpunn.Tensor{}, err
	}
	for l := L - 1; l >= 0; l-- {
		u, err := n.ups[l].Forward(x, train)
		if err != nil {
			return gpunn.Tensor{}, err
		}
		c, err := n.cats[l].Forward2(u, n.skips[l])
		if err != nil {
			return gpunn.Tensor{}, err
		}
		if x, err = n.up[l].Forward(c, train); err != nil {
			return gpunn.Tensor{}, err
		}
	}
	return n.head.Forward(x, train)
}

func (n *unetNet) Backward(dout gpunn.Tensor) error {
	L := n.levels
	d, err := n.head.Backward(dout)
	if err != nil {
		return err
	}
	for l := 0; l < L; l++ {
		dc, err := n.up[l].Backward(d)
		if err != nil {
			return err
		}
		du, ds, err := n.cats[l].Backward2(dc)
		if err != nil {
			return err
		}
		n.dskip[l] = ds
		if d, err = n.ups[l].Backward(du); err != nil {
			return err
		}
	}
	if d, err = n.down[L].Backward(d); err != nil {
		return err
	}
	for l := L - 1; l >= 0; l-- {
		g, err := n.pools[l].Backward(d)
		if err != nil {
			return err
		}
		s, err := n.sums[l].Forward2(g, n.dskip[l])
		if err != nil {
			return err
		}
		if d, err = n.down[l].Backward(s); err != nil {
			return err
		}
	}
	return nil
}

// DeviceModel is a model with a GPU engine: UseDevice moves its training
// to e (see the package's GPU notes in device.go).
type DeviceModel interface {
	Model
	UseDevice(e *gpunn.Engine, cfg gpunn.ModelConfig) (*gpunn.Model, error)
}

// hostStep is a train-bench step on the CPU engine: zero the gradients,
// forward, the loss gradient, backward, one optimizer step.
func hostStep(m Model, opt optim.Optimizer, in []*tensor.Tensor, lossGrad func(*tensor.Tensor) (*tensor.Tensor, error)) func() error {
	return func() error {
		m.Arena().ZeroGrad()
		out, err := m.Forward(in, true)
		if err != nil {
			return err
		}
		g, err := lossGrad(out)
		if err != nil {
			return err
		}
		if err := m.Backward(g); err != nil {
			return err
		}
		opt.Step(m.Arena().Data, m.Arena().Grad)
		return nil
	}
}

// deviceBench is Bench.Device for model m trained with the named bench
// optimizer: the model moves to e (gradients stay there) and each step is
// hostStep's on the device, the loss computed on the host from the
// downloaded output.
func deviceBench(m DeviceModel, optName string, in []*tensor.Tensor, lossGrad func(*tensor.Tensor) (*tensor.Tensor, error)) func(*gpunn.Engine) (func() error, error) {
	return func(e *gpunn.Engine) (func() error, error) {
		dm, err := m.UseDevice(e, gpunn.ModelConfig{})
		if err != nil {
			return nil, err
		}
		opt, err := e.NewOptimizer(dm.DeviceArena(), newBenchOptimizer(optName, m.Arena().Size()), gpunn.OptimizerConfig{})
		if err != nil {
			return nil, err
		}
		return func() error {
			if err := dm.ZeroGrad(); err != nil {
				return err
			}
			out, err := m.Forward(in, true)
			if err != nil {
				return err
			}
			g, err := lossGrad(out)
			if err != nil {
				return err
			}
			if err := m.Backward(g); err != nil {
				return err
			}
			return opt.StepErr(nil, nil)
		}, nil
	}
}
