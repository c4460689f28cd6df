//go:build linux && (amd64 || arm64)

package gpu

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"

	"github.com/ebitengine/purego"
)

// loaded caches the driver API per library path; libraries are never closed
// (libcuda keeps threads of its own once initialised).
var (
	loadMu sync.Mutex
	loaded = map[string]*driverAPI{}
)

// load opens the first loadable candidate library and resolves the driver
// entry points. Every failure wraps ErrNoGPU.
func load() (*driverAPI, string, error) {
	paths, fromEnv := libCandidates()
	loadMu.Lock()
	defer loadMu.Unlock()
	var reasons []string
	for _, p := range paths {
		if api, ok := loaded[p]; ok {
			return api, p, nil
		}
		h, err := dlopen(p)
		if err != nil {
			if fromEnv {
				reasons = append(reasons, fmt.Sprintf("%s=%s cannot be loaded: %v", LibEnv, p, err))
			} else {
				reasons = append(reasons, fmt.Sprintf("%s not found: %v", p, err))
			}
			continue
		}
		api, err := resolve(h)
		if err != nil {
			return nil, p, fmt.Errorf("%w: %s: %w", ErrNoGPU, p, err)
		}
		loaded[p] = api
		return api, p, nil
	}
	return nil, "", fmt.Errorf("%w: %s", ErrNoGPU, strings.Join(reasons, "; "))
}

// dlopen runs dlopen and dlerror on one OS thread, so the error text belongs
// to this call.
func dlopen(path string) (uintptr, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_LOCAL)
}

// resolve looks up every entry point; a missing symbol is an error naming it.
func resolve(h uintptr) (*driverAPI, error) {
	api := &driverAPI{}
	syms := []struct {
		name string
		fn   any
	}{
		{"cuInit", &api.init},
		{"cuDriverGetVersion", &api.driverVersion},
		{"cuDeviceGetCount", &api.deviceCount},
		{"cuDeviceGet", &api.deviceGet},
		{"cuDeviceGetName", &api.deviceName},
		{"cuDeviceTotalMem_v2", &api.totalMem},
		{"cuDeviceGetAttribute", &api.attribute},
	}
	// compute entry points: a library without them still serves Probe
	compute := []struct {
		name string
		fn   any
	}{
		{"cuDevicePrimaryCtxRetain", &api.primaryCtxRetain},
		{"cuDevicePrimaryCtxRelease_v2", &api.primaryCtxRelease},
		{"cuCtxSetCurrent", &api.ctxSetCurrent},
		{"cuMemGetInfo_v2", &api.memGetInfo},
		{"cuMemAlloc_v2", &api.memAlloc},
		{"cuMemFree_v2", &api.memFree},
		{"cuMemHostAlloc", &api.memHostAlloc},
		{"cuMemFreeHost", &api.memFreeHost},
		{"cuMemcpyHtoD_v2", &api.memcpyHtoD},
		{"cuMemcpyDtoH_v2", &api.memcpyDtoH},
		{"cuMemcpyHtoDAsync_v2", &api.memcpyHtoDAsync},
		{"cuMemcpyDtoHAsync_v2", &api.memcpyDtoHAsync},
		{"cuStreamCreate", &api.streamCreate},
		{"cuStreamQuery", &api.streamQuery},
		{"cuStreamDestroy_v2", &api.streamDestroy},
		{"cuEventCreate", &api.eventCreate},
		{"cuEventRecord", &api.eventRecord},
		{"cuEventQuery", &api.eventQuery},
		{"cuEventElapsedTime", &api.eventElapsed},
		{"cuEventDestroy_v2", &api.eventDestroy},
		{"cuStreamWaitEvent", &api.streamWaitEvent},
	}
	// kernel entry points: a library without them still opens a Context
	kernel := []struct {
		name string
		fn   any
	}{
		{"cuModuleLoadDataEx", &api.moduleLoadData},
		{"cuModuleGetFunction", &api.moduleGetFunction},
		{"cuModuleUnload", &api.moduleUnload},
		{"cuLaunchKernel", &api.launchKernel},
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for _, s := range syms {
		addr, err := purego.Dlsym(h, s.name)
		if err != nil || addr == 0 {
			if err == nil {
				err = errors.New("address 0")
			}
			return nil, fmt.Errorf("symbol %s: %w", s.name, err)
		}
		purego.RegisterFunc(s.fn, addr)
	}
	for _, s := range compute {
		addr, err := purego.Dlsym(h, s.name)
		if err != nil || addr == 0 {
			api.missing = append(api.missing, s.name)
			continue
		}
		purego.RegisterFunc(s.fn, addr)
	}
	for _, s := range kernel {
		addr, err := purego.Dlsym(h, s.name)
		if err != nil || addr == 0 {
			api.kernelMissing = append(api.kernelMissing, s.name)
			continue
		}
		purego.RegisterFunc(s.fn, addr)
	}
	return api, nil
}
