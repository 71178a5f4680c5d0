package packaging

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"harpy/hint"
	"harpy/safefile"
)

// MakeRepo turns a directory of RPMs into a yum/dnf repository with the real
// createrepo_c (repodata/ next to the packages) and returns the RPMs it holds.
// Hosts then use it with a .repo file whose baseurl points at the directory
// (file:// or served over HTTP), or once with `dnf --repofrompath`.
//
// createrepo_c skips a package it cannot read with a warning and exit status 0, so
// the new metadata is made beside the old, checked to list every RPM of the
// directory, and only then put in place: a corrupt RPM fails the run, names the
// file, and leaves the previous repository as it was.
func MakeRepo(ctx context.Context, dir string) ([]string, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, hint.With(fmt.Errorf("repo %s: %w", dir, err), "pass the directory harpy build wrote its RPMs to")
	}
	if !st.IsDir() {
		return nil, hint.With(fmt.Errorf("repo %s: not a directory", dir), "pass a directory of .rpm files")
	}
	rpms, err := filepath.Glob(filepath.Join(dir, "*.rpm"))
	if err != nil {
		return nil, err
	}
	if len(rpms) == 0 {
		return nil, hint.With(fmt.Errorf("repo %s: no .rpm files", dir), "%s", "build packages into it first: harpy build --format rpm --out "+dir)
	}
	tool, err := exec.LookPath("createrepo_c")
	if err != nil {
		return nil, hint.With(fmt.Errorf("repo %s: createrepo_c not found: %w", dir, err), "install createrepo-c (apt) or createrepo_c (dnf)")
	}
	tmp, err := os.MkdirTemp(dir, ".harpy-repo-*")
	if err != nil {
		return nil, hint.With(fmt.Errorf("repo %s: %w", dir, err), "make the directory writable")
	}
	defer os.RemoveAll(tmp)
	// The package list keeps createrepo_c to exactly the RPMs listed here (it would
	// otherwise walk subdirectories too).
	var list bytes.Buffer
	for _, r := range rpms {
		fmt.Fprintln(&list, filepath.Base(r))
	}
	pkglist := filepath.Join(tmp, "pkglist")
	if err := os.WriteFile(pkglist, list.Bytes(), 0o644); err != nil {
		return nil, fmt.Errorf("repo %s: %w", dir, err)
	}
	args := []string{"--pkglist", pkglist, "--outputdir", tmp}
	if _, err := os.Stat(filepath.Join(dir, "repodata", "repomd.xml")); err == nil {
		args = append(args, "--update", "--update-md-path", dir)
	}
	cmd := exec.CommandContext(ctx, tool, append(args, dir)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return nil, hint.With(fmt.Errorf("repo %s: createrepo_c: %w: %s", dir, err, lastLines(out.Bytes(), 5)),
			"check that the directory is writable and holds valid RPMs (rpm -K)")
	}
	listed, err := repoLocations(filepath.Join(tmp, "repodata"))
	if err != nil {
		return nil, fmt.Errorf("repo %s: read the metadata createrepo_c made: %w: %s", dir, err, lastLines(out.Bytes(), 5))
	}
	var missing []string
	for _, r := range rpms {
		if !slices.Contains(listed, filepath.Base(r)) {
			missing = append(missing, r+readError(out.Bytes(), r))
		}
	}
	if len(missing) > 0 || len(listed) != len(rpms) {
		return nil, hint.With(fmt.Errorf("repo %s: createrepo_c could not read %d of %d packages: %s", dir, len(missing), len(rpms), strings.Join(missing, "; ")),
			"check the file with rpm -K; rebuild it or move it out of %s (the previous repository is unchanged)", dir)
	}
	if err := swapRepodata(dir, tmp); err != nil {
		return nil, fmt.Errorf("repo %s: put the metadata in place: %w", dir, err)
	}
	return rpms, nil
}

var cannotRead = regexp.MustCompile(`Cannot read package: (.+): (.+)$`)

// readError is createrepo_c's reason for not reading rpm, as " (reason)", or "".
func readError(out []byte, rpm string) string {
	for _, line := range strings.Split(string(out), "\n") {
		if m := cannotRead.FindStringSubmatch(strings.TrimSpace(line)); m != nil && filepath.Base(m[1]) == filepath.Base(rpm) {
			return " (" + m[2] + ")"
		}
	}
	return ""
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " / ")
}

// repoLocations lists the package file names (location hrefs) of a repodata
// directory's primary metadata, as dnf would read them.
func repoLocations(repodata string) ([]string, error) {
	md, err := safefile.ReadFile(filepath.Join(repodata, "repomd.xml"), safefile.MaxConfig)
	if err != nil {
		return nil, err
	}
	var repomd struct {
		Data []struct {
			Type     string `xml:"type,attr"`
			Location struct {
				Href string `xml:"href,attr"`
			} `xml:"location"`
		} `xml:"data"`
	}
	if err := xml.Unmarshal(md, &repomd); err != nil {
		return nil, fmt.Errorf("repomd.xml: %w", err)
	}
	href := ""
	for _, d := range repomd.Data {
		if d.Type == "primary" {
			href = d.Location.Href
		}
	}
	if href == "" || !strings.HasPrefix(href, "repodata/") || strings.Contains(href, "..") {
		return nil, errors.New("repomd.xml names no primary metadata")
	}
	f, err := safefile.Open(filepath.Join(filepath.Dir(repodata), "repodata", strings.TrimPrefix(href, "repodata/")))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", href, err)
	}
	dec := xml.NewDecoder(io.LimitReader(zr, 1<<30))
	var locs []string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return locs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", href, err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "location" {
			for _, a := range se.Attr {
				if a.Name.Local == "href" {
					locs = append(locs, a.Value)
				}
			}
		}
	}
}

// swapRepodata replaces dir/repodata with tmp/repodata; the old one is removed with
// tmp. If the new one cannot be moved in, the old one is put back.
func swapRepodata(dir, tmp string) error {
	cur, old := filepath.Join(dir, "repodata"), filepath.Join(tmp, "old-repodata")
	hadOld := false
	if _, err := os.Lstat(cur); err == nil {
		if err := os.Rename(cur, old); err != nil {
			return err
		}
		hadOld = true
	}
	if err := safefile.Rename(filepath.Join(tmp, "repodata"), cur); err != nil {
		if hadOld {
			os.Rename(old, cur)
		}
		return err
	}
	return nil
}
