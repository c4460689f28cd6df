package models

import (
	"fmt"

	"github.com/scibench/scibench/pkg/gpu/gpunn"
	"github.com/scibench/scibench/pkg/nn"
	"github.com/scibench/scibench/pkg/tensor"
)

// EarthquakeConfig configures the earthquake LSTM (BENCHMARKS.md §5.3):
// per-step Dense(DenseIn, selu) → LSTM(Units, sequences) → LSTM(Units,
// last state) → Dense(DenseOut, selu) → Dense(Outputs). Both LSTMs use
// activation selu, recurrent activation sigmoid, dropout and recurrent
// dropout. Zero values mean the "pure" preset with 23 inputs.
type EarthquakeConfig struct {
	Inputs           int     // features per step, default 23 (27 in the reference)
	DenseIn          int     // width of the per-step Dense, default 128
	Units            int     // LSTM units, default 48
	DenseOut         int     // width of the Dense after the LSTMs, default 128
	Outputs          int     // targets, default 24
	Dropout          float64 // LSTM input dropout, default 0.2; negative disables
	RecurrentDropout float64 // LSTM recurrent dropout, default 0.2; negative disables
	Seed             uint64  // initialisation stream
	DropoutSeed      uint64  // dropout mask stream: make it differ per rank
}

// EarthquakePreset returns the named preset: "pure" (Dense 128, LSTM 48,
// Dense 128; 65,048 parameters with 23 inputs) or "small" (32, 16, 64;
// 8,664 parameters).
func EarthquakePreset(name string) (EarthquakeConfig, error) {
	switch name {
	case "pure", "":
		return EarthquakeConfig{Inputs: 23, DenseIn: 128, Units: 48, DenseOut: 128, Outputs: 24, Dropout: 0.2, RecurrentDropout: 0.2}, nil
	case "small":
		return EarthquakeConfig{Inputs: 23, DenseIn: 32, Units: 16, DenseOut: 64, Outputs: 24, Dropout: 0.2, RecurrentDropout: 0.2}, nil
	}
	return EarthquakeConfig{}, fmt.Errorf("%w: earthquake preset %q (want pure or small)", ErrConfig, name)
}

func (c EarthquakeConfig) withDefaults() EarthquakeConfig {
	d, _ := EarthquakePreset("pure")
	def := func(v *int, x int) {
		if *v == 0 {
			*v = x
		}
	}
	def(&c.Inputs, d.Inputs)
	def(&c.DenseIn, d.DenseIn)
	def(&c.Units, d.Units)
	def(&c.DenseOut, d.DenseOut)
	def(&c.Outputs, d.Outputs)
	if c.Dropout == 0 {
		c.Dropout = d.Dropout
	}
	if c.RecurrentDropout == 0 {
		c.RecurrentDropout = d.RecurrentDropout
	}
	return c
}

// Validate reports negative sizes and dropout rates of 1 or more.
func (c EarthquakeConfig) Validate() error {
	switch {
	case c.Inputs < 0, c.DenseIn < 0, c.Units < 0, c.DenseOut < 0, c.Outputs < 0:
		return fmt.Errorf("%w: earthquake: negative size in %+v", ErrConfig, c)
	case c.Dropout >= 1, c.RecurrentDropout >= 1:
		return fmt.Errorf("%w: earthquake: dropout %g / recurrent dropout %g not below 1", ErrConfig, c.Dropout, c.RecurrentDropout)
	}
	return nil
}

// Earthquake is the earthquake LSTM: input [N, T, Inputs], output
// [N, Outputs]. Dropout is active only when Forward's train is true.
type Earthquake struct {
	cfg   EarthquakeConfig
	arena *nn.Arena
	net   *nn.Sequential
	dIn   *nn.Dense
	l1    *nn.LSTM
	l2    *nn.LSTM
	n, t  int // batch and steps of the last Forward

	dev          *gpunn.Model // UseDevice
	devL1, devL2 *gpunn.LSTM
}

var _ Model = (*Earthquake)(nil)

// NewEarthquake builds and initialises the model (Keras defaults:
// glorot_uniform kernels, orthogonal recurrent kernels, zero biases with
// forget-gate bias 1) and builds its arena.
func NewEarthquake(cfg EarthquakeConfig) (*Earthquake, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Earthquake{cfg: cfg, arena: nn.NewArena()}
	rng := nn.NewRand(cfg.Seed)
	lc := func(in int, seq bool, k uint64) nn.LSTMConfig {
		c := nn.DefaultLSTMConfig(in, cfg.Units)
		c.Act = nn.SELUAct
		c.ReturnSequences = seq
		c.Dropout = max(cfg.Dropout, 0)
		c.RecurrentDropout = max(cfg.RecurrentDropout, 0)
		c.Seed = cfg.DropoutSeed*1000003 + k
		return c
	}
	m.dIn = nn.NewDense(m.arena, "dense_in", cfg.Inputs, cfg.DenseIn, nn.GlorotUniform, rng)
	m.dIn.NoInputGrad = true
	m.l1 = nn.NewLSTM(m.arena, "lstm1", lc(cfg.DenseIn, true, 1), rng)
	m.l2 = nn.NewLSTM(m.arena, "lstm2", lc(cfg.Units, false, 2), rng)
	dOut := nn.NewDense(m.arena, "dense_out", cfg.Units, cfg.DenseOut, nn.GlorotUniform, rng)
	final := nn.NewDense(m.arena, "output", cfg.DenseOut, cfg.Outputs, nn.GlorotUniform, rng)
	m.net = nn.NewSequential(m.dIn, nn.NewSELU(), m.l1, m.l2, dOut, nn.NewSELU(), final)
	m.arena.Build()
	return m, nil
}

