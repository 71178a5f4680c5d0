package profiles

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

func (p *Profile) effectiveMode(px *Proxy) string {
	switch {
	case px.Mode != "":
		return px.Mode
	case p.Defaults.Mode != "":
		return p.Defaults.Mode
	}
	return "http"
}

func (p *Profile) validateProxy(v *validator, kind, path string, px *Proxy) {
	if px.Name == "" {
		v.fail(path+".name", "missing: every %s needs a name", kind)
	} else {
		v.ident(path+".name", px.Name)
	}
	v.oneOf(path+".mode", px.Mode, modes)
	mode := p.effectiveMode(px)
	front := kind != "backend"
	back := kind != "frontend"
	if front && len(px.Bind) == 0 {
		v.fail(path+".bind", "a %s needs at least one bind address", kind)
	}
	for i, b := range px.Bind {
		if !front {
			v.fail(path+".bind", "a backend has no bind; use a frontend or listen")
			break
		}
		v.bindAddr(fmt.Sprintf("%s.bind.%d", path, i), b)
	}
	acls := map[string]bool{}
	for i, a := range px.ACL {
		ap := fmt.Sprintf("%s.acl.%d", path, i)
		if !front {
			v.fail(ap, "ACLs and use_backend belong to a frontend or listen")
			break
		}
		v.ident(ap+".name", a.Name)
		v.oneOf(ap+".criterion", a.Criterion, criteria)
		if a.Criterion == "" {
			v.fail(ap+".criterion", "missing: one of %s", keys(criteria))
		}
		v.word(ap+".value", a.Value)
		if strings.HasPrefix(a.Value, "-") {
			// HAProxy would read it as a flag (-i, -m, -f FILE …).
			v.fail(ap+".value", "%q starts with '-', which HAProxy reads as an ACL flag", a.Value)
		}
		if strings.HasSuffix(a.Criterion, "_reg") {
			v.regex(ap+".value", a.Value)
		} else if a.Value != "" {
			v.aclValue(ap+".value", a.Criterion, a.Value)
		}
		if strings.HasPrefix(a.Criterion, "path") || strings.HasPrefix(a.Criterion, "hdr") || a.Criterion == "method" {
			if mode != "http" {
				v.fail(ap+".criterion", "%s needs mode http", a.Criterion)
			}
		}
		acls[a.Name] = true
	}
	for i, u := range px.UseBackend {
		up := fmt.Sprintf("%s.use_backend.%d", path, i)
		if !front {
			break
		}
		v.ident(up+".backend", u.Backend)
		if len(u.If) == 0 {
			v.fail(up+".if", "missing: name the ACLs that must match")
		}
		for j, c := range u.If {
			if !acls[strings.TrimPrefix(c, "!")] {
				v.fail(fmt.Sprintf("%s.if.%d", up, j), "%q is not an ACL of this %s", c, kind)
			}
		}
	}
	if px.DefaultBackend != "" {
		if !front {
			v.fail(path+".default_backend", "default_backend belongs to a frontend or listen")
		} else {
			v.ident(path+".default_backend", px.DefaultBackend)
		}
	}
	if kind == "frontend" {
		for _, f := range []struct {
			k   string
			set bool
		}{{"balance", px.Balance != ""}, {"health", px.Health != nil}, {"strip_prefix", px.StripPrefix != ""},
			{"resolvers", px.Resolvers != ""}, {"init_addr", px.InitAddr != ""}, {"servers", len(px.Servers) > 0},
			{"server_template", px.ServerTemplate != nil}} {
			if f.set {
				v.fail(path+"."+f.k, "a frontend has no %s; put it in a backend or listen", f.k)
			}
		}
		if px.DefaultBackend == "" && len(px.UseBackend) == 0 {
			v.fail(path, "frontend %q sends traffic nowhere: set default_backend or use_backend", px.Name)
		}
	}
	v.rangeInt(path+".maxconn", px.Maxconn, 1, 10_000_000)
	if !back {
		return
	}
	v.oneOf(path+".balance", px.Balance, balances)
	if px.StripPrefix != "" {
		if !prefixRE.MatchString(px.StripPrefix) {
			v.fail(path+".strip_prefix", "%q: write a path prefix like /spark/ (letters, digits, '_', '~', '-' between slashes)", px.StripPrefix)
		}
		if mode != "http" {
			v.fail(path+".strip_prefix", "rewriting paths needs mode http")
		}
	}
	if px.Resolvers != "" {
		if _, ok := p.Resolvers[px.Resolvers]; !ok {
			v.fail(path+".resolvers", "no resolvers section %q (have: %s)", px.Resolvers, strings.Join(sortedKeys(p.Resolvers), ", "))
		}
	}
	if px.InitAddr != "" {
		for _, m := range strings.Split(px.InitAddr, ",") {
			if m == "last" || m == "libc" || m == "none" {
				continue
			}
			if _, err := parseAddress(m, ruleInitAddr); err != nil {
				v.failHint(path+".init_addr", "write a comma list of last, libc, none or an IP address, like last,libc,10.0.0.1",
					"%q: %s", px.InitAddr, err.msg)
				break
			}
		}
	}
	if h := px.Health; h != nil {
		p.validateHealth(v, path+".health", h)
	}
	seen := map[string]int{}
	for i, s := range px.Servers {
		sp := fmt.Sprintf("%s.servers.%d", path, i)
		v.ident(sp+".name", s.Name)
		if j, ok := seen[s.Name]; ok {
			v.fail(sp+".name", "duplicate server name %q (also servers[%d]); HAProxy 2.0+ refuses it", s.Name, j)
		}
		seen[s.Name] = i
		v.address(sp+".address", s.Address, ruleServer)
		if s.Weight != nil && (*s.Weight < 0 || *s.Weight > 256) {
			v.fail(sp+".weight", "%d is out of range 0-256", *s.Weight)
		}
		v.rangeInt(sp+".maxconn", s.Maxconn, 1, 10_000_000)
	}
	if t := px.ServerTemplate; t != nil {
		tp := path + ".server_template"
		v.ident(tp+".prefix", t.Prefix)
		if t.Count < 1 || t.Count > 100000 {
			v.fail(tp+".count", "%d is out of range 1-100000", t.Count)
		}
		if a, ok := v.address(tp+".address", t.Address, ruleTemplate); ok && a.IP.IsValid() {
			v.fail(tp+".address", "%q: a server template resolves a DNS name (or _service._proto.name SRV record)", t.Address)
		}
		if px.Resolvers == "" {
			v.fail(tp, "a server template needs resolvers")
		}
		for name, i := range seen {
			if strings.HasPrefix(name, t.Prefix) {
				v.fail(fmt.Sprintf("%s.servers.%d.name", path, i), "server name %q may clash with server_template prefix %q", name, t.Prefix)
			}
		}
	}
}

