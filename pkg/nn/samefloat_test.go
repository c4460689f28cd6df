package nn

import "math"

// sameFloat is bit equality, with any two NaNs matching.
func sameFloat(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b)
}
