package gpunn

import (
	"fmt"

	"github.com/scibench/scibench/pkg/nn"
)

// positive reports whether every dimension is at least 1.
func positive(shape []int) bool {
	for _, d := range shape {
		if d <= 0 {
			return false
		}
	}
	return true
}

// MaxPool2D is the device twin of an nn.MaxPool2D: the maximum over K×K
// windows (stride, padding counting as −∞) of every channel, the first
// maximum in row-major window order taking the gradient. Forward runs
// maxpool_fwd_f32, keeping each output's argmax, and Backward
// maxpool_bwd_f32.
type MaxPool2D struct {
	Kernel, Stride, Padding int

	e      *Engine
	in     []int
	oh, ow int
	y, dx  *devBuf
	arg    *devBuf // int32 argmax per output, within its plane
}

// NewMaxPool2D mirrors host's configuration.
func (e *Engine) NewMaxPool2D(host *nn.MaxPool2D) (*MaxPool2D, error) {
	if host == nil {
		return nil, fmt.Errorf("gpunn: %s: MaxPool2D: nil layer", e.where())
	}
	l := &MaxPool2D{e: e}
	c := host.Config()
	l.Kernel, l.Stride, l.Padding = c.Kernel, c.Stride, c.Padding
	if l.Kernel <= 0 || l.Stride <= 0 || l.Padding < 0 || 2*l.Padding > l.Kernel {
		return nil, fmt.Errorf("gpunn: %s: MaxPool2D: kernel %d stride %d padding %d", e.where(), l.Kernel, l.Stride, l.Padding)
	}
	return l, nil
}

func (l *MaxPool2D) name() string {
	return fmt.Sprintf("MaxPool2D %d×%d/%d pad %d", l.Kernel, l.Kernel, l.Stride, l.Padding)
}

// Forward queues the pooling of x ([N, C, H, W]) and returns y
// ([N, C, OH, OW], valid until the next Forward).
func (l *MaxPool2D) Forward(x Tensor, _ bool) (Tensor, error) {
	e, name := l.e, l.name()
	if err := e.checkIn(name+" forward", x, -1, -1, -1, -1); err != nil {
		return Tensor{}, err
	}
	n, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	if n <= 0 || c <= 0 || h <= 0 || w <= 0 || h+2*l.Padding < l.Kernel || w+2*l.Padding < l.Kernel {
		return Tensor{}, fmt.Errorf("gpunn: %s: %s forward: input shape %v, want [N C H W] with H, W ≥ max(1, %d)",
			e.where(), name, x.Shape, l.Kernel-2*l.Padding)
	}
	if err := e.fits(name+" forward", "input", x); err != nil {
		return Tensor{}, err
	}
	oh, ow := (h+2*l.Padding-l.Kernel)/l.Stride+1, (w+2*l.Padding-l.Kernel)/l.Stride+1
	m := n * c * oh * ow
	if err := e.grow(&l.y, name+" output", m, 4); err != nil {
		return Tensor{}, err
	}
	if err := e.grow(&l.arg, name+" argmax", m, 4); err != nil {
		return Tensor{}, err
	}
	if err := e.launch("maxpool_fwd_f32", m, l.y.at(0), l.arg.at(0), x.P, n*c, h, w,
		l.Kernel, l.Kernel, l.Stride, l.Stride, l.Padding, l.Padding, oh, ow); err != nil {
		return Tensor{}, fmt.Errorf("gpunn: %s forward: %w", name, err)
	}
	l.in = append(l.in[:0], x.Shape...)
	l.oh, l.ow = oh, ow
	return l.y.tensor(n, c, oh, ow), nil
}

// Backward routes each output gradient to its window's maximum and
// returns dx (the input's shape).
func (l *MaxPool2D) Backward(dy Tensor) (Tensor, error) {
	e, name := l.e, l.name()
	if len(l.in) == 0 {
		return Tensor{}, fmt.Errorf("gpunn: %s: %s backward before forward", e.where(), name)
	}
	n, c, h, w := l.in[0], l.in[1], l.in[2], l.in[3]
	if dy.IsNil() || dy.Len() != n*c*l.oh*l.ow {
		return Tensor{}, fmt.Errorf("gpunn: %s: %s backward: output gradient of shape %v, want %v",
			e.where(), name, dy.Shape, []int{n, c, l.oh, l.ow})
	}
	if err := e.fits(name+" backward", "output gradient", dy); err != nil {
		return Tensor{}, err
	}
	if err := e.grow(&l.dx, name+" input gradient", n*c*h*w, 4); err != nil {
		return Tensor{}, err
	}
	if err := e.launch("maxpool_bwd_f32", n*c*h*w, l.dx.at(0), dy.P, l.arg.at(0), n*c, h, w,
		l.Kernel, l.Kernel, l.Stride, l.Stride, l.Padding, l.Padding, l.oh, l.ow); err != nil {
		return Tensor{}, fmt.Errorf("gpunn: %s backward: %w", name, err)
	}
	return l.dx.tensor(l.in...), nil
}

