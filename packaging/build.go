package packaging

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/goreleaser/chglog"
	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/files"
	"go.yaml.in/yaml/v3"

	"harpy/hint"
	"harpy/safefile"
)

// Build makes one package per format from the staged tree and returns their
// paths, in the order of o.Formats. Each package is written to a temporary
// file in o.OutDir and renamed into place only when every format succeeded,
// so an error never leaves a partial package behind.
func Build(ctx context.Context, o Options) ([]string, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := makeOutDir(o.OutDir); err != nil {
		return nil, err
	}
	if slices.Contains(o.Formats, "rpm") {
		o.noteDist()
	}
	scratch, err := os.MkdirTemp("", "harpy-package-")
	if err != nil {
		return nil, fmt.Errorf("%s: scratch directory: %w", o.describe(), err)
	}
	defer os.RemoveAll(scratch)

	// Every package is written under a temporary name and committed only when all
	// formats succeeded; Abort after Commit does nothing.
	var files []*safefile.File
	var targets []string
	defer func() {
		for _, f := range files {
			f.Abort()
		}
	}()
	for _, format := range o.Formats {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		info, name, err := nfpmInfo(ctx, o, format, filepath.Join(scratch, format))
		if err != nil {
			return nil, fmt.Errorf("%s as %s: %w", o.describe(), format, err)
		}
		target := filepath.Join(o.OutDir, name)
		f, err := createOut(target)
		if err != nil {
			return nil, err
		}
		files, targets = append(files, f), append(targets, target)
		p, err := nfpm.Get(format)
		if err == nil {
			err = p.Package(nfpm.WithDefaults(info), f)
		}
		if err != nil {
			return nil, fmt.Errorf("%s as %s: %w", o.describe(), format, signingHint(err))
		}
	}
	var out []string
	for i, f := range files {
		if err := f.Commit(); err != nil {
			return out, fmt.Errorf("%s: %w", o.describe(), err)
		}
		out = append(out, targets[i])
	}
	return out, nil
}

// fileName is the conventional file name of a package: NVRA for rpm
// (haproxy-2.6.12-1.el9.x86_64.rpm), name_version-release_arch for deb.
func fileName(o Options, format string) string {
	if format == "deb" {
		return fmt.Sprintf("%s_%s-%s_%s.deb", o.Name, o.Version, o.Release, debArch(o.Arch))
	}
	return fmt.Sprintf("%s-%s-%s.%s.rpm", o.Name, o.Version, o.rpmRelease(), o.Arch)
}

func nfpmInfo(ctx context.Context, o Options, format, scratch string) (*nfpm.Info, string, error) {
	l, err := layout(ctx, o, format, scratch)
	if err != nil {
		return nil, "", err
	}
	mtime := o.mtime()
	var contents files.Contents
	for _, e := range l.entries {
		c := &files.Content{
			Source:      e.Src,
			Destination: e.Dst,
			Type:        files.TypeFile,
			FileInfo:    &files.ContentFileInfo{Owner: e.Owner, Group: e.Group, Mode: e.Mode, MTime: mtime},
		}
		switch e.Kind {
		case kindDir:
			c.Type = files.TypeDir
		case kindConfig:
			c.Type = files.TypeConfigNoReplace
		case kindDoc:
			if format == "rpm" {
				c.Type = files.TypeRPMDoc
			}
		case kindLicense:
			if format == "rpm" {
				c.Type = files.TypeRPMLicense
			}
		}
		contents = append(contents, c)
	}
	version := o.Version + "-" + o.Release
	release := o.Release
	if format == "rpm" {
		release = o.rpmRelease()
		version = o.Version + "-" + release
	}
	changelog := filepath.Join(scratch, "changelog.yml")
	if err := writeChangelog(changelog, o, version); err != nil {
		return nil, "", err
	}
	info := &nfpm.Info{
		Name:            o.Name,
		Arch:            o.Arch,
		Platform:        "linux",
		Version:         o.Version,
		VersionSchema:   "none",
		Release:         release,
		Maintainer:      o.Maintainer,
		Description:     o.Description,
		Vendor:          o.Vendor,
		Homepage:        o.URL,
		License:         o.License,
		Changelog:       changelog,
		DisableGlobbing: true,
		MTime:           mtime,
	}
	info.Contents = contents
	info.Umask = 0o022
	info.Scripts = nfpm.Scripts{
		PreInstall: l.scriptPath[0], PostInstall: l.scriptPath[1],
		PreRemove: l.scriptPath[2], PostRemove: l.scriptPath[3],
	}
	switch format {
	case "rpm":
		err = rpmInfo(info, o, l, release)
	case "deb":
		err = debInfo(ctx, info, o, l)
	}
	if err != nil {
		return nil, "", err
	}
	return info, fileName(o, format), nil
}

func writeChangelog(path string, o Options, version string) error {
	var entries chglog.ChangeLogEntries
	for _, c := range o.Changelog {
		e := &chglog.ChangeLog{
			Semver:   version,
			Date:     c.Time.UTC(),
			Packager: c.Author,
			ChangeLogOverridables: chglog.ChangeLogOverridables{
				Deb: &chglog.ChangelogDeb{Urgency: "medium", Distributions: []string{"unstable"}},
			},
		}
		for _, line := range strings.Split(strings.TrimSpace(c.Text), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				e.Changes = append(e.Changes, &chglog.ChangeLogChange{Note: line})
			}
		}
		entries = append(entries, e)
	}
	b, err := yaml.Marshal(entries)
	if err != nil {
		return fmt.Errorf("write changelog: %w", err)
	}
	return os.WriteFile(path, b, 0o644)
}

// createOut starts writing an output file atomically (see safefile.Create).
func createOut(target string) (*safefile.File, error) {
	f, err := safefile.Create(target, 0o644)
	if err != nil {
		return nil, hint.With(fmt.Errorf("create in %s: %w", filepath.Dir(target), err), "pass --out with a directory you can write to")
	}
	return f, nil
}
