package bench

import "testing"

func TestDeviceID(t *testing.T) {
	for _, c := range []struct {
		visible string
		index   int
		want    string
	}{
		{"", 0, "0"},
		{"", 3, "3"},
		{"5", 0, "5"},
		{"2, 3", 1, "3"},
		{"GPU-ab12", 0, "GPU-ab12"},
		{"1", 2, "2"}, // more devices than listed: the index
	} {
		if got := deviceID(c.visible, c.index); got != c.want {
			t.Errorf("deviceID(%q, %d) = %q, want %q", c.visible, c.index, got, c.want)
		}
	}
}
