package renderonly

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scibench/scibench/pkg/sched"
	"github.com/scibench/scibench/pkg/sched/schedtest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func TestGolden(t *testing.T) {
	for _, c := range []struct {
		profile string
		b       *Backend
		scale   []int
		want    []string
	}{
		{"thetagpu", Cobalt(), []int{8, 16}, []string{"#COBALT -n 2\n", "#COBALT -t 60\n", "mpirun -np 16 -npernode 8 --hostfile \"$COBALT_NODEFILE\" -x SCIBENCH_TOKEN"}},
		{"polaris", PBS(), []int{4, 8}, []string{"#PBS -l select=2:system=prod\n", "#PBS -l walltime=01:00:00\n", "mpiexec -n 8 --ppn 4 --depth 8 --cpu-bind depth"}},
	} {
		specs, err := schedtest.GoldenSpecs("../../../configs/clusters", c.profile, c.scale, false)
		if err != nil {
			t.Fatal(err)
		}
		var all []byte
		for _, s := range specs {
			b, err := c.b.Render(s)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, fmt.Sprintf("=== %s%s\n", s.Name, c.b.ScriptExt())...)
			all = append(all, b...)
		}
		for _, w := range c.want {
			if !strings.Contains(string(all), w) {
				t.Errorf("%s: missing %q", c.profile, w)
			}
		}
		diff, err := schedtest.Golden(filepath.Join("testdata", c.profile+".golden"), all, *update)
		if err != nil {
			t.Fatal(err)
		}
		if diff != "" {
			t.Error(diff)
		}
		if _, err := c.b.Submit(context.Background(), "x"); !errors.Is(err, sched.ErrRenderOnly) || !sched.IsRenderOnly(c.b) {
			t.Errorf("%s: submit: %v", c.profile, err)
		}
		if _, err := c.b.Render(sched.JobSpec{Launcher: "srun"}); !errors.Is(err, sched.ErrRequest) {
			t.Errorf("%s: srun accepted: %v", c.profile, err)
		}
	}
}
