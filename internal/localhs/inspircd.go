package localhs

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// InspIRCdModules are the modules every test server loads: the IRCv3 set
// (InspIRCd 3 offers no IRCv3 capability without them) plus the NAMES
// extensions. Module file names are m_<name>.so in /usr/lib/inspircd/modules.
var InspIRCdModules = []string{
	"cap", "ircv3", "ircv3_servertime", "ircv3_echomessage", "ircv3_msgid",
	"ircv3_batch", "ircv3_ctctags", "ircv3_accounttag", "ircv3_labeledresponse",
	"ircv3_capnotify", "ircv3_chghost", "ircv3_invitenotify", "namesx", "uhnames",
	"chghost", "setname", "services_account",
}

// InspIRCdOptions configures StartInspIRCd.
type InspIRCdOptions struct {
	// ChanHistory loads chanhistory: up to 50 recent lines replayed to
	// every client that joins.
	ChanHistory bool
	// NoFlood lifts the flood limits (benchmarks, bulk tests). Without it
	// the limits are Debian's: one command per second with a penalty
	// threshold of 10, and fakelag (commands are delayed, not killed).
	NoFlood bool
	// TLS adds a TLS listener (TLSAddr) with a throwaway self-signed
	// certificate (CertPEM); it also asks clients for certificates, so
	// CertFP can be seen in WHOIS.
	TLS bool
	// Password is a server password every client must send (PASS).
	Password string
	// OperName and OperPassword add an <oper> with every privilege,
	// usable from any host.
	OperName, OperPassword string
	// MaxConnsPerIP is the per-IP connection limit (localmax and
	// globalmax); default 10000. Everything here connects from 127.0.0.1.
	MaxConnsPerIP int
	// ExtraConfig is appended to the generated config verbatim.
	ExtraConfig string
	// WithoutModules leaves these of InspIRCdModules out, e.g.
	// "ircv3_msgid" for a network that gives messages no ID, as Libera
	// and OFTC do.
	WithoutModules []string
	// StartTimeout bounds the wait for the first registration; default 30 s.
	StartTimeout time.Duration
}

// InspIRCd is a running InspIRCd 3 on loopback, started by StartInspIRCd.
// Stop (or Kill) ends it.
type InspIRCd struct {
	Addr       string // 127.0.0.1:<port>, plaintext
	TLSAddr    string // 127.0.0.1:<port>, TLS; "" without opts.TLS
	ServerName string // "irc.ferry.test"
	Network    string // "FerryTest", the NETWORK token
	Password   string
	CertPEM    []byte   // the TLS listener's certificate
	Caps       []string // what CAP LS 302 offered to the readiness probe
	Dir        string   // config, certificate, logs (and core files)
	ConfigPath string
	LogPath    string // InspIRCd's own log
	OutPath    string // its stdout and stderr

	cmd     *exec.Cmd
	done    chan struct{}
	bin     string
	timeout time.Duration
	killed  bool // by Kill: its end is no crash
}

// InspIRCdBinary finds the inspircd binary on PATH or at /usr/sbin/inspircd
// (Debian package inspircd; scripts/test.sh installs it).
func InspIRCdBinary() (string, error) {
	bin, err := exec.LookPath("inspircd")
	if err == nil {
		return bin, nil
	}
	if _, serr := os.Stat("/usr/sbin/inspircd"); serr != nil {
		return "", errors.New("inspircd not found on PATH nor at /usr/sbin/inspircd: run scripts/test.sh or apt-get install inspircd")
	}
	return "/usr/sbin/inspircd", nil
}

// StartInspIRCd writes a config into dir, starts InspIRCd on free loopback
// ports and returns once it has accepted a connection and registered a
// client. On error nothing is left running.
func StartInspIRCd(dir string, opts InspIRCdOptions) (*InspIRCd, error) {
	bin, err := InspIRCdBinary()
	if err != nil {
		return nil, err
	}
	s := &InspIRCd{
		ServerName: "irc.ferry.test",
		Network:    "FerryTest",
		Password:   opts.Password,
		Dir:        dir,
	}
	s.ConfigPath = filepath.Join(s.Dir, "inspircd.conf")
	s.LogPath = filepath.Join(s.Dir, "inspircd.log")
	s.OutPath = filepath.Join(s.Dir, "inspircd.out")
	if opts.TLS {
		if err := s.writeCert(); err != nil {
			return nil, fmt.Errorf("InspIRCd certificate: %w", err)
		}
	}
	timeout := opts.StartTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	s.bin, s.timeout = bin, timeout
	// A port picked free may be taken before InspIRCd binds it, and
	// InspIRCd only warns about listeners it could not bind: retry with
	// new ports when the output says so.
	for attempt := 0; ; attempt++ {
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		s.Addr = "127.0.0.1:" + strconv.Itoa(port)
		if opts.TLS {
			if port, err = FreePort(); err != nil {
				return nil, err
			}
			s.TLSAddr = "127.0.0.1:" + strconv.Itoa(port)
		}
		if err := os.WriteFile(s.ConfigPath, []byte(s.config(opts)), 0o600); err != nil {
			return nil, err
		}
		err = s.start(bin, timeout)
		if err == nil {
			return s, nil
		}
		s.stop()
		if !strings.Contains(err.Error(), "failed to bind") || attempt == 2 {
			return nil, fmt.Errorf("start InspIRCd: %v\ntail of %s:\n%s\ntail of %s:\n%s",
				err, s.OutPath, TailFile(s.OutPath, 40), s.LogPath, TailFile(s.LogPath, 20))
		}
	}
}

