package nn

import (
	"fmt"

	"github.com/scibench/scibench/pkg/tensor"
)

// Concat joins two tensors along the channel axis (axis 1): [N, Ca, ...]
// and [N, Cb, ...] give [N, Ca+Cb, ...]. U-Net passes [upsampled, skip].
type Concat struct {
	ca, cb, inner int
	sa, sb, so    []int
	y, da, db     tensor.Tensor
}

// NewConcat returns a channel concatenation.
func NewConcat() *Concat { return &Concat{} }

// OutputShape returns the joined shape, or an error wrapping ErrInputShape
// when the shapes differ outside axis 1.
func (l *Concat) OutputShape(a, b []int) ([]int, error) {
	if err := l.check(a, b); err != nil {
		return nil, err
	}
	out := append([]int(nil), a...)
	out[1] += b[1]
	return out, nil
}

func (l *Concat) check(a, b []int) error {
	ok := len(a) >= 2 && len(a) == len(b) && a[0] == b[0]
	for i := 2; ok && i < len(a); i++ {
		ok = a[i] == b[i]
	}
	if !ok {
		return fmt.Errorf("%w: concat: inputs %v and %v differ outside axis 1", ErrInputShape, a, b)
	}
	return nil
}

// Forward2 returns [a, b] joined along channels.
func (l *Concat) Forward2(a, b *tensor.Tensor) *tensor.Tensor {
	if err := l.check(a.Shape, b.Shape); err != nil {
		panic(err)
	}
	l.sa = append(l.sa[:0], a.Shape...)
	l.sb = append(l.sb[:0], b.Shape...)
	n := a.Shape[0]
	l.ca, l.cb = a.Shape[1], b.Shape[1]
	l.inner = 1
	for _, d := range a.Shape[2:] {
		l.inner *= d
	}
	l.so = append(l.so[:0], a.Shape...)
	l.so[1] += l.cb
	y := l.y.Ensure(l.so...)
	ea, eb := l.ca*l.inner, l.cb*l.inner
	for i := 0; i < n; i++ {
		yi := y.Data[i*(ea+eb) : (i+1)*(ea+eb)]
		copy(yi[:ea], a.Data[i*ea:(i+1)*ea])
		copy(yi[ea:], b.Data[i*eb:(i+1)*eb])
	}
	return y
}

// Backward2 splits dy into the gradients of a and b.
func (l *Concat) Backward2(dy *tensor.Tensor) (da, db *tensor.Tensor) {
	da, db = l.da.Ensure(l.sa...), l.db.Ensure(l.sb...)
	ea, eb := l.ca*l.inner, l.cb*l.inner
	for i := 0; i < l.sa[0]; i++ {
		di := dy.Data[i*(ea+eb) : (i+1)*(ea+eb)]
		copy(da.Data[i*ea:(i+1)*ea], di[:ea])
		copy(db.Data[i*eb:(i+1)*eb], di[ea:])
	}
	return da, db
}
