package profiles

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// addrRule says what an address field may hold. Every address of a profile (bind,
// stats.bind, servers, server_template, resolvers nameservers, init_addr, the log
// target) is read by parseAddress under one of these rules, so an address is checked in
// one place only: a hole closed here is closed for every field.
type addrRule struct {
	port     portRule
	name     bool // a DNS name is allowed, not only an IP address
	srv      bool // a _service._proto.name SRV record is allowed (server_template)
	wildcard bool // "*:port" and ":port" (bind)
}

type portRule int

const (
	portOptional portRule = iota
	portRequired
	portNone
)

var (
	ruleBind       = addrRule{port: portRequired, wildcard: true}
	ruleServer     = addrRule{port: portRequired, name: true}
	ruleTemplate   = addrRule{port: portOptional, name: true, srv: true}
	ruleNameserver = addrRule{port: portRequired}
	ruleInitAddr   = addrRule{port: portNone}
	ruleLogTarget  = addrRule{port: portOptional}
)

// address is a parsed address field.
type address struct {
	IP       netip.Addr // valid for an IP address
	Name     string     // a DNS name (or SRV record) when IP is not valid
	Port     int        // 0: none given
	Wildcard bool       // "*:port" or ":port"
	star     bool       // written "*" (not "")
}

// Word is the address as every HAProxy version reads it: IPv6 without brackets (HAProxy
// takes the port after the last colon).
func (a address) Word() string {
	var host string
	switch {
	case a.Wildcard && a.star:
		host = "*"
	case a.Wildcard:
		host = ""
	case a.IP.IsValid():
		host = a.IP.String()
	default:
		host = a.Name
	}
	if a.Port == 0 {
		return host
	}
	return host + ":" + strconv.Itoa(a.Port)
}

// addrError is why an address was refused, with what to write instead.
type addrError struct{ msg, hint string }

func (e *addrError) Error() string { return e.msg }

func addrErr(hint, format string, args ...any) *addrError {
	return &addrError{msg: fmt.Sprintf(format, args...), hint: hint}
}

const (
	hintIPPort   = "write IP:port (IPv6 as [addr]:port), like 10.0.0.2:53 or [fe80::1%eth0]:53"
	hintHostPort = "write host:port, IPv4:port or [IPv6]:port, like 192.0.2.10:80, app.example.com:80 or [2001:db8::1]:80"
	hintZone     = "write the address without '%zone': HAProxy takes a global or unique-local IPv6 address (or an IPv4 one), never a zone id"
)

// parseAddress reads an address field under rule r. It is the only parser of
// addresses: everything it accepts is printable ASCII without blanks, quotes, '#' or
// '\', so it is one word of haproxy.cfg.
func parseAddress(s string, r addrRule) (address, *addrError) {
	hint := hintIPPort
	if r.name {
		hint = hintHostPort
	}
	if s == "" {
		return address{}, addrErr(hint, "empty address")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return address{}, addrErr(hint, "%q has a blank, control or non-ASCII character at byte %d", s, i+1)
		}
	}
	host, portS, hasPort := s, "", false
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return address{}, addrErr(hint, "%q: no ']' closes the IPv6 address", s)
		}
		host = s[1:end]
		rest := s[end+1:]
		if rest != "" {
			if rest[0] != ':' {
				return address{}, addrErr(hint, "%q: after ']' write :port", s)
			}
			portS, hasPort = rest[1:], true
		}
		if !strings.Contains(host, ":") {
			return address{}, addrErr(hint, "%q: brackets are for IPv6 addresses only", s)
		}
	case r.wildcard || strings.Count(s, ":") == 1:
		// A bind address always ends with :port, so the last colon splits it (HAProxy
		// reads "::1:80" that way); elsewhere more than one colon is a bare IPv6 address.
		if i := strings.LastIndexByte(s, ':'); i >= 0 {
			host, portS, hasPort = s[:i], s[i+1:], true
		}
	}
	var a address
	if hasPort {
		p, err := strconv.Atoi(portS)
		if err != nil || p < 1 || p > 65535 || portS[0] == '0' || portS[0] == '+' {
			return address{}, addrErr(hint, "%q: port %q must be a number 1-65535", s, portS)
		}
		a.Port = p
	}
	switch {
	case r.port == portRequired && a.Port == 0:
		return address{}, addrErr(hint, "%q has no port: write host:port", s)
	case r.port == portNone && hasPort:
		return address{}, addrErr("write an IP address alone, like 10.0.0.1 or fe80::1", "%q: no port here", s)
	}
	if host == "" || host == "*" {
		if !r.wildcard {
			return address{}, addrErr(hint, "%q has no host", s)
		}
		a.Wildcard, a.star = true, host == "*"
		return a, nil
	}
	if ip, zone, ok := strings.Cut(host, "%"); ok {
		// net/netip takes any text after '%' (blanks, '#', newlines: the injection of
		// issue 9). HAProxy takes none: its address parser (str2ip2: inet_pton, then a
		// host name check) refuses "fe80::1%eth0" in bind, server and nameserver alike.
		what := "IPv6 zone id"
		if ipa, err := netip.ParseAddr(ip); err != nil || !ipa.Is6() {
			what = "'%'"
		}
		return address{}, addrErr(hintZone, "%q: HAProxy reads no %s (%q) in an address", s, what, "%"+zone)
	}
	if ipa, err := netip.ParseAddr(host); err == nil {
		a.IP = ipa
		return a, nil
	}
	if strings.Contains(host, ":") {
		return address{}, addrErr(hint, "%q is not an IPv6 address", host)
	}
	if looksNumeric(host) {
		// A DNS name's last label is never all digits: 256.1.1.1 or 10.1 is a broken
		// IPv4 address, which a resolver would be asked about at every check.
		return address{}, addrErr(hint, "%q is not a valid IPv4 address (each of 4 parts 0-255)", host)
	}
	if !r.name {
		return address{}, addrErr(hint, "%q: write an IP address here, not a name", host)
	}
	if len(host) > 253 || !hostRE.MatchString(host) && !(r.srv && srvRE.MatchString(host)) {
		return address{}, addrErr(hint, "%q is not an IP address or DNS name", host)
	}
	a.Name = host
	return a, nil
}

// looksNumeric reports whether the last label of a dotted name is all digits.
func looksNumeric(host string) bool {
	last := strings.TrimSuffix(host, ".")
	if i := strings.LastIndexByte(last, '.'); i >= 0 {
		last = last[i+1:]
	}
	if last == "" {
		return false
	}
	for _, c := range last {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// address checks the field at path under rule r and returns what it holds.
func (v *validator) address(path, s string, r addrRule) (address, bool) {
	a, err := parseAddress(s, r)
	if err != nil {
		v.failHint(path, err.hint, "%s", err.msg)
		return address{}, false
	}
	return a, true
}

// mustAddress parses an address the validator accepted; the renderer's choke point
// still refuses anything that is not one word.
func mustAddress(s string, r addrRule) string {
	a, err := parseAddress(s, r)
	if err != nil {
		return s
	}
	return a.Word()
}
