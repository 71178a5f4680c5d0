package packaging

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"harpy/build"
	"harpy/hint"
)

// fakeStage is a staged tree whose "binary" is a shell script: not ELF, so Build
// needs no strip, no dpkg-query and no compile, and packages in milliseconds.
func fakeStage(t testing.TB) string {
	t.Helper()
	stage := t.TempDir()
	bin := filepath.Join(stage, "usr/sbin/haproxy")
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho HAProxy version 2.6.12\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return stage
}

// fakeOptions package fakeStage for el9 (and the .deb) with fixed metadata.
func fakeOptions(t testing.TB) Options {
	t.Helper()
	return Options{
		Version: testVersion, Dist: "el9", Arch: "x86_64", StageDir: fakeStage(t), OutDir: t.TempDir(),
		Formats: []string{"deb"}, Config: []byte("global\n"), SourceDateEpoch: testEpoch,
	}
}

// TestValidate: each bad option is refused as bad input, naming its flag, with a hint;
// nothing is written.
func TestValidate(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		set  func(*Options)
		want string
	}{
		{"format", func(o *Options) { o.Formats = []string{"zip"} }, `--format: unknown format "zip"`},
		{"format twice", func(o *Options) { o.Formats = []string{"rpm", "rpm"} }, `--format: "rpm" given twice`},
		{"release", func(o *Options) { o.Release = "1;rm" }, `--release: "1;rm" is not valid`},
		{"release dash", func(o *Options) { o.Release = "1-2" }, `--release: "1-2"`},
		{"release dot first", func(o *Options) { o.Release = ".1" }, `--release: ".1"`},
		{"version", func(o *Options) { o.Version = "2.6;x" }, `--version: "2.6;x"`},
		{"name", func(o *Options) { o.Name = "-x" }, `package name: "-x"`},
		{"dist", func(o *Options) { o.Dist = "el5" }, `--dist: unknown dist "el5"`},
		{"no dist", func(o *Options) { o.Dist = "" }, `--dist: an RPM needs a dist`},
		{"deb dist for rpm", func(o *Options) { o.Dist = "deb12" }, `--dist: an RPM needs an el dist, not "deb12"`},
		{"bad deb dist", func(o *Options) { o.Dist, o.Formats = "bogus", []string{"deb"} }, `--dist: unknown dist "bogus"`},
		{"compression", func(o *Options) { o.Compression = "bogus" }, `--compression: unknown compression "bogus"`},
		{"xz level", func(o *Options) { o.Compression = "xz:3" }, `--compression: bad level in "xz:3"`},
		{"gzip level", func(o *Options) { o.Compression = "gzip:x" }, `--compression: bad level`},
		{"zstd level", func(o *Options) { o.Compression = "zstd:23" }, `--compression: bad level`},
		{"sign key missing", func(o *Options) { o.SignKey = filepath.Join(dir, "missing.asc") }, `--sign-key: `},
		{"sign key device", func(o *Options) { o.SignKey = "/dev/zero" }, `--sign-key: /dev/zero: not a regular file`},
		{"sign key dir", func(o *Options) { o.SignKey = dir }, `not a regular file (a directory)`},
		{"sign key not PGP", func(o *Options) { o.SignKey = file }, `not a PGP key`},
		{"out is a file", func(o *Options) { o.OutDir = file }, `--out ` + file + `: ` + file + ` is not a directory`},
		{"out under a file", func(o *Options) { o.OutDir = filepath.Join(file, "sub") }, `--out ` + file + `/sub: `},
		{"out unwritable", func(o *Options) { o.OutDir = "/proc/harpy-out" }, `--out /proc/harpy-out: /proc is not writable`},
		{"out missing", func(o *Options) { o.OutDir = "" }, `--out: no output directory given`},
		{"no config", func(o *Options) { o.Config = nil }, `no haproxy.cfg given`},
		{"maintainer newline", func(o *Options) { o.Maintainer = "M <m@x>\nPre-Depends: evil" }, `--maintainer: "M <m@x>\nPre-Depends: evil" holds a line break`},
		{"packager via maintainer", func(o *Options) { o.Maintainer = "M <m@x>\nX: y" }, `--maintainer:`},
		{"packager newline", func(o *Options) { o.Packager = "P <p@x>\rRequires: evil" }, `--packager: `},
		{"packager no email", func(o *Options) { o.Packager = "Ops" }, `--packager: "Ops" is not "Name <email>"`},
		{"vendor newline", func(o *Options) { o.Vendor = "V\nRequires: evil" }, `--vendor: "V\nRequires: evil" holds a line break`},
		{"vendor escape", func(o *Options) { o.Vendor = "V\x1b[31m" }, `--vendor: "V\x1b[31m" holds the control character U+001B`},
		{"vendor space", func(o *Options) { o.Vendor = " V" }, `leading or trailing space`},
		{"license", func(o *Options) { o.License = "MIT\u2028Requires: x" }, `License: `},
		{"summary", func(o *Options) { o.Summary = "s\n%post" }, `Summary: `},
		{"group", func(o *Options) { o.Group = "g\x00" }, `Group: `},
		{"url scheme", func(o *Options) { o.URL = "javascript:x" }, `URL: "javascript:x" is not an http or https URL`},
		{"url newline", func(o *Options) { o.URL = "https://x/\nDepends: y" }, `URL: `},
		{"description section", func(o *Options) { o.Description = "ok\n%post\nrm -rf /" }, `Description: line 2 starts with %`},
		{"description indented section", func(o *Options) { o.Description = "ok\n  %files" }, `Description: line 2 starts with %`},
		{"description control", func(o *Options) { o.Description = "a\rb" }, `Description: line 1 holds the control character U+000D`},
		{"description invalid utf8", func(o *Options) { o.Description = "a\xffb" }, `not valid UTF-8`},
		{"description long", func(o *Options) { o.Description = strings.Repeat("a", 2000) }, `line 1 is longer`},
		{"build host", func(o *Options) { o.BuildHost = "h\nx" }, `BuildHost: `},
		{"arch", func(o *Options) { o.Arch = "x86 64" }, `Arch: `},
		{"changelog author", func(o *Options) { o.Changelog = []ChangelogEntry{{Author: "a\n* b", Text: "x"}} }, `changelog entry 1: author`},
		{"changelog text", func(o *Options) { o.Changelog = []ChangelogEntry{{Text: "x\x07"}} }, `changelog entry 1: line 1 holds`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := fakeOptions(t)
			o.Formats = []string{"rpm"}
			tc.set(&o)
			out := o.OutDir
			err := o.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate: %v, want %q", err, tc.want)
			}
			if !hint.IsInput(err) || hint.Of(err) == "" {
				t.Errorf("%v: want bad input with a hint (input %v, hint %q)", err, hint.IsInput(err), hint.Of(err))
			}
			if strings.Contains(err.Error(), "packaging:") {
				t.Errorf("doubled prefix: %v", err)
			}
			// Build refuses the same, before it writes anything.
			if _, berr := Build(t.Context(), o); berr == nil || berr.Error() != err.Error() {
				t.Errorf("Build: %v, want %v", berr, err)
			}
			if ents, _ := os.ReadDir(out); out != "" && len(ents) > 0 {
				t.Errorf("%s holds %d entries after a refusal", out, len(ents))
			}
		})
	}
	// Good options pass, and an --out that does not exist yet is not created.
	o := fakeOptions(t)
	o.OutDir = filepath.Join(dir, "new", "dist")
	o.Formats, o.Compression = []string{"rpm", "deb"}, "gzip:6"
	if err := o.Validate(); err != nil {
		t.Fatalf("Validate of good options: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "new")); err == nil {
		t.Error("Validate created the output directory")
	}
}

