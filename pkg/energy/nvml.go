package energy

import (
	"errors"
	"fmt"
	"strconv"
)

// NVML return codes used here (nvmlReturn_t).
const (
	nvmlSuccess      = 0
	nvmlNotSupported = 3
)

var nvmlNames = map[int32]string{
	0:   "NVML_SUCCESS",
	1:   "NVML_ERROR_UNINITIALIZED",
	2:   "NVML_ERROR_INVALID_ARGUMENT",
	3:   "NVML_ERROR_NOT_SUPPORTED",
	4:   "NVML_ERROR_NO_PERMISSION",
	6:   "NVML_ERROR_NOT_FOUND",
	9:   "NVML_ERROR_DRIVER_NOT_LOADED",
	12:  "NVML_ERROR_LIBRARY_NOT_FOUND",
	13:  "NVML_ERROR_FUNCTION_NOT_FOUND",
	15:  "NVML_ERROR_GPU_IS_LOST",
	18:  "NVML_ERROR_LIB_RM_VERSION_MISMATCH",
	999: "NVML_ERROR_UNKNOWN",
}

// NVMLError is a failed NVML call.
type NVMLError struct {
	Call string
	Code int32
}

func (e *NVMLError) Error() string {
	n, ok := nvmlNames[e.Code]
	if !ok {
		n = "NVML_ERROR_" + strconv.Itoa(int(e.Code))
	}
	return fmt.Sprintf("%s: %s (%d)", e.Call, n, e.Code)
}

// nvmlAPI is the part of NVML the meter uses; energy may be nil (the
// symbol is missing: a driver older than Volta-era NVML).
type nvmlAPI struct {
	init     func() int32
	shutdown func() int32
	count    func(n *uint32) int32
	handle   func(i uint32, h *uintptr) int32
	power    func(h uintptr, mw *uint32) int32
	energy   func(h uintptr, mj *uint64) int32
}

// nvmlGPU is one GPU read through NVML, by energy counter (mJ) when the
// GPU has one, else by power (mW).
type nvmlGPU struct {
	api     *nvmlAPI
	index   int
	h       uintptr
	counter bool
}

func (g *nvmlGPU) name() string { return "nvml:" + strconv.Itoa(g.index) }

func (g *nvmlGPU) kind() Kind {
	if g.counter {
		return Counter
	}
	return Power
}

func (g *nvmlGPU) read() (uint64, uint64, float64, error) {
	if g.counter {
		var mj uint64
		if r := g.api.energy(g.h, &mj); r != nvmlSuccess {
			return 0, 0, 0, fmt.Errorf("GPU %d: %w", g.index, &NVMLError{"nvmlDeviceGetTotalEnergyConsumption", r})
		}
		return mj, 0, 1e-3, nil
	}
	var mw uint32
	if r := g.api.power(g.h, &mw); r != nvmlSuccess {
		return 0, 0, 0, fmt.Errorf("GPU %d: %w", g.index, &NVMLError{"nvmlDeviceGetPowerUsage", r})
	}
	return uint64(mw), 0, 1e-3, nil
}

// nvmlSources initialises NVML through api and returns one source per GPU
// of gpus (nil: all). Any GPU that can be read neither way makes NVML
// unavailable. The closer shuts NVML down.
func nvmlSources(api *nvmlAPI, lib string, gpus []int) ([]source, func() error, error) {
	if r := api.init(); r != nvmlSuccess {
		return nil, nil, fmt.Errorf("%s: %w", lib, &NVMLError{"nvmlInit_v2", r})
	}
	shutdown := func() error {
		if r := api.shutdown(); r != nvmlSuccess {
			return fmt.Errorf("energy: %s: %w", lib, &NVMLError{"nvmlShutdown", r})
		}
		return nil
	}
	fail := func(err error) ([]source, func() error, error) {
		return nil, nil, errors.Join(err, shutdown())
	}
	var n uint32
	if r := api.count(&n); r != nvmlSuccess {
		return fail(fmt.Errorf("%s: %w", lib, &NVMLError{"nvmlDeviceGetCount_v2", r}))
	}
	if n == 0 {
		return fail(fmt.Errorf("%s: 0 GPUs", lib))
	}
	if gpus == nil {
		for i := range int(n) {
			gpus = append(gpus, i)
		}
	}
	var out []source
	for _, i := range gpus {
		if i >= int(n) {
			return fail(fmt.Errorf("GPU %d requested, NVML sees %d", i, n))
		}
		g := &nvmlGPU{api: api, index: i}
		if r := api.handle(uint32(i), &g.h); r != nvmlSuccess {
			return fail(fmt.Errorf("GPU %d: %w", i, &NVMLError{"nvmlDeviceGetHandleByIndex_v2", r}))
		}
		var mj uint64
		if api.energy != nil {
			r := api.energy(g.h, &mj)
			if r != nvmlSuccess && r != nvmlNotSupported {
				return fail(fmt.Errorf("GPU %d: %w", i, &NVMLError{"nvmlDeviceGetTotalEnergyConsumption", r}))
			}
			g.counter = r == nvmlSuccess
		}
		if !g.counter {
			var mw uint32
			if r := api.power(g.h, &mw); r != nvmlSuccess {
				return fail(fmt.Errorf("GPU %d has no energy counter and no power reading: %w", i, &NVMLError{"nvmlDeviceGetPowerUsage", r}))
			}
		}
		out = append(out, g)
	}
	return out, shutdown, nil
}
