package energy

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// raplZone is one powercap zone: a package ("package-0") or a DRAM
// subzone, whose energy_uj is not part of its package's.
type raplZone struct {
	label string // "rapl:package-0"
	dir   string
	wrap  uint64 // max_energy_range_uj
}

func (z *raplZone) name() string { return z.label }
func (z *raplZone) kind() Kind   { return Counter }

func (z *raplZone) read() (uint64, uint64, float64, error) {
	v, err := readUint(filepath.Join(z.dir, "energy_uj"))
	return v, z.wrap, 1e-6, err
}

// openRAPL finds the zones under root: top-level "intel-rapl:N" package
// zones and "intel-rapl:N:M" subzones named "dram". Core and uncore
// subzones are part of their package and "psys" covers the whole platform
// (packages included), so both are left out to avoid counting twice. If
// any zone kept cannot be read, RAPL is unavailable: a partial sum would
// mislead.
func openRAPL(root string) ([]source, error) {
	ents, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s does not exist (no powercap driver: not a RAPL-capable CPU, or a VM or container without it)", root)
	}
	if err != nil {
		return nil, err
	}
	var zones []*raplZone
	for _, e := range ents {
		n := e.Name()
		rest, ok := strings.CutPrefix(n, "intel-rapl:")
		if !ok {
			continue
		}
		dir := filepath.Join(root, n)
		label := n
		if b, err := os.ReadFile(filepath.Join(dir, "name")); err == nil {
			label = strings.TrimSpace(string(b))
		}
		sub := strings.Contains(rest, ":")
		if label == "psys" || (sub && label != "dram") {
			continue
		}
		wrap, err := readUint(filepath.Join(dir, "max_energy_range_uj"))
		if err != nil {
			return nil, err
		}
		if wrap == 0 {
			return nil, fmt.Errorf("%s: max_energy_range_uj is 0", dir)
		}
		z := &raplZone{label: "rapl:" + label, dir: dir, wrap: wrap}
		if _, _, _, err := z.read(); err != nil {
			return nil, err
		}
		zones = append(zones, z)
	}
	if len(zones) == 0 {
		return nil, fmt.Errorf("%s has no intel-rapl package zones", root)
	}
	slices.SortFunc(zones, func(a, b *raplZone) int { return strings.Compare(a.dir, b.dir) })
	// two zones with one name (two sockets both "dram") get the dir too
	seen := map[string]int{}
	for _, z := range zones {
		seen[z.label]++
	}
	out := make([]source, len(zones))
	for i, z := range zones {
		if seen[z.label] > 1 {
			z.label += "@" + filepath.Base(z.dir)
		}
		out[i] = z
	}
	return out, nil
}

// readUint reads a sysfs file holding one unsigned decimal number; errors
// name the file and say when it is root-only.
func readUint(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrPermission) {
		return 0, fmt.Errorf("%s: %w (energy_uj is readable by root only on kernels patched for CVE-2020-8694)", path, err)
	}
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: not a counter: %q", path, strings.TrimSpace(string(b)))
	}
	return v, nil
}