// SetMaskKey keys the next dropout masks per sample (nn.MaskKeyed); each
// LSTM gets its own key.
func (m *Earthquake) SetMaskKey(key uint64, first int) {
	m.l1.SetMaskKey(nn.MixKey(key, 1), first)
	m.l2.SetMaskKey(nn.MixKey(key, 2), first)
	if m.dev != nil {
		m.devL1.SetMaskKey(nn.MixKey(key, 1), first)
		m.devL2.SetMaskKey(nn.MixKey(key, 2), first)
	}
}

// Config returns the resolved configuration.
func (m *Earthquake) Config() EarthquakeConfig { return m.cfg }

// Arena returns the parameter arena.
func (m *Earthquake) Arena() *nn.Arena { return m.arena }

// FlopsPerSample is the forward+backward count of the matrix products for
// a window of t steps (6 per multiply-add; the first layer's dx, which is
// skipped, included), not counting element-wise work.
func (m *Earthquake) FlopsPerSample(t int) float64 {
	c := m.cfg
	perStep := c.Inputs*c.DenseIn + (c.DenseIn+c.Units)*4*c.Units + 2*c.Units*4*c.Units
	once := c.Units*c.DenseOut + c.DenseOut*c.Outputs
	return 6 * float64(t*perStep+once)
}

// Forward takes inputs {x [N, T, Inputs]} and returns [N, Outputs].
func (m *Earthquake) Forward(inputs []*tensor.Tensor, train bool) (*tensor.Tensor, error) {
	if len(inputs) != 1 || inputs[0] == nil {
		return nil, fmt.Errorf("%w: earthquake takes 1 input, got %d", ErrInput, len(inputs))
	}
	x := inputs[0]
	if len(x.Shape) != 3 || x.Shape[2] != m.cfg.Inputs || x.Shape[1] < 1 || len(x.Data) != x.Len() {
		return nil, fmt.Errorf("%w: earthquake input shape %v, want [N, T>0, %d]", ErrInput, x.Shape, m.cfg.Inputs)
	}
	m.n, m.t = x.Shape[0], x.Shape[1]
	if m.dev != nil {
		return m.dev.Forward(inputs, train)
	}
	return m.net.Forward(x, train), nil
}

// Backward propagates dL/dout [N, Outputs].
func (m *Earthquake) Backward(dout *tensor.Tensor) error {
	if dout == nil || len(dout.Shape) != 2 || dout.Shape[0] != m.n || dout.Shape[1] != m.cfg.Outputs || len(dout.Data) != dout.Len() || m.t == 0 {
		return fmt.Errorf("%w: earthquake dout must be [%d, %d] after Forward", ErrInput, m.n, m.cfg.Outputs)
	}
	if m.dev != nil {
		return m.dev.Backward(dout)
	}
	m.net.Backward(dout)
	return nil
}

// benchSteps is the window length of the earthquake benches (OURS default
// Tseq, BENCHMARKS.md §5.3).
const benchSteps = 26

// lstmBench returns the train-bench entry for an earthquake preset: 23
// inputs, 26 steps, weighted MSE with NaN mask, Adam (lr 1e-3).
func lstmBench(preset string) func(batch int, seed uint64) (*Bench, error) {
	return func(batch int, seed uint64) (*Bench, error) {
		if batch <= 0 {
			return nil, fmt.Errorf("%w: lstm bench batch %d", ErrConfig, batch)
		}
		cfg, err := EarthquakePreset(preset)
		if err != nil {
			return nil, err
		}
		cfg.DropoutSeed = seed
		m, err := NewEarthquake(cfg)
		if err != nil {
			return nil, err
		}
		rng := nn.NewRand(seed)
		x := randNormal(rng, batch, benchSteps, cfg.Inputs)
		y := randNormal(rng, batch, cfg.Outputs)
		w := make([]float32, cfg.Outputs)
		for k := range w {
			w[k] = 1
			if k >= 10 {
				w[k] = 0.25
			}
		}
		in := []*tensor.Tensor{x}
		opt := newBenchOptimizer("adam", m.arena.Size())
		loss := &nn.MSE{Weights: w}
		var grad tensor.Tensor
		lossGrad := func(out *tensor.Tensor) (*tensor.Tensor, error) {
			_, err := loss.Loss(&grad, out, y)
			return &grad, err
		}
		step := hostStep(m, opt, in, lossGrad)
		name := "lstm"
		if preset == "small" {
			name = "lstm-small"
		}
		return &Bench{Model: name, Params: m.arena.Size(), Batch: batch, FlopsPerSample: m.FlopsPerSample(benchSteps), Step: step,
			Device: deviceBench(m, "adam", in, lossGrad)}, nil
	}
}
