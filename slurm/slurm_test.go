package slurm

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scibench/scibench/pkg/sched"
	"github.com/scibench/scibench/pkg/sched/schedtest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func TestGolden(t *testing.T) {
	for _, c := range []struct {
		profile string
		scale   []int
		one     bool
		golden  string
	}{
		{"generic-slurm-ci", []int{1, 2, 4}, false, "ci-sweep"},
		{"generic-slurm-ci", []int{1, 2, 4}, true, "ci-one-allocation"},
		{"pearl", []int{16, 32}, false, "pearl"},
	} {
		specs, err := schedtest.GoldenSpecs("../configs/clusters", c.profile, c.scale, c.one)
		if err != nil {
			t.Fatal(err)
		}
		var all []byte
		for _, s := range specs {
			b, err := New(Config{}).Render(s)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, fmt.Sprintf("=== %s.sbatch\n", s.Name)...)
			all = append(all, b...)
		}
		diff, err := schedtest.Golden(filepath.Join("testdata", c.golden+".golden"), all, *update)
		if err != nil {
			t.Fatal(err)
		}
		if diff != "" {
			t.Error(diff)
		}
	}
}

// TestHostileValues renders a script whose module names, environment
// values, launcher arguments, run directory and worker command are hostile
// strings, runs it with bash against a fake srun and module, and checks
// that every value arrives intact and nothing was executed.
func TestHostileValues(t *testing.T) {
	runHostile(t, "srun", func(s sched.JobSpec) ([]byte, error) { return New(Config{}).Render(s) })
}

func runHostile(t *testing.T, launcher string, render func(sched.JobSpec) ([]byte, error)) {
	t.Helper()
	dir := t.TempDir()
	spec, path, check, err := schedtest.Hostile(dir, launcher)
	if err != nil {
		t.Fatal(err)
	}
	script, err := render(spec)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "job.sh")
	if err := os.WriteFile(file, script, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", file)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + path, "HOME=/nonexistent"}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("script: %v\n%s\n%s", err, out, script)
	}
	if err := check(); err != nil {
		t.Fatalf("%v\n%s", err, script)
	}
}

func TestRenderRejects(t *testing.T) {
	specs, err := schedtest.GoldenSpecs("../configs/clusters", "generic-slurm-ci", []int{2}, false)
	if err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*sched.JobSpec){
		"name":      func(s *sched.JobSpec) { s.Name = "x\n#SBATCH --wrap=id" },
		"queue":     func(s *sched.JobSpec) { s.Queue = "a b" },
		"account":   func(s *sched.JobSpec) { s.Account = "$(id)" },
		"workdir":   func(s *sched.JobSpec) { s.WorkDir = "/a b" },
		"outdir":    func(s *sched.JobSpec) { s.OutputDir = "relative" },
		"launcher":  func(s *sched.JobSpec) { s.Launcher = "jsrun" },
		"rundir":    func(s *sched.JobSpec) { s.Steps[0].RunDir = "/x\ny" },
		"directive": func(s *sched.JobSpec) { s.Directives = []string{"--a\n--b"} },
	} {
		s := specs[0]
		s.Steps = append([]sched.Step(nil), s.Steps...)
		mut(&s)
		if _, err := New(Config{}).Render(s); !errors.Is(err, sched.ErrUnsafe) && !errors.Is(err, sched.ErrRequest) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// fakeRun answers commands from a table: "name args" -> output or error.
func fakeRun(answers map[string]string, errs map[string]error) Runner {
	return func(ctx context.Context, name string, args ...string) ([]byte, error) {
		key := strings.TrimSpace(filepath.Base(name) + " " + strings.Join(args, " "))
		if err, ok := errs[key]; ok {
			return nil, err
		}
		if out, ok := answers[key]; ok {
			return []byte(out), nil
		}
		return nil, fmt.Errorf("exit status 1: unexpected command %q", key)
	}
}

func TestSubmitStatus(t *testing.T) {
	ctx := context.Background()
	b := New(Config{Run: fakeRun(map[string]string{
		"sbatch --parsable /j.sbatch":   "sbatch: warning: something\n42;cluster\n",
		"squeue -h -j 42 -o %T":         "RUNNING\n",
		"squeue -h -j 43 -o %T":         "",
		"sacct -c -n -P -j 43 -o State": "COMPLETED\n",
		"squeue -h -j 44 -o %T":         "",
		"sacct -n -P -X -j 44 -o State": "CANCELLED by 0\n",
		"squeue -h -j 45 -o %T":         "",
		"scancel 42":                    "",
	}, map[string]error{"sbatch --parsable /bad.sbatch": errors.New("exit status 1: sbatch: error: Requested node configuration is not available")})})
	id, err := b.Submit(ctx, "/j.sbatch")
	if err != nil || id != "42" {
		t.Fatal(id, err)
	}
	if _, err := b.Submit(ctx, "/bad.sbatch"); !errors.Is(err, sched.ErrRejected) || !strings.Contains(err.Error(), "node configuration") {
		t.Fatal(err)
	}
	for id, want := range map[string]sched.State{"42": sched.StateRunning, "43": sched.StateCompleted, "44": sched.StateCancelled, "45": sched.StateEnded} {
		if got, err := b.Status(ctx, id); got != want {
			t.Errorf("job %s: %s %v, want %s", id, got, err, want)
		}
	}
	if err := b.Cancel(ctx, "42"); err != nil {
		t.Fatal(err)
	}
}

func TestUnreachable(t *testing.T) {
	b := New(Config{Sbatch: filepath.Join(t.TempDir(), "no-sbatch"), Squeue: "scibench-no-such-squeue"})
	ctx := context.Background()
	if _, err := b.Submit(ctx, "/x"); !errors.Is(err, sched.ErrUnreachable) || !strings.Contains(err.Error(), "no-sbatch") {
		t.Fatalf("submit: %v", err)
	}
	if _, err := b.Status(ctx, "1"); !errors.Is(err, sched.ErrUnreachable) {
		t.Fatalf("status: %v", err)
	}
}

func TestParse(t *testing.T) {
	for in, ok := range map[string]bool{"12\n": true, "12;c": true, "12_3": true, "": false, "Submitted batch job 12": false} {
		if _, err := ParseJobID([]byte(in)); (err == nil) != ok {
			t.Errorf("%q: %v", in, err)
		}
	}
	for in, want := range map[string]sched.State{"PD": sched.StatePending, "COMPLETING": sched.StateRunning, "OUT_OF_MEMORY": sched.StateFailed,
		"TIMEOUT": sched.StateTimeout, "CANCELLED+": sched.StateCancelled, "weird": sched.StateUnknown} {
		if got := ParseState(in); got != want {
			t.Errorf("%q: %s", in, got)
		}
	}
}
