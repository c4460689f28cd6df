package nn

import (
	"math"

	"github.com/scibench/scibench/pkg/tensor"
)

// Activation names an element-wise function. Its derivative is computed
// from the function's output, so layers keep only their outputs.
type Activation int

// Element-wise activations.
const (
	Linear Activation = iota
	ReLUAct
	SELUAct
	SigmoidAct
	TanhAct
)

// SELU constants (Klambauer et al. 2017, as in Keras).
const (
	seluAlpha = 1.6732632423543772848170429916717
	seluScale = 1.0507009873554804934193349852946
)

// String names the activation as Keras does.
func (a Activation) String() string {
	switch a {
	case Linear:
		return "linear"
	case ReLUAct:
		return "relu"
	case SELUAct:
		return "selu"
	case SigmoidAct:
		return "sigmoid"
	case TanhAct:
		return "tanh"
	}
	return "unknown"
}

// apply writes f(x[i]) into y[i].
func (a Activation) apply(y, x []float32) {
	y = y[:len(x)]
	switch a {
	case ReLUAct:
		// On the bits, so the compiler emits a conditional move: pre-
		// activations are positive or negative at random and a branch
		// mispredicts half the time (3-4x slower). Negative values and −0
		// give +0; a NaN with the sign bit clear passes through.
		for i, v := range x {
			b := math.Float32bits(v)
			if int32(b) <= 0 {
				b = 0
			}
			y[i] = math.Float32frombits(b)
		}
	case SELUAct:
		applyVec(seluKernel, seluScalar, y, x)
	case SigmoidAct:
		applyVec(sigmoidKernel, sigmoid, y, x)
	case TanhAct:
		applyVec(tanhKernel, tanh32, y, x)
	default:
		copy(y, x)
	}
}

func sigmoid(v float32) float32 {
	if v >= 0 {
		return 1 / (1 + exp32(-v))
	}
	e := exp32(v)
	return e / (1 + e)
}

// scalar returns f(v).
func (a Activation) scalar(v float32) float32 {
	switch a {
	case ReLUAct:
		return max(v, 0)
	case SELUAct:
		if v > 0 {
			return seluScale * v
		}
		return seluScale * seluAlpha * expm1_32(v)
	case SigmoidAct:
		return sigmoid(v)
	case TanhAct:
		return tanh32(v)
	}
	return v
}

// deriv returns f'(x) given y = f(x).
func (a Activation) deriv(y float32) float32 {
	switch a {
	case ReLUAct:
		if y > 0 {
			return 1
		}
		return 0
	case SELUAct:
		if y > 0 {
			return seluScale
		}
		return y + seluScale*seluAlpha
	case SigmoidAct:
		return y * (1 - y)
	case TanhAct:
		return 1 - y*y
	}
	return 1
}

// backward writes dx[i] = dy[i]·f'(x[i]) from the outputs y.
func (a Activation) backward(dx, dy, y []float32) {
	dx = dx[:len(y)]
	dy = dy[:len(y)]
	switch a {
	case ReLUAct:
		for i, v := range y { // branch-free, as in apply
			d := math.Float32bits(dy[i])
			if !(v > 0) {
				d = 0
			}
			dx[i] = math.Float32frombits(d)
		}
	case SELUAct:
		seluBackward(dx, dy, y)
	case SigmoidAct:
		for i, v := range y {
			dx[i] = dy[i] * v * (1 - v)
		}
	case TanhAct:
		for i, v := range y {
			dx[i] = dy[i] * (1 - v*v)
		}
	default:
		for i, v := range y {
			dx[i] = dy[i] * a.deriv(v)
		}
	}
}

// Act is an element-wise activation layer of any shape.
type Act struct {
	Fn    Activation
	y, dx tensor.Tensor
}

// NewAct returns an activation layer applying fn.
func NewAct(fn Activation) *Act { return &Act{Fn: fn} }

// NewReLU returns max(x, 0).
func NewReLU() *Act { return NewAct(ReLUAct) }

// NewSELU returns scale·(x if x>0 else α(eˣ−1)).
func NewSELU() *Act { return NewAct(SELUAct) }

// NewSigmoid returns 1/(1+e⁻ˣ).
func NewSigmoid() *Act { return NewAct(SigmoidAct) }

// NewTanh returns tanh(x).
func NewTanh() *Act { return NewAct(TanhAct) }

// Forward applies the activation.
func (l *Act) Forward(x *tensor.Tensor, _ bool) *tensor.Tensor {
	l.y.Ensure(x.Shape...)
	l.Fn.apply(l.y.Data, x.Data)
	return &l.y
}

// Backward returns dL/dx from dL/dy.
func (l *Act) Backward(dy *tensor.Tensor) *tensor.Tensor {
	l.dx.Ensure(l.y.Shape...)
	l.Fn.backward(l.dx.Data, dy.Data, l.y.Data)
	return &l.dx
}

// Softmax normalises the last axis: y = exp(x − max)/Σ exp(x − max).
type Softmax struct {
	y, dx tensor.Tensor
}

// NewSoftmax returns a softmax over the last axis.
func NewSoftmax() *Softmax { return &Softmax{} }

// softmaxRows writes the row-wise softmax of x (rows of length k) into y.
func softmaxRows(y, x []float32, k int) {
	for r := 0; r+k <= len(x); r += k {
		xr, yr := x[r:r+k], y[r:r+k]
		m := xr[0]
		for _, v := range xr {
			m = max(m, v)
		}
		var s float64
		for i, v := range xr {
			e := math.Exp(float64(v - m))
			yr[i] = float32(e)
			s += e
		}
		inv := float32(1 / s)
		for i := range yr {
			yr[i] *= inv
		}
	}
}

// Forward applies the softmax over the last axis.
func (l *Softmax) Forward(x *tensor.Tensor, _ bool) *tensor.Tensor {
	l.y.Ensure(x.Shape...)
	if len(x.Shape) > 0 && x.Shape[len(x.Shape)-1] > 0 {
		softmaxRows(l.y.Data, x.Data, x.Shape[len(x.Shape)-1])
	}
	return &l.y
}

// Backward returns dx = y ⊙ (dy − Σ dy·y) per row.
func (l *Softmax) Backward(dy *tensor.Tensor) *tensor.Tensor {
	l.dx.Ensure(l.y.Shape...)
	if len(l.y.Shape) == 0 {
		return &l.dx
	}
	k := l.y.Shape[len(l.y.Shape)-1]
	if k == 0 {
		return &l.dx
	}
	for r := 0; r+k <= len(l.y.Data); r += k {
		yr, dr, xr := l.y.Data[r:r+k], dy.Data[r:r+k], l.dx.Data[r:r+k]
		var s float32
		for i, v := range yr {
			s += v * dr[i]
		}
		for i, v := range yr {
			xr[i] = v * (dr[i] - s)
		}
	}
	return &l.dx
}
