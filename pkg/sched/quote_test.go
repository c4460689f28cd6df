package sched

import (
	"context"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
	"time"
)

var hostile = []string{
	"", " ", "plain", "with space", "it's", "'", "''", `"`, `\`, `\'`, "$(touch /tmp/pwned)", "`id`", "${HOME}",
	"$HOME", "a;b", "a&&b", "a|b", "a\nb", "line\n#SBATCH --wrap=x", "*", "?", "[a]", "~root", "=x", "-n",
	"tab\there", "!bang", "#hash", "{a,b}", "<in", ">out", "x=$(id)", "\x01\x7f", "ümlaut", "a'b'c'", "%j",
}

// TestQuoteShell feeds every quoted word to a real shell and checks it
// expands back to the original, on fixed hostile strings and random bytes.
func TestQuoteShell(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatalf("no sh: %v", err)
	}
	words := append([]string(nil), hostile...)
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		b := make([]byte, r.IntN(12))
		for i := range b {
			b[i] = byte(1 + r.IntN(255)) // no NUL: argv cannot carry it
		}
		words = append(words, string(b))
	}
	// printf '%s\0' WORD...  — one shell, every word
	script := "printf '%s\\0' " + QuoteArgs(words)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, sh, "-c", script).Output()
	if err != nil {
		t.Fatalf("sh: %v", err)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	if len(got) != len(words) {
		t.Fatalf("shell saw %d words, want %d", len(got), len(words))
	}
	for i := range words {
		if got[i] != words[i] {
			t.Errorf("Quote(%q) = %s expands to %q", words[i], Quote(words[i]), got[i])
		}
	}
}

func TestQuoteBare(t *testing.T) {
	for in, want := range map[string]string{
		"abc": "abc", "/a/b-c_d.e": "/a/b-c_d.e", "k=v": "k=v", "": "''", "a b": "'a b'", "it's": `'it'\''s'`,
		"=x": "'=x'", "~": "'~'",
	} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestCheckDirective(t *testing.T) {
	for _, ok := range []string{"debug", "ABC123", "/abs/path-1.2", "gpu:a100"} {
		if err := CheckDirective("x", ok); err != nil {
			t.Errorf("%q rejected: %v", ok, err)
		}
	}
	for _, bad := range hostile {
		if bad == "plain" || bad == "%j" || bad == "-n" || bad == "=x" || bad == "~root" {
			continue
		}
		if err := CheckDirective("x", bad); err == nil {
			t.Errorf("%q accepted in a directive", bad)
		}
	}
}
