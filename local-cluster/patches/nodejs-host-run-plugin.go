// RunPlugin for the v3.68.0 Node.js language host, which local-cluster/toolchain adds to the host's
// sources in place of the release's stub ("not supported"). The v3.274.1 engine starts every
// Node.js policy pack (`pulumi preview --policy-pack DIR`) through this call. It does what the
// released host does (sdk/nodejs/cmd/pulumi-language-nodejs/main.go, RunPlugin, read at v3.259.0):
//   - a policy pack (kind "analyzer"): node runs @pulumi/pulumi/cmd/run-policy-pack with the
//     engine's arguments, then the pack's folder, in the pack's folder (so its package.json gives
//     the pack's version and no project tsconfig applies). A proxy answers the engine first and
//     starts node only once ConfigureStack says which stack, project and configuration this is,
//     handed to the pack as PULUMI_NODEJS_* and PULUMI_CONFIG variables; then it forwards every
//     call to the pack.
//   - any other plugin: node runs @pulumi/pulumi/cmd/run-plugin with the folder, then the
//     engine's arguments, in the engine's working directory.
//
// The request fields the engine sends that this host's generated types predate are read from
// the request's wire bytes; the proxy forwards the pack's messages as bytes, unparsed.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
)

const (
	analyzerKind        = "analyzer"
	policyPackEntry     = "@pulumi/pulumi/cmd/run-policy-pack"
	pluginEntry         = "@pulumi/pulumi/cmd/run-plugin"
	handshakeMethod     = "/pulumirpc.Analyzer/Handshake"
	configureStackCall  = "/pulumirpc.Analyzer/ConfigureStack"
	maxProxyMessageSize = 400 << 20 // the engine's own limit (rpcutil's maxRPCMessageSize)
)

// Field numbers of the engine's (v3.274.1) messages that v3.68.0's generated types lack.
const (
	runPluginInfo         protowire.Number = 5 // RunPluginRequest.info: a ProgramInfo
	runPluginKind         protowire.Number = 6 // RunPluginRequest.kind
	programDirectory      protowire.Number = 2 // ProgramInfo.program_directory
	programOptions        protowire.Number = 4 // ProgramInfo.options (PulumiPolicy.yaml runtime options)
	configureStack        protowire.Number = 1 // AnalyzerStackConfigureRequest.stack
	configureProject      protowire.Number = 2 // .project
	configureOrganization protowire.Number = 3 // .organization
	configureDryRun       protowire.Number = 4 // .dry_run
	configureConfig       protowire.Number = 7 // .config: map<string, string> entries (key 1, value 2)
)

func (host *nodeLanguageHost) RunPlugin(
	req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer,
) error {
	ctx := server.Context()
	unknown := req.ProtoReflect().GetUnknown()
	info := lastBytesField(unknown, runPluginInfo)
	pluginDir := string(lastBytesField(info, programDirectory))
	if pluginDir == "" {
		return errors.New("the engine sent no plugin folder (RunPluginRequest.info.program_directory)")
	}
	if len(lastBytesField(info, programOptions)) > 0 {
		return fmt.Errorf("%s: runtime options (PulumiPolicy.yaml runtime.options) are not supported by this language host", pluginDir)
	}
	isPolicyPack := string(lastBytesField(unknown, runPluginKind)) == analyzerKind

	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()

	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return err
	}
	entry := pluginEntry
	if isPolicyPack {
		entry = policyPackEntry
	}
	resolve := exec.CommandContext(ctx, nodeBin, "-e", fmt.Sprintf("console.log(require.resolve(%q))", entry))
	resolve.Dir = pluginDir
	runPath, err := resolve.Output()
	if err != nil {
		return fmt.Errorf("%s cannot be found from %s (are its dependencies installed?): %w", entry, pluginDir, err)
	}
	// The released host's default runtime option (typescript: true).
	env := append(append([]string{}, req.Env...), "PULUMI_NODEJS_TYPESCRIPT=true")

	if !isPolicyPack {
		args := append([]string{strings.TrimSpace(string(runPath)), pluginDir}, req.Args...)
		cmd := exec.CommandContext(ctx, nodeBin, args...)
		cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = req.Pwd, env, stdout, stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("plugin %s: %w", pluginDir, err)
		}
		return closer.Close()
	}

	proxy, err := startPolicyProxy()
	if err != nil {
		return fmt.Errorf("could not start the policy pack proxy: %w", err)
	}
	defer proxy.stop()
	// The engine dials the proxy, which answers its handshake and takes the stack's configuration.
	fmt.Fprintf(stdout, "%d\n", proxy.port)
	configuration, err := proxy.awaitConfiguration(ctx)
	if err != nil {
		return err
	}
	stackEnv, err := policyPackEnvironment(configuration)
	if err != nil {
		return err
	}

	args := append(append([]string{strings.TrimSpace(string(runPath))}, req.Args...), pluginDir)
	cmd := exec.CommandContext(ctx, nodeBin, args...)
	packOut, packOutWriter := io.Pipe()
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = pluginDir, append(env, stackEnv...), packOutWriter, stderr
	if err := cmd.Start(); err != nil {
		proxy.fail(err)
		return fmt.Errorf("policy pack %s: %w", pluginDir, err)
	}
	exited := make(chan error, 1)
	go func() {
		exited <- cmd.Wait()
		packOutWriter.Close()
	}()
	if err := proxy.attach(packOut, stdout, configuration); err != nil {
		proxy.fail(err)
		return fmt.Errorf("policy pack %s: %w", pluginDir, err)
	}
	if err := <-exited; err != nil && ctx.Err() == nil {
		return fmt.Errorf("policy pack %s: %w", pluginDir, err)
	}
	return closer.Close()
}

