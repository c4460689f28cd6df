package nn

import "github.com/scibench/scibench/pkg/tensor"

// Sequential runs layers in order forward and in reverse backward. It is a
// Layer itself, so sequences nest.
type Sequential struct {
	Layers []Layer
}

// NewSequential returns a container of the given layers.
func NewSequential(layers ...Layer) *Sequential { return &Sequential{Layers: layers} }

// Add appends a layer.
func (s *Sequential) Add(l Layer) { s.Layers = append(s.Layers, l) }

// Forward feeds x through every layer.
func (s *Sequential) Forward(x *tensor.Tensor, train bool) *tensor.Tensor {
	for _, l := range s.Layers {
		x = l.Forward(x, train)
	}
	return x
}

// Backward feeds dy back through the layers in reverse. It stops early and
// returns nil when a layer returns nil (a first layer with NoInputGrad).
func (s *Sequential) Backward(dy *tensor.Tensor) *tensor.Tensor {
	for i := len(s.Layers) - 1; i >= 0 && dy != nil; i-- {
		dy = s.Layers[i].Backward(dy)
	}
	return dy
}
