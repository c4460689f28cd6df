package stemdl

// Counts are per-class classification counts kept as float64 so that ranks
// can all-reduce them: TP, FP and FN per class, then the sample count.
// The layout of Vec is [TP 0..K-1, FP 0..K-1, FN 0..K-1, N].
type Counts struct {
	K   int
	Vec []float64
}

// NewCounts returns zero counts for k classes.
func NewCounts(k int) *Counts { return &Counts{K: k, Vec: make([]float64, 3*k+1)} }

// CountsFrom wraps a summed vector (len 3k+1) without copying.
func CountsFrom(k int, v []float64) *Counts { return &Counts{K: k, Vec: v} }

// Add records one prediction. Labels outside [0, K) are ignored.
func (c *Counts) Add(truth, pred int) {
	k := c.K
	if truth < 0 || truth >= k || pred < 0 || pred >= k {
		return
	}
	if truth == pred {
		c.Vec[truth]++
	} else {
		c.Vec[k+pred]++
		c.Vec[2*k+truth]++
	}
	c.Vec[3*k]++
}

// N is the number of predictions recorded.
func (c *Counts) N() float64 { return c.Vec[3*c.K] }

// Top1 is the fraction of correct predictions (NaN-free: 0 when empty).
func (c *Counts) Top1() float64 {
	n := c.N()
	if n == 0 {
		return 0
	}
	var tp float64
	for _, v := range c.Vec[:c.K] {
		tp += v
	}
	return tp / n
}

// MacroF1 is the dataset-level macro F1 (BENCHMARKS.md §3.4, OURS): the
// mean over the classes present in y_true ∪ y_pred of
// F1_c = 2TP/(2TP+FP+FN) (= 2PR/(P+R), 0 when TP = 0). It also returns
// the number of classes averaged.
func (c *Counts) MacroF1() (f1 float64, classes int) {
	k := c.K
	var sum float64
	for i := 0; i < k; i++ {
		tp, fp, fn := c.Vec[i], c.Vec[k+i], c.Vec[2*k+i]
		if tp+fp+fn == 0 {
			continue
		}
		classes++
		sum += 2 * tp / (2*tp + fp + fn)
	}
	if classes == 0 {
		return 0, 0
	}
	return sum / float64(classes), classes
}

// Reset zeroes the counts.
func (c *Counts) Reset() { clear(c.Vec) }

// BatchMacroF1 is scikit-learn's f1_score(truth, pred, average="macro")
// of one batch (the ORNL per-batch figure): classes present in the batch's
// truth or predictions, zero_division 0. scratch (overwritten) must
// hold at least 3k+1 values; labels outside [0, k) are ignored.
func BatchMacroF1(truth, pred []int, k int, scratch []float64) float64 {
	c := Counts{K: k, Vec: scratch[:3*k+1]}
	c.Reset()
	for i, t := range truth {
		c.Add(t, pred[i])
	}
	f, _ := c.MacroF1()
	return f
}

// Argmax returns the index of the largest value of row (the first on ties).
func Argmax(row []float32) int {
	best := 0
	for i, v := range row {
		if v > row[best] {
			best = i
		}
	}
	return best
}
