package kernels_test

import (
	"fmt"

	"github.com/scibench/scibench/kernels"
)

func ExampleLookup() {
	k, ok := kernels.Lookup("axpy_f32")
	fmt.Println(ok, k.File, k.Params, k.Twin)
	// Output: true elementwise.cu pfpi tensor.AXPY
}

func ExampleParse() {
	src, _ := kernels.Source("activation.cu")
	for _, d := range kernels.Parse(src)[:2] {
		fmt.Println(d.Name, d.Kinds())
	}
	// Output:
	// relu_fwd_f32 ppi
	// relu_bwd_f32 pppi
}
