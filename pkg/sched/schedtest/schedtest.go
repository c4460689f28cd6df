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
