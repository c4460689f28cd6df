package models

import (
	"fmt"
	"slices"

	"github.com/scibench/scibench/pkg/gpu/gpunn"
	"github.com/scibench/scibench/pkg/nn"
	"github.com/scibench/scibench/pkg/tensor"
)

// UNetConfig configures the cloud-mask U-Net (BENCHMARKS.md §2.3). Zero
// values mean the reference setting.
type UNetConfig struct {
	InChannels int    // input channels, default 9
	Filters    int    // filters of the top level (doubled per level), default 32
	Levels     int    // max-pool steps down (and upsampling steps up), default 3
	Seed       uint64 // he_normal initialisation stream, default 1234
}

// DefaultUNetConfig returns the reference configuration (1,948,609
// parameters).
func DefaultUNetConfig() UNetConfig {
	return UNetConfig{InChannels: 9, Filters: 32, Levels: 3, Seed: 1234}
}

func (c UNetConfig) withDefaults() UNetConfig {
	d := DefaultUNetConfig()
	if c.InChannels == 0 {
		c.InChannels = d.InChannels
	}
	if c.Filters == 0 {
		c.Filters = d.Filters
	}
	if c.Levels == 0 {
		c.Levels = d.Levels
	}
	if c.Seed == 0 {
		c.Seed = d.Seed
	}
	return c
}

// Validate reports negative sizes or a depth whose widths overflow.
func (c UNetConfig) Validate() error {
	if c.InChannels < 0 || c.Filters < 0 || c.Levels < 0 || c.Levels > 16 {
		return fmt.Errorf("%w: unet: in %d filters %d levels %d", ErrConfig, c.InChannels, c.Filters, c.Levels)
	}
	return nil
}

// UNet is the cloud-mask U-Net: per level two 3×3 conv+ReLU and a 2×2/2
// max-pool down, a bottom block, then per level nearest ×2 upsampling,
// concat [upsampled, skip] and two 3×3 conv+ReLU, and a final 1×1 conv to
// one logit per pixel (the sigmoid is folded into BCE-with-logits). The
// ReLUs run fused in the convolutions (Conv2DConfig.Act). Input
// [N, InChannels, H, W] with H and W multiples of 2^Levels; output
// [N, 1, H, W].
type UNet struct {
	cfg   UNetConfig
	arena *nn.Arena
	convs []*nn.Conv2D // in registration (forward) order

	down  []*nn.Sequential // Levels+1 blocks; the last is the bottom
	pools []*nn.MaxPool2D
	ups   []*nn.Upsample2D
	cats  []*nn.Concat
	up    []*nn.Sequential // up[l] brings level l+1 back to level l
	head  *nn.Conv2D

	skips []*tensor.Tensor // outputs of down[l], l < Levels
	dskip []*tensor.Tensor // concat path of dL/dskip[l]
	gsum  []tensor.Tensor  // dL/dskip[l] = pool path + concat path
	out   *tensor.Tensor   // last Forward's output
	dev   *gpunn.Model     // UseDevice
}

// NewUNet builds and initialises the model (he_normal weights, zero biases)
// and builds its arena.
func NewUNet(c UNetConfig) (*UNet, error) {
	c = c.withDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	m := &UNet{cfg: c, arena: nn.NewArena()}
	conv := func(name string, in, out, k int, act nn.Activation) (*nn.Conv2D, error) {
		// The first convolution's input is data: it needs no gradient.
		first := len(m.convs) == 0
		l, err := nn.NewConv2D(m.arena, name, nn.Conv2DConfig{InChannels: in, OutChannels: out, Kernel: k, Padding: k / 2, Bias: true, NoInputGrad: first, Act: act})
		if err != nil {
			return nil, fmt.Errorf("unet: %w", err)
		}
		m.convs = append(m.convs, l)
		return l, nil
	}
	block := func(name string, in, out int) (*nn.Sequential, error) {
		a, err := conv(name+".conv1", in, out, 3, nn.ReLUAct)
		if err != nil {
			return nil, err
		}
		b, err := conv(name+".conv2", out, out, 3, nn.ReLUAct)
		if err != nil {
			return nil, err
		}
		return nn.NewSequential(a, b), nil
	}
	in := c.InChannels
	for l := 0; l <= c.Levels; l++ {
		f := c.Filters << l
		b, err := block(fmt.Sprintf("down%d", l), in, f)
		if err != nil {
			return nil, err
		}
		m.down = append(m.down, b)
		if l < c.Levels {
			p, err := nn.NewMaxPool2D(nn.MaxPool2DConfig{Kernel: 2, Stride: 2})
			if err != nil {
				return nil, err
			}
			m.pools = append(m.pools, p)
		}
		in = f
	}
	m.ups = make([]*nn.Upsample2D, c.Levels)
	m.cats = make([]*nn.Concat, c.Levels)
	m.up = make([]*nn.Sequential, c.Levels)
	for l := c.Levels - 1; l >= 0; l-- {
		u, err := nn.NewUpsample2D(2)
		if err != nil {
			return nil, err
		}
		f := c.Filters << l
		b, err := block(fmt.Sprintf("up%d", l), in+f, f)
		if err != nil {
			return nil, err
		}
		m.ups[l], m.cats[l], m.up[l] = u, nn.NewConcat(), b
		in = f
	}
	head, err := conv("head", in, 1, 1, nn.Linear)
	if err != nil {
		return nil, err
	}
	m.head = head
	rng := nn.NewRand(c.Seed)
	for _, cv := range m.convs {
		cc := cv.Config()
		nn.HeNormal(cv.W.W, cc.Kernel*cc.Kernel*cc.InChannels, cc.OutChannels, rng)
	}
	m.arena.Build()
	m.skips = make([]*tensor.Tensor, c.Levels)
	m.dskip = make([]*tensor.Tensor, c.Levels)
	m.gsum = make([]tensor.Tensor, c.Levels)
	return m, nil
}

