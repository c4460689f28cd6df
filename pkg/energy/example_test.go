package energy_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/scibench/scibench/pkg/energy"
)

// ExampleOpen reads a fake powercap tree whose package counter wraps.
func ExampleOpen() {
	root, err := os.MkdirTemp("", "powercap")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(root)
	zone := filepath.Join(root, "intel-rapl:0")
	write := func(file, v string) { _ = os.WriteFile(filepath.Join(zone, file), []byte(v+"\n"), 0o644) }
	_ = os.MkdirAll(zone, 0o755)
	write("name", "package-0")
	write("max_energy_range_uj", "262143328850")
	write("energy_uj", "262000000000")

	m, err := energy.Open(context.Background(), energy.Config{PowercapRoot: root, NoNVML: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	write("energy_uj", "856671150") // wrapped: 143.32885 J + 856.67115 J
	j, err := m.Joules()
	fmt.Printf("%s: %.3f J, %v\n", m.Source(), j, err)
	// Output: rapl: 1000.000 J, <nil>
}