// TestStepPreflight: the package step refuses bad options in the pipeline's
// preflight, before any step runs.
func TestStepPreflight(t *testing.T) {
	var _ build.Preflighter = (*Step)(nil)
	o := fakeOptions(t)
	o.Version, o.StageDir, o.Release = "", "", "1;rm"
	ran := false
	_, err := build.Run(t.Context(), build.Options{}, []build.Step{probeStep{&ran}, &Step{Options: o}})
	if err == nil || !hint.IsInput(err) || err.Error() != `package: --release: "1;rm" is not valid` {
		t.Fatalf("build.Run: %v", err)
	}
	if ran {
		t.Error("a step ran before the preflight refused the options")
	}
}

type probeStep struct{ ran *bool }

func (probeStep) String() string { return "probe" }
func (p probeStep) Run(context.Context, *build.State) error {
	*p.ran = true
	return nil
}

// FuzzMetadata feeds hostile text (line breaks, control characters, %, :, field names)
// to every metadata field. Either the options are refused as bad input, or the built
// .deb's control file (parsed back) and the exported .spec have exactly the expected
// fields, tags and sections, with the value intact.
func FuzzMetadata(f *testing.F) {
	attacks := []string{
		"M <m@x>\nPre-Depends: evil", "V\nRequires: evil", "x\r\nDepends: y", "%(rm -rf /)",
		"50% off", "%post", "a\n%post\nrm -rf /", "a\n\n.\n \nb", "Key: value", "a:b", "\x1b[31mred",
		"Zoë <z@x>", "x\u2028y", "\ufeffbom", " lead", "trail ", "a\tb", "\\", "%%{name}", "{{.Info.Name}}",
		"line\n Pre-Depends: x", "\n", "", "%", "a\x00b", "https://h/%0a", "h\x85x", "a\nb\nc\nName: x",
	}
	for i := range metaFields {
		for _, a := range attacks {
			f.Add(uint8(i), a)
		}
	}
	stage := fakeStage(f)
	f.Fuzz(func(t *testing.T, field uint8, value string) {
		mf := metaFields[int(field)%len(metaFields)]
		o := Options{
			Version: testVersion, Dist: "el9", Arch: "x86_64", StageDir: stage, OutDir: t.TempDir(),
			Formats: []string{"deb"}, Config: []byte("global\n"), SourceDateEpoch: testEpoch,
		}
		mf.set(&o, value)
		if o.Version == "" || o.Arch == "" {
			return // set by the pipeline, read from the binary
		}
		if err := o.Validate(); err != nil {
			if !hint.IsInput(err) || hint.Of(err) == "" {
				t.Fatalf("%s=%q: refused without the bad-input mark or a hint: %v", mf.name, value, err)
			}
			return
		}
		full, err := o.withDefaults()
		if err != nil {
			t.Fatal(err)
		}
		paths, err := Build(t.Context(), o)
		if err != nil {
			t.Fatalf("%s=%q: accepted by Validate, refused by Build: %v", mf.name, value, err)
		}
		checkControl(t, paths[0], full)
		res, err := ExportSpec(t.Context(), o, t.TempDir())
		if err != nil {
			t.Fatalf("%s=%q: ExportSpec: %v", mf.name, value, err)
		}
		checkSpec(t, res.Spec, full)
	})
}

