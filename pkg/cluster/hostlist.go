package cluster

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxHosts bounds the expansion of one host list, so that a typo such as
// "n[0-999999999]" is an error rather than an out-of-memory crash.
const MaxHosts = 1 << 20

// ExpandHostList expands a Slurm host list into host names, in order.
//
// The syntax is Slurm's: items separated by commas outside brackets; each
// item is a literal with zero or more bracket groups, each group a
// comma-separated list of numbers and inclusive ranges lo-hi. Zero padding is
// kept: the width of lo sets the width of every number of that range. Several
// groups in one item expand as a cartesian product, leftmost slowest:
//
//	"gpu[01-03,07],login1"   → gpu01 gpu02 gpu03 gpu07 login1
//	"n[1-2]-ib,a[008-010]"   → n1-ib n2-ib a008 a009 a010
//	"r[1-2]n[1-2]"           → r1n1 r1n2 r2n1 r2n2
//
// Duplicates are kept (see [FromEnv], which removes them). An empty string
// expands to no hosts. Malformed input (unbalanced or nested brackets, empty
// items or ranges, non-numeric bounds, lo > hi, more than [MaxHosts] names)
// returns an error wrapping [ErrHostList] that quotes the offending part.
func ExpandHostList(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	items, err := splitTopLevel(s)
	if err != nil {
		return nil, err
	}
	var hosts []string
	for _, it := range items {
		it = strings.TrimSpace(it)
		if it == "" {
			return nil, fmt.Errorf("%w: empty item in %q", ErrHostList, s)
		}
		hosts, err = expandItem(hosts, it)
		if err != nil {
			return nil, err
		}
	}
	return hosts, nil
}

// splitTopLevel splits s at commas that are not inside brackets and checks
// that brackets are balanced and not nested.
func splitTopLevel(s string) ([]string, error) {
	var items []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			if depth > 0 {
				return nil, fmt.Errorf("%w: nested '[' at offset %d in %q", ErrHostList, i, s)
			}
			depth++
		case ']':
			if depth == 0 {
				return nil, fmt.Errorf("%w: unmatched ']' at offset %d in %q", ErrHostList, i, s)
			}
			depth--
		case ',':
			if depth == 0 {
				items = append(items, s[start:i])
				start = i + 1
			}
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("%w: unclosed '[' in %q", ErrHostList, s)
	}
	return append(items, s[start:]), nil
}

// expandItem appends the expansion of one item (no top-level commas, brackets
// balanced) to dst.
func expandItem(dst []string, item string) ([]string, error) {
	open := strings.IndexByte(item, '[')
	if open < 0 {
		if strings.ContainsAny(item, " \t]") {
			return nil, fmt.Errorf("%w: bad host name %q", ErrHostList, item)
		}
		return append(dst, item), nil
	}
	end := strings.IndexByte(item[open:], ']') + open
	prefix, group, rest := item[:open], item[open+1:end], item[end+1:]
	nums, err := expandGroup(group, item)
	if err != nil {
		return nil, err
	}
	// Expand the rest once, then combine (rest is the same for every number).
	var tails []string
	if rest == "" {
		tails = []string{""}
	} else {
		tails, err = expandItem(nil, rest)
		if err != nil {
			return nil, err
		}
	}
	if len(dst)+len(nums)*len(tails) > MaxHosts {
		return nil, fmt.Errorf("%w: %q expands to more than %d hosts", ErrHostList, item, MaxHosts)
	}
	for _, n := range nums {
		for _, t := range tails {
			dst = append(dst, prefix+n+t)
		}
	}
	return dst, nil
}

// expandGroup expands the inside of one bracket group, e.g. "01-04,07".
func expandGroup(group, item string) ([]string, error) {
	if group == "" {
		return nil, fmt.Errorf("%w: empty brackets in %q", ErrHostList, item)
	}
	var out []string
	for _, part := range strings.Split(group, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		if lo == "" || (isRange && hi == "") {
			return nil, fmt.Errorf("%w: empty range %q in %q", ErrHostList, part, item)
		}
		l, err := parseDigits(lo)
		if err != nil {
			return nil, fmt.Errorf("%w: bad number %q in %q", ErrHostList, lo, item)
		}
		h := l
		if isRange {
			if h, err = parseDigits(hi); err != nil {
				return nil, fmt.Errorf("%w: bad number %q in %q", ErrHostList, hi, item)
			}
		}
		if h < l {
			return nil, fmt.Errorf("%w: range %q in %q runs backwards", ErrHostList, part, item)
		}
		if h-l >= MaxHosts || len(out)+int(h-l+1) > MaxHosts {
			return nil, fmt.Errorf("%w: %q expands to more than %d hosts", ErrHostList, item, MaxHosts)
		}
		width := len(lo)
		for v := l; v <= h; v++ {
			s := strconv.FormatUint(v, 10)
			if len(s) < width {
				s = strings.Repeat("0", width-len(s)) + s
			}
			out = append(out, s)
		}
	}
	return out, nil
}

// parseDigits parses a non-empty string of ASCII digits (no sign, no spaces).
func parseDigits(s string) (uint64, error) {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, strconv.ErrSyntax
		}
	}
	return strconv.ParseUint(s, 10, 32)
}

// expandTasksPerNode expands Slurm's compressed per-node task counts, such as
// SLURM_STEP_TASKS_PER_NODE="2(x3),1" → [2 2 2 1].
func expandTasksPerNode(key, s string) ([]int, error) {
	var out []int
	for _, part := range strings.Split(strings.TrimSpace(s), ",") {
		count, rep := part, "1"
		if i := strings.IndexByte(part, '('); i >= 0 {
			if !strings.HasPrefix(part[i:], "(x") || !strings.HasSuffix(part, ")") {
				return nil, fmt.Errorf("%w: %s=%q: bad repeat %q", ErrBadValue, key, s, part)
			}
			count, rep = part[:i], part[i+2:len(part)-1]
		}
		c, err1 := parseDigits(count)
		r, err2 := parseDigits(rep)
		if count == "" || rep == "" || err1 != nil || err2 != nil || c == 0 || r == 0 {
			return nil, fmt.Errorf("%w: %s=%q: bad element %q", ErrBadValue, key, s, part)
		}
		if len(out)+int(r) > MaxHosts {
			return nil, fmt.Errorf("%w: %s=%q: more than %d nodes", ErrBadValue, key, s, MaxHosts)
		}
		for j := uint64(0); j < r; j++ {
			out = append(out, int(c))
		}
	}
	return out, nil
}