// Upsample2D is the device twin of an nn.Upsample2D: nearest-neighbour
// upsampling by an integer factor (upsample_nearest_fwd_f32), Backward
// summing each Scale×Scale block (upsample_nearest_bwd_f32).
type Upsample2D struct {
	Scale int

	e     *Engine
	in    []int
	y, dx *devBuf
}

// NewUpsample2D mirrors host's factor.
func (e *Engine) NewUpsample2D(host *nn.Upsample2D) (*Upsample2D, error) {
	if host == nil {
		return nil, fmt.Errorf("gpunn: %s: Upsample2D: nil layer", e.where())
	}
	s := host.Scale()
	if s <= 0 {
		return nil, fmt.Errorf("gpunn: %s: Upsample2D: scale %d", e.where(), s)
	}
	return &Upsample2D{Scale: s, e: e}, nil
}

// Forward queues the upsampling of x ([N, C, H, W]) and returns y
// ([N, C, sH, sW], valid until the next Forward).
func (l *Upsample2D) Forward(x Tensor, _ bool) (Tensor, error) {
	e, s := l.e, l.Scale
	name := fmt.Sprintf("Upsample2D ×%d", s)
	if err := e.checkIn(name+" forward", x, -1, -1, -1, -1); err != nil {
		return Tensor{}, err
	}
	if !positive(x.Shape) {
		return Tensor{}, fmt.Errorf("gpunn: %s: %s forward: empty input of shape %v", e.where(), name, x.Shape)
	}
	if err := e.fits(name+" forward", "input", x); err != nil {
		return Tensor{}, err
	}
	n, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	m := x.Len() * s * s
	if err := e.grow(&l.y, name+" output", m, 4); err != nil {
		return Tensor{}, err
	}
	if err := e.launch("upsample_nearest_fwd_f32", m, l.y.at(0), x.P, n*c, h, w, s); err != nil {
		return Tensor{}, fmt.Errorf("gpunn: %s forward: %w", name, err)
	}
	l.in = append(l.in[:0], x.Shape...)
	return l.y.tensor(n, c, h*s, w*s), nil
}

// Backward sums dy over each Scale×Scale block and returns dx (the
// input's shape).
func (l *Upsample2D) Backward(dy Tensor) (Tensor, error) {
	e, s := l.e, l.Scale
	name := fmt.Sprintf("Upsample2D ×%d", s)
	if len(l.in) == 0 {
		return Tensor{}, fmt.Errorf("gpunn: %s: %s backward before forward", e.where(), name)
	}
	n, c, h, w := l.in[0], l.in[1], l.in[2], l.in[3]
	if dy.IsNil() || dy.Len() != n*c*h*w*s*s {
		return Tensor{}, fmt.Errorf("gpunn: %s: %s backward: output gradient of shape %v, want %v",
			e.where(), name, dy.Shape, []int{n, c, h * s, w * s})
	}
	if err := e.fits(name+" backward", "output gradient", dy); err != nil {
		return Tensor{}, err
	}
	if err := e.grow(&l.dx, name+" input gradient", n*c*h*w, 4); err != nil {
		return Tensor{}, err
	}
	if err := e.launch("upsample_nearest_bwd_f32", n*c*h*w, l.dx.at(0), dy.P, n*c, h, w, s); err != nil {
		return Tensor{}, fmt.Errorf("gpunn: %s backward: %w", name, err)
	}
	return l.dx.tensor(l.in...), nil
}

// GlobalAvgPool is the device twin of an nn.GlobalAvgPool: [N, C, H, W] →
// [N, C], the mean over each plane summed in float64 (gap_fwd_f32);
// Backward spreads dy/(H·W) over the plane (gap_bwd_f32).
type GlobalAvgPool struct {
	e     *Engine
	in    []int
	y, dx *devBuf
}

