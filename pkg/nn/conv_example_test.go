package nn_test

import (
	"fmt"

	"github.com/scibench/scibench/pkg/nn"
	"github.com/scibench/scibench/pkg/tensor"
)

// A conv–BN–ReLU–pool stack on NCHW input, wired by hand: forward in
// order, backward in reverse. Constructors validate their configs; the
// layers' OutputShape methods validate inputs before Forward.
func ExampleConv2D() {
	a := nn.NewArena()
	conv, err := nn.NewConv2D(a, "conv1", nn.Conv2DConfig{InChannels: 3, OutChannels: 8, Kernel: 3, Padding: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	bn, err := nn.NewBatchNorm(a, "bn1", nn.BatchNormConfig{Channels: 8, Act: nn.ReLUAct})
	if err != nil {
		fmt.Println(err)
		return
	}
	pool, err := nn.NewMaxPool2D(nn.MaxPool2DConfig{Kernel: 3, Stride: 2, Padding: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	a.Build()
	nn.HeNormal(conv.W.W, 27, 8, nn.NewRand(1))

	x := tensor.New(2, 3, 16, 16)
	if _, err := conv.OutputShape(x.Shape); err != nil {
		fmt.Println(err)
		return
	}
	y := pool.Forward(bn.Forward(conv.Forward(x, true), true), true)
	a.ZeroGrad()
	dy := tensor.New(y.Shape...)
	conv.Backward(bn.Backward(pool.Backward(dy)))

	fmt.Println("params", a.Size(), "output", y.Shape)
	_, err = conv.OutputShape([]int{2, 4, 16, 16})
	fmt.Println(err)
	// Output:
	// params 232 output [2 8 8 8]
	// nn: input shape mismatch: conv "conv1": input [2 4 16 16], want [N 3 H W] with H, W ≥ 1
}