// DiedOnItsOwn reports whether InspIRCd exited without Stop or Kill, and
// how.
func (s *InspIRCd) DiedOnItsOwn() (bool, *os.ProcessState) {
	if s.exited() && !s.killed {
		return true, s.cmd.ProcessState
	}
	return false, nil
}

// Stop kills InspIRCd and waits for it (see Kill). Stopping a stopped
// server does nothing.
func (s *InspIRCd) Stop() { s.stop() }

// config renders the server configuration.
func (s *InspIRCd) config(opts InspIRCdOptions) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p(`<server name="%s" description="Ferry test server" network="%s">`, s.ServerName, s.Network)
	p(`<admin name="Ferry tests" nick="ferry" email="ferry@localhost">`)
	p(`<bind address="127.0.0.1" port="%s" type="clients">`, portOf(s.Addr))
	if opts.TLS {
		p(`<module name="ssl_gnutls">`)
		p(`<sslprofile name="tests" provider="gnutls" certfile="%s" keyfile="%s" requestclientcert="yes">`,
			filepath.Join(s.Dir, "cert.pem"), filepath.Join(s.Dir, "key.pem"))
		p(`<bind address="127.0.0.1" port="%s" type="clients" sslprofile="tests">`, portOf(s.TLSAddr))
		p(`<module name="sslinfo">`)
	}
	maxConns := opts.MaxConnsPerIP
	if maxConns <= 0 {
		maxConns = 10000
	}
	flood := `threshold="10" commandrate="1000" fakelag="yes" recvq="8K" softsendq="8K" hardsendq="1M"`
	if opts.NoFlood {
		flood = `threshold="1000000" commandrate="100000000" fakelag="no" recvq="1M" softsendq="1M" hardsendq="64M"`
	}
	password := ""
	if opts.Password != "" {
		password = ` password="` + xmlAttr(opts.Password) + `"`
	}
	// resolvehostnames and useident off: no DNS or ident waits, so a
	// registration takes milliseconds instead of seconds.
	p(`<connect name="main" allow="*" resolvehostnames="no" useident="no" timeout="30" pingfreq="120"`+
		` localmax="%d" globalmax="%d" limit="100000" maxchans="100" %s%s>`, maxConns, maxConns, flood, password)
	p(`<log method="file" type="* -USERINPUT -USEROUTPUT" level="default" target="%s">`, s.LogPath)
	p(`<options prefixquit="Quit: " syntaxhints="no">`)
	p(`<performance softlimit="100000" somaxconn="1024">`)
	p(`<channels users="100" opers="100">`)
	for _, m := range InspIRCdModules {
		if !slices.Contains(opts.WithoutModules, m) {
			p(`<module name="%s">`, m)
		}
	}
	if opts.ChanHistory {
		p(`<module name="chanhistory">`)
		p(`<chanhistory maxlines="50" notice="no" bots="yes">`)
	}
	if opts.OperName != "" {
		p(`<class name="everything" commands="*" privs="*" usermodes="*" chanmodes="*" snomasks="*">`)
		p(`<type name="NetAdmin" classes="everything">`)
		p(`<oper name="%s" password="%s" host="*@*" type="NetAdmin">`, xmlAttr(opts.OperName), xmlAttr(opts.OperPassword))
	}
	b.WriteString(opts.ExtraConfig)
	return b.String()
}

// xmlAttr keeps a value from ending its attribute.
func xmlAttr(v string) string {
	return strings.NewReplacer(`"`, "", "\n", "", "\r", "").Replace(v)
}

func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}

