package kernels

import (
	"regexp"
	"strings"
)

// Param is one declared parameter of a kernel: its C type ("const float *")
// and name.
type Param struct {
	Type, Name string
}

// Kind returns the parameter kind of the C type: Ptr, Int, Float, Double,
// or '?' for a type the launch helpers do not pass.
func (p Param) Kind() byte {
	t := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(p.Type), "const "))
	switch {
	case strings.Contains(t, "*"):
		return Ptr
	case t == "int":
		return Int
	case t == "float":
		return Float
	case t == "double":
		return Double
	}
	return '?'
}

// Decl is one extern "C" __global__ kernel found in a source file.
type Decl struct {
	Name    string
	Params  []Param
	Comment string // the // comment lines right above the declaration, without "//"
}

// Kinds returns the kinds of the parameters, one byte each, as in
// Kernel.Params.
func (d Decl) Kinds() string {
	b := make([]byte, len(d.Params))
	for i, p := range d.Params {
		b[i] = p.Kind()
	}
	return string(b)
}

var declRE = regexp.MustCompile(`(?s)extern\s+"C"\s+__global__\s+void\s+(\w+)\s*\(([^)]*)\)`)

// Parse finds the extern "C" __global__ kernels of a CUDA C source, with
// their parameters and the comment above each. It reads declarations, not
// C: it expects the plain form used in this package (one parameter list
// without function pointers or macros).
func Parse(src string) []Decl {
	var out []Decl
	for _, m := range declRE.FindAllStringSubmatchIndex(src, -1) {
		d := Decl{Name: src[m[2]:m[3]]}
		for _, p := range strings.Split(src[m[4]:m[5]], ",") {
			p = strings.Join(strings.Fields(p), " ")
			if p == "" || p == "void" {
				continue
			}
			i := strings.LastIndexAny(p, " *")
			d.Params = append(d.Params, Param{Type: strings.TrimSpace(p[:i+1]), Name: p[i+1:]})
		}
		// comment lines directly above
		lines := strings.Split(src[:m[0]], "\n")
		var com []string
		for i := len(lines) - 2; i >= 0; i-- {
			l := strings.TrimSpace(lines[i])
			if !strings.HasPrefix(l, "//") {
				break
			}
			com = append([]string{strings.TrimSpace(strings.TrimPrefix(l, "//"))}, com...)
		}
		d.Comment = strings.Join(com, "\n")
		out = append(out, d)
	}
	return out
}
