// RunPlugin for the v3.68.0 Node.js language host, which local-cluster/toolchain adds to the host's
// sources in place of the release's stub ("not supported"). The v3.274.1 engine starts a Node.js
// policy pack (`pulumi preview --policy-pack DIR`) only through this call whenever a nodejs
// language host is installed; released hosts implement it the same way: node runs the SDK's
// run-plugin entry point on the pack's folder, with the engine's arguments.
package main

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"google.golang.org/protobuf/encoding/protowire"
)

// The SDK's entry point for plugins, resolved from the plugin's folder as node would.
const runPluginModule = "@pulumi/pulumi/cmd/run-plugin"

func (host *nodeLanguageHost) RunPlugin(
	req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer,
) error {
	pluginDir, err := pluginDirectory(req)
	if err != nil {
		return err
	}
	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()

	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return err
	}
	resolve := exec.Command(nodeBin, "-e", fmt.Sprintf("console.log(require.resolve(%q))", runPluginModule))
	resolve.Dir = pluginDir
	runPath, err := resolve.Output()
	if err != nil {
		return fmt.Errorf("%s cannot be found from %s (are its dependencies installed?): %w", runPluginModule, pluginDir, err)
	}

	cmd := exec.Command(nodeBin, append([]string{strings.TrimSpace(string(runPath)), pluginDir}, req.Args...)...)
	cmd.Dir = req.Pwd
	cmd.Env = req.Env
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("plugin %s: %w", pluginDir, err)
	}
	return closer.Close()
}

// pluginDirectory reads the plugin's folder from the request. The engine sends it in a field this
// host's generated types predate (info, field 5: a ProgramInfo whose program_directory is field
// 2), so it is read from the request's unknown wire fields.
func pluginDirectory(req *pulumirpc.RunPluginRequest) (string, error) {
	info := lastBytesField(req.ProtoReflect().GetUnknown(), 5)
	if dir := lastBytesField(info, 2); len(dir) > 0 {
		return string(dir), nil
	}
	return "", errors.New("the engine sent no plugin folder (RunPluginRequest.info.program_directory)")
}

// lastBytesField returns the value of the last length-delimited field with this number in a
// message's wire bytes, or nil.
func lastBytesField(message []byte, number protowire.Number) []byte {
	var found []byte
	for len(message) > 0 {
		num, typ, n := protowire.ConsumeTag(message)
		if n < 0 {
			return nil
		}
		message = message[n:]
		if num == number && typ == protowire.BytesType {
			value, m := protowire.ConsumeBytes(message)
			if m < 0 {
				return nil
			}
			found, message = value, message[m:]
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, message)
		if m < 0 {
			return nil
		}
		message = message[m:]
	}
	return found
}
