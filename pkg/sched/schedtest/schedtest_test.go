package schedtest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckTasks(t *testing.T) {
	good := "x\nscibench-task rank=1 host=n1 cvd=1\nscibench-task rank=0 host=n1 cvd=0\nscibench-task rank=2 host=n2 cvd=0\nscibench-task rank=3 host=n2 cvd=1\n"
	tasks, err := ParseTasks([]byte(good))
	if err != nil || len(tasks) != 4 {
		t.Fatal(tasks, err)
	}
	p := Point{Workers: 4, Nodes: 2, GPUsPerTask: 1, Hosts: []string{"n1", "n2"}}
	if err := CheckTasks(tasks, p); err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string]string{
		"shared GPU":  strings.Replace(good, "rank=1 host=n1 cvd=1", "rank=1 host=n1 cvd=0", 1),
		"two GPUs":    strings.Replace(good, "cvd=1\n", "cvd=1,0\n", 1),
		"no GPU":      strings.Replace(good, "cvd=1\n", "cvd=unset\n", 1),
		"one host":    strings.ReplaceAll(good, "n2", "n1"),
		"stray host":  strings.Replace(good, "host=n2", "host=n3", 1),
		"repeat rank": strings.Replace(good, "rank=3", "rank=2", 1),
		"missing":     strings.Replace(good, "scibench-task rank=3 host=n2 cvd=1\n", "", 1),
	} {
		tasks, err := ParseTasks([]byte(bad))
		if err == nil {
			err = CheckTasks(tasks, p)
		}
		if !errors.Is(err, ErrCheck) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestCheckSweep(t *testing.T) {
	dir := t.TempDir()
	run := filepath.Join(dir, "w002")
	if err := os.MkdirAll(run, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(run, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("output.log", "scibench-task rank=0 host=a cvd=0\nscibench-task rank=1 host=a cvd=1\n")
	write("result.json", `{"status":"success","world_size":2,"nodes":1}`)
	pts := []Point{{Workers: 2, Nodes: 1, GPUsPerTask: 1}}
	if err := CheckSweep(dir, pts); err != nil {
		t.Fatal(err)
	}
	write("result.json", `{"status":"success","world_size":2,`) // truncated
	if err := CheckSweep(dir, pts); !errors.Is(err, ErrCheck) {
		t.Fatal(err)
	}
	write("result.json", `{"status":"failed","world_size":2,"nodes":1}`)
	if err := CheckSweep(dir, pts); !errors.Is(err, ErrCheck) {
		t.Fatal(err)
	}
}
