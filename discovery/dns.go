package discovery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// DNS asks nameservers for the SRV records of a service (Kind "srv":
// _mysql._tcp.db.example.com), or for the A and AAAA records of a name (Kind "a", every
// address one server on Port).
type DNS struct {
	Name    string
	Kind    string        // "srv" or "a"
	Port    uint16        // the servers' port, for Kind "a"
	Servers []string      // nameservers as host:port; empty means those of ResolvConf
	Timeout time.Duration // per query; 0 means 2 s
	// ResolvConf is read when Servers is empty; "" means /etc/resolv.conf.
	ResolvConf string
}

func (d *DNS) String() string { return fmt.Sprintf("dns %s %s", d.Kind, d.Name) }

// DNSError is an answer that says nothing usable: NXDOMAIN, SERVFAIL, REFUSED, a timeout.
type DNSError struct {
	Name, Server string
	Rcode        int   // -1 when no answer came at all
	Err          error // the transport error, when Rcode is -1
}

func (e *DNSError) Error() string {
	if e.Rcode < 0 {
		return fmt.Sprintf("dns %s at %s: %v", e.Name, e.Server, e.Err)
	}
	return fmt.Sprintf("dns %s at %s: %s", e.Name, e.Server, dns.RcodeToString[e.Rcode])
}

func (e *DNSError) Unwrap() error { return e.Err }

func (d *DNS) servers() ([]string, error) {
	if len(d.Servers) > 0 {
		return d.Servers, nil
	}
	path := d.ResolvConf
	if path == "" {
		path = "/etc/resolv.conf"
	}
	cc, err := dns.ClientConfigFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("read nameservers from %s: %w", path, err)
	}
	var out []string
	for _, s := range cc.Servers {
		out = append(out, net.JoinHostPort(s, cc.Port))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s names no nameserver", path)
	}
	return out, nil
}

// exchange asks each nameserver in turn and returns the first answer that is NOERROR.
func (d *DNS) exchange(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	servers, err := d.servers()
	if err != nil {
		return nil, err
	}
	timeout := d.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	var last error
	for _, s := range servers {
		c := &dns.Client{Timeout: timeout}
		qctx, cancel := context.WithTimeout(ctx, timeout)
		r, _, err := c.ExchangeContext(qctx, m, s)
		cancel()
		switch {
		case err != nil:
			last = &DNSError{Name: name, Server: s, Rcode: -1, Err: err}
		case r.Truncated:
			tc := &dns.Client{Net: "tcp", Timeout: timeout}
			qctx, cancel := context.WithTimeout(ctx, timeout)
			r, _, err = tc.ExchangeContext(qctx, m, s)
			cancel()
			if err != nil {
				last = &DNSError{Name: name, Server: s, Rcode: -1, Err: err}
				continue
			}
			fallthrough
		default:
			if r.Rcode != dns.RcodeSuccess {
				last = &DNSError{Name: name, Server: s, Rcode: r.Rcode}
				continue
			}
			return r, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	return nil, last
}

// Query asks once.
func (d *DNS) Query(ctx context.Context) (Answer, error) {
	var recs []Record
	var ans Answer
	switch d.Kind {
	case "srv":
		r, err := d.exchange(ctx, d.Name, dns.TypeSRV)
		if err != nil {
			return Answer{}, err
		}
		extra := map[string][]netip.Addr{}
		for _, rr := range r.Extra {
			if a := rrAddr(rr); a.IsValid() {
				extra[strings.ToLower(rr.Header().Name)] = append(extra[strings.ToLower(rr.Header().Name)], a)
			}
		}
		for _, rr := range r.Answer {
			srv, ok := rr.(*dns.SRV)
			if !ok {
				continue
			}
			host := strings.TrimSuffix(srv.Target, ".")
			if host == "" {
				continue // "." : the service is decidedly not available here (RFC 2782)
			}
			if srv.Port == 0 {
				ans.Skipped = append(ans.Skipped, Skipped{Host: host, Reason: "SRV port 0"})
				continue
			}
			addrs := extra[strings.ToLower(dns.Fqdn(srv.Target))]
			if len(addrs) == 0 {
				addrs, err = d.addresses(ctx, srv.Target)
				if err != nil {
					ans.Skipped = append(ans.Skipped, Skipped{Host: host, Reason: err.Error()})
					continue
				}
			}
			recs = append(recs, Record{Host: host, Addr: addrs[0], Port: srv.Port, Priority: srv.Priority, Weight: srv.Weight})
		}
	case "a":
		addrs, err := d.addresses(ctx, d.Name)
		if err != nil {
			return Answer{}, err
		}
		for _, a := range addrs {
			recs = append(recs, Record{Host: a.String(), Addr: a, Port: d.Port})
		}
	default:
		return Answer{}, fmt.Errorf("dns %s: kind %q is neither srv nor a", d.Name, d.Kind)
	}
	ans.Targets = Weigh(recs)
	if len(ans.Targets) == 0 {
		return ans, fmt.Errorf("%s: %w", d, ErrEmpty)
	}
	return ans, nil
}

// addresses resolves a name to its IPv4 addresses, or its IPv6 ones when it has none.
func (d *DNS) addresses(ctx context.Context, name string) ([]netip.Addr, error) {
	var errs []error
	for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
		r, err := d.exchange(ctx, name, qt)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var out []netip.Addr
		for _, rr := range r.Answer {
			if a := rrAddr(rr); a.IsValid() {
				out = append(out, a)
			}
		}
		if len(out) > 0 {
			return out, nil
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return nil, fmt.Errorf("%s has no A or AAAA record", strings.TrimSuffix(name, "."))
}

func rrAddr(rr dns.RR) netip.Addr {
	var a netip.Addr
	switch v := rr.(type) {
	case *dns.A:
		a, _ = netip.AddrFromSlice(v.A.To4())
	case *dns.AAAA:
		a, _ = netip.AddrFromSlice(v.AAAA)
	}
	if !a.IsValid() || a.IsUnspecified() || a.IsMulticast() {
		return netip.Addr{}
	}
	return a.Unmap()
}
