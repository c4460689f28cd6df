package uno

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/scibench/scibench/pkg/hdf5"
)

// GenOptions configures Generate (BENCHMARKS.md §4.6). Zero values mean
// the reference setting; use Scale for the named profiles.
type GenOptions struct {
	Train, Val, Test int // rows per split
	// Feature widths; default 942 and 5270 (tests use smaller ones).
	CellFeatures, DrugFeatures int
	Cells, Drugs               int // entities; default 200 and 400
	Latent                     int // latent dimension; default 8
	Seed                       uint64
	ChunkRows                  int // rows per append; default 2000
	Gzip                       int // deflate level of the tables, 0..9
}

// Scales are the named generator profiles.
var Scales = map[string]GenOptions{
	"tiny": {Train: 1600, Val: 200, Test: 200, Cells: 40, Drugs: 80},
	"demo": {Train: 40000, Val: 5000, Test: 5000},
}

// Scale returns the named profile with the given seed.
func Scale(name string, seed uint64) (GenOptions, error) {
	o, ok := Scales[name]
	if !ok {
		return o, fmt.Errorf("%w: unknown scale %q (want tiny or demo)", ErrConfig, name)
	}
	o.Seed = seed
	return o, nil
}

func (o GenOptions) withDefaults() GenOptions {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.CellFeatures, CellFeatures)
	def(&o.DrugFeatures, DrugFeatures)
	def(&o.Cells, 200)
	def(&o.Drugs, 400)
	def(&o.Latent, 8)
	def(&o.ChunkRows, 2000)
	return o
}

// Validate reports impossible options.
func (o GenOptions) Validate() error {
	o = o.withDefaults()
	switch {
	case o.Train < 1 || o.Val < 1 || o.Test < 0:
		return fmt.Errorf("%w: generate: rows %d/%d/%d (train and val need at least 1)", ErrConfig, o.Train, o.Val, o.Test)
	case o.CellFeatures < 1 || o.DrugFeatures < 1 || o.Cells < 1 || o.Drugs < 1 || o.Latent < 1 || o.ChunkRows < 1:
		return fmt.Errorf("%w: generate: non-positive size in %+v", ErrConfig, o)
	case o.Train+o.Val+o.Test > o.Cells*o.Drugs:
		return fmt.Errorf("%w: generate: %d rows exceed the %d distinct (cell, drug) pairs", ErrConfig, o.Train+o.Val+o.Test, o.Cells*o.Drugs)
	case o.Gzip < 0 || o.Gzip > 9:
		return fmt.Errorf("%w: generate: gzip %d outside 0..9", ErrConfig, o.Gzip)
	}
	return nil
}

// GenStats summarises a generated file.
type GenStats struct {
	Rows            [3]int  // train, val, test
	MeanAUC, StdAUC float64 // over all rows
	// ValMeanMSE is the validation MSE of the trivial predictor that
	// always answers the training mean AUC.
	ValMeanMSE float64
}

