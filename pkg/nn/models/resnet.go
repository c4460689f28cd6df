package models

import (
	"fmt"
	"math"
	"slices"

	"github.com/scibench/scibench/pkg/gpu/gpunn"
	"github.com/scibench/scibench/pkg/nn"
	"github.com/scibench/scibench/pkg/tensor"
)

// ResNetConfig configures a torchvision-layout ResNet (BENCHMARKS.md §3.3).
// Zero values mean the STEMDL reference: ResNet-50, 3 input channels, 231
// classes.
type ResNetConfig struct {
	Depth      int    // 18, 34 (basic blocks) or 50 (bottlenecks); default 50
	InChannels int    // default 3
	Classes    int    // default 231
	Width      int    // channels of the stem and first stage (doubled per stage), default 64
	Seed       uint64 // initialisation stream, default 1234
}

// DefaultResNetConfig returns the reference configuration (23,981,351
// parameters).
func DefaultResNetConfig() ResNetConfig {
	return ResNetConfig{Depth: 50, InChannels: 3, Classes: 231, Width: 64, Seed: 1234}
}

func (c ResNetConfig) withDefaults() ResNetConfig {
	d := DefaultResNetConfig()
	if c.Depth == 0 {
		c.Depth = d.Depth
	}
	if c.InChannels == 0 {
		c.InChannels = d.InChannels
	}
	if c.Classes == 0 {
		c.Classes = d.Classes
	}
	if c.Width == 0 {
		c.Width = d.Width
	}
	if c.Seed == 0 {
		c.Seed = d.Seed
	}
	return c
}

// resnetStages lists the blocks per stage and whether they are bottlenecks.
func resnetStages(depth int) (blocks []int, bottleneck bool, ok bool) {
	switch depth {
	case 18:
		return []int{2, 2, 2, 2}, false, true
	case 34:
		return []int{3, 4, 6, 3}, false, true
	case 50:
		return []int{3, 4, 6, 3}, true, true
	}
	return nil, false, false
}

// Validate reports an unsupported depth or non-positive sizes.
func (c ResNetConfig) Validate() error {
	if _, _, ok := resnetStages(c.Depth); !ok {
		return fmt.Errorf("%w: resnet: depth %d, want 18, 34 or 50", ErrConfig, c.Depth)
	}
	if c.InChannels < 0 || c.Classes < 0 || c.Width < 0 || c.Width > 1<<16 {
		return fmt.Errorf("%w: resnet: in %d classes %d width %d", ErrConfig, c.InChannels, c.Classes, c.Width)
	}
	return nil
}

// resBlock is one residual block: branch(x) + shortcut(x), then ReLU. The
// shortcut is the identity or a strided 1×1 conv + BN (registered after the
// branch, as torchvision's downsample).
type resBlock struct {
	branch *nn.Sequential
	short  *nn.Sequential // nil: identity
	add    *nn.Add
	relu   *nn.Act
	dx     tensor.Tensor
}

func (b *resBlock) Forward(x *tensor.Tensor, train bool) *tensor.Tensor {
	s := x
	if b.short != nil {
		s = b.short.Forward(x, train)
	}
	// The branch runs after the shortcut so that its buffers are not
	// needed to hold both; order does not change the result.
	return b.relu.Forward(b.add.Forward2(b.branch.Forward(x, train), s), train)
}

func (b *resBlock) Backward(dy *tensor.Tensor) *tensor.Tensor {
	dbr, dsh := b.add.Backward2(b.relu.Backward(dy))
	// Shortcut parameters sit after the branch's in the arena: do them
	// first so that MarkReady moves monotonically down.
	if b.short != nil {
		dsh = b.short.Backward(dsh)
	}
	g := b.branch.Backward(dbr)
	dx := b.dx.Ensure(g.Shape...)
	sh := dsh.Data[:len(g.Data)]
	for i, v := range g.Data {
		dx.Data[i] = v + sh[i]
	}
	return dx
}

// ResNet is a torchvision ResNet: conv 7×7/2 (no bias), BN, ReLU, max-pool
// 3×3/2 pad 1, four stages of residual blocks (widths 64, 128, 256, 512;
// stride 2 at the start of stages 2-4, in the 3×3 conv), global average
// pool and a Linear layer to the classes. Input [N, InChannels, H, W],
// output logits [N, Classes]. Every BN followed by a ReLU runs it fused
// (BatchNormConfig.Act).
type ResNet struct {
	cfg   ResNetConfig
	arena *nn.Arena
	body  *nn.Sequential // stem, blocks, global average pool
	fc    *nn.Dense
	convs []*nn.Conv2D
	bns   []*nn.BatchNorm
	out   *tensor.Tensor
	dev   *gpunn.Model // UseDevice
}

