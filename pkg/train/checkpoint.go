package train

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// checkpointMagic starts every checkpoint file.
const checkpointMagic = "SCIBCKP1"

// Checkpoint is the state saved after every epoch: enough to resume and get
// the same result as an uninterrupted run with the same seed (the sample
// order and every per-step random stream are derived from the seed, the
// epoch and the step, so no generator state beyond Epoch is needed).
type Checkpoint struct {
	Epoch     int           `json:"epoch"` // epochs completed
	Seed      uint64        `json:"seed"`
	WorldSize int           `json:"world_size"`
	Optimizer string        `json:"optimizer"`
	LR        float64       `json:"lr"`
	BestLoss  float64       `json:"best_loss"`
	HasBest   bool          `json:"has_best"`
	History   []EpochRecord `json:"history"`
	ElapsedS  float64       `json:"elapsed_s"`
	Steps     int           `json:"steps"`

	Weights   []float32 `json:"-"`
	Best      []float32 `json:"-"`
	OptState  []byte    `json:"-"`
	TaskState []byte    `json:"-"`

	ParamCount int `json:"param_count"`
	OptLen     int `json:"opt_len"`
	TaskLen    int `json:"task_len"`
}

// Marshal encodes the checkpoint: magic, header length, JSON header,
// weights, best weights, optimizer state, task state, CRC-32 of all before.
func (c *Checkpoint) Marshal() ([]byte, error) {
	c.ParamCount = len(c.Weights)
	c.OptLen = len(c.OptState)
	c.TaskLen = len(c.TaskState)
	if c.HasBest && len(c.Best) != len(c.Weights) {
		return nil, fmt.Errorf("%w: best weights have %d values, weights %d", ErrCheckpoint, len(c.Best), len(c.Weights))
	}
	hdr, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrCheckpoint, err)
	}
	var b bytes.Buffer
	b.WriteString(checkpointMagic)
	var u [4]byte
	binary.LittleEndian.PutUint32(u[:], uint32(len(hdr)))
	b.Write(u[:])
	b.Write(hdr)
	putF32(&b, c.Weights)
	if c.HasBest {
		putF32(&b, c.Best)
	}
	b.Write(c.OptState)
	b.Write(c.TaskState)
	binary.LittleEndian.PutUint32(u[:], crc32.ChecksumIEEE(b.Bytes()))
	b.Write(u[:])
	return b.Bytes(), nil
}

func putF32(b *bytes.Buffer, v []float32) {
	var u [4]byte
	for _, x := range v {
		binary.LittleEndian.PutUint32(u[:], math.Float32bits(x))
		b.Write(u[:])
	}
}

// UnmarshalCheckpoint decodes p; name is used in error messages.
func UnmarshalCheckpoint(name string, p []byte) (*Checkpoint, error) {
	if len(p) < len(checkpointMagic)+8 || string(p[:len(checkpointMagic)]) != checkpointMagic {
		return nil, fmt.Errorf("%w: %s: not a scibench checkpoint or truncated (%d bytes)", ErrCheckpoint, name, len(p))
	}
	body := p[:len(p)-4]
	if got, want := crc32.ChecksumIEEE(body), binary.LittleEndian.Uint32(p[len(p)-4:]); got != want {
		return nil, fmt.Errorf("%w: %s: checksum mismatch (truncated or corrupted file of %d bytes)", ErrCheckpoint, name, len(p))
	}
	off := len(checkpointMagic)
	hl := int(binary.LittleEndian.Uint32(body[off:]))
	off += 4
	if hl > len(body)-off {
		return nil, fmt.Errorf("%w: %s: header length %d beyond end of file", ErrCheckpoint, name, hl)
	}
	c := &Checkpoint{}
	if err := json.Unmarshal(body[off:off+hl], c); err != nil {
		return nil, fmt.Errorf("%w: %s: header: %w", ErrCheckpoint, name, err)
	}
	off += hl
	nf := c.ParamCount
	if c.HasBest {
		nf *= 2
	}
	if c.ParamCount < 0 || c.OptLen < 0 || c.TaskLen < 0 || 4*nf+c.OptLen+c.TaskLen != len(body)-off {
		return nil, fmt.Errorf("%w: %s: sizes in header (%d params, %d+%d state bytes) do not match the file", ErrCheckpoint, name, c.ParamCount, c.OptLen, c.TaskLen)
	}
	c.Weights = getF32(body[off:], c.ParamCount)
	off += 4 * c.ParamCount
	if c.HasBest {
		c.Best = getF32(body[off:], c.ParamCount)
		off += 4 * c.ParamCount
	}
	c.OptState = body[off : off+c.OptLen]
	off += c.OptLen
	c.TaskState = body[off : off+c.TaskLen]
	return c, nil
}

func getF32(p []byte, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(p[4*i:]))
	}
	return v
}

// WriteFileAtomic writes p to path through a temporary file in the same
// directory, synced and renamed, so readers see the old file or the new one,
// never a partial one.
func WriteFileAtomic(path string, p []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(p)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// CheckpointPath is the file of the checkpoint after epoch e in dir.
func CheckpointPath(dir string, e int) string {
	return filepath.Join(dir, fmt.Sprintf("epoch-%04d.ckpt", e))
}

// LatestCheckpoint returns the path of the highest-epoch checkpoint in dir,
// or "" when there is none.
func LatestCheckpoint(dir string) (string, error) {
	ents, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrCheckpoint, err)
	}
	var eps []int
	for _, e := range ents {
		n := e.Name()
		if !strings.HasPrefix(n, "epoch-") || !strings.HasSuffix(n, ".ckpt") {
			continue
		}
		if v, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(n, "epoch-"), ".ckpt")); err == nil {
			eps = append(eps, v)
		}
	}
	if len(eps) == 0 {
		return "", nil
	}
	sort.Ints(eps)
	return CheckpointPath(dir, eps[len(eps)-1]), nil
}

// ReadCheckpoint reads and verifies a checkpoint file.
func ReadCheckpoint(path string) (*Checkpoint, error) {
	p, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCheckpoint, err)
	}
	return UnmarshalCheckpoint(path, p)
}
