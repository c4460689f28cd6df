package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scibench/scibench/pkg/bench"
	"github.com/scibench/scibench/pkg/sched"
	"github.com/scibench/scibench/slurm"
)

const submitProfiles = "../../configs/clusters"

func runSubmit(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"submit"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

// withBackend replaces newBackend for one test.
func withBackend(t *testing.T, b sched.Backend) {
	old := newBackend
	newBackend = func(*sched.Profile) (sched.Backend, error) { return b, nil }
	t.Cleanup(func() { newBackend = old })
}

func TestSubmitDryRun(t *testing.T) {
	sweep := filepath.Join(t.TempDir(), "sweep")
	code, out, errs := runSubmit(t, "earthquake", "--cluster", "generic-slurm-ci", "--profiles", submitProfiles,
		"--config", "../../configs/earthquake-smoke.yaml", "--scale", "1,2,4", "--scaling", "weak", "--dry-run", "--out", sweep, "--binary", "/opt/sb")
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, out, errs)
	}
	var m sweepManifest
	data, err := os.ReadFile(filepath.Join(sweep, "sweep.json"))
	if err != nil || json.Unmarshal(data, &m) != nil {
		t.Fatalf("sweep.json: %v %s", err, data)
	}
	if len(m.Jobs) != 3 || m.Scaling != "weak" || m.BatchScope != "per_rank" || !m.DryRun || m.Jobs[2].Points[0].Nodes != 2 {
		t.Fatalf("%+v", m)
	}
	script, err := os.ReadFile(m.Jobs[2].Script)
	if err != nil || !strings.Contains(string(script), "srun --nodes=2 --ntasks=4") || !strings.Contains(string(script), "/opt/sb run earthquake") {
		t.Fatalf("%v\n%s", err, script)
	}
	for _, j := range m.Jobs {
		if st, err := os.Stat(j.Points[0].RunDir); err != nil || !st.IsDir() {
			t.Errorf("run dir %s: %v", j.Points[0].RunDir, err)
		}
	}
	// the resolved config loads again, with the scaling mode recorded
	cfg, err := bench.Benchmarks["earthquake"].LoadConfig(filepath.Join(sweep, "config.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c := bench.Benchmarks["earthquake"].Common(cfg); c.BatchScope != "per_rank" || c.Epochs != 2 {
		t.Fatalf("%+v", c)
	}
}

