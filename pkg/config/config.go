package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Sentinel errors; every *Error unwraps to one of them.
var (
	// ErrUnknownKey reports a key that the destination struct does not have.
	ErrUnknownKey = errors.New("config: unknown key")
	// ErrType reports a value that cannot be decoded into its key's type.
	ErrType = errors.New("config: wrong type")
	// ErrSyntax reports malformed YAML or a malformed --set argument.
	ErrSyntax = errors.New("config: syntax error")
	// ErrInvalid reports a value that decodes but fails validation.
	ErrInvalid = errors.New("config: invalid value")
	// ErrDestination reports a destination that is not a non-nil pointer to a struct.
	ErrDestination = errors.New("config: destination must be a non-nil pointer to a struct")
)

// SetSource is the File of errors produced by Set.
const SetSource = "--set"

// Error is a configuration error with its location. Line is 0 when unknown
// (for example for --set overrides) and Key is empty when the error is not
// about one key (for example a syntax error).
type Error struct {
	File string // config file path, or SetSource
	Line int    // 1-based line in File, 0 if unknown
	Key  string // dotted key path, e.g. "target.mode"
	Msg  string // what is wrong
	Err  error  // sentinel: ErrUnknownKey, ErrType, ErrSyntax or ErrInvalid
}

// Error formats the error as "config: FILE:LINE: key "K": MSG".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("config: ")
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteString(":")
			b.WriteString(strconv.Itoa(e.Line))
		}
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString("key ")
		b.WriteString(strconv.Quote(e.Key))
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns the sentinel error.
func (e *Error) Unwrap() error { return e.Err }

// Load decodes the YAML file at path into dst, a pointer to a struct that
// usually already holds the defaults. Keys absent from the file keep their
// values. Unknown keys, wrong types and syntax errors are returned as *Error
// (several are joined with errors.Join) naming the file, line and key. An
// empty file is not an error. Load does not validate; call Validate after
// applying overrides with Set.
func Load(path string, dst any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: read %s: %w", path, err)
	}
	return Decode(path, data, dst)
}

// Decode is Load for in-memory YAML; name is used as the File in errors.
func Decode(name string, data []byte, dst any) error {
	if err := checkDst(dst); err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(dst)
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err == nil {
		var extra yaml.Node
		if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
			return &Error{File: name, Line: extra.Line, Msg: "more than one YAML document", Err: ErrSyntax}
		}
		return nil
	}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		var root yaml.Node
		_ = yaml.Unmarshal(data, &root) // the document parsed once already
		errs := make([]error, 0, len(te.Errors))
		for _, msg := range te.Errors {
			errs = append(errs, typeError(name, msg, &root))
		}
		if len(errs) == 1 {
			return errs[0]
		}
		return errors.Join(errs...)
	}
	line, msg := splitLine(strings.TrimPrefix(err.Error(), "yaml: "))
	return &Error{File: name, Line: line, Msg: msg, Err: ErrSyntax}
}

var (
	lineRe    = regexp.MustCompile(`^line (\d+): (.*)$`)
	unknownRe = regexp.MustCompile(`^field (.+) not found in type (.+)$`)
)

func splitLine(msg string) (int, string) {
	m := lineRe.FindStringSubmatch(msg)
	if m == nil {
		return 0, msg
	}
	n, _ := strconv.Atoi(m[1])
	return n, m[2]
}

// typeError turns one of yaml.TypeError's messages into an *Error, finding
// the dotted key at that line in the parsed document.
func typeError(file, raw string, root *yaml.Node) *Error {
	line, msg := splitLine(raw)
	e := &Error{File: file, Line: line, Msg: msg, Err: ErrType}
	if m := unknownRe.FindStringSubmatch(msg); m != nil {
		e.Err = ErrUnknownKey
		e.Msg = "unknown key (not a field of " + m[2] + ")"
		if p := keyAtLine(root, line, m[1]); p != "" {
			e.Key = p
		} else {
			e.Key = m[1]
		}
		return e
	}
	if strings.Contains(msg, "already defined") || strings.Contains(msg, "already set") {
		e.Err = ErrSyntax
	}
	e.Key = keyAtLine(root, line, "")
	return e
}

// keyAtLine returns the dotted path of the mapping key on line (named want,
// when want is not empty), or of the key whose value starts on line.
func keyAtLine(n *yaml.Node, line int, want string) string {
	var best string
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		if n == nil || best != "" {
			return
		}
		switch n.Kind {
		case yaml.DocumentNode, yaml.SequenceNode:
			for i, c := range n.Content {
				p := prefix
				if n.Kind == yaml.SequenceNode {
					p = prefix + "[" + strconv.Itoa(i) + "]"
					if want == "" && c.Kind == yaml.ScalarNode && c.Line == line {
						best = p
						return
					}
				}
				walk(c, p)
			}
		case yaml.AliasNode:
			// aliases point into nodes that are walked where defined
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := k.Value
				if prefix != "" {
					p = prefix + "." + k.Value
				}
				if k.Line == line && (want == "" || k.Value == want) {
					best = p
					return
				}
				if want == "" && v.Line == line && v.Kind == yaml.ScalarNode {
					best = p
					return
				}
				walk(v, p)
				if best != "" {
					return
				}
			}
		}
	}
	walk(n, "")
	return best
}
