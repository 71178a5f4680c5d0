package packaging

import (
	"context"
	"fmt"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/deb" // registers "deb"
)

// debInfo adds what only the .deb has to info: the Debian arch, Depends on the
// packages that ship the binary's libraries on this host, the synopsis line.
func debInfo(ctx context.Context, info *nfpm.Info, o Options, l *pkgLayout) error {
	info.Arch = debArch(o.Arch)
	var sonames []string
	for _, f := range l.elfFiles {
		n, err := elfNeeded(f)
		if err != nil {
			return err
		}
		sonames = append(sonames, n...)
	}
	deps, err := debDepends(ctx, sonames)
	if err != nil {
		return err
	}
	if deps == nil && len(sonames) > 0 {
		fmt.Fprintln(o.Notes, "note: no dpkg on this host: the .deb declares no library Depends")
	}
	info.Depends = append(deps, "passwd")
	// Debian's first description line is the synopsis.
	info.Description = o.Summary + "\n" + o.Description
	info.Section = "net"
	info.Priority = "optional"
	info.Deb = nfpm.Deb{Arch: info.Arch, Compression: "xz"}
	return nil
}
