// Package sshtest runs a real OpenSSH sshd as a plain process on 127.0.0.1 for tests: its
// own host key, config and authorized_keys in the test's directory, root login by key.
package sshtest

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"harpy/internal/testenv"
)

// Server is a running sshd.
type Server struct {
	Addr         string // 127.0.0.1:PORT
	Dir          string // its files
	IdentityFile string // a client key it accepts (for User)
	KnownHosts   string // a known_hosts file with its host key
	HostKey      ssh.PublicKey
	User         string
}

// NewKey writes a fresh ed25519 private key (OpenSSH format, 0600) at path and returns
// its public key.
func NewKey(t testing.TB, path string) ssh.PublicKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	blk, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(blk), 0o600); err != nil {
		t.Fatal(err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// Start runs sshd until the test ends (real tier: it needs openssh-server and root).
func Start(t testing.TB) *Server {
	t.Helper()
	sshd := testenv.Tool(t, "sshd", "openssh-server")
	if os.Getuid() != 0 {
		t.Fatal("sshtest: sshd as a plain process needs root (it changes to the logged-in user)")
	}
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil { // privilege separation directory
		t.Fatal(err)
	}
	dir := t.TempDir()
	s := &Server{Dir: dir, User: "root", IdentityFile: filepath.Join(dir, "id_client"), KnownHosts: filepath.Join(dir, "known_hosts")}
	s.HostKey = NewKey(t, filepath.Join(dir, "host_ed25519"))
	client := NewKey(t, s.IdentityFile)
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), ssh.MarshalAuthorizedKey(client), 0o600); err != nil {
		t.Fatal(err)
	}
	var lastErr string
	for attempt := 0; attempt < 5; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		s.Addr = l.Addr().String()
		l.Close()
		_, port, _ := net.SplitHostPort(s.Addr)
		cfg := filepath.Join(dir, "sshd_config")
		conf := fmt.Sprintf(`Port %s
ListenAddress 127.0.0.1
HostKey %s/host_ed25519
AuthorizedKeysFile %s/authorized_keys
PidFile %s/sshd.pid
UsePAM no
StrictModes no
PermitRootLogin yes
PasswordAuthentication no
KbdInteractiveAuthentication no
MaxSessions 50
MaxStartups 100
LogLevel VERBOSE
`, port, dir, dir, dir)
		if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		log, err := os.Create(filepath.Join(dir, "sshd.log"))
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(sshd, "-D", "-e", "-f", cfg)
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		if ready(s.Addr, exited) {
			t.Cleanup(func() {
				cmd.Process.Kill()
				<-exited
				log.Close()
				if t.Failed() {
					b, _ := os.ReadFile(log.Name())
					t.Logf("sshd log:\n%s", b)
				}
			})
			line := knownhosts.Line([]string{knownhosts.Normalize(s.Addr)}, s.HostKey)
			if err := os.WriteFile(s.KnownHosts, []byte(line+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			return s
		}
		cmd.Process.Kill()
		<-exited
		log.Close()
		b, _ := os.ReadFile(log.Name())
		lastErr = string(b)
	}
	t.Fatalf("sshtest: sshd did not start:\n%s", lastErr)
	return nil
}

// ready waits for the SSH banner.
func ready(addr string, exited <-chan struct{}) bool {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.SetDeadline(time.Now().Add(2 * time.Second))
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.HasPrefix(line, "SSH-2.0") {
				return true
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}
