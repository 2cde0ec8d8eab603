package cel

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// BenchmarkCompileLargeTree compiles OR groups of n contains leaves on
// four-key paths. Leaves are type-checked one by one, so 256 leaves should
// cost about 16 times what 16 do; checked as one expression, CEL's checker
// made it closer to 256 times.
func BenchmarkCompileLargeTree(b *testing.B) {
	for _, n := range []int{MaxLeaves / 16, MaxLeaves} {
		rules := make([]string, n)
		for i := range rules {
			rules[i] = leaf(fmt.Sprintf("f%d.a.b.c", i), "contains", "x")
		}
		tree, err := parseTree(b, group("OR", rules...))
		require.NoError(b, err)

		b.Run(fmt.Sprintf("leaves=%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := Compile(tree); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