var metaFields = []struct {
	name string
	set  func(*Options, string)
}{
	{"Name", func(o *Options, v string) { o.Name = v }},
	{"Version", func(o *Options, v string) { o.Version = v }},
	{"Release", func(o *Options, v string) { o.Release = v }},
	{"Summary", func(o *Options, v string) { o.Summary = v }},
	{"Description", func(o *Options, v string) { o.Description = v }},
	{"License", func(o *Options, v string) { o.License = v }},
	{"URL", func(o *Options, v string) { o.URL = v }},
	{"Vendor", func(o *Options, v string) { o.Vendor = v }},
	{"Packager", func(o *Options, v string) { o.Packager = v }},
	{"Maintainer", func(o *Options, v string) { o.Maintainer = v }},
	{"Group", func(o *Options, v string) { o.Group = v }},
	{"BuildHost", func(o *Options, v string) { o.BuildHost = v }},
	{"Arch", func(o *Options, v string) { o.Arch = v }},
	{"ChangelogAuthor", func(o *Options, v string) { o.Changelog = []ChangelogEntry{{Author: v, Text: "x"}} }},
	{"ChangelogText", func(o *Options, v string) { o.Changelog = []ChangelogEntry{{Text: v}} }},
}

// checkControl parses the .deb's control file back: exactly the fields harpy writes,
// each value what was given.
func checkControl(t *testing.T, deb string, o Options) {
	t.Helper()
	ctl := debControl(t, deb)
	fields, err := parseControl(ctl)
	if err != nil {
		t.Fatalf("control file does not parse: %v\n%s", err, ctl)
	}
	var names []string
	for _, f := range fields {
		names = append(names, f.name)
	}
	want := []string{"Package", "Version", "Section", "Priority", "Architecture", "Maintainer", "Installed-Size", "Depends", "Homepage", "Description"}
	if !slices.Equal(names, want) {
		t.Fatalf("control fields %v, want %v\n%s", names, want, ctl)
	}
	get := func(name string) string {
		for _, f := range fields {
			if f.name == name {
				return f.value
			}
		}
		return ""
	}
	if get("Package") != o.Name || get("Maintainer") != o.Maintainer || get("Homepage") != o.URL ||
		get("Version") != o.Version+"-"+o.Release {
		t.Errorf("control values differ from the options:\n%s", ctl)
	}
	desc := strings.Split(get("Description"), "\n")
	if desc[0] != o.Summary {
		t.Errorf("synopsis %q, want %q", desc[0], o.Summary)
	}
	// Every line of the description is one continuation line, in order.
	wantLines := strings.Split(strings.TrimSpace(o.Description), "\n")
	if len(desc)-1 != len(wantLines) {
		t.Fatalf("description has %d lines, want %d:\n%s", len(desc)-1, len(wantLines), ctl)
	}
	for i, l := range wantLines {
		got := strings.TrimPrefix(desc[i+1], " ")
		if l = strings.TrimSpace(l); l == "" {
			l = "."
		}
		if got != l {
			t.Errorf("description line %d: %q, want %q", i+1, got, l)
		}
	}
}

