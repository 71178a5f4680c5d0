package packaging

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// SpecResult names what ExportSpec wrote.
type SpecResult struct {
	Spec    string // the .spec file
	Sources []string
}

// ExportSpec writes a .spec and its one source tarball into dir, for users who
// must build through rpmbuild or mock: `rpmbuild -bb --define "_sourcedir DIR"
// DIR/haproxy.spec` makes an RPM with the same files, modes, owners, flags,
// scriptlets and metadata as Build's native RPM. The tarball holds the files
// exactly as Build packages them (man page gzipped, binary stripped of debug
// info, config rendered), so the spec only installs, flags and describes them.
//
// The spec needs none of the macros that Debian's rpm lacks (%{dist},
// %{_unitdir}, %systemd_*): paths, the dist tag and the scriptlets are written
// out, and no debuginfo subpackage or build-id links are made.
func ExportSpec(ctx context.Context, o Options, dir string) (*SpecResult, error) {
	o.Formats, o.OutDir = []string{"rpm"}, dir
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := makeOutDir(dir); err != nil {
		return nil, err
	}
	o.noteDist()
	scratch, err := os.MkdirTemp("", "harpy-spec-")
	if err != nil {
		return nil, fmt.Errorf("export spec: scratch directory: %w", err)
	}
	defer os.RemoveAll(scratch)
	l, err := layout(ctx, o, "rpm", scratch)
	if err != nil {
		return nil, fmt.Errorf("export spec %s: %w", o.describe(), err)
	}
	srcName := fmt.Sprintf("%s-%s-%s-files.tar.gz", o.Name, o.Version, o.rpmRelease())
	res := &SpecResult{Spec: filepath.Join(dir, o.Name+".spec"), Sources: []string{filepath.Join(dir, srcName)}}
	src, err := createOut(res.Sources[0])
	if err != nil {
		return nil, fmt.Errorf("export spec: %w", err)
	}
	defer src.Abort()
	if err := writeFilesTarball(src, l.entries, o.mtime().Unix()); err != nil {
		return nil, fmt.Errorf("export spec: %s: %w", srcName, err)
	}
	spec, err := createOut(res.Spec)
	if err != nil {
		return nil, fmt.Errorf("export spec: %w", err)
	}
	defer spec.Abort()
	if _, err := spec.WriteString(specText(o, l, srcName)); err != nil {
		return nil, fmt.Errorf("export spec: %w", err)
	}
	// The source first: a spec in place always has its source.
	if err := src.Commit(); err != nil {
		return nil, fmt.Errorf("export spec: %w", err)
	}
	if err := spec.Commit(); err != nil {
		return nil, fmt.Errorf("export spec: %w", err)
	}
	return res, nil
}

// writeFilesTarball writes the regular files of entries, paths relative to /,
// in a byte-reproducible tar.gz.
func writeFilesTarball(w io.Writer, entries []entry, mtime int64) error {
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		if e.Kind == kindDir {
			continue
		}
		b, err := os.ReadFile(e.Src)
		if err != nil {
			return err
		}
		hdr := &tar.Header{
			Name: "." + e.Dst, Mode: int64(e.Mode), Size: int64(len(b)),
			Uname: "root", Gname: "root", ModTime: timeUnix(mtime), Format: tar.FormatPAX,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(b); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

// rpmbuild's payload macro for a compression setting.
func payloadMacro(c string) string {
	algo, level, _ := strings.Cut(c, ":")
	switch algo {
	case "gzip":
		return "w" + cmpOr(level, "9") + ".gzdio"
	case "xz":
		return "w6.xzdio"
	}
	return "w" + cmpOr(level, "3") + ".zstdio"
}

func specText(o Options, l *pkgLayout, source string) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# %s.spec — exported by harpy; rpmbuild -bb makes the same package as harpy's\n", o.Name)
	p("# native %s. Self-contained: it needs no %%{dist}, %%{_unitdir} or %%systemd_* macros.\n", fileName(o, "rpm"))
	p("# Build: rpmbuild -bb --define \"_sourcedir $PWD\" %s.spec\n\n", o.Name)
	p("%%global debug_package %%{nil}\n")
	p("%%global _build_id_links none\n")
	p("%%global _buildhost %s\n", o.BuildHost)
	p("%%global source_date_epoch_from_changelog 0\n")
	p("%%global use_source_date_epoch_as_buildtime 1\n")
	p("%%global clamp_mtime_to_source_date_epoch 1\n")
	p("%%global _binary_payload %s\n", payloadMacro(o.Compression))
	p("%%global _binary_filedigest_algorithm 8\n\n")
	p("Name:           %s\n", o.Name)
	p("Version:        %s\n", o.Version)
	p("Release:        %s\n", o.rpmRelease())
	p("Summary:        %s\n", escapeSpec(o.Summary))
	p("License:        %s\n", escapeSpec(o.License))
	p("URL:            %s\n", escapeSpec(o.URL))
	p("Vendor:         %s\n", escapeSpec(o.Vendor))
	p("Packager:       %s\n", escapeSpec(o.Packager))
	p("Group:          %s\n", escapeSpec(o.Group))
	p("ExclusiveArch:  %s\n", o.Arch)
	p("Source0:        %s\n", source)
	// rpmbuild derives the ELF and /bin/sh requirements itself; these are the scriptlets' tools.
	for _, r := range l.dist.requires {
		p("Requires:       %s\n", r)
	}
	p("\n%%description\n%s\n\n", escapeSpec(o.Description))
	p("%%prep\n\n%%build\n\n")
	p("%%install\nmkdir -p %%{buildroot}\ntar -xzf %%{SOURCE0} -C %%{buildroot}\n")
	for _, e := range l.entries {
		if e.Kind == kindDir {
			p("install -d -m %04o %%{buildroot}%s\n", e.Mode, e.Dst)
		}
	}
	for _, s := range []struct {
		name string
		body []byte
	}{{"pre", l.scripts.PreInstall}, {"post", l.scripts.PostInstall}, {"preun", l.scripts.PreRemove}, {"postun", l.scripts.PostRemove}} {
		p("\n%%%s\n%s", s.name, escapeSpec(string(s.body)))
	}
	p("\n%%files\n")
	for _, e := range l.entries {
		attr := fmt.Sprintf("%%attr(%04o,%s,%s) ", e.Mode, e.Owner, e.Group)
		switch e.Kind {
		case kindDir:
			p("%%dir %s%s\n", attr, e.Dst)
		case kindConfig:
			p("%%config(noreplace) %s%s\n", attr, e.Dst)
		case kindDoc:
			p("%%doc %s%s\n", attr, e.Dst)
		case kindLicense:
			p("%%license %s%s\n", attr, e.Dst)
		default:
			p("%s%s\n", attr, e.Dst)
		}
	}
	p("\n%%changelog\n")
	for _, c := range o.Changelog {
		p("* %s %s - %s-%s\n", c.Time.UTC().Format("Mon Jan 02 2006"), escapeSpec(c.Author), o.Version, o.rpmRelease())
		for _, line := range strings.Split(strings.TrimSpace(c.Text), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				p("- %s\n", escapeSpec(line))
			}
		}
	}
	return b.String()
}

// escapeSpec keeps rpm from expanding % in tag values, the description, scriptlets
// and changelog text: rpmbuild expands macros on every line, %(…) runs a shell.
func escapeSpec(s string) string { return strings.ReplaceAll(s, "%", "%%") }
