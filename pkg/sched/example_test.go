package sched_test

import (
	"fmt"

	"github.com/scibench/scibench/pkg/sched"
)

func ExampleQuote() {
	fmt.Println(sched.Quote("/opt/scibench/bin/scibench"))
	fmt.Println(sched.Quote("it's $(not) run"))
	fmt.Println(sched.QuoteArgs([]string{"run", "earthquake", "--set", "target.mode=max", ""}))
	// Output:
	// /opt/scibench/bin/scibench
	// 'it'\''s $(not) run'
	// run earthquake --set target.mode=max ''
}

func ExampleProfile_Plan() {
	p, err := sched.DecodeProfile("summit.yaml", []byte("name: summit\nscheduler: lsf\nmax_nodes: 4\ngpus_per_node: 6\ncores_per_node: 42\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	pts, err := p.Plan(sched.Request{Scale: []int{1, 6, 12, 24}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, pt := range pts {
		fmt.Printf("%d workers: %d node(s) x %d, %d cores each\n", pt.Workers, pt.Nodes, pt.TasksPerNode, pt.CPUsPerTask)
	}
	_, err = p.Plan(sched.Request{Scale: []int{48}})
	fmt.Println(err)
	// Output:
	// 1 workers: 1 node(s) x 1, 42 cores each
	// 6 workers: 1 node(s) x 6, 7 cores each
	// 12 workers: 2 node(s) x 6, 7 cores each
	// 24 workers: 4 node(s) x 6, 7 cores each
	// sched: impossible request: --scale 48 needs 8 nodes of 6 workers but profile summit (summit.yaml) has max_nodes 4 (at most 24 workers)
}
