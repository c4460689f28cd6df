package metrics

import (
	"fmt"
)

// Standard mllog keys used by the compliant sequence (BENCHMARKS.md §1.2).
const (
	KeySubmissionBenchmark = "submission_benchmark"
	KeySubmissionOrg       = "submission_org"
	KeySubmissionDivision  = "submission_division"
	KeySubmissionVersion   = "submission_version"
	KeySubmissionCommit    = "submission_github_commit_version"
	KeySubmissionStatus    = "submission_status"
	KeySubmissionPlatform  = "submission_platform"
	KeySubmissionPOCName   = "submission_poc_name"
	KeySubmissionPOCEmail  = "submission_poc_email"
	KeyCacheClear          = "cache_clear"
	KeyInitStart           = "init_start"
	KeyInitStop            = "init_stop"
	KeyNumberOfRanks       = "number_of_ranks"
	KeyNumberOfNodes       = "number_of_nodes"
	KeyAccelPerNode        = "accelerators_per_node"
	KeySeed                = "seed"
	KeyGlobalBatchSize     = "global_batch_size"
	KeyTrainSamples        = "train_samples"
	KeyEvalSamples         = "eval_samples"
	KeyOptName             = "opt_name"
	KeyOptBaseLR           = "opt_base_learning_rate"
	KeyRunStart            = "run_start"
	KeyRunStop             = "run_stop"
	KeyEpochStart          = "epoch_start"
	KeyEpochStop           = "epoch_stop"
	KeyEvalStart           = "eval_start"
	KeyEvalStop            = "eval_stop"
	KeyBlockStart          = "block_start"
	KeyBlockStop           = "block_stop"
	KeyResult              = "result"
)

// Run statuses for RunStop and Result.Status.
const (
	StatusSuccess = "success"
	StatusAborted = "aborted"
	StatusFailed  = "failed" // result.json only; mllog's run_stop says "aborted"
)

// referenceVersions maps a benchmark to the reference VERSION it follows.
var referenceVersions = map[string]string{
	"cloudmask":  "mlcommons-cloudmask-v1.1",
	"stemdl":     "mlcommons-stemdl-v1.0",
	"uno":        "mlcommons-uno-v1.0",
	"earthquake": "mlcommons-earthquake-v1.1",
}

// SubmissionVersion returns the submission_version value for bench: the
// reference VERSION plus ours, e.g. "mlcommons-uno-v1.0+scibench-0.3.0".
// An unknown bench yields "scibench-" + ours.
func SubmissionVersion(bench, ours string) string {
	if ref, ok := referenceVersions[bench]; ok {
		return ref + "+scibench-" + ours
	}
	return "scibench-" + ours
}

// Submission holds the submission_* records of a run.
type Submission struct {
	Benchmark string // cloudmask|stemdl|uno|earthquake
	Org       string
	Division  string // "closed" or "open"
	Version   string // see SubmissionVersion
	GitCommit string
	Status    string // availability category, e.g. "research" or "onprem"
	Platform  string
	POCName   string
	POCEmail  string
	// TrailingSuccess makes RunStop add the WG StopWatch tooling's
	// submission_status "success" record after run_stop.
	TrailingSuccess bool
}

// RunInit holds the values logged between init_start and init_stop.
type RunInit struct {
	Ranks               int // number_of_ranks, from the actual launch
	Nodes               int // number_of_nodes
	AcceleratorsPerNode int // 0 on CPU-only runs
	Seed                int64
	GlobalBatchSize     int
	TrainSamples        int
	EvalSamples         int
	OptName             string
	OptBaseLearningRate float64
}

// LogSubmission writes the submission records and cache_clear=true
// (§1.2 step 1).
func (m *MLLog) LogSubmission(s Submission) error {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	m.trailingSuccess = s.TrailingSuccess
	m.mu.Unlock()
	recs := []struct {
		k string
		v any
	}{
		{KeySubmissionBenchmark, s.Benchmark}, {KeySubmissionOrg, s.Org}, {KeySubmissionDivision, s.Division},
		{KeySubmissionVersion, s.Version}, {KeySubmissionCommit, s.GitCommit}, {KeySubmissionStatus, s.Status},
		{KeySubmissionPlatform, s.Platform}, {KeySubmissionPOCName, s.POCName}, {KeySubmissionPOCEmail, s.POCEmail},
		{KeyCacheClear, true},
	}
	for _, r := range recs {
		if err := m.log(2, PointInTime, r.k, r.v, nil); err != nil {
			return err
		}
	}
	return nil
}

