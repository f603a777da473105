// Command control-plane runs a real Kubernetes control plane for ecs-operator's tests: etcd (embedded,
// from go.etcd.io/etcd/server/v3), kube-apiserver and kube-controller-manager (from the
// k8s.io/kubernetes module), the same programs a cluster runs, so the operator is tested against
// exactly what a cluster accepts and refuses. It is a test tool only; the product is Rust.
//
// Usage:
//
//	control-plane up --dir DIR [--port N] [--remove-dir-on-stop]
//	                                        start all three, print one JSON line, run until stdin closes
//	control-plane kube-apiserver ARGS...    the kube-apiserver command (used by "up")
//	control-plane kube-controller-manager ARGS...
//
// "up" writes DIR/admin.kubeconfig (system:masters, bearer token, the cluster CA) and prints
// {"kubeconfig": ..., "server": ..., "token": ..., "caFile": ..., "dir": ...} once /readyz answers 200.
// It stops everything when its stdin reaches end of file (so it never outlives the test process that
// started it) or on SIGINT/SIGTERM. With --remove-dir-on-stop it then deletes DIR, so a test process
// that ends without dropping its control plane (a shared one lives in a static) leaves nothing behind;
// a component that exits on its own keeps DIR for its logs.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/storage/wal"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: control-plane up --dir DIR [--port N] | kube-apiserver ARGS | kube-controller-manager ARGS")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "kube-apiserver":
		command := apiserver.NewAPIServerCommand()
		command.SetArgs(os.Args[2:])
		if err := command.Execute(); err != nil {
			os.Exit(1)
		}
	case "kube-controller-manager":
		command := controllermanager.NewControllerManagerCommand()
		command.SetArgs(os.Args[2:])
		if err := command.Execute(); err != nil {
			os.Exit(1)
		}
	case "up":
		if err := up(os.Args[2:]); err != nil {
			fmt.Fprintf(os.Stderr, "control-plane: %v\n", err)
			os.Exit(1)
		}
	default:
		fmt.Fprintf(os.Stderr, "control-plane: unknown command %q\n", os.Args[1])
		os.Exit(2)
	}
}

// ready is what "up" prints once the API server answers.
type ready struct {
	Kubeconfig string `json:"kubeconfig"`
	Server     string `json:"server"`
	Token      string `json:"token"`
	CAFile     string `json:"caFile"`
	Dir        string `json:"dir"`
}

