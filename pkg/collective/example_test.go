package collective_test

import (
	"context"
	"fmt"

	"github.com/scibench/scibench/pkg/collective"
)

func ExampleNew() {
	// A single-rank communicator needs no network; real jobs fill Config
	// from cluster.FromEnv (rank, world size, master address, token).
	c, err := collective.New(context.Background(), collective.Config{WorldSize: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	buf := []float32{1, 2, 3}
	if err := c.AllReduce(context.Background(), buf, collective.OpAvg); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(buf, c.Rank(), c.Size())
	// Output: [1 2 3] 0 1
}

func ExampleAllReduceStep() {
	// The pure ring schedule of rank 1 in a world of 3.
	for s := 0; s < collective.AllReduceSteps(3); s++ {
		st := collective.AllReduceStep(1, 3, s)
		fmt.Printf("step %d: send chunk %d, receive chunk %d, action %d\n", s, st.Send, st.Recv, st.Action)
	}
	// Output:
	// step 0: send chunk 1, receive chunk 0, action 2
	// step 1: send chunk 0, receive chunk 2, action 2
	// step 2: send chunk 2, receive chunk 1, action 1
	// step 3: send chunk 1, receive chunk 0, action 1
}
