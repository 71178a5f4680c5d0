package packaging

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"harpy/hint"
	"harpy/initscripts"
)

// kind is how a packaged path is flagged.
type kind string

const (
	kindFile    kind = "file"
	kindConfig  kind = "config" // %config(noreplace) / Debian conffile
	kindDir     kind = "dir"
	kindDoc     kind = "doc"     // %doc (docs and man pages)
	kindLicense kind = "license" // %license
)

// entry is one path in a package. The native RPM, the .deb and the exported
// spec's %files are all made from the same entries, so they cannot drift.
type entry struct {
	Dst          string      // absolute path in the package
	Src          string      // file on disk; "" for a directory
	Mode         fs.FileMode // permission bits
	Owner, Group string
	Kind         kind
}

// layout lays out the package for a format: the staged tree plus the files
// harpy generates (config, service, scriptlets), written under scratch.
type pkgLayout struct {
	entries    []entry
	scripts    initscripts.Scriptlets
	scriptPath [4]string // pre, post, preun, postun files under scratch
	elfFiles   []string  // ELF files (sources) to derive Requires from
	dist       distInfo
}

func layout(ctx context.Context, o Options, format, scratch string) (*pkgLayout, error) {
	d, err := distLayout(o.Dist, format)
	if err != nil {
		return nil, err
	}
	l := &pkgLayout{dist: d}
	if err := l.addStage(ctx, o.StageDir, scratch); err != nil {
		return nil, err
	}
	gen := func(name string, data []byte) (string, error) {
		p := filepath.Join(scratch, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		return p, os.WriteFile(p, data, 0o644)
	}
	add := func(dst string, data []byte, mode fs.FileMode, k kind) error {
		src, err := gen(filepath.Join("gen", dst), data)
		if err != nil {
			return fmt.Errorf("write %s: %w", dst, err)
		}
		l.entries = append(l.entries, entry{Dst: dst, Src: src, Mode: mode, Owner: "root", Group: "root", Kind: k})
		return nil
	}
	dir := func(dst string, mode fs.FileMode, owner string) {
		l.entries = append(l.entries, entry{Dst: dst, Mode: mode, Owner: owner, Group: owner, Kind: kindDir})
	}
	dir("/etc/haproxy", 0o755, "root")
	if err := add("/etc/haproxy/haproxy.cfg", o.Config, 0o644, kindConfig); err != nil {
		return nil, err
	}
	if len(o.Rsyslog) > 0 {
		if err := add("/etc/rsyslog.d/49-haproxy.conf", o.Rsyslog, 0o644, kindConfig); err != nil {
			return nil, err
		}
	}
	if len(o.Logrotate) > 0 {
		if err := add("/etc/logrotate.d/haproxy", o.Logrotate, 0o644, kindConfig); err != nil {
			return nil, err
		}
		if format == "rpm" {
			l.dist.requires = append(l.dist.requires, "logrotate")
		}
	}
	if err := add(d.env, initscripts.Sysconfig(), 0o644, kindConfig); err != nil {
		return nil, err
	}
	if d.family == "el6" {
		err = add(d.unit, initscripts.InitScript(), 0o755, kindFile)
	} else {
		var unit []byte
		unit, err = initscripts.Unit(initscripts.UnitOptions{Bin: "/usr/sbin/haproxy", Notify: o.Systemd, EnvFile: d.env})
		if err == nil {
			err = add(d.unit, unit, 0o644, kindFile)
		}
	}
	if err != nil {
		return nil, err
	}
	// The chroot, owned by haproxy; dev/ holds rsyslog's log socket if one is wanted.
	dir("/var/lib/haproxy", 0o755, "haproxy")
	dir("/var/lib/haproxy/dev", 0o755, "haproxy")
	dir("/var/log/haproxy", 0o755, "root")

	fam := initscripts.Systemd
	switch d.family {
	case "el6":
		fam = initscripts.SysV
	case "deb":
		fam = initscripts.Deb
	}
	if l.scripts, err = initscripts.ScriptletsFor(fam); err != nil {
		return nil, err
	}
	for i, s := range [][]byte{l.scripts.PreInstall, l.scripts.PostInstall, l.scripts.PreRemove, l.scripts.PostRemove} {
		if format == "rpm" {
			// rpmbuild stores scriptlet bodies without the final newline.
			s = bytes.TrimRight(s, "\n")
		}
		if l.scriptPath[i], err = gen(fmt.Sprintf("scripts/%d.sh", i), s); err != nil {
			return nil, fmt.Errorf("write scriptlet: %w", err)
		}
	}
	slices.SortFunc(l.entries, func(a, b entry) int { return strings.Compare(a.Dst, b.Dst) })
	for i := 1; i < len(l.entries); i++ {
		if l.entries[i].Dst == l.entries[i-1].Dst {
			return nil, hint.With(fmt.Errorf("%s is both staged and generated", l.entries[i].Dst), "remove it from the staged tree; harpy generates it")
		}
	}
	return l, nil
}

// addStage adds every file of the staged tree: man pages gzipped (as
// rpmbuild's brp-compress does), docs and licenses flagged, modes normalized
// to 0755/0644 so the builder's umask does not leak into the package.
func (l *pkgLayout) addStage(ctx context.Context, stage, scratch string) error {
	owned := map[string]bool{}
	err := filepath.WalkDir(stage, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if de.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(stage, p)
		if err != nil {
			return err
		}
		dst := "/" + filepath.ToSlash(rel)
		if !de.Type().IsRegular() {
			return hint.With(fmt.Errorf("staged %s is not a regular file", dst), "stage regular files only")
		}
		info, err := de.Info()
		if err != nil {
			return err
		}
		e := entry{Dst: dst, Src: p, Mode: 0o644, Owner: "root", Group: "root", Kind: kindFile}
		if info.Mode().Perm()&0o111 != 0 {
			e.Mode = 0o755
		}
		switch {
		case strings.HasPrefix(dst, "/usr/share/man/"):
			e.Kind = kindDoc
			if !strings.HasSuffix(dst, ".gz") {
				gz := filepath.Join(scratch, "man", rel+".gz")
				if err := gzipFile(p, gz); err != nil {
					return fmt.Errorf("compress man page %s: %w", dst, err)
				}
				e.Src, e.Dst = gz, dst+".gz"
			}
		case strings.HasPrefix(dst, "/usr/share/doc/"):
			e.Kind = kindDoc
			owned[docDir(dst, "/usr/share/doc/")] = true
		case strings.HasPrefix(dst, "/usr/share/licenses/"):
			e.Kind = kindLicense
			owned[docDir(dst, "/usr/share/licenses/")] = true
		default:
			if ok, _ := isELF(p); ok {
				// Drop debug info as rpmbuild's brp-strip does (strip -g);
				// symbols stay for backtraces.
				stripped := filepath.Join(scratch, "strip", rel)
				if err := stripDebug(ctx, p, stripped); err != nil {
					return err
				}
				e.Src = stripped
				l.elfFiles = append(l.elfFiles, stripped)
			}
		}
		l.entries = append(l.entries, e)
		return nil
	})
	if err != nil {
		return fmt.Errorf("read staged tree %s: %w", stage, err)
	}
	for d := range owned {
		l.entries = append(l.entries, entry{Dst: d, Mode: 0o755, Owner: "root", Group: "root", Kind: kindDir})
	}
	return nil
}

// docDir is the package's own directory under base (/usr/share/doc/haproxy).
func docDir(dst, base string) string {
	name, _, _ := strings.Cut(strings.TrimPrefix(dst, base), "/")
	return base + name
}

func isELF(p string) (bool, error) {
	f, err := os.Open(p)
	if err != nil {
		return false, err
	}
	defer f.Close()
	magic := make([]byte, 4)
	if _, err := io.ReadFull(f, magic); err != nil {
		return false, nil
	}
	return bytes.Equal(magic, []byte("\x7fELF")), nil
}

// gzipFile compresses deterministically: no name, no mtime in the header.
func gzipFile(src, dst string) error {
	in, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	var b bytes.Buffer
	zw, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err != nil {
		return err
	}
	if _, err := zw.Write(in); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(dst, b.Bytes(), 0o644)
}

// stripDebug writes src without its debug sections to dst with binutils' strip.
func stripDebug(ctx context.Context, src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, "strip", "-g", "-o", dst, src).CombinedOutput()
	if err != nil {
		return hint.With(fmt.Errorf("strip -g %s: %w: %s", src, err, bytes.TrimSpace(out)),
			"install binutils (make deps)")
	}
	return nil
}