type controlField struct{ name, value string }

// parseControl reads one Debian control paragraph (deb-control(5)): a field starts
// at column 0 with "Name:", continuation lines start with a space or a tab.
func parseControl(b []byte) ([]controlField, error) {
	var fields []controlField
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			return nil, fmt.Errorf("empty line: a second paragraph")
		case line[0] == ' ' || line[0] == '\t':
			if len(fields) == 0 {
				return nil, fmt.Errorf("continuation before any field")
			}
			fields[len(fields)-1].value += "\n" + line
		default:
			name, value, ok := strings.Cut(line, ":")
			if !ok {
				return nil, fmt.Errorf("line %q is no field", line)
			}
			fields = append(fields, controlField{name, strings.TrimSpace(value)})
		}
	}
	return fields, sc.Err()
}

// debControl extracts ./control from a .deb (an ar archive with control.tar.gz).
func debControl(t *testing.T, deb string) []byte {
	t.Helper()
	b, err := os.ReadFile(deb)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("!<arch>\n")) {
		t.Fatalf("%s is not an ar archive", deb)
	}
	for p := 8; p+60 <= len(b); {
		hdr := b[p : p+60]
		name := strings.TrimRight(strings.TrimSpace(string(hdr[:16])), "/")
		var size int
		fmt.Sscanf(strings.TrimSpace(string(hdr[48:58])), "%d", &size)
		body := b[p+60 : p+60+size]
		p += 60 + size + size%2
		if name != "control.tar.gz" {
			continue
		}
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(zr)
		for {
			h, err := tr.Next()
			if err != nil {
				t.Fatalf("no ./control in %s: %v", deb, err)
			}
			if h.Name == "./control" || h.Name == "control" {
				c, err := io.ReadAll(tr)
				if err != nil {
					t.Fatal(err)
				}
				return c
			}
		}
	}
	t.Fatalf("no control.tar.gz in %s", deb)
	return nil
}