// LogInit writes init_start, the launch and hyper-parameter records, and
// init_stop (§1.2 step 2).
func (m *MLLog) LogInit(in RunInit) error {
	if m == nil {
		return nil
	}
	if err := m.log(2, IntervalStart, KeyInitStart, nil, nil); err != nil {
		return err
	}
	recs := []struct {
		k string
		v any
	}{
		{KeyNumberOfRanks, in.Ranks}, {KeyNumberOfNodes, in.Nodes}, {KeyAccelPerNode, in.AcceleratorsPerNode},
		{KeySeed, in.Seed}, {KeyGlobalBatchSize, in.GlobalBatchSize}, {KeyTrainSamples, in.TrainSamples},
		{KeyEvalSamples, in.EvalSamples}, {KeyOptName, in.OptName}, {KeyOptBaseLR, in.OptBaseLearningRate},
	}
	for _, r := range recs {
		if err := m.log(2, PointInTime, r.k, r.v, nil); err != nil {
			return err
		}
	}
	return m.log(2, IntervalEnd, KeyInitStop, nil, nil)
}

// RunStart writes run_start.
func (m *MLLog) RunStart() error { return m.log(2, IntervalStart, KeyRunStart, nil, nil) }

// BlockStart writes block_start with {"phase": phase} for a non-epoch phase.
func (m *MLLog) BlockStart(phase string) error {
	return m.log(2, IntervalStart, KeyBlockStart, nil, Meta{"phase": phase})
}

// BlockStop writes block_stop with {"phase": phase}.
func (m *MLLog) BlockStop(phase string) error {
	return m.log(2, IntervalEnd, KeyBlockStop, nil, Meta{"phase": phase})
}

// EpochStart writes epoch_start for epoch e (1-based).
func (m *MLLog) EpochStart(e int) error {
	return m.log(2, IntervalStart, KeyEpochStart, nil, Meta{"epoch_num": e})
}

// EpochStop writes epoch_stop for epoch e.
func (m *MLLog) EpochStop(e int) error {
	return m.log(2, IntervalEnd, KeyEpochStop, nil, Meta{"epoch_num": e})
}

// EvalStart writes eval_start for epoch e.
func (m *MLLog) EvalStart(e int) error {
	return m.log(2, IntervalStart, KeyEvalStart, nil, Meta{"epoch_num": e})
}

// EvalMetric writes one metric event (eval_accuracy, eval_loss, f1_score,
// eval_mae, nnse, ...) for epoch e.
func (m *MLLog) EvalMetric(e int, key string, value any) error {
	return m.log(2, PointInTime, key, value, Meta{"epoch_num": e})
}

// EvalStop writes eval_stop for epoch e.
func (m *MLLog) EvalStop(e int) error {
	return m.log(2, IntervalEnd, KeyEvalStop, nil, Meta{"epoch_num": e})
}

// LogResult writes the result record; v must encode as a JSON object
// (a map or a struct such as ResultSummary).
func (m *MLLog) LogResult(v any) error { return m.log(2, PointInTime, KeyResult, v, nil) }

// RunStop writes run_stop with {"status": status}, status being
// StatusSuccess or StatusAborted, then the trailing submission_status
// "success" record when the Submission asked for it and the run succeeded.
func (m *MLLog) RunStop(status string) error {
	if m == nil {
		return nil
	}
	if status != StatusSuccess && status != StatusAborted {
		return fmt.Errorf("%w: run_stop status %q, want %q or %q", ErrMLLog, status, StatusSuccess, StatusAborted)
	}
	if err := m.log(2, IntervalEnd, KeyRunStop, nil, Meta{"status": status}); err != nil {
		return err
	}
	m.mu.Lock()
	trailing := m.trailingSuccess
	m.mu.Unlock()
	if trailing && status == StatusSuccess {
		return m.log(2, PointInTime, KeySubmissionStatus, StatusSuccess, nil)
	}
	return nil
}

// ResultSummary is the §1.2 result dict: name, final metrics, §1.4
// timings and the per-epoch history. Result.Summary builds one.
type ResultSummary struct {
	Name              string         `json:"name"`
	Status            string         `json:"status"`
	Metrics           map[string]Num `json:"metrics"`
	TimeToSolutionS   Num            `json:"time_to_solution_s"`
	SamplesPerS       Num            `json:"samples_per_s"`
	SamplesPerSMedian Num            `json:"samples_per_s_median"`
	Epochs            []EpochResult  `json:"epochs"`
}