// Arena returns the model's parameters and gradients.
func (m *UNet) Arena() *nn.Arena { return m.arena }

// Config returns the configuration with defaults filled in.
func (m *UNet) Config() UNetConfig { return m.cfg }

// CheckInput reports (wrapping ErrInput) an input shape the model cannot
// take.
func (m *UNet) CheckInput(shape []int) error {
	q := 1 << m.cfg.Levels
	if len(shape) != 4 || shape[0] < 1 || shape[1] != m.cfg.InChannels || shape[2] < q || shape[3] < q || shape[2]%q != 0 || shape[3]%q != 0 {
		return fmt.Errorf("%w: unet: input %v, want [N %d H W] with H, W positive multiples of %d", ErrInput, shape, m.cfg.InChannels, q)
	}
	return nil
}

// FLOPs is the forward convolution FLOP count of one H×W sample
// (2·K²·Cin·Cout·OH·OW summed over the convolutions).
func (m *UNet) FLOPs(h, w int) float64 {
	var f float64
	for l, b := range m.down {
		f += convFLOPs(b, h>>l, w>>l)
	}
	for l, b := range m.up {
		f += convFLOPs(b, h>>l, w>>l)
	}
	return f + m.head.FLOPs(h, w)
}

// convFLOPs sums the conv FLOPs of a block whose convolutions keep h×w.
func convFLOPs(s *nn.Sequential, h, w int) float64 {
	var f float64
	for _, l := range s.Layers {
		if c, ok := l.(*nn.Conv2D); ok {
			f += c.FLOPs(h, w)
		}
	}
	return f
}

// Forward takes one input, [N, InChannels, H, W], and returns the logits
// [N, 1, H, W] (the model's own buffer, valid until the next Forward).
func (m *UNet) Forward(inputs []*tensor.Tensor, train bool) (*tensor.Tensor, error) {
	if len(inputs) != 1 {
		return nil, fmt.Errorf("%w: unet: %d inputs, want 1", ErrInput, len(inputs))
	}
	x := inputs[0]
	if err := m.CheckInput(x.Shape); err != nil {
		return nil, err
	}
	if m.dev != nil {
		out, err := m.dev.Forward(inputs, train)
		m.out = out
		return out, err
	}
	L := m.cfg.Levels
	for l := 0; l < L; l++ {
		m.skips[l] = m.down[l].Forward(x, train)
		x = m.pools[l].Forward(m.skips[l], train)
	}
	x = m.down[L].Forward(x, train)
	for l := L - 1; l >= 0; l-- {
		u := m.ups[l].Forward(x, train)
		x = m.up[l].Forward(m.cats[l].Forward2(u, m.skips[l]), train)
	}
	m.out = m.head.Forward(x, train)
	return m.out, nil
}

// Backward takes dL/dlogits ([N, 1, H, W]) and accumulates every
// gradient, in reverse registration order so that MarkReady moves down the
// arena as the pass goes on.
func (m *UNet) Backward(dout *tensor.Tensor) error {
	if m.out == nil {
		return fmt.Errorf("%w: unet: Backward before Forward", ErrInput)
	}
	if !slices.Equal(dout.Shape, m.out.Shape) || len(dout.Data) != len(m.out.Data) {
		return fmt.Errorf("%w: unet: gradient %v, want %v", ErrInput, dout.Shape, m.out.Shape)
	}
	if m.dev != nil {
		return m.dev.Backward(dout)
	}
	L := m.cfg.Levels
	d := m.head.Backward(dout)
	for l := 0; l < L; l++ {
		du, ds := m.cats[l].Backward2(m.up[l].Backward(d))
		m.dskip[l] = ds
		d = m.ups[l].Backward(du)
	}
	d = m.down[L].Backward(d)
	for l := L - 1; l >= 0; l-- {
		g := m.pools[l].Backward(d)
		s := m.gsum[l].Ensure(g.Shape...)
		ds := m.dskip[l].Data[:len(s.Data)]
		for i, v := range g.Data {
			s.Data[i] = v + ds[i]
		}
		d = m.down[l].Backward(s)
	}
	return nil
}

// unetBench is train-bench's U-Net entry: a 9×128×128 synthetic batch
// (batch 0 means 8), BCE-with-logits on random 0/1 masks, Adam.
func unetBench(batch int, seed uint64) (*Bench, error) {
	if batch == 0 {
		batch = 8
	}
	if batch < 0 {
		return nil, fmt.Errorf("%w: unet bench batch %d", ErrConfig, batch)
	}
	const size = 128
	m, err := NewUNet(UNetConfig{Seed: seed})
	if err != nil {
		return nil, err
	}
	rng := nn.NewRand(seed)
	x := randNormal(rng, batch, m.cfg.InChannels, size, size)
	y := tensor.New(batch, 1, size, size)
	for i := range y.Data {
		y.Data[i] = float32(rng.IntN(2))
	}
	in := []*tensor.Tensor{x}
	opt := newBenchOptimizer("adam", m.arena.Size())
	loss := &nn.BCEWithLogits{}
	var grad tensor.Tensor
	lossGrad := func(out *tensor.Tensor) (*tensor.Tensor, error) {
		_, err := loss.Loss(&grad, out, y)
		return &grad, err
	}
	step := hostStep(m, opt, in, lossGrad)
	return &Bench{Model: "unet", Params: m.arena.Size(), Batch: batch, FlopsPerSample: 3 * m.FLOPs(size, size), Step: step,
		Device: deviceBench(m, "adam", in, lossGrad)}, nil
}
