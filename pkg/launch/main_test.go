//go:build linux

package launch

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scibench/scibench/pkg/cluster"
)

// Test workers: the test binary re-executes itself with these variables.
const (
	envMode     = "SCIBENCH_LAUNCH_TEST_MODE"
	envFailRank = "SCIBENCH_LAUNCH_TEST_FAIL_RANK"
	envDir      = "SCIBENCH_LAUNCH_TEST_DIR" // for the ready files of barrier
)

// ready marks this rank ready; barrier waits (at most 30 s) until every
// rank is, so that a failing rank fails only once the others are running.
func ready(rank int) {
	if dir := os.Getenv(envDir); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, "ready-"+strconv.Itoa(rank)), nil, 0o600)
	}
}

func barrier(world int) {
	dir := os.Getenv(envDir)
	if dir == "" {
		return
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		n, _ := filepath.Glob(filepath.Join(dir, "ready-*"))
		if len(n) >= world {
			return
		}
	}
}

func TestMain(m *testing.M) {
	if mode := os.Getenv(envMode); mode != "" {
		os.Exit(testWorker(mode))
	}
	os.Exit(m.Run())
}

// sleepForever blocks until a signal ends the process; the hour is a last
// resort in case every test-side safeguard failed.
func sleepForever() { time.Sleep(time.Hour) }

func testWorker(mode string) int {
	info, ok, err := cluster.FromEnv(os.LookupEnv)
	if err != nil || !ok {
		fmt.Fprintf(os.Stderr, "worker: FromEnv: ok=%v err=%v\n", ok, err)
		return 2
	}
	failRank, _ := strconv.Atoi(os.Getenv(envFailRank))
	switch mode {
	case "ok":
		fmt.Printf("env rank=%d world=%d local=%d/%d master=%s:%d job=%s toklen=%d source=%s hosts=%s dev=%s\n",
			info.Rank, info.WorldSize, info.LocalRank, info.LocalWorldSize, info.MasterAddr, info.MasterPort,
			info.JobID, len(info.Token), info.Source, strings.Join(info.Hosts, ","), os.Getenv("TEST_DEVICE"))
		fmt.Fprintf(os.Stderr, "to stderr %d\n", info.Rank)
		fmt.Printf("token=%s\n", info.Token)
		fmt.Printf("partial tail %d", info.Rank) // no newline
		return 0
	case "flood":
		// Many lines, some longer than the 64 KiB read buffer, written in
		// small pieces so that lines from different ranks would interleave
		// if the launcher did not buffer them.
		payload := strings.Repeat(strconv.Itoa(info.Rank), 100<<10)
		for i := 0; i < 200; i++ {
			n := 10 + (i*7919)%200
			if i%50 == 0 {
				n = len(payload)
			}
			line := fmt.Sprintf("%d:%d:%s\n", info.Rank, i, payload[:n])
			for len(line) > 0 {
				k := min(len(line), 7)
				os.Stdout.WriteString(line[:k])
				line = line[k:]
			}
		}
		return 0
	case "fail":
		if info.Rank == failRank {
			ready(info.Rank)
			barrier(info.WorldSize)
			time.Sleep(300 * time.Millisecond)
			fmt.Println("failing now")
			return 3
		}
		fmt.Println("ready")
		ready(info.Rank)
		sleepForever()
	case "report":
		// The failing rank exits 3; the others notice after 200 ms (as a
		// collective does when a peer is gone), print it and exit 1.
		ready(info.Rank)
		barrier(info.WorldSize)
		if info.Rank == failRank {
			return 3
		}
		time.Sleep(200 * time.Millisecond)
		fmt.Printf("saw rank %d go\n", failRank)
		return 1
	case "ignore-term":
		if info.Rank == failRank {
			ready(info.Rank)
			barrier(info.WorldSize)
			time.Sleep(300 * time.Millisecond)
			return 3
		}
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("ready, ignoring SIGTERM")
		ready(info.Rank)
		sleepForever()
	case "sleep":
		fmt.Println("ready")
		sleepForever()
	case "selfkill":
		if info.Rank == failRank {
			time.Sleep(200 * time.Millisecond)
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			sleepForever()
		}
		sleepForever()
	case "grandchild", "grandchild-exit0":
		// Start a child in the same process group and report its pid.
		c := exec.Command(os.Args[0])
		c.Env = append(os.Environ(), envMode+"=child")
		if err := c.Start(); err != nil {
			fmt.Println("start child:", err)
			return 2
		}
		fmt.Printf("grandchild %d\n", c.Process.Pid)
		if mode == "grandchild-exit0" {
			return 0
		}
		ready(info.Rank)
		if info.Rank == failRank {
			barrier(info.WorldSize)
			return 3
		}
		sleepForever()
	case "child":
		signal.Ignore(syscall.SIGTERM)
		sleepForever()
	}
	return 0
}
