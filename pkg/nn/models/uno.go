package models

import (
	"fmt"

	"github.com/scibench/scibench/pkg/gpu/gpunn"
	"github.com/scibench/scibench/pkg/nn"
	"github.com/scibench/scibench/pkg/tensor"
)

// UnoConfig configures the candle-uno reference MLP (BENCHMARKS.md §4.3).
// Zero values mean the reference setting.
type UnoConfig struct {
	CellFeatures int     // cell.rnaseq columns, default 942
	DrugFeatures int     // drug1.descriptors columns, default 5270
	Hidden       int     // width of every hidden layer, default 1000
	TowerLayers  int     // Dense layers per input tower, default 3
	HeadLayers   int     // Dense layers after the concat, default 5 (2000→1000, then 4× 1000→1000)
	Dropout      float64 // permanent dropout after each hidden layer, default 0.1; negative disables
	Seed         uint64  // glorot_normal initialisation stream, default 2018
	DropoutSeed  uint64  // dropout mask stream: make it differ per rank
}

// DefaultUnoConfig returns the reference configuration (16,224,001
// parameters).
func DefaultUnoConfig() UnoConfig {
	return UnoConfig{CellFeatures: 942, DrugFeatures: 5270, Hidden: 1000, TowerLayers: 3, HeadLayers: 5, Dropout: 0.1, Seed: 2018}
}

// withDefaults fills zero fields.
func (c UnoConfig) withDefaults() UnoConfig {
	d := DefaultUnoConfig()
	if c.CellFeatures == 0 {
		c.CellFeatures = d.CellFeatures
	}
	if c.DrugFeatures == 0 {
		c.DrugFeatures = d.DrugFeatures
	}
	if c.Hidden == 0 {
		c.Hidden = d.Hidden
	}
	if c.TowerLayers == 0 {
		c.TowerLayers = d.TowerLayers
	}
	if c.HeadLayers == 0 {
		c.HeadLayers = d.HeadLayers
	}
	if c.Dropout == 0 {
		c.Dropout = d.Dropout
	}
	if c.Seed == 0 {
		c.Seed = d.Seed
	}
	return c
}

// Validate reports negative sizes or a dropout rate of 1 or more.
func (c UnoConfig) Validate() error {
	switch {
	case c.CellFeatures < 0, c.DrugFeatures < 0, c.Hidden < 0, c.TowerLayers < 0, c.HeadLayers < 0:
		return fmt.Errorf("%w: uno: negative size in %+v", ErrConfig, c)
	case c.Dropout >= 1:
		return fmt.Errorf("%w: uno: dropout %g not below 1", ErrConfig, c.Dropout)
	}
	return nil
}

// Uno is the candle-uno MLP: a cell tower and a drug tower (Dense+ReLU+
// permanent dropout each), their concatenation, a head of the same blocks
// and a linear Dense(1). Inputs: cell [N, 942], drug [N, 5270]; output
// [N, 1]. Dropout is active in Forward whatever train says (MC dropout).
type Uno struct {
	cfg         UnoConfig
	arena       *nn.Arena
	cell, drug  *nn.Sequential
	head        *nn.Sequential
	macs        float64
	cat         tensor.Tensor
	dcell, ddrg tensor.Tensor
	drops       []*nn.Dropout
	dev         *gpunn.Model // UseDevice
}

var _ Model = (*Uno)(nil)

// SetMaskKey keys the next dropout masks per sample (nn.MaskKeyed); each
// dropout layer gets its own key.
func (m *Uno) SetMaskKey(key uint64, first int) {
	for i, d := range m.drops {
		d.SetMaskKey(nn.MixKey(key, uint64(i)), first)
	}
}

// NewUno builds and initialises the model and builds its arena.
func NewUno(cfg UnoConfig) (*Uno, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Uno{cfg: cfg, arena: nn.NewArena()}
	rng := nn.NewRand(cfg.Seed)
	drop := uint64(0)
	block := func(s *nn.Sequential, name string, in int, first bool) {
		d := nn.NewDense(m.arena, name, in, cfg.Hidden, nn.GlorotNormal, rng)
		d.NoInputGrad = first
		m.macs += float64(in * cfg.Hidden)
		s.Add(d)
		s.Add(nn.NewReLU())
		if cfg.Dropout > 0 {
			dr := nn.NewDropout(cfg.Dropout, cfg.DropoutSeed*1000003+drop)
			dr.Permanent = true
			drop++
			m.drops = append(m.drops, dr)
			s.Add(dr)
		}
	}
	m.cell, m.drug, m.head = nn.NewSequential(), nn.NewSequential(), nn.NewSequential()
	for i := 0; i < cfg.TowerLayers; i++ {
		in := cfg.Hidden
		if i == 0 {
			in = cfg.CellFeatures
		}
		block(m.cell, fmt.Sprintf("cell.dense%d", i), in, i == 0)
	}
	for i := 0; i < cfg.TowerLayers; i++ {
		in := cfg.Hidden
		if i == 0 {
			in = cfg.DrugFeatures
		}
		block(m.drug, fmt.Sprintf("drug.dense%d", i), in, i == 0)
	}
	for i := 0; i < cfg.HeadLayers; i++ {
		in := cfg.Hidden
		if i == 0 {
			in = m.towerOut(cfg.CellFeatures) + m.towerOut(cfg.DrugFeatures)
		}
		block(m.head, fmt.Sprintf("head.dense%d", i), in, false)
	}
	in := cfg.Hidden
	if cfg.HeadLayers == 0 {
		in = m.towerOut(cfg.CellFeatures) + m.towerOut(cfg.DrugFeatures)
	}
	m.head.Add(nn.NewDense(m.arena, "out", in, 1, nn.GlorotNormal, rng))
	m.macs += float64(in)
	m.arena.Build()
	return m, nil
}

