package models_test

import (
	"fmt"

	"github.com/scibench/scibench/pkg/nn"
	"github.com/scibench/scibench/pkg/nn/models"
	"github.com/scibench/scibench/pkg/tensor"
)

// The cloud-mask U-Net in a training step: forward to logits, BCE with
// logits, backward into the arena's gradients.
func ExampleNewUNet() {
	m, err := models.NewUNet(models.UNetConfig{}) // the reference: 9 channels in, 32 filters, 3 levels
	if err != nil {
		fmt.Println(err)
		return
	}
	x := tensor.New(1, 9, 16, 16) // [N, 9, H, W], H and W multiples of 8
	y := tensor.New(1, 1, 16, 16) // cloud mask
	in := []*tensor.Tensor{x}
	loss := &nn.BCEWithLogits{}
	var grad tensor.Tensor

	m.Arena().ZeroGrad()
	out, err := m.Forward(in, true)
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := loss.Loss(&grad, out, y); err != nil {
		fmt.Println(err)
		return
	}
	if err := m.Backward(&grad); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("params", m.Arena().Size(), "logits", out.Shape)

	_, err = m.Forward([]*tensor.Tensor{tensor.New(1, 9, 12, 12)}, true)
	fmt.Println(err)
	// Output:
	// params 1948609 logits [1 1 16 16]
	// models: bad model input: unet: input [1 9 12 12], want [N 9 H W] with H, W positive multiples of 8
}

// ResNet-50 for STEMDL (231 classes), and the smaller basic-block depths.
func ExampleNewResNet() {
	for _, depth := range []int{50, 34, 18} {
		m, err := models.NewResNet(models.ResNetConfig{Depth: depth})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("resnet%d: %d params, %.2f GFLOP forward at 128²\n", depth, m.Arena().Size(), m.FLOPs(128, 128)/1e9)
	}
	// Output:
	// resnet50: 23981351 params, 2.67 GFLOP forward at 128²
	// resnet34: 21403175 params, 2.39 GFLOP forward at 128²
	// resnet18: 11295015 params, 1.18 GFLOP forward at 128²
}
