package lsf

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
		golden  string
	}{
		{"summit", []int{1, 6, 12}, "summit"},
		{"generic-lsf-ci", []int{1, 2, 4}, "ci-emulation"},
	} {
		specs, err := schedtest.GoldenSpecs("../configs/clusters", c.profile, c.scale, false)
		if err != nil {
			t.Fatal(err)
		}
		var all []byte
		for _, s := range specs {
			b, err := New(Config{}).Render(s)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, fmt.Sprintf("=== %s.lsf\n", s.Name)...)
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

// TestSummitShape checks the Summit launch lines against the site's
// documented form: one resource set per GPU, 7 cores each, 6 per host.
func TestSummitShape(t *testing.T) {
	specs, err := schedtest.GoldenSpecs("../configs/clusters", "summit", []int{12}, false)
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(Config{}).Render(specs[0])
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{"#BSUB -nnodes 2\n", "#BSUB -W 02:00\n", "#BSUB -P ABC123\n", `#BSUB -alloc_flags "gpumps smt4"`,
		"jsrun --nrs 12 --rs_per_host 6 --tasks_per_rs 1 --cpu_per_rs 7 --gpu_per_rs 1 --bind packed:7", "module load gcc\n"} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %q in\n%s", want, s)
		}
	}
}

// TestHostileValues runs a rendered script with hostile values against a
// fake jsrun and checks every value arrives intact (see schedtest.Hostile).
func TestHostileValues(t *testing.T) {
	dir := t.TempDir()
	spec, path, check, err := schedtest.Hostile(dir, "jsrun")
	if err != nil {
		t.Fatal(err)
	}
	script, err := New(Config{}).Render(spec)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "job.lsf")
	if err := os.WriteFile(file, script, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", file)
	cmd.Env = []string{"PATH=" + path, "HOME=/nonexistent"}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("script: %v\n%s\n%s", err, out, script)
	}
	if err := check(); err != nil {
		t.Fatalf("%v\n%s", err, script)
	}
}

func TestSubmitStatus(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "j.lsf")
	if err := os.WriteFile(script, []byte("#BSUB -J x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var gotStdin string
	run := func(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
		key := strings.TrimSpace(name + " " + strings.Join(args, " "))
		switch key {
		case "bsub":
			gotStdin = string(stdin)
			return []byte("Job <977> is submitted to queue <batch>.\n"), nil
		case "bjobs -noheader -o stat 977":
			return []byte("RUN\n"), nil
		case "bjobs -noheader -o stat 978":
			return []byte("DONE\n"), nil
		case "bjobs -noheader -o stat 979":
			return nil, errors.New("exit status 255: Job <979> is not found")
		case "bkill 977":
			return []byte("Job <977> is being terminated\n"), nil
		}
		return nil, fmt.Errorf("exit status 1: unexpected %q", key)
	}
	b := New(Config{Run: run})
	ctx := context.Background()
	id, err := b.Submit(ctx, script)
	if err != nil || id != "977" || gotStdin != "#BSUB -J x\n" {
		t.Fatalf("%q %v stdin %q", id, err, gotStdin)
	}
	for id, want := range map[string]sched.State{"977": sched.StateRunning, "978": sched.StateCompleted, "979": sched.StateEnded} {
		if got, err := b.Status(ctx, id); got != want {
			t.Errorf("%s: %s %v", id, got, err)
		}
	}
	if err := b.Cancel(ctx, "977"); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseJobID([]byte("bsub: nothing")); !errors.Is(err, sched.ErrScheduler) {
		t.Fatal(err)
	}
	if ParseState("EXIT") != sched.StateFailed || ParseState("PEND") != sched.StatePending || ParseState("?") != sched.StateUnknown {
		t.Fatal("ParseState")
	}
}

func TestUnreachable(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "j.lsf")
	if err := os.WriteFile(script, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	b := New(Config{Bsub: filepath.Join(dir, "no-bsub"), Bjobs: "scibench-no-such-bjobs"})
	if _, err := b.Submit(context.Background(), script); !errors.Is(err, sched.ErrUnreachable) || !strings.Contains(err.Error(), "no-bsub") {
		t.Fatal(err)
	}
	if _, err := b.Status(context.Background(), "1"); !errors.Is(err, sched.ErrUnreachable) {
		t.Fatal(err)
	}
	if _, err := b.Render(sched.JobSpec{Launcher: "srun"}); !errors.Is(err, sched.ErrRequest) {
		t.Fatal(err)
	}
}