// policyPackEnvironment turns a ConfigureStack request into the variables the released host
// gives the pack; none when the engine sent no configuration.
func policyPackEnvironment(request []byte) ([]string, error) {
	if request == nil {
		return nil, nil
	}
	var env []string
	add := func(name, value string) {
		if value != "" {
			env = append(env, name+"="+value)
		}
	}
	add("PULUMI_NODEJS_ORGANIZATION", string(lastBytesField(request, configureOrganization)))
	add("PULUMI_NODEJS_PROJECT", string(lastBytesField(request, configureProject)))
	add("PULUMI_NODEJS_STACK", string(lastBytesField(request, configureStack)))
	add("PULUMI_NODEJS_DRY_RUN", strconv.FormatBool(lastVarintField(request, configureDryRun) != 0))
	config, err := mapField(request, configureConfig)
	if err != nil {
		return nil, err
	}
	if config != nil {
		encoded, err := json.Marshal(config)
		if err != nil {
			return nil, err
		}
		add("PULUMI_CONFIG", string(encoded))
	}
	return env, nil
}

// policyProxy stands between the engine and the pack: it serves the engine before the pack runs.
type policyProxy struct {
	port   int
	server *grpc.Server

	configureOnce sync.Once
	configured    chan struct{}
	configuration []byte // the ConfigureStack request's bytes; nil when none came first

	attachOnce sync.Once
	attached   chan struct{}
	conn       *grpc.ClientConn
	attachErr  error
}

func startPolicyProxy() (*policyProxy, error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	proxy := &policyProxy{
		port:       listener.Addr().(*net.TCPAddr).Port,
		configured: make(chan struct{}),
		attached:   make(chan struct{}),
	}
	proxy.server = grpc.NewServer(
		grpc.ForceServerCodec(frameCodec{}),
		grpc.UnknownServiceHandler(proxy.serve),
		grpc.MaxRecvMsgSize(maxProxyMessageSize),
	)
	go func() { _ = proxy.server.Serve(listener) }()
	return proxy, nil
}

func (p *policyProxy) configure(request []byte) {
	p.configureOnce.Do(func() {
		p.configuration = request
		close(p.configured)
	})
}