// Generate writes a synthetic candle-uno file at path with the layout of
// the reference file (pandas HDFStore tables /x_{split}_{0,1}, /y_{split},
// appended in ChunkRows-row chunks whose index restarts per chunk) and a
// learnable AUC target (§4.6). An existing file at path is replaced.
func Generate(ctx context.Context, path string, o GenOptions) (*GenStats, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o = o.withDefaults()
	rng := rand.New(rand.NewPCG(o.Seed, 0x756e6f2d67656e)) // "uno-gen"
	L := o.Latent
	norm := func(n int, sd float64) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = rng.NormFloat64() * sd
		}
		return v
	}
	zc, zd := norm(o.Cells*L, 1), norm(o.Drugs*L, 1)
	xc := features(rng, zc, o.Cells, L, o.CellFeatures, 0, 0)
	xd := features(rng, zd, o.Drugs, L, o.DrugFeatures, 0.05, 0.02)
	sd8 := 1 / math.Sqrt(float64(L))
	M := norm(L*L, 1)
	u, v, p, q := norm(L, sd8), norm(L, sd8), norm(L, sd8), norm(L, sd8)

	n := o.Train + o.Val + o.Test
	pairs := distinctPairs(rng, o.Cells*o.Drugs, n)
	s := make([]float64, n)
	for i, pr := range pairs {
		c, d := zc[(pr/o.Drugs)*L:][:L], zd[(pr%o.Drugs)*L:][:L]
		var bil, uc, vd, pc, qd float64
		for a := range L {
			var md float64
			for b := range L {
				md += M[a*L+b] * d[b]
			}
			bil += c[a] * md
			uc += u[a] * c[a]
			vd += v[a] * d[a]
			pc += p[a] * c[a]
			qd += q[a] * d[a]
		}
		s[i] = bil*sd8 + uc + vd + 0.5*math.Tanh(pc)*math.Tanh(qd)
	}
	standardise(s)
	auc := make([]float32, n)
	var sum, sum2 float64
	for i := range s {
		a := 1/(1+math.Exp(-(1.1+0.9*s[i]))) + 0.03*rng.NormFloat64()
		a = min(1, max(0, a))
		auc[i] = float32(a)
		sum += float64(auc[i])
		sum2 += float64(auc[i]) * float64(auc[i])
	}
	st := &GenStats{Rows: [3]int{o.Train, o.Val, o.Test}, MeanAUC: sum / float64(n)}
	st.StdAUC = math.Sqrt(max(0, sum2/float64(n)-st.MeanAUC*st.MeanAUC))
	trMean, _ := meanVar(auc[:o.Train])
	for _, a := range auc[o.Train : o.Train+o.Val] {
		d := float64(a) - trMean
		st.ValMeanMSE += d * d
	}
	st.ValMeanMSE /= float64(o.Val)

	f, err := hdf5.Create(path)
	if err != nil {
		return nil, dataErr(path, "", -1, errors.Join(ErrData, err), "create: %v", err)
	}
	w := &writer{f: f, path: path, o: o, xc: xc, xd: xd}
	lo := 0
	for k, split := range Splits {
		rows := st.Rows[k]
		if rows == 0 {
			continue
		}
		if err := w.split(ctx, split, pairs[lo:lo+rows], auc[lo:lo+rows]); err != nil {
			f.Close()
			return nil, err
		}
		lo += rows
	}
	if err := f.Close(); err != nil {
		return nil, dataErr(path, "", -1, errors.Join(ErrData, err), "close: %v", err)
	}
	return st, nil
}

// features returns the standardised [n, width] feature matrix
// x = W z + 0.5ε (W ~ N(0, 1/L)), with a fraction zero of the columns set
// to 0 and a fraction binary binarised (x > 0) before standardising.
func features(rng *rand.Rand, z []float64, n, L, width int, zero, binary float64) []float32 {
	W := make([]float64, width*L)
	sd := 1 / math.Sqrt(float64(L))
	for i := range W {
		W[i] = rng.NormFloat64() * sd
	}
	kind := make([]uint8, width) // 0 normal, 1 zero, 2 binary
	for j := range kind {
		switch r := rng.Float64(); {
		case r < zero:
			kind[j] = 1
		case r < zero+binary:
			kind[j] = 2
		}
	}
	x := make([]float64, n*width)
	for i := range n {
		zi := z[i*L : (i+1)*L]
		for j := range width {
			var a float64
			for k, zk := range zi {
				a += W[j*L+k] * zk
			}
			a += 0.5 * rng.NormFloat64()
			switch kind[j] {
			case 1:
				a = 0
			case 2:
				if a > 0 {
					a = 1
				} else {
					a = 0
				}
			}
			x[i*width+j] = a
		}
	}
	col := make([]float64, n)
	out := make([]float32, n*width)
	for j := range width {
		for i := range n {
			col[i] = x[i*width+j]
		}
		standardise(col)
		for i := range n {
			out[i*width+j] = float32(col[i])
		}
	}
	return out
}

