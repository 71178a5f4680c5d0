package watch

import (
	"fmt"
	"harpy/apply"
	"net/netip"
	"strings"
	"time"

	"harpy/discovery"
	"harpy/hint"
	"harpy/profiles"
	"harpy/safefile"
)

// Config is a watch config file (TOML, read strictly):
//
//	profile = "/etc/harpy/profile.toml"    # the profile the backends belong to
//	socket = "/var/lib/haproxy/stats"       # the Runtime API, level admin
//	listen = "127.0.0.1:9101"               # /healthz, /status, /metrics
//	master = "/run/haproxy-master.sock"    # reload through the master CLI (or reload_command)
//
//	[[backend]]
//	name = "mysql"
//	min_pool = 1
//	max_remove = 0.5
//	check = { inter = "2s", fall = 2, rise = 2 }
//	dns = { name = "_mysql._tcp.db.example.com", kind = "srv", interval = "1s" }
type Config struct {
	Profile       string   `toml:"profile"`
	Set           []string `toml:"set"`
	HAProxy       string   `toml:"haproxy"` // version rendered for; "" means the running one's
	Root          string   `toml:"root"`    // where haproxy.cfg is written; "" means /
	Socket        string   `toml:"socket"`
	Listen        string   `toml:"listen"`
	ReloadCommand []string `toml:"reload_command"`
	// Master is the master CLI (PATH or HOST:PORT) to reload through, confirmed by show
	// proc; it takes precedence over reload_command.
	Master         string          `toml:"master"`
	ReloadDebounce string          `toml:"reload_debounce"`
	Backends       []BackendConfig `toml:"backend"`
	Files          []FileConfig    `toml:"file"`

	pos  profiles.Positions
	file string
}

// BackendConfig names a backend of the profile and the source that feeds it.
type BackendConfig struct {
	Name         string        `toml:"name"`
	MinPool      int           `toml:"min_pool"`
	MaxRemove    float64       `toml:"max_remove"`
	DrainTimeout string        `toml:"drain_timeout"`
	Check        *CheckConfig  `toml:"check"`
	DNS          *DNSConfig    `toml:"dns"`
	Consul       *ConsulConfig `toml:"consul"`
}

// FileConfig is another file rendered from the servers (see File).
type FileConfig struct {
	Path     string   `toml:"path"`
	Template string   `toml:"template"` // a text/template file
	Check    []string `toml:"check_command"`
	Reload   []string `toml:"reload_command"`
}

// CheckConfig is the health check of servers added at run time.
type CheckConfig struct {
	Inter     string `toml:"inter"`
	Fall      int    `toml:"fall"`
	Rise      int    `toml:"rise"`
	Slowstart string `toml:"slowstart"`
	Disabled  bool   `toml:"disabled"`
}

// DNSConfig is a DNS source.
type DNSConfig struct {
	Name        string   `toml:"name"`
	Kind        string   `toml:"kind"` // srv (default) or a
	Port        int      `toml:"port"` // for kind a
	Nameservers []string `toml:"nameservers"`
	ResolvConf  string   `toml:"resolv_conf"`
	Interval    string   `toml:"interval"`
	Timeout     string   `toml:"timeout"`
	Jitter      string   `toml:"jitter"`
}

// ConsulConfig is a Consul catalog source.
type ConsulConfig struct {
	Service   string `toml:"service"`
	Tag       string `toml:"tag"`
	Address   string `toml:"address"`
	Scheme    string `toml:"scheme"`
	CAFile    string `toml:"ca_file"`
	TokenFile string `toml:"token_file"`
	Wait      string `toml:"wait"`
}

const configDocs = "docs/operating.md (harpy watch)"

// LoadConfig reads and validates a watch config file.
func LoadConfig(path string) (*Config, error) {
	b, err := safefile.ReadFile(path, safefile.MaxConfig)
	if err != nil {
		return nil, hint.Input(hint.With(fmt.Errorf("read watch config: %w", err), "give the path of the watch config (TOML), see %s", configDocs))
	}
	return ParseConfig(path, b)
}

