package uno

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/scibench/scibench/pkg/optim"
)

// taskStateMagic starts a saved Task state (version 1).
const taskStateMagic = "UNO1"

// SaveState writes the plateau/early-stopping state and the evaluation
// counter (which keys the evaluation dropout masks) for checkpoints
// (train.StatefulTask).
func (t *Task) SaveState(w io.Writer) error {
	s := t.plateau.State()
	buf := make([]byte, 0, 4+8*9)
	buf = append(buf, taskStateMagic...)
	for _, v := range []uint64{uint64(t.observed), uint64(t.stopAt), t.evals, math.Float64bits(s.LR), math.Float64bits(s.Best),
		uint64(s.Wait), uint64(s.Cooldown), math.Float64bits(s.StopBest), uint64(s.StopWait)} {
		buf = binary.LittleEndian.AppendUint64(buf, v)
	}
	_, err := w.Write(buf)
	return err
}

// LoadState restores what SaveState wrote.
func (t *Task) LoadState(r io.Reader) error {
	buf := make([]byte, 4+8*9)
	if _, err := io.ReadFull(r, buf); err != nil {
		return fmt.Errorf("%w: uno task state: %w", ErrConfig, err)
	}
	if string(buf[:4]) != taskStateMagic {
		return fmt.Errorf("%w: uno task state: bad magic %q", ErrConfig, buf[:4])
	}
	v := make([]uint64, 9)
	for i := range v {
		v[i] = binary.LittleEndian.Uint64(buf[4+8*i:])
	}
	t.observed, t.stopAt, t.evals = int(v[0]), int(v[1]), v[2]
	t.plateau.SetState(optim.PlateauState{LR: math.Float64frombits(v[3]), Best: math.Float64frombits(v[4]), Wait: int(v[5]),
		Cooldown: int(v[6]), StopBest: math.Float64frombits(v[7]), StopWait: int(v[8])})
	return nil
}
