package gpunn

import (
	"context"
	"fmt"
	"slices"

	"github.com/scibench/scibench/pkg/gpu"
	"github.com/scibench/scibench/pkg/nn"
	"github.com/scibench/scibench/pkg/tensor"
)

// Dropout is the device twin of nn.Dropout, with the CPU layer's masks
// bit for bit. Keyed masks (after SetMaskKey, as the training loop sets
// them) are drawn on the device by the keyed generator; otherwise the
// host layer draws the mask from its seeded stream and each active
// Forward uploads it. Forward multiplies on the device
// (dropout_apply_f32), and Backward multiplies dy by the same mask.
//
// The device layer owns the host layer's random state: running the host
// layer's Forward as well would draw masks out of turn. Rate, Permanent
// and the key are read from the host layer at each Forward. An unkeyed
// mask upload is a plain synchronous copy after waiting for the engine's
// stream.
type Dropout struct {
	host   *nn.Dropout
	e      *Engine
	ones   *tensor.Tensor // host input of ones: the host layer's output is its mask
	mask   *devBuf
	y, dx  *devBuf
	shape  []int
	active bool
	ran    bool
}

// NewDropout mirrors host.
func (e *Engine) NewDropout(host *nn.Dropout) (*Dropout, error) {
	if host == nil {
		return nil, fmt.Errorf("gpunn: %s: Dropout: nil host layer", e.where())
	}
	if host.Rate < 0 || host.Rate >= 1 {
		return nil, fmt.Errorf("gpunn: %s: Dropout: rate %g outside [0, 1)", e.where(), host.Rate)
	}
	return &Dropout{host: host, e: e}, nil
}

// SetMaskKey keys the next masks per sample, as nn.Dropout.SetMaskKey
// (nn.MaskKeyed).
func (l *Dropout) SetMaskKey(key uint64, first int) { l.host.SetMaskKey(key, first) }

// Forward draws a fresh mask and queues y = x ⊙ mask when active (train or
// Permanent, and Rate > 0); otherwise it returns x itself, as the CPU
// layer does. It waits for the engine's stream before uploading the mask.
func (l *Dropout) Forward(x Tensor, train bool) (Tensor, error) {
	e := l.e
	if err := e.fits("Dropout forward", "input", x); err != nil {
		return Tensor{}, err
	}
	h := l.host
	if h.Rate < 0 || h.Rate >= 1 {
		return Tensor{}, fmt.Errorf("gpunn: %s: Dropout forward: rate %g outside [0, 1)", e.where(), h.Rate)
	}
	l.ran = true
	l.shape = append(l.shape[:0], x.Shape...)
	l.active = (train || h.Permanent) && h.Rate > 0
	if !l.active {
		return x, nil
	}
	n := x.Len()
	if n == 0 {
		return Tensor{}, fmt.Errorf("gpunn: %s: Dropout forward: empty input of shape %v", e.where(), x.Shape)
	}
	if err := e.grow(&l.y, "Dropout output", n, 4); err != nil {
		return Tensor{}, err
	}
	if key, first, keyed := h.MaskKey(); keyed && len(x.Shape) > 0 && x.Shape[0] > 0 && first >= 0 && first+x.Shape[0] <= 1<<31-1 {
		// keyed masks are drawn on the device by the keyed generator
		// (lstm_mask_f32, the twin of the host's keyed fill with salt 0):
		// no host work, no wait; the host layer's own stream is untouched,
		// as it is on the CPU when the masks are keyed
		if err := e.grow(&l.mask, "Dropout mask", n, 4); err != nil {
			return Tensor{}, err
		}
		ns := x.Shape[0]
		thr := int(uint64(h.Rate * (1 << 16)))
		scale := float32(1 / (1 - h.Rate))
		if err := e.launch("lstm_mask_f32", ns, l.mask.at(0), ns, n/ns, int32(uint32(key>>32)), int32(uint32(key)), first, thr, scale); err != nil {
			return Tensor{}, fmt.Errorf("gpunn: Dropout mask: %w", err)
		}
		if err := e.launch("dropout_apply_f32", n, l.y.at(0), x.P, l.mask.at(0), n); err != nil {
			return Tensor{}, fmt.Errorf("gpunn: Dropout forward: %w", err)
		}
		return l.y.tensor(l.shape...), nil
	}
	// The host layer's output for an input of ones is its mask (1·m = m).
	if l.ones == nil || !slices.Equal(l.ones.Shape, x.Shape) {
		l.ones = tensor.New(x.Shape...)
		for i := range l.ones.Data {
			l.ones.Data[i] = 1
		}
	}
	m := h.Forward(l.ones, train)
	if len(m.Data) != n {
		return Tensor{}, fmt.Errorf("gpunn: %s: Dropout forward: host mask of %d values for %d", e.where(), len(m.Data), n)
	}
	if err := e.grow(&l.mask, "Dropout mask", n, 4); err != nil {
		return Tensor{}, err
	}
	// the mask buffer may still be read by queued work (the last Backward)
	if err := e.Synchronize(context.Background()); err != nil {
		return Tensor{}, fmt.Errorf("gpunn: Dropout forward: %w", err)
	}
	if err := e.uploadPrefix(l.mask, m.Data); err != nil {
		return Tensor{}, fmt.Errorf("gpunn: Dropout mask: %w", err)
	}
	if err := e.launch("dropout_apply_f32", n, l.y.at(0), x.P, l.mask.at(0), n); err != nil {
		return Tensor{}, fmt.Errorf("gpunn: Dropout forward: %w", err)
	}
	return l.y.tensor(l.shape...), nil
}

// Backward returns dy ⊙ mask, or dy itself when the last Forward was
// inactive.
func (l *Dropout) Backward(dy Tensor) (Tensor, error) {
	e := l.e
	if !l.ran {
		return Tensor{}, fmt.Errorf("gpunn: %s: Dropout backward before forward", e.where())
	}
	n := shapeLen(l.shape)
	if dy.IsNil() || dy.Len() != n {
		return Tensor{}, fmt.Errorf("gpunn: %s: Dropout backward: output gradient of shape %v for an output of %v", e.where(), dy.Shape, l.shape)
	}
	if err := e.fits("Dropout backward", "output gradient", dy); err != nil {
		return Tensor{}, err
	}
	if !l.active {
		return dy, nil
	}
	if err := e.grow(&l.dx, "Dropout input gradient", n, 4); err != nil {
		return Tensor{}, err
	}
	if err := e.launch("dropout_apply_f32", n, l.dx.at(0), dy.P, l.mask.at(0), n); err != nil {
		return Tensor{}, fmt.Errorf("gpunn: Dropout backward: %w", err)
	}
	return l.dx.tensor(l.shape...), nil
}

// uploadPrefix copies x into the first len(x) elements of d (d.n may be
// larger: a buffer grown for a bigger batch), keeping the guard bands.
func (e *Engine) uploadPrefix(d *devBuf, x []float32) error {
	if len(x) > d.n {
		return fmt.Errorf("gpunn: %s: upload of %d values into %d", e.where(), len(x), d.n)
	}
	if len(x) == d.n {
		return e.upload(d, x)
	}
	raw := make([]byte, d.buf.Size())
	if err := e.c.CopyDtoH(raw, d.buf); err != nil {
		return err
	}
	copy(raw[d.off:], gpu.Float32Bytes(x))
	return e.c.CopyHtoD(d.buf, raw)
}
