package sshtarget

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"

	"harpy/hint"
)

// authMethods is the key file, else the agent. The returned func closes the agent.
func authMethods(cfg Config) ([]ssh.AuthMethod, func(), error) {
	nop := func() {}
	if cfg.IdentityFile != "" {
		b, err := os.ReadFile(cfg.IdentityFile)
		if err != nil {
			return nil, nop, hint.Input(hint.With(fmt.Errorf("identity file: %w", err), "set identity_file to a readable private key"))
		}
		signer, err := ssh.ParsePrivateKey(b)
		var pm *ssh.PassphraseMissingError
		if errors.As(err, &pm) {
			if m, closeAgent, aerr := agentAuth(); aerr == nil {
				return []ssh.AuthMethod{m}, closeAgent, nil
			}
			return nil, nop, hint.Input(hint.With(fmt.Errorf("identity file %s is protected by a passphrase", cfg.IdentityFile),
				"add it to an SSH agent (ssh-add %s) and run with $SSH_AUTH_SOCK set", cfg.IdentityFile))
		}
		if err != nil {
			return nil, nop, hint.Input(hint.With(fmt.Errorf("identity file %s: %w", cfg.IdentityFile, err), "give an OpenSSH or PEM private key (not the .pub)"))
		}
		return []ssh.AuthMethod{ssh.PublicKeys(signer)}, nop, nil
	}
	m, closeAgent, err := agentAuth()
	if err != nil {
		return nil, nop, hint.Input(hint.With(err, "set identity_file in the inventory, or start an SSH agent with the key (ssh-add)"))
	}
	return []ssh.AuthMethod{m}, closeAgent, nil
}

func agentAuth() (ssh.AuthMethod, func(), error) {
	sock := os.Getenv("SSH_AUTH_SOCK")
	if sock == "" {
		return nil, nil, errors.New("no identity file and no SSH agent ($SSH_AUTH_SOCK is unset)")
	}
	conn, err := net.Dial("unix", sock)
	if err != nil {
		return nil, nil, fmt.Errorf("SSH agent at %s: %w", sock, err)
	}
	return ssh.PublicKeysCallback(agent.NewClient(conn).Signers), func() { conn.Close() }, nil
}

// hostKeyError is a refused host key (its err has the hint).
type hostKeyError struct{ err error }

func (e *hostKeyError) Error() string { return e.err.Error() }

// knownMu serialises appends to known_hosts files by concurrent dials.
var knownMu sync.Mutex

// hostKeyCheck returns the callback that checks addr's key against file, and the key
// algorithms to ask for (those known for addr, so that a host with several keys offers
// the one on record).
func hostKeyCheck(file, addr string, acceptNew bool) (ssh.HostKeyCallback, []string, error) {
	if file == "" {
		return nil, nil, hint.Input(errors.New("no known_hosts file given"))
	}
	if acceptNew {
		knownMu.Lock()
		if err := os.MkdirAll(filepath.Dir(file), 0o700); err == nil {
			if f, err := os.OpenFile(file, os.O_CREATE|os.O_WRONLY, 0o600); err == nil {
				f.Close()
			}
		}
		knownMu.Unlock()
	}
	want, err := Known(file, addr)
	if err != nil {
		return nil, nil, err
	}
	var algos []string
	for _, k := range want {
		switch k.Key.Type() {
		case ssh.KeyAlgoRSA:
			algos = append(algos, ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA)
		default:
			algos = append(algos, k.Key.Type())
		}
	}
	cb, err := knownhosts.New(file)
	if err != nil {
		return nil, nil, hint.Input(hint.With(fmt.Errorf("known_hosts %s: %w", file, err), "fix or remove the line it names"))
	}
	check := func(host string, remote net.Addr, key ssh.PublicKey) error {
		err := cb(host, remote, key)
		var ke *knownhosts.KeyError
		if !errors.As(err, &ke) {
			return err
		}
		fp := ssh.FingerprintSHA256(key)
		if len(ke.Want) > 0 {
			return &hostKeyError{hint.With(fmt.Errorf("host key of %s changed: it offers %s %s, %s:%d has another", addr, key.Type(), fp, ke.Want[0].Filename, ke.Want[0].Line),
				"if the host was reinstalled, remove that line (ssh-keygen -R) and check the new key out of band; else someone may be in the middle")}
		}
		if !acceptNew {
			return &hostKeyError{hint.With(fmt.Errorf("host %s is not in %s (it offers %s %s)", addr, file, key.Type(), fp),
				"add its key to known_hosts (check the fingerprint out of band), or set accept_new_host_keys = true to trust it on first use")}
		}
		knownMu.Lock()
		defer knownMu.Unlock()
		f, err := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			return &hostKeyError{hint.With(fmt.Errorf("record the key of %s in %s: %w", addr, file, err), "check the file's permissions")}
		}
		defer f.Close()
		_, err = fmt.Fprintln(f, knownhosts.Line([]string{knownhosts.Normalize(addr)}, key))
		if err == nil {
			err = f.Sync()
		}
		if err != nil {
			return &hostKeyError{fmt.Errorf("record the key of %s in %s: %w", addr, file, err)}
		}
		return nil
	}
	return check, algos, nil
}

// Known returns the keys file records for addr (host:port): none means the host is
// unknown there. A missing file records none.
func Known(file, addr string) ([]knownhosts.KnownKey, error) {
	if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	cb, err := knownhosts.New(file)
	if err != nil {
		return nil, hint.Input(hint.With(fmt.Errorf("known_hosts %s: %w", file, err), "fix or remove the line it names"))
	}
	// A key no host has: the answer lists the keys on record for addr.
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	probe, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, err
	}
	tcp, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		tcp = &net.TCPAddr{}
	}
	err = cb(addr, tcp, probe)
	var ke *knownhosts.KeyError
	if errors.As(err, &ke) {
		return ke.Want, nil
	}
	if err != nil {
		return nil, fmt.Errorf("known_hosts %s: %w", file, err)
	}
	return nil, nil
}