// standardise rescales v to mean 0 and standard deviation 1 (a constant
// vector becomes 0).
func standardise(v []float64) {
	var m, s float64
	for _, x := range v {
		m += x
	}
	m /= float64(len(v))
	for _, x := range v {
		s += (x - m) * (x - m)
	}
	s = math.Sqrt(s / float64(len(v)))
	for i := range v {
		if s > 1e-12 {
			v[i] = (v[i] - m) / s
		} else {
			v[i] = 0
		}
	}
}

// distinctPairs draws n distinct values of [0, total) in random order.
func distinctPairs(rng *rand.Rand, total, n int) []int {
	all := make([]int, total)
	for i := range all {
		all[i] = i
	}
	for i := range n {
		j := i + rng.IntN(total-i)
		all[i], all[j] = all[j], all[i]
	}
	return all[:n]
}

// writer appends one split's frames.
type writer struct {
	f      *hdf5.File
	path   string
	o      GenOptions
	xc, xd []float32
}

func (w *writer) split(ctx context.Context, split string, pairs []int, auc []float32) error {
	o := w.o
	ck, dk, yk := Keys(split)
	opt := hdf5.TableOptions{Gzip: o.Gzip}
	fail := func(key string, err error) error {
		return dataErr(w.path, key, -1, errors.Join(ErrData, err), "write: %v", err)
	}
	idx := hdf5.Field{Name: "index", Type: hdf5.Int64}
	tc, err := w.f.CreateTable(ck, []hdf5.Field{idx, {Name: "values_block_0", Type: hdf5.Float32, Dims: []int{o.CellFeatures}}}, opt)
	if err != nil {
		return fail(ck, err)
	}
	td, err := w.f.CreateTable(dk, []hdf5.Field{idx, {Name: "values_block_0", Type: hdf5.Float32, Dims: []int{o.DrugFeatures}}}, opt)
	if err != nil {
		return fail(dk, err)
	}
	ty, err := w.f.CreateTable(yk, []hdf5.Field{idx, {Name: "values_block_0", Type: hdf5.Float32, Dims: []int{1}},
		{Name: "Sample", Type: hdf5.String, Size: 30}, {Name: "Drug1", Type: hdf5.String, Size: 10}}, opt)
	if err != nil {
		return fail(yk, err)
	}
	cr := min(o.ChunkRows, len(pairs))
	ix := make([]int64, cr)
	cb := make([]float32, cr*o.CellFeatures)
	db := make([]float32, cr*o.DrugFeatures)
	sn, dn := make([]string, cr), make([]string, cr)
	for lo := 0; lo < len(pairs); lo += cr {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(cr, len(pairs)-lo)
		for r := range n {
			c, d := pairs[lo+r]/o.Drugs, pairs[lo+r]%o.Drugs
			ix[r] = int64(r) // the index restarts with every appended chunk
			copy(cb[r*o.CellFeatures:(r+1)*o.CellFeatures], w.xc[c*o.CellFeatures:])
			copy(db[r*o.DrugFeatures:(r+1)*o.DrugFeatures], w.xd[d*o.DrugFeatures:])
			sn[r] = fmt.Sprintf("SYN.C%04d", c+1)
			dn[r] = fmt.Sprintf("SYN.D%04d", d+1)
		}
		if err := tc.Append(n, ix[:n], cb[:n*o.CellFeatures]); err != nil {
			return fail(ck, err)
		}
		if err := td.Append(n, ix[:n], db[:n*o.DrugFeatures]); err != nil {
			return fail(dk, err)
		}
		if err := ty.Append(n, ix[:n], auc[lo:lo+n], sn[:n], dn[:n]); err != nil {
			return fail(yk, err)
		}
	}
	for _, t := range []*hdf5.Table{tc, td, ty} {
		if err := t.Close(); err != nil {
			return fail(t.Path(), err)
		}
	}
	cols := func(k int) []any {
		c := make([]any, k)
		for i := range c {
			c[i] = i
		}
		return c
	}
	if err := w.frameMeta(ck, cols(o.CellFeatures), nil, nil); err != nil {
		return err
	}
	if err := w.frameMeta(dk, cols(o.DrugFeatures), nil, nil); err != nil {
		return err
	}
	return w.frameMeta(yk, []any{"AUC"}, []string{"Sample", "Drug1"}, map[string]int{"Sample": 30, "Drug1": 10})
}

