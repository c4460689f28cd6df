package sched

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Scaling modes of a sweep.
const (
	// Strong scaling keeps the global batch fixed (batch_scope=global).
	Strong = "strong"
	// Weak scaling keeps each worker's batch fixed (batch_scope=per_rank).
	Weak = "weak"
)

// BatchScope returns the batch_scope config value of a scaling mode.
func BatchScope(scaling string) (string, error) {
	switch scaling {
	case Strong, "":
		return "global", nil
	case Weak:
		return "per_rank", nil
	}
	return "", fmt.Errorf("%w: --scaling %q: want strong or weak", ErrRequest, scaling)
}

// Request is what the user asked for on the command line.
type Request struct {
	// Scale lists worker counts, one sweep point each. Empty: one point
	// with every slot of Nodes nodes.
	Scale []int
	// Nodes is the node count of the single point (Scale empty) or the
	// largest node count a point may use (Scale set); 0: 1 without
	// Scale, the profile's max_nodes with it.
	Nodes int
	// GPUsPerNode overrides the profile's GPUs (workers) per node; 0: all.
	GPUsPerNode int
}

// Point is one sweep point: a number of workers laid out on nodes.
type Point struct {
	Workers      int `json:"workers"`
	Nodes        int `json:"nodes"`
	TasksPerNode int `json:"tasks_per_node"`
	GPUsPerNode  int `json:"gpus_per_node"`
	CPUsPerTask  int `json:"cpus_per_task"`
}

// ParseScale parses "1,2,4,8" into sorted, distinct positive counts.
func ParseScale(s string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%w: --scale %q: %q is not a positive worker count", ErrRequest, s, f)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}

// Plan lays out the sweep on the profile's nodes: a point of W workers
// fills one node when W fits on it and otherwise W/slots full nodes, where
// slots is the GPUs (or CPU tasks) per node. Requests the profile cannot
// hold wrap ErrRequest and name the flag and the profile key.
func (p *Profile) Plan(req Request) ([]Point, error) {
	slots := p.SlotsPerNode()
	gpus := p.GPUsPerNode
	if req.GPUsPerNode < 0 {
		return nil, fmt.Errorf("%w: --gpus-per-node %d is negative", ErrRequest, req.GPUsPerNode)
	}
	if req.GPUsPerNode > 0 {
		if p.GPUsPerNode == 0 {
			return nil, fmt.Errorf("%w: --gpus-per-node %d but profile %s (%s) has no GPUs (gpus_per_node: 0)", ErrRequest, req.GPUsPerNode, p.Name, p.File)
		}
		if req.GPUsPerNode > p.GPUsPerNode {
			return nil, fmt.Errorf("%w: --gpus-per-node %d but profile %s (%s) has gpus_per_node %d", ErrRequest, req.GPUsPerNode, p.Name, p.File, p.GPUsPerNode)
		}
		slots, gpus = req.GPUsPerNode, req.GPUsPerNode
	}
	if req.Nodes < 0 {
		return nil, fmt.Errorf("%w: --nodes %d is negative", ErrRequest, req.Nodes)
	}
	if req.Nodes > p.MaxNodes {
		return nil, fmt.Errorf("%w: --nodes %d but profile %s (%s) has max_nodes %d", ErrRequest, req.Nodes, p.Name, p.File, p.MaxNodes)
	}
	cpus := func(tpn int) int { return max(1, p.CoresPerNode/max(1, tpn)) }
	if len(req.Scale) == 0 {
		n := max(1, req.Nodes)
		return []Point{{Workers: n * slots, Nodes: n, TasksPerNode: slots, GPUsPerNode: gpus, CPUsPerTask: cpus(slots)}}, nil
	}
	maxNodes := p.MaxNodes
	if req.Nodes > 0 {
		maxNodes = req.Nodes
	}
	points := make([]Point, 0, len(req.Scale))
	for _, w := range req.Scale {
		if w < 1 {
			return nil, fmt.Errorf("%w: --scale %d is not a positive worker count", ErrRequest, w)
		}
		pt := Point{Workers: w, Nodes: 1, TasksPerNode: w, GPUsPerNode: gpus, CPUsPerTask: cpus(min(w, slots))}
		if w > slots {
			if w%slots != 0 {
				return nil, fmt.Errorf("%w: --scale %d does not fill whole nodes of %d workers (profile %s, gpus_per_node/tasks_per_node %d)",
					ErrRequest, w, slots, p.Name, slots)
			}
			pt.Nodes, pt.TasksPerNode = w/slots, slots
		}
		if pt.Nodes > maxNodes {
			limit := fmt.Sprintf("profile %s (%s) has max_nodes %d", p.Name, p.File, p.MaxNodes)
			if req.Nodes > 0 {
				limit = fmt.Sprintf("--nodes is %d", req.Nodes)
			}
			return nil, fmt.Errorf("%w: --scale %d needs %d nodes of %d workers but %s (at most %d workers)",
				ErrRequest, w, pt.Nodes, slots, limit, maxNodes*slots)
		}
		if gpus > 0 && pt.Nodes == 1 {
			pt.GPUsPerNode = min(gpus, w)
		}
		points = append(points, pt)
	}
	return points, nil
}
