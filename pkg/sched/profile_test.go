package sched

import (
	"errors"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/scibench/scibench/pkg/config"
)

const clustersDir = "../../configs/clusters"

func TestShippedProfiles(t *testing.T) {
	names := ListProfiles(clustersDir)
	for _, want := range []string{"summit", "pearl", "thetagpu", "polaris", "generic-slurm", "generic-lsf", "generic-slurm-ci", "generic-lsf-ci"} {
		p, err := LoadProfile(clustersDir, want)
		if err != nil {
			t.Errorf("%s: %v", want, err)
			continue
		}
		if p.Name != want {
			t.Errorf("%s: name %q", want, p.Name)
		}
	}
	if len(names) < 8 {
		t.Errorf("profiles: %v", names)
	}
	s, err := LoadProfile(clustersDir, "summit")
	if err != nil {
		t.Fatal(err)
	}
	if s.Scheduler != LSF || s.Launcher != "jsrun" || s.GPUsPerNode != 6 || s.CoresPerNode != 42 {
		t.Errorf("summit: %+v", s)
	}
}

func TestProfileErrors(t *testing.T) {
	base := "name: x\nscheduler: slurm\nmax_nodes: 2\ngpus_per_node: 4\ncores_per_node: 8\n"
	cases := []struct {
		yaml, key string
		line      int
	}{
		{base + "gpus_per_nod: 3\n", "gpus_per_nod", 6},
		{strings.Replace(base, "slurm", "sge", 1), "scheduler", 2},
		{base + "launcher: jsrun\n", "launcher", 6},
		{strings.Replace(base, "cores_per_node: 8", "cores_per_node: 2", 1), "cores_per_node", 5},
		{strings.Replace(base, "max_nodes: 2", "max_nodes: 0", 1), "max_nodes", 3},
		{strings.Replace(base, "gpus_per_node: 4", "gpus_per_node: -1", 1), "gpus_per_node", 4},
		{base + "walltime: \"25:61\"\n", "walltime", 6},
		{base + "queue: \"a b\"\n", "queue", 6},
		{base + "account: \"$(id)\"\n", "account", 6},
		{base + "tasks_per_node: 3\n", "tasks_per_node", 6},
		{base + "env:\n  \"BAD-NAME\": x\n", "env.BAD-NAME", 6},
		{base + "directives: [\"no-dash\"]\n", "directives[0]", 6},
		{base + "directives: [\"--x=$(id)\"]\n", "directives[0]", 6},
		{base + "modules: [\"\"]\n", "modules[0]", 6},
		{"name: x\n", "scheduler", 0},
	}
	for _, c := range cases {
		_, err := DecodeProfile("p.yaml", []byte(c.yaml))
		if err == nil {
			t.Errorf("accepted:\n%s", c.yaml)
			continue
		}
		var ce *config.Error
		if !errors.As(err, &ce) || !errors.Is(err, ErrProfile) {
			t.Errorf("%q: error %v is not a config.Error wrapping ErrProfile", c.key, err)
			continue
		}
		if !strings.Contains(err.Error(), c.key) || !strings.Contains(err.Error(), "p.yaml") {
			t.Errorf("error %q does not name key %q and the file", err, c.key)
		}
		if c.line > 0 && !strings.Contains(err.Error(), "p.yaml:"+strconv.Itoa(c.line)) {
			t.Errorf("error %q does not name line %d", err, c.line)
		}
	}
}

func TestLoadProfileMissing(t *testing.T) {
	_, err := LoadProfile(clustersDir, "no-such-cluster")
	if !errors.Is(err, ErrNoProfile) || !strings.Contains(err.Error(), "no-such-cluster") || !strings.Contains(err.Error(), "summit") {
		t.Fatalf("err = %v", err)
	}
	if _, err := LoadProfile(clustersDir, ""); !errors.Is(err, ErrNoProfile) {
		t.Fatalf("empty: %v", err)
	}
	if got := ProfilePath("d", "x"); got != filepath.Join("d", "x.yaml") {
		t.Fatal(got)
	}
	if got := ProfilePath("d", "./y.yaml"); got != "./y.yaml" {
		t.Fatal(got)
	}
}

