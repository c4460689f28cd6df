package cluster

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

func TestExpandHostList(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"  ", nil},
		{"login1", []string{"login1"}},
		{"gpu[01-04,07],login1", []string{"gpu01", "gpu02", "gpu03", "gpu04", "gpu07", "login1"}},
		{"n[1-2]-ib,a[008-010]", []string{"n1-ib", "n2-ib", "a008", "a009", "a010"}},
		{"r[1-2]n[1-2]", []string{"r1n1", "r1n2", "r2n1", "r2n2"}},
		{"node[9-11]", []string{"node9", "node10", "node11"}},
		{"node[098-101]", []string{"node098", "node099", "node100", "node101"}},
		{"x3006c0s13b[0-1]n0", []string{"x3006c0s13b0n0", "x3006c0s13b1n0"}},
		{"a[1],b", []string{"a1", "b"}},
		{"[1-3]", []string{"1", "2", "3"}},
		{"h1,h1", []string{"h1", "h1"}},
		{" a , b ", []string{"a", "b"}},
	}
	for _, tt := range tests {
		got, err := ExpandHostList(tt.in)
		if err != nil {
			t.Errorf("ExpandHostList(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ExpandHostList(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestExpandHostListErrors(t *testing.T) {
	for _, in := range []string{
		"n[1-", "n1-2]", "n[[1-2]]", "n[]", "n[1-]", "n[-2]", "n[a-b]", "n[3-1]",
		"a,,b", "a,", ",a", "n[1,,2]", "n[+1-2]", "n[0-999999999]", "n[1-2][0-999999]",
		"n[ 1-2]", "a b", "n[1-2]x]",
	} {
		got, err := ExpandHostList(in)
		if !errors.Is(err, ErrHostList) {
			t.Errorf("ExpandHostList(%q) = %q, %v; want ErrHostList", in, got, err)
			continue
		}
		if !strings.Contains(err.Error(), "cluster: bad host list") {
			t.Errorf("ExpandHostList(%q) error %q lacks the package prefix", in, err)
		}
	}
}

// compress is a naive reference: it writes hosts as Slurm syntax with one
// bracket group per host name and random grouping of runs.
func compress(r *rand.Rand, prefixes []string, nums []int, width int) string {
	var items []string
	for i := 0; i < len(nums); {
		j := i + 1
		for j < len(nums) && prefixes[j] == prefixes[i] && r.IntN(4) != 0 {
			j++
		}
		var parts []string
		for k := i; k < j; {
			l := k + 1
			for l < j && nums[l] == nums[l-1]+1 {
				l++
			}
			if l-k == 1 {
				parts = append(parts, fmt.Sprintf("%0*d", width, nums[k]))
			} else {
				parts = append(parts, fmt.Sprintf("%0*d-%0*d", width, nums[k], width, nums[l-1]))
			}
			k = l
		}
		if j-i == 1 && r.IntN(2) == 0 {
			items = append(items, fmt.Sprintf("%s%0*d", prefixes[i], width, nums[i]))
		} else {
			items = append(items, prefixes[i]+"["+strings.Join(parts, ",")+"]")
		}
		i = j
	}
	return strings.Join(items, ",")
}

// TestExpandHostListRandom compresses random host lists naively and checks
// that expansion gives them back.
func TestExpandHostListRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 500; iter++ {
		n := 1 + r.IntN(40)
		width := 1 + r.IntN(4)
		var want, prefixes []string
		var nums []int
		v := r.IntN(5)
		for i := 0; i < n; i++ {
			p := []string{"gpu", "n", "x1000c0s"}[r.IntN(3)]
			v += 1 + r.IntN(3)*r.IntN(2)
			if v >= 1000 {
				v = 0
			}
			prefixes = append(prefixes, p)
			nums = append(nums, v)
			want = append(want, fmt.Sprintf("%s%0*d", p, width, v))
		}
		s := compress(r, prefixes, nums, width)
		got, err := ExpandHostList(s)
		if err != nil {
			t.Fatalf("ExpandHostList(%q): %v", s, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("ExpandHostList(%q) =\n%q\nwant\n%q", s, got, want)
		}
	}
}

func TestExpandTasksPerNode(t *testing.T) {
	got, err := expandTasksPerNode("K", "2(x3),1,4")
	if err != nil || !reflect.DeepEqual(got, []int{2, 2, 2, 1, 4}) {
		t.Errorf("got %v, %v", got, err)
	}
	for _, bad := range []string{"", "2(x)", "2(3)", "x", "0", "2(x0)", "2(x3", ",1"} {
		if _, err := expandTasksPerNode("SLURM_STEP_TASKS_PER_NODE", bad); !errors.Is(err, ErrBadValue) ||
			!strings.Contains(err.Error(), "SLURM_STEP_TASKS_PER_NODE") {
			t.Errorf("expandTasksPerNode(%q) err = %v", bad, err)
		}
	}
}