// rpm's section and conditional keywords: a line starting with one of them changes
// the structure of a spec.
var specKeywords = []string{
	"package", "description", "prep", "generate_buildrequires", "conf", "build", "install", "check", "clean",
	"pre", "post", "preun", "postun", "pretrans", "posttrans", "preuntrans", "postuntrans", "verifyscript",
	"triggerprein", "triggerin", "triggerun", "triggerpostun", "filetriggerin", "filetriggerun",
	"filetriggerpostun", "transfiletriggerin", "transfiletriggerun", "transfiletriggerpostun",
	"sepolicy", "files", "changelog", "patchlist", "sourcelist",
	"if", "ifarch", "ifnarch", "ifos", "ifnos", "elif", "elifarch", "elifos", "else", "endif",
	"include", "define", "global", "undefine",
}

// checkSpec parses the exported spec back as rpmbuild reads its structure: exactly
// the expected tags (each value, with %% read as %, what was given, and no other
// macro), and exactly the expected sections in order.
func checkSpec(t *testing.T, path string, o Options) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var sections, tags []string
	values := map[string]string{}
	section, entries := "", 0
	for _, line := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimLeft(line, " \t")
		if strings.HasPrefix(trimmed, "%") && !strings.HasPrefix(trimmed, "%%") {
			word := strings.TrimLeft(trimmed[1:], "{")
			word, _, _ = strings.Cut(word, " ")
			word, _, _ = strings.Cut(word, "}")
			if slices.Contains(specKeywords, word) {
				sections = append(sections, word)
				if word != "global" && word != "define" {
					section = word
				}
				continue
			}
		}
		if section == "changelog" && strings.HasPrefix(line, "*") {
			entries++
		}
		if section != "" || strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		tag, value, ok := strings.Cut(line, ":")
		if !ok {
			t.Fatalf("preamble line %q is not a tag:\n%s", line, b)
		}
		value = strings.TrimSpace(value)
		tags = append(tags, tag)
		if unescaped := strings.ReplaceAll(value, "%%", ""); strings.Contains(unescaped, "%") {
			t.Errorf("tag %s: %q holds an unescaped macro", tag, value)
		}
		values[tag] = strings.ReplaceAll(value, "%%", "%")
	}
	wantTags := []string{"Name", "Version", "Release", "Summary", "License", "URL", "Vendor", "Packager", "Group", "ExclusiveArch", "Source0", "Requires", "Requires"}
	if !slices.Equal(tags, wantTags) {
		t.Fatalf("spec tags %v, want %v\n%s", tags, wantTags, b)
	}
	for tag, want := range map[string]string{
		"Name": o.Name, "Version": o.Version, "Release": o.rpmRelease(), "Summary": o.Summary, "License": o.License,
		"URL": o.URL, "Vendor": o.Vendor, "Packager": o.Packager, "Group": o.Group, "ExclusiveArch": o.Arch,
	} {
		if values[tag] != want {
			t.Errorf("spec %s: %q, want %q", tag, values[tag], want)
		}
	}
	wantSections := []string{"global", "global", "global", "global", "global", "global", "global", "global",
		"description", "prep", "build", "install", "pre", "post", "preun", "postun", "files", "changelog"}
	if !slices.Equal(sections, wantSections) {
		t.Fatalf("spec sections %v, want %v\n%s", sections, wantSections, b)
	}
	if entries != len(o.Changelog) {
		t.Errorf("spec %%changelog has %d entries, want %d\n%s", entries, len(o.Changelog), b)
	}
}

