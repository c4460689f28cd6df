//go:build linux && (amd64 || arm64)

package gpu

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ebitengine/purego"
)

// symbol is one entry point to resolve into a func variable.
type symbol struct {
	name     string
	fn       any
	optional bool
}

// openLib dlopens the first loadable candidate and resolves syms; a
// required symbol that is missing fails the load, an optional one is
// returned in missing. Errors wrap sentinel and name every path tried.
func openLib(paths []string, fromEnv bool, env string, sentinel error, syms func() []symbol) (path string, missing []string, err error) {
	var reasons []string
	for _, p := range paths {
		h, err := dlopen(p)
		if err != nil {
			if fromEnv {
				reasons = append(reasons, fmt.Sprintf("%s=%s cannot be loaded: %v", env, p, err))
			} else {
				reasons = append(reasons, fmt.Sprintf("%s not found: %v", p, err))
			}
			continue
		}
		for _, s := range syms() {
			addr, err := purego.Dlsym(h, s.name)
			if err != nil || addr == 0 {
				if s.optional {
					missing = append(missing, s.name)
					continue
				}
				if err == nil {
					err = errors.New("address 0")
				}
				return p, nil, fmt.Errorf("%w: %s: symbol %s: %w", sentinel, p, s.name, err)
			}
			purego.RegisterFunc(s.fn, addr)
		}
		return p, missing, nil
	}
	return "", nil, fmt.Errorf("%w: %s", sentinel, strings.Join(reasons, "; "))
}

// loadNVRTC opens libnvrtc (cached per path).
func loadNVRTC() (*nvrtcAPI, error) {
	paths, fromEnv := nvrtcCandidates()
	loadMu.Lock()
	defer loadMu.Unlock()
	for _, p := range paths {
		if api, ok := loadedNVRTC[p]; ok {
			return api, nil
		}
	}
	api := &nvrtcAPI{}
	p, missing, err := openLib(paths, fromEnv, NVRTCLibEnv, ErrNoNVRTC, func() []symbol {
		*api = nvrtcAPI{}
		return []symbol{
			{"nvrtcVersion", &api.version, false},
			{"nvrtcGetErrorString", &api.errorString, false},
			{"nvrtcCreateProgram", &api.createProgram, false},
			{"nvrtcCompileProgram", &api.compileProgram, false},
			{"nvrtcGetProgramLogSize", &api.logSize, false},
			{"nvrtcGetProgramLog", &api.log, false},
			{"nvrtcGetPTXSize", &api.ptxSize, false},
			{"nvrtcGetPTX", &api.ptx, false},
			{"nvrtcDestroyProgram", &api.destroyProgram, false},
			{"nvrtcGetCUBINSize", &api.cubinSize, true},
			{"nvrtcGetCUBIN", &api.cubin, true},
			{"nvrtcGetNumSupportedArchs", &api.numArchs, true},
			{"nvrtcGetSupportedArchs", &api.archs, true},
		}
	})
	if err != nil {
		return nil, err
	}
	api.lib = p
	api.hasCUBIN = !contains(missing, "nvrtcGetCUBIN") && !contains(missing, "nvrtcGetCUBINSize")
	api.hasArchs = !contains(missing, "nvrtcGetNumSupportedArchs") && !contains(missing, "nvrtcGetSupportedArchs")
	loadedNVRTC[p] = api
	return api, nil
}

// loadCUBLAS opens libcublas (cached per path).
func loadCUBLAS() (*cublasAPI, error) {
	paths, fromEnv := cublasCandidates()
	loadMu.Lock()
	defer loadMu.Unlock()
	for _, p := range paths {
		if api, ok := loadedCUBLAS[p]; ok {
			return api, nil
		}
	}
	api := &cublasAPI{}
	p, _, err := openLib(paths, fromEnv, CUBLASLibEnv, ErrNoCUBLAS, func() []symbol {
		*api = cublasAPI{}
		return []symbol{
			{"cublasCreate_v2", &api.create, false},
			{"cublasDestroy_v2", &api.destroy, false},
			{"cublasSetStream_v2", &api.setStream, false},
			{"cublasSetMathMode", &api.setMathMode, false},
			{"cublasSgemm_v2", &api.sgemm, false},
			{"cublasSgemmStridedBatched", &api.sgemmStridedBatched, true},
		}
	})
	if err != nil {
		return nil, err
	}
	api.lib = p
	loadedCUBLAS[p] = api
	return api, nil
}

var (
	loadedNVRTC  = map[string]*nvrtcAPI{}
	loadedCUBLAS = map[string]*cublasAPI{}
)

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