// start runs the binary and waits for a registration to succeed.
func (s *InspIRCd) start(bin string, timeout time.Duration) error {
	out, err := os.OpenFile(s.OutPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer out.Close()
	// --runasroot: InspIRCd refuses to run as root otherwise, and test
	// machines often are root. The working directory is the temp dir
	// because InspIRCd 3.15 dumps core on a config error and on SIGTERM.
	cmd := exec.Command(bin, "--config", s.ConfigPath, "--nofork", "--runasroot", "--nopid")
	cmd.Dir = s.Dir
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = ChildProcAttr()
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd = cmd
	s.killed = false
	s.done = make(chan struct{})
	go func(done chan struct{}) {
		_ = cmd.Wait()
		close(done)
	}(s.done)

	deadline := time.Now().Add(timeout)
	for {
		if s.exited() {
			return fmt.Errorf("inspircd exited (%v)", cmd.ProcessState)
		}
		if data, _ := os.ReadFile(s.OutPath); strings.Contains(string(data), "failed to bind") {
			return fmt.Errorf("inspircd: some listeners failed to bind")
		}
		caps, err := s.probe(s.Addr, false)
		if err == nil && s.TLSAddr != "" {
			_, err = s.probe(s.TLSAddr, true)
		}
		if err == nil {
			s.Caps = caps
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("inspircd not ready after %v: %w", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// probe registers a client (CAP LS 302, PASS, NICK, USER) and returns the
// caps offered once 001 arrives.
func (s *InspIRCd) probe(addr string, useTLS bool) ([]string, error) {
	nc, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	if useTLS {
		tc := tls.Client(nc, &tls.Config{InsecureSkipVerify: true})
		if err := tc.Handshake(); err != nil {
			return nil, err
		}
		nc = tc
	}
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	hello := "CAP LS 302\r\n"
	if s.Password != "" {
		hello += "PASS :" + s.Password + "\r\n" // trailing: a password may hold spaces
	}
	hello += "NICK probe" + RandomHex(3) + "\r\nUSER probe 0 * :testbed probe\r\n"
	if _, err := nc.Write([]byte(hello)); err != nil {
		return nil, err
	}
	var caps []string
	br := bufio.NewReader(nc)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("probe: %w", err)
		}
		f := strings.Fields(line)
		switch {
		case len(f) >= 4 && f[1] == "CAP" && f[3] == "LS":
			for _, c := range strings.Fields(strings.TrimPrefix(line[strings.Index(line, " LS ")+4:], "* ")) {
				caps = append(caps, strings.TrimPrefix(c, ":"))
			}
			if !strings.Contains(line, " LS * ") {
				nc.Write([]byte("CAP END\r\n"))
			}
		case len(f) >= 2 && f[0] == "PING":
			nc.Write([]byte("PONG " + f[1] + "\r\n"))
		case len(f) >= 2 && f[1] == "001":
			nc.Write([]byte("QUIT :probe done\r\n"))
			return caps, nil
		case len(f) >= 1 && f[0] == "ERROR":
			return nil, fmt.Errorf("probe: %s", strings.TrimSpace(line))
		}
	}
}

// exited reports whether the process has ended.
func (s *InspIRCd) exited() bool {
	if s.done == nil {
		return false
	}
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// stop kills InspIRCd and waits for it. SIGKILL rather than SIGTERM:
// InspIRCd 3.15 crashes on SIGTERM anyway (segfault, core dump), and
// tests gain nothing from its goodbye.
func (s *InspIRCd) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
	}
}

// Kill kills InspIRCd (SIGKILL) and waits for it to end, as a crash
// would: every client connection drops. Restart brings it back.
func (s *InspIRCd) Kill() {
	s.killed = true
	s.stop()
}

// Restart kills InspIRCd if it still runs and starts it again with the
// same config and ports, returning once a client can register. All state
// (channels, nicks) is lost, as in a real restart. A port still held by a
// closing socket is waited for rather than changed.
func (s *InspIRCd) Restart() error {
	s.stop()
	deadline := time.Now().Add(s.timeout)
	for {
		err := s.start(s.bin, s.timeout)
		if err == nil {
			return nil
		}
		s.stop()
		if !strings.Contains(err.Error(), "failed to bind") || time.Now().After(deadline) {
			return fmt.Errorf("restart InspIRCd: %v\ntail of %s:\n%s", err, s.OutPath, TailFile(s.OutPath, 40))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// writeCert makes a throwaway ECDSA certificate for 127.0.0.1, localhost
// and ServerName.
func (s *InspIRCd) writeCert() error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: s.ServerName},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{s.ServerName, "localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	s.CertPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(filepath.Join(s.Dir, "cert.pem"), s.CertPEM, 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(s.Dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
}

// CertPool returns a pool trusting the TLS listener's certificate.
func (s *InspIRCd) CertPool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.CertPEM)
	return pool
}
