//go:build !amd64

package nn

func lstmGates(p *lstmGateArgs) { panic("nn: no vector LSTM kernel on this platform") }