func up(args []string) error {
	flags := flag.NewFlagSet("up", flag.ContinueOnError)
	dir := flags.String("dir", "", "state directory (certificates, etcd data, logs, kubeconfig)")
	port := flags.Int("port", 0, "kube-apiserver port (a free one when 0)")
	removeDirOnStop := flags.Bool("remove-dir-on-stop", false, "delete --dir after a requested stop")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return fmt.Errorf("--dir is required")
	}
	root, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	// Registered first, so it runs after every component below has stopped.
	stoppedOnRequest := false
	defer func() {
		if *removeDirOnStop && stoppedOnRequest {
			_ = os.RemoveAll(root)
		}
	}()
	if err := os.MkdirAll(root, 0o700); err != nil {
		return err
	}
	pki, err := writePKI(root)
	if err != nil {
		return fmt.Errorf("certificates: %w", err)
	}

	etcdClient, etcdPeer := freePort(), freePort()
	etcd, err := startEtcd(filepath.Join(root, "etcd"), etcdClient, etcdPeer)
	if err != nil {
		return fmt.Errorf("etcd: %w", err)
	}
	defer etcd.Close()

	apiPort := *port
	if apiPort == 0 {
		apiPort = freePort()
	}
	server := fmt.Sprintf("https://127.0.0.1:%d", apiPort)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	apiserverProcess, err := start(self, filepath.Join(root, "kube-apiserver.log"), "kube-apiserver",
		"--etcd-servers=http://127.0.0.1:"+strconv.Itoa(etcdClient),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(apiPort),
		"--cert-dir="+filepath.Join(root, "serving"),
		"--tls-cert-file="+pki.servingCert,
		"--tls-private-key-file="+pki.servingKey,
		"--client-ca-file="+pki.caCert,
		"--token-auth-file="+pki.tokenFile,
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+pki.serviceAccountKey,
		"--service-account-signing-key-file="+pki.serviceAccountKey,
		"--service-cluster-ip-range=10.0.0.0/24",
		"--allow-privileged=true",
		"--enable-priority-and-fairness=false",
		"--profiling=false",
		"--v=0",
	)
	if err != nil {
		return fmt.Errorf("kube-apiserver: %w", err)
	}
	defer stop(apiserverProcess)
	if err := waitReady(server, pki, 180*time.Second, apiserverProcess); err != nil {
		return fmt.Errorf("kube-apiserver: %w (log: %s)", err, filepath.Join(root, "kube-apiserver.log"))
	}
	kubeconfig := filepath.Join(root, "admin.kubeconfig")
	if err := writeKubeconfig(kubeconfig, server, pki); err != nil {
		return err
	}
	controllerManager, err := start(self, filepath.Join(root, "kube-controller-manager.log"), "kube-controller-manager",
		"--kubeconfig="+kubeconfig,
		"--authentication-kubeconfig="+kubeconfig,
		"--authorization-kubeconfig="+kubeconfig,
		"--secure-port=0",
		"--leader-elect=false",
		// What a cluster does for namespaces and owners, what service-account tokens need, and
		// the aggregation of ClusterRoles into the built-in view / edit / admin roles.
		"--controllers=namespace,garbagecollector,serviceaccount,serviceaccount-token,clusterrole-aggregation",
		"--service-account-private-key-file="+pki.serviceAccountKey,
		"--root-ca-file="+pki.caCert,
		"--use-service-account-credentials=false",
		"--concurrent-namespace-syncs=5",
		"--v=0",
	)
	if err != nil {
		return fmt.Errorf("kube-controller-manager: %w", err)
	}
	defer stop(controllerManager)

	line, err := json.Marshal(ready{Kubeconfig: kubeconfig, Server: server, Token: pki.token, CAFile: pki.caCert, Dir: root})
	if err != nil {
		return err
	}
	fmt.Println(string(line))

	// Run until the parent goes away (stdin closes) or asks us to stop.
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(done)
	}()
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	exited := make(chan string, 2)
	go func() { _ = apiserverProcess.Wait(); exited <- "kube-apiserver" }()
	go func() { _ = controllerManager.Wait(); exited <- "kube-controller-manager" }()
	select {
	case <-done:
	case <-signals:
	case name := <-exited:
		return fmt.Errorf("%s exited (logs in %s)", name, root)
	}
	stoppedOnRequest = true
	return nil
}

// start runs this binary again as one of the components, logging to a file; the child is killed if
// this process dies (so a killed test never leaves a control plane behind).
func start(self, logFile, component string, args ...string) (*exec.Cmd, error) {
	log, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	command := exec.Command(self, append([]string{component}, args...)...)
	command.Stdout = log
	command.Stderr = log
	command.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := command.Start(); err != nil {
		return nil, err
	}
	return command, nil
}

func stop(command *exec.Cmd) {
	if command.Process == nil {
		return
	}
	_ = command.Process.Signal(syscall.SIGTERM)
	finished := make(chan struct{})
	go func() { _, _ = command.Process.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(10 * time.Second):
		_ = command.Process.Kill()
	}
}

func startEtcd(dir string, clientPort, peerPort int) (*embed.Etcd, error) {
	config := embed.NewConfig()
	config.Dir = dir
	config.Name = "testbed"
	clientURL := url.URL{Scheme: "http", Host: "127.0.0.1:" + strconv.Itoa(clientPort)}
	peerURL := url.URL{Scheme: "http", Host: "127.0.0.1:" + strconv.Itoa(peerPort)}
	config.ListenClientUrls = []url.URL{clientURL}
	config.AdvertiseClientUrls = []url.URL{clientURL}
	config.ListenPeerUrls = []url.URL{peerURL}
	config.AdvertisePeerUrls = []url.URL{peerURL}
	config.InitialCluster = config.Name + "=" + peerURL.String()
	config.LogLevel = "error"
	// Tests want speed, not durability: a crash of the test loses the test's cluster anyway.
	config.UnsafeNoFsync = true
	// Each WAL segment is preallocated in full (64 MB by default); a test's cluster writes far less,
	// and a suite starts a dozen clusters. Past 8 MB etcd simply opens the next segment.
	wal.SegmentSizeBytes = 8 * 1000 * 1000
	etcd, err := embed.StartEtcd(config)
	if err != nil {
		return nil, err
	}
	select {
	case <-etcd.Server.ReadyNotify():
		return etcd, nil
	case <-time.After(60 * time.Second):
		etcd.Close()
		return nil, fmt.Errorf("not ready after 60s")
	}
}

