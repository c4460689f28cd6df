package gpunn

import (
	"fmt"

	"github.com/scibench/scibench/pkg/nn"
)

// Builder makes the device twins of host layers on one Arena, collecting
// the layers with state outside the arena (HostSyncer) and those keyed
// per sample (MaskKeyed) on the way.
type Builder struct {
	// Extra, when set, is asked first: it returns the device twin of a
	// host layer type the Builder does not know (a model's own composite
	// layer), or nil, nil to leave l to the Builder.
	Extra func(b *Builder, l nn.Layer) (Layer, error)

	e       *Engine
	a       *Arena
	syncers []HostSyncer
}

// MaskKeyed is a device layer whose random masks are keyed per sample
// (nn.MaskKeyed): the model forwards its keys.
type MaskKeyed interface {
	SetMaskKey(key uint64, first int)
}

// NewBuilder returns a Builder for layers whose parameters are in a.
func (e *Engine) NewBuilder(a *Arena) *Builder { return &Builder{e: e, a: a} }

// Engine is the engine the Builder builds on.
func (b *Builder) Engine() *Engine { return b.e }

// Syncers returns the layers built so far with state outside the arena.
func (b *Builder) Syncers() []HostSyncer { return b.syncers }

// Layer returns the device twin of l (a Sequential is translated layer by
// layer), or an error naming the host type that has none.
func (b *Builder) Layer(l nn.Layer) (Layer, error) {
	e, a := b.e, b.a
	if b.Extra != nil {
		if d, err := b.Extra(b, l); err != nil || d != nil {
			return d, err
		}
	}
	switch h := l.(type) {
	case *nn.Sequential:
		s := &Sequential{}
		for _, x := range h.Layers {
			d, err := b.Layer(x)
			if err != nil {
				return nil, err
			}
			s.Layers = append(s.Layers, d)
		}
		return s, nil
	case *nn.Dense:
		return e.NewDense(a, h, false)
	case *nn.Act:
		return e.NewAct(h)
	case *nn.Softmax:
		return e.NewSoftmax(h)
	case *nn.Dropout:
		return e.NewDropout(h)
	case *nn.Conv2D:
		return e.NewConv2D(a, h)
	case *nn.ConvTranspose2D:
		return e.NewConvTranspose2D(a, h)
	case *nn.BatchNorm:
		d, err := e.NewBatchNorm(a, h)
		if err != nil {
			return nil, err
		}
		b.syncers = append(b.syncers, d)
		return d, nil
	case *nn.MaxPool2D:
		return e.NewMaxPool2D(h)
	case *nn.Upsample2D:
		return e.NewUpsample2D(h)
	case *nn.GlobalAvgPool:
		return e.NewGlobalAvgPool(h)
	case *nn.Flatten:
		return e.NewFlatten(h)
	case *nn.LSTM:
		return e.NewLSTM(a, h)
	}
	return nil, fmt.Errorf("gpunn: %s: layer %T has no device twin", e.where(), l)
}
