package cluster

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// maxHostFile bounds the size of a host file read by this package.
const maxHostFile = 64 << 20

// readHostFile reads a scheduler host file: one host name per line (per slot
// on LSF and PBS, so names repeat), blank lines and '#' comments ignored;
// only the first field of a line counts. It returns the names in file order,
// with repeats, and how many slots (lines) each distinct name had.
func readHostFile(key, path string) ([]string, map[string]int, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s=%s: %w", ErrHostFile, key, path, err)
	}
	if st.Size() > maxHostFile {
		return nil, nil, fmt.Errorf("%w: %s=%s: %d bytes is too large", ErrHostFile, key, path, st.Size())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s=%s: %w", ErrHostFile, key, path, err)
	}
	var hosts []string
	slots := map[string]int{}
	for i, line := range strings.Split(string(b), "\n") {
		if j := strings.IndexByte(line, '#'); j >= 0 {
			line = line[:j]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		h := f[0]
		if strings.ContainsAny(h, "[],") {
			return nil, nil, fmt.Errorf("%w: %s=%s line %d: bad host name %q", ErrHostFile, key, path, i+1, h)
		}
		hosts = append(hosts, h)
		slots[h]++
	}
	if len(hosts) == 0 {
		return nil, nil, fmt.Errorf("%w: %s=%s: no hosts", ErrHostFile, key, path)
	}
	return hosts, slots, nil
}

// lsfHosts returns the compute hosts of an LSF job from LSB_DJOB_HOSTFILE,
// else LSB_MCPU_HOSTS, without the launch node (see dropLaunchNode).
func lsfHosts(e env) ([]string, string, error) {
	if path, ok := e.str("LSB_DJOB_HOSTFILE"); ok {
		all, slots, err := readHostFile("LSB_DJOB_HOSTFILE", path)
		if err != nil {
			return nil, "", err
		}
		return dropLaunchNode(dedup(all), slots), "LSB_DJOB_HOSTFILE", nil
	}
	if v, ok := e.str("LSB_MCPU_HOSTS"); ok {
		f := strings.Fields(v)
		if len(f)%2 != 0 {
			return nil, "", fmt.Errorf("%w: LSB_MCPU_HOSTS=%q: want \"host slots\" pairs", ErrBadValue, v)
		}
		var hosts []string
		slots := map[string]int{}
		for i := 0; i < len(f); i += 2 {
			n, err := strconv.Atoi(f[i+1])
			if err != nil || n < 1 {
				return nil, "", fmt.Errorf("%w: LSB_MCPU_HOSTS=%q: bad slot count %q for %s", ErrBadValue, v, f[i+1], f[i])
			}
			if slots[f[i]] == 0 {
				hosts = append(hosts, f[i])
			}
			slots[f[i]] += n
		}
		return dropLaunchNode(hosts, slots), "LSB_MCPU_HOSTS", nil
	}
	return nil, "", nil
}

// dropLaunchNode removes the first host when it is a CORAL-style launch
// node (Summit, Sierra, Lassen): LSF lists it first with one slot, but no
// rank runs there. It is recognised when its name starts with "batch" or
// "launch", or when it holds exactly one slot while every other host holds
// more than one. A job that really has a single slot on its first host and
// more on every other one is misread by the second rule; such jobs set
// SCIBENCH_MASTER_ADDR.
func dropLaunchNode(hosts []string, slots map[string]int) []string {
	if len(hosts) < 2 {
		return hosts
	}
	first := hosts[0]
	if strings.HasPrefix(first, "batch") || strings.HasPrefix(first, "launch") {
		return hosts[1:]
	}
	if slots[first] != 1 {
		return hosts
	}
	for _, h := range hosts[1:] {
		if slots[h] <= 1 {
			return hosts
		}
	}
	return hosts[1:]
}