// frameMeta writes the attributes pandas' HDFStore reads for a
// format="table" frame: values_block_0 holds the columns values, the data
// columns follow (string columns of the given sizes).
func (w *writer) frameMeta(key string, values []any, dataCols []string, sizes map[string]int) error {
	tbl := key + "/table"
	valuesCols := []any{"values_block_0"}
	info := [][2]any{{1, [][2]any{{"names", []any{nil}}, {"type", "Index"}}}, {"index", [][2]any{}}, {"values_block_0", [][2]any{}}}
	nonIndex := append([]any{}, values...)
	dc := make([]any, len(dataCols))
	for i, c := range dataCols {
		dc[i] = c
		valuesCols = append(valuesCols, c)
		nonIndex = append(nonIndex, c)
		info = append(info, [2]any{c, [][2]any{}})
	}
	attrs := [][3]string{
		// PyTables returns ASCII string attributes as bytes; pandas needs str
		// for these, so they are stored pickled (PyTables unpickles them).
		{key, "pandas_type", pickle("frame_table")}, {key, "pandas_version", pickle("0.15.2")},
		{key, "table_type", pickle("appendable_frame")}, {key, "encoding", pickle("UTF-8")},
		{key, "errors", pickle("strict")}, {key, "nan_rep", pickle("nan")},
		{key, "levels", pickle(1)},
		{key, "index_cols", pickle([]any{tuple{0, "index"}})},
		{key, "non_index_axes", pickle([]any{tuple{1, nonIndex}})},
		{key, "values_cols", pickle(valuesCols)},
		{key, "data_columns", pickle(dc)},
		{key, "info", pickle(info)},
		{tbl, "CLASS", "TABLE"}, {tbl, "VERSION", "2.7"}, {tbl, "index_kind", "integer"},
		{tbl, "values_block_0_dtype", "float32"}, {tbl, "values_block_0_kind", pickle(values)},
		{tbl, "values_block_0_meta", pickle(nil)},
	}
	for _, c := range dataCols {
		attrs = append(attrs, [3]string{tbl, c + "_dtype", "bytes" + strconv.Itoa(8*sizes[c])},
			[3]string{tbl, c + "_kind", pickle([]any{c})}, [3]string{tbl, c + "_meta", pickle(nil)})
	}
	for _, a := range attrs {
		if err := w.f.SetAttr(a[0], a[1], a[2]); err != nil {
			return dataErr(w.path, a[0], -1, errors.Join(ErrData, err), "write attribute %s: %v", a[1], err)
		}
	}
	return nil
}

// tuple is a Python tuple for pickle.
type tuple []any

// pickle encodes v with Python's pickle protocol 0 (what PyTables stores
// for non-string attributes): ints, ASCII strings, nil, lists ([]any),
// tuples and dicts as ordered [][2]any.
func pickle(v any) string {
	var b strings.Builder
	var enc func(v any)
	enc = func(v any) {
		switch x := v.(type) {
		case nil:
			b.WriteString("N")
		case int:
			fmt.Fprintf(&b, "I%d\n", x)
		case string:
			b.WriteString("V" + x + "\n")
		case []any:
			b.WriteString("(l")
			for _, e := range x {
				enc(e)
				b.WriteString("a")
			}
		case tuple:
			b.WriteString("(")
			for _, e := range x {
				enc(e)
			}
			b.WriteString("t")
		case [][2]any:
			b.WriteString("(d")
			for _, kv := range x {
				enc(kv[0])
				enc(kv[1])
				b.WriteString("s")
			}
		default: // unreachable: only the literals above are encoded
			b.WriteString("N")
		}
	}
	enc(v)
	b.WriteString(".")
	return b.String()
}
