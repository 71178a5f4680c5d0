package discovery

import (
	"fmt"
	"math"
	"slices"
)

// Guard decides whether an answer may replace the servers a backend runs now. It is
// what keeps a pool from being emptied by a DNS outage, an NXDOMAIN, a Consul agent that
// lost its state, or a typo in a record.
type Guard struct {
	// MinPool is the fewest active servers an answer must leave; a smaller answer is
	// refused as a whole. 0 means 1: an empty pool is never applied.
	MinPool int
	// MaxRemove is the largest share (0 < x ≤ 1) of the current servers one change may
	// remove; the excess stays until the next answer. 0 means 0.5.
	MaxRemove float64
}

// Decision is what Guard made of an answer.
type Decision struct {
	Apply []Target // the servers to run: the answer, or the current ones, or a mix
	Kept  []Target // servers the answer dropped but the removal limit kept for now
	// Refused says why the answer was not used at all ("" when it was used, maybe in part).
	Refused string
}

// Decide takes the current servers and a source's result (answer or error).
func (g Guard) Decide(current []Target, ans Answer, err error) Decision {
	keep := func(why string) Decision { return Decision{Apply: current, Refused: why} }
	if err != nil {
		return keep(fmt.Sprintf("source failed (%v): keeping the %d current servers", err, len(current)))
	}
	active := 0
	for _, t := range ans.Targets {
		if !t.Backup {
			active++
		}
	}
	min := max(g.MinPool, 1)
	if active < min {
		return keep(fmt.Sprintf("the answer has %d active servers, fewer than the minimum pool of %d: keeping the %d current servers", active, min, len(current)))
	}
	share := g.MaxRemove
	if share <= 0 || share > 1 {
		share = 0.5
	}
	byName := map[string]bool{}
	for _, t := range ans.Targets {
		byName[t.Name] = true
	}
	var removed []Target
	for _, t := range current {
		if !byName[t.Name] {
			removed = append(removed, t)
		}
	}
	limit := int(math.Floor(share * float64(len(current))))
	if len(current) > 0 {
		limit = max(limit, 1) // one server can always go, or a pool of one could never change
	}
	d := Decision{Apply: slices.Clone(ans.Targets)}
	if len(removed) > limit {
		d.Kept = removed[limit:] // current is sorted by name: the same ones stay each time
		d.Apply = append(d.Apply, d.Kept...)
		slices.SortFunc(d.Apply, byTargetName)
	}
	return d
}

func byTargetName(a, b Target) int {
	switch {
	case a.Name < b.Name:
		return -1
	case a.Name > b.Name:
		return 1
	}
	return 0
}
