package distro

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"

	"harpy/hint"
	"harpy/safefile"
)

// Host names the dist of the machine harpy runs on, from /etc/os-release: el<N> on RHEL
// and its rebuilds (rhel, centos, rocky, almalinux, ol; Fedora is not el), deb<N> on
// Debian, ubuntu<N.N> on Ubuntu. The name need not be one harpy has data for.
func Host() (string, error) {
	b, err := safefile.ReadFile("/etc/os-release", safefile.MaxConfig)
	if err != nil {
		return "", hint.With(fmt.Errorf("read host dist: %w", err), "pass --dist explicitly")
	}
	return FromOSRelease(b)
}

// FromOSRelease names the dist an os-release file describes.
func FromOSRelease(b []byte) (string, error) {
	kv := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		kv[k] = strings.Trim(v, `"'`)
	}
	id, ver := kv["ID"], kv["VERSION_ID"]
	major, _, _ := strings.Cut(ver, ".")
	like := " " + kv["ID_LIKE"] + " "
	switch {
	case id == "debian" && major != "":
		return "deb" + major, nil
	case id == "ubuntu" && ver != "":
		return "ubuntu" + ver, nil
	case id == "fedora":
		return "", hint.With(fmt.Errorf("host dist: Fedora %s is not an el release", printable(ver)), "pass --dist el9 (the closest el layout) explicitly")
	case (id == "rhel" || strings.Contains(like, " rhel ") || strings.Contains(like, " centos ")) && major != "":
		return "el" + major, nil
	}
	return "", hint.With(fmt.Errorf("host dist: unknown system ID=%q VERSION_ID=%q in /etc/os-release", id, ver), "pass --dist explicitly")
}
