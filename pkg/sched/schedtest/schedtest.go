// Package schedtest checks what a scaling sweep left behind: the run
// directories, their result.json and the per-rank "scibench-task" lines
// that rendered job scripts print (see sched.TaskRecord). The Slurm and LSF
// integration tests share it.
//
// # Usage
//
//	err := schedtest.CheckSweep(sweepDir, []schedtest.Point{{Workers: 4, Nodes: 2, GPUsPerTask: 1}})
package schedtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/scibench/scibench/pkg/sched"
)

// ErrCheck is wrapped by every failed check.
var ErrCheck = errors.New("schedtest: check failed")

// Point is what one sweep point must show.
type Point struct {
	Workers int
	Nodes   int
	// GPUsPerTask: each rank must see exactly this many GPUs, and ranks on
	// one host must see distinct ones (0: not checked).
	GPUsPerTask int
	// Hosts, when set, are the only host names allowed.
	Hosts []string
}

// Task is one parsed "scibench-task rank=R host=H cvd=C" line.
type Task struct {
	Rank int
	Host string
	CVD  string
}

// ParseTasks returns the task lines of output.
func ParseTasks(output []byte) ([]Task, error) {
	var tasks []Task
	sc := bufio.NewScanner(bytes.NewReader(output))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "scibench-task ") {
			continue
		}
		var t Task
		kv := map[string]string{}
		for _, f := range strings.Fields(line)[1:] {
			k, v, _ := strings.Cut(f, "=")
			kv[k] = v
		}
		r, err := strconv.Atoi(kv["rank"])
		if err != nil {
			return nil, fmt.Errorf("%w: bad task line %q", ErrCheck, line)
		}
		t.Rank, t.Host, t.CVD = r, kv["host"], kv["cvd"]
		tasks = append(tasks, t)
	}
	return tasks, sc.Err()
}

// CheckSweep checks every point's run directory sweepDir/wNNN: result.json
// is a success with the right world_size and nodes, and output.log has one
// task line per rank with the right host count and GPUs.
func CheckSweep(sweepDir string, points []Point) error {
	var errs []error
	for _, p := range points {
		if err := checkPoint(filepath.Join(sweepDir, sched.RunDirName(p.Workers)), p); err != nil {
			errs = append(errs, fmt.Errorf("%d workers: %w", p.Workers, err))
		}
	}
	return errors.Join(errs...)
}

