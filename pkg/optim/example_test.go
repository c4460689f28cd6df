package optim_test

import (
	"fmt"

	"github.com/scibench/scibench/pkg/optim"
)

func ExampleCandleUno() {
	plateau := optim.NewPlateau(optim.PlateauConfig{LR: 1e-4, Factor: 0.5, Patience: 5,
		MinLR: 1e-5, MinDelta: 1e-4, StopPatience: 10})
	sched := optim.CandleUno(1e-4, plateau)
	for epoch := range 8 {
		fmt.Printf("%d %.5f\n", epoch, sched.LR(epoch))
		plateau.Observe(0.5) // the validation loss never improves
	}
	// Output:
	// 0 0.00100
	// 1 0.00082
	// 2 0.00064
	// 3 0.00046
	// 4 0.00028
	// 5 0.00010
	// 6 0.00005
	// 7 0.00005
}

func ExampleAdam() {
	w := []float32{1, -1}
	opt := optim.NewAdam(len(w), optim.AdamConfig{LR: 0.1})
	for range 3 {
		g := []float32{2 * w[0], 2 * w[1]} // gradient of |w|²
		opt.Step(w, g)
	}
	fmt.Printf("%s %.4f %.4f\n", opt.Name(), w[0], w[1])
	// Output: Adam 0.7016 -0.7016
}