// towerOut is a tower's output width.
func (m *Uno) towerOut(features int) int {
	if m.cfg.TowerLayers == 0 {
		return features
	}
	return m.cfg.Hidden
}

// Config returns the resolved configuration.
func (m *Uno) Config() UnoConfig { return m.cfg }

// Arena returns the parameter arena.
func (m *Uno) Arena() *nn.Arena { return m.arena }

// FlopsPerSample is the conventional forward+backward count, 6 per weight
// (2 forward, 4 backward), which counts the first layers' dx that the
// engine skips: ≈97.3 MFLOP for the reference model.
func (m *Uno) FlopsPerSample() float64 { return 6 * m.macs }

// Forward takes inputs {cell [N, CellFeatures], drug [N, DrugFeatures]}.
func (m *Uno) Forward(inputs []*tensor.Tensor, train bool) (*tensor.Tensor, error) {
	if len(inputs) != 2 || inputs[0] == nil || inputs[1] == nil {
		return nil, fmt.Errorf("%w: uno takes 2 inputs (cell, drug), got %d", ErrInput, len(inputs))
	}
	c, d := inputs[0], inputs[1]
	if err := checkInput("uno cell", c, m.cfg.CellFeatures); err != nil {
		return nil, err
	}
	if err := checkInput("uno drug", d, m.cfg.DrugFeatures); err != nil {
		return nil, err
	}
	if c.Shape[0] != d.Shape[0] {
		return nil, fmt.Errorf("%w: uno cell batch %d, drug batch %d", ErrInput, c.Shape[0], d.Shape[0])
	}
	if m.dev != nil {
		return m.dev.Forward(inputs, train)
	}
	n := c.Shape[0]
	yc := m.cell.Forward(c, train)
	yd := m.drug.Forward(d, train)
	wc, wd := yc.Shape[1], yd.Shape[1]
	m.cat.Ensure(n, wc+wd)
	for r := 0; r < n; r++ {
		row := m.cat.Data[r*(wc+wd) : (r+1)*(wc+wd)]
		copy(row[:wc], yc.Data[r*wc:(r+1)*wc])
		copy(row[wc:], yd.Data[r*wd:(r+1)*wd])
	}
	return m.head.Forward(&m.cat, train), nil
}

// Backward propagates dL/dout [N, 1] through the head and both towers.
func (m *Uno) Backward(dout *tensor.Tensor) error {
	if m.dev != nil {
		return m.dev.Backward(dout)
	}
	if dout == nil || len(dout.Shape) != 2 || dout.Shape[1] != 1 || len(m.cat.Shape) != 2 || dout.Shape[0] != m.cat.Shape[0] || len(dout.Data) != dout.Len() {
		return fmt.Errorf("%w: uno dout must be [%d, 1] after Forward", ErrInput, m.cat.Shape[0])
	}
	dcat := m.head.Backward(dout)
	n, w := m.cat.Shape[0], m.cat.Shape[1]
	wc := m.towerOut(m.cfg.CellFeatures)
	wd := w - wc
	m.dcell.Ensure(n, wc)
	m.ddrg.Ensure(n, wd)
	for r := 0; r < n; r++ {
		row := dcat.Data[r*w : (r+1)*w]
		copy(m.dcell.Data[r*wc:(r+1)*wc], row[:wc])
		copy(m.ddrg.Data[r*wd:(r+1)*wd], row[wc:])
	}
	m.drug.Backward(&m.ddrg)
	m.cell.Backward(&m.dcell)
	return nil
}

// checkInput checks a [N, features] input.
func checkInput(what string, x *tensor.Tensor, features int) error {
	if len(x.Shape) != 2 || x.Shape[1] != features || len(x.Data) != x.Len() {
		return fmt.Errorf("%w: %s input shape %v, want [N, %d]", ErrInput, what, x.Shape, features)
	}
	return nil
}

// unoBench is the "uno" train-bench entry: the reference model, MSE,
// Adamax (lr 1e-3), a fixed synthetic batch.
func unoBench(batch int, seed uint64) (*Bench, error) {
	if batch <= 0 {
		return nil, fmt.Errorf("%w: uno bench batch %d", ErrConfig, batch)
	}
	m, err := NewUno(UnoConfig{DropoutSeed: seed})
	if err != nil {
		return nil, err
	}
	rng := nn.NewRand(seed)
	cell := randNormal(rng, batch, m.cfg.CellFeatures)
	drug := randNormal(rng, batch, m.cfg.DrugFeatures)
	y := randNormal(rng, batch, 1)
	in := []*tensor.Tensor{cell, drug}
	opt := newFusedStep(m.arena, newBenchOptimizer("adamax", m.arena.Size()))
	loss := &nn.MSE{}
	var grad tensor.Tensor
	lossGrad := func(out *tensor.Tensor) (*tensor.Tensor, error) {
		_, err := loss.Loss(&grad, out, y)
		return &grad, err
	}
	step := func() error {
		m.arena.ZeroGrad()
		opt.begin()
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
		opt.finish()
		return nil
	}
	return &Bench{Model: "uno", Params: m.arena.Size(), Batch: batch, FlopsPerSample: m.FlopsPerSample(), Step: step,
		Device: deviceBench(m, "adamax", in, lossGrad)}, nil
}

// randNormal returns a [shape] tensor of N(0, 1) draws.
func randNormal(rng interface{ NormFloat64() float64 }, shape ...int) *tensor.Tensor {
	t := tensor.New(shape...)
	for i := range t.Data {
		t.Data[i] = float32(rng.NormFloat64())
	}
	return t
}