func (p *policyProxy) awaitConfiguration(ctx context.Context) ([]byte, error) {
	select {
	case <-p.configured:
		return p.configuration, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// attach reads the pack's port (its first line of output), passes the rest of its output on,
// dials it and hands it the configuration the engine sent.
func (p *policyProxy) attach(packOut io.Reader, stdout io.Writer, configuration []byte) error {
	var port int
	if _, err := fmt.Fscanf(packOut, "%d\n", &port); err != nil {
		return fmt.Errorf("could not read the policy pack's port: %w", err)
	}
	go func() { _, _ = io.Copy(stdout, packOut) }()
	conn, err := grpc.Dial(fmt.Sprintf("127.0.0.1:%d", port),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(frameCodec{}), grpc.MaxCallRecvMsgSize(maxProxyMessageSize)))
	if err != nil {
		return err
	}
	if configuration != nil {
		// Older packs do not implement ConfigureStack: the engine accepts that, and so does the proxy.
		err := conn.Invoke(context.Background(), configureStackCall, &frame{configuration}, &frame{})
		if err != nil && status.Code(err) != codes.Unimplemented {
			conn.Close()
			return fmt.Errorf("the policy pack refused its configuration: %w", err)
		}
	}
	p.attachOnce.Do(func() {
		p.conn = conn
		close(p.attached)
	})
	return nil
}

func (p *policyProxy) fail(err error) {
	p.attachOnce.Do(func() {
		p.attachErr = fmt.Errorf("the policy pack did not start: %w", err)
		close(p.attached)
	})
}

func (p *policyProxy) stop() {
	p.server.Stop()
	p.fail(errors.New("the policy pack has stopped"))
	if p.conn != nil {
		p.conn.Close()
	}
}

// serve answers the handshake and the stack's configuration itself, and forwards every other
// call, once the pack runs. A call before ConfigureStack (e.g. `pulumi policy publish`) starts
// the pack with no configuration.
func (p *policyProxy) serve(_ any, stream grpc.ServerStream) error {
	method, _ := grpc.MethodFromServerStream(stream)
	var request frame
	if err := stream.RecvMsg(&request); err != nil {
		return err
	}
	switch method {
	case handshakeMethod:
		return stream.SendMsg(&frame{})
	case configureStackCall:
		p.configure(request.data)
		return stream.SendMsg(&frame{})
	}
	p.configure(nil)
	select {
	case <-p.attached:
	case <-stream.Context().Done():
		return stream.Context().Err()
	}
	if p.attachErr != nil {
		return p.attachErr
	}
	var response frame
	if err := p.conn.Invoke(stream.Context(), method, &request, &response); err != nil {
		return err
	}
	return stream.SendMsg(&response)
}

// frame is one gRPC message as bytes; frameCodec passes frames through unparsed.
type frame struct{ data []byte }

type frameCodec struct{}

func (frameCodec) Marshal(v any) ([]byte, error) {
	f, ok := v.(*frame)
	if !ok {
		return nil, fmt.Errorf("policy proxy: cannot send a %T", v)
	}
	return f.data, nil
}

func (frameCodec) Unmarshal(data []byte, v any) error {
	f, ok := v.(*frame)
	if !ok {
		return fmt.Errorf("policy proxy: cannot receive into a %T", v)
	}
	f.data = append([]byte(nil), data...)
	return nil
}

// Name is the content subtype the engine and the pack speak.
func (frameCodec) Name() string { return "proto" }

// lastBytesField returns the value of the last length-delimited field with this number in a
// message's wire bytes, or nil.
func lastBytesField(message []byte, number protowire.Number) []byte {
	var found []byte
	eachField(message, func(num protowire.Number, typ protowire.Type, value []byte) {
		if num == number && typ == protowire.BytesType {
			found = value
		}
	})
	return found
}

// lastVarintField returns the value of the last varint field with this number, or 0.
func lastVarintField(message []byte, number protowire.Number) uint64 {
	var found uint64
	eachField(message, func(num protowire.Number, typ protowire.Type, value []byte) {
		if num == number && typ == protowire.VarintType {
			if v, n := protowire.ConsumeVarint(value); n > 0 {
				found = v
			}
		}
	})
	return found
}

// mapField reads a map<string, string> field (repeated entries of key 1, value 2); nil when absent.
func mapField(message []byte, number protowire.Number) (map[string]string, error) {
	var entries map[string]string
	var err error
	eachField(message, func(num protowire.Number, typ protowire.Type, value []byte) {
		if num != number {
			return
		}
		if typ != protowire.BytesType {
			err = fmt.Errorf("field %d is not a map", number)
			return
		}
		if entries == nil {
			entries = map[string]string{}
		}
		entries[string(lastBytesField(value, 1))] = string(lastBytesField(value, 2))
	})
	return entries, err
}

// eachField calls visit with every field of a message's wire bytes: for a length-delimited
// field its content, for any other its encoded value. It stops at the first malformed field.
func eachField(message []byte, visit func(protowire.Number, protowire.Type, []byte)) {
	for len(message) > 0 {
		num, typ, n := protowire.ConsumeTag(message)
		if n < 0 {
			return
		}
		message = message[n:]
		m := protowire.ConsumeFieldValue(num, typ, message)
		if m < 0 {
			return
		}
		value := message[:m]
		if typ == protowire.BytesType {
			value, _ = protowire.ConsumeBytes(message)
		}
		visit(num, typ, value)
		message = message[m:]
	}
}
