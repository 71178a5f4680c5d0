package livetest

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// MariaDB is a real mariadbd on a loopback address with its own datadir, socket and pid file.
// It has a database livetest with a one-row table marker naming the server, a user app
// (password app) allowed to read it from anywhere, and a user monitor with USAGE only, as
// seed 002 recommends for HAProxy's mysql-check.
type MariaDB struct {
	Name   string
	Addr   string // ip:port
	Dir    string
	Socket string

	tb               testing.TB
	bin              string
	client           string
	proc             *Proc
	maxConnectErrors int
}

// Small InnoDB files: the default 100 MiB redo log per server is most of the start-up time.
var mariadbSizeFlags = []string{"--innodb-log-file-size=8M", "--innodb-buffer-pool-size=32M"}

// MariaDBTemplate installs an empty datadir once (mariadb-install-db takes seconds); each
// server of a test starts from a copy of it.
func MariaDBTemplate(tb testing.TB) string {
	tb.Helper()
	install := Tool(tb, "mariadb-install-db", "mariadb-server")
	dir := filepath.Join(tb.TempDir(), "mariadb-template")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := append([]string{"--user=root", "--datadir=" + dir, "--auth-root-authentication-method=normal",
		"--skip-test-db", "--skip-name-resolve"}, mariadbSizeFlags...)
	if out, err := exec.CommandContext(ctx, install, args...).CombinedOutput(); err != nil {
		tb.Fatalf("mariadb-install-db: %v\n%s", err, out)
	}
	return dir
}

// StartMariaDB copies template into a datadir of its own and starts mariadbd on addr
// (ip:port) with maxConnectErrors (MariaDB's default is 100), then creates the test's users
// and marker.
func StartMariaDB(tb testing.TB, template, name, addr string, maxConnectErrors int) *MariaDB {
	tb.Helper()
	m := &MariaDB{
		Name:   name,
		Addr:   addr,
		Dir:    filepath.Join(tb.TempDir(), "mariadb-"+name),
		tb:     tb,
		bin:    Tool(tb, "mariadbd", "mariadb-server"),
		client: Tool(tb, "mariadb", "mariadb-client"),
	}
	m.Socket = filepath.Join(SocketDir(tb), "mysqld.sock")
	MkdirAll(tb, m.Dir)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "cp", "-a", template, filepath.Join(m.Dir, "data")).CombinedOutput(); err != nil {
		tb.Fatalf("copy datadir: %v\n%s", err, out)
	}
	m.start(maxConnectErrors)
	m.Exec(fmt.Sprintf(`CREATE USER monitor@'%%';
GRANT USAGE ON *.* TO monitor@'%%';
CREATE DATABASE livetest;
CREATE TABLE livetest.marker (name VARCHAR(32) NOT NULL);
INSERT INTO livetest.marker VALUES ('%s');
CREATE USER app@'%%' IDENTIFIED BY 'app';
GRANT SELECT ON livetest.* TO app@'%%';`, name))
	return m
}

func (m *MariaDB) start(maxConnectErrors int) {
	m.maxConnectErrors = maxConnectErrors
	m.tb.Helper()
	_, port, _ := strings.Cut(m.Addr, ":")
	ip, _, _ := strings.Cut(m.Addr, ":")
	args := append([]string{m.bin, "--no-defaults", "--user=root",
		"--datadir=" + filepath.Join(m.Dir, "data"),
		"--port=" + port, "--bind-address=" + ip,
		"--socket=" + m.Socket, "--pid-file=" + filepath.Join(m.Dir, "mariadbd.pid"),
		"--max-connect-errors=" + strconv.Itoa(maxConnectErrors),
		"--log-error=" + filepath.Join(m.Dir, "error.log"),
	}, mariadbSizeFlags...)
	m.proc = StartProc(m.tb, "mariadbd "+m.Name, filepath.Join(m.Dir, "mariadbd.out"), args...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := waitProcTCP(ctx, m.proc, m.Addr); err != nil {
		m.tb.Fatalf("%v\n%s", err, Tail(filepath.Join(m.Dir, "error.log"), 20))
	}
}

// Stop shuts mariadbd down cleanly (SIGTERM) and waits for it.
func (m *MariaDB) Stop() { m.proc.Stop() }

// Restart starts a stopped server again on the same address and datadir.
func (m *MariaDB) Restart() { m.start(m.maxConnectErrors) }

// Exec runs SQL as root over the server's unix socket and returns its tab-separated output.
func (m *MariaDB) Exec(sql string) string {
	m.tb.Helper()
	out, err := m.query(context.Background(), []string{"-S", m.Socket, "-uroot"}, sql)
	if err != nil {
		m.tb.Fatalf("mariadb %s: %v", m.Name, err)
	}
	return out
}

// Status returns a global status counter (e.g. "Connections", "Aborted_connects").
func (m *MariaDB) Status(name string) int {
	m.tb.Helper()
	out := m.Exec("SHOW GLOBAL STATUS LIKE '" + name + "'")
	_, v, _ := strings.Cut(strings.TrimSpace(out), "\t")
	n, err := strconv.Atoi(v)
	if err != nil {
		m.tb.Fatalf("mariadb %s: status %s: %q", m.Name, name, out)
	}
	return n
}

func (m *MariaDB) query(ctx context.Context, conn []string, sql string) (string, error) {
	return MySQLQuery(ctx, m.client, conn, sql)
}

// MySQLQuery runs sql with the real mariadb client (batch mode, no column names).
// conn are the connection flags, e.g. -h 127.0.0.1 -P 3306 -uapp -papp.
func MySQLQuery(ctx context.Context, client string, conn []string, sql string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	args := append(append([]string{"--no-defaults"}, conn...), "--connect-timeout=5", "-N", "-B", "-e", sql)
	cmd := exec.CommandContext(ctx, client, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("%q: %w: %s", sql, err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// ClientTo returns mariadb client flags for the app user at addr (ip:port), e.g. a proxy.
func ClientTo(addr string) []string {
	ip, port, _ := strings.Cut(addr, ":")
	return []string{"-h", ip, "-P", port, "--protocol=TCP", "-uapp", "-papp"}
}

// MariaDBClient is the path of the real mariadb client.
func MariaDBClient(tb testing.TB) string { return Tool(tb, "mariadb", "mariadb-client") }