// NewResNet builds and initialises the model (convs kaiming-normal with
// fan_out, BN γ 1 β 0, fc weight and bias U(±1/√fan_in)) and builds its
// arena.
func NewResNet(c ResNetConfig) (*ResNet, error) {
	c = c.withDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	stages, bottleneck, _ := resnetStages(c.Depth)
	m := &ResNet{cfg: c, arena: nn.NewArena(), body: nn.NewSequential()}
	var err error
	conv := func(name string, in, out, k, s int) *nn.Conv2D {
		if err != nil {
			return nil
		}
		var l *nn.Conv2D
		l, err = nn.NewConv2D(m.arena, name, nn.Conv2DConfig{InChannels: in, OutChannels: out, Kernel: k, Stride: s, Padding: k / 2, NoInputGrad: len(m.convs) == 0})
		m.convs = append(m.convs, l)
		return l
	}
	// bn is BatchNorm, with a fused ReLU when relu is set.
	bn := func(name string, ch int, relu bool) *nn.BatchNorm {
		if err != nil {
			return nil
		}
		act := nn.Linear
		if relu {
			act = nn.ReLUAct
		}
		var l *nn.BatchNorm
		l, err = nn.NewBatchNorm(m.arena, name, nn.BatchNormConfig{Channels: ch, Act: act})
		m.bns = append(m.bns, l)
		return l
	}
	w0 := c.Width
	m.body.Add(conv("conv1", c.InChannels, w0, 7, 2))
	m.body.Add(bn("bn1", w0, true))
	pool, perr := nn.NewMaxPool2D(nn.MaxPool2DConfig{Kernel: 3, Stride: 2, Padding: 1})
	if perr != nil {
		return nil, perr
	}
	m.body.Add(pool)
	expansion := 1
	if bottleneck {
		expansion = 4
	}
	in := w0
	for si, nb := range stages {
		width := w0 << si
		for bi := 0; bi < nb; bi++ {
			stride := 1
			if si > 0 && bi == 0 {
				stride = 2
			}
			p := fmt.Sprintf("layer%d.%d", si+1, bi)
			blk := &resBlock{add: nn.NewAdd(), relu: nn.NewReLU()}
			if bottleneck {
				blk.branch = nn.NewSequential(
					conv(p+".conv1", in, width, 1, 1), bn(p+".bn1", width, true),
					conv(p+".conv2", width, width, 3, stride), bn(p+".bn2", width, true),
					conv(p+".conv3", width, width*expansion, 1, 1), bn(p+".bn3", width*expansion, false))
			} else {
				blk.branch = nn.NewSequential(
					conv(p+".conv1", in, width, 3, stride), bn(p+".bn1", width, true),
					conv(p+".conv2", width, width, 3, 1), bn(p+".bn2", width, false))
			}
			if stride != 1 || in != width*expansion {
				blk.short = nn.NewSequential(conv(p+".downsample.0", in, width*expansion, 1, stride), bn(p+".downsample.1", width*expansion, false))
			}
			if err != nil {
				return nil, fmt.Errorf("resnet: %w", err)
			}
			m.body.Add(blk)
			in = width * expansion
		}
	}
	if err != nil {
		return nil, fmt.Errorf("resnet: %w", err)
	}
	m.body.Add(nn.NewGlobalAvgPool())
	rng := nn.NewRand(c.Seed)
	m.fc = nn.NewDense(m.arena, "fc", in, c.Classes, nil, rng)
	for _, cv := range m.convs {
		cc := cv.Config()
		std := math.Sqrt(2 / float64(cc.OutChannels*cc.Kernel*cc.Kernel))
		for i := range cv.W.W {
			cv.W.W[i] = float32(rng.NormFloat64() * std)
		}
	}
	bound := 1 / math.Sqrt(float64(in))
	for _, p := range []*nn.Param{m.fc.W, m.fc.B} {
		for i := range p.W {
			p.W[i] = float32((rng.Float64()*2 - 1) * bound)
		}
	}
	m.arena.Build()
	return m, nil
}

// Arena returns the model's parameters and gradients.
func (m *ResNet) Arena() *nn.Arena { return m.arena }

// Config returns the configuration with defaults filled in.
func (m *ResNet) Config() ResNetConfig { return m.cfg }

// BatchNorms lists the BN layers in registration order (their running
// statistics are model state outside the arena).
func (m *ResNet) BatchNorms() []*nn.BatchNorm { return m.bns }

