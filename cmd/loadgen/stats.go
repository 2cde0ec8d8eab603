package main

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Percentiles summarizes a set of latencies.
type Percentiles struct {
	N                  int
	P50, P90, P99, Max time.Duration
}

// percentiles sorts ds in place and summarizes it by nearest rank.
func percentiles(ds []time.Duration) Percentiles {
	slices.Sort(ds)
	return Percentiles{
		N:   len(ds),
		P50: rank(ds, 0.50),
		P90: rank(ds, 0.90),
		P99: rank(ds, 0.99),
		Max: rank(ds, 1),
	}
}

// rank is the nearest-rank q-quantile of sorted ds; zero for none.
func rank(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(ds)))) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}

// String prints the percentiles in milliseconds.
func (p Percentiles) String() string {
	return fmt.Sprintf("p50 %s p90 %s p99 %s max %s ms", ms(p.P50), ms(p.P90), ms(p.P99),
		ms(p.Max))
}

// ms prints a duration in milliseconds with two significant decimals.
func ms(d time.Duration) string {
	return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond))
}

// spread is the median of a sample with its range, for a figure measured in
// several rounds.
type spread struct {
	Median, Min, Max float64
}

// spreadOf summarizes xs; it leaves xs unchanged.
func spreadOf(xs []float64) spread {
	if len(xs) == 0 {
		return spread{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return spread{Median: m, Min: s[0], Max: s[len(s)-1]}
}

// format prints the median and the range with verb, e.g. "%.0f".
func (s spread) format(verb string) string {
	return fmt.Sprintf(verb+" ("+verb+"–"+verb+")", s.Median, s.Min, s.Max)
}
