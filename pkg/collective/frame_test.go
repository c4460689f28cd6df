package collective

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// decodeAny decodes one frame and its payload as the receiver would.
func decodeAny(data []byte) (kind uint8, v any, err error) {
	kind, p, err := readFrame(bytes.NewReader(data))
	if err != nil {
		return 0, nil, err
	}
	switch kind {
	case frameHello:
		v, err = decodeHello(p)
	case frameTable:
		v, err = decodeTable(p)
	case frameReport:
		v, err = decodeReport(p)
	case frameVerdict:
		v, err = decodeVerdict(p)
	case frameOp:
		var o opHeader
		o.parse(p)
		v = o
	default:
		v = p
	}
	return kind, v, err
}

func frameBytes(kind uint8, payload []byte) []byte {
	var b bytes.Buffer
	_ = writeFrame(&b, kind, payload)
	return b.Bytes()
}

func seedFrames() [][]byte {
	h, _ := hello{Purpose: helloJoin, Rank: 1, Size: 4, Token: "tok", Addr: "127.0.0.1:4000"}.encode()
	var op [hdrLen + opLen]byte
	(&opHeader{Kind: kindAllReduce, Red: 1, Elem: 4, Count: 99, Seq: 7}).put(op[:])
	return [][]byte{
		frameBytes(frameHello, h),
		frameBytes(frameTable, encodeTable([]string{"a:1", "b:2"})),
		frameBytes(frameReport, report{From: 1, Blamed: 2, Step: 3}.encode()),
		frameBytes(frameVerdict, []byte{2, 0, 0, 0}),
		frameBytes(frameBye, nil),
		frameBytes(frameReject, []byte("no")),
		op[:],
		{'S', 'B', 1, frameTable, 0xff, 0xff, 0xff, 0xff},
		{'S', 'B', 1, frameTable, 8, 0, 0, 0, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0, 0},
		{},
	}
}

func TestFrameRoundTrip(t *testing.T) {
	in := hello{Purpose: helloRing, Rank: 3, Size: 8, Token: "secret", Addr: "10.0.0.1:1234"}
	b, err := in.encode()
	if err != nil {
		t.Fatal(err)
	}
	_, v, err := decodeAny(frameBytes(frameHello, b))
	if err != nil || v.(hello) != in {
		t.Fatalf("hello: %v %+v", err, v)
	}
	_, v, err = decodeAny(frameBytes(frameTable, encodeTable([]string{"x:1", "", "y:2"})))
	if err != nil || !reflect.DeepEqual(v, []string{"x:1", "", "y:2"}) {
		t.Fatalf("table: %v %v", err, v)
	}
	for _, bad := range [][]byte{
		{'X', 'B', 1, frameBye, 0, 0, 0, 0},
		{'S', 'B', 9, frameBye, 0, 0, 0, 0},
		{'S', 'B', 1, 99, 0, 0, 0, 0},
		{'S', 'B', 1, frameOp, 25, 0, 0, 0},
		{'S', 'B', 1, frameHello, 0, 0, 0, 1},
		{'S', 'B', 1, frameTable, 8, 0, 0, 0, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0, 0},
	} {
		if _, _, err := decodeAny(bad); !errors.Is(err, ErrFrame) {
			t.Fatalf("%v: got %v, want ErrFrame", bad, err)
		}
	}
}

// FuzzReadFrame checks that the decoder never panics, never allocates more
// than the per-kind limit, and that whatever it accepts re-encodes to a
// frame that decodes to the same value. testdata/fuzz/FuzzReadFrame holds
// the seed corpus, so plain `go test` runs it.
func FuzzReadFrame(f *testing.F) {
	for _, s := range seedFrames() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		kind, v, err := decodeAny(data)
		if err != nil {
			return
		}
		var again []byte
		switch x := v.(type) {
		case hello:
			b, err := x.encode()
			if err != nil {
				t.Fatalf("accepted hello does not re-encode: %v", err)
			}
			again = frameBytes(kind, b)
		case []string:
			again = frameBytes(kind, encodeTable(x))
		case report:
			again = frameBytes(kind, x.encode())
		default:
			return
		}
		_, v2, err := decodeAny(again)
		if err != nil || !reflect.DeepEqual(v, v2) {
			t.Fatalf("round trip: %v %+v vs %+v", err, v, v2)
		}
	})
}