// TestMetadataRealTools: metadata that harpy accepts but that looks like structure
// (%, macros, "Field:" lines, blank lines, non-ASCII) reaches the real tools' view of
// the .deb and the exported .spec unchanged, and adds nothing.
func TestMetadataRealTools(t *testing.T) {
	o := fakeOptions(t)
	o.Formats = []string{"deb"}
	o.Vendor = "50% off %{name} %(touch /tmp/harpy-pwned)"
	o.Packager = "Zoë Ops <ops@localhost>"
	o.Summary = "proxy: %post Requires: evil"
	o.License = "GPLv2+ %%{nil}"
	o.URL = "https://www.haproxy.org/a%20b"
	o.Description = "First line.\nPre-Depends: evil\n\n.\nRequires: evil %{name} %(id)\n  Provides: x"
	paths, err := Build(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	full, err := o.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	got := run(t, "dpkg-deb", "-f", paths[0], "Maintainer", "Homepage", "Pre-Depends", "Provides")
	if want := "Maintainer: " + o.Packager + "\nHomepage: " + o.URL + "\n"; got != want {
		t.Errorf("dpkg-deb -f:\n got %q\nwant %q", got, want)
	}
	res, err := ExportSpec(t.Context(), o, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	q := run(t, "rpmspec", "-q", "--srpm", "--qf", "%{VENDOR}|%{PACKAGER}|%{SUMMARY}|%{LICENSE}|%{URL}|[%{REQUIRES},]|[%{PROVIDES},]\n", res.Spec)
	want := fmt.Sprintf("%s|%s|%s|%s|%s||%s,\n", o.Vendor, o.Packager, o.Summary, o.License, o.URL, full.Name)
	if q != want {
		t.Errorf("rpmspec -q:\n got %q\nwant %q", q, want)
	}
	desc := run(t, "rpmspec", "-q", "--srpm", "--qf", "%{DESCRIPTION}", res.Spec)
	if desc != full.Description {
		t.Errorf("rpmspec description:\n got %q\nwant %q", desc, full.Description)
	}
	if _, err := os.Stat("/tmp/harpy-pwned"); err == nil {
		t.Error("rpmspec ran the %(…) in a field")
	}
	// rpmbuild makes the package with exactly the scriptlets' Requires.
	top := t.TempDir()
	run(t, "rpmbuild", "-bb", "--nodeps", "--quiet", "--define", "_topdir "+top,
		"--define", "_sourcedir "+filepath.Dir(res.Spec), res.Spec)
	rpms, _ := filepath.Glob(filepath.Join(top, "RPMS", "*", "*.rpm"))
	if len(rpms) != 1 {
		t.Fatalf("rpmbuild made %v", rpms)
	}
	if reqs := run(t, "rpm", "-qp", "--requires", rpms[0]); strings.Contains(reqs, "evil") {
		t.Errorf("rpm -qp --requires:\n%s", reqs)
	}
	if v := run(t, "rpm", "-qp", "--qf", "%{VENDOR}", rpms[0]); v != o.Vendor {
		t.Errorf("built vendor %q, want %q", v, o.Vendor)
	}
}

// TestOutputsOnly: Build and ExportSpec leave exactly their outputs in the directory
// (no temporary files), and a cancelled Build leaves nothing.
func TestOutputsOnly(t *testing.T) {
	o := fakeOptions(t)
	o.Formats = []string{"rpm", "deb"}
	paths, err := Build(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	res, err := ExportSpec(t.Context(), o, o.OutDir)
	if err != nil {
		t.Fatal(err)
	}
	want := append(paths, res.Spec, res.Sources[0])
	got, _ := filepath.Glob(filepath.Join(o.OutDir, "*"))
	hidden, _ := filepath.Glob(filepath.Join(o.OutDir, ".*"))
	slices.Sort(want)
	if !slices.Equal(got, want) || len(hidden) > 0 {
		t.Errorf("out dir holds %v %v, want %v", got, hidden, want)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	o.OutDir = t.TempDir()
	if _, err := Build(ctx, o); err == nil {
		t.Fatal("a cancelled Build succeeded")
	}
	if ents, _ := os.ReadDir(o.OutDir); len(ents) > 0 {
		t.Errorf("a cancelled Build left %v", ents)
	}
}
