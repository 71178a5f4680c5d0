package discovery

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/hashicorp/consul/api"

	"harpy/hint"
	"harpy/safefile"
)

// Consul follows the passing instances of a service in the Consul catalog
// (/v1/health/service/NAME?passing) with blocking queries: after the first answer, Query
// returns when the catalog changes or Wait has passed.
type Consul struct {
	Service string
	Tag     string // only instances with this tag; "" for all
	// Address of the agent (host:port); "" means $CONSUL_HTTP_ADDR or 127.0.0.1:8500.
	Address string
	Scheme  string // "http" or "https"; "" means $CONSUL_HTTP_SSL or http
	CAFile  string // CA bundle for https
	// TokenFile holds the ACL token; when empty, $CONSUL_HTTP_TOKEN is used. The token is
	// never printed, logged or reported.
	TokenFile string
	Wait      time.Duration // the blocking query's wait; 0 means 5 min
	// MinInterval is the least time between two queries, so that an agent that answers at
	// once (an index that does not move, an error) never makes a hot loop; 0 means 100 ms.
	MinInterval time.Duration

	client *api.Client
	index  uint64
	last   time.Time
	fails  int
}

func (c *Consul) String() string {
	s := "consul service " + c.Service
	if c.Tag != "" {
		s += " tag " + c.Tag
	}
	return s
}

func (c *Consul) connect() error {
	if c.client != nil {
		return nil
	}
	cfg := api.DefaultConfig()
	if c.Address != "" {
		cfg.Address = c.Address
	}
	if c.Scheme != "" {
		cfg.Scheme = c.Scheme
	}
	if c.CAFile != "" {
		cfg.TLSConfig.CAFile = c.CAFile
	}
	if c.TokenFile != "" {
		b, err := safefile.ReadFile(c.TokenFile, safefile.MaxKey)
		if err != nil {
			return hint.Input(hint.With(fmt.Errorf("read the Consul token: %w", err), "token_file must name a readable file holding the ACL token"))
		}
		cfg.Token = strings.TrimSpace(string(b))
	}
	cl, err := api.NewClient(cfg)
	if err != nil {
		return hint.With(fmt.Errorf("consul client for %s: %w", cfg.Address, err), "check the Consul address, scheme and CA file")
	}
	c.client = cl
	return nil
}

// Query returns the service's passing instances.
func (c *Consul) Query(ctx context.Context) (Answer, error) {
	if err := c.connect(); err != nil {
		return Answer{}, err
	}
	if err := c.pace(ctx); err != nil {
		return Answer{}, err
	}
	wait := c.Wait
	if wait <= 0 {
		wait = 5 * time.Minute
	}
	q := (&api.QueryOptions{WaitIndex: c.index, WaitTime: wait}).WithContext(ctx)
	entries, meta, err := c.client.Health().Service(c.Service, c.Tag, true, q)
	c.last = time.Now()
	if err != nil {
		// The agent may come back with another state and a lower index; a blocking
		// query with the old index would then sleep through its whole wait.
		c.fails, c.index = c.fails+1, 0
		if ctx.Err() != nil {
			return Answer{}, ctx.Err()
		}
		return Answer{}, fmt.Errorf("%s: %w", c, err)
	}
	c.fails = 0
	// An index that goes backwards (the agent restarted, lost its state) starts over;
	// 0 is never sent back as "any", which would not block.
	switch {
	case meta.LastIndex < c.index:
		c.index = 0
	default:
		c.index = max(meta.LastIndex, 1)
	}
	var recs []Record
	var ans Answer
	for _, e := range entries {
		if e.Service == nil || e.Node == nil {
			continue
		}
		addr := e.Service.Address
		if addr == "" {
			addr = e.Node.Address
		}
		host := e.Node.Node
		if e.Service.ID != "" && e.Service.ID != e.Service.Service {
			host = e.Service.ID
		}
		a, err := netip.ParseAddr(addr)
		if err != nil || a.Zone() != "" {
			ans.Skipped = append(ans.Skipped, Skipped{Host: host, Reason: fmt.Sprintf("address %q is not an IP address", addr)})
			continue
		}
		if e.Service.Port <= 0 || e.Service.Port > 65535 {
			ans.Skipped = append(ans.Skipped, Skipped{Host: host, Reason: fmt.Sprintf("port %d", e.Service.Port)})
			continue
		}
		w := e.Service.Weights.Passing
		if w < 0 || w > 65535 {
			w = 1
		}
		recs = append(recs, Record{Host: host, Addr: a.Unmap(), Port: uint16(e.Service.Port), Weight: uint16(w)})
	}
	ans.Targets = Weigh(recs)
	if len(ans.Targets) == 0 {
		return ans, fmt.Errorf("%s: %w", c, ErrEmpty)
	}
	return ans, nil
}

// pace waits so that queries are at least MinInterval apart, and backs off (up to 30 s)
// after failures.
func (c *Consul) pace(ctx context.Context) error {
	gap := c.MinInterval
	if gap <= 0 {
		gap = 100 * time.Millisecond
	}
	if c.fails > 0 {
		gap = min(30*time.Second, time.Second<<min(c.fails-1, 5))
	}
	wait := time.Until(c.last.Add(gap))
	if c.last.IsZero() || wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
