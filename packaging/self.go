package packaging

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/files"

	"harpy/distro"
	"harpy/hint"
	"harpy/initscripts"
	"harpy/safefile"
)

// Self describes harpy's own package: the harpy binary and the unit of `harpy watch`,
// so that provisioning can install harpy on the hosts it manages the way it installs
// HAProxy. The binary should be static (CGO_ENABLED=0): the package then needs nothing.
type Self struct {
	Binary          string // the harpy binary to package
	Version         string // e.g. 0.18.0 or a git describe
	Release         string // default "1"
	Dist            string // for an RPM: el7 … el10 (systemd); a .deb takes any deb dist
	Formats         []string
	OutDir          string
	SourceDateEpoch int64 // 0: the binary's mtime
}

// BuildSelf writes harpy's own packages into OutDir and returns their paths; like Build,
// every package is committed only when all formats succeeded.
func BuildSelf(ctx context.Context, s Self) ([]string, error) {
	if s.Release == "" {
		s.Release = "1"
	}
	if !versionRE.MatchString(s.Version) || !releaseRE.MatchString(s.Release) {
		return nil, hint.Input(hint.With(fmt.Errorf("harpy package: version %q or release %q is not valid", s.Version, s.Release),
			"use digits, letters and . + ~ (e.g. --version 0.18.0 --release 1)"))
	}
	fi, err := os.Stat(s.Binary)
	if err != nil || !fi.Mode().IsRegular() {
		return nil, hint.Input(hint.With(fmt.Errorf("harpy package: binary %s: not a regular file (%v)", s.Binary, err), "build it first: CGO_ENABLED=0 go build -o bin/harpy ./cmd/harpy"))
	}
	if needed, err := elfNeeded(s.Binary); err != nil || len(needed) > 0 {
		return nil, hint.Input(hint.With(fmt.Errorf("harpy package: %s links %v dynamically", s.Binary, needed), "build it static: CGO_ENABLED=0 go build -o bin/harpy ./cmd/harpy"))
	}
	mtime := fi.ModTime().UTC()
	if s.SourceDateEpoch != 0 {
		mtime = timeUnix(s.SourceDateEpoch)
	}
	arch, err := elfArch(s.Binary)
	if err != nil {
		return nil, err
	}
	scratch, err := os.MkdirTemp("", "harpy-self-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(scratch)
	unit := filepath.Join(scratch, "harpy-watch.service")
	if err := os.WriteFile(unit, initscripts.WatchUnit(), 0o644); err != nil {
		return nil, err
	}
	var outs []*safefile.File
	var targets []string
	defer func() {
		for _, f := range outs {
			f.Abort()
		}
	}()
	for _, format := range s.Formats {
		unitDir, release, name := "/lib/systemd/system", s.Release, ""
		switch format {
		case "rpm":
			d, err := distro.Lookup(s.Dist)
			if err != nil {
				return nil, hint.Input(fmt.Errorf("--dist: %w", err))
			}
			if d.Format != "rpm" || d.Init != distro.Systemd {
				return nil, hint.Input(hint.With(fmt.Errorf("--dist: harpy's RPM needs a systemd el dist, not %q", s.Dist), "pass --dist el9 (or el7, el8, el10)"))
			}
			unitDir, release = d.UnitDir, s.Release+"."+d.Name
			name = fmt.Sprintf("harpy-%s-%s.%s.rpm", s.Version, release, arch)
		case "deb":
			name = fmt.Sprintf("harpy_%s-%s_%s.deb", s.Version, s.Release, debArch(arch))
		default:
			return nil, hint.Input(hint.With(fmt.Errorf("--format: unknown format %q", format), "use --format rpm, deb or rpm,deb"))
		}
		info := &nfpm.Info{
			Name: "harpy", Arch: arch, Platform: "linux", Version: s.Version, VersionSchema: "none", Release: release,
			Maintainer:  defaultPackager,
			Description: "Build, package, configure and run HAProxy\nThis package holds the harpy command and the unit of `harpy watch`, which keeps\nHAProxy backends in step with DNS SRV records and the Consul catalog.",
			Vendor:      defaultVendor, License: "LicenseRef-harpy", DisableGlobbing: true, MTime: mtime,
		}
		info.Umask = 0o022
		info.Contents = files.Contents{
			{Source: s.Binary, Destination: "/usr/bin/harpy", Type: files.TypeFile,
				FileInfo: &files.ContentFileInfo{Owner: "root", Group: "root", Mode: 0o755, MTime: mtime}},
			{Source: unit, Destination: unitDir + "/harpy-watch.service", Type: files.TypeFile,
				FileInfo: &files.ContentFileInfo{Owner: "root", Group: "root", Mode: 0o644, MTime: mtime}},
			{Destination: "/etc/harpy", Type: files.TypeDir,
				FileInfo: &files.ContentFileInfo{Owner: "root", Group: "root", Mode: 0o755, MTime: mtime}},
		}
		if format == "rpm" {
			info.RPM.Group = defaultGroup
			info.RPM.Packager = defaultPackager
			info.RPM.BuildHost = defaultHost
			info.RPM.Compression = "zstd:19"
			if d, _ := distro.Lookup(s.Dist); d.Compression != "" {
				info.RPM.Compression = d.Compression
			}
		} else {
			info.Section, info.Priority = "admin", "optional"
		}
		target := filepath.Join(s.OutDir, name)
		if err := os.MkdirAll(s.OutDir, 0o755); err != nil {
			return nil, hint.With(fmt.Errorf("harpy package: %w", err), "pass --out with a directory you can write to")
		}
		f, err := createOut(target)
		if err != nil {
			return nil, err
		}
		outs, targets = append(outs, f), append(targets, target)
		p, err := nfpm.Get(format)
		if err == nil {
			err = p.Package(nfpm.WithDefaults(info), f)
		}
		if err != nil {
			return nil, fmt.Errorf("harpy package as %s: %w", format, err)
		}
	}
	var done []string
	for i, f := range outs {
		if err := f.Commit(); err != nil {
			return done, err
		}
		done = append(done, targets[i])
	}
	return done, nil
}
