package packaging

import (
	"debug/elf"
	"fmt"
	"slices"
	"strings"

	"harpy/distro"
)

// Missing lists what an ELF binary needs that a dist's base system does not provide:
// sonames (DT_NEEDED) it does not ship, and glibc symbol versions above its glibc. ok is
// false when harpy has no data on the dist's base (then nothing can be said).
func Missing(binary, dist string) (missing []string, ok bool, err error) {
	d, err := distro.Lookup(dist)
	if err != nil {
		return nil, false, err
	}
	if d.Base == nil {
		return nil, false, nil
	}
	f, err := openELF(binary)
	if f == nil || err != nil {
		return nil, true, err
	}
	defer f.Close()
	needed, err := f.DynString(elf.DT_NEEDED)
	if err != nil {
		return nil, true, fmt.Errorf("read DT_NEEDED of %s: %w", binary, err)
	}
	for _, so := range needed {
		if !d.Base.Provides(so) {
			missing = append(missing, so)
		}
	}
	vneeds, _ := f.DynamicVersionNeeds()
	for _, vn := range vneeds {
		for _, v := range vn.Needs {
			if strings.HasPrefix(v.Dep, "GLIBC_") && !strings.HasPrefix(v.Dep, "GLIBC_PRIVATE") && !d.Base.GlibcOK(v.Dep) {
				missing = append(missing, vn.Name+"("+v.Dep+")")
			}
		}
	}
	slices.Sort(missing)
	return slices.Compact(missing), true, nil
}
