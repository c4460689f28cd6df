package cluster_test

import (
	"fmt"

	"github.com/scibench/scibench/pkg/cluster"
)

func ExampleExpandHostList() {
	hosts, err := cluster.ExpandHostList("gpu[01-03,07],login1")
	fmt.Println(hosts, err)
	_, err = cluster.ExpandHostList("gpu[03-01]")
	fmt.Println(err)
	// Output:
	// [gpu01 gpu02 gpu03 gpu07 login1] <nil>
	// cluster: bad host list: range "03-01" in "gpu[03-01]" runs backwards
}

func ExampleFromEnv() {
	env := map[string]string{ // what srun -N2 -n8 sets, in part
		"SLURM_JOB_ID": "123456", "SLURM_STEP_ID": "0", "SLURM_PROCID": "5", "SLURM_NTASKS": "8",
		"SLURM_LOCALID": "1", "SLURM_NODEID": "1", "SLURM_STEP_NODELIST": "gpu[01-02]",
		"SLURM_STEP_TASKS_PER_NODE": "4(x2)", "SCIBENCH_TOKEN": "0123456789abcdef0123456789abcdef",
	}
	info, ok, err := cluster.FromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	fmt.Println(ok, err)
	fmt.Printf("%s rank %d/%d local %d/%d hosts %v master %s\n", info.Source, info.Rank, info.WorldSize,
		info.LocalRank, info.LocalWorldSize, info.Hosts, info.MasterAddr)

	env = map[string]string{"SLURM_PROCID": "4", "SLURM_NTASKS": "4", "SLURM_LOCALID": "0"}
	_, _, err = cluster.FromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	fmt.Println(err)
	// Output:
	// true <nil>
	// slurm rank 5/8 local 1/4 hosts [gpu01 gpu02] master gpu01
	// cluster: inconsistent environment: SLURM_PROCID/SLURM_NTASKS: rank 4 >= world size 4
}
