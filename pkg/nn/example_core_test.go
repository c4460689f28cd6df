package nn_test

import (
	"fmt"

	"github.com/scibench/scibench/pkg/nn"
	"github.com/scibench/scibench/pkg/tensor"
)

// A two-layer MLP: one training step's forward, loss and backward.
func Example() {
	a := nn.NewArena()
	rng := nn.NewRand(2018)
	d1 := nn.NewDense(a, "d1", 4, 8, nn.GlorotNormal, rng)
	d2 := nn.NewDense(a, "d2", 8, 1, nn.GlorotNormal, rng)
	a.Build()
	net := nn.NewSequential(d1, nn.NewReLU(), d2)

	x := tensor.New(3, 4) // batch of 3
	y := tensor.FromSlice([]float32{1, 2, 3}, 3, 1)
	loss := &nn.MSE{Reduction: nn.ReduceSum}
	var grad tensor.Tensor

	a.ZeroGrad()
	out := net.Forward(x, true)
	sum, err := loss.Loss(&grad, out, y)
	if err != nil {
		fmt.Println(err)
		return
	}
	net.Backward(&grad)
	fmt.Println("params", a.Size(), "output", out.Shape, "loss sum", sum)
	fmt.Println("d(sum)/d(bias of d2)", a.Params()[3].G[0])
	// Output:
	// params 49 output [3 1] loss sum 14
	// d(sum)/d(bias of d2) -12
}
