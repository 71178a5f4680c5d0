package profiles

// Profile is one load-balancer setup: what haproxy.cfg, the rsyslog drop-in and the
// logrotate file are rendered from. Field names follow HAProxy's own keywords; the TOML
// keys are documented in docs/profiles.md.
type Profile struct {
	Description string `toml:"description"`
	// Extends names an embedded profile (or a file) this one is laid over.
	Extends   string                `toml:"extends"`
	Global    Global                `toml:"global"`
	Defaults  Defaults              `toml:"defaults"`
	Resolvers map[string]*Resolvers `toml:"resolvers"`
	Frontends []*Proxy              `toml:"frontend"`
	Backends  []*Proxy              `toml:"backend"`
	Listens   []*Proxy              `toml:"listen"`
	Stats     *Stats                `toml:"stats"`
	Logging   Logging               `toml:"logging"`
	// AllowPaths are directories, beside the standard ones (/run, /var/log,
	// /var/lib/haproxy), where the pidfile, the stats socket and the log file may be.
	// System trees (/etc, /usr, /bin, …) cannot be allowed.
	AllowPaths []string `toml:"allow_paths"`

	// Name is the embedded name or the file the profile was loaded from.
	Name string `toml:"-"`
	pos  posFunc
}

// Global is HAProxy's global section.
type Global struct {
	Log         *Log         `toml:"log"`
	Chroot      string       `toml:"chroot"`
	Pidfile     string       `toml:"pidfile"`
	Maxconn     int          `toml:"maxconn"`
	User        string       `toml:"user"`
	Group       string       `toml:"group"`
	Mode        string       `toml:"mode"` // daemon (default), master-worker, foreground
	Nbthread    int          `toml:"nbthread"`
	StatsSocket *StatsSocket `toml:"stats_socket"`
}

// Log is where HAProxy sends its logs: "127.0.0.1:514" (UDP) or "/dev/log" (unix socket,
// inside the chroot when there is one).
type Log struct {
	Target   string `toml:"target"`
	Facility string `toml:"facility"`
	Level    string `toml:"level"`
}

// StatsSocket is the runtime API socket.
type StatsSocket struct {
	Path  string `toml:"path"`
	Mode  string `toml:"mode"` // octal, e.g. "660"
	Level string `toml:"level"`
	// Insecure allows a world-writable mode for a socket above level user.
	Insecure bool `toml:"insecure"`
}

// Defaults is HAProxy's defaults section.
type Defaults struct {
	Mode            string `toml:"mode"`
	Retries         int    `toml:"retries"`
	RetryOn         string `toml:"retry_on"` // emitted from 2.0 only
	Redispatch      *bool  `toml:"redispatch"`
	LogHealthChecks bool   `toml:"log_health_checks"`
	Dontlognull     *bool  `toml:"dontlognull"`
	DontlogNormal   bool   `toml:"dontlog_normal"` // log errors, retries, redispatches; not every success
	HTTPKeepAlive   bool   `toml:"http_keep_alive"`
	// IdleCloseOnResponse keeps idle keep-alive connections open through a reload's soft
	// stop until their next request is answered with "Connection: close". Emitted from
	// 2.6; before 2.4 HAProxy did this by default.
	IdleCloseOnResponse bool     `toml:"idle_close_on_response"`
	Forwardfor          bool     `toml:"forwardfor"`
	ForwardforExcept    string   `toml:"forwardfor_except"`
	Maxconn             int      `toml:"maxconn"`
	Timeout             Timeouts `toml:"timeout"`
}

// Timeouts are durations: "10s", "1m", "500ms" or a bare number of milliseconds.
type Timeouts struct {
	Connect       string `toml:"connect"`
	Client        string `toml:"client"`
	Server        string `toml:"server"`
	Check         string `toml:"check"`
	Queue         string `toml:"queue"`
	HTTPRequest   string `toml:"http_request"`
	HTTPKeepAlive string `toml:"http_keep_alive"`
	Tunnel        string `toml:"tunnel"`
}

// Resolvers is a resolvers section. Its defaults are chosen so that a DNS outage never
// takes a pool down (docs/profiles.md, "Resolvers"): a server keeps its last good address
// while the DNS server is unreachable, refuses or fails, and goes to MAINT (resolution)
// only once the name is reported gone (NXDOMAIN) for HoldNX.
type Resolvers struct {
	Nameservers []string `toml:"nameservers"` // "IP:port"
	// ParseResolvConf reads the host's /etc/resolv.conf (1.9+). Unset, it is true when no
	// nameservers are given: the host's resolver is the default.
	ParseResolvConf *bool  `toml:"parse_resolv_conf"`
	Hold            string `toml:"hold"` // hold valid: how long an answer is used before asking again
	// HoldTimeout, HoldRefused and HoldOther: how long the last good address is kept while
	// the DNS server does not answer, refuses, or fails (SERVFAIL, bad answers). Default
	// HoldKeep: the outage lasts as long as HAProxy's longest timer before a server goes
	// to MAINT (resolution).
	HoldTimeout string `toml:"hold_timeout"`
	HoldRefused string `toml:"hold_refused"`
	HoldOther   string `toml:"hold_other"`
	// HoldNX is how long the last address is kept after the name is reported not to exist
	// (NXDOMAIN): a deleted replica whose address may be given to another machine.
	HoldNX string `toml:"hold_nx"`
	// HoldObsolete (1.8+) is how long an address that left a valid answer is still used;
	// default 0s, so an A record changed by a fail-over moves traffic at once.
	HoldObsolete        string `toml:"hold_obsolete"`
	ResolveRetries      int    `toml:"resolve_retries"`
	TimeoutRetry        string `toml:"timeout_retry"`
	TimeoutResolve      string `toml:"timeout_resolve"`
	AcceptedPayloadSize int    `toml:"accepted_payload_size"`
}