func TestSubmitBadInput(t *testing.T) {
	dir := t.TempDir()
	badProfile := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(badProfile, []byte("name: bad\nscheduler: slurm\nmax_nodes: 1\ngpus_per_node: 2\ncores_per_node: 8\ngpu_per_node: 4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	smoke := "../../configs/earthquake-smoke.yaml"
	for _, c := range []struct {
		name string
		args []string
		want []string
	}{
		{"no cluster", []string{"earthquake"}, []string{"--cluster is required", "summit"}},
		{"unknown profile", []string{"earthquake", "--cluster", "no-such-site"}, []string{"no such cluster profile", "no-such-site", "generic-slurm"}},
		{"unknown key", []string{"earthquake", "--cluster", badProfile}, []string{"bad.yaml:6", "gpu_per_node"}},
		{"scale too large", []string{"earthquake", "--cluster", "generic-slurm-ci", "--scale", "1,8"}, []string{"--scale 8 needs 4 nodes", "max_nodes 2"}},
		{"too many gpus", []string{"earthquake", "--cluster", "summit", "--gpus-per-node", "8"}, []string{"--gpus-per-node 8", "gpus_per_node 6"}},
		{"bad scale", []string{"earthquake", "--cluster", "summit", "--scale", "1,two"}, []string{"--scale"}},
		{"bad scaling", []string{"earthquake", "--cluster", "summit", "--scaling", "sideways"}, []string{"--scaling"}},
		{"unknown bench", []string{"nobench", "--cluster", "summit"}, []string{"unknown benchmark", "earthquake"}},
		{"bad config key", []string{"earthquake", "--cluster", "summit", "--set", "epoch=3"}, []string{"epoch"}},
		{"render only", []string{"earthquake", "--cluster", "thetagpu"}, []string{"render-only", "--dry-run"}},
		{"bad walltime", []string{"earthquake", "--cluster", "summit", "--walltime", "1:99"}, []string{"--walltime"}},
		{"unsafe queue", []string{"earthquake", "--cluster", "summit", "--queue", "a b", "--dry-run"}, []string{"queue", "unsafe"}},
	} {
		args := append(append([]string(nil), c.args...), "--profiles", submitProfiles, "--config", smoke, "--out", filepath.Join(dir, "out-"+strings.ReplaceAll(c.name, " ", "-")))
		code, out, errs := runSubmit(t, args...)
		if code != exitUsage {
			t.Errorf("%s: exit %d, want 2\n%s%s", c.name, code, out, errs)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(errs, w) {
				t.Errorf("%s: message %q does not contain %q", c.name, errs, w)
			}
		}
	}
}

func TestSubmitUnreachable(t *testing.T) {
	withBackend(t, slurm.New(slurm.Config{Sbatch: filepath.Join(t.TempDir(), "sbatch")}))
	code, out, errs := runSubmit(t, "earthquake", "--cluster", "generic-slurm-ci", "--profiles", submitProfiles,
		"--config", "../../configs/earthquake-smoke.yaml", "--out", filepath.Join(t.TempDir(), "s"))
	if code != exitUsage || !strings.Contains(errs, "unreachable") || !strings.Contains(errs, "sbatch") {
		t.Fatalf("exit %d:\n%s%s", code, out, errs)
	}
}

// resultWriter is a fake scheduler whose jobs "run" at submission: it
// writes each run directory's result.json from results (by run dir name).
type resultWriter struct {
	*sched.Fake
	sweep   string
	results map[string]string
}

func (r *resultWriter) Submit(ctx context.Context, path string) (string, error) {
	for dir, content := range r.results {
		if strings.Contains(filepath.Base(path), "-w"+strings.TrimLeft(strings.TrimPrefix(dir, "w"), "0")+".") {
			if err := os.WriteFile(filepath.Join(r.sweep, dir, "result.json"), []byte(content), 0o644); err != nil {
				return "", err
			}
		}
	}
	return r.Fake.Submit(ctx, path)
}

func TestSubmitWaitReportsResults(t *testing.T) {
	sweep := filepath.Join(t.TempDir(), "sweep")
	withBackend(t, &resultWriter{Fake: &sched.Fake{}, sweep: sweep, results: map[string]string{
		"w001": `{"status":"success","world_size":1}`,
		"w002": `{"status":"success","wor`, // truncated
	}})
	code, out, errs := runSubmit(t, "earthquake", "--cluster", "generic-slurm-ci", "--profiles", submitProfiles,
		"--config", "../../configs/earthquake-smoke.yaml", "--scale", "1,2", "--wait", "--timeout", "10s", "--poll", "1ms", "--out", sweep)
	if code != exitFailed {
		t.Fatalf("exit %d:\n%s%s", code, out, errs)
	}
	lines := strings.Split(out, "\n")
	var w1, w2 string
	for _, l := range lines {
		if strings.HasSuffix(l, "/w001") {
			w1 = l
		}
		if strings.HasSuffix(l, "/w002") {
			w2 = l
		}
	}
	if !strings.Contains(w1, "COMPLETED") || !strings.Contains(w1, "success") || !strings.Contains(w2, "truncated") {
		t.Fatalf("table:\n%s", out)
	}
	data, _ := os.ReadFile(filepath.Join(sweep, "sweep.json"))
	var m sweepManifest
	if err := json.Unmarshal(data, &m); err != nil || m.Jobs[0].JobID != "1" || m.Jobs[1].State != sched.StateCompleted {
		t.Fatalf("%v %+v", err, m)
	}
	// a sweep directory with submitted jobs is not reused
	code, _, errs = runSubmit(t, "earthquake", "--cluster", "generic-slurm-ci", "--profiles", submitProfiles,
		"--config", "../../configs/earthquake-smoke.yaml", "--out", sweep)
	if code != exitUsage || !strings.Contains(errs, "already holds submitted jobs") {
		t.Fatalf("reuse: exit %d: %s", code, errs)
	}
}

func TestSubmitWaitTimeoutCancels(t *testing.T) {
	f := &sched.Fake{States: map[string]sched.State{"1": sched.StateRunning}}
	withBackend(t, f)
	code, out, errs := runSubmit(t, "earthquake", "--cluster", "generic-slurm-ci", "--profiles", submitProfiles,
		"--config", "../../configs/earthquake-smoke.yaml", "--wait", "--timeout", "50ms", "--poll", "5ms", "--out", filepath.Join(t.TempDir(), "s"))
	if code != exitFailed || !strings.Contains(errs, "timed out") || len(f.Cancelled) != 1 || f.Cancelled[0] != "1" {
		t.Fatalf("exit %d cancelled %v:\n%s%s", code, f.Cancelled, out, errs)
	}
}
