package nn

import "fmt"

// Arena holds every parameter of a model in one contiguous []float32 and
// every gradient in another, so the all-reduce can run on the whole gradient
// (or on buckets of it) without copies. Layers register parameters while the
// model is built; Build allocates the two slices and gives each Param its
// views. Parameters are laid out in registration order (forward order), so a
// backward pass finishes gradients from the end of the arena towards the
// start.
type Arena struct {
	Data   []float32 // all parameters
	Grad   []float32 // all gradients, same layout
	params []*Param
	size   int
	built  bool

	// ready is the lowest offset from which every gradient is final in the
	// current backward pass; hook is called whenever it moves down.
	ready int
	hook  func(lo int)
}

// Param is one named parameter tensor: a view into the arena.
type Param struct {
	Name   string
	Shape  []int
	Offset int       // first element in Arena.Data
	W      []float32 // view of Arena.Data (valid after Build)
	G      []float32 // view of Arena.Grad (valid after Build)
	arena  *Arena
}

// Len is the number of elements.
func (p *Param) Len() int { return len(p.W) }

// NewArena returns an empty arena.
func NewArena() *Arena { return &Arena{} }

// Param registers a parameter of the given shape. It panics after Build
// (a programmer error).
func (a *Arena) Param(name string, shape ...int) *Param {
	if a.built {
		panic("nn: Arena.Param after Build")
	}
	n := 1
	for _, d := range shape {
		n *= d
	}
	p := &Param{Name: name, Shape: append([]int(nil), shape...), Offset: a.size, arena: a}
	p.W = make([]float32, n) // placeholder until Build, so initialisers may run early
	a.size += n
	a.params = append(a.params, p)
	return p
}

// Build allocates the arena and points every Param at its views, copying
// values already written into the placeholders.
func (a *Arena) Build() {
	if a.built {
		return
	}
	a.Data = make([]float32, a.size)
	a.Grad = make([]float32, a.size)
	for _, p := range a.params {
		n := len(p.W)
		copy(a.Data[p.Offset:p.Offset+n], p.W)
		p.W = a.Data[p.Offset : p.Offset+n : p.Offset+n]
		p.G = a.Grad[p.Offset : p.Offset+n : p.Offset+n]
	}
	a.built = true
	a.ready = a.size
}

// Size is the total number of parameters.
func (a *Arena) Size() int { return a.size }

// Params lists the parameters in layout order.
func (a *Arena) Params() []*Param { return a.params }

// ZeroGrad clears all gradients and restarts readiness tracking for a new
// backward pass. Layers accumulate (+=) into their gradients.
func (a *Arena) ZeroGrad() {
	clear(a.Grad)
	a.ready = a.size
}

// SetGradHook installs fn, called during backward with the lowest arena
// offset lo such that Grad[lo:] is final. The training loop uses it to start
// the all-reduce of finished buckets while the backward pass goes on.
func (a *Arena) SetGradHook(fn func(lo int)) { a.hook = fn }

// MarkReady tells the arena that p's gradient is final for this backward
// pass. Layers call it at the end of their Backward for each parameter.
func (p *Param) MarkReady() {
	a := p.arena
	if a == nil || p.Offset >= a.ready {
		return
	}
	a.ready = p.Offset
	if a.hook != nil {
		a.hook(a.ready)
	}
}

// String describes the parameter.
func (p *Param) String() string { return fmt.Sprintf("%s%v@%d", p.Name, p.Shape, p.Offset) }
