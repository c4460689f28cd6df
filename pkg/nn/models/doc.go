// Package models builds the benchmark networks on package nn: the
// candle-uno MLP (NewUno, 16,224,001 parameters), the earthquake LSTM
// (NewEarthquake, presets "pure" and "small"), the cloud-mask U-Net and the
// stemdl ResNets. Each model owns its arena, takes its inputs as a slice
// and implements Model for the training loop. Benches maps each model name
// to a synthetic-batch throughput benchmark (scibench train-bench).
//
// # Usage
//
//	m, err := models.NewUno(models.UnoConfig{DropoutSeed: uint64(rank)})
//	if err != nil { ... }
//	in := []*tensor.Tensor{cell, drug} // [N, 942], [N, 5270]
//	m.Arena().ZeroGrad()
//	y, err := m.Forward(in, true)      // [N, 1]
//	... loss.Loss(&grad, y, target) ...
//	err = m.Backward(&grad)
//	opt.Step(m.Arena().Data, m.Arena().Grad)
//
//	b, err := models.Benches["lstm"](256, 1)
//	err = b.Step() // one forward+backward+optimizer step
package models