var (
	portRangeRE = regexp.MustCompile(`^[1-9][0-9]{0,4}(:[1-9][0-9]{0,4})?$`)
	methodRE    = regexp.MustCompile(`^[A-Z]{1,16}$`)
	hostValueRE = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,253}$`)
)

// aclValue checks that an ACL value has the type its fetch compares with: HAProxy
// would refuse it, or (src) try to resolve it as a host name while it starts.
func (v *validator) aclValue(path, criterion, s string) {
	switch {
	case criterion == "src":
		if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
			return
		}
		if _, err := netip.ParsePrefix(s); err == nil {
			return
		}
		v.failHint(path, "write an IP address or a network, like 10.0.0.0/8", "%q is not an IP address or network for src", s)
	case criterion == "dst_port":
		lo, hi, _ := strings.Cut(s, ":")
		a, _ := strconv.Atoi(lo)
		b, _ := strconv.Atoi(cmpOr(hi, lo))
		if !portRangeRE.MatchString(s) || a > 65535 || b > 65535 || b < a {
			v.failHint(path, "write a port or a range, like 443 or 8000:8999", "%q is not a port or port range for dst_port", s)
		}
	case criterion == "method":
		if !methodRE.MatchString(s) {
			v.failHint(path, "write an HTTP method in capitals, like GET or POST", "%q is not an HTTP method", s)
		}
	case strings.HasPrefix(criterion, "hdr"):
		if !hostValueRE.MatchString(s) {
			v.failHint(path, "write a host name or a part of one, like example.com or www.", "%q is not (part of) a host name for %s", s, criterion)
		}
	}
}

func (v *validator) regex(path, s string) {
	if _, err := regexp.Compile(s); err != nil {
		v.fail(path, "%q is not a valid regular expression: %v", s, err)
	}
}

func (p *Profile) validateHealth(v *validator, path string, h *Health) {
	v.oneOf(path+".type", h.Type, set("tcp", "http", "mysql"))
	typ := h.kind()
	switch typ {
	case "http": // HTTP checks work in mode tcp too
		v.oneOf(path+".method", h.Method, methods)
		if h.Path == "" {
			v.fail(path+".path", "an http check needs a path, like /health")
		} else if !uriPathRE.MatchString(h.Path) {
			v.fail(path+".path", "%q: write a path like /health (letters, digits and _./~%%?=&+-)", h.Path)
		}
		if h.Host != "" && !hostRE.MatchString(h.Host) {
			v.fail(path+".host", "%q is not a DNS name", h.Host)
		}
		n := 0
		if h.ExpectStatus != 0 {
			n++
			if h.ExpectStatus < 100 || h.ExpectStatus > 599 {
				v.fail(path+".expect_status", "%d is not an HTTP status", h.ExpectStatus)
			}
		}
		if h.ExpectString != "" {
			n++
			v.word(path+".expect_string", h.ExpectString)
		}
		if h.ExpectRegex != "" {
			n++
			v.word(path+".expect_rstring", h.ExpectRegex)
			v.regex(path+".expect_rstring", h.ExpectRegex)
		}
		if n > 1 {
			v.fail(path, "give one of expect_status, expect_string, expect_rstring")
		}
	case "mysql":
		if !mysqlRE.MatchString(h.MySQLUser) {
			v.fail(path+".mysql_user", "%q is not a MySQL user name (letters, digits, '_', '.', '-')", h.MySQLUser)
		}
	}
	if typ != "http" {
		for _, f := range []struct {
			k   string
			set bool
		}{{"method", h.Method != ""}, {"path", h.Path != ""}, {"host", h.Host != ""}, {"expect_status", h.ExpectStatus != 0},
			{"expect_string", h.ExpectString != ""}, {"expect_rstring", h.ExpectRegex != ""}} {
			if f.set {
				v.fail(path+"."+f.k, "%s only applies to an http check", f.k)
			}
		}
	}
	if typ != "mysql" && h.MySQLUser != "" {
		v.fail(path+".mysql_user", "mysql_user only applies to a mysql check")
	}
	v.duration(path+".inter", h.Inter)
	v.rangeInt(path+".fall", h.Fall, 1, 100)
	v.rangeInt(path+".rise", h.Rise, 1, 100)
	v.rangeInt(path+".port", h.Port, 1, 65535)
}

// kind is the check type, explicit or implied by the fields given.
func (h *Health) kind() string {
	switch {
	case h.Type != "":
		return h.Type
	case h.MySQLUser != "":
		return "mysql"
	case h.Path != "" || h.Method != "" || h.ExpectStatus != 0 || h.ExpectString != "" || h.ExpectRegex != "":
		return "http"
	}
	return "tcp"
}

func (p *Profile) validateRefs(v *validator) {
	backends := map[string]string{} // name → mode
	for _, px := range append(append([]*Proxy{}, p.Backends...), p.Listens...) {
		if px != nil && !px.Drop {
			backends[px.Name] = p.effectiveMode(px)
		}
	}
	ref := func(path, name string, from *Proxy) {
		bm, ok := backends[name]
		switch {
		case !ok:
			v.fail(path, "no backend or listen named %q", name)
		case bm != p.effectiveMode(from):
			v.fail(path, "%q runs in mode %s but %q in mode %s: HAProxy refuses to mix them", from.Name, p.effectiveMode(from), name, bm)
		}
	}
	check := func(kind string, list []*Proxy) {
		for i, px := range list {
			if px == nil || px.Drop {
				continue
			}
			path := fmt.Sprintf("%s.%d", kind, i)
			if px.DefaultBackend != "" {
				ref(path+".default_backend", px.DefaultBackend, px)
			}
			for j, u := range px.UseBackend {
				ref(fmt.Sprintf("%s.use_backend.%d.backend", path, j), u.Backend, px)
			}
		}
	}
	check("frontend", p.Frontends)
	check("listen", p.Listens)
}
