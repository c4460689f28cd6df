package main

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestTrainBenchJSON(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"train-bench", "--model", "lstm-small,lstm", "--batch", "4", "--steps", "2", "--json"}, &out, &errb)
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(lines), out.String())
	}
	for i, line := range lines {
		var obj map[string]any
		if err := json.Unmarshal([]byte(line), &obj); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if want := []string{"batch", "gflops", "model", "params", "samples_per_s", "threads"}; !slices.Equal(keys, want) {
			t.Errorf("keys %v, want %v", keys, want)
		}
		if obj["model"] != []string{"lstm-small", "lstm"}[i] || obj["batch"] != 4.0 || obj["samples_per_s"].(float64) <= 0 || obj["gflops"].(float64) <= 0 {
			t.Errorf("line %d: %v", i, obj)
		}
	}
}

func TestTrainBenchTableAndErrors(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"train-bench", "--model", "lstm-small", "--batch", "2", "--steps", "1"}, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if s := out.String(); !strings.Contains(s, "samples_per_s") || !strings.Contains(s, "lstm-small") || !strings.Contains(s, "8664") {
		t.Errorf("table output:\n%s", s)
	}
	for _, args := range [][]string{
		{"--model", "nope"},
		{"--batch", "-1"},
		{"--threads", "0"},
		{"--steps", "0"},
		{"--bogus"},
		{"extra"},
	} {
		errb.Reset()
		if code := run(context.Background(), append([]string{"train-bench"}, args...), &out, &errb); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
		if errb.Len() == 0 {
			t.Errorf("%v: no message", args)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if code := run(ctx, []string{"train-bench", "--model", "lstm-small", "--batch", "2"}, &out, &errb); code != exitInterrupted {
		t.Errorf("cancelled: exit %d, want %d", code, exitInterrupted)
	}
}