// Defaults of a resolvers section (docs/profiles.md, "Resolvers").
const (
	// HoldKeep keeps the last good address through a DNS outage: 24 days, close to
	// HAProxy's largest timer (2147483647 ms).
	HoldKeep = "24d"
	// HoldNXDefault is how long a name reported gone still has its address.
	HoldNXDefault = "30s"
)

// parseResolvConf reports whether the section reads /etc/resolv.conf.
func (r *Resolvers) parseResolvConf() bool {
	if r.ParseResolvConf != nil {
		return *r.ParseResolvConf
	}
	return len(r.Nameservers) == 0
}

// Proxy is a frontend, backend or listen section; which fields apply depends on the kind.
type Proxy struct {
	Name           string          `toml:"name"`
	Mode           string          `toml:"mode"`
	Bind           []string        `toml:"bind"`
	ACL            []ACL           `toml:"acl"`
	UseBackend     []UseBackend    `toml:"use_backend"`
	DefaultBackend string          `toml:"default_backend"`
	Balance        string          `toml:"balance"`
	Health         *Health         `toml:"health"`
	StripPrefix    string          `toml:"strip_prefix"`
	Resolvers      string          `toml:"resolvers"`
	InitAddr       string          `toml:"init_addr"`
	Servers        []Server        `toml:"servers"`
	ServerTemplate *ServerTemplate `toml:"server_template"`
	Maxconn        int             `toml:"maxconn"`
	// Drop removes a section inherited through extends (named like it) from the output.
	Drop bool `toml:"drop"`
}

// ACL is `acl NAME CRITERION VALUE`.
type ACL struct {
	Name      string `toml:"name"`
	Criterion string `toml:"criterion"`
	Value     string `toml:"value"`
}

// UseBackend is `use_backend BACKEND if ACL [ACL…]` (all ACLs must match; "!acl" negates).
type UseBackend struct {
	Backend string   `toml:"backend"`
	If      []string `toml:"if"`
}

// Health is a backend's health check: tcp (default), http (path set) or mysql (mysql_user set).
type Health struct {
	Type         string `toml:"type"`
	Method       string `toml:"method"`
	Path         string `toml:"path"`
	Host         string `toml:"host"`
	ExpectStatus int    `toml:"expect_status"`
	ExpectString string `toml:"expect_string"`
	ExpectRegex  string `toml:"expect_rstring"`
	MySQLUser    string `toml:"mysql_user"`
	Inter        string `toml:"inter"`
	Fall         int    `toml:"fall"`
	Rise         int    `toml:"rise"`
	// Port sends the checks to another port than the server's own; unset, each
	// server is checked on the port of its address.
	Port     int  `toml:"port"`
	Disabled bool `toml:"disabled"`
}

// Server is one `server` line.
type Server struct {
	Name     string `toml:"name"`
	Address  string `toml:"address"` // host:port, IPv4:port or [IPv6]:port
	Backup   bool   `toml:"backup"`
	Weight   *int   `toml:"weight"`
	Maxconn  int    `toml:"maxconn"`
	Disabled bool   `toml:"disabled"`
}

// ServerTemplate is `server-template PREFIX COUNT FQDN:PORT` (1.8+).
type ServerTemplate struct {
	Prefix  string `toml:"prefix"`
	Count   int    `toml:"count"`
	Address string `toml:"address"`
}

// Stats is the stats page: always its own `listen` in mode http, never inside a tcp proxy
// (where HAProxy ignores it).
type Stats struct {
	Bind    string `toml:"bind"`
	URI     string `toml:"uri"`
	Auth    string `toml:"auth"` // user:password
	Admin   bool   `toml:"admin"`
	Refresh string `toml:"refresh"`
	// Insecure allows an admin page without auth on an address other than loopback.
	Insecure bool `toml:"insecure"`
	// Disabled drops an inherited stats listener.
	Disabled bool `toml:"disabled"`
}

// Logging is where rsyslog writes what HAProxy logs.
type Logging struct {
	File   string `toml:"file"`   // default /var/log/haproxy/haproxy.log
	Rotate int    `toml:"rotate"` // days kept, default 14
}