// ParseConfig decodes and validates a watch config.
func ParseConfig(file string, data []byte) (*Config, error) {
	c := &Config{file: file}
	pos, err := profiles.DecodeStrict(file, data, c, configDocs)
	if err != nil {
		return nil, err
	}
	c.pos = pos
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

type problems struct {
	c    *Config
	errs []string
}

func (p *problems) add(field, format string, args ...any) {
	at, ok := p.c.pos(field)
	where := p.c.file
	if ok {
		where = at.String()
	}
	p.errs = append(p.errs, fmt.Sprintf("%s: %s: %s", where, profiles.DisplayField(field), fmt.Sprintf(format, args...)))
}

func (p *problems) duration(field, s string, min, def time.Duration) time.Duration {
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < min {
		p.add(field, "%q is not a duration of at least %v (write 500ms, 2s, 1m)", s, min)
		return def
	}
	return d
}

func (c *Config) validate() error {
	p := &problems{c: c}
	if c.Profile == "" {
		p.add("profile", "missing: name the profile (embedded name or file) the backends belong to")
	}
	if c.Socket == "" {
		p.add("socket", "missing: the stats socket (level admin), e.g. /var/lib/haproxy/stats")
	}
	if c.Listen != "" {
		if _, err := netip.ParseAddrPort(c.Listen); err != nil {
			p.add("listen", "%q is not IP:port (e.g. 127.0.0.1:9101)", c.Listen)
		}
	}
	p.duration("reload_debounce", c.ReloadDebounce, 0, 0)
	if len(c.Backends) == 0 {
		p.add("backend", "missing: at least one [[backend]] with a dns or consul source")
	}
	seen := map[string]bool{}
	for i, b := range c.Backends {
		f := fmt.Sprintf("backend.%d", i)
		switch {
		case b.Name == "":
			p.add(f+".name", "missing: the backend (or listen) of the profile this source feeds")
		case seen[b.Name]:
			p.add(f+".name", "%q is fed twice: one source per backend", b.Name)
		}
		seen[b.Name] = true
		if b.MinPool < 0 {
			p.add(f+".min_pool", "%d is negative", b.MinPool)
		}
		if b.MaxRemove < 0 || b.MaxRemove > 1 {
			p.add(f+".max_remove", "%v is not a share between 0 and 1", b.MaxRemove)
		}
		p.duration(f+".drain_timeout", b.DrainTimeout, time.Second, 0)
		if ch := b.Check; ch != nil {
			if ch.Inter != "" {
				p.duration(f+".check.inter", ch.Inter, 100*time.Millisecond, 0)
			}
			if ch.Slowstart != "" {
				p.duration(f+".check.slowstart", ch.Slowstart, time.Second, 0)
			}
			if ch.Fall < 0 || ch.Rise < 0 || ch.Fall > 1000 || ch.Rise > 1000 {
				p.add(f+".check", "fall and rise must be 1-1000")
			}
		}
		switch {
		case (b.DNS == nil) == (b.Consul == nil):
			p.add(f, "give exactly one source: dns = {…} or consul = {…}")
		case b.DNS != nil:
			d := b.DNS
			if d.Name == "" || strings.ContainsAny(d.Name, " \t\r\n\"'#") {
				p.add(f+".dns.name", "missing or not a DNS name: %q", d.Name)
			}
			switch d.Kind {
			case "", "srv":
				if d.Port != 0 {
					p.add(f+".dns.port", "an SRV record carries the port: remove port")
				}
			case "a":
				if d.Port < 1 || d.Port > 65535 {
					p.add(f+".dns.port", "kind a needs the servers' port, 1-65535")
				}
			default:
				p.add(f+".dns.kind", "%q is neither srv nor a", d.Kind)
			}
			for j, ns := range d.Nameservers {
				if ap, err := netip.ParseAddrPort(ns); err != nil || ap.Port() == 0 {
					p.add(fmt.Sprintf("%s.dns.nameservers.%d", f, j), "%q is not IP:port (e.g. 127.0.0.1:53)", ns)
				}
			}
			p.duration(f+".dns.interval", d.Interval, 100*time.Millisecond, 0)
			p.duration(f+".dns.timeout", d.Timeout, 10*time.Millisecond, 0)
			p.duration(f+".dns.jitter", d.Jitter, 0, 0)
		default:
			cc := b.Consul
			if cc.Service == "" || strings.ContainsAny(cc.Service, " /?#&\r\n") {
				p.add(f+".consul.service", "missing or not a service name: %q", cc.Service)
			}
			if cc.Scheme != "" && cc.Scheme != "http" && cc.Scheme != "https" {
				p.add(f+".consul.scheme", "%q is neither http nor https", cc.Scheme)
			}
			if cc.CAFile != "" && cc.Scheme != "https" {
				p.add(f+".consul.ca_file", "a CA file needs scheme = \"https\"")
			}
			p.duration(f+".consul.wait", cc.Wait, time.Second, 0)
		}
	}
	for i, f := range c.Files {
		fld := fmt.Sprintf("file.%d", i)
		if !strings.HasPrefix(f.Path, "/") || strings.Contains(f.Path, "..") {
			p.add(fld+".path", "%q is not an absolute path", f.Path)
		}
		if f.Template == "" {
			p.add(fld+".template", "missing: the text/template file to render")
		}
	}
	if len(p.errs) > 0 {
		return hint.Input(hint.With(fmt.Errorf("watch config %s:\n%s", c.file, strings.Join(p.errs, "\n")), "fix the fields named; see %s", configDocs))
	}
	return nil
}

// BuildFiles parses the templates of the config's other files.
func (c *Config) BuildFiles() ([]*File, error) {
	var out []*File
	for _, f := range c.Files {
		t, err := ParseFileTemplate(f.Template)
		if err != nil {
			return nil, err
		}
		out = append(out, &File{Path: f.Path, Template: t, Check: f.Check, Reload: f.Reload, Target: apply.LocalTarget{Root: c.root()}})
	}
	return out, nil
}

func (c *Config) root() string {
	if c.Root == "" {
		return "/"
	}
	return c.Root
}

// BuildBackends builds the backends a Watcher runs.
func (c *Config) BuildBackends() []Backend {
	var out []Backend
	dur := func(s string, def time.Duration) time.Duration {
		if d, err := time.ParseDuration(s); err == nil && s != "" {
			return d
		}
		return def
	}
	for _, b := range c.Backends {
		be := Backend{Name: b.Name, Guard: discovery.Guard{MinPool: b.MinPool, MaxRemove: b.MaxRemove},
			DrainTimeout: dur(b.DrainTimeout, 30*time.Second), Check: Check{Enabled: true, Inter: "2s", Fall: 2, Rise: 2}}
		if ch := b.Check; ch != nil {
			be.Check = Check{Enabled: !ch.Disabled, Inter: ch.Inter, Fall: ch.Fall, Rise: ch.Rise, Slowstart: ch.Slowstart}
		}
		if d := b.DNS; d != nil {
			kind := d.Kind
			if kind == "" {
				kind = "srv"
			}
			be.Source = &discovery.DNS{Name: d.Name, Kind: kind, Port: uint16(d.Port), Servers: d.Nameservers,
				ResolvConf: d.ResolvConf, Timeout: dur(d.Timeout, 2*time.Second)}
			be.Interval, be.Jitter = dur(d.Interval, time.Second), dur(d.Jitter, 0)
		} else {
			cc := b.Consul
			be.Source = &discovery.Consul{Service: cc.Service, Tag: cc.Tag, Address: cc.Address, Scheme: cc.Scheme,
				CAFile: cc.CAFile, TokenFile: cc.TokenFile, Wait: dur(cc.Wait, 5*time.Minute)}
			be.Blocking = true
		}
		out = append(out, be)
	}
	return out
}