// NewGlobalAvgPool mirrors host (which has no configuration).
func (e *Engine) NewGlobalAvgPool(host *nn.GlobalAvgPool) (*GlobalAvgPool, error) {
	if host == nil {
		return nil, fmt.Errorf("gpunn: %s: GlobalAvgPool: nil layer", e.where())
	}
	return &GlobalAvgPool{e: e}, nil
}

// Forward queues the plane means of x ([N, C, H, W]) and returns y
// ([N, C], valid until the next Forward).
func (l *GlobalAvgPool) Forward(x Tensor, _ bool) (Tensor, error) {
	e, name := l.e, "GlobalAvgPool"
	if err := e.checkIn(name+" forward", x, -1, -1, -1, -1); err != nil {
		return Tensor{}, err
	}
	if !positive(x.Shape) {
		return Tensor{}, fmt.Errorf("gpunn: %s: %s forward: empty input of shape %v", e.where(), name, x.Shape)
	}
	if err := e.fits(name+" forward", "input", x); err != nil {
		return Tensor{}, err
	}
	planes, hw := x.Shape[0]*x.Shape[1], x.Shape[2]*x.Shape[3]
	if err := e.grow(&l.y, name+" output", planes, 4); err != nil {
		return Tensor{}, err
	}
	if err := e.launch("gap_fwd_f32", planes, l.y.at(0), x.P, planes, hw); err != nil {
		return Tensor{}, fmt.Errorf("gpunn: %s forward: %w", name, err)
	}
	l.in = append(l.in[:0], x.Shape...)
	return l.y.tensor(x.Shape[0], x.Shape[1]), nil
}

// Backward spreads dy ([N, C]) over the planes and returns dx (the
// input's shape).
func (l *GlobalAvgPool) Backward(dy Tensor) (Tensor, error) {
	e, name := l.e, "GlobalAvgPool"
	if len(l.in) == 0 {
		return Tensor{}, fmt.Errorf("gpunn: %s: %s backward before forward", e.where(), name)
	}
	planes, hw := l.in[0]*l.in[1], l.in[2]*l.in[3]
	if dy.IsNil() || dy.Len() != planes {
		return Tensor{}, fmt.Errorf("gpunn: %s: %s backward: output gradient of shape %v, want %v",
			e.where(), name, dy.Shape, l.in[:2])
	}
	if err := e.fits(name+" backward", "output gradient", dy); err != nil {
		return Tensor{}, err
	}
	if err := e.grow(&l.dx, name+" input gradient", planes*hw, 4); err != nil {
		return Tensor{}, err
	}
	if err := e.launch("gap_bwd_f32", planes*hw, l.dx.at(0), dy.P, planes, hw); err != nil {
		return Tensor{}, fmt.Errorf("gpunn: %s backward: %w", name, err)
	}
	return l.dx.tensor(l.in...), nil
}

// Flatten is the device twin of an nn.Flatten: [N, ...] → [N, rest] as a
// view of the same memory (no launch); Backward views dy in the input's
// shape.
type Flatten struct {
	e  *Engine
	in []int
}

// NewFlatten mirrors host (which has no configuration).
func (e *Engine) NewFlatten(host *nn.Flatten) (*Flatten, error) {
	if host == nil {
		return nil, fmt.Errorf("gpunn: %s: Flatten: nil layer", e.where())
	}
	return &Flatten{e: e}, nil
}

// Forward returns x viewed as [N, rest].
func (l *Flatten) Forward(x Tensor, _ bool) (Tensor, error) {
	if x.IsNil() || len(x.Shape) == 0 {
		return Tensor{}, fmt.Errorf("gpunn: %s: Flatten forward: nil input or no batch axis (shape %v)", l.e.where(), x.Shape)
	}
	n, rest := x.Shape[0], 0
	if n > 0 {
		rest = x.Len() / n
	}
	l.in = append(l.in[:0], x.Shape...)
	return Tensor{P: x.P, Shape: []int{n, rest}}, nil
}

// Backward returns dy viewed in the last input's shape.
func (l *Flatten) Backward(dy Tensor) (Tensor, error) {
	if len(l.in) == 0 {
		return Tensor{}, fmt.Errorf("gpunn: %s: Flatten backward before forward", l.e.where())
	}
	want := Tensor{Shape: l.in}
	if dy.IsNil() || dy.Len() != want.Len() {
		return Tensor{}, fmt.Errorf("gpunn: %s: Flatten backward: output gradient of shape %v for an input of shape %v",
			l.e.where(), dy.Shape, l.in)
	}
	return Tensor{P: dy.P, Shape: append([]int(nil), l.in...)}, nil
}
