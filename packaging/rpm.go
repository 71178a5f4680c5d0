package packaging

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/rpm" // registers "rpm"
)

// rpmInfo adds what only the native RPM has to info: Requires as rpmbuild derives
// them, its automatic Provides, the RPM header fields and the signature.
func rpmInfo(info *nfpm.Info, o Options, l *pkgLayout, release string) error {
	reqs, err := rpmRequires(l)
	if err != nil {
		return err
	}
	// What rpmbuild adds by itself: the config() and ISA-qualified provides.
	evr := o.Version + "-" + release
	// (rpmbuild's own config() Requires carries a flag nfpm cannot set;
	// without it rpmlint calls it requires-on-release, so it is left out.)
	info.Depends = reqs
	info.Provides = []string{"config(" + o.Name + ") = " + evr}
	if isa := rpmISA(o.Arch); isa != "" {
		info.Provides = append(info.Provides, o.Name+"("+isa+") = "+evr)
	}
	info.RPM = nfpm.RPM{
		Arch:        o.Arch,
		BuildHost:   o.BuildHost,
		Group:       o.Group,
		Summary:     o.Summary,
		Compression: o.Compression,
		Packager:    o.Packager,
	}
	if o.SignKey != "" {
		info.RPM.Signature.KeyFile = o.SignKey
		info.RPM.Signature.KeyPassphrase = o.SignPassphrase
	}
	return nil
}

// rpmRequires is what rpmbuild would generate for these files (ELF sonames and
// symbol versions, /bin/sh for the scriptlets) plus what the scriptlets call.
func rpmRequires(l *pkgLayout) ([]string, error) {
	reqs := []string{"/bin/sh"}
	for _, f := range l.elfFiles {
		r, err := elfRequires(f)
		if err != nil {
			return nil, err
		}
		reqs = append(reqs, r...)
	}
	reqs = append(reqs, l.dist.requires...)
	slices.Sort(reqs)
	return slices.Compact(reqs), nil
}

// rpmISA is rpm's %{_isa} name of an arch (without the parentheses).
func rpmISA(arch string) string {
	switch arch {
	case "x86_64":
		return "x86-64"
	case "aarch64":
		return "aarch-64"
	case "i686":
		return "x86-32"
	case "ppc64le":
		return "ppc-64"
	case "s390x":
		return "s390-64"
	}
	return ""
}

// noteDist says so when the RPM's dist is not this host's, naming what the binary needs
// that the dist's base system lacks (from the distro package's data).
func (o Options) noteDist() {
	host, err := HostDist()
	if err != nil {
		return
	}
	note := DistNote(o.Dist, host)
	if note == "" {
		return
	}
	fmt.Fprintln(o.Notes, note)
	missing, known, err := Missing(filepath.Join(o.StageDir, "usr/sbin/haproxy"), o.Dist)
	switch {
	case err != nil:
	case !known:
		fmt.Fprintf(o.Notes, "note: harpy has no data on what %s's base system provides\n", o.Dist)
	case len(missing) > 0:
		fmt.Fprintf(o.Notes, "note: %s's base system lacks what the binary needs: %s\n", o.Dist, strings.Join(missing, ", "))
	}
}