func TestParseWalltime(t *testing.T) {
	for in, want := range map[string]string{"01:30:00": "1h30m0s", "00:10": "10m0s", "90m": "1h30m0s", "48:00:00": "48h0m0s"} {
		d, err := ParseWalltime(in)
		if err != nil || d.String() != want {
			t.Errorf("%q: %v %v", in, d, err)
		}
	}
	for _, in := range []string{"", "1", "a:b", "00:00", "1:60", "-1h", "1:2:3:4"} {
		if _, err := ParseWalltime(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
	if HMS(90*60e9+1) != "01:30:01" {
		t.Error(HMS(90*60e9 + 1))
	}
}

// TestPlanRandom checks Plan against a direct reading of its rule on random
// profiles and scales: a point fits one node, or fills whole nodes, within
// the node limit; everything else is ErrRequest.
func TestPlanRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		p := &Profile{Name: "r", File: "r.yaml", Scheduler: Slurm, MaxNodes: 1 + r.IntN(8), GPUsPerNode: r.IntN(9), CoresPerNode: 64}
		if p.GPUsPerNode == 0 {
			p.TasksPerNode = r.IntN(5)
		}
		req := Request{Nodes: r.IntN(p.MaxNodes + 2)}
		if p.GPUsPerNode > 0 && r.IntN(3) == 0 {
			req.GPUsPerNode = 1 + r.IntN(p.GPUsPerNode+1)
		}
		for range r.IntN(4) {
			req.Scale = append(req.Scale, 1+r.IntN(40))
		}
		slots := p.SlotsPerNode()
		if req.GPUsPerNode > 0 {
			slots = req.GPUsPerNode
		}
		limit := p.MaxNodes
		if req.Nodes > 0 {
			limit = req.Nodes
		}
		wantErr := req.Nodes > p.MaxNodes || req.GPUsPerNode > p.GPUsPerNode
		if !wantErr {
			for _, w := range req.Scale {
				if (w > slots && w%slots != 0) || (w+slots-1)/slots > limit {
					wantErr = true
				}
			}
		}
		pts, err := p.Plan(req)
		if wantErr {
			if !errors.Is(err, ErrRequest) {
				t.Fatalf("%+v %+v: want ErrRequest, got %v %+v", p, req, err, pts)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%+v %+v: %v", p, req, err)
		}
		if len(req.Scale) == 0 {
			n := max(1, req.Nodes)
			if len(pts) != 1 || pts[0].Workers != n*slots || pts[0].Nodes != n {
				t.Fatalf("single point %+v for %+v", pts, req)
			}
			continue
		}
		if len(pts) != len(req.Scale) {
			t.Fatalf("%d points for %v", len(pts), req.Scale)
		}
		for i, pt := range pts {
			w := req.Scale[i]
			if pt.Workers != w || pt.Nodes*pt.TasksPerNode != w || pt.TasksPerNode > slots || pt.Nodes > limit {
				t.Fatalf("point %+v for %d workers, %d slots, limit %d", pt, w, slots, limit)
			}
			if pt.Nodes > 1 && pt.TasksPerNode != slots {
				t.Fatalf("multi-node point %+v not full (%d slots)", pt, slots)
			}
		}
	}
}

func TestParseScale(t *testing.T) {
	got, err := ParseScale("4, 1,2,2")
	if err != nil || len(got) != 3 || got[0] != 1 || got[2] != 4 {
		t.Fatalf("%v %v", got, err)
	}
	for _, bad := range []string{"0", "1,x", "-2", "1,,2"} {
		if _, err := ParseScale(bad); !errors.Is(err, ErrRequest) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestPlanMessages(t *testing.T) {
	p, err := LoadProfile(clustersDir, "generic-slurm-ci")
	if err != nil {
		t.Fatal(err)
	}
	for req, want := range map[*Request]string{
		{Scale: []int{8}}:           "--scale 8 needs 4 nodes",
		{Scale: []int{3}}:           "--scale 3 does not fill whole nodes",
		{GPUsPerNode: 3}:            "--gpus-per-node 3 but profile generic-slurm-ci",
		{Nodes: 3}:                  "max_nodes 2",
		{Scale: []int{4}, Nodes: 1}: "--nodes is 1",
	} {
		_, err := p.Plan(*req)
		if !errors.Is(err, ErrRequest) || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: %v (want %q)", *req, err, want)
		}
	}
}
