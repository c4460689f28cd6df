package nn

//go:noescape
func lstmGatesAVX2(p *lstmGateArgs)

func lstmGates(p *lstmGateArgs) { lstmGatesAVX2(p) }