// CheckInput reports (wrapping ErrInput) an input shape the model cannot
// take.
func (m *ResNet) CheckInput(shape []int) error {
	if len(shape) != 4 || shape[0] < 1 || shape[1] != m.cfg.InChannels || shape[2] < 1 || shape[3] < 1 {
		return fmt.Errorf("%w: resnet: input %v, want [N %d H W]", ErrInput, shape, m.cfg.InChannels)
	}
	return nil
}

// FLOPs is the forward FLOP count of one H×W sample: every convolution
// (2·K²·Cin·Cout·OH·OW) plus the fc layer.
func (m *ResNet) FLOPs(h, w int) float64 {
	var f float64
	for _, l := range m.body.Layers {
		switch l := l.(type) {
		case *nn.Conv2D:
			f += l.FLOPs(h, w)
			s, _ := l.OutputShape([]int{1, l.Config().InChannels, h, w})
			h, w = s[2], s[3]
		case *nn.MaxPool2D:
			s, _ := l.OutputShape([]int{1, 1, h, w})
			h, w = s[2], s[3]
		case *resBlock:
			h0, w0 := h, w
			for _, bl := range l.branch.Layers {
				if c, ok := bl.(*nn.Conv2D); ok {
					f += c.FLOPs(h, w)
					s, _ := c.OutputShape([]int{1, c.Config().InChannels, h, w})
					h, w = s[2], s[3]
				}
			}
			if l.short != nil {
				f += l.short.Layers[0].(*nn.Conv2D).FLOPs(h0, w0)
			}
		}
	}
	return f + 2*float64(m.fc.In*m.fc.Out)
}

// Forward takes one input, [N, InChannels, H, W], and returns the logits
// [N, Classes] (the model's own buffer, valid until the next Forward).
// train selects batch statistics in BN (and updates the running ones).
func (m *ResNet) Forward(inputs []*tensor.Tensor, train bool) (*tensor.Tensor, error) {
	if len(inputs) != 1 {
		return nil, fmt.Errorf("%w: resnet: %d inputs, want 1", ErrInput, len(inputs))
	}
	if err := m.CheckInput(inputs[0].Shape); err != nil {
		return nil, err
	}
	if m.dev != nil {
		out, err := m.dev.Forward(inputs, train)
		m.out = out
		return out, err
	}
	m.out = m.fc.Forward(m.body.Forward(inputs[0], train), train)
	return m.out, nil
}

// Backward takes dL/dlogits ([N, Classes]) and accumulates every gradient
// in reverse registration order.
func (m *ResNet) Backward(dout *tensor.Tensor) error {
	if m.out == nil {
		return fmt.Errorf("%w: resnet: Backward before Forward", ErrInput)
	}
	if !slices.Equal(dout.Shape, m.out.Shape) || len(dout.Data) != len(m.out.Data) {
		return fmt.Errorf("%w: resnet: gradient %v, want %v", ErrInput, dout.Shape, m.out.Shape)
	}
	if m.dev != nil {
		return m.dev.Backward(dout)
	}
	m.body.Backward(m.fc.Backward(dout))
	return nil
}

// resnetBench returns train-bench's entry for a ResNet of the given depth:
// a 3×128×128 synthetic batch (batch 0 means 16), 231 classes, softmax
// cross-entropy, Adam.
func resnetBench(depth int) func(batch int, seed uint64) (*Bench, error) {
	return func(batch int, seed uint64) (*Bench, error) {
		if batch == 0 {
			batch = 16
		}
		if batch < 0 {
			return nil, fmt.Errorf("%w: resnet%d bench batch %d", ErrConfig, depth, batch)
		}
		const size = 128
		m, err := NewResNet(ResNetConfig{Depth: depth, Seed: seed})
		if err != nil {
			return nil, err
		}
		rng := nn.NewRand(seed)
		x := randNormal(rng, batch, m.cfg.InChannels, size, size)
		labels := make([]int, batch)
		for i := range labels {
			labels[i] = rng.IntN(m.cfg.Classes)
		}
		in := []*tensor.Tensor{x}
		opt := newBenchOptimizer("adam", m.arena.Size())
		loss := &nn.SoftmaxCrossEntropy{}
		var grad tensor.Tensor
		lossGrad := func(out *tensor.Tensor) (*tensor.Tensor, error) {
			_, err := loss.Loss(&grad, out, labels)
			return &grad, err
		}
		step := hostStep(m, opt, in, lossGrad)
		name := fmt.Sprintf("resnet%d", depth)
		return &Bench{Model: name, Params: m.arena.Size(), Batch: batch, FlopsPerSample: 3 * m.FLOPs(size, size), Step: step,
			Device: deviceBench(m, "adam", in, lossGrad)}, nil
	}
}
