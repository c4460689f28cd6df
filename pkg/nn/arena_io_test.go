package nn

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

func testArena(seed uint64, names ...string) *Arena {
	a := NewArena()
	rng := rand.New(rand.NewPCG(seed, 1))
	for i, n := range names {
		p := a.Param(n, 2+i, 3)
		for j := range p.W {
			p.W[j] = float32(rng.NormFloat64())
		}
	}
	a.Build()
	return a
}

func TestArenaSaveLoadRoundTrip(t *testing.T) {
	src := testArena(1, "a.kernel", "a.bias", "b")
	var buf bytes.Buffer
	if err := src.Save(&buf); err != nil {
		t.Fatal(err)
	}
	dst := testArena(2, "a.kernel", "a.bias", "b")
	if err := dst.Load(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	for i := range src.Data {
		if src.Data[i] != dst.Data[i] {
			t.Fatalf("value %d: %g, want %g", i, dst.Data[i], src.Data[i])
		}
	}
	// Loading before Build fills the placeholders.
	pre := NewArena()
	pre.Param("a.kernel", 2, 3)
	pre.Param("a.bias", 3, 3)
	pre.Param("b", 4, 3)
	if err := pre.Load(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	pre.Build()
	for i := range src.Data {
		if src.Data[i] != pre.Data[i] {
			t.Fatalf("unbuilt load: value %d differs", i)
		}
	}
}

func TestArenaLoadRejectsBadFiles(t *testing.T) {
	src := testArena(1, "w", "b")
	var buf bytes.Buffer
	if err := src.Save(&buf); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	dst := testArena(3, "w", "b")
	orig := append([]float32(nil), dst.Data...)
	unchanged := func(what string) {
		t.Helper()
		for i := range orig {
			if dst.Data[i] != orig[i] {
				t.Fatalf("%s: arena modified by a failed load", what)
			}
		}
	}
	for n := 0; n < len(good); n++ {
		err := dst.Load(bytes.NewReader(good[:n]))
		if !errors.Is(err, ErrArenaFormat) {
			t.Fatalf("truncated at %d of %d bytes: err %v, want ErrArenaFormat", n, len(good), err)
		}
		unchanged("truncated")
	}
	for i := 0; i < len(good); i++ {
		bad := append([]byte(nil), good...)
		bad[i] ^= 0x20
		if err := dst.Load(bytes.NewReader(bad)); err == nil {
			t.Fatalf("flipped byte %d: no error", i)
		}
		unchanged("corrupt")
	}
	for _, c := range []struct {
		name string
		a    *Arena
	}{
		{"renamed", testArena(1, "w", "c")},
		{"fewer", testArena(1, "w")},
		{"more", testArena(1, "w", "b", "c")},
	} {
		if err := c.a.Load(bytes.NewReader(good)); !errors.Is(err, ErrArenaMismatch) {
			t.Errorf("%s: err %v, want ErrArenaMismatch", c.name, err)
		}
	}
	reshaped := NewArena()
	reshaped.Param("w", 3, 2)
	reshaped.Param("b", 3, 3)
	reshaped.Build()
	if err := reshaped.Load(bytes.NewReader(good)); !errors.Is(err, ErrArenaMismatch) {
		t.Errorf("reshaped: err %v, want ErrArenaMismatch", err)
	}
	bad := append([]byte(nil), good...)
	bad[len(bad)-1] ^= 1
	if err := dst.Load(bytes.NewReader(bad)); !errors.Is(err, ErrArenaChecksum) {
		t.Errorf("bad crc: err %v, want ErrArenaChecksum", err)
	}
}
