package tensor_test

import (
	"fmt"

	"github.com/scibench/scibench/pkg/tensor"
)

func ExampleMatMul() {
	x := tensor.FromSlice([]float32{1, 2, 3, 4, 5, 6}, 2, 3) // 2 samples × 3 features
	w := tensor.FromSlice([]float32{1, 0, 1, 0, 1, 0}, 2, 3) // 2 outputs × 3 inputs
	y := tensor.New(2, 2)
	if err := tensor.MatMul(y, x, w, false, true); err != nil { // y = x·wᵀ
		fmt.Println(err)
		return
	}
	fmt.Println(y.Data)
	// Output: [4 2 10 5]
}

func ExampleTensor_SliceInto() {
	x := tensor.FromSlice([]float32{0, 1, 2, 3, 4, 5, 6, 7}, 4, 2)
	var rows tensor.Tensor
	if err := x.SliceInto(&rows, 1, 3); err != nil {
		fmt.Println(err)
		return
	}
	_ = tensor.Fill(&rows, -1) // writes through to x
	fmt.Println(rows.Shape, x.Data)
	// Output: [2 2] [0 1 -1 -1 -1 -1 6 7]
}