func waitReady(server string, pki *pkiFiles, timeout time.Duration, process *exec.Cmd) error {
	pool := x509.NewCertPool()
	pool.AddCert(pki.ca)
	client := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
	}
	deadline := time.Now().Add(timeout)
	last := "no answer"
	for time.Now().Before(deadline) {
		if process.ProcessState != nil {
			return fmt.Errorf("exited")
		}
		request, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, server+"/readyz", nil)
		request.Header.Set("Authorization", "Bearer "+pki.token)
		response, err := client.Do(request)
		if err == nil {
			body, _ := io.ReadAll(response.Body)
			_ = response.Body.Close()
			if response.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("%d %s", response.StatusCode, body)
		} else {
			last = err.Error()
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("not ready after %s: %s", timeout, last)
}

func freePort() int {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0
	}
	defer listener.Close()
	return listener.Addr().(*net.TCPAddr).Port
}

type pkiFiles struct {
	ca                *x509.Certificate
	caCert            string
	servingCert       string
	servingKey        string
	serviceAccountKey string
	tokenFile         string
	token             string
}

// writePKI makes a CA, a serving certificate for 127.0.0.1 and localhost, the service-account
// signing key and the static admin token (member of system:masters, so RBAC lets it do anything
// and impersonate anyone).
func writePKI(root string) (*pkiFiles, error) {
	dir := filepath.Join(root, "pki")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now().Add(-time.Hour)
	caTemplate := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "ecs-testbed-ca"},
		NotBefore:             now,
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	servingKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	servingTemplate := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "kube-apiserver"},
		NotBefore:    now,
		NotAfter:     now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.0.0.1")},
	}
	servingDER, err := x509.CreateCertificate(rand.Reader, servingTemplate, ca, &servingKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	serviceAccountKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tokenBytes := make([]byte, 24)
	if _, err := rand.Read(tokenBytes); err != nil {
		return nil, err
	}
	files := &pkiFiles{
		ca:                ca,
		caCert:            filepath.Join(dir, "ca.crt"),
		servingCert:       filepath.Join(dir, "apiserver.crt"),
		servingKey:        filepath.Join(dir, "apiserver.key"),
		serviceAccountKey: filepath.Join(dir, "service-account.key"),
		tokenFile:         filepath.Join(dir, "tokens.csv"),
		token:             hex.EncodeToString(tokenBytes),
	}
	if err := writePEM(files.caCert, "CERTIFICATE", caDER); err != nil {
		return nil, err
	}
	if err := writePEM(files.servingCert, "CERTIFICATE", servingDER); err != nil {
		return nil, err
	}
	if err := writeKey(files.servingKey, servingKey); err != nil {
		return nil, err
	}
	if err := writeKey(files.serviceAccountKey, serviceAccountKey); err != nil {
		return nil, err
	}
	// token,user,uid,"group1,group2"
	tokens := fmt.Sprintf("%s,admin,admin,\"system:masters\"\n", files.token)
	if err := os.WriteFile(files.tokenFile, []byte(tokens), 0o600); err != nil {
		return nil, err
	}
	return files, nil
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	return writePEM(path, "EC PRIVATE KEY", der)
}

func writePEM(path, kind string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600)
}

func writeKubeconfig(path, server string, pki *pkiFiles) error {
	caPEM, err := os.ReadFile(pki.caCert)
	if err != nil {
		return err
	}
	config := map[string]any{
		"apiVersion":      "v1",
		"kind":            "Config",
		"current-context": "ecs-testbed",
		"clusters": []any{map[string]any{
			"name":    "ecs-testbed",
			"cluster": map[string]any{"server": server, "certificate-authority-data": pemBase64(caPEM)},
		}},
		"users": []any{map[string]any{
			"name": "admin",
			"user": map[string]any{"token": pki.token},
		}},
		"contexts": []any{map[string]any{
			"name":    "ecs-testbed",
			"context": map[string]any{"cluster": "ecs-testbed", "user": "admin", "namespace": "default"},
		}},
	}
	// JSON is YAML; kubectl and the kube crate read it as a kubeconfig.
	text, err := json.MarshalIndent(config, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, text, 0o600)
}

func pemBase64(data []byte) string {
	return base64.StdEncoding.EncodeToString(data)
}
