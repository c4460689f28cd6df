package testutil

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// EnvPython names an interpreter to use instead of the search below.
const EnvPython = "SCIBENCH_PYTHON"

var (
	pyMu    sync.Mutex
	pyFound = map[string]string{} // modules → interpreter
	pyWhy   = map[string]string{} // modules → why none was found
)

// Python returns a python3 that imports every module: $SCIBENCH_PYTHON when
// set (then the only one tried), else python3 on PATH, else
// /usr/bin/python3 (PATH may hold a pyenv python without the Debian
// packages). Without one the test FAILS, naming the Debian packages to
// install: CI installs them, and a silent skip would hide a broken reader.
// The answer is cached per module list.
func Python(t testing.TB, modules ...string) string {
	t.Helper()
	key := strings.Join(modules, ", ")
	pyMu.Lock()
	defer pyMu.Unlock()
	if p, ok := pyFound[key]; ok {
		return p
	}
	if why, ok := pyWhy[key]; ok {
		t.Fatal(why)
	}
	cands := []string{"python3", "/usr/bin/python3"}
	if p := os.Getenv(EnvPython); p != "" {
		cands = []string{p}
	}
	var tried []string
	for _, c := range cands {
		p, err := exec.LookPath(c)
		if err != nil {
			tried = append(tried, c+": not found")
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		out, err := exec.CommandContext(ctx, p, "-c", "import "+key).CombinedOutput()
		cancel()
		if err == nil {
			pyFound[key] = p
			return p
		}
		tried = append(tried, p+": "+lastLine(string(out)))
	}
	debs := make([]string, len(modules))
	for i, m := range modules {
		debs[i] = "python3-" + m
	}
	why := "no python3 with " + key + " (" + strings.Join(tried, "; ") + "): apt-get install " +
		strings.Join(debs, " ") + ", or set " + EnvPython
	pyWhy[key] = why
	t.Fatal(why)
	return ""
}

// RunPython runs script (a program text) with args under Python(t,
// modules...) with a hard timeout (the process is killed when it expires)
// and returns its standard output; a failure fails the test with stderr.
func RunPython(t testing.TB, modules []string, script string, args ...string) string {
	t.Helper()
	py := Python(t, modules...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, append([]string{"-c", script}, args...)...)
	cmd.WaitDelay = 5 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", py, strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
