package packaging

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// elfRequires derives rpm's automatic Requires from one ELF file the way
// rpmbuild's elfdeps does: every DT_NEEDED soname as `libssl.so.3()(64bit)`,
// every needed symbol version as `libc.so.6(GLIBC_2.34)(64bit)`, and
// `rtld(GNU_HASH)` when the file has a GNU hash table but no SysV one.
// A file that is not ELF yields nothing.
func elfRequires(path string) ([]string, error) {
	f, err := openELF(path)
	if f == nil || err != nil {
		return nil, err
	}
	defer f.Close()
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return nil, nil
	}
	marker := ""
	if f.Class == elf.ELFCLASS64 && f.Machine != elf.EM_ALPHA {
		marker = "(64bit)"
	}
	var reqs []string
	needed, err := f.DynString(elf.DT_NEEDED)
	if err != nil {
		return nil, fmt.Errorf("read DT_NEEDED of %s: %w", path, err)
	}
	for _, so := range needed {
		if strings.Contains(so, ".so") {
			reqs = append(reqs, so+"()"+marker)
		}
	}
	vneeds, err := f.DynamicVersionNeeds()
	if err != nil && f.Section(".gnu.version_r") != nil {
		return nil, fmt.Errorf("read version needs of %s: %w", path, err)
	}
	for _, vn := range vneeds {
		if !strings.Contains(vn.Name, ".so") {
			continue
		}
		for _, d := range vn.Needs {
			reqs = append(reqs, fmt.Sprintf("%s(%s)%s", vn.Name, d.Dep, marker))
		}
	}
	gnuHash, _ := f.DynValue(elf.DT_GNU_HASH)
	sysvHash, _ := f.DynValue(elf.DT_HASH)
	if len(gnuHash) > 0 && len(sysvHash) == 0 {
		reqs = append(reqs, "rtld(GNU_HASH)")
	}
	return reqs, nil
}

// elfNeeded lists the DT_NEEDED sonames of an ELF file (nil for non-ELF).
func elfNeeded(path string) ([]string, error) {
	f, err := openELF(path)
	if f == nil || err != nil {
		return nil, err
	}
	defer f.Close()
	return f.DynString(elf.DT_NEEDED)
}

// openELF opens an ELF file; a file that is not ELF gives (nil, nil).
func openELF(path string) (*elf.File, error) {
	if ok, err := isELF(path); err != nil || !ok {
		return nil, err
	}
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read ELF %s: %w", path, err)
	}
	return f, nil
}

// elfArch maps the binary's machine to rpm's arch name.
func elfArch(path string) (string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return "", fmt.Errorf("read arch of %s: %w", path, err)
	}
	defer f.Close()
	switch f.Machine {
	case elf.EM_X86_64:
		return "x86_64", nil
	case elf.EM_AARCH64:
		return "aarch64", nil
	case elf.EM_386:
		return "i686", nil
	case elf.EM_PPC64:
		return "ppc64le", nil
	case elf.EM_S390:
		return "s390x", nil
	}
	return "", fmt.Errorf("read arch of %s: unsupported machine %v (pass an explicit arch)", path, f.Machine)
}

// debArch maps rpm arch names to Debian's.
func debArch(rpmArch string) string {
	switch rpmArch {
	case "x86_64":
		return "amd64"
	case "aarch64":
		return "arm64"
	case "i686", "i386":
		return "i386"
	case "ppc64le":
		return "ppc64el"
	}
	return rpmArch
}

// debDepends maps sonames to the Debian packages that ship them on this host,
// with the minimum version from their shlibs files, as dpkg-shlibdeps would.
// Without dpkg (a non-Debian host) it returns nothing: the caller notes it.
func debDepends(ctx context.Context, sonames []string) ([]string, error) {
	if _, err := exec.LookPath("dpkg-query"); err != nil || len(sonames) == 0 {
		return nil, nil
	}
	// One dpkg-query for all sonames: each call reads every package's file list.
	args := []string{"-S"}
	for _, so := range sonames {
		args = append(args, "*/"+so)
	}
	out, err := exec.CommandContext(ctx, "dpkg-query", args...).Output()
	if err != nil {
		return nil, fmt.Errorf("find the Debian packages of %v (dpkg-query -S): %w", sonames, err)
	}
	owner := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		names, file, ok := strings.Cut(sc.Text(), ": ")
		if !ok || strings.Contains(names, ",") {
			continue
		}
		if base := filepath.Base(file); owner[base] == "" {
			owner[base] = names
		}
	}
	var deps []string
	for _, so := range sonames {
		pkg := owner[so]
		if pkg == "" {
			return nil, fmt.Errorf("find the Debian package of %s: no package ships it", so)
		}
		dep := strings.SplitN(pkg, ":", 2)[0]
		if v := shlibsVersion(ctx, pkg, so); v != "" {
			dep = v
		}
		if !slices.Contains(deps, dep) {
			deps = append(deps, dep)
		}
	}
	slices.Sort(deps)
	return deps, nil
}

// shlibsVersion reads the dependency a package's shlibs file declares for a
// soname (libssl.so.3 → "libssl3 (>= 3.0.0)"), or "".
func shlibsVersion(ctx context.Context, pkg, soname string) string {
	path, err := exec.CommandContext(ctx, "dpkg-query", "--control-path", pkg, "shlibs").Output()
	if err != nil || len(bytes.TrimSpace(path)) == 0 {
		return ""
	}
	b, err := os.ReadFile(strings.TrimSpace(string(path)))
	if err != nil {
		return ""
	}
	lib, ver, ok := strings.Cut(soname, ".so.")
	if !ok {
		return ""
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 3 && !strings.HasSuffix(fields[0], ":") && fields[0] == lib && fields[1] == ver {
			return strings.Join(fields[2:], " ")
		}
	}
	return ""
}
