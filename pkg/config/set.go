package config

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

var durationType = reflect.TypeFor[time.Duration]()

func checkDst(dst any) error {
	v := reflect.ValueOf(dst)
	if !v.IsValid() || v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("%w (got %T)", ErrDestination, dst)
	}
	return nil
}

// Set applies one `--set key=value` override to dst, a pointer to a config
// struct. key is a dotted path of yaml tag names ("target.metric"); the last
// element may also name an entry of a map[string]T. The value is parsed for
// the field's type: strings are taken verbatim; integers, floats and bools
// with strconv; time.Duration with time.ParseDuration ("90s"); slices as a
// comma-separated list ("1,2,4", empty for an empty slice) or a YAML flow
// sequence ("[1, 2, 4]"); anything else as YAML. Errors are *Error with
// File SetSource and the full key.
func Set(dst any, kv string) error {
	if err := checkDst(dst); err != nil {
		return err
	}
	key, val, ok := strings.Cut(kv, "=")
	key = strings.TrimSpace(key)
	if !ok || key == "" {
		return &Error{File: SetSource, Key: key, Msg: fmt.Sprintf("want key=value, got %q", kv), Err: ErrSyntax}
	}
	v := reflect.ValueOf(dst).Elem()
	parts := strings.Split(key, ".")
	for i, part := range parts {
		path := strings.Join(parts[:i+1], ".")
		if part == "" {
			return &Error{File: SetSource, Key: key, Msg: "empty element in dotted key", Err: ErrSyntax}
		}
		v = derefAlloc(v)
		switch v.Kind() {
		case reflect.Struct:
			f, ok := fieldByTag(v, part)
			if !ok {
				return &Error{File: SetSource, Key: path, Err: ErrUnknownKey,
					Msg: "unknown key (known: " + strings.Join(tagNames(v.Type()), ", ") + ")"}
			}
			v = f
		case reflect.Map:
			if v.Type().Key().Kind() != reflect.String {
				return &Error{File: SetSource, Key: path, Msg: "map keys are not strings", Err: ErrType}
			}
			if i != len(parts)-1 {
				return &Error{File: SetSource, Key: path, Msg: "cannot set inside a map entry", Err: ErrUnknownKey}
			}
			if v.IsNil() {
				v.Set(reflect.MakeMap(v.Type()))
			}
			elem := reflect.New(v.Type().Elem()).Elem()
			if err := assign(elem, val, key); err != nil {
				return err
			}
			v.SetMapIndex(reflect.ValueOf(part).Convert(v.Type().Key()), elem)
			return nil
		default:
			return &Error{File: SetSource, Key: path, Err: ErrUnknownKey,
				Msg: fmt.Sprintf("%q is a %s, not a mapping", strings.Join(parts[:i], "."), v.Type())}
		}
	}
	return assign(v, val, key)
}

func derefAlloc(v reflect.Value) reflect.Value {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		v = v.Elem()
	}
	return v
}

// yamlName returns the key gopkg.in/yaml.v3 uses for f, whether f is
// inlined, and whether f is skipped.
func yamlName(f reflect.StructField) (name string, inline, skip bool) {
	if !f.IsExported() {
		return "", false, true
	}
	tag := f.Tag.Get("yaml")
	if tag == "-" {
		return "", false, true
	}
	name, opts, _ := strings.Cut(tag, ",")
	for o := range strings.SplitSeq(opts, ",") {
		if o == "inline" {
			return "", true, false
		}
	}
	if name == "" {
		name = strings.ToLower(f.Name)
	}
	return name, false, false
}

func fieldByTag(v reflect.Value, name string) (reflect.Value, bool) {
	t := v.Type()
	for i := range t.NumField() {
		n, inline, skip := yamlName(t.Field(i))
		if skip {
			continue
		}
		if inline {
			fv := v.Field(i)
			if fv.Kind() == reflect.Pointer && fv.Type().Elem().Kind() == reflect.Struct {
				fv = derefAlloc(fv)
			}
			if fv.Kind() == reflect.Struct {
				if f, ok := fieldByTag(fv, name); ok {
					return f, true
				}
			}
			continue
		}
		if n == name {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

func tagNames(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		n, inline, skip := yamlName(t.Field(i))
		switch {
		case skip:
		case inline:
			ft := t.Field(i).Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				out = append(out, tagNames(ft)...)
			}
		default:
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// assign parses val into v according to v's type.
func assign(v reflect.Value, val, key string) error {
	v = derefAlloc(v)
	bad := func(err error) error {
		return &Error{File: SetSource, Key: key, Err: ErrType,
			Msg: fmt.Sprintf("cannot use %q as %s: %v", val, v.Type(), err)}
	}
	s := strings.TrimSpace(val)
	if v.Type() == durationType {
		d, err := time.ParseDuration(s)
		if err != nil {
			return bad(err)
		}
		v.SetInt(int64(d))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(val)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return bad(err)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 0, v.Type().Bits())
		if err != nil {
			return bad(err)
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(s, 0, v.Type().Bits())
		if err != nil {
			return bad(err)
		}
		v.SetUint(n)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(s, v.Type().Bits())
		if err != nil {
			return bad(err)
		}
		v.SetFloat(f)
	case reflect.Slice:
		if strings.HasPrefix(s, "[") {
			return decodeYAML(v, s, bad)
		}
		out := reflect.MakeSlice(v.Type(), 0, 0)
		if s != "" {
			for item := range strings.SplitSeq(s, ",") {
				e := reflect.New(v.Type().Elem()).Elem()
				if err := assign(e, strings.TrimSpace(item), key); err != nil {
					return err
				}
				out = reflect.Append(out, e)
			}
		}
		v.Set(out)
	default:
		if s == "" {
			return bad(fmt.Errorf("empty value"))
		}
		return decodeYAML(v, s, bad)
	}
	return nil
}

func decodeYAML(v reflect.Value, s string, bad func(error) error) error {
	p := reflect.New(v.Type())
	dec := yaml.NewDecoder(bytes.NewReader([]byte(s)))
	dec.KnownFields(true)
	if err := dec.Decode(p.Interface()); err != nil {
		return bad(err)
	}
	v.Set(p.Elem())
	return nil
}