func checkPoint(dir string, p Point) error {
	data, err := os.ReadFile(filepath.Join(dir, "result.json"))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCheck, err)
	}
	var r struct {
		Status    string `json:"status"`
		WorldSize int    `json:"world_size"`
		Nodes     int    `json:"nodes"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return fmt.Errorf("%w: %s/result.json: %w", ErrCheck, dir, err)
	}
	if r.Status != "success" || r.WorldSize != p.Workers || r.Nodes != p.Nodes {
		return fmt.Errorf("%w: %s/result.json: status %q world_size %d nodes %d, want success %d %d",
			ErrCheck, dir, r.Status, r.WorldSize, r.Nodes, p.Workers, p.Nodes)
	}
	out, err := os.ReadFile(filepath.Join(dir, "output.log"))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCheck, err)
	}
	tasks, err := ParseTasks(out)
	if err != nil {
		return err
	}
	return CheckTasks(tasks, p)
}

// CheckTasks checks the task lines of one point.
func CheckTasks(tasks []Task, p Point) error {
	if len(tasks) != p.Workers {
		return fmt.Errorf("%w: %d task lines, want %d", ErrCheck, len(tasks), p.Workers)
	}
	seen := map[int]bool{}
	hosts := map[string][]string{} // host -> GPUs seen there
	for _, t := range tasks {
		if t.Rank < 0 || t.Rank >= p.Workers || seen[t.Rank] {
			return fmt.Errorf("%w: rank %d repeated or outside [0,%d)", ErrCheck, t.Rank, p.Workers)
		}
		seen[t.Rank] = true
		if t.Host == "" {
			return fmt.Errorf("%w: rank %d: no host", ErrCheck, t.Rank)
		}
		if len(p.Hosts) > 0 && !contains(p.Hosts, t.Host) {
			return fmt.Errorf("%w: rank %d ran on %q, not one of %v", ErrCheck, t.Rank, t.Host, p.Hosts)
		}
		if p.GPUsPerTask > 0 {
			gpus := strings.Split(t.CVD, ",")
			if t.CVD == "" || t.CVD == "unset" || len(gpus) != p.GPUsPerTask {
				return fmt.Errorf("%w: rank %d on %s: CUDA_VISIBLE_DEVICES=%q, want %d GPU(s)", ErrCheck, t.Rank, t.Host, t.CVD, p.GPUsPerTask)
			}
			for _, g := range gpus {
				if _, err := strconv.Atoi(g); err != nil {
					return fmt.Errorf("%w: rank %d: CUDA_VISIBLE_DEVICES=%q is not a list of indices", ErrCheck, t.Rank, t.CVD)
				}
				if contains(hosts[t.Host], g) {
					return fmt.Errorf("%w: rank %d on %s: GPU %s already used by another rank there", ErrCheck, t.Rank, t.Host, g)
				}
				hosts[t.Host] = append(hosts[t.Host], g)
			}
		} else if _, ok := hosts[t.Host]; !ok {
			hosts[t.Host] = nil
		}
	}
	if len(hosts) != p.Nodes {
		names := make([]string, 0, len(hosts))
		for h := range hosts {
			names = append(names, h)
		}
		sort.Strings(names)
		return fmt.Errorf("%w: ranks ran on %d host(s) %v, want %d", ErrCheck, len(hosts), names, p.Nodes)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Fixed paths of golden job scripts.
const (
	GoldenSweepDir = "/scratch/user/sweeps/earthquake-1"
	GoldenWorkDir  = "/home/user/scibench"
	GoldenBinary   = "/opt/scibench/bin/scibench"
)

// GoldenSpecs returns the job specs of a sweep of the named profile in
// profilesDir with fixed directories, for golden-file tests.
func GoldenSpecs(profilesDir, profile string, scale []int, oneAllocation bool) ([]sched.JobSpec, error) {
	p, err := sched.LoadProfile(profilesDir, profile)
	if err != nil {
		return nil, err
	}
	pts, err := p.Plan(sched.Request{Scale: scale})
	if err != nil {
		return nil, err
	}
	cmd := func(pt sched.Point, dir string) []string {
		return []string{GoldenBinary, "run", "earthquake", "--config", GoldenSweepDir + "/config.yaml", "--out", dir}
	}
	return p.Jobs(pts, sched.JobOptions{Bench: "earthquake", SweepDir: GoldenSweepDir, WorkDir: GoldenWorkDir,
		OneAllocation: oneAllocation, Command: cmd, Version: "v0.0.0-golden"})
}

// Golden compares got with the file at path, or writes it when update is
// set. It returns a description of the first difference, or "".
func Golden(path string, got []byte, update bool) (string, error) {
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return "", err
		}
		return "", os.WriteFile(path, got, 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%w (regenerate with -update)", err)
	}
	if bytes.Equal(want, got) {
		return "", nil
	}
	wl, gl := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("%s:%d:\n  want %q\n  got  %q\n(regenerate with -update and review the diff)", path, i+1, w, g), nil
		}
	}
	return path + ": differs", nil
}

// Hostile prepares, under dir, a job whose module names, environment value,
// launcher arguments, run directory and worker command are hostile strings:
// a fake launcher named launcher (and a fake `module`) in dir/bin that
// records its argv and runs the rest of its command line from /bin/sh on,
// and a worker at a hostile path that records its argv and $EVIL. The
// caller renders spec, runs the script with bash and PATH=Path (nothing
// else), then calls check, which reports any value that did not arrive
// intact or any command substitution that ran.
func Hostile(dir, launcher string) (spec sched.JobSpec, path string, check func() error, err error) {
	bin := filepath.Join(dir, "bin")
	pwned := filepath.Join(dir, "pwned")
	evil := []string{"it's", "$(touch " + pwned + ")", "`touch " + pwned + "`", "a b\tc", "x;touch " + pwned, `\"'`, "-n", "${HOME}", "\n#SBATCH --x\ntouch " + pwned}
	wdir := filepath.Join(dir, "it's $(x) dir")
	worker := filepath.Join(wdir, "worker;`x`")
	argvOut := filepath.Join(dir, "argv")
	files := map[string]string{
		worker: "#!/bin/bash\nprintf '%s\\0' \"$@\" > " + sched.Quote(argvOut) + "\nprintf '%s' \"$EVIL\" > " + sched.Quote(argvOut+".env") + "\n",
		filepath.Join(bin, launcher): "#!/bin/bash\nprintf '%s\\0' \"$@\" > " + sched.Quote(filepath.Join(dir, "launcher-argv")) +
			"\nwhile [ $# -gt 0 ] && [ \"$1\" != /bin/sh ]; do shift; done\nexport SLURM_PROCID=0 CUDA_VISIBLE_DEVICES=0\nexec \"$@\"\n",
		filepath.Join(bin, "module"): "#!/bin/bash\nprintf '%s\\0' \"$@\" >> " + sched.Quote(filepath.Join(dir, "modules")) + "\n",
	}
	for p, content := range files {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return spec, "", nil, err
		}
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			return spec, "", nil, err
		}
	}
	runDir := filepath.Join(dir, "run 'dir' $(touch "+pwned+")")
	spec = sched.JobSpec{
		Name: "hostile", Nodes: 1, TasksPerNode: 1, GPUsPerNode: 1, CPUsPerTask: 1, Walltime: 60e9,
		Modules: evil[:3], Env: []sched.EnvVar{{Name: "EVIL", Value: strings.Join(evil, "|")}},
		Launcher: launcher, LauncherArgs: evil[:2], WorkDir: dir, OutputDir: dir,
		Steps: []sched.Step{{Workers: 1, Nodes: 1, TasksPerNode: 1, CPUsPerTask: 1, RunDir: runDir,
			Command: append([]string{worker}, evil[:len(evil)-1]...)}},
	}
	split := func(p string) ([]string, error) {
		b, err := os.ReadFile(p)
		return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00"), err
	}
	check = func() error {
		if _, err := os.Stat(pwned); err == nil {
			return fmt.Errorf("%w: a hostile value was executed", ErrCheck)
		}
		got, err := split(argvOut)
		if want := evil[:len(evil)-1]; err != nil || strings.Join(got, "\x01") != strings.Join(want, "\x01") {
			return fmt.Errorf("%w: worker argv %q (%v), want %q", ErrCheck, got, err, want)
		}
		mods, err := split(filepath.Join(dir, "modules"))
		if err != nil || len(mods) != 6 || mods[1] != evil[0] || mods[3] != evil[1] || mods[5] != evil[2] {
			return fmt.Errorf("%w: module arguments %q (%v)", ErrCheck, mods, err)
		}
		if b, err := os.ReadFile(argvOut + ".env"); err != nil || string(b) != strings.Join(evil, "|") {
			return fmt.Errorf("%w: EVIL=%q (%v)", ErrCheck, b, err)
		}
		largs, err := split(filepath.Join(dir, "launcher-argv"))
		if err != nil || !contains(largs, evil[0]) || !contains(largs, evil[1]) {
			return fmt.Errorf("%w: launcher argv %q (%v)", ErrCheck, largs, err)
		}
		if b, err := os.ReadFile(filepath.Join(runDir, "output.log")); err != nil || !strings.Contains(string(b), "scibench-task rank=0") {
			return fmt.Errorf("%w: output.log %q (%v)", ErrCheck, b, err)
		}
		return nil
	}
	return spec, bin + ":/usr/bin:/bin", check, nil
}
