//go:build linux && (amd64 || arm64)

package energy

import (
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/ebitengine/purego"
)

// nvmlLoaded caches the API per library path; the library is never
// closed.
var (
	nvmlMu     sync.Mutex
	nvmlLoaded = map[string]*nvmlAPI{}
)

// openNVML loads lib with dlopen (purego, no cgo), resolves the entry
// points and opens the GPUs.
func openNVML(lib string, gpus []int) ([]source, func() error, error) {
	api, err := loadNVML(lib)
	if err != nil {
		return nil, nil, err
	}
	return nvmlSources(api, lib, gpus)
}

func loadNVML(lib string) (*nvmlAPI, error) {
	nvmlMu.Lock()
	defer nvmlMu.Unlock()
	if api, ok := nvmlLoaded[lib]; ok {
		return api, nil
	}
	runtime.LockOSThread() // dlerror belongs to this thread
	defer runtime.UnlockOSThread()
	h, err := purego.Dlopen(lib, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		return nil, fmt.Errorf("%s cannot be loaded: %w", lib, err)
	}
	api := &nvmlAPI{}
	for _, s := range []struct {
		name     string
		fn       any
		optional bool
	}{
		{"nvmlInit_v2", &api.init, false},
		{"nvmlShutdown", &api.shutdown, false},
		{"nvmlDeviceGetCount_v2", &api.count, false},
		{"nvmlDeviceGetHandleByIndex_v2", &api.handle, false},
		{"nvmlDeviceGetPowerUsage", &api.power, false},
		{"nvmlDeviceGetTotalEnergyConsumption", &api.energy, true},
	} {
		addr, err := purego.Dlsym(h, s.name)
		if err != nil || addr == 0 {
			if s.optional {
				continue
			}
			if err == nil {
				err = errors.New("address 0")
			}
			return nil, fmt.Errorf("%s: symbol %s: %w", lib, s.name, err)
		}
		purego.RegisterFunc(s.fn, addr)
	}
	nvmlLoaded[lib] = api
	return api, nil
}
